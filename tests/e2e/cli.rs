//! The commands around the release: iam-policy against moto, completions, version, help.

use crate::common::*;
use serde_json::Value;

#[test]
fn iam_policy_is_scoped_to_what_the_config_and_account_name() {
    let w = World::new();
    w.hourly_web_job();
    w.aws
        .schedule("default", "export", &w.cluster, &td_arn("web", 1));
    let app = App::new(&config("batch", ""), &[]);
    let template = APP_TEMPLATE.replace("FAMILY", "web").replace(
        &format!("\"executionRoleArn\": \"arn:aws:iam::{ACCOUNT}:role/jobs-exec\""),
        &format!("\"taskRoleArn\": \"arn:aws:iam::{ACCOUNT}:role/web-task\", \"executionRoleArn\": \"arn:aws:iam::{ACCOUNT}:role/ecs-exec\""),
    ).replace(
        r#""secrets": [{"name": "DATABASE_URL", "valueFrom": "/jobs/db"}]"#,
        &format!("\"secrets\": [{{\"name\": \"DB\", \"valueFrom\": \"/web/db:2\"}}, {{\"name\": \"API\", \"valueFrom\": \"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-AbCdEf:token::\"}}]"),
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
    // What verify reads (deploy runs it first): the roles, the parameter without its
    // version selector, the secret's metadata (never its value), logs and network.
    assert_eq!(
        statement("CheckImageExists")["Action"],
        serde_json::json!(["ecr:DescribeImages", "ecr:BatchGetImage"])
    );
    let roles = statement("VerifyRoles");
    assert_eq!(roles["Action"], serde_json::json!(["iam:GetRole"]));
    assert_eq!(
        roles["Resource"].as_array().map(Vec::len),
        Some(4),
        "{roles}"
    );
    assert_eq!(
        statement("VerifyParameters")["Resource"],
        serde_json::json!([format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/web/db")])
    );
    assert_eq!(
        statement("VerifySecrets")["Resource"],
        serde_json::json!([format!(
            "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-AbCdEf*"
        )])
    );
    assert_eq!(
        statement("VerifySecrets")["Action"],
        serde_json::json!(["secretsmanager:DescribeSecret"])
    );
    let reads = statement("VerifyLogGroupsAndNetwork")["Action"].to_string();
    for action in [
        "logs:DescribeLogGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeSecurityGroups",
    ] {
        assert!(reads.contains(action), "{action} in {reads}");
    }
    assert!(!run.stdout.contains("GetSecretValue"), "{}", run.stdout);
    // verify simulates exactly the roles that start the tasks and the execution role, and
    // describes parameters for their KMS keys (DescribeParameters takes no resource).
    let simulated = statement("VerifyRolePermissions");
    assert_eq!(
        simulated["Action"],
        serde_json::json!(["iam:SimulatePrincipalPolicy"])
    );
    assert_eq!(
        simulated["Resource"],
        serde_json::json!([
            format!("arn:aws:iam::{ACCOUNT}:role/ecs-exec"),
            format!("arn:aws:iam::{ACCOUNT}:role/events-ecs"),
            format!("arn:aws:iam::{ACCOUNT}:role/scheduler-ecs"),
        ])
    );
    let keys = statement("VerifyParameterKeys");
    assert_eq!(
        keys["Action"],
        serde_json::json!(["ssm:DescribeParameters"])
    );
    assert_eq!(keys["Resource"], serde_json::json!(["*"]));
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
        "verify",
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

/// Runs the binary with nothing of AWS in the environment: no AWS_* variables and a HOME
/// without ~/.aws. The instance metadata endpoint is off so the chain cannot hang on it.
fn run_without_aws(app: &App, extra: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().expect("empty home");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jobdeploy"));
    cmd.current_dir(app.path())
        .args(["plan", "--tag", "v1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let started = std::time::Instant::now();
    let run = Run::from(cmd.output().expect("run jobdeploy"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    run
}

/// The bug: without credentials the error was the SDK's Debug dump of the provider chain.
#[test]
fn no_region_and_no_credentials_are_one_sentence_and_a_hint() {
    let app = App::new(&config("batch", ""), &["web"]);
    let run = run_without_aws(&app, &[]).fails();
    assert_eq!(
        run.stderr.lines().next(),
        Some("Error: no AWS region: set AWS_REGION or `region` in jobdeploy.toml"),
        "{}",
        run.stderr
    );
    let run = run_without_aws(&app, &[("AWS_REGION", REGION)]).fails();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("Error: no AWS credentials found")),
        "{}",
        run.stderr
    );
    assert!(
        lines.iter().skip(1).all(|l| l.starts_with("Hint: ")) && lines.len() <= 3,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", run.stderr);
    for dump in ["{", "CredentialsNotLoaded", "source:", "Error {"] {
        assert!(!run.stderr.contains(dump), "{dump} in {}", run.stderr);
    }
}

/// The bug: `init --help` listed `--tag`, `--format` and `--config`, which init never
/// reads (the global flags of the release commands).
#[test]
fn init_help_shows_no_deploy_flags() {
    let app = App::empty();
    let unreachable = "http://127.0.0.1:9";
    let help = app.run(unreachable, &["init", "--help"]).ok();
    for flag in ["--tag <TAG>", "--format <FORMAT>", "--config <PATH>"] {
        assert!(!help.stdout.contains(flag), "{flag} in {}", help.stdout);
    }
    for flag in ["--cluster", "--image", "--force", "--quiet"] {
        assert!(help.stdout.contains(flag), "{flag} not in {}", help.stdout);
    }
    // The release commands still have them, before or after the subcommand.
    let help = app.run(unreachable, &["plan", "--help"]).ok();
    for flag in ["--tag <TAG>", "--format <FORMAT>", "--config <PATH>"] {
        assert!(help.stdout.contains(flag), "{flag} not in {}", help.stdout);
    }
    let top = app.run(unreachable, &["--help"]).ok();
    let commands: Vec<&str> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "plan",
            "deploy",
            "render",
            "history",
            "status",
            "rollback",
            "prune",
            "init",
            "run",
            "verify",
            "runs",
            "iam-policy",
            "completions",
            "help"
        ]
    );
}

/// The bug: iam-policy listed `rule/*` twice (the repoint statement and prune's).
#[test]
fn iam_policy_lists_each_rule_pattern_once() {
    let w = World::new();
    w.hourly_web_job();
    w.aws.put_rule(
        "weekly",
        "jobs",
        aws_sdk_eventbridge::types::RuleState::Enabled,
    );
    let app = App::new(
        &format!(
            "cluster = \"batch\"\n[manifest]\nimage = \"{IMAGE}\"\n[rules]\nevent_buses = [\"default\", \"jobs\"]\n"
        ),
        &["web"],
    );
    let run = w.run(&app, &["iam-policy", "--tag", "v1"]).ok();
    let policy: Value = serde_json::from_str(&run.stdout).expect("policy JSON");
    let mut patterns: Vec<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .filter(|r| r.contains(":rule/"))
        .collect();
    patterns.sort();
    assert_eq!(
        patterns,
        [
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/*"),
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/jobs/*"),
        ],
        "{policy:#}"
    );
}
