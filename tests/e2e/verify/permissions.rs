//! verify asks IAM (`SimulatePrincipalPolicy`, played by the proxy over the policies moto
//! holds) whether the rule's role may start the revision the deploy makes and pass the
//! task's roles, and whether the execution role may pull, log and read its secrets.

use serde_json::json;

use super::seed::*;
use crate::common::proxy::Reply;
use crate::common::scenario::fail;
use crate::common::*;

/// The lines of `area` in the human report.
fn area_lines<'a>(stdout: &'a str, area: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(area))
        .collect()
}

#[test]
fn a_sound_role_passes_every_permission_check_in_one_simulation_per_role_and_context() {
    let (w, _seed, app) = sound_world();
    w.proxy.clear();
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    for expected in [
        // v2 changes the template: the deploy registers web:2, which the role must run.
        "ok      iam      role events-ecs ecs:RunTask web:2",
        "ok      iam      role events-ecs iam:PassRole ecs-exec, web-task",
        "ok      iam      execution role ecs-exec pulls web",
        "ok      iam      execution role ecs-exec writes log group /ecs/web (us-east-1)",
        "ok      iam      execution role ecs-exec reads parameter /web/db",
    ] {
        assert!(out.contains(expected), "{expected}\nin:\n{out}");
    }
    assert!(
        area_lines(out, "iam").iter().all(|l| l.starts_with("  ok")),
        "{out}"
    );
    // One call per role and context: the rule role's RunTask (with ecs:cluster) and PassRole
    // (with iam:PassedToService) apart, the execution role's needs in one.
    assert_eq!(w.proxy.count("SimulatePrincipalPolicy"), 3);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
}

