//! `run` starts what the rule or schedule would start: a rule target's InputTransformer or
//! InputPath applied to the event EventBridge would send, Scheduler's context attributes
//! filled in; and the exit code is the essential container's that ended the task. RunTask is
//! asserted at the proxy, which plays the task (common/tasks.rs).

use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Target};
use serde_json::{Value, json};

use crate::common::tasks::Script;
use crate::common::*;

/// Family `report`: Fargate, two essential containers, the job `app` and a log router.
fn register_report(w: &World) -> String {
    let container = |name: &str| {
        aws_sdk_ecs::types::ContainerDefinition::builder()
            .name(name)
            .image(format!("{IMAGE}:v1"))
            .essential(true)
            .build()
    };
    let out = w
        .aws
        .rt
        .block_on(
            w.aws
                .ecs
                .register_task_definition()
                .family("report")
                .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
                .cpu("256")
                .memory("512")
                .container_definitions(container("app"))
                .container_definitions(container("log-router"))
                .send(),
        )
        .expect("register report");
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_string()
}

fn transformer(paths: &[(&str, &str)], template: &str) -> InputTransformer {
    let mut t = InputTransformer::builder().input_template(template);
    for (k, v) in paths {
        t = t.input_paths_map(*k, *v);
    }
    t.build().expect("input transformer")
}

/// `target` with `shape` applied to its builder (an InputTransformer or InputPath).
fn shaped(
    net: &crate::common::world::Network,
    cluster: &str,
    td: &str,
    shape: impl FnOnce(
        aws_sdk_eventbridge::types::builders::TargetBuilder,
    ) -> aws_sdk_eventbridge::types::builders::TargetBuilder,
) -> Target {
    let base = ecs_target(net, "report", cluster, td);
    shape(
        Target::builder()
            .id(base.id())
            .arn(base.arn())
            .set_role_arn(base.role_arn().map(str::to_string))
            .set_ecs_parameters(base.ecs_parameters().cloned()),
    )
    .build()
    .expect("target")
}

fn rule_arn(w: &World, rule: &str, bus: &str) -> String {
    w.aws
        .rt
        .block_on(
            w.aws
                .events
                .describe_rule()
                .name(rule)
                .event_bus_name(bus)
                .send(),
        )
        .expect("describe rule")
        .arn()
        .expect("arn")
        .to_string()
}

/// The suite's config with `extra` appended (the buses and groups a test made).
fn app_with(w: &World, extra: &str) -> App {
    App::new(&format!("{}{extra}", config(&w.cluster, "")), &[])
}

const UPLOADS: &str = "\n[rules]\nevent_buses = [\"default\", \"uploads\"]\n";
const JOBS: &str = "\n[schedules]\ngroups = [\"jobs\"]\n";

/// EventBridge's time format: `2016-12-30T18:44:49Z`.
fn is_event_time(text: &str) -> bool {
    text.len() == 20
        && text.ends_with('Z')
        && text.as_bytes().get(10) == Some(&b'T')
        && text[..4].parse::<u32>().is_ok_and(|y| y >= 2024)
}

/// The rule target's InputTransformer used to be ignored: RunTask got no overrides, so `run`
/// started a task other than the schedule's. Now RunTask's `overrides` are the template
/// filled from the Scheduled Event the rule would send, value for value.
#[test]
fn an_input_transformer_target_runs_with_the_overrides_eventbridge_builds_from_the_scheduled_event()
{
    let w = World::new();
    let td = register_report(&w);
    let template = r#"{"containerOverrides": [{"name": "app", "command": ["bin/report", <time>, "--day=<day>"], "environment": [
        {"name": "RULE_ARN", "value": <rule>}, {"name": "RULE", "value": "<aws.events.rule-name>"},
        {"name": "KIND", "value": "<kind> from <source>"}, {"name": "EVENT_ID", "value": <id>},
        {"name": "RESOURCES", "value": "<resources>"}]}]}"#;
    let paths = [
        ("time", "$.time"),
        ("rule", "$.resources[0]"),
        ("kind", "$.detail-type"),
        ("source", "$.source"),
        ("id", "$.id"),
        ("day", "$.detail.day"),
        ("resources", "$.account"),
    ];
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![shaped(&w.aws.net, &w.cluster, &td, |t| {
            t.input_transformer(transformer(&paths, template))
        })],
    );
    let app = app_with(&w, "");
    w.proxy.script_task(Script::ends(&[
        ("app", Some(0), None),
        ("log-router", Some(143), None),
    ]));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let request = w.proxy.bodies("RunTask").remove(0);
    let app_override = &request["overrides"]["containerOverrides"][0];
    let time = app_override["command"][1].as_str().expect("time");
    assert!(is_event_time(time), "{time}");
    let id = app_override["environment"][3]["value"]
        .as_str()
        .expect("id");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(&id[14..15], "4", "a version 4 UUID: {id}");
    let arn = rule_arn(&w, "nightly", "default");
    assert_eq!(
        request["overrides"],
        json!({"containerOverrides": [{"name": "app", "command": ["bin/report", time, "--day="], "environment": [
            {"name": "RULE_ARN", "value": arn},
            {"name": "RULE", "value": "nightly"},
            {"name": "KIND", "value": "Scheduled Event from aws.events"},
            {"name": "EVENT_ID", "value": id},
            {"name": "RESOURCES", "value": ACCOUNT}
        ]}]})
    );
    assert!(
        run.stderr
            .contains("overrides from its InputTransformer applied to a Scheduled Event"),
        "{}",
        run.stderr
    );
    // The sidecar stopped with the task (143) while the app exited 0: a success.
    assert!(
        run.stderr.contains("container app exited with code 0"),
        "{}",
        run.stderr
    );

    // --dry-run shows the same overrides and starts nothing.
    w.proxy.clear();
    let dry = w.run(&app, &["run", "nightly", "--dry-run"]).ok();
    let shown: Value = serde_json::from_str(&dry.stdout).expect("JSON");
    assert_eq!(
        shown["overrides"]["containerOverrides"][0]["environment"][1]["value"],
        "nightly"
    );
    assert_eq!(w.proxy.count("RunTask"), 0);
}

