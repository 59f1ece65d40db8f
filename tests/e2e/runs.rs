//! `jobdeploy runs`: metrics from moto's CloudWatch (spoken in CBOR through the proxy), the
//! tasks ECS still shows (played by the proxy), dead letters in moto's SQS; every output
//! form, `--exit-code`, refused reads, a malformed `--since`, and the request budget.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_sdk_eventbridge::types::{DeadLetterConfig, RuleState};
use serde_json::{Value, json};

use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::tasks::recent_task;
use crate::common::*;

/// SDK clients for what `runs` reads: CloudWatch through the proxy (which translates its
/// CBOR for moto), SQS straight to moto.
pub(crate) struct Seed {
    cloudwatch: aws_sdk_cloudwatch::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Seed {
    pub(crate) fn new(w: &World) -> Self {
        let via_proxy = aws::sdk_config(&w.aws.rt, &w.proxy.url);
        let direct = aws::sdk_config(&w.aws.rt, &w.moto.url);
        Self {
            cloudwatch: aws_sdk_cloudwatch::Client::new(&via_proxy),
            sqs: aws_sdk_sqs::Client::new(&direct),
        }
    }

    /// One datapoint of `value`, `age` seconds ago.
    pub(crate) fn metric(
        &self,
        w: &World,
        namespace: &str,
        metric: &str,
        dims: &[(&str, &str)],
        value: f64,
        age: i64,
    ) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let datum = MetricDatum::builder()
            .metric_name(metric)
            .set_dimensions(Some(
                dims.iter()
                    .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                    .collect(),
            ))
            .value(value)
            .timestamp(aws_smithy_types::DateTime::from_secs(now - age))
            .build();
        w.aws
            .rt
            .block_on(
                self.cloudwatch
                    .put_metric_data()
                    .namespace(namespace)
                    .metric_data(datum)
                    .send(),
            )
            .expect("put metric data");
    }

    /// A queue holding `messages` messages; its ARN.
    fn queue(&self, w: &World, name: &str, messages: usize) -> String {
        let url = w
            .aws
            .rt
            .block_on(self.sqs.create_queue().queue_name(name).send())
            .expect("create queue")
            .queue_url()
            .expect("url")
            .to_string();
        for i in 0..messages {
            w.aws
                .rt
                .block_on(
                    self.sqs
                        .send_message()
                        .queue_url(&url)
                        .message_body(format!("failed invocation {i}"))
                        .send(),
                )
                .expect("send message");
        }
        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
    }
}

