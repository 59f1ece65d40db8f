//! End to end: history, status, rollback and prune, the built binary against moto.

use crate::common::*;
use aws_sdk_eventbridge::types::RuleState;
use serde_json::Value;

/// Families `web` and `report` (revision 1 of each registered by hand, tag v1), run by rules
/// `hourly` (every target field set) and `nightly`; images v1..v5 in ECR.
pub(crate) fn two_family_world() -> (World, App) {
    let w = World::new();
    for tag in ["v4", "v5"] {
        w.aws.push_image("web", tag);
    }
    let web = w.aws.register("web", "v1");
    let report = w.aws.register("report", "v1");
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![full_target(&w.aws.net, &w.cluster, &web)],
    );
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &report)],
    );
    let app = App::new(&config("batch", ""), &["web", "report"]);
    (w, app)
}

pub(crate) fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

/// `[(id, {family: revision})]` from `history --format json`.
pub(crate) fn releases(history: &Value) -> Vec<(String, Vec<(String, i64)>)> {
    history["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| {
            let revisions = r["revisions"]
                .as_object()
                .expect("revisions")
                .iter()
                .map(|(f, slot)| (f.clone(), slot["revision"].as_i64().unwrap_or(-1)))
                .collect();
            (r["id"].as_str().expect("id").to_string(), revisions)
        })
        .collect()
}

pub(crate) fn on(w: &World) -> (String, String) {
    (
        w.aws.task_definition_of("hourly", "default", "nightly"),
        w.aws.task_definition_of("nightly", "default", "batch"),
    )
}

pub(crate) fn pair(web: u32, report: u32) -> (String, String) {
    (td_arn("web", web), td_arn("report", report))
}

#[test]
fn history_rollback_and_back_again() {
    let (w, app) = two_family_world();
    let hourly_before = w.aws.targets("hourly", "default");
    for tag in ["v2", "v3", "v4"] {
        w.run(&app, &["deploy", "--tag", tag]).ok();
    }
    assert_eq!(on(&w), pair(4, 4));

    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    assert_eq!(
        releases(&history),
        [
            ("v4".into(), vec![("report".into(), 4), ("web".into(), 4)]),
            ("v3".into(), vec![("report".into(), 3), ("web".into(), 3)]),
            ("v2".into(), vec![("report".into(), 2), ("web".into(), 2)]),
            // What the rules ran before the first release: registered by hand.
            (
                "adopted".into(),
                vec![("report".into(), 1), ("web".into(), 1)]
            ),
        ]
    );
    assert_eq!(
        history["live"],
        serde_json::json!({"kind": "release", "release": "v4"})
    );
    let human = w.run(&app, &["history", "--limit", "2"]).ok().stdout;
    assert!(human.contains("← live"), "{human}");
    assert!(
        !human.contains("v2"),
        "--limit 2 shows v4 and v3 only:\n{human}"
    );

    // --dry-run: the plan, no writes.
    w.proxy.clear();
    let dry = w.run(&app, &["rollback", "v2", "--dry-run"]).ok();
    assert!(dry.stdout.contains("web:4 → web:2"), "{}", dry.stdout);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());

    // previous: the one before the live one.
    w.run(&app, &["rollback", "previous"]).ok();
    assert_eq!(on(&w), pair(3, 3));

    w.proxy.clear();
    let rolled = w.run(&app, &["rollback", "v2"]).ok();
    assert!(
        rolled
            .stdout
            .contains("Rolled back to release v2: repointed 2 targets"),
        "{}",
        rolled.stdout
    );
    assert_eq!(on(&w), pair(2, 2));
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 0);
    assert_eq!(w.proxy.count("PutRule"), 0);
    // Every other field of the target is as it was.
    let hourly_after = w.aws.targets("hourly", "default");
    let mut expected = hourly_before[0].clone();
    if let Some(ecs) = expected.ecs_parameters.as_mut() {
        ecs.task_definition_arn = td_arn("web", 2);
    }
    assert_eq!(hourly_after, vec![expected]);
    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    assert_eq!(history["live"]["release"], "v2");

    // Before v2 the rules ran what was there before jobdeploy; before that, nothing.
    w.run(&app, &["rollback", "previous"]).ok();
    assert_eq!(on(&w), pair(1, 1));
    w.proxy.clear();
    let none = w.run(&app, &["rollback", "previous"]).fails();
    assert!(none.stderr.contains("no older release"), "{}", none.stderr);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());

    // Unknown release: named, the usable ones listed, nothing written.
    let unknown = w.run(&app, &["rollback", "v9"]).fails();
    assert!(
        unknown.stderr.contains("release `v9` not found"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains("v4 ("), "{}", unknown.stderr);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());

    // Deploying the manifest's tag again returns to it without registering anything.
    let back = w.run(&app, &["deploy", "--tag", "v4"]).ok();
    assert_eq!(on(&w), pair(4, 4));
    assert_eq!(
        w.proxy.count("RegisterTaskDefinition"),
        0,
        "{}",
        back.stdout
    );
}