/// An InputPath target passes the part of the event its path selects: `$.detail` of a
/// Scheduled Event is `{}`.
#[test]
fn an_input_path_target_runs_with_the_part_of_the_event_it_selects() {
    let w = World::new();
    let td = register_report(&w);
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![shaped(&w.aws.net, &w.cluster, &td, |t| {
            t.input_path("$.detail")
        })],
    );
    let app = app_with(&w, "");
    w.proxy.script_task(Script::ends(&[
        ("app", Some(0), None),
        ("log-router", Some(143), None),
    ]));
    w.run(&app, &["run", "hourly", "--no-logs"]).ok();
    let request = w.proxy.bodies("RunTask").remove(0);
    assert_eq!(request["overrides"], json!({}));
}

/// A rule driven by an event pattern sends whatever event matched: without `--event` run
/// cannot know it, so it refuses, naming the rule and the transformer, before RunTask.
#[test]
fn an_event_pattern_rule_needs_the_event_and_runs_with_the_one_given() {
    let w = World::new();
    let td = register_report(&w);
    let template = r#"{"containerOverrides": [{"name": "app", "command": ["bin/import", <key>], "environment": [{"name": "BUCKET", "value": "<bucket>"}, {"name": "SIZE", "value": "<size>"}]}]}"#;
    w.aws.rule(
        "on-upload",
        "uploads",
        RuleState::Enabled,
        vec![shaped(&w.aws.net, &w.cluster, &td, |t| {
            t.input_transformer(transformer(
                &[
                    ("key", "$.detail.object.key"),
                    ("bucket", "$.detail.bucket.name"),
                    ("size", "$.detail.object.size"),
                ],
                template,
            ))
        })],
    );
    let app = app_with(&w, UPLOADS);
    let run = w.run(&app, &["run", "on-upload"]).fails();
    assert!(
        run.stderr.contains("rule on-upload (bus uploads)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("InputTransformer"), "{}", run.stderr);
    assert!(run.stderr.contains("--event FILE"), "{}", run.stderr);
    assert_eq!(w.proxy.count("RunTask"), 0);
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());

    let event = json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "time": "2021-11-12T00:00:00Z", "region": REGION,
        "resources": ["arn:aws:s3:::example-bucket"],
        "detail": {"bucket": {"name": "example-bucket"}, "object": {"key": "in/\"q\".csv", "size": 5}}
    });
    let file = app.path().join("upload.json");
    std::fs::write(&file, event.to_string()).expect("write event");
    w.proxy.script_task(Script::ends(&[
        ("app", Some(0), None),
        ("log-router", Some(143), None),
    ]));
    let run = w.run(
        &app,
        &[
            "run",
            "on-upload",
            "--event",
            file.to_str().expect("utf-8"),
            "--no-logs",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = w.proxy.bodies("RunTask").remove(0);
    assert_eq!(
        request["overrides"],
        json!({"containerOverrides": [{"name": "app", "command": ["bin/import", "in/\"q\".csv"], "environment": [
            {"name": "BUCKET", "value": "example-bucket"}, {"name": "SIZE", "value": "5"}
        ]}]})
    );

    // A file that is not an event is refused naming the file, before any AWS call.
    std::fs::write(&file, "[1]").expect("write");
    w.proxy.clear();
    let run = w
        .run(
            &app,
            &["run", "on-upload", "--event", file.to_str().expect("utf-8")],
        )
        .fails();
    assert!(run.stderr.contains("upload.json"), "{}", run.stderr);
    assert!(w.proxy.actions().is_empty(), "{:?}", w.proxy.actions());
}

/// Scheduler passed its context attributes to RunTask literally (`<aws.scheduler.…>`); it
/// fills them in as Scheduler does.
#[test]
fn a_schedules_context_attributes_are_filled_in_as_scheduler_does() {
    let w = World::new();
    let td = register_report(&w);
    w.aws.schedule_group("jobs");
    let mut body = full_schedule(&w.aws.net, "jobs", &w.cluster, &td, "ENABLED");
    body["Target"]["Input"] = json!(
        r#"{"containerOverrides":[{"name":"app","command":["bin/export","<aws.scheduler.scheduled-time>"],"environment":[{"name":"SCHEDULE","value":"<aws.scheduler.schedule-arn>"},{"name":"EXECUTION","value":"<aws.scheduler.execution-id>"},{"name":"ATTEMPT","value":"<aws.scheduler.attempt-number>"}]}]}"#
    );
    w.aws.create_schedule("export", &body);
    let app = app_with(&w, JOBS);
    w.proxy.script_task(Script::ends(&[
        ("app", Some(0), None),
        ("log-router", Some(143), None),
    ]));
    let run = w.run(&app, &["run", "jobs/export", "--no-logs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = w.proxy.bodies("RunTask").remove(0);
    let app_override = &request["overrides"]["containerOverrides"][0];
    let time = app_override["command"][1].as_str().expect("time");
    assert!(is_event_time(time), "{time}");
    let env = &app_override["environment"];
    let schedule_arn = w.aws.schedule_json("jobs", "export")["Arn"].clone();
    assert!(schedule_arn.is_string(), "{schedule_arn}");
    assert_eq!(env[0]["value"], schedule_arn);
    let execution = env[1]["value"].as_str().expect("execution id");
    assert_eq!(execution.len(), 16, "{execution}");
    assert!(
        execution
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{execution}"
    );
    assert_eq!(env[2]["value"], "1");
    assert!(!request.to_string().contains("aws.scheduler"), "{request}");
    // --event has no meaning for a schedule.
    let file = app.path().join("e.json");
    std::fs::write(&file, "{}").expect("write");
    let run = w
        .run(
            &app,
            &[
                "run",
                "jobs/export",
                "--event",
                file.to_str().expect("utf-8"),
            ],
        )
        .fails();
    assert!(
        run.stderr.contains("sends its target no event"),
        "{}",
        run.stderr
    );
}

/// The app exits, ECS stops the task, the essential log router gets SIGTERM and exits 143:
/// `run` used to exit 143 (and a smoke run blocked a good deploy). The exit code is the
/// app's; an out-of-memory kill is a failure with ECS's reason.
#[test]
fn the_exit_code_is_the_essential_container_that_ended_the_task_not_a_sidecar_stopped_with_it() {
    let w = World::new();
    let td = register_report(&w);
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "report", &w.cluster, &td)],
    );
    let app = app_with(&w, "");
    let sidecar = ("log-router", Some(143), None);
    w.proxy
        .script_task(Script::ends(&[("app", Some(0), None), sidecar]));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    w.proxy
        .script_task(Script::ends(&[sidecar, ("app", Some(3), None)]));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("container app exited with code 3"),
        "{}",
        run.stderr
    );

    // --container still picks one: the log router's own code.
    w.proxy
        .script_task(Script::ends(&[("app", Some(0), None), sidecar]));
    let run = w.run(
        &app,
        &["run", "nightly", "--no-logs", "--container", "log-router"],
    );
    assert_eq!(run.code, 143, "{}", run.stderr);

    let oom = "OutOfMemoryError: Container killed due to memory usage";
    w.proxy.script_task(Script::ends(&[
        ("app", Some(137), Some(oom)),
        ("log-router", Some(143), None),
    ]));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(oom), "{}", run.stderr);
    assert!(run.stderr.contains("container app"), "{}", run.stderr);
}

