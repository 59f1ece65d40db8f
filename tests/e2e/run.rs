//! `jobdeploy run`: the RunTask request against the live target, the
//! task lifecycle (played by the proxy, see common/tasks.rs), logs from moto's CloudWatch
//! Logs, exit codes, Ctrl-C.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::proxy::{Fault, Reply};
use crate::common::tasks::Script;
use crate::common::*;

const LOG_GROUP: &str = "/ecs/report";

/// Family `report`: Fargate, container `app` logging to CloudWatch (`batch/app/<task id>`).
fn register_report(w: &World) -> String {
    let logs = aws_sdk_ecs::types::LogConfiguration::builder()
        .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
        .options("awslogs-group", LOG_GROUP)
        .options("awslogs-stream-prefix", "batch")
        .options("awslogs-region", REGION)
        .build()
        .expect("log configuration");
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image(format!("{IMAGE}:v1"))
        .essential(true)
        .log_configuration(logs)
        .build();
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
                .container_definitions(container)
                .send(),
        )
        .expect("register report");
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_string()
}

fn app(w: &World, extra: &str) -> App {
    App::new(&format!("{}{extra}", config(&w.cluster, "")), &[])
}

/// Rule `nightly` with every field a target can carry, running `report`.
fn nightly(w: &World) -> String {
    let td = register_report(w);
    w.aws.rule(
        "nightly",
        "default",
        aws_sdk_eventbridge::types::RuleState::Enabled,
        vec![full_target(&w.aws.net, &w.cluster, &td)],
    );
    td
}

#[test]
fn run_task_is_the_rule_target_field_for_field_and_waits_for_the_exit_code() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.script_task(Script::exits("app", 0).with_logs(
        LOG_GROUP,
        "batch",
        "app",
        &["report: starting"],
        &["report: done, 42 rows"],
    ));
    let run = w.run(&app, &["run", "nightly"]).ok();

    let target = w.aws.targets("nightly", "default").remove(0);
    let ecs = target.ecs_parameters().expect("ecs parameters");
    let request = w.proxy.bodies("RunTask").remove(0);
    let vpc = ecs
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .expect("vpc");
    let expected = json!({
        "cluster": target.arn(),
        "taskDefinition": ecs.task_definition_arn(),
        "count": 1,
        "capacityProviderStrategy": ecs.capacity_provider_strategy().iter().map(|c| json!({
            "capacityProvider": c.capacity_provider(), "weight": c.weight(), "base": c.base()
        })).collect::<Vec<_>>(),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": vpc.subnets(),
            "securityGroups": vpc.security_groups(),
            "assignPublicIp": vpc.assign_public_ip().map(|a| a.as_str()),
        }},
        "platformVersion": ecs.platform_version(),
        "group": ecs.group(),
        "placementConstraints": ecs.placement_constraints().iter().map(|c| json!({
            "type": c.r#type().map(|t| t.as_str()), "expression": c.expression()
        })).collect::<Vec<_>>(),
        "placementStrategy": ecs.placement_strategy().iter().map(|s| json!({
            "type": s.r#type().map(|t| t.as_str()), "field": s.field()
        })).collect::<Vec<_>>(),
        "enableECSManagedTags": ecs.enable_ecs_managed_tags(),
        "enableExecuteCommand": ecs.enable_execute_command(),
        "propagateTags": ecs.propagate_tags().map(|p| p.as_str()),
        "referenceId": ecs.reference_id(),
        "tags": ecs.tags().iter().map(|t| json!({"key": t.key(), "value": t.value()})).collect::<Vec<_>>(),
        "overrides": serde_json::from_str::<Value>(target.input().expect("input")).expect("input is JSON"),
        "startedBy": "jobdeploy",
    });
    for (key, want) in expected.as_object().expect("object") {
        assert_eq!(
            &request[key], want,
            "RunTask `{key}` differs from the target"
        );
    }
    // Nothing more than the target's fields, and the client token.
    let mut extra: Vec<&String> = request
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| !expected.as_object().is_some_and(|e| e.contains_key(*k)))
        .collect();
    extra.sort();
    assert_eq!(extra, ["clientToken"]);
    let token = request["clientToken"].as_str().expect("token");
    assert!(!token.is_empty() && token.len() <= 64, "{token}");
    // The target starts two tasks (TaskCount 2); run says it starts one.
    assert!(run.stderr.contains("TaskCount"), "{}", run.stderr);

    // Every status change, with the log lines, the last one read after STOPPED.
    for status in ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"] {
        assert!(run.stderr.contains(status), "{status}: {}", run.stderr);
    }
    assert_eq!(run.stdout, "report: starting\nreport: done, 42 rows\n");
    assert!(run.stderr.contains("exited with code 0"), "{}", run.stderr);
    // Only RunTask wrote. One DescribeTasks per status answered (the proxy's task stops at
    // its fifth), and the streams read to their end at each poll: at most two GetLogEvents
    // per poll (a page, then the empty one that says it is the end).
    assert_eq!(w.proxy.writes(), ["RunTask"]);
    assert_eq!(w.proxy.count("DescribeTasks"), 5);
    let reads = w.proxy.count("GetLogEvents");
    assert!((5..=10).contains(&reads), "{reads} GetLogEvents");
}

