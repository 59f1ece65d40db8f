//! `jobdeploy verify` and deploy's verify gate against moto's IAM, SSM, Secrets Manager,
//! CloudWatch Logs, EC2 and ECR: a sound job passes every check; each broken thing fails
//! naming its fix; a refused read is a warning; a deploy that fails verify writes nothing.

mod permissions;
mod seed;

use aws_sdk_eventbridge::types::RuleState;
use serde_json::{Value, json};

use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::*;
use seed::*;

/// `(status word, area, check)` of each line of the human report.
fn lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with("fix:"))
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_sound_job_passes_every_check_reading_only() {
    let (w, seed, app) = sound_world();
    w.proxy.clear();
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert_eq!(
        w.proxy.writes(),
        Vec::<String>::new(),
        "verify writes nothing"
    );
    let out = &run.stdout;
    for expected in [
        "ok      roles    execution role ecs-exec",
        "ok      roles    task role web-task",
        &format!("ok      image    container app image {IMAGE}:v2"),
        // moto's images are single-platform manifests: the platform is not in them.
        "skipped image    container app platform: a single-platform manifest does not name its platform (wanted linux/amd64)",
        "ok      secrets  container app secret DATABASE_URL",
        "ok      secrets  container app secret API_TOKEN",
        "ok      logs     container app log group /ecs/web (us-east-1)",
        "ok      fargate  cpu/memory",
        "ok      fargate  network mode",
        "ok      roles    role events-ecs",
        "ok      fargate  platform version 1.4.0",
    ] {
        assert!(out.contains(expected), "{expected}\nin:\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.contains("ok      network  subnets subnet-")),
        "{out}"
    );
    assert!(out.contains("route to ECR"), "{out}");
    assert!(
        out.contains("Verify: 19 ok, 0 failed, 0 warnings, 1 skipped."),
        "{out}"
    );
    for action in [
        "GetRole",
        "BatchGetImage",
        "GetParameters",
        "DescribeSecret",
        "DescribeLogGroups",
        "DescribeSubnets",
        "DescribeSecurityGroups",
        "DescribeRouteTables",
        "DescribeVpcEndpoints",
    ] {
        assert!(
            w.proxy.count(action) > 0,
            "{action} in {:?}",
            w.proxy.actions()
        );
    }
    assert_eq!(w.proxy.count("GetSecretValue"), 0);

    // JSON and markdown carry the same findings.
    let json_run = w
        .run(&app, &["verify", "--tag", "v2", "--format", "json"])
        .ok();
    let report: Value = serde_json::from_str(&json_run.stdout).expect("json");
    assert_eq!(report["version"], 1);
    assert_eq!(report["totals"]["ok"], 19);
    let md = w
        .run(&app, &["verify", "--tag", "v2", "--format", "markdown"])
        .ok();
    assert!(
        md.stdout.starts_with("### jobdeploy verify"),
        "{}",
        md.stdout
    );

    // A multi-platform image offering the task's platform passes the platform check.
    seed.push_index("multi", &["arm64", "amd64"]);
    let multi = w.run(&app, &["verify", "--tag", "multi"]).ok();
    assert!(
        multi
            .stdout
            .contains("ok      image    container app platform"),
        "{}",
        multi.stdout
    );
    assert!(
        multi.stdout.contains("Verify: 20 ok, 0 failed"),
        "{}",
        multi.stdout
    );

    // The gate passes: deploy verifies, then writes.
    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let actions = w.proxy.actions();
    let first_write = actions.iter().position(|a| a == "RegisterTaskDefinition");
    let last_check = actions.iter().rposition(|a| a == "GetRole");
    assert!(
        matches!((last_check, first_write), (Some(c), Some(r)) if c < r),
        "verify before the first write: {actions:?}"
    );
}

#[test]
fn every_broken_check_fails_naming_its_fix_and_all_checks_run() {
    let w = World::new();
    let seed = Seed::new(&w.moto.url);
    // The execution role trusts Lambda, not ECS; no task role, no parameter, no log
    // group; the secret was never created; the rule's role does not exist.
    seed.role("ecs-exec", trust(json!("lambda.amazonaws.com")));
    let missing_secret = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:web/api-AbCdEf");
    seed.push_index("armonly", &["arm64"]);
    let public = seed.network("10.2.0.0/16", true);
    let private = seed.network("10.3.0.0/16", false);
    let web = w.aws.register("web", "v1");
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![
            awsvpc_target(
                "public",
                &w.cluster,
                &web,
                "nobody",
                (&public.0, &public.1),
                false,
                "1.4.0",
            ),
            awsvpc_target(
                "private",
                &w.cluster,
                &web,
                "nobody",
                (&private.0, "sg-0000000000"),
                true,
                "1.2.0",
            ),
        ],
    );
    let app = App::new(&gated_config(), &[]);
    let arm = json!({"name": "arm", "image": format!("{IMAGE}:armonly")});
    app.write(
        "taskdefs/web.json",
        &template(&missing_secret, "1024", "1024", &[arm]),
    );
    w.proxy.clear();
    let run = w.run(&app, &["verify", "--tag", "v9"]).fails();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    let out = &run.stdout;
    for fix in [
        // Roles
        r#"fix: add to role ecs-exec's trust policy: {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}"#,
        r#"fix: create role web-task with trust policy {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}, or correct taskRoleArn in the template"#,
        r#"fix: create role nobody with trust policy {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}, or correct the target's RoleArn"#,
        // Image: the tag was never pushed; an arm64-only image on an x86 task.
        &format!("fix: push {IMAGE}:v9 first, or correct the tag"),
        "fix: build and push the image for linux/amd64 (docker buildx build --platform linux/amd64), or set runtimePlatform.cpuArchitecture to ARM64",
        // Secrets
        "fix: aws ssm put-parameter --region us-east-1 --type SecureString --name /web/db --value …",
        "fix: aws secretsmanager create-secret --region us-east-1 --name web/api-AbCdEf --secret-string …, or correct valueFrom",
        // Logs
        "fix: aws logs create-log-group --region us-east-1 --log-group-name /ecs/web, or set awslogs-create-group to \"true\" (the execution role then needs logs:CreateLogGroup)",
        // Network: a public subnet without a public IP; a private one without NAT; a
        // security group that does not exist.
        "fix: set AssignPublicIp to ENABLED in the target's awsvpcConfiguration, or add a NAT gateway route to the subnet's route table",
        "fix: add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or VPC endpoints for ecr.api, ecr.dkr and S3 (gateway)",
        "fix: correct SecurityGroups in the target's awsvpcConfiguration",
        // Fargate
        "fix: for cpu 1024 set memory to 2048 to 8192 in steps of 1024 (MiB)",
        "fix: set PlatformVersion to LATEST or 1.4.0",
    ] {
        assert!(out.contains(fix), "{fix}\nin:\n{out}");
    }
    // All checks ran: every family check and both targets' lines are there.
    let seen = lines(out);
    assert!(seen.len() >= 20, "{seen:#?}");
    assert!(out.contains("default/hourly target public"), "{out}");
    assert!(out.contains("default/hourly target private"), "{out}");
}