/// Rules `nightly` (cron, a dead-letter queue with 2 messages, web:2) and `hourly` (rate,
/// web:2) on the default bus, schedule `jobs/export` (cron in Berlin, export:1); metrics for
/// each and for a rule not ours; tasks of each, one from before the window.
fn world() -> (World, App) {
    let w = World::new();
    let seed = Seed::new(&w);
    w.aws.register("web", "v1");
    let web = w.aws.register("web", "v2");
    let export = w.aws.register("export", "v2");
    let dlq = seed.queue(&w, "nightly-dlq", 2);
    w.aws
        .rt
        .block_on(
            w.aws
                .events
                .put_rule()
                .name("nightly")
                .schedule_expression("cron(0 3 * * ? *)")
                .state(RuleState::Enabled)
                .send(),
        )
        .expect("put rule");
    let mut target = ecs_target(&w.aws.net, "batch", &w.cluster, &web);
    target.dead_letter_config = Some(DeadLetterConfig::builder().arn(&dlq).build());
    w.aws.put_targets("nightly", "default", vec![target]);
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &web)],
    );
    w.aws.schedule_group("jobs");
    w.aws.create_schedule(
        "export",
        &json!({
            "GroupName": "jobs",
            "ScheduleExpression": "cron(0 9 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": w.cluster,
                "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/scheduler-ecs"),
                "EcsParameters": {"TaskDefinitionArn": export}
            }
        }),
    );
    seed.metric(
        &w,
        "AWS/Events",
        "Invocations",
        &[("RuleName", "nightly")],
        1.0,
        3600,
    );
    seed.metric(
        &w,
        "AWS/Events",
        "FailedInvocations",
        &[("RuleName", "nightly")],
        1.0,
        3600,
    );
    seed.metric(
        &w,
        "AWS/Events",
        "Invocations",
        &[("RuleName", "hourly")],
        20.0,
        1800,
    );
    seed.metric(
        &w,
        "AWS/Events",
        "Invocations",
        &[("RuleName", "hourly")],
        3.0,
        600,
    );
    // Not ours, and one before the window.
    seed.metric(
        &w,
        "AWS/Events",
        "FailedInvocations",
        &[("RuleName", "other")],
        5.0,
        600,
    );
    seed.metric(
        &w,
        "AWS/Events",
        "FailedInvocations",
        &[("RuleName", "hourly")],
        7.0,
        200_000,
    );
    seed.metric(
        &w,
        "AWS/Scheduler",
        "InvocationAttemptCount",
        &[("ScheduleGroup", "jobs")],
        1.0,
        7200,
    );
    seed.metric(
        &w,
        "AWS/Scheduler",
        "TargetErrorCount",
        &[("ScheduleGroup", "jobs")],
        1.0,
        7200,
    );
    for task in [
        recent_task("0nightly", "web", 2, "events-rule/nightly", 3600.0, Some(1)),
        recent_task("1hourly", "web", 2, "events-rule/hourly", 1800.0, Some(0)),
        recent_task(
            "2export",
            "export",
            1,
            "chronos-schedule/export",
            7200.0,
            Some(0),
        ),
        recent_task("3old", "web", 1, "events-rule/hourly", 200_000.0, Some(1)),
    ] {
        w.proxy.remember_task(task);
    }
    w.proxy.clear();
    let app = App::new(
        &format!(
            "{}\n[schedules]\ngroups = [\"jobs\"]\n",
            config(&w.cluster, "")
        ),
        &["web", "export"],
    );
    (w, app)
}