#[test]
fn a_schedule_runs_with_its_target_fields_and_no_wait_prints_the_task() {
    let w = World::new();
    let td = register_report(&w);
    w.aws.schedule_group("jobs");
    w.aws.create_schedule(
        "export",
        &full_schedule(&w.aws.net, "jobs", &w.cluster, &td, "ENABLED"),
    );
    let app = app(&w, "\n[schedules]\ngroups = [\"jobs\"]\n");
    w.proxy.script_task(Script::exits("app", 0));
    let run = w.run(&app, &["run", "jobs/export", "--no-wait"]).ok();

    let schedule = w.aws.schedule_json("jobs", "export");
    let target = &schedule["Target"];
    let ecs = &target["EcsParameters"];
    let request = w.proxy.bodies("RunTask").remove(0);
    let vpc = &ecs["NetworkConfiguration"]["awsvpcConfiguration"];
    let expected = json!({
        "cluster": target["Arn"],
        "taskDefinition": ecs["TaskDefinitionArn"],
        "count": 1,
        "capacityProviderStrategy": ecs["CapacityProviderStrategy"],
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": vpc["Subnets"], "securityGroups": vpc["SecurityGroups"], "assignPublicIp": vpc["AssignPublicIp"]
        }},
        "platformVersion": ecs["PlatformVersion"],
        "group": ecs["Group"],
        "placementConstraints": ecs["PlacementConstraints"],
        "placementStrategy": ecs["PlacementStrategy"],
        "enableECSManagedTags": ecs["EnableECSManagedTags"],
        "enableExecuteCommand": ecs["EnableExecuteCommand"],
        "propagateTags": ecs["PropagateTags"],
        "referenceId": ecs["ReferenceId"],
        "tags": [{"key": "cost-center", "value": "42"}],
        "overrides": serde_json::from_str::<Value>(target["Input"].as_str().expect("input")).expect("JSON"),
        "startedBy": "jobdeploy",
    });
    for (key, want) in expected.as_object().expect("object") {
        assert!(!want.is_null(), "the schedule has no `{key}`: {schedule}");
        assert_eq!(
            &request[key], want,
            "RunTask `{key}` differs from the schedule"
        );
    }
    assert_eq!(
        request.as_object().expect("object").len(),
        expected.as_object().expect("object").len() + 1
    );

    // --no-wait: the task and its console page on stdout, no polling.
    let arn = w.proxy.started_tasks().len();
    assert_eq!(arn, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/")),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].contains("console.aws.amazon.com/ecs/v2/clusters/batch/tasks/"),
        "{}",
        run.stdout
    );
    assert_eq!(w.proxy.count("DescribeTasks"), 0);
}

#[test]
fn the_containers_exit_code_is_the_exit_code_and_the_last_lines_are_not_lost() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.script_task(Script::exits("app", 3).with_logs(
        LOG_GROUP,
        "batch",
        "app",
        &["loading"],
        &["Error: 3 rows failed"],
    ));
    let run = w.run(&app, &["run", "default/nightly", "--target", "nightly"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stdout, "loading\nError: 3 rows failed\n");
    assert!(
        run.stderr.contains("container app exited with code 3"),
        "{}",
        run.stderr
    );

    // --no-logs reads no stream.
    w.proxy.clear();
    w.proxy
        .script_task(Script::exits("app", 0).with_logs(LOG_GROUP, "batch", "app", &["x"], &[]));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]).ok();
    assert_eq!(run.stdout, "");
    assert_eq!(w.proxy.count("GetLogEvents"), 0);
}

