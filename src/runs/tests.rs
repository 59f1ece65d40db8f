//! The report from what the reads found: attribution of tasks, failures counted once, the
//! metric scope, refused reads as warnings.

use serde_json::json;

use super::*;
use crate::model::TaskDefRef;

const CLUSTER: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/batch";
const TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition";
/// 2026-03-06T12:00:00Z.
pub const NOW: i64 = 1_772_798_400;

pub fn window() -> Window {
    Window {
        since: NOW - 86_400,
        until: NOW,
    }
}

pub fn rule(rule: &str, family: &str, revision: i64, dlq: Option<&str>) -> LiveTarget {
    let mut raw = json!({"Id": "job", "Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": format!("{TD}/{family}:{revision}")}});
    if let Some(dlq) = dlq {
        raw["DeadLetterConfig"] = json!({"Arn": dlq});
    }
    LiveTarget {
        at: Trigger::rule_target("default", rule, "job"),
        task_definition: TaskDefRef::parse(&format!("{TD}/{family}:{revision}")),
        raw,
    }
}

pub fn schedule(group: &str, name: &str, family: &str, revision: i64, raw: Value) -> LiveTarget {
    let mut raw = raw;
    raw["Target"] = json!({"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": format!("{TD}/{family}:{revision}")}});
    LiveTarget {
        at: Trigger::schedule(group, name),
        task_definition: TaskDefRef::parse(&format!("{TD}/{family}:{revision}")),
        raw,
    }
}

pub fn task(
    family: &str,
    revision: i64,
    started_by: &str,
    status: &str,
    exit: Option<i64>,
    created: i64,
) -> Value {
    let mut t = json!({
        "taskArn": format!("arn:aws:ecs:eu-west-1:123456789012:task/batch/{family}{created}"),
        "taskDefinitionArn": format!("{TD}/{family}:{revision}"),
        "lastStatus": status,
        "startedBy": started_by,
        "createdAt": created as f64,
        "pullStartedAt": created as f64 + 10.0,
        "pullStoppedAt": created as f64 + 40.0,
        "startedAt": created as f64 + 52.5,
        "containers": [{"name": "app"}]
    });
    if status == "STOPPED" {
        t["stoppedAt"] = json!(created as f64 + 172.5);
        t["stopCode"] = json!("EssentialContainerExited");
        t["stoppedReason"] = json!("Essential container in task exited");
        if let Some(code) = exit {
            t["containers"][0]["exitCode"] = json!(code);
        }
    }
    t
}

/// Three rules (one with a dead-letter queue holding 2 messages) and two schedules of one
/// group in Berlin; a failed and a good task, one still running from an older revision, one
/// started by hand.
pub fn observed() -> Observed {
    let dlq = "arn:aws:sqs:eu-west-1:123456789012:jobs-dlq";
    let targets = vec![
        rule("nightly-report", "report", 7, Some(dlq)),
        rule("hourly-sync", "sync", 3, None),
        schedule(
            "batch",
            "export",
            "export",
            2,
            json!({"ScheduleExpression": "cron(0 9 * * ? *)", "ScheduleExpressionTimezone": "Europe/Berlin"}),
        ),
        schedule(
            "batch",
            "cleanup",
            "cleanup",
            1,
            json!({"ScheduleExpression": "at(2026-03-01T00:00:00)"}),
        ),
        // A second rule of family `report`, driven by an event pattern.
        rule("weekly-report", "report", 7, None),
    ];
    let states = targets
        .iter()
        .map(|t| (t.at.owner.clone(), "ENABLED".to_string()))
        .collect();
    let rule_expressions = [
        (targets[0].at.owner.clone(), "cron(0 3 * * ? *)".to_string()),
        (targets[1].at.owner.clone(), "rate(1 hour)".to_string()),
    ]
    .into();
    let subjects = metrics::subjects(&targets);
    let plan = metrics::plan(&subjects);
    let id = |subject: &Subject, metric: &str| {
        plan.iter()
            .find(|(s, _, q)| s == subject && q.metric == metric)
            .map(|(_, _, q)| q.id.clone())
            .unwrap()
    };
    let nightly = Subject::of(&targets[0].at.owner);
    let group = Subject::Group("batch".into());
    let sums = [
        (id(&nightly, "Invocations"), 1.0),
        (id(&nightly, "FailedInvocations"), 1.0),
        (id(&group, "InvocationAttemptCount"), 2.0),
        (id(&group, "InvocationDroppedCount"), 1.0),
    ]
    .into();
    let tasks = vec![
        task(
            "report",
            7,
            "events-rule/nightly-report",
            "STOPPED",
            Some(1),
            NOW - 32_400,
        ),
        task(
            "sync",
            3,
            "events-rule/hourly-sync",
            "STOPPED",
            Some(0),
            NOW - 1_800,
        ),
        task(
            "sync",
            2,
            "events-rule/hourly-sync",
            "RUNNING",
            None,
            NOW - 90_000,
        ),
        task(
            "export",
            2,
            "chronos-schedule/export",
            "STOPPED",
            Some(0),
            NOW - 10_800,
        ),
        task("report", 7, "someone", "STOPPED", Some(0), NOW - 600),
        // Stopped before the window: not shown.
        task(
            "sync",
            3,
            "events-rule/hourly-sync",
            "STOPPED",
            Some(1),
            NOW - 200_000,
        ),
    ];
    Observed {
        targets,
        states,
        rule_expressions,
        metric_sums: Some(Lookup::Found(sums)),
        tasks: Some(Lookup::Found(tasks)),
        dead_letters: [(dlq.to_string(), Lookup::Found(2))].into(),
        releases: [
            (("report".to_string(), 7), "v1.4.2".to_string()),
            (("sync".to_string(), 3), "v1.4.2".to_string()),
            (("sync".to_string(), 2), "v1.4.1".to_string()),
        ]
        .into(),
    }
}

