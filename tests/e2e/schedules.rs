//! EventBridge Scheduler schedules move with the rules: every field survives, only the task
//! definition changes, in the same all-or-nothing release as rule targets.

use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::*;
use serde_json::{Value, json};

/// Config managing schedule groups `default` and `jobs`, never touching `manual-*`.
fn schedules_config() -> String {
    format!(
        "{}\n[schedules]\ngroups = [\"default\", \"jobs\"]\nexclude = [\"manual-*\"]\n",
        config("batch", "")
    )
}

/// `schedule` as GetSchedule returns it, without what changes on every write.
fn comparable(mut schedule: Value) -> Value {
    if let Some(fields) = schedule.as_object_mut() {
        fields.remove("LastModificationDate");
    }
    schedule
}

fn task_definition_of(schedule: &Value) -> &str {
    schedule
        .pointer("/Target/EcsParameters/TaskDefinitionArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The rule `hourly` on web:1 and schedule `jobs/export` (every field set, DISABLED) on
/// web:1: the usual account of this file.
fn rule_and_full_schedule(w: &World) -> Value {
    w.hourly_web_job();
    w.aws.schedule_group("jobs");
    w.aws.create_schedule(
        "export",
        &full_schedule(
            &w.aws.net,
            "jobs",
            &w.cluster,
            &td_arn("web", 1),
            "DISABLED",
        ),
    );
    w.aws.schedule_json("jobs", "export")
}

/// The rule is still on web:1 and the schedule exactly as it was.
fn assert_nothing_moved(w: &World, before: &Value) {
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 1)
    );
    assert_eq!(
        comparable(w.aws.schedule_json("jobs", "export")),
        comparable(before.clone())
    );
}

