//! What each role needs, how it is asked of IAM, and every form of IAM's answer.

use super::*;
use crate::aws::iam::Role;
use crate::model::Trigger;
use crate::verify::{Area, Scope, check};

const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
const EVENTS: &str = "arn:aws:iam::123456789012:role/events";
const EXEC: &str = "arn:aws:iam::123456789012:role/exec";
const TASK: &str = "arn:aws:iam::123456789012:role/web-task";
const WEB_2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
const REPO: &str = "arn:aws:ecr:us-east-1:123456789012:repository/web";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/api-AbCdEf";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn body() -> Value {
    json!({
        "family": "web",
        "executionRoleArn": EXEC,
        "taskRoleArn": TASK,
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{
            "name": "app",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2",
            "secrets": [
                {"name": "DB", "valueFrom": "/web/db"},
                {"name": "API", "valueFrom": format!("{SECRET}:token::")}
            ],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "app",
                "awslogs-create-group": "true"
            }}
        }]
    })
}

fn raw(ecs_extra: Value, input: Option<Value>) -> Value {
    let mut ecs = json!({"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "LaunchType": "FARGATE"});
    if let (Some(e), Some(extra)) = (ecs.as_object_mut(), ecs_extra.as_object()) {
        e.extend(extra.clone());
    }
    let mut t = json!({"Id": "batch", "Arn": CLUSTER, "RoleArn": EVENTS, "EcsParameters": ecs});
    if let Some(input) = input {
        t["Input"] = json!(input.to_string());
    }
    t
}

fn target(ecs_extra: Value, input: Option<Value>) -> TargetSpec {
    TargetSpec::of(
        &Trigger::rule_target("default", "hourly", "batch"),
        &raw(ecs_extra, input),
        "web",
    )
    .running(Some(WEB_2.into()))
}

fn found(arn: &str) -> Lookup<Role> {
    Lookup::Found(Role {
        arn: arn.into(),
        trust: Value::Null,
    })
}

fn facts() -> Facts {
    let mut f = Facts::default();
    for r in [EVENTS, EXEC, TASK] {
        f.roles.insert(r.into(), found(r));
    }
    f.secret_meta.insert(
        ("us-east-1".into(), SECRET.into()),
        crate::aws::secretsmanager::Described {
            arn: Some(SECRET.into()),
            kms_key_id: Some(KEY.into()),
            ..Default::default()
        },
    );
    f
}

fn actions(checks: &[Check]) -> Vec<(&str, Vec<String>, Grant)> {
    checks
        .iter()
        .flat_map(|c| &c.needs)
        .map(|n| (n.action, n.resources.clone(), n.grant))
        .collect()
}

#[test]
fn a_target_role_must_run_the_revision_after_the_deploy_and_pass_the_tasks_roles() {
    let checks = target_checks(&target(json!({}), None), Some(&body()), &facts());
    assert_eq!(
        actions(&checks),
        vec![
            ("ecs:RunTask", vec![WEB_2.to_string()], Grant::RoleOnly),
            ("iam:PassRole", vec![EXEC.to_string()], Grant::RoleOnly),
            ("iam:PassRole", vec![TASK.to_string()], Grant::RoleOnly),
        ]
    );
    let run = &checks[0].needs[0];
    assert_eq!(checks[0].label, "role events ecs:RunTask web:2");
    // Granted on the family's revisions, on this cluster; asked with the cluster.
    assert_eq!(
        run.grant_resource,
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:*"
    );
    assert_eq!(run.context, vec![("ecs:cluster", CLUSTER.to_string())]);
    assert_eq!(
        run.condition,
        Some(json!({"ArnEquals": {"ecs:cluster": CLUSTER}}))
    );
    let pass = &checks[1].needs[0];
    assert_eq!(
        pass.context,
        vec![("iam:PassedToService", ECS_TASKS.to_string())]
    );
    assert_eq!(checks[1].label, "role events iam:PassRole exec, web-task");
}

#[test]
fn roles_in_the_targets_input_overrides_are_passed_too() {
    let other = "arn:aws:iam::123456789012:role/override";
    let input = json!({"taskRoleArn": other, "containerOverrides": [{"name": "app"}]});
    let checks = target_checks(&target(json!({}), Some(input)), Some(&body()), &facts());
    let passed: Vec<String> = checks[1]
        .needs
        .iter()
        .flat_map(|n| n.resources.clone())
        .collect();
    assert_eq!(passed, vec![EXEC, other, TASK]);
    let nested = json!({"overrides": {"executionRoleArn": other}});
    let spec = target(json!({}), Some(nested));
    assert_eq!(spec.start.input_roles, vec![other.to_string()]);
}

#[test]
fn tag_resource_only_when_the_target_tags_its_tasks() {
    let tag_actions = |extra: Value| -> Vec<Grant> {
        target_checks(&target(extra, None), Some(&body()), &facts())
            .iter()
            .flat_map(|c| &c.needs)
            .filter(|n| n.action == "ecs:TagResource")
            .map(|n| n.grant)
            .collect()
    };
    assert!(tag_actions(json!({})).is_empty());
    assert!(tag_actions(json!({"PropagateTags": "NONE"})).is_empty());
    assert_eq!(
        tag_actions(json!({"Tags": [{"Key": "team", "Value": "data"}]})),
        [Grant::RoleOnly]
    );
    assert_eq!(
        tag_actions(json!({"PropagateTags": "TASK_DEFINITION"})),
        [Grant::RoleOnly]
    );
    assert!(matches!(
        tag_actions(json!({"EnableECSManagedTags": true}))[..],
        [Grant::Uncertain(_)]
    ));
    let checks = target_checks(
        &target(json!({"PropagateTags": "TASK_DEFINITION"}), None),
        Some(&body()),
        &facts(),
    );
    let tag = &checks[2].needs[0];
    assert_eq!(
        tag.grant_resource,
        "arn:aws:ecs:us-east-1:123456789012:task/batch/*"
    );
    assert_eq!(
        tag.context,
        vec![("ecs:CreateAction", "RunTask".to_string())]
    );
}

#[test]
fn a_missing_role_is_not_simulated() {
    let mut f = facts();
    f.roles.insert(EVENTS.into(), Lookup::Missing);
    assert!(target_checks(&target(json!({}), None), Some(&body()), &f).is_empty());
    f.roles.insert(EXEC.into(), Lookup::Missing);
    assert!(family_checks(&body(), true, "us-east-1", &f).is_empty());
}

#[test]
fn an_execution_role_must_pull_write_its_logs_and_read_its_secrets() {
    let checks = family_checks(&body(), true, "us-east-1", &facts());
    let labels: Vec<&str> = checks.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "execution role exec pulls web",
            "execution role exec reads parameter /web/db",
            "execution role exec reads secret web/api-AbCdEf",
            "execution role exec writes log group /ecs/web (us-east-1)",
        ]
    );
    let stream = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:app/app/0123456789abcdef0123456789abcdef";
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web";
    assert_eq!(
        actions(&checks),
        vec![
            (
                "ecr:GetAuthorizationToken",
                vec!["*".to_string()],
                Grant::RoleOnly
            ),
            (
                "ecr:BatchGetImage",
                vec![REPO.to_string()],
                Grant::ResourcePolicy(text::REPOSITORY_POLICY)
            ),
            (
                "ecr:GetDownloadUrlForLayer",
                vec![REPO.to_string()],
                Grant::ResourcePolicy(text::REPOSITORY_POLICY)
            ),
            (
                "ssm:GetParameters",
                vec!["arn:aws:ssm:us-east-1:123456789012:parameter/web/db".to_string()],
                Grant::RoleOnly
            ),
            (
                "secretsmanager:GetSecretValue",
                vec![SECRET.to_string()],
                Grant::ResourcePolicy(text::SECRET_POLICY)
            ),
            (
                "kms:Decrypt",
                vec![KEY.to_string()],
                Grant::ResourcePolicy(text::KEY_POLICY)
            ),
            (
                "logs:CreateLogStream",
                vec![stream.to_string()],
                Grant::RoleOnly
            ),
            (
                "logs:PutLogEvents",
                vec![stream.to_string()],
                Grant::RoleOnly
            ),
            (
                "logs:CreateLogGroup",
                vec![group.to_string(), format!("{group}:*")],
                Grant::RoleOnly
            ),
        ]
    );
    // On EC2 the instance role may pull and log: a deny there is not certain.
    let on_ec2 = family_checks(&body(), false, "us-east-1", &facts());
    assert!(matches!(on_ec2[0].needs[0].grant, Grant::Uncertain(_)));
    assert!(matches!(on_ec2[3].needs[0].grant, Grant::Uncertain(_)));
    // The parameter is read with the execution role on EC2 too.
    assert_eq!(on_ec2[1].needs[0].grant, Grant::RoleOnly);
    // A parameter of another account is shared with a resource policy.
    let mut shared = body();
    shared["containerDefinitions"][0]["secrets"] =
        json!([{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:999999999999:parameter/db"}]);
    let checks = family_checks(&shared, true, "us-east-1", &facts());
    assert_eq!(
        checks[1].needs[0].grant,
        Grant::ResourcePolicy(text::SHARED_PARAMETER)
    );
}

/// A SecureString under a customer managed key: ECS reads it decrypted, so the execution
/// role needs kms:Decrypt on that key (through SSM); under AWS's own key (`alias/aws/ssm`)
/// it does not; a key verify may not read is a warning naming the permission.
#[test]
fn a_secure_string_under_a_customer_key_needs_kms_decrypt_through_ssm() {
    let mut f = facts();
    f.parameter_keys.insert(
        "us-east-1".into(),
        Lookup::Found(BTreeMap::from([(
            "/web/db".to_string(),
            "1234abcd-12ab-34cd-56ef-1234567890ab".to_string(),
        )])),
    );
    let checks = family_checks(&body(), true, "us-east-1", &f);
    let parameter = &checks[1];
    assert_eq!(
        parameter.label,
        "execution role exec reads parameter /web/db"
    );
    let decrypt = &parameter.needs[1];
    assert_eq!(
        (decrypt.action, decrypt.resources.clone(), decrypt.grant),
        (
            "kms:Decrypt",
            vec![KEY.to_string()],
            Grant::ResourcePolicy(text::KEY_POLICY)
        )
    );
    assert_eq!(
        decrypt.context,
        vec![("kms:ViaService", "ssm.us-east-1.amazonaws.com".to_string())]
    );
    // The parameter by ARN (a one-level name may be `db` or `/db`) finds the same key.
    let mut by_arn = body();
    by_arn["containerDefinitions"][0]["secrets"] = json!([{"name": "DB",
        "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/db:3"}]);
    let checks = family_checks(&by_arn, true, "us-east-1", &f);
    assert_eq!(checks[1].needs[1].action, "kms:Decrypt");
    // AWS's own key: every principal of the account may decrypt with it.
    f.parameter_keys.insert(
        "us-east-1".into(),
        Lookup::Found(BTreeMap::from([(
            "/web/db".to_string(),
            "alias/aws/ssm".to_string(),
        )])),
    );
    let checks = family_checks(&body(), true, "us-east-1", &f);
    assert_eq!(checks[1].needs.len(), 1);
    // No permission to describe parameters: the key is unknown, said once on the line.
    f.parameter_keys
        .insert("us-east-1".into(), Lookup::Denied("ssm:DescribeParameters"));
    let checks = family_checks(&body(), true, "us-east-1", &f);
    let perms = Permissions {
        answers: BTreeMap::from([(
            filed(
                "ssm:GetParameters",
                "arn:aws:ssm:us-east-1:123456789012:parameter/web/db",
            ),
            answer("allowed"),
        )]),
        ..Permissions::default()
    };
    let Some(Outcome::Warn { problem }) = outcome(&checks[1], &perms) else {
        panic!("not a warning");
    };
    assert!(
        problem.contains("no permission for ssm:DescribeParameters"),
        "{problem}"
    );
}

/// A `/aws/reference/secretsmanager/NAME` parameter is the secret NAME: the execution role
/// must be allowed GetSecretValue on it (and its key), as for the secret by ARN.
#[test]
fn a_reference_parameter_is_read_as_its_secret() {
    let mut f = facts();
    f.secret_meta.insert(
        ("us-east-1".into(), "web/api".into()),
        crate::aws::secretsmanager::Described {
            arn: Some(SECRET.into()),
            kms_key_id: None,
            ..Default::default()
        },
    );
    let mut reference = body();
    reference["containerDefinitions"][0]["secrets"] = json!([
        {"name": "API", "valueFrom": "/aws/reference/secretsmanager/web/api"}
    ]);
    let checks = family_checks(&reference, true, "us-east-1", &f);
    let read = checks
        .iter()
        .find(|c| c.label.contains("reads"))
        .expect("a read check");
    assert_eq!(read.label, "execution role exec reads secret web/api");
    assert_eq!(
        actions(std::slice::from_ref(read)),
        vec![(
            "secretsmanager:GetSecretValue",
            vec![SECRET.to_string()],
            Grant::ResourcePolicy(text::SECRET_POLICY)
        )]
    );
}

#[test]
fn kms_keys_by_id_become_arns_and_aliases_are_not_simulated() {
    assert_eq!(
        key_arn("1234abcd-12ab-34cd-56ef-1234567890ab", SECRET).as_deref(),
        Some(KEY)
    );
    assert_eq!(key_arn(KEY, SECRET).as_deref(), Some(KEY));
    assert_eq!(
        key_arn("arn:aws:kms:us-east-1:123456789012:alias/app", SECRET),
        None
    );
}

/// The review's bug: needs were batched when their keys did not clash, so PassRole was
/// simulated with RunTask's `ecs:cluster`, ECR pulls with a `kms:ViaService`. One simulation
/// per role and exact context map, the global keys (`aws:PrincipalArn`,
/// `aws:RequestedRegion`) in every one.
#[test]
fn needs_share_a_simulation_only_when_their_whole_context_is_the_same() {
    let mut needs: Vec<Need> = target_checks(
        &target(json!({"Tags": [{"Key": "a", "Value": "b"}]}), None),
        Some(&body()),
        &facts(),
    )
    .into_iter()
    .chain(family_checks(&body(), true, "us-east-1", &facts()))
    .flat_map(|c| c.needs)
    .collect();
    let sims = requests(&needs);
    let events: Vec<&Simulation> = sims.iter().filter(|s| s.role == EVENTS).collect();
    let mut actions: Vec<&str> = events
        .iter()
        .flat_map(|s| &s.actions)
        .map(String::as_str)
        .collect();
    actions.sort();
    assert_eq!(events.len(), 3, "{sims:#?}");
    assert_eq!(actions, ["ecs:RunTask", "ecs:TagResource", "iam:PassRole"]);
    let with = |action: &str| -> &Simulation {
        events
            .iter()
            .find(|s| s.actions == [action])
            .copied()
            .expect("a simulation of its own")
    };
    let run = with("ecs:RunTask");
    assert_eq!(
        run.context,
        vec![
            ("aws:PrincipalArn".to_string(), EVENTS.to_string()),
            ("aws:RequestedRegion".to_string(), "us-east-1".to_string()),
            ("ecs:cluster".to_string(), CLUSTER.to_string()),
        ]
    );
    // PassRole names IAM's region-less ARNs: the region is the cluster's.
    let pass = with("iam:PassRole");
    assert!(!pass.context.iter().any(|(k, _)| k == "ecs:cluster"));
    assert!(
        pass.context
            .contains(&("aws:RequestedRegion".to_string(), "us-east-1".to_string()))
    );
    // The execution role: its pulls, logs and reads in one; kms:Decrypt (through Secrets
    // Manager) in another.
    let exec: Vec<&Simulation> = sims.iter().filter(|s| s.role == EXEC).collect();
    assert_eq!(exec.len(), 2, "{exec:#?}");
    assert_eq!(exec[0].actions.len(), 8);
    assert_eq!(exec[1].actions, ["kms:Decrypt"]);
    // A second key through another region's Secrets Manager: a third.
    let mut other = needs.last().cloned().expect("a need");
    other.action = "kms:Decrypt";
    other.resources = vec!["arn:aws:kms:eu-west-1:123456789012:key/x".into()];
    other.context = vec![(
        "kms:ViaService",
        "secretsmanager.eu-west-1.amazonaws.com".into(),
    )];
    needs.push(other);
    assert_eq!(requests(&needs).len(), sims.len() + 1);
}

/// The review's bug: answers were filed by role, action and resource only, so one role
/// running `web:2` on two clusters (allowed on one) got whichever simulation answered last.
#[test]
fn a_role_allowed_on_one_cluster_fails_on_the_other_only() {
    const OTHER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/other";
    let on_batch = target(json!({}), None);
    let mut raw_other = raw(json!({}), None);
    raw_other["Arn"] = json!(OTHER);
    let on_other = TargetSpec::of(
        &Trigger::rule_target("default", "nightly", "batch"),
        &raw_other,
        "web",
    )
    .running(Some(WEB_2.into()));
    let run = |t: &TargetSpec| target_checks(t, Some(&body()), &facts()).remove(0);
    let (a, b) = (run(&on_batch), run(&on_other));
    let sims = requests(a.needs.iter().chain(&b.needs));
    assert_eq!(sims.len(), 2, "one simulation per cluster: {sims:#?}");
    let mut perms = Permissions::default();
    for sim in &sims {
        let allowed = sim
            .context
            .contains(&("ecs:cluster".to_string(), CLUSTER.to_string()));
        let evaluation = Evaluation {
            action: "ecs:RunTask".into(),
            resource: Some(WEB_2.into()),
            top: decided(if allowed { "allowed" } else { "implicitDeny" }),
            ..Evaluation::default()
        };
        perms.answers.extend(read(sim, &[evaluation]));
    }
    assert_eq!(outcome(&a, &perms), Some(Outcome::Ok));
    assert!(matches!(
        outcome(&b, &perms),
        Some(Outcome::Fail { problem, .. }) if problem.contains("ecs:RunTask")
    ));
}

fn decided(decision: &str) -> Decided {
    Decided {
        decision: decision.into(),
        ..Decided::default()
    }
}

fn question() -> Simulation {
    Simulation {
        role: EVENTS.into(),
        actions: vec!["ecs:RunTask".into(), "iam:PassRole".into()],
        resources: vec![WEB_2.into(), EXEC.into()],
        context: Vec::new(),
    }
}

fn key(action: &str, resource: &str) -> AnswerKey {
    (
        EVENTS.into(),
        action.to_ascii_lowercase(),
        resource.into(),
        String::new(),
    )
}

/// Where the answer for `action` on `resource` is filed for the checks of [`body`] and a
/// tagging [`target`]: with the context that check's need is simulated with.
fn filed(action: &str, resource: &str) -> AnswerKey {
    let checks = target_checks(
        &target(json!({"Tags": [{"Key": "a", "Value": "b"}]}), None),
        Some(&body()),
        &facts(),
    )
    .into_iter()
    .chain(family_checks(&body(), true, "us-east-1", &facts()));
    let need = checks
        .flat_map(|c| c.needs)
        .find(|n| {
            n.action.eq_ignore_ascii_case(action) && n.resources.iter().any(|r| r == resource)
        })
        .unwrap_or_else(|| panic!("no need {action} on {resource}"));
    (
        need.role.clone(),
        action.to_ascii_lowercase(),
        resource.to_string(),
        context_key(&need.simulated_context()),
    )
}

#[test]
fn answers_are_read_per_resource_where_iam_gives_them() {
    let evaluations = vec![Evaluation {
        action: "ecs:RunTask".into(),
        resource: Some("arn:${Partition}:ecs:${Region}:${Account}:task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}".into()),
        top: decided("implicitDeny"),
        allowed_by_organizations: None,
        resources: vec![
            (WEB_2.into(), decided("implicitDeny")),
            (EXEC.into(), decided("allowed")),
        ],
    }];
    let read: BTreeMap<_, _> = read(&question(), &evaluations).into_iter().collect();
    assert_eq!(
        read[&key("ecs:RunTask", WEB_2)].decided.decision,
        "implicitDeny"
    );
    assert_eq!(read[&key("ecs:RunTask", EXEC)].decided.decision, "allowed");
}

#[test]
fn answers_without_per_resource_results_are_the_named_resource_or_every_one() {
    // Older answers: one result per action and resource, named.
    let named = vec![
        Evaluation {
            action: "iam:PassRole".into(),
            resource: Some(EXEC.into()),
            top: decided("allowed"),
            ..Evaluation::default()
        },
        Evaluation {
            action: "iam:PassRole".into(),
            resource: Some(WEB_2.into()),
            top: decided("implicitDeny"),
            ..Evaluation::default()
        },
    ];
    let read1: BTreeMap<_, _> = read(&question(), &named).into_iter().collect();
    assert_eq!(
        read1[&key("iam:PassRole", EXEC)].decided.decision,
        "allowed"
    );
    assert_eq!(
        read1[&key("iam:PassRole", WEB_2)].decided.decision,
        "implicitDeny"
    );
    // The aggregate (most restrictive) decision applies to every resource asked.
    let aggregate = vec![Evaluation {
        action: "ECS:RunTask".into(),
        resource: Some("*".into()),
        top: decided("explicitDeny"),
        ..Evaluation::default()
    }];
    let read2: BTreeMap<_, _> = read(&question(), &aggregate).into_iter().collect();
    assert_eq!(read2.len(), 2);
    assert!(read2.values().all(|a| a.decided.decision == "explicitDeny"));
}

/// Permissions answered for the target's checks: `(action, resource, answer)`.
fn simulated(answers: &[(&str, &str, Answer)]) -> Permissions {
    Permissions {
        answers: answers
            .iter()
            .map(|(a, r, ans)| (filed(a, r), ans.clone()))
            .collect(),
        ..Permissions::default()
    }
}

fn answer(decision: &str) -> Answer {
    Answer {
        decided: decided(decision),
        denied_by_organizations: false,
    }
}

fn run_check() -> Check {
    target_checks(&target(json!({}), None), Some(&body()), &facts()).remove(0)
}

#[test]
fn run_task_pinned_to_an_old_revision_fails_naming_role_action_and_statement() {
    let perms = simulated(&[("ecs:RunTask", WEB_2, answer("implicitDeny"))]);
    let Some(Outcome::Fail { problem, fix }) = outcome(&run_check(), &perms) else {
        panic!("not a failure");
    };
    assert_eq!(
        problem,
        format!(
            "role events may not ecs:RunTask on {WEB_2}: no statement of its policies allows it: the schedule fires and no task starts (only FailedInvocations counts it)"
        )
    );
    assert_eq!(
        fix,
        format!(
            r#"add to role events's policies: {{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:*","Condition":{{"ArnEquals":{{"ecs:cluster":"{CLUSTER}"}}}}}}"#
        )
    );
    assert_eq!(
        outcome(
            &run_check(),
            &simulated(&[("ecs:RunTask", WEB_2, answer("allowed"))])
        ),
        Some(Outcome::Ok)
    );
}

#[test]
fn every_cause_of_a_deny_is_named_with_its_own_fix() {
    let mut explicit = answer("explicitDeny");
    explicit.decided.policies = vec!["deny-prod".into()];
    let mut scp = answer("implicitDeny");
    scp.denied_by_organizations = true;
    let mut boundary = answer("implicitDeny");
    boundary.decided.allowed_by_boundary = Some(false);
    for (answer, says, fix) in [
        (
            explicit,
            "a Deny statement in deny-prod refuses it",
            "remove or narrow the Deny statement matching ecs:RunTask",
        ),
        (
            boundary,
            "its permissions boundary does not allow it",
            "add to role events's permissions boundary policy: {",
        ),
    ] {
        let perms = simulated(&[("ecs:RunTask", WEB_2, answer)]);
        let Some(Outcome::Fail { problem, fix: f }) = outcome(&run_check(), &perms) else {
            panic!("not a failure: {says}");
        };
        assert!(problem.contains(says), "{problem}");
        assert!(f.starts_with(fix), "{f}");
    }
    // The review's bug: an SCP may test keys a simulation cannot supply (a region-deny SCP
    // read as a deny failed every deploy of the organization): named, but a warning.
    let perms = simulated(&[("ecs:RunTask", WEB_2, scp)]);
    let Some(Outcome::Warn { problem }) = outcome(&run_check(), &perms) else {
        panic!("an SCP deny is not a warning");
    };
    assert!(
        problem.contains("a service control policy (SCP) of your AWS Organization refuses it"),
        "{problem}"
    );
    assert!(
        problem.contains("ask your AWS Organizations administrator"),
        "{problem}"
    );
}

#[test]
fn missing_context_is_a_warning_not_a_failure() {
    let mut undecided = answer("implicitDeny");
    undecided.decided.missing_context = vec!["aws:SourceAccount".into()];
    let perms = simulated(&[("ecs:RunTask", WEB_2, undecided)]);
    assert!(matches!(
        outcome(&run_check(), &perms),
        Some(Outcome::Warn { problem }) if problem.contains("not decided: its policies test aws:SourceAccount")
    ));
    let mut allowed = answer("allowed");
    allowed.decided.missing_context = vec!["ecs:task-cpu".into()];
    let perms = simulated(&[("ecs:RunTask", WEB_2, allowed)]);
    assert!(matches!(
        outcome(&run_check(), &perms),
        Some(Outcome::Warn { problem }) if problem.contains("may ecs:RunTask") && problem.contains("ecs:task-cpu")
    ));
}

#[test]
fn a_deny_a_resource_policy_could_lift_is_a_warning() {
    let pull = family_checks(&body(), true, "us-east-1", &facts()).remove(0);
    let answers = [
        ("ecr:GetAuthorizationToken", "*", answer("allowed")),
        ("ecr:BatchGetImage", REPO, answer("implicitDeny")),
        ("ecr:GetDownloadUrlForLayer", REPO, answer("implicitDeny")),
    ];
    let perms = Permissions {
        answers: answers
            .iter()
            .map(|(a, r, ans)| (filed(a, r), ans.clone()))
            .collect(),
        ..Permissions::default()
    };
    assert!(matches!(
        outcome(&pull, &perms),
        Some(Outcome::Warn { problem }) if problem.contains("unless the repository policy allows it")
    ));
    // GetAuthorizationToken takes no resource: no repository policy grants it.
    let mut perms = perms;
    perms.answers.insert(
        filed("ecr:GetAuthorizationToken", "*"),
        answer("implicitDeny"),
    );
    assert!(matches!(
        outcome(&pull, &perms),
        Some(Outcome::Fail { problem, .. }) if problem.contains("ecr:GetAuthorizationToken") && problem.contains("ECS cannot start")
    ));
}

#[test]
fn create_log_group_passes_on_either_arn_form() {
    let logs = family_checks(&body(), true, "us-east-1", &facts()).remove(3);
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web";
    let stream = &logs.needs[0].resources[0];
    let perms = |group_answer: &str, star_answer: &str| Permissions {
        answers: [
            ("logs:createlogstream", stream.clone(), "allowed"),
            ("logs:putlogevents", stream.clone(), "allowed"),
            ("logs:createloggroup", group.to_string(), group_answer),
            ("logs:createloggroup", format!("{group}:*"), star_answer),
        ]
        .into_iter()
        .map(|(a, r, d)| {
            let mut key = filed(a, &r);
            key.1 = a.to_string();
            (key, answer(d))
        })
        .collect(),
        ..Permissions::default()
    };
    assert_eq!(
        outcome(&logs, &perms("implicitDeny", "allowed")),
        Some(Outcome::Ok)
    );
    assert_eq!(
        outcome(&logs, &perms("allowed", "implicitDeny")),
        Some(Outcome::Ok)
    );
    assert!(matches!(
        outcome(&logs, &perms("implicitDeny", "implicitDeny")),
        Some(Outcome::Fail { fix, .. }) if fix.contains(r#""Resource":"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*""#)
    ));
}

#[test]
fn a_simulation_jobdeploy_may_not_run_is_one_warning_for_the_run() {
    let b = body();
    let t = target(json!({}), None);
    let scope = Scope {
        families: vec![("web", &b)],
        targets: vec![t],
        bodies: BTreeMap::from([("web", &b)]),
        region: "us-east-1".into(),
    };
    let mut f = facts();
    f.permissions = Some(Permissions {
        denied: [EVENTS.to_string(), EXEC.to_string()].into(),
        ..Permissions::default()
    });
    let report = check(&scope, &f);
    let iam: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.area == Area::Iam)
        .collect();
    assert_eq!(iam.len(), 1, "{iam:#?}");
    assert_eq!(
        iam[0].outcome,
        Outcome::Warn {
            problem: "not checked: no permission for iam:SimulatePrincipalPolicy on role events, exec (add it: `jobdeploy iam-policy` lists it)".into()
        }
    );
    // Not simulated at all (no role to ask about): no permission lines.
    f.permissions = None;
    assert!(
        check(&scope, &f)
            .findings
            .iter()
            .all(|f| f.area != Area::Iam)
    );
}

#[test]
fn a_role_iam_would_not_simulate_is_a_warning_with_its_message() {
    let perms = Permissions {
        refused: [(EVENTS.to_string(), "NoSuchEntity: role gone".to_string())].into(),
        ..Permissions::default()
    };
    assert_eq!(
        outcome(&run_check(), &perms),
        Some(Outcome::Warn {
            problem: "not checked: iam:SimulatePrincipalPolicy on role events failed: NoSuchEntity: role gone"
                .into()
        })
    );
}