/// `deploy --smoke` runs the rule's task through the same code: the transformer is applied,
/// and an event-pattern rule's transformer stops the deploy before anything is registered.
#[test]
fn a_smoke_run_applies_the_targets_input_transformer_too() {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![shaped(&w.aws.net, &w.cluster, &web, |t| {
            t.input_transformer(transformer(
                &[],
                r#"{"containerOverrides": [{"name": "app", "environment": [{"name": "RULE", "value": <aws.events.rule-name>}]}]}"#,
            ))
        })],
    );
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    w.proxy.script_task(Script::exits("app", 0));
    let run = w.run(&app, &["deploy", "--tag", "v2", "--smoke", "hourly"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = w.proxy.bodies("RunTask").remove(0);
    assert_eq!(
        request["overrides"],
        json!({"containerOverrides": [{"name": "app", "environment": [{"name": "RULE", "value": "hourly"}]}]})
    );

    w.aws.rule(
        "on-upload",
        "uploads",
        RuleState::Enabled,
        vec![shaped(&w.aws.net, &w.cluster, &web, |t| {
            t.input_transformer(transformer(&[("k", "$.detail.key")], r#"{"a": <k>}"#))
        })],
    );
    let app = App::new(
        &format!(
            "{}\n[rules]\nevent_buses = [\"default\", \"uploads\"]\n",
            config(&w.cluster, "")
        ),
        &["web"],
    );
    w.proxy.clear();
    let run = w
        .run(&app, &["deploy", "--tag", "v3", "--smoke", "on-upload"])
        .fails();
    assert!(
        run.stderr.contains("rule on-upload (bus uploads)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("InputTransformer"), "{}", run.stderr);
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
}
