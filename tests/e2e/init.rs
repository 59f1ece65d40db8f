//! `jobdeploy init` against moto: templates from what the cluster's rules and schedules run,
//! after which a plan for the live tag shows no change.

use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::*;
use aws_sdk_eventbridge::types::RuleState;

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
                // Pulls its image from ECR on Fargate: the execution role deploy's gate wants.
                .execution_role_arn(world::role_arn(world::EXEC_ROLE))
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
        vec![ecs_target(
            &w.aws.net,
            "report",
            &w.cluster,
            &td_arn("report", 1),
        )],
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
        vec![ecs_target(&w.aws.net, "sync", &other, &api)],
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
        "next: `jobdeploy plan --tag v1` should show no change; then set [manifest] repo and path in ",
    ] {
        assert!(init.stderr.contains(found), "{found}\n{}", init.stderr);
    }
    assert!(
        init.stdout.starts_with("Wrote ") && init.stdout.contains("jobdeploy.toml"),
        "{}",
        init.stdout
    );
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

    // And the next release moves every job: both rules and the schedule, through deploy's
    // verify gate (the templates init wrote run with the world's roles and networks).
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

/// The bug: a typo'd `--cluster` was told to check `cluster` in jobdeploy.toml, a file init
/// had not written yet.
#[test]
fn init_typo_cluster_hint_names_the_flag_not_a_missing_file() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "bacth", "--image", IMAGE])
        .fails();
    assert!(run.stderr.contains("`bacth`"), "{}", run.stderr);
    assert!(run.stderr.contains("--cluster"), "{}", run.stderr);
    assert!(!run.stderr.contains("jobdeploy.toml"), "{}", run.stderr);
}

/// The bug: `--image` naming no container of any family wrote templates that a release
/// never changes, and exited 0.
#[test]
fn init_image_matching_no_container_is_an_error() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::empty();
    let run = w
        .run(
            &app,
            &["init", "--cluster", "batch", "--image", "ghcr.io/acme/api"],
        )
        .fails();
    for expected in ["ghcr.io/acme/api", "web", IMAGE, "nothing was written"] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert!(!app.path().join("jobdeploy.toml").exists());
    assert!(!app.path().join("taskdefs").exists());
}

/// The bug: init asked to "set [manifest] repo and path" even when both were given.
#[test]
fn init_next_steps_do_not_ask_for_what_was_given() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::empty();
    let run = w
        .run(
            &app,
            &[
                "init",
                "--cluster",
                "batch",
                "--image",
                IMAGE,
                "--manifest-repo",
                "https://github.com/acme/k8s.git",
                "--manifest-path",
                "apps/web",
            ],
        )
        .ok();
    assert!(
        run.stderr
            .contains("next: `jobdeploy plan --tag v1` should show no change\n"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("set [manifest]"), "{}", run.stderr);
    let app = App::empty();
    let run = w
        .run(
            &app,
            &[
                "init",
                "--cluster",
                "batch",
                "--image",
                IMAGE,
                "--manifest-repo",
                "k8s",
            ],
        )
        .ok();
    assert!(
        run.stderr.contains("then set [manifest] path in "),
        "{}",
        run.stderr
    );
}

/// The bug: init copied passwords and tokens from `environment` into taskdefs/ (and so into
/// the repo) without a word.
#[test]
fn init_warns_about_plaintext_secrets_without_printing_them() {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, KeyValuePair, NetworkMode};
    let w = World::new();
    let env = |name: &str, value: &str| KeyValuePair::builder().name(name).value(value).build();
    let app_container = ContainerDefinition::builder()
        .name("app")
        .image(format!("{IMAGE}:v1"))
        .essential(true)
        .environment(env("DATABASE_PASSWORD", "hunter2-secret-value"))
        .environment(env("SENTRY_DSN", "https://key@sentry.example/1"))
        .environment(env("RAILS_ENV", "production"))
        .build();
    let arn = w
        .aws
        .rt
        .block_on(
            w.aws
                .ecs
                .register_task_definition()
                .family("web")
                .network_mode(NetworkMode::Awsvpc)
                .requires_compatibilities(Compatibility::Fargate)
                .cpu("256")
                .memory("512")
                .container_definitions(app_container)
                .send(),
        )
        .expect("register web")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_string();
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &arn)],
    );
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    for expected in [
        "taskdefs/web.json: container `app` has `DATABASE_PASSWORD` in plain text",
        "taskdefs/web.json: container `app` has `SENTRY_DSN` in plain text",
        "valueFrom",
        "Secrets Manager",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("RAILS_ENV"), "{}", run.stderr);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("sentry.example"), "{text}");
    }
}