/// Times move with the clock: each RFC 3339 time becomes `<time>`, each local one `<local>`.
fn steady(text: &str) -> String {
    let bytes = text.as_bytes();
    let digits = |s: &[u8], pattern: &str| {
        s.len() >= pattern.len()
            && pattern.bytes().zip(s).all(|(p, c)| {
                if p == b'9' {
                    c.is_ascii_digit()
                } else {
                    p == *c
                }
            })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if digits(&bytes[i..], "9999-99-99T99:99:99") {
            let mut j = i + 19;
            while j < bytes.len() && (bytes[j] == b'.' || bytes[j].is_ascii_digit()) {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'Z' {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
        } else if digits(&bytes[i..], "9999-99-99 99:99 ") {
            let mut j = i + 17;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            out.push_str("<local>");
            i = j;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn runs_reports_invocations_per_rule_and_group_tasks_and_dead_letters_in_every_form() {
    let (w, app) = world();
    let run = w.run(&app, &["runs", "--format", "json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["version"], 1);
    let triggers = report["triggers"].as_array().expect("triggers");
    let find = |name: &str| {
        triggers
            .iter()
            .find(|t| t["rule"] == name || t["schedule"] == name)
            .unwrap_or_else(|| panic!("{name} in {report:#}"))
    };
    let nightly = find("nightly");
    assert_eq!(nightly["invocations"], 1);
    assert_eq!(nightly["failed_invocations"], 1);
    assert_eq!(nightly["metrics_scope"], "rule");
    assert_eq!(nightly["dead_letter"]["queue"], "nightly-dlq");
    assert_eq!(nightly["dead_letter"]["messages"], 2);
    assert_eq!(nightly["tasks"][0]["exit_code"], 1);
    assert_eq!(nightly["tasks"][0]["startup_seconds"], 52.5);
    assert_eq!(nightly["tasks"][0]["pull_seconds"], 30.0);
    assert_eq!(nightly["tasks"][0]["run_seconds"], 120.0);
    let hourly = find("hourly");
    // Two datapoints in the window sum; the one before it and the other rule's do not count.
    assert_eq!(hourly["invocations"], 23);
    assert_eq!(hourly["failed_invocations"], 0, "no datapoint is 0");
    assert_eq!(
        hourly["tasks"].as_array().map(Vec::len),
        Some(1),
        "the old task is outside the window"
    );
    let export = find("export");
    assert_eq!(export["metrics_scope"], "schedule_group");
    assert_eq!(export["invocations"], 1);
    assert_eq!(export["target_errors"], 1);
    assert_eq!(export["failed_invocations"], 0);
    assert_eq!(export["timezone"], "Europe/Berlin");
    assert!(
        export["next_firing_local"]
            .as_str()
            .is_some_and(|t| t.ends_with("CET") || t.ends_with("CEST"))
    );
    assert_eq!(export["tasks"][0]["outcome"], "succeeded");
    // 1 failed invocation, 1 task exit 1, 2 dead letters.
    assert_eq!(report["failures"], 4);
    assert!(
        w.proxy.writes().is_empty(),
        "runs writes nothing: {:?}",
        w.proxy.writes()
    );
    // One GetMetricData for all 3 × 2 rule metrics and 4 group metrics.
    assert_eq!(w.proxy.count("GetMetricData"), 1);
    insta::assert_snapshot!("runs_json", steady(&run.stdout));
    let human = w.run(&app, &["runs"]).ok();
    insta::assert_snapshot!("runs_human", steady(&human.stdout));
    let markdown = w.run(&app, &["runs", "--format", "markdown"]).ok();
    insta::assert_snapshot!("runs_markdown", steady(&markdown.stdout));
}

#[test]
fn runs_exit_code_is_2_when_something_failed_in_the_window_else_0() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    let quiet = w.run(&app, &["runs", "--exit-code"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(quiet.stdout.contains("no failures"), "{}", quiet.stdout);
    Seed::new(&w).metric(
        &w,
        "AWS/Events",
        "FailedInvocations",
        &[("RuleName", "hourly")],
        1.0,
        60,
    );
    let failed = w.run(&app, &["runs", "--exit-code"]);
    assert_eq!(failed.code, 2, "{}\n{}", failed.stdout, failed.stderr);
    // Without --exit-code a failure is reported, not an error.
    assert_eq!(w.run(&app, &["runs"]).code, 0);
    // A stopped task that never started is a failure too.
    let w = World::new();
    w.hourly_web_job();
    let mut never = recent_task("9never", "web", 1, "events-rule/hourly", 300.0, Some(0));
    never["stopCode"] = json!("TaskFailedToStart");
    never["stoppedReason"] = json!("CannotPullContainerError: pull access denied");
    never["containers"] =
        json!([{"name": "app", "lastStatus": "STOPPED", "reason": "CannotPullContainerError"}]);
    w.proxy.remember_task(never);
    let run = w.run(&app, &["runs", "--exit-code"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("CannotPullContainerError"),
        "{}",
        run.stdout
    );
}

#[test]
fn refused_reads_are_warnings_naming_the_permission_never_a_crash() {
    let (w, app) = world();
    w.proxy
        .inject(fail("GetMetricData").with(Reply::access_denied()));
    w.proxy
        .inject(fail("ListTasks").with(Reply::access_denied()));
    w.proxy
        .inject(fail("GetQueueAttributes").with(Reply::access_denied()));
    let run = w.run(&app, &["runs", "--format", "json", "--exit-code"]);
    assert_eq!(run.code, 0, "nothing known to have failed: {}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let warnings = report["warnings"].to_string();
    for permission in [
        "cloudwatch:GetMetricData",
        "ecs:ListTasks",
        "sqs:GetQueueAttributes",
    ] {
        assert!(warnings.contains(permission), "{warnings}");
    }
    assert_eq!(report["triggers"][0]["invocations"], Value::Null);
    assert_eq!(report["triggers"][0]["failed_invocations"], Value::Null);
}

#[test]
fn a_malformed_since_is_exit_1_naming_the_flag_before_aws_is_asked() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    for bad in ["yesterday", "24", "-3h", "1w"] {
        let run = w.run(&app, &["runs", "--since", bad, "--exit-code"]);
        assert_eq!(run.code, 1, "{bad}: {}", run.stderr);
        run.says(&["--since"]);
    }
    assert!(w.proxy.actions().is_empty(), "{:?}", w.proxy.actions());
}

/// The budget of `runs` at 20 families and 200 rules: beside reading the triggers (as every
/// command does, one ListTargetsByRule per rule) and the families' history (as `status` does),
/// a fixed handful per family — GetMetricData ⌈3·rules/500⌉, ListTasks 2 per family,
/// DescribeTasks ⌈tasks/100⌉, GetQueueAttributes 1 per queue — not a few per rule. The figure
/// is printed (README, "What the jobs did").
#[test]
fn runs_at_20_families_and_200_rules_reads_metrics_tasks_and_queues_in_a_few_dozen_requests() {
    let _heavy = heavy_test();
    let w = World::new();
    let families: Vec<String> = (0..20).map(|f| format!("job{f:02}")).collect();
    let revisions: Vec<String> = families.iter().map(|f| w.aws.register(f, "v1")).collect();
    let seed = Seed::new(&w);
    let dlq = seed.queue(&w, "shared-dlq", 1);
    let rules = 200;
    for i in 0..rules {
        let name = format!("job-{i:03}");
        let mut target = ecs_target(
            &w.aws.net,
            "batch",
            &w.cluster,
            &revisions[i % families.len()],
        );
        target.dead_letter_config = Some(DeadLetterConfig::builder().arn(&dlq).build());
        w.aws
            .rule(&name, "default", RuleState::Enabled, vec![target]);
    }
    let tasks = 150;
    for i in 0..tasks {
        let rule = i % rules;
        w.proxy.remember_task(recent_task(
            &format!("t{i:03}"),
            &families[rule % families.len()],
            1,
            &format!("events-rule/job-{rule:03}"),
            600.0,
            Some(0),
        ));
    }
    w.proxy.clear();
    let names: Vec<&str> = families.iter().map(String::as_str).collect();
    let app = App::new(&config(&w.cluster, ""), &names);
    let run = w.run(&app, &["runs", "--format", "json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["triggers"].as_array().map(Vec::len), Some(rules));
    let attributed: usize = report["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["tasks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        attributed, tasks,
        "each task named for the rule that started it"
    );
    let queues = 1;
    assert_eq!(w.proxy.count("GetMetricData"), (3 * rules).div_ceil(500));
    assert_eq!(w.proxy.count("ListTasks"), 2 * families.len());
    assert_eq!(w.proxy.count("DescribeTasks"), tasks.div_ceil(100));
    assert_eq!(w.proxy.count("GetQueueAttributes"), queues);
    let runs_own = [
        "GetMetricData",
        "ListTasks",
        "DescribeTasks",
        "GetQueueAttributes",
    ]
    .iter()
    .map(|a| w.proxy.count(a))
    .sum::<usize>();
    let triggers = w.proxy.count("ListTargetsByRule");
    assert_eq!(
        triggers, rules,
        "the trigger reader: one ListTargetsByRule per rule"
    );
    let total = w.proxy.actions().len();
    let rest = total - runs_own - triggers;
    eprintln!(
        "runs at {} families, {rules} rules: {total} requests; {runs_own} for metrics, tasks and queues, {triggers} ListTargetsByRule, {rest} for the rest",
        families.len()
    );
    assert!(runs_own <= 2 * families.len() + 5, "{runs_own}");
    assert!(rest <= 3 * families.len() + 10, "{:?}", w.proxy.actions());
}