#[test]
fn failures_count_failed_invocations_failed_tasks_and_dead_letters_once_per_group() {
    let report = RunsReport::compute(&observed(), window());
    // nightly: 1 failed invocation + 1 task exit 1 + 2 dead letters; the group's 1 dropped
    // invocation once, though two schedules share it.
    assert_eq!(report.failures, 1 + 1 + 2 + 1);
    let export = &report.triggers[2];
    let cleanup = &report.triggers[3];
    assert_eq!(export.metrics_scope, MetricsScope::ScheduleGroup);
    assert_eq!(export.failed_invocations, Some(1));
    assert_eq!(cleanup.failed_invocations, Some(1));
    // No datapoint: 0, not null.
    assert_eq!(report.triggers[1].invocations, Some(0));
    assert_eq!(report.triggers[1].throttled, Some(0));
}

#[test]
fn tasks_go_to_the_trigger_that_started_them_and_the_rest_apart() {
    let report = RunsReport::compute(&observed(), window());
    let nightly = &report.triggers[0];
    assert_eq!(nightly.tasks.len(), 1);
    assert_eq!(nightly.tasks[0].exit_code, Some(1));
    assert_eq!(nightly.tasks[0].outcome, Outcome::Failed);
    assert_eq!(nightly.tasks[0].startup_seconds, Some(52.5));
    assert_eq!(nightly.tasks[0].pull_seconds, Some(30.0));
    assert_eq!(nightly.tasks[0].run_seconds, Some(120.0));
    assert_eq!(nightly.tasks[0].release.as_deref(), Some("v1.4.2"));
    let sync = &report.triggers[1];
    assert_eq!(
        sync.tasks.len(),
        2,
        "the one stopped before the window is left out"
    );
    let running = sync
        .tasks
        .iter()
        .find(|t| t.outcome == Outcome::Running)
        .unwrap();
    assert!(running.older_revision);
    assert_eq!(running.release.as_deref(), Some("v1.4.1"));
    assert_eq!(
        report.triggers[2].tasks.len(),
        1,
        "chronos-schedule/ names the schedule"
    );
    // Started by hand, of a family two rules run: no trigger can be named.
    assert_eq!(report.other_tasks.len(), 1);
    assert_eq!(report.other_tasks[0].started_by.as_deref(), Some("someone"));
    assert!(report.triggers[4].tasks.is_empty());
}

#[test]
fn next_firing_in_utc_and_the_schedules_zone_and_never_for_a_past_at() {
    let report = RunsReport::compute(&observed(), window());
    assert_eq!(
        report.triggers[0].next_firing.as_deref(),
        Some("2026-03-07T03:00:00Z")
    );
    assert!(
        !report.triggers[1].next_firing_exact,
        "a rule's rate has no known phase"
    );
    assert_eq!(
        report.triggers[2].next_firing.as_deref(),
        Some("2026-03-07T08:00:00Z")
    );
    assert_eq!(
        report.triggers[2].next_firing_local.as_deref(),
        Some("2026-03-07 09:00 CET")
    );
    assert_eq!(report.triggers[3].next_firing, None);
}

