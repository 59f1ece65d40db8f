//! The commands around the release: iam-policy against moto, completions, version, help.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn iam_policy_is_scoped_to_what_the_config_and_account_name() {
    let w = World::new();
    w.hourly_web_job();
    w.aws
        .schedule("default", "export", &w.cluster, &td_arn("web", 1));
    let app = App::new(&config("batch", ""), &[]);
    let template = APP_TEMPLATE.replace("FAMILY", "web").replace(
        "\"cpu\"",
        &format!("\"taskRoleArn\": \"arn:aws:iam::{ACCOUNT}:role/web-task\", \"executionRoleArn\": \"arn:aws:iam::{ACCOUNT}:role/ecs-exec\", \"cpu\""),
    );
    app.write("taskdefs/web.json", &template);
    w.proxy.clear();
    let run = w.run(&app, &["iam-policy", "--tag", "v2"]).ok();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    let policy: Value = serde_json::from_str(&run.stdout).expect("policy JSON");
    let statement = |sid: &str| -> Value {
        policy["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
            .cloned()
            .unwrap_or_else(|| panic!("no statement {sid} in {policy}"))
    };
    assert_eq!(statement("ResolveCluster")["Resource"][0], w.cluster);
    assert_eq!(
        statement("TagRevisionsOfTemplatedFamilies")["Resource"][0],
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:*")
    );
    assert_eq!(
        statement("CheckImageExists")["Resource"][0],
        format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/web")
    );
    let tasks = statement("PassTaskRoles");
    assert_eq!(tasks["Resource"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        tasks["Condition"]["StringEquals"]["iam:PassedToService"],
        "ecs-tasks.amazonaws.com"
    );
    assert_eq!(
        statement("PassRuleTargetRoles")["Resource"][0],
        format!("arn:aws:iam::{ACCOUNT}:role/events-ecs")
    );
    assert_eq!(
        statement("PassScheduleRoles")["Resource"][0],
        format!("arn:aws:iam::{ACCOUNT}:role/scheduler-ecs")
    );
}

#[test]
fn completions_version_and_examples() {
    let app = App::new(&config("batch", ""), &["web"]);
    let unreachable = "http://127.0.0.1:9";
    let bash = app.run(unreachable, &["completions", "bash"]).ok();
    assert!(bash.stdout.contains("_jobdeploy()"), "{}", bash.stdout);
    assert!(bash.stdout.contains("rollback"), "{}", bash.stdout);
    let version = app.run(unreachable, &["--version"]).ok();
    assert!(
        version.stdout.starts_with("jobdeploy 0.1.0 ("),
        "{}",
        version.stdout
    );
    for command in [
        "plan",
        "deploy",
        "rollback",
        "history",
        "status",
        "prune",
        "init",
        "iam-policy",
    ] {
        let help = app.run(unreachable, &[command, "--help"]).ok();
        assert!(
            help.stdout.contains("Examples:\n  jobdeploy"),
            "{command}: {}",
            help.stdout
        );
    }
}