/// A template that does not depend on the release: it changes only when edited.
const CLEANUP: &str = r#"{
  "family": "cleanup",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {"name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36", "command": ["KEEP_DAYS"]}
  ]
}
"#;

#[test]
fn a_family_a_release_did_not_change_keeps_its_earlier_revision() {
    let w = World::new();
    w.aws.push_image("web", "v4");
    let web = w.aws.register("web", "v1");
    let app = App::new(&config("batch", ""), &["web"]);
    app.write("taskdefs/cleanup.json", &CLEANUP.replace("KEEP_DAYS", "7"));
    w.run(&app, &["deploy", "--tag", "v1"]).ok(); // registers cleanup:1 only
    let cleanup = td_arn("cleanup", 1);
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &web)],
    );
    w.aws.rule(
        "cleanup",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &cleanup)],
    );
    let on = |w: &World| {
        (
            w.aws.task_definition_of("hourly", "default", "batch"),
            w.aws.task_definition_of("cleanup", "default", "batch"),
        )
    };

    w.run(&app, &["deploy", "--tag", "v2"]).ok(); // web:2, cleanup unchanged
    w.run(&app, &["deploy", "--tag", "v3"]).ok(); // web:3
    app.write("taskdefs/cleanup.json", &CLEANUP.replace("KEEP_DAYS", "30"));
    w.run(&app, &["deploy", "--tag", "v4"]).ok(); // web:4, cleanup:2
    assert_eq!(on(&w), (td_arn("web", 4), td_arn("cleanup", 2)));

    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    let ids: Vec<String> = releases(&history).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["v4", "v3", "v2", "v1"]);
    let v3 = &history["releases"][1];
    assert_eq!(v3["registered"], serde_json::json!(["web"]));
    assert_eq!(v3["revisions"]["cleanup"]["revision"], 1);

    w.run(&app, &["rollback", "v3"]).ok();
    assert_eq!(on(&w), (td_arn("web", 3), td_arn("cleanup", 1)));
    w.run(&app, &["rollback", "v2"]).ok();
    assert_eq!(on(&w), (td_arn("web", 2), td_arn("cleanup", 1)));
    // Inside GitHub Actions a rollback reports like a deploy: summary and outputs.
    let summary = app.path().join("summary.md");
    let output = app.path().join("output.txt");
    app.run_env(
        &w.proxy.url,
        &["rollback", "v4"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("path")),
            ("GITHUB_OUTPUT", output.to_str().expect("path")),
        ],
    )
    .ok();
    assert_eq!(on(&w), (td_arn("web", 4), td_arn("cleanup", 2)));
    let summary = std::fs::read_to_string(summary).expect("summary written");
    let output = std::fs::read_to_string(output).expect("outputs written");
    assert!(
        summary.contains("### jobdeploy rollback plan: release `v4`"),
        "{summary}"
    );
    assert!(
        summary.contains("### jobdeploy rollback: release `v4`"),
        "{summary}"
    );
    assert!(
        output.contains("release=v4\n") && output.contains("changed=true\n"),
        "{output}"
    );
}

