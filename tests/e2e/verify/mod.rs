//! `jobdeploy verify` and deploy's verify gate against moto's IAM, SSM, Secrets Manager,
//! CloudWatch Logs, EC2 and ECR: a sound job passes every check; each broken thing fails
//! naming its fix; a refused read is a warning; a deploy that fails verify writes nothing.

mod permissions;
mod seed;
mod shapes;

use aws_sdk_eventbridge::types::RuleState;
use serde_json::{Value, json};

use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::*;
use seed::*;
use shapes::{Launch, container_instance, with_dead_letter};

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
        out.contains("Verify: 19 ok, 0 failed, 1 warning, 1 skipped."),
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
    // The permission simulations too: once the plan says which revision the target runs.
    let last_simulation = actions.iter().rposition(|a| a == "SimulatePrincipalPolicy");
    assert!(
        matches!((last_simulation, first_write), (Some(c), Some(r)) if c < r),
        "simulated before the first write: {actions:?}"
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
        "fix: add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or: aws ec2 create-vpc-endpoint --vpc-id vpc-",
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
    // Three roles and the log group not read, and the target's missing dead-letter queue.
    assert!(out.contains("0 failed, 5 warnings"), "{out}");
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

/// A private subnet (no NAT, no public IP) reaches what the task needs only through VPC
/// endpoints: ECR's api and dkr, S3 as a gateway on the subnet's route table, logs, ssm,
/// secretsmanager, each admitting the task on 443. ECR's endpoints alone, with an S3
/// gateway on no route table, certainly fail. And subnets and security groups must share
/// a VPC.
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
#[test]
fn a_private_subnet_reaches_ecr_through_vpc_endpoints_and_one_vpc_is_required() {
    let (w, seed, app) = sound_world();
    let private = seed.network("10.4.0.0/16", false);
    shapes::private_endpoints(&seed, &private.0, &private.1);
    let partial = seed.network("10.8.0.0/16", false);
    seed.ecr_endpoints(&partial.0);
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
                "partial",
                &w.cluster,
                &web,
                "events-ecs",
                (&partial.0, &partial.1),
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
    for service in ["ECR", "CloudWatch Logs", "SSM", "Secrets Manager"] {
        assert!(
            endpoints.contains(&format!(
                "ok      network  subnet {} route to {service}",
                private.0
            )),
            "{service}\n{out}"
        );
    }
    assert!(!endpoints.contains("FAIL"), "{out}");
    let partial_lines = section("default/nightly target partial");
    assert!(
        partial_lines.contains(&format!(
            "FAIL    network  subnet {} route to ECR",
            partial.0
        )) && partial_lines.contains("is not associated with route table"),
        "{out}"
    );
    assert!(
        out.contains("--add-route-table-ids rtb-"),
        "the fix associates the S3 gateway endpoint: {out}"
    );
    assert!(
        partial_lines.contains(&format!(
            "FAIL    network  subnet {} route to CloudWatch Logs",
            partial.0
        )),
        "{out}"
    );
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
}

/// The sound world of [`sound_world`], with every path a Fargate task takes out of a
/// private subnet (VPC endpoints) and a cluster that has capacity.
fn shapes_world() -> (World, Seed, App, String) {
    let (w, seed, app) = sound_world();
    // The rule role runs every family of the shapes, not only `web`.
    seed.role_policy(
        "events-ecs",
        "shapes",
        json!([{"Effect": "Allow", "Action": "ecs:RunTask",
                "Resource": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*:*")}]),
    );
    let secret = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:web/api");
    let secret = seed
        .rt
        .block_on(seed.secrets.describe_secret().secret_id(&secret).send())
        .ok()
        .and_then(|s| s.arn().map(str::to_string))
        .unwrap_or(secret);
    (w, seed, app, secret)
}

/// A sound account of every shape jobdeploy supports — Fargate x86 and ARM64, Fargate Spot
/// x86 and ARM64, the cluster's default strategy, EC2 `bridge` and `awsvpc`, an Auto
/// Scaling group capacity provider, a Scheduler schedule, and a secret in every form —
/// passes verify with zero failures: a false fail would block every deploy behind the
/// gate.
#[test]
fn every_sound_shape_passes_verify_with_zero_fails() {
    let (w, seed, app, secret) = shapes_world();
    let private = seed.network("10.4.0.0/16", false);
    shapes::private_endpoints(&seed, &private.0, &private.1);
    let isolated = seed.network("10.6.0.0/16", false);
    shapes::capacity_providers(&w, &["FARGATE", "FARGATE_SPOT", "batch-asg"], &["FARGATE"]);
    container_instance(&w, &seed);
    let fargate = json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "1024", "memory": "2048"});
    let mut arm = fargate.clone();
    arm["runtimePlatform"] = json!({"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"});
    let bridge =
        json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge", "memory": "512"});
    let ec2vpc =
        json!({"requiresCompatibilities": ["EC2"], "networkMode": "awsvpc", "memory": "512"});
    for (family, placement) in [
        ("shaped", fargate),
        ("arm", arm),
        ("bridge", bridge),
        ("ec2vpc", ec2vpc),
    ] {
        app.write(
            &format!("taskdefs/{family}.json"),
            &shapes::shape_template(family, &secret, placement),
        );
    }
    let td = |family: &str| w.aws.register(family, "v1");
    let (shaped, arm, bridge, ec2vpc) = (td("shaped"), td("arm"), td("bridge"), td("ec2vpc"));
    let in_private = Some((private.0.as_str(), private.1.as_str()));
    let targets = vec![
        shapes::target(
            "spot-arm",
            &w.cluster,
            &arm,
            Launch::Strategy(&["FARGATE_SPOT", "FARGATE"]),
            in_private,
            Some("1.4.0"),
        ),
        shapes::target(
            "spot-x86",
            &w.cluster,
            &shaped,
            Launch::Strategy(&["FARGATE_SPOT", "FARGATE"]),
            in_private,
            Some("LATEST"),
        ),
        shapes::target("arm", &w.cluster, &arm, Launch::Fargate, in_private, None),
        shapes::target(
            "default-strategy",
            &w.cluster,
            &shaped,
            Launch::ClusterDefault,
            in_private,
            None,
        ),
        shapes::target("ec2-bridge", &w.cluster, &bridge, Launch::Ec2, None, None),
        shapes::target(
            "ec2-awsvpc",
            &w.cluster,
            &ec2vpc,
            Launch::Ec2,
            Some((isolated.0.as_str(), isolated.1.as_str())),
            None,
        ),
        shapes::target(
            "asg",
            &w.cluster,
            &bridge,
            Launch::Strategy(&["batch-asg"]),
            None,
            None,
        ),
    ];
    w.aws.rule("shapes", "default", RuleState::Enabled, targets);
    // The sound world's Fargate x86 target, given a dead-letter queue.
    let hourly = w.aws.targets("hourly", "default");
    w.aws.put_targets(
        "hourly",
        "default",
        hourly.into_iter().map(with_dead_letter).collect(),
    );
    w.aws.create_schedule(
        "nightly",
        &json!({
            "GroupName": "default",
            "ScheduleExpression": "cron(15 3 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": w.cluster,
                "RoleArn": role_arn("events-ecs"),
                "DeadLetterConfig": {"Arn": shapes::DLQ},
                "EcsParameters": {
                    "TaskDefinitionArn": shaped,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {"awsvpcConfiguration": {
                        "Subnets": [private.0], "SecurityGroups": [private.1], "AssignPublicIp": "DISABLED"
                    }}
                }
            }
        }),
    );
    w.proxy.clear();
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    let fails: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .collect();
    assert!(fails.is_empty(), "{fails:#?}\nin:\n{out}");
    for expected in [
        "ok      capacity capacity providers FARGATE_SPOT, FARGATE",
        "ok      capacity capacity providers batch-asg",
        "ok      capacity container instances",
        "ok      fargate  Fargate Spot platform",
        "ok      fargate  platform version 1.4.0",
        "skipped network  route to ECR: the task runs on a container instance",
        "ok      secrets  container app secret API_REF",
        "ok      secrets  container app secret API_REF_ARN",
        "ok      delivery dead-letter queue",
        &format!(
            "ok      network  subnet {} route to Secrets Manager",
            private.0
        ),
        &format!(
            "ok      network  subnet {} route to CloudWatch Logs",
            private.0
        ),
        &format!("ok      network  subnet {} route to SSM", private.0),
        &format!("ok      network  subnet {} route to ECR", private.0),
    ] {
        assert!(out.contains(expected), "{expected}\nin:\n{out}");
    }
    assert!(
        out.contains("default/nightly"),
        "the schedule is checked: {out}"
    );
    // A /aws/reference/secretsmanager/ parameter is described, never read.
    assert_eq!(w.proxy.count("GetSecretValue"), 0);
    assert!(
        w.proxy
            .bodies("GetParameters")
            .iter()
            .all(|b| !b.to_string().contains("/aws/reference/")),
        "{:?}",
        w.proxy.bodies("GetParameters")
    );
    // Whatever the number of targets: the endpoints once for every VPC, the security
    // groups in two calls (the targets', then the endpoints'), one DescribeClusters beside
    // the one that resolves the cluster.
    let actions = w.proxy.actions();
    assert_eq!(w.proxy.count("DescribeVpcEndpoints"), 1, "{actions:?}");
    assert_eq!(w.proxy.count("DescribeSecurityGroups"), 2, "{actions:?}");
    assert!(w.proxy.count("DescribeClusters") <= 2, "{actions:?}");
}

/// A target without a dead-letter queue loses the trace of every failed invocation: a
/// warning saying how to add one, which does not block the deploy.
#[test]
fn a_target_without_a_dead_letter_queue_is_a_warning_saying_how_to_add_one() {
    let (w, _seed, app) = sound_world();
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert!(
        run.stdout.contains("warn    delivery dead-letter queue: default/hourly target batch has no dead-letter queue: an invocation EventBridge cannot deliver leaves no trace but the FailedInvocations metric; add DeadLetterConfig"),
        "{}",
        run.stdout
    );
    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 1);
}