/// The bug: a rule role allowed `ecs:RunTask` on `web:1` only. The deploy makes `web:2`;
/// the schedule then fires, RunTask is refused and nothing runs — only FailedInvocations
/// moves. verify must fail naming the role and the action, and deploy must write nothing.
#[test]
fn run_task_pinned_to_the_old_revision_fails_verify_and_deploy_writes_nothing() {
    let (w, seed, app) = sound_world();
    seed.role_policy(
        "events-ecs",
        "jobs",
        json!([
            {"Effect": "Allow", "Action": "ecs:RunTask",
             "Resource": td_arn("web", 1)},
            pass_roles()
        ]),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    let out = &run.stdout;
    assert!(
        out.contains(&format!(
            "FAIL    iam      role events-ecs ecs:RunTask web:2: role events-ecs may not ecs:RunTask on {}: no statement of its policies allows it: the schedule fires and no task starts",
            td_arn("web", 2)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            r#"fix: add to role events-ecs's policies: {{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:*","Condition":{{"ArnEquals":{{"ecs:cluster":"{}"}}}}}}"#,
            w.cluster
        )),
        "{out}"
    );
    let before = w.aws.targets("hourly", "default");
    w.proxy.clear();
    let deploy = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert_eq!(w.proxy.writes(), Vec::<String>::new(), "zero writes");
    assert!(
        deploy.stderr.contains("nothing was written"),
        "{}",
        deploy.stderr
    );
    assert_eq!(w.aws.targets("hourly", "default"), before);
    assert_eq!(w.aws.revisions("web").len(), 1);
}

/// RunTask is checked against the revision's ARN, so a policy naming the family without
/// `:*` (or `:N`) allows no revision at all.
#[test]
fn run_task_on_the_family_arn_without_a_revision_fails() {
    let (w, seed, app) = sound_world();
    seed.role_policy(
        "events-ecs",
        "jobs",
        json!([
            {"Effect": "Allow", "Action": "ecs:RunTask",
             "Resource": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web")},
            pass_roles()
        ]),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    assert!(
        run.stdout
            .contains("FAIL    iam      role events-ecs ecs:RunTask web:2"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_rule_role_that_may_not_pass_the_task_roles_fails() {
    let (w, seed, app) = sound_world();
    let statements = run_web_statements(&w.cluster);
    seed.role_policy("events-ecs", "jobs", json!([statements[0].clone()]));
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    let out = &run.stdout;
    assert!(
        out.contains(&format!(
            "FAIL    iam      role events-ecs iam:PassRole ecs-exec, web-task: role events-ecs may not iam:PassRole on {}",
            role_arn("ecs-exec")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            r#"{{"Effect":"Allow","Action":"iam:PassRole","Resource":"{}","Condition":{{"StringEquals":{{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}}}}"#,
            role_arn("web-task")
        )),
        "{out}"
    );
    // The one warning is the target's missing dead-letter queue.
    assert!(out.contains("1 failed, 1 warning,"), "{out}");
}

#[test]
fn a_deny_or_a_boundary_is_named_as_the_cause() {
    let (w, seed, app) = sound_world();
    let deny = seed.managed(
        "ecs-exec",
        "no-logs",
        json!([{"Effect": "Deny", "Action": "logs:PutLogEvents", "Resource": "*"}]),
        false,
    );
    seed.managed("events-ecs", "boundary", json!([pass_roles()]), true);
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    let out = &run.stdout;
    assert!(
        out.contains(&format!("a Deny statement in {deny} refuses it")),
        "{out}"
    );
    assert!(
        out.contains("FAIL    iam      role events-ecs ecs:RunTask web:2: role events-ecs may not ecs:RunTask on"),
        "{out}"
    );
    assert!(
        out.contains("its permissions boundary does not allow it"),
        "{out}"
    );
    assert!(
        out.contains("fix: add to role events-ecs's permissions boundary policy: {"),
        "{out}"
    );
}

/// An ECR pull a repository policy could allow is a warning, not a failure: the simulation
/// cannot see repository policies.
#[test]
fn a_pull_only_a_repository_policy_could_allow_is_a_warning() {
    let (w, seed, app) = sound_world();
    seed.rt
        .block_on(
            seed.iam
                .detach_role_policy()
                .role_name("ecs-exec")
                .policy_arn(format!("arn:aws:iam::{ACCOUNT}:policy/task-execution"))
                .send(),
        )
        .expect("detach");
    seed.role_policy(
        "ecs-exec",
        "logs-and-token",
        json!([{"Effect": "Allow", "Action": [
            "ecr:GetAuthorizationToken", "logs:CreateLogStream", "logs:PutLogEvents"
        ], "Resource": "*"}]),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert!(
        run.stdout.contains("warn    iam      execution role ecs-exec pulls web: role ecs-exec may not ecr:BatchGetImage on arn:aws:ecr:us-east-1:123456789012:repository/web: no statement of its policies allows it, unless the repository policy allows it"),
        "{}",
        run.stdout
    );
}

/// jobdeploy may not call `iam:SimulatePrincipalPolicy`: one warning for the run naming
/// the permission, not one per role or check; verify still passes.
#[test]
fn a_simulation_jobdeploy_may_not_run_is_one_warning_and_exit_0() {
    let (w, _seed, app) = sound_world();
    w.proxy
        .inject(fail("SimulatePrincipalPolicy").with(Reply::access_denied_query()));
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    let iam = area_lines(out, "iam");
    assert_eq!(iam.len(), 1, "{out}");
    assert_eq!(
        iam[0],
        "  warn    iam      iam:SimulatePrincipalPolicy: not checked: no permission for iam:SimulatePrincipalPolicy on role ecs-exec, events-ecs (add it: `jobdeploy iam-policy` lists it)"
    );
    // Beside the dead-letter queue's.
    assert!(out.contains("0 failed, 2 warnings,"), "{out}");
    // The gate lets the deploy go on.
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.aws.revisions("web").len(), 2);
}

/// The subnet and security group of the sound world's rule target.
fn hourly_network(w: &World) -> (String, String) {
    let targets = w.aws.targets("hourly", "default");
    let vpc = targets
        .first()
        .and_then(|t| t.ecs_parameters())
        .and_then(|e| e.network_configuration())
        .and_then(|n| n.awsvpc_configuration())
        .expect("the rule target's network");
    (
        vpc.subnets().first().cloned().expect("subnet"),
        vpc.security_groups()
            .first()
            .cloned()
            .expect("security group"),
    )
}

/// A Scheduler schedule's role is checked as a rule's is — it must run the revision the
/// deploy makes and pass the task's roles — and a schedule that tags its tasks
/// (`PropagateTags`) also needs `ecs:TagResource`: ECS evaluates it only when RunTask tags
/// what it creates, and then refuses the whole call
/// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
#[test]
fn a_schedule_that_tags_its_tasks_needs_tag_resource_on_its_role() {
    let (w, seed, app) = sound_world();
    let (subnet, group) = hourly_network(&w);
    w.aws.create_schedule(
        "nightly",
        &json!({
            "GroupName": "default",
            "ScheduleExpression": "cron(15 3 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": w.cluster,
                "RoleArn": role_arn("events-ecs"),
                "EcsParameters": {
                    "TaskDefinitionArn": td_arn("web", 1),
                    "LaunchType": "FARGATE",
                    "PropagateTags": "TASK_DEFINITION",
                    "NetworkConfiguration": {"awsvpcConfiguration": {
                        "Subnets": [subnet], "SecurityGroups": [group], "AssignPublicIp": "ENABLED"
                    }}
                }
            }
        }),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).fails();
    let out = &run.stdout;
    let schedule = out
        .split_once("default/nightly")
        .map(|(_, rest)| rest)
        .expect("the schedule's lines");
    assert!(
        schedule.contains("ok      iam      role events-ecs ecs:RunTask web:2"),
        "{out}"
    );
    assert!(
        schedule.contains("ok      iam      role events-ecs iam:PassRole ecs-exec, web-task"),
        "{out}"
    );
    assert!(
        schedule.contains(&format!(
            "FAIL    iam      role events-ecs ecs:TagResource (the target tags its tasks): role events-ecs may not ecs:TagResource on arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/"
        )),
        "{out}"
    );
    assert!(
        schedule.contains(&format!(
            r#"{{"Effect":"Allow","Action":"ecs:TagResource","Resource":"arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/*","Condition":{{"StringEquals":{{"ecs:CreateAction":"RunTask"}}}}}}"#
        )),
        "{out}"
    );
    // The statement the fix names lets the deploy through.
    seed.role_policy(
        "events-ecs",
        "tags",
        json!([{"Effect": "Allow", "Action": "ecs:TagResource",
                "Resource": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/*"),
                "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}}]),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert!(
        run.stdout.contains(
            "ok      iam      role events-ecs ecs:TagResource (the target tags its tasks)"
        ),
        "{}",
        run.stdout
    );
}

/// IAM may answer a simulation in pages ("IAM might return fewer than the MaxItems number
/// of results even when there are more results available":
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
/// verify follows `Marker` to the last page, so no action goes unchecked.
#[test]
fn a_simulation_answered_in_pages_is_read_to_the_last_page() {
    let (w, _seed, app) = sound_world();
    w.proxy.simulate_page(1);
    w.proxy.clear();
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    let iam = area_lines(out, "iam");
    // The rule role's two lines and the execution role's four, every one checked.
    assert_eq!(iam.len(), 6, "{out}");
    assert!(iam.iter().all(|l| l.starts_with("  ok")), "{out}");
    // One page an action: RunTask and PassRole for the rule role; the pull's three, the
    // log writes' two, GetParameters and GetSecretValue for the execution role.
    assert_eq!(w.proxy.count("SimulatePrincipalPolicy"), 2 + 7);
}

/// A SecureString under a customer managed key: ECS reads it decrypted, so the execution
/// role needs kms:Decrypt on the key — which the key policy may grant, unseen by the
/// simulation: a warning naming the statement, which does not block the deploy; with the
/// statement, ok.
/// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html
#[test]
fn a_parameter_under_a_customer_key_needs_kms_decrypt_a_warning_the_key_policy_may_lift() {
    let (w, seed, app) = sound_world();
    let key = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let key_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}");
    seed.parameter_with_key("/web/db", key);
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    assert!(
        out.contains(&format!(
            "warn    iam      execution role ecs-exec reads parameter /web/db: role ecs-exec may not kms:Decrypt on {key_arn}: no statement of its policies allows it, unless the key policy allows it"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            r#"{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{key_arn}"}}"#
        )),
        "{out}"
    );
    seed.role_policy(
        "ecs-exec",
        "parameter-key",
        json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": format!("ssm.{REGION}.amazonaws.com")}}}]),
    );
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    assert!(
        run.stdout
            .contains("ok      iam      execution role ecs-exec reads parameter /web/db"),
        "{}",
        run.stdout
    );
    // The deploy goes on past the warning.
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.aws.revisions("web").len(), 2);
}

/// The review's bug: a simulation that failed other than by AccessDenied (an error IAM or
/// the network gave past the retries) aborted verify, and the deploy behind the gate, for a
/// check that could not run. The roles go unchecked: a warning naming them and
/// iam:SimulatePrincipalPolicy; exit 0; the deploy goes on.
#[test]
fn a_simulation_that_errors_is_a_warning_and_the_deploy_goes_on() {
    let (w, _seed, app) = sound_world();
    w.proxy
        .inject(fail("SimulatePrincipalPolicy").with(Reply::Error(400, "ValidationError")));
    let run = w.run(&app, &["verify", "--tag", "v2"]).ok();
    let out = &run.stdout;
    let iam = area_lines(out, "iam");
    assert_eq!(iam.len(), 6, "{out}");
    assert!(
        iam.iter().all(|l| l.starts_with("  warn")
            && l.contains("not checked: iam:SimulatePrincipalPolicy on role")),
        "{out}"
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.aws.revisions("web").len(), 2);
}
