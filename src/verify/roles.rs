//! Roles: the task and execution roles exist and trust ECS tasks; each target's role exists
//! and trusts EventBridge (rules) or EventBridge Scheduler (schedules).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Outcome, TargetSpec, containers};
use crate::aws::Lookup;
use crate::aws::iam::{Role, role_name};

pub const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// Whether the trust policy lets `service` call `sts:AssumeRole`: an `Allow` statement
/// whose `Principal.Service` (a string or an array) names it, or whose principal is `*`,
/// with `Action` (string or array) `sts:AssumeRole`, `sts:*` or `*`; and no `Deny`
/// statement that matches the same way.
pub fn trusts(policy: &Value, service: &str) -> bool {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let matches =
        |s: &&Value| names_service(s.get("Principal"), service) && assumes(s.get("Action"));
    let effect = |s: &&Value, e: &str| s.get("Effect").and_then(Value::as_str) == Some(e);
    // A Deny with a Condition (say, unless aws:SourceAccount is ours) denies only some
    // callers, which verify cannot tell; only an unconditional Deny takes the trust away.
    let unconditional = |s: &&&Value| s.get("Condition").is_none_or(Value::is_null);
    statements
        .iter()
        .filter(|s| effect(s, "Allow"))
        .any(matches)
        && !statements
            .iter()
            .filter(|s| effect(s, "Deny"))
            .filter(unconditional)
            .any(matches)
}

fn one_or_many(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn names_service(principal: Option<&Value>, service: &str) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(p @ Value::Object(_)) => {
            one_or_many(p.get("Service")).contains(&service)
                || one_or_many(p.get("AWS")).contains(&"*")
        }
        _ => false,
    }
}

/// `sts:AssumeRole`, or a pattern IAM matches to it (`sts:*`, `sts:Assume*`, `*`); IAM
/// compares actions case-insensitively.
fn assumes(action: Option<&Value>) -> bool {
    one_or_many(action)
        .iter()
        .any(|a| wildcard_match(&a.to_ascii_lowercase(), "sts:assumerole"))
}

/// IAM's action wildcards: `*` any run of characters, `?` one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The statement to add to a trust policy so `service` may assume the role.
fn trust_statement(service: &str) -> String {
    format!(
        r#"{{"Effect": "Allow", "Principal": {{"Service": "{service}"}}, "Action": "sts:AssumeRole"}}"#
    )
}

/// One role against the service that must assume it.
fn role_outcome(
    roles: &BTreeMap<String, Lookup<Role>>,
    arn: &str,
    service: &str,
    set_in: &str,
) -> Outcome {
    let name = role_name(arn);
    match roles.get(arn) {
        Some(Lookup::Found(role)) if trusts(&role.trust, service) => Outcome::Ok,
        Some(Lookup::Found(_)) => Outcome::fail(
            format!("role {name} does not trust {service} to assume it"),
            format!(
                "add to role {name}'s trust policy: {}",
                trust_statement(service)
            ),
        ),
        Some(Lookup::Missing) => Outcome::fail(
            format!("role {name} does not exist"),
            format!(
                "create role {name} with trust policy {}, or correct {set_in}",
                trust_statement(service)
            ),
        ),
        Some(Lookup::Denied(permission)) => Outcome::denied(permission),
        None => Outcome::Skipped {
            why: "not read".into(),
        },
    }
}

/// Whether a task definition needs an execution role: ECS fetches `secrets` with it, and
/// on Fargate also ECR images and `awslogs` (on EC2 the instance role can do those).
fn needs_execution_role(body: &Value, on_fargate: bool) -> Option<&'static str> {
    for (_, c) in containers(body) {
        let has = |pointer: &str| {
            c.pointer(pointer)
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty())
        };
        if has("/secrets") || has("/logConfiguration/secretOptions") {
            return Some("its containers have secrets");
        }
        if c.pointer("/repositoryCredentials/credentialsParameter")
            .is_some()
        {
            return Some("an image needs registry credentials");
        }
        if !on_fargate {
            continue;
        }
        if c.pointer("/logConfiguration/logDriver")
            .and_then(Value::as_str)
            == Some("awslogs")
        {
            return Some("a container logs with awslogs");
        }
        if c.get("image")
            .and_then(Value::as_str)
            .and_then(|i| crate::image::ImageRef::parse(i).ok())
            .is_some_and(|i| i.ecr().is_some())
        {
            return Some("an image is in ECR");
        }
    }
    None
}

/// The execution and task roles of a rendered task definition.
pub fn task_roles(
    body: &Value,
    on_fargate: bool,
    roles: &BTreeMap<String, Lookup<Role>>,
) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    match body.get("executionRoleArn").and_then(Value::as_str) {
        Some(arn) => out.push((
            format!("execution role {}", role_name(arn)),
            role_outcome(roles, arn, ECS_TASKS, "executionRoleArn in the template"),
        )),
        None => {
            if let Some(why) = needs_execution_role(body, on_fargate) {
                out.push((
                    "execution role".to_string(),
                    Outcome::fail(
                        format!("no executionRoleArn, but {why}: ECS cannot start the task"),
                        "set executionRoleArn to a role trusting ecs-tasks.amazonaws.com with the AmazonECSTaskExecutionRolePolicy",
                    ),
                ));
            }
        }
    }
    if let Some(arn) = body.get("taskRoleArn").and_then(Value::as_str) {
        out.push((
            format!("task role {}", role_name(arn)),
            role_outcome(roles, arn, ECS_TASKS, "taskRoleArn in the template"),
        ));
    }
    out
}