#[test]
fn a_schedule_with_every_field_survives_deploy_and_rollback() {
    let w = World::new();
    let before = rule_and_full_schedule(&w);
    let other_cluster = w.aws.create_cluster("analytics");
    w.aws.register("api", "v1");
    // Not ours: another cluster, a family without a template, an unmanaged group, excluded.
    w.aws
        .schedule("default", "analytics", &other_cluster, &td_arn("web", 1));
    w.aws
        .schedule("default", "api-sync", &w.cluster, &td_arn("api", 1));
    w.aws
        .schedule("data-team", "their-export", &w.cluster, &td_arn("web", 1));
    w.aws
        .schedule("default", "manual-backfill", &w.cluster, &td_arn("web", 1));
    let untouched = |w: &World| {
        [
            ("default", "analytics"),
            ("default", "api-sync"),
            ("data-team", "their-export"),
            ("default", "manual-backfill"),
        ]
        .map(|(g, n)| comparable(w.aws.schedule_json(g, n)))
    };
    let others = untouched(&w);

    let app = App::new(&schedules_config(), &["web"]);
    let plan = w.run(&app, &["plan", "--tag", "v2"]).ok();
    let line = plan
        .stdout
        .lines()
        .find(|l| l.contains("schedule jobs/export"))
        .unwrap_or_default();
    // The schedule is DISABLED: repointed all the same, and the plan says so.
    assert!(
        line.ends_with("web:1 → web:2 (new) (DISABLED)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("2 targets"), "{}", plan.stdout);

    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(
        w.proxy.count("UpdateSchedule"),
        1,
        "{:?}",
        w.proxy.actions()
    );
    // The request sent back every field GetSchedule gave, only the task definition changed.
    let sent = &w.proxy.bodies("UpdateSchedule")[0];
    let mut expected = before.clone();
    if let Some(fields) = expected.as_object_mut() {
        for read_only in ["Arn", "CreationDate", "LastModificationDate", "Name"] {
            fields.remove(read_only);
        }
    }
    expected["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(td_arn("web", 2));
    assert_eq!(*sent, expected);

    let after = w.aws.schedule_json("jobs", "export");
    assert_eq!(task_definition_of(&after), td_arn("web", 2));
    assert_eq!(after["State"], "DISABLED");
    let mut back = comparable(after);
    back["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(td_arn("web", 1));
    assert_eq!(back, comparable(before.clone()));
    assert_eq!(untouched(&w), others);

    let status = w.run(&app, &["status", "--format", "json"]).ok();
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let rows = status["targets"].as_array().expect("targets");
    let schedule = rows
        .iter()
        .find(|r| r["kind"] == "schedule")
        .expect("schedule row");
    assert_eq!(schedule["group"], "jobs");
    assert_eq!(schedule["schedule"], "export");
    assert_eq!(schedule["revision"], 2);
    assert_eq!(schedule["release"], "v2");
    assert_eq!(status["live"]["release"], "v2", "{status}");
    let drift = status["drift"].as_array().expect("drift");
    assert!(
        drift.iter().any(|d| d["drift"] == "untemplated"
            && d["at"]["kind"] == "schedule"
            && d["at"]["schedule"] == "api-sync"),
        "{drift:?}"
    );

    w.run(&app, &["deploy", "--tag", "v3"]).ok();
    let v3 = w.aws.schedule_json("jobs", "export");
    assert_eq!(task_definition_of(&v3), td_arn("web", 3));
    let history = w.run(&app, &["history"]).ok();
    assert!(history.stdout.contains("v3"), "{}", history.stdout);

    let rollback = w.run(&app, &["rollback", "previous"]).ok();
    // Planned on stdout, done on stderr; the result line does not list it a third time.
    assert!(
        rollback
            .stdout
            .lines()
            .any(|l| l.contains("schedule jobs/export ")
                && l.ends_with("web:3 → web:2 (DISABLED)")),
        "{}",
        rollback.stdout
    );
    assert!(
        rollback
            .stderr
            .contains("repointed schedule jobs/export: web:3 → web:2"),
        "{}",
        rollback.stderr
    );
    let mut rolled = comparable(w.aws.schedule_json("jobs", "export"));
    rolled["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(td_arn("web", 1));
    assert_eq!(rolled, comparable(before));
    assert_eq!(rolled["State"], "DISABLED");
    assert_eq!(untouched(&w), others);
}

#[test]
fn a_failing_schedule_puts_the_rules_back() {
    let w = World::new();
    let before = rule_and_full_schedule(&w);
    let app = App::new(&schedules_config(), &["web"]);
    w.proxy
        .inject(fail("UpdateSchedule").with(Reply::access_denied_rest()));
    w.run(&app, &["deploy", "--tag", "v2"])
        .fails()
        .says(&["schedule jobs/export", "back on the revision it had before"]);
    assert_nothing_moved(&w, &before);
}

#[test]
fn a_schedule_written_but_unanswered_is_put_back_exactly() {
    let w = World::new();
    let before = rule_and_full_schedule(&w);
    let app = App::new(&schedules_config(), &["web"]);
    // Both attempts reach AWS and take effect; neither answer comes back.
    w.proxy
        .inject(fail("UpdateSchedule").times(2).with(Reply::LoseResponse));
    app.run_env(
        &w.proxy.url,
        &["deploy", "--tag", "v2"],
        &[("AWS_MAX_ATTEMPTS", "2")],
    )
    .fails()
    .says(&["schedule jobs/export"]);
    assert_nothing_moved(&w, &before);
    // Healed, the same deploy converges, registering web:2 only once.
    w.proxy.heal();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let after = w.aws.schedule_json("jobs", "export");
    assert_eq!(task_definition_of(&after), td_arn("web", 2));
    assert_eq!(w.aws.revisions("web").len(), 2);
}

#[test]
fn a_schedule_changed_since_the_plan_stops_the_deploy() {
    let w = World::new();
    let before = rule_and_full_schedule(&w);
    let app = App::new(&schedules_config(), &["web"]);
    // The plan's read sees the schedule; the compare-and-swap read right before writing
    // sees someone else's edit.
    let mut edited = before.clone();
    edited["Description"] = json!("edited by hand");
    w.proxy.inject(
        fail("GetSchedule")
            .on_schedule("export")
            .after(1)
            .times(1)
            .with(Reply::Json(edited)),
    );
    w.run(&app, &["deploy", "--tag", "v2"])
        .fails()
        .says(&["schedule jobs/export changed since the plan was made"]);
    assert_eq!(w.proxy.count("UpdateSchedule"), 0);
    assert_nothing_moved(&w, &before);
}