/// A rule a CloudFormation stack created carries the `aws:cloudformation:stack-name` tag:
/// init warns, naming the stack, that the next stack update undoes releases. A schedule
/// (which cannot be tagged) of no stack, or one jobdeploy may not look up, is no warning.
#[test]
fn init_warns_naming_the_stack_when_a_rule_belongs_to_cloudformation() {
    let w = World::new();
    w.hourly_web_job();
    w.aws
        .schedule("data", "export", &w.cluster, &td_arn("web", 1));
    let rule_arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/hourly");
    w.aws
        .rt
        .block_on(
            w.aws
                .events
                .tag_resource()
                .resource_arn(&rule_arn)
                .tags(
                    aws_sdk_eventbridge::types::Tag::builder()
                        .key("aws:cloudformation:stack-name")
                        .value("batch-jobs")
                        .build()
                        .expect("tag"),
                )
                .send(),
        )
        .expect("tag rule");
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    run.says(&[
        "rule hourly (bus default) belongs to CloudFormation stack `batch-jobs`",
        "Rules created by Terraform, CDK or CloudFormation",
    ]);
    assert!(
        !run.stderr.contains("schedule data/export belongs"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.proxy.count("DescribeStackResources"),
        1,
        "{:?}",
        w.proxy.actions()
    );
}

/// A schedule cannot be tagged: init asks CloudFormation which stack has it
/// (DescribeStackResources with the schedule's name as `PhysicalResourceId`). moto ignores
/// `PhysicalResourceId`, so the proxy answers as AWS does for a schedule of stack
/// `batch-jobs`; a refused lookup is a note naming the permission, and init still writes.
#[test]
fn init_warns_naming_the_stack_when_a_schedule_belongs_to_cloudformation() {
    let w = World::new();
    w.aws.register("web", "v1");
    w.aws
        .schedule("data", "export", &w.cluster, &td_arn("web", 1));
    let stack = format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/batch-jobs/1");
    w.proxy.inject(fail("DescribeStackResources").times(1).with(Reply::Xml(format!(
        "<DescribeStackResourcesResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStackResourcesResult><StackResources><member><StackId>{stack}</StackId><StackName>batch-jobs</StackName><LogicalResourceId>Export</LogicalResourceId><PhysicalResourceId>export</PhysicalResourceId><ResourceType>AWS::Scheduler::Schedule</ResourceType><Timestamp>2026-01-01T00:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member></StackResources></DescribeStackResourcesResult><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></DescribeStackResourcesResponse>"
    ))));
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    run.says(&["schedule data/export belongs to CloudFormation stack `batch-jobs`"]);
    assert_eq!(w.proxy.count("DescribeStackResources"), 1);

    let w = World::new();
    w.aws.register("web", "v1");
    w.aws
        .schedule("data", "export", &w.cluster, &td_arn("web", 1));
    w.proxy
        .inject(fail("DescribeStackResources").with(Reply::access_denied_query()));
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    run.says(&["cloudformation:DescribeStackResources was refused"]);
    assert!(app.path().join("jobdeploy.toml").exists());
}

/// Review of issue 25: the stack of whatever resource DescribeStackResources listed was
/// taken, so a stack's rule or queue that shares the schedule's name made init warn that the
/// schedule belongs to that stack. Only a resource of type `AWS::Scheduler::Schedule` with
/// the schedule's name counts.
#[test]
fn a_stack_resource_of_another_type_with_the_schedules_name_is_not_the_schedule() {
    let w = World::new();
    w.aws.register("web", "v1");
    w.aws
        .schedule("data", "export", &w.cluster, &td_arn("web", 1));
    let stack = format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/queues/1");
    w.proxy.inject(fail("DescribeStackResources").times(1).with(Reply::Xml(format!(
        "<DescribeStackResourcesResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStackResourcesResult><StackResources><member><StackId>{stack}</StackId><StackName>queues</StackName><LogicalResourceId>ExportQueue</LogicalResourceId><PhysicalResourceId>export</PhysicalResourceId><ResourceType>AWS::Events::Rule</ResourceType><Timestamp>2026-01-01T00:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member></StackResources></DescribeStackResourcesResult><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></DescribeStackResourcesResponse>"
    ))));
    let app = App::empty();
    let run = w
        .run(&app, &["init", "--cluster", "batch", "--image", IMAGE])
        .ok();
    assert!(
        !run.stderr.contains("belongs to CloudFormation stack"),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.count("DescribeStackResources"), 1);
}