/// The role EventBridge or Scheduler runs the task with.
pub fn target_role(
    target: &TargetSpec,
    roles: &BTreeMap<String, Lookup<Role>>,
) -> (String, Outcome) {
    match &target.role_arn {
        Some(arn) => (
            format!("role {}", role_name(arn)),
            role_outcome(roles, arn, target.service, "the target's RoleArn"),
        ),
        None => (
            "role".to_string(),
            Outcome::fail(
                "the target has no RoleArn: it cannot run an ECS task",
                format!(
                    "set RoleArn to a role trusting {} with ecs:RunTask and iam:PassRole",
                    target.service
                ),
            ),
        ),
    }
}

/// Every role ARN the scope names, to read.
pub fn wanted<'a>(
    bodies: impl Iterator<Item = &'a Value>,
    targets: &'a [TargetSpec],
) -> Vec<String> {
    let mut arns: Vec<String> = bodies
        .flat_map(|b| {
            ["executionRoleArn", "taskRoleArn"]
                .into_iter()
                .filter_map(|k| b.get(k).and_then(Value::as_str).map(str::to_string))
        })
        .chain(targets.iter().filter_map(|t| t.role_arn.clone()))
        .collect();
    arns.sort();
    arns.dedup();
    arns
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trust_in_string_and_array_forms() {
        let string = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRole"}]});
        assert!(trusts(&string, ECS_TASKS));
        let arrays = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", ECS_TASKS]}, "Action": ["sts:TagSession", "sts:AssumeRole"]}]});
        assert!(trusts(&arrays, ECS_TASKS));
        assert!(trusts(&arrays, "events.amazonaws.com"));
        let single_statement = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:*"}});
        assert!(trusts(&single_statement, ECS_TASKS));
    }

    /// Real trust policies: an Allow with a confused-deputy Condition, a Deny that only
    /// applies to other accounts, an action wildcard, `{"AWS": "*"}`. All trust ECS tasks.
    #[test]
    fn trust_with_conditions_and_wildcards() {
        let guarded = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}},
            {"Effect": "Deny", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRole",
             "Condition": {"StringNotEquals": {"aws:SourceAccount": "123456789012"}}}
        ]});
        assert!(trusts(&guarded, ECS_TASKS));
        let wildcard = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:Assume*"}]});
        assert!(trusts(&wildcard, ECS_TASKS));
        let lower = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "STS:assumerole"}]});
        assert!(trusts(&lower, ECS_TASKS));
        let anyone = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        assert!(trusts(&anyone, ECS_TASKS));
        let saml = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRoleWith*"}]});
        assert!(!trusts(&saml, ECS_TASKS));
    }

    #[test]
    fn no_trust_without_allow_service_and_assume_role() {
        let other = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(!trusts(&other, ECS_TASKS));
        let wrong_action = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:TagSession"}]});
        assert!(!trusts(&wrong_action, ECS_TASKS));
        let denied = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"Service": ECS_TASKS}, "Action": "sts:AssumeRole"}
        ]});
        assert!(!trusts(&denied, ECS_TASKS));
        assert!(!trusts(&Value::Null, ECS_TASKS));
        let account = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}]});
        assert!(!trusts(&account, ECS_TASKS));
    }

    #[test]
    fn a_missing_or_untrusting_role_names_the_fix() {
        let arn = "arn:aws:iam::1:role/exec";
        let mut roles = BTreeMap::new();
        roles.insert(arn.to_string(), Lookup::Missing);
        let body = json!({"executionRoleArn": arn, "containerDefinitions": []});
        let out = task_roles(&body, true, &roles);
        assert_eq!(out[0].0, "execution role exec");
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix.starts_with("create role exec with trust policy") && fix.contains(ECS_TASKS))
        );
        roles.insert(
            arn.to_string(),
            Lookup::Found(Role {
                arn: arn.into(),
                trust: json!({"Statement": []}),
            }),
        );
        let out = task_roles(&body, true, &roles);
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix.starts_with("add to role exec's trust policy"))
        );
        roles.insert(arn.to_string(), Lookup::Denied("iam:GetRole"));
        let out = task_roles(&body, true, &roles);
        assert!(matches!(&out[0].1, Outcome::Warn { problem } if problem.contains("iam:GetRole")));
    }

    #[test]
    fn an_ecr_image_without_execution_role_fails() {
        let body = json!({"containerDefinitions": [{"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1"}]});
        let out = task_roles(&body, true, &BTreeMap::new());
        // On EC2 the instance role pulls from ECR.
        assert!(task_roles(&body, false, &BTreeMap::new()).is_empty());
        assert!(matches!(&out[0].1, Outcome::Fail { problem, .. } if problem.contains("ECR")));
        let public = json!({"containerDefinitions": [{"name": "app", "image": "busybox:1"}]});
        assert!(task_roles(&public, true, &BTreeMap::new()).is_empty());
        // ECS reads registry credentials and log-driver secrets with the execution role, on
        // EC2 too.
        let private = json!({"containerDefinitions": [{"name": "app", "image": "ghcr.io/acme/app:1",
            "repositoryCredentials": {"credentialsParameter": "ghcr"}}]});
        assert!(
            matches!(&task_roles(&private, false, &BTreeMap::new())[0].1, Outcome::Fail { problem, .. } if problem.contains("registry credentials"))
        );
        let splunk = json!({"containerDefinitions": [{"name": "app", "image": "busybox:1",
            "logConfiguration": {"logDriver": "splunk", "secretOptions": [{"name": "splunk-token", "valueFrom": "/t"}]}}]});
        assert_eq!(task_roles(&splunk, false, &BTreeMap::new()).len(), 1);
    }
}