/// RunTask refuses a capacity provider the cluster does not have: verify fails naming it,
/// and deploy writes nothing.
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
#[test]
fn an_unassociated_capacity_provider_fails_and_deploy_writes_nothing() {
    let (w, seed, app) = sound_world();
    let public = seed.network("10.7.0.0/16", true);
    shapes::capacity_providers(&w, &["FARGATE"], &[]);
    let web = td_arn("web", 1);
    let spot = shapes::target(
        "spot",
        &w.cluster,
        &web,
        Launch::Strategy(&["FARGATE_SPOT"]),
        Some((public.0.as_str(), public.1.as_str())),
        None,
    );
    w.aws
        .rule("spot", "default", RuleState::Enabled, vec![spot]);
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    assert!(
        run.stdout.contains("FAIL    capacity capacity providers FARGATE_SPOT: capacity provider FARGATE_SPOT is not associated with cluster batch: RunTask refuses the strategy"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: aws ecs put-cluster-capacity-providers --cluster batch --capacity-providers FARGATE FARGATE_SPOT"),
        "{}",
        run.stdout
    );
    let before = w.aws.targets("spot", "default");
    w.proxy.clear();
    let deploy = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert_eq!(w.proxy.writes(), Vec::<String>::new(), "zero writes");
    assert!(
        deploy.stderr.contains("nothing was written"),
        "{}",
        deploy.stderr
    );
    assert_eq!(w.aws.targets("spot", "default"), before);
}

/// An EC2 target on a cluster with no container instances may still start (the group
/// scales out by then): a warning, not a failure.
#[test]
fn an_ec2_target_on_a_cluster_without_container_instances_is_a_warning() {
    let (w, _seed, app, secret) = shapes_world();
    let ec2 = json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge", "memory": "512"});
    app.write(
        "taskdefs/bridge.json",
        &shapes::shape_template("bridge", &secret, ec2),
    );
    let bridge = w.aws.register("bridge", "v1");
    let target = shapes::target("ec2", &w.cluster, &bridge, Launch::Ec2, None, None);
    w.aws
        .rule("ec2", "default", RuleState::Enabled, vec![target]);
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert!(
        run.stdout.contains("warn    capacity container instances: cluster batch has no registered container instances now"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
}

/// Verify's reads of a target's role and network start with the first target of ours the
/// scan reads, beside the rest of the scan. A target whose role and subnet the first did not
/// have is read after the scan: its broken role and subnet still fail the deploy, whichever
/// rule the scan happened to read first, and nothing is written.
#[test]
fn a_later_target_with_its_own_role_and_network_is_still_checked() {
    let (w, seed, app) = sound_world();
    let (_, group) = seed.network("10.2.0.0/16", true);
    let web = w.aws.revisions("web")[0].clone();
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![awsvpc_target(
            "batch",
            &w.cluster,
            &web,
            "events-missing",
            ("subnet-0000000000000dead", &group),
            true,
            "1.4.0",
        )],
    );
    let before = (
        w.aws.targets("hourly", "default"),
        w.aws.targets("nightly", "default"),
    );
    w.proxy.clear();
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert_eq!(w.proxy.writes(), Vec::<String>::new(), "zero writes");
    // Read, not assumed: the second role and subnet are missing, its security group is
    // not (facts never read would make the group "missing" too).
    assert!(
        run.stdout.contains("role events-missing does not exist"),
        "the second role is read: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("subnet subnet-0000000000000dead does not exist"),
        "the second subnet is read: {}",
        run.stdout
    );
    // Exactly these two, whichever rule came first: nothing of either target is taken as
    // missing for not having been read.
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .collect();
    assert_eq!(fails.len(), 2, "{}", run.stdout);
    assert!(
        !run.stdout
            .contains(&format!("security group {group} does not exist")),
        "the second security group is read: {}",
        run.stdout
    );
    // Each role, subnet and security group read once: the first target's beside the scan,
    // after it only what the other adds (ecs-exec and web-task are the family's roles).
    assert_eq!(w.proxy.count("GetRole"), 4, "{:?}", w.proxy.actions());
    assert_eq!(
        w.proxy.count("DescribeSubnets"),
        2,
        "{:?}",
        w.proxy.actions()
    );
    assert_eq!(w.proxy.count("DescribeSecurityGroups"), 2);
    assert_eq!(
        w.proxy.count("DescribeClusters"),
        2,
        "the scan's and verify's"
    );
    assert_eq!(
        (
            w.aws.targets("hourly", "default"),
            w.aws.targets("nightly", "default")
        ),
        before
    );
}

/// A later target in another subnet of the VPC the first target's read covered: its subnet
/// and route table are read, the VPC's endpoints are not read again, whichever rule the scan
/// read first.
#[test]
fn a_later_target_in_a_vpc_already_read_costs_only_its_subnet() {
    let (w, _seed, app) = sound_world();
    let web = w.aws.revisions("web")[0].clone();
    let net = w.aws.net.clone();
    for (rule, subnet) in [("hourly", &net.subnets[0]), ("nightly", &net.subnets[1])] {
        w.aws.rule(
            rule,
            "default",
            RuleState::Enabled,
            vec![awsvpc_target(
                "batch",
                &w.cluster,
                &web,
                "events-ecs",
                (subnet, &net.security_group),
                false,
                "1.4.0",
            )],
        );
    }
    w.proxy.clear();
    let run = w.run(&app, &["plan", "--tag", "v2"]).ok();
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    let actions = w.proxy.actions();
    assert_eq!(w.proxy.count("DescribeSubnets"), 2, "{actions:?}");
    assert_eq!(w.proxy.count("DescribeRouteTables"), 2, "{actions:?}");
    assert_eq!(w.proxy.count("DescribeVpcEndpoints"), 1, "{actions:?}");
}

/// When every target shares the first one's role, network and cluster, verify reads them
/// once: one GetRole per role, one DescribeSubnets, one DescribeSecurityGroups.
#[test]
fn targets_sharing_a_role_and_network_are_read_once() {
    let (w, _seed, app) = sound_world();
    let hourly = w.aws.targets("hourly", "default");
    w.aws.rule("nightly", "default", RuleState::Enabled, hourly);
    w.proxy.clear();
    w.run(&app, &["plan", "--tag", "v2"]).ok();
    // ecs-exec, web-task (the family's) and events-ecs (the targets'), once each.
    assert_eq!(w.proxy.count("GetRole"), 3, "{:?}", w.proxy.actions());
    assert_eq!(w.proxy.count("DescribeSubnets"), 1);
    assert_eq!(w.proxy.count("DescribeSecurityGroups"), 1);
}