#[test]
fn a_release_with_an_inactive_revision_is_refused() {
    let (w, app) = two_family_world();
    for tag in ["v2", "v3"] {
        w.run(&app, &["deploy", "--tag", tag]).ok();
    }
    w.aws.deregister(&td_arn("web", 2));
    w.proxy.clear();
    let refused = w.run(&app, &["rollback", "v2"]).fails();
    assert!(
        refused
            .stderr
            .contains("cannot roll back to release v2: web:2 is INACTIVE"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("releases that can be used, newest first: v3"),
        "{}",
        refused.stderr
    );
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    assert_eq!(on(&w), pair(3, 3));
}

#[test]
fn prune_keeps_every_revision_in_use_anywhere() {
    let w = World::new();
    for tag in ["v4", "v5", "v6"] {
        w.aws.push_image("web", tag);
    }
    let web1 = w.hourly_web_job();
    let analytics = w.aws.create_cluster("analytics");
    // Another cluster's rule runs web:1 (registered by hand).
    w.aws.rule(
        "reports",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &analytics, &web1)],
    );
    let app = App::new(
        &format!(
            "{}\n[rules]\nexclude = [\"legacy-*\"]\n",
            config("batch", "")
        ),
        &["web"],
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    // An excluded rule on our cluster stays on web:2.
    w.aws.rule(
        "legacy-export",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &w.cluster, &td_arn("web", 2))],
    );
    w.run(&app, &["deploy", "--tag", "v3"]).ok();
    w.run(&app, &["deploy", "--tag", "v4"]).ok();
    // A Scheduler schedule in a group jobdeploy does not manage runs web:4.
    w.aws
        .schedule("data-team", "export", &w.cluster, &td_arn("web", 4));
    w.run(&app, &["deploy", "--tag", "v5"]).ok();
    // A rule on an event bus jobdeploy is not configured for runs web:5.
    w.aws.rule(
        "nightly",
        "ops",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &w.cluster, &td_arn("web", 5))],
    );
    w.run(&app, &["deploy", "--tag", "v6"]).ok();

    w.proxy.clear();
    let dry = w
        .run(
            &app,
            &["prune", "--keep", "1", "--dry-run", "--format", "json"],
        )
        .ok();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    let plan = json(&dry);
    let labels = |key: &str| -> Vec<String> {
        plan[key]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| format!("{}:{}", e["family"].as_str().unwrap_or(""), e["revision"]))
            .collect()
    };
    assert_eq!(labels("deregister"), ["web:3"]);
    assert_eq!(
        labels("keep"),
        ["web:6", "web:5", "web:4", "web:2", "web:1"]
    );

    let done = w.run(&app, &["prune", "--keep", "1"]).ok();
    assert!(
        done.stdout.contains("used by schedule data-team/export"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains("used by rule default/reports target x"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("used by rule ops/nightly target x"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("Deregistered 1 revision"),
        "{}",
        done.stdout
    );
    assert_eq!(w.proxy.count("DeregisterTaskDefinition"), 1);
    let statuses: Vec<String> = (1..=6)
        .map(|n| w.aws.status_of(&td_arn("web", n)))
        .collect();
    assert_eq!(
        statuses,
        ["ACTIVE", "ACTIVE", "INACTIVE", "ACTIVE", "ACTIVE", "ACTIVE"]
    );

    // Nothing left to do: a second run deregisters nothing.
    w.proxy.clear();
    w.run(&app, &["prune", "--keep", "1"]).ok();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    // The release whose revision is gone can no longer be rolled back to, and says so.
    let refused = w.run(&app, &["rollback", "v3"]).fails();
    assert!(
        refused.stderr.contains("web:3 is INACTIVE"),
        "{}",
        refused.stderr
    );
}

#[test]
fn status_and_history_json_carry_what_the_human_form_says() {
    let (w, app) = two_family_world();
    for tag in ["v2", "v3"] {
        w.run(&app, &["deploy", "--tag", tag]).ok();
    }
    let status = json(&w.run(&app, &["status", "--format", "json"]).ok());
    assert_eq!(status["live"]["release"], "v3");
    assert_eq!(status["drift"], serde_json::json!([]));
    w.run(&app, &["status", "--exit-code"]).ok();

    // Drift: a rule put back on v2 by hand, a floating target, a target on a missing
    // revision, and an ECS target on our cluster whose family has no template.
    w.aws.rule(
        "by-hand",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "t", &w.cluster, &td_arn("web", 2))],
    );
    let family_only = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/report");
    w.aws.rule(
        "floating",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "t", &w.cluster, &family_only)],
    );
    w.aws.rule(
        "gone",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "t", &w.cluster, &td_arn("web", 99))],
    );
    let api = w.aws.register("api", "v1");
    w.aws.rule(
        "api-job",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "t", &w.cluster, &api)],
    );

    let status_run = w.run(&app, &["status", "--format", "json"]).ok();
    let status = json(&status_run);
    assert_eq!(status["live"]["kind"], "mixed");
    let human = w.run(&app, &["status"]).ok().stdout;
    for t in status["targets"].as_array().expect("targets") {
        let rule = t["rule"].as_str().expect("rule");
        let line = human
            .lines()
            .find(|l| l.contains(&format!("default/{rule} ")))
            .unwrap_or_else(|| panic!("no line for {rule}:\n{human}"));
        assert!(
            line.contains(t["family"].as_str().expect("family")),
            "{line}"
        );
        assert!(line.contains(t["state"].as_str().expect("state")), "{line}");
        if let Some(release) = t["release"].as_str() {
            assert!(line.contains(&format!("release {release}")), "{line}");
        }
    }
    let by_rule = |rule: &str| {
        status["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["rule"] == rule))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_rule("by-hand")["release"], "v2");
    assert_eq!(by_rule("hourly")["release"], "v3");
    assert_eq!(by_rule("floating")["floating"], true);
    assert_eq!(by_rule("floating")["revision"], 3);
    assert_eq!(by_rule("gone")["state"], "missing");
    // Drift is data in JSON, a stable code per kind; words only in the human form.
    assert_eq!(status["version"], 1);
    let drift = status["drift"].as_array().expect("drift");
    let codes: Vec<&str> = drift.iter().filter_map(|d| d["drift"].as_str()).collect();
    assert_eq!(
        codes,
        ["mixed", "floating", "missing", "untemplated"],
        "{drift:?}"
    );
    assert!(human.contains("mixed releases: "), "{human}");
    for d in &drift[1..] {
        let rule = d["at"]["rule"].as_str().expect("rule");
        assert!(
            human
                .lines()
                .any(|l| l.contains("  ! ") && l.contains(rule)),
            "human form lacks the drift of `{rule}`:\n{human}"
        );
    }
    assert_eq!(status["untemplated"][0]["rule"], "api-job");
    // The trigger's `kind` is not overwritten by why it was skipped.
    assert_eq!(status["untemplated"][0]["kind"], "rule");
    assert_eq!(status["untemplated"][0]["skip"], "no_template");
    assert_eq!(w.run(&app, &["status", "--exit-code"]).code, 2);

    // History: every fact in the JSON is in the human form.
    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    assert_eq!(history["live"]["kind"], "mixed");
    let human = w.run(&app, &["history"]).ok().stdout;
    for r in history["releases"].as_array().expect("releases") {
        assert!(human.contains(r["id"].as_str().expect("id")), "{human}");
        // Every release has a time, `adopted` too: its revisions were registered by hand,
        // without jobdeploy's tag, and their time is ECS's registeredAt (which the proxy in
        // front of moto reports as AWS does).
        assert!(human.contains(r["time"].as_str().expect("time")), "{human}");
        for (family, slot) in r["revisions"].as_object().expect("revisions") {
            assert!(
                human.contains(&format!("{family}:{}", slot["revision"])),
                "{human}"
            );
        }
    }
    assert!(human.contains("Live: mixed"), "{human}");
    let markdown = w
        .run(&app, &["history", "--format", "markdown"])
        .ok()
        .stdout;
    assert!(markdown.contains("| `v3` |"), "{markdown}");
}
