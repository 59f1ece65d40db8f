//! `jobdeploy init` against moto: templates from what the cluster's rules and schedules run,
//! after which a plan for the live tag shows no change.

mod common;

use aws_sdk_eventbridge::types::RuleState;
use common::*;

/// `report:1`: the release image plus a sidecar, and a command that looks like a template.
fn register_report(w: &World) -> String {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
    let app = ContainerDefinition::builder()
        .name("app")
        .image(format!("{IMAGE}:v1"))
        .essential(true)
        .command("sh")
        .command("-c")
        .command("echo {{ not jinja }} > /tmp/x")
        .build();
    let sidecar = ContainerDefinition::builder()
        .name("agent")
        .image("public.ecr.aws/datadog/agent:7")
        .essential(false)
        .build();
    let out = w
        .aws
        .rt
        .block_on(
            w.aws
                .ecs
                .register_task_definition()
                .family("report")
                .network_mode(NetworkMode::Awsvpc)
                .requires_compatibilities(Compatibility::Fargate)
                .cpu("256")
                .memory("512")
                .container_definitions(app)
                .container_definitions(sidecar)
                .send(),
        )
        .expect("register report");
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_string()
}

#[test]
fn init_writes_templates_that_plan_as_unchanged() {
    let w = World::new();
    w.hourly_web_job();
    register_report(&w);
    // A rule on another bus; a schedule in another group.
    w.aws.rule(
        "nightly-report",
        "jobs",
        RuleState::Enabled,
        vec![ecs_target("report", &w.cluster, &td_arn("report", 1))],
    );
    w.aws
        .schedule("data", "export", &w.cluster, &td_arn("web", 1));
    // Another cluster's job is not ours.
    let other = w.aws.create_cluster("analytics");
    let api = w.aws.register("api", "v1");
    w.aws.rule(
        "api-sync",
        "default",
        RuleState::Enabled,
        vec![ecs_target("sync", &other, &api)],
    );

    let app = App::empty();
    w.proxy.clear();
    let init = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    for found in [
        "found default/hourly target batch → web:1",
        "found jobs/nightly-report target report → report:1",
        "found schedule data/export → web:1",
        "wrote ",
        "next: `jobdeploy plan --tag v1` should show no change",
    ] {
        assert!(init.stderr.contains(found), "{found}\n{}", init.stderr);
    }
    assert!(!init.stderr.contains("api"), "{}", init.stderr);
    assert!(!app.path().join("taskdefs/api.json").exists());
    let report = std::fs::read_to_string(app.path().join("taskdefs/report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(report["containerDefinitions"][0]["image"], "{{ image }}");
    assert_eq!(
        report["containerDefinitions"][0]["command"][2],
        "{% raw %}echo {{ not jinja }} > /tmp/x{% endraw %}"
    );
    assert_eq!(
        report["containerDefinitions"][1]["image"],
        "public.ecr.aws/datadog/agent:7"
    );
    assert!(report.get("revision").is_none() && report.get("taskDefinitionArn").is_none());
    let config = std::fs::read_to_string(app.path().join("jobdeploy.toml")).expect("config");
    assert!(
        config.contains("event_buses = [\"default\", \"jobs\"]"),
        "{config}"
    );
    assert!(config.contains("groups = [\"data\"]"), "{config}");

    // Right after init: nothing to change for the live tag.
    let plan = w.run(&app, &["plan", "--tag", "v1", "--exit-code"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let render = w.run(&app, &["render", "report", "--tag", "v1"]).ok();
    assert!(
        render.stdout.contains("echo {{ not jinja }} > /tmp/x"),
        "{}",
        render.stdout
    );

    // Never overwrites without --force, and writes nothing then.
    let again = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .fails();
    assert!(
        again.stderr.contains("jobdeploy.toml exists"),
        "{}",
        again.stderr
    );
    app.write("taskdefs/web.json", "{}");
    std::fs::remove_file(app.path().join("jobdeploy.toml")).expect("rm");
    let again = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .fails();
    assert!(
        again.stderr.contains("taskdefs/web.json"),
        "{}",
        again.stderr
    );
    assert!(!app.path().join("jobdeploy.toml").exists());
    w.run(
        &app,
        &["init", "--cluster", "batch", "--image", IMAGE, "--force"],
    )
    .ok();

    // And the next release moves every job: both rules and the schedule.
    let deploy = w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert!(deploy.stdout.contains("3 targets"), "{}", deploy.stdout);
    assert_eq!(
        w.aws.task_definition_of("nightly-report", "jobs", "report"),
        td_arn("report", 2)
    );
}

#[test]
fn init_refuses_bad_input_before_reading_aws() {
    let w = World::new();
    let app = App::empty();
    let tagged = format!("{IMAGE}:v1");
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", &tagged])
        .fails();
    assert!(run.stderr.contains("without tag"), "{}", run.stderr);
    assert_eq!(w.proxy.actions(), Vec::<String>::new());
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .fails();
    assert!(run.stderr.contains("cluster `batch`"), "{}", run.stderr);
    assert!(!app.path().join("jobdeploy.toml").exists());
}