#[test]
fn failures_at_http_200_and_tasks_that_never_start_exit_1_with_the_reason() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.script_task(Script::fails(
        "Capacity is unavailable at this time. Please try again later or in a different availability zone",
        Some("FARGATE_SPOT"),
    ));
    let run = w.run(&app, &["run", "nightly"]).fails();
    assert!(
        run.stderr
            .contains("ECS started no task: Capacity is unavailable"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("FARGATE_SPOT"), "{}", run.stderr);
    assert_eq!(w.proxy.count("DescribeTasks"), 0);

    w.proxy.script_task(Script::never_starts(
        "app",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1: dial tcp 52.94.0.1:443: i/o timeout",
    ));
    let run = w.run(&app, &["run", "nightly"]).fails();
    assert!(
        run.stderr
            .contains("never started: CannotPullContainerError"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Hint: no route to ECR"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("PENDING") && run.stderr.contains("STOPPED"),
        "{}",
        run.stderr
    );
}

/// Waits until the proxy has answered `n` DescribeTasks (the task is RUNNING by then).
fn wait_for_polls(w: &World, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.proxy.count("DescribeTasks") < n {
        assert!(
            Instant::now() < deadline,
            "jobdeploy never polled {n} times"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `signal` (`INT`: Ctrl-C, `TERM`: what CI runners send on cancel).
pub fn interrupt(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn ctrl_c_or_sigterm_stops_the_task_and_exits_130_unless_told_to_leave_it() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.script_task(Script::runs_until_stopped("app"));
    let child = app.spawn(&w.proxy.url, &["run", "nightly"]);
    wait_for_polls(&w, 3);
    interrupt(&child, "INT");
    let run = Run::from(child.wait_with_output().expect("jobdeploy exits"));
    assert_eq!(run.code, 130, "{}", run.stderr);
    let stops = w.proxy.bodies("StopTask");
    assert_eq!(stops.len(), 1, "{}", run.stderr);
    assert!(
        stops[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("jobdeploy")),
        "{}",
        stops[0]
    );
    assert!(run.stderr.contains("STOPPED"), "{}", run.stderr);

    w.proxy.clear();
    w.proxy.script_task(Script::runs_until_stopped("app"));
    let child = app.spawn(&w.proxy.url, &["run", "nightly", "--detach-on-interrupt"]);
    wait_for_polls(&w, 3);
    interrupt(&child, "TERM");
    let run = Run::from(child.wait_with_output().expect("jobdeploy exits"));
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert_eq!(w.proxy.count("StopTask"), 0);
    assert!(run.stderr.contains("left running"), "{}", run.stderr);
}

#[test]
fn the_timeout_exits_124_and_leaves_the_task_running() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.script_task(Script::runs_until_stopped("app"));
    let started = Instant::now();
    let run = w.run(&app, &["run", "nightly", "--timeout", "4s"]);
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(run.stderr.contains("still running"), "{}", run.stderr);
    assert_eq!(w.proxy.count("StopTask"), 0);
}

#[test]
fn dry_run_prints_the_request_with_secrets_masked_and_starts_nothing() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    let run = w
        .run(
            &app,
            &[
                "run",
                "nightly",
                "--dry-run",
                "--env",
                "API_TOKEN=hunter22",
                "--env",
                "MODE=once",
                "--override-command",
                "bin/rake reports:one",
            ],
        )
        .ok();
    let request: Value = serde_json::from_str(&run.stdout).expect("the request is JSON");
    let app_override = &request["overrides"]["containerOverrides"][0];
    assert_eq!(app_override["command"], json!(["bin/rake", "reports:one"]));
    assert_eq!(
        app_override["environment"],
        json!([{"name": "API_TOKEN", "value": "****"}, {"name": "MODE", "value": "once"}])
    );
    assert!(!run.stdout.contains("hunter22"));
    assert_eq!(request["startedBy"], "jobdeploy");
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
}

#[test]
fn names_are_resolved_once_ambiguity_and_typos_are_errors_before_any_write() {
    let w = World::new();
    let td = nightly(&w);
    w.aws.schedule("default", "nightly", &w.cluster, &td);
    let app = app(&w, "");
    let run = w.run(&app, &["run", "nightly", "--dry-run"]).fails();
    assert!(run.stderr.contains("ambiguous"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("default/nightly --target nightly  (rule)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("default/nightly  (schedule)"),
        "{}",
        run.stderr
    );
    let run = w.run(&app, &["run", "nigthly"]).fails();
    assert!(
        run.stderr.contains("no rule or schedule named `nigthly`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Hint: did you mean"), "{}", run.stderr);
    let run = w.run(&app, &["run", "nightly", "--env", "NOVALUE"]).fails();
    assert!(run.stderr.contains("--env `NOVALUE`"), "{}", run.stderr);
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
}

#[test]
fn release_tag_and_latest_pick_another_revision_of_the_family() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    w.run(&app, &["deploy", "--tag", "v3"]).ok();
    w.run(&app, &["rollback", "v2"]).ok();
    let task_definition = |args: &[&str]| {
        let mut all = vec!["run", "hourly", "--dry-run"];
        all.extend_from_slice(args);
        let run = w.run(&app, &all).ok();
        let request: Value = serde_json::from_str(&run.stdout).expect("JSON");
        request["taskDefinition"].as_str().expect("arn").to_string()
    };
    // The target is on v2's revision after the rollback.
    assert_eq!(task_definition(&[]), td_arn("web", 2));
    assert_eq!(task_definition(&["--latest"]), td_arn("web", 3));
    assert_eq!(task_definition(&["--release", "v3"]), td_arn("web", 3));
    assert_eq!(task_definition(&["--tag", "v3"]), td_arn("web", 3));
    assert_eq!(task_definition(&["--release", "adopted"]), td_arn("web", 1));
    let run = w
        .run(&app, &["run", "hourly", "--release", "v9", "--dry-run"])
        .fails();
    assert!(run.stderr.contains("no release `v9`"), "{}", run.stderr);
    assert!(run.stderr.contains("v3, v2, adopted"), "{}", run.stderr);
    assert_eq!(w.proxy.count("RunTask"), 0);
}

/// RunTask took effect but its answer was lost: the retry carries the same client token, and
/// ECS (the proxy, here) answers the task it started instead of starting a second one.
#[test]
fn a_retried_run_task_never_starts_two_tasks() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.inject(Fault {
        action: "RunTask",
        rule: None,
        skip: 0,
        times: Some(1),
        reply: Reply::LoseResponse,
    });
    w.proxy.script_task(Script::exits("app", 0));
    // A second script: a RunTask that started another task would take it and fail.
    w.proxy.script_task(Script::exits("app", 9));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]).ok();
    let sent = w.proxy.bodies("RunTask");
    assert_eq!(sent.len(), 2, "{}", run.stderr);
    assert_eq!(sent[0]["clientToken"], sent[1]["clientToken"]);
    assert_eq!(w.proxy.started_tasks().len(), 1);
    eprintln!(
        "--- a whole run, as a user sees it ---\n{}{}",
        run.stderr, run.stdout
    );
}

