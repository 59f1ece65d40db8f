//! Logs: each `awslogs` log group exists in its region, or `awslogs-create-group` is true
//! (ECS then creates it at the first start, with the execution role's
//! `logs:CreateLogGroup`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Outcome, containers};
use crate::aws::Lookup;

/// `(container, group, region, create-group)` of each awslogs container.
fn awslogs<'a>(body: &'a Value, region: &'a str) -> Vec<(&'a str, Option<&'a str>, &'a str, bool)> {
    containers(body)
        .filter(|(_, c)| {
            c.pointer("/logConfiguration/logDriver")
                .and_then(Value::as_str)
                == Some("awslogs")
        })
        .map(|(name, c)| {
            let option = |k: &str| {
                c.pointer("/logConfiguration/options")
                    .and_then(|o| o.get(k))
                    .and_then(Value::as_str)
            };
            (
                name,
                option("awslogs-group"),
                option("awslogs-region").unwrap_or(region),
                option("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            )
        })
        .collect()
}

/// The log lines of one task definition.
pub fn check(
    body: &Value,
    region: &str,
    on_fargate: bool,
    groups: &BTreeMap<(String, String), Lookup<()>>,
) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    for (container, group, group_region, create) in awslogs(body, region) {
        let Some(group) = group else {
            out.push((
                format!("container {container} log group"),
                Outcome::fail(
                    "awslogs without awslogs-group: the task fails to start",
                    "set logConfiguration.options.awslogs-group",
                ),
            ));
            continue;
        };
        let what = format!("container {container} log group {group} ({group_region})");
        let outcome = match groups.get(&(group_region.to_string(), group.to_string())) {
            Some(Lookup::Found(())) => Outcome::Ok,
            Some(Lookup::Missing) if create => {
                if body.get("executionRoleArn").is_some() {
                    Outcome::Ok
                } else if !on_fargate {
                    // On EC2 the awslogs driver runs with the container instance's role,
                    // which may be allowed logs:CreateLogGroup: not certain.
                    // https://repost.aws/knowledge-center/ecs-container-logs-cloudwatch ("EC2 launch type
                    // tasks without task execution IAM role": the container instance role).
                    Outcome::Warn {
                        problem: "the group does not exist and there is no execution role: the container instance's role must be allowed logs:CreateLogGroup, or the task fails to start".to_string(),
                    }
                } else {
                    Outcome::fail(
                        "the group does not exist and there is no execution role to create it",
                        "set executionRoleArn to a role allowed logs:CreateLogGroup",
                    )
                }
            }
            Some(Lookup::Missing) => Outcome::fail(
                format!(
                    "log group {group} does not exist in {group_region}: the task fails to start"
                ),
                format!(
                    "aws logs create-log-group --region {group_region} --log-group-name {group}, or set awslogs-create-group to \"true\" (the execution role then needs logs:CreateLogGroup)"
                ),
            ),
            Some(Lookup::Denied(p)) => Outcome::denied(p),
            None => Outcome::Skipped {
                why: "not read".into(),
            },
        };
        out.push((what, outcome));
    }
    out
}

/// Every `(region, group)` to read.
pub fn wanted<'a>(bodies: impl Iterator<Item = &'a Value>, region: &str) -> Vec<(String, String)> {
    let mut groups: Vec<(String, String)> = bodies
        .flat_map(|b| awslogs(b, region))
        .filter_map(|(_, g, r, _)| g.map(|g| (r.to_string(), g.to_string())))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(options: Value, role: bool) -> Value {
        let mut b = json!({"containerDefinitions": [{"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": options}}]});
        if role {
            b["executionRoleArn"] = json!("arn:aws:iam::1:role/exec");
        }
        b
    }

    #[test]
    fn a_missing_group_fails_unless_ecs_may_create_it() {
        let groups = BTreeMap::from([(
            ("eu-west-1".to_string(), "/ecs/web".to_string()),
            Lookup::Missing,
        )]);
        let plain = body(
            json!({"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}),
            true,
        );
        let out = check(&plain, "us-east-1", true, &groups);
        assert_eq!(out[0].0, "container app log group /ecs/web (eu-west-1)");
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix.starts_with("aws logs create-log-group --region eu-west-1 --log-group-name /ecs/web"))
        );
        let create = body(
            json!({"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-create-group": "true"}),
            true,
        );
        assert_eq!(check(&create, "us-east-1", true, &groups)[0].1, Outcome::Ok);
        let no_role = body(
            json!({"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-create-group": "true"}),
            false,
        );
        assert!(matches!(
            &check(&no_role, "us-east-1", true, &groups)[0].1,
            Outcome::Fail { .. }
        ));
        // On EC2 the instance role may create it: a warning.
        assert!(matches!(
            &check(&no_role, "us-east-1", false, &groups)[0].1,
            Outcome::Warn { .. }
        ));
    }

    #[test]
    fn the_region_defaults_to_the_deploys() {
        let b = body(json!({"awslogs-group": "/ecs/web"}), true);
        assert_eq!(
            wanted([&b].into_iter(), "us-east-1"),
            [("us-east-1".to_string(), "/ecs/web".to_string())]
        );
        let groups = BTreeMap::from([(
            ("us-east-1".to_string(), "/ecs/web".to_string()),
            Lookup::Found(()),
        )]);
        assert_eq!(check(&b, "us-east-1", true, &groups)[0].1, Outcome::Ok);
        let no_group = body(json!({}), true);
        assert!(matches!(
            &check(&no_group, "us-east-1", true, &groups)[0].1,
            Outcome::Fail { .. }
        ));
    }
}
