//! The checks together: a scope and what was read → the report, in order, without AWS.

use super::*;
use crate::aws::iam::Role;
use crate::live::LiveTarget;
use serde_json::json;

const EXEC: &str = "arn:aws:iam::123456789012:role/exec";
const EVENTS: &str = "arn:aws:iam::123456789012:role/events";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1";

fn body() -> Value {
    json!({
        "family": "web",
        "executionRoleArn": EXEC,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app",
            "image": IMAGE,
            "secrets": [{"name": "DB", "valueFrom": "/web/db"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
        }]
    })
}

fn target() -> LiveTarget {
    let raw = json!({
        "Id": "batch",
        "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/batch",
        "RoleArn": EVENTS,
        "EcsParameters": {
            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
            "LaunchType": "FARGATE",
            "PlatformVersion": "LATEST",
            "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-a"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}}
        }
    });
    LiveTarget {
        at: Trigger::rule_target("default", "hourly", "batch"),
        task_definition: crate::model::TaskDefRef::parse(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
        ),
        raw,
    }
}

fn trusting(service: &str) -> Lookup<Role> {
    Lookup::Found(Role {
        arn: String::new(),
        trust: json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}),
    })
}

fn good_facts() -> Facts {
    let mut f = Facts::default();
    f.roles.insert(EXEC.into(), trusting(roles::ECS_TASKS));
    f.roles
        .insert(EVENTS.into(), trusting("events.amazonaws.com"));
    f.images.insert(
        IMAGE.into(),
        Lookup::Found(Manifest {
            digest: Some("sha256:1".into()),
            media_type: None,
            body: json!({"manifests": [{"platform": {"os": "linux", "architecture": "amd64"}}]})
                .to_string(),
        }),
    );
    f.parameters
        .insert("us-east-1".into(), Lookup::Found(BTreeSet::new()));
    f.log_groups
        .insert(("us-east-1".into(), "/ecs/web".into()), Lookup::Found(()));
    f.subnets = Some(Lookup::Found(BTreeMap::from([(
        "subnet-a".to_string(),
        "vpc-1".to_string(),
    )])));
    f.security_groups = Some(Lookup::Found(BTreeMap::from([(
        "sg-1".to_string(),
        "vpc-1".to_string(),
    )])));
    f.routes.insert(
        "subnet-a".into(),
        Lookup::Found(Routes {
            id: "rtb-1".into(),
            nat: true,
            ..Routes::default()
        }),
    );
    f
}

fn report(facts: &Facts) -> Report {
    let b = body();
    let t = target();
    let scope = Scope {
        families: vec![("web", &b)],
        targets: vec![TargetSpec::of(&t.at, &t.raw, &t.task_definition.family)],
        bodies: BTreeMap::from([("web", &b)]),
        region: "us-east-1".into(),
    };
    check(&scope, facts)
}

#[test]
fn every_check_of_a_sound_job_is_ok_and_in_order() {
    let r = report(&good_facts());
    let lines: Vec<(String, &str, String, &str)> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.subject.clone(),
                f.area.word(),
                f.check.clone(),
                f.outcome.word(),
            )
        })
        .collect();
    let expected = [
        ("web", "roles", "execution role exec"),
        (
            "web",
            "image",
            "container app image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        ),
        ("web", "image", "container app platform"),
        ("web", "secrets", "container app secret DB"),
        (
            "web",
            "logs",
            "container app log group /ecs/web (us-east-1)",
        ),
        ("web", "fargate", "cpu/memory"),
        ("web", "fargate", "network mode"),
        ("default/hourly target batch", "roles", "role events"),
        ("default/hourly target batch", "network", "subnets subnet-a"),
        (
            "default/hourly target batch",
            "network",
            "security groups sg-1",
        ),
        (
            "default/hourly target batch",
            "network",
            "subnet subnet-a route to ECR",
        ),
        (
            "default/hourly target batch",
            "fargate",
            "platform version LATEST",
        ),
    ];
    let expected: Vec<(String, &str, String, &str)> = expected
        .iter()
        .map(|(s, a, c)| (s.to_string(), *a, c.to_string(), "ok"))
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(r.totals.ok, 12);
    assert!(!r.failed() && !r.has_notes());
}

#[test]
fn all_checks_run_after_a_failure_and_a_denied_read_is_a_warning() {
    let mut f = good_facts();
    f.roles.insert(EXEC.into(), Lookup::Missing);
    f.log_groups.insert(
        ("us-east-1".into(), "/ecs/web".into()),
        Lookup::Denied("logs:DescribeLogGroups"),
    );
    let r = report(&f);
    assert_eq!(r.findings.len(), 12, "every check still runs");
    assert_eq!(
        (r.totals.failed, r.totals.warnings, r.totals.ok),
        (1, 1, 10)
    );
    let notes = r.notes();
    assert_eq!(notes.findings.len(), 2);
    assert_eq!(notes.totals, r.totals);
}

#[test]
fn schedules_must_trust_the_scheduler() {
    let raw = json!({"Target": {"Arn": "c", "RoleArn": EVENTS, "EcsParameters": {"TaskDefinitionArn": "web:1"}}});
    let spec = TargetSpec::of(&Trigger::schedule("default", "nightly"), &raw, "web");
    assert_eq!(spec.service, "scheduler.amazonaws.com");
    let (_, outcome) = roles::target_role(&spec, &good_facts().roles);
    assert!(
        matches!(outcome, Outcome::Fail { problem, .. } if problem.contains("scheduler.amazonaws.com"))
    );
}