/// ECS's API is eventually consistent: right after RunTask, DescribeTasks may answer the new
/// task as `MISSING`. The run waits on instead of failing while the task runs on unwatched.
#[test]
fn a_task_describe_tasks_does_not_know_yet_is_waited_for() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    w.proxy.inject(Fault {
        action: "DescribeTasks",
        rule: None,
        skip: 0,
        times: Some(2),
        reply: Reply::Json(json!({"tasks": [], "failures": [
            {"arn": "arn:aws:ecs:us-east-1:123456789012:task/batch/new", "reason": "MISSING"}
        ]})),
    });
    w.proxy.script_task(Script::exits("app", 3));
    let run = w.run(&app, &["run", "nightly", "--no-logs"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("MISSING"), "{}", run.stderr);
    assert_eq!(w.proxy.count("DescribeTasks"), 7);
}

/// Issue 24: on a terminal, `run`'s wait shows a live line — a spinner, the time waited and
/// the task's state — redrawn in place, with the status lines and the job's log lines
/// scrolling above it intact, and cleared at the end. Piped (every other test here), there
/// is no live line: no carriage return, no escape sequence.
#[test]
fn on_a_terminal_the_wait_is_a_live_line_and_piped_it_is_plain_lines() {
    let w = World::new();
    nightly(&w);
    let app = app(&w, "");
    let script = || {
        Script::exits("app", 0).with_logs(
            LOG_GROUP,
            "batch",
            "app",
            &["report: starting"],
            &["report: done, 42 rows"],
        )
    };
    w.proxy.script_task(script());
    let run = w.run_on_terminal(&app, &["run", "nightly"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let raw = &run.stdout;
    // indicatif redraws the line: carriage return and "erase line" (ESC [2K).
    assert!(raw.contains('\r') && raw.contains("\u{1b}[2K"), "{raw:?}");
    let shown = terminal_lines(raw);
    // The live line: the elapsed time, then the task's state ("  3s task 1f0c… RUNNING").
    assert!(
        shown.iter().any(|l| l.ends_with("RUNNING")
            && l.split_once(" task ")
                .is_some_and(|(before, _)| before.ends_with('s') && !before.contains(':'))),
        "no live line with the task's state: {shown:#?}"
    );
    // The log lines and the status lines reach the terminal whole, each on its own line.
    for line in ["report: starting", "report: done, 42 rows"] {
        assert!(shown.iter().any(|l| l == line), "{line}: {shown:#?}");
    }
    assert!(
        shown.iter().any(|l| l.ends_with("exited with code 0")),
        "{shown:#?}"
    );
    // Cleared at the end: the last erase is followed only by what comes after the wait.
    let tail = raw.rsplit("\u{1b}[2K").next().unwrap_or_default();
    assert!(
        !tail.contains("s task "),
        "the live line was left drawn: {tail:?}"
    );

    w.proxy.script_task(script());
    let piped = w.run(&app, &["run", "nightly"]).ok();
    assert!(
        !piped.stderr.contains('\r') && !piped.stderr.contains('\u{1b}'),
        "{:?}",
        piped.stderr
    );
}

/// What a terminal shows of `raw`, line by line: escape sequences dropped, and of a line
/// redrawn after a carriage return, each drawing (the spinner's frames included).
fn terminal_lines(raw: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, then one final byte in @..~.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\r', '\n'])
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}