#[test]
fn refused_reads_are_warnings_naming_the_permission_and_null_counts() {
    let mut o = observed();
    o.metric_sums = Some(Lookup::Denied("cloudwatch:GetMetricData"));
    o.tasks = Some(Lookup::Denied("ecs:ListTasks"));
    let dlq = "arn:aws:sqs:eu-west-1:123456789012:jobs-dlq".to_string();
    o.dead_letters = [(dlq, Lookup::Denied("sqs:GetQueueAttributes"))].into();
    let report = RunsReport::compute(&o, window());
    assert_eq!(report.failures, 0);
    assert_eq!(report.triggers[0].invocations, None);
    assert_eq!(report.triggers[0].failed_invocations, None);
    assert_eq!(
        report.triggers[0].dead_letter.as_ref().unwrap().messages,
        None
    );
    let all = report.warnings.join("\n");
    for permission in [
        "cloudwatch:GetMetricData",
        "ecs:ListTasks",
        "sqs:GetQueueAttributes",
    ] {
        assert!(all.contains(permission), "{all}");
    }
}

#[test]
fn since_takes_a_positive_duration_and_names_the_flag_otherwise() {
    assert_eq!(parse_since("24h"), Ok(86_400));
    assert_eq!(parse_since("90m"), Ok(5_400));
    assert_eq!(parse_since("7d"), Ok(604_800));
    for bad in ["", "24", "h", "-1h", "0h", "1w", "1.5h", "9999d"] {
        let err = parse_since(bad).unwrap_err();
        assert!(err.starts_with("--since"), "{bad}: {err}");
    }
}

/// Review of issue 25: a rule with two ECS targets of ours counted its failed invocations
/// once per target; the rule's metric counts once.
#[test]
fn a_rule_with_two_targets_of_ours_counts_its_failed_invocations_once() {
    let mut second = rule("nightly-report", "report", 7, None);
    second.at = Trigger::rule_target("default", "nightly-report", "job-2");
    let base = observed();
    let once = RunsReport::compute(&base, window()).failures;
    let mut grown = base.clone();
    grown.targets.push(second);
    let report = RunsReport::compute(&grown, window());
    assert_eq!(report.failures, once);
}

/// Review of issue 25: a task `jobdeploy run` (or `deploy --smoke`) started was credited to
/// the family's one trigger; and `startedBy` matched by prefix, so with rules `sync` and
/// `sync-full` on one family a task of `sync` could be told from neither. A name is now
/// matched whole unless ECS cut it at 36 characters.
#[test]
fn tasks_jobdeploy_started_are_nobodys_and_names_match_whole_unless_cut() {
    let targets = vec![
        rule("sync", "sync", 3, None),
        rule("sync-full", "sync", 3, None),
        rule("a-rule-name-long-enough-to-be-cut-by-ecs", "long", 1, None),
    ];
    let tasks = vec![
        task("sync", 3, "events-rule/sync", "STOPPED", Some(0), NOW - 600),
        task(
            "sync",
            3,
            "events-rule/sync-full",
            "STOPPED",
            Some(0),
            NOW - 500,
        ),
        task("sync", 3, "jobdeploy", "STOPPED", Some(1), NOW - 400),
        // events-rule/ + the name, cut at 36 characters.
        task(
            "long",
            1,
            &"events-rule/a-rule-name-long-enough-to-be-cut-by-ecs"[..36],
            "STOPPED",
            Some(0),
            NOW - 300,
        ),
        task("long", 1, "jobdeploy", "STOPPED", Some(0), NOW - 200),
    ];
    let observed = Observed {
        targets,
        tasks: Some(Lookup::Found(tasks)),
        ..Observed::default()
    };
    let report = RunsReport::compute(&observed, window());
    assert_eq!(report.triggers[0].tasks.len(), 1, "sync");
    assert_eq!(report.triggers[1].tasks.len(), 1, "sync-full");
    assert_eq!(report.triggers[2].tasks.len(), 1, "the cut name");
    let others: Vec<_> = report
        .other_tasks
        .iter()
        .map(|t| t.started_by.as_deref())
        .collect();
    assert_eq!(others, [Some("jobdeploy"), Some("jobdeploy")]);
    // The run that failed counts among the failures, as an other task.
    assert_eq!(report.failures, 1);
}