#[test]
fn a_refused_read_is_a_warning_not_a_failure() {
    let (w, _seed, app) = sound_world();
    w.proxy
        .inject(fail("GetRole").with(Reply::access_denied_query()));
    w.proxy
        .inject(fail("DescribeLogGroups").with(Reply::access_denied()));
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    assert!(
        out.contains(
            "warn    roles    execution role ecs-exec: not checked: no permission for iam:GetRole"
        ),
        "{out}"
    );
    assert!(
        out.contains("warn    logs     container app log group /ecs/web (us-east-1): not checked: no permission for logs:DescribeLogGroups"),
        "{out}"
    );
    assert!(out.contains("0 failed, 4 warnings"), "{out}");
}

#[test]
fn deploy_refuses_to_write_when_verify_fails() {
    let (w, seed, app) = sound_world();
    // The log group is gone: the job would fail to start at 3 a.m.
    seed.rt
        .block_on(
            seed.logs
                .delete_log_group()
                .log_group_name("/ecs/web")
                .send(),
        )
        .expect("delete log group");
    let before = w.aws.targets("hourly", "default");

    // plan shows what deploy will refuse.
    let plan = w.run(&app, &["plan", "--tag", "v2"]).ok();
    assert!(
        plan.stdout.contains("Checks deploy will run first"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("FAIL    logs"), "{}", plan.stdout);

    w.proxy.clear();
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert_eq!(w.proxy.writes(), Vec::<String>::new(), "zero writes");
    assert!(
        run.stderr
            .contains("verify: 1 check of this deploy failed; nothing was written"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--no-verify"), "{}", run.stderr);
    assert!(
        run.stdout.contains("fix: aws logs create-log-group"),
        "{}",
        run.stdout
    );
    assert_eq!(w.aws.targets("hourly", "default"), before);
    assert_eq!(w.aws.revisions("web").len(), 1);

    // --no-verify skips the checks and deploys.
    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v2", "--no-verify"]).ok();
    assert_eq!(w.proxy.count("GetRole"), 0);
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 1);

    // So does `[verify] before_deploy = false`.
    app.write(
        "jobdeploy.toml",
        &format!("{}\n[verify]\nbefore_deploy = false\n", gated_config()),
    );
    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v3"]).ok();
    assert_eq!(w.proxy.count("DescribeLogGroups"), 0);
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 1);
}

#[test]
fn a_private_subnet_reaches_ecr_through_vpc_endpoints_and_one_vpc_is_required() {
    let (w, seed, app) = sound_world();
    let private = seed.network("10.4.0.0/16", false);
    seed.ecr_endpoints(&private.0);
    let other = seed.network("10.5.0.0/16", true);
    let web = td_arn("web", 1);
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![
            awsvpc_target(
                "endpoints",
                &w.cluster,
                &web,
                "events-ecs",
                (&private.0, &private.1),
                false,
                "LATEST",
            ),
            awsvpc_target(
                "split",
                &w.cluster,
                &web,
                "events-ecs",
                (&private.0, &other.1),
                false,
                "LATEST",
            ),
        ],
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    let out = &run.stdout;
    let section = |label: &str| -> String {
        out.split("\n\n")
            .next()
            .unwrap_or_default()
            .split(&format!("{label}\n"))
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .take_while(|l| l.starts_with(' '))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    let endpoints = section("default/nightly target endpoints");
    assert!(
        endpoints.contains(&format!(
            "ok      network  subnet {} route to ECR",
            private.0
        )),
        "{out}"
    );
    assert!(!endpoints.contains("FAIL"), "{out}");
    let split = section("default/nightly target split");
    assert!(
        split.contains(
            "FAIL    network  one VPC: subnets and security groups are in different VPCs"
        ),
        "{out}"
    );
    assert!(
        out.contains("fix: use subnets and security groups of the same VPC"),
        "{out}"
    );
    assert!(out.contains("Verify: 33 ok, 1 failed"), "{out}");
}
