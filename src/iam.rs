//! The least-privilege IAM policy for a config: pure, from what `iam-policy` found.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::image::EcrRepository;

/// Everything the policy is scoped by.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub cluster_arn: String,
    pub families: Vec<String>,
    pub event_buses: Vec<String>,
    pub schedule_groups: Vec<String>,
    pub ecr: Option<EcrRepository>,
    /// `taskRoleArn` and `executionRoleArn` of the rendered templates.
    pub task_roles: BTreeSet<String>,
    /// `RoleArn` of our rule targets.
    pub rule_roles: BTreeSet<String>,
    /// `Target.RoleArn` of our schedules.
    pub schedule_roles: BTreeSet<String>,
    /// Include what `prune` needs: account-wide reads of every rule and schedule.
    pub prune: bool,
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:` from the cluster ARN.
fn arn_prefix(cluster_arn: &str, service: &str) -> String {
    let parts: Vec<&str> = cluster_arn.split(':').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("*");
    format!("arn:{}:{service}:{}:{}:", part(1), part(3), part(4))
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

fn pass_role(sid: &str, roles: &BTreeSet<String>, service: &str) -> Option<Value> {
    (!roles.is_empty()).then(|| {
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": roles.iter().collect::<Vec<_>>(),
            "Condition": {"StringEquals": {"iam:PassedToService": service}}
        })
    })
}

pub fn policy(scope: &Scope) -> Value {
    let ecs = arn_prefix(&scope.cluster_arn, "ecs");
    let events = arn_prefix(&scope.cluster_arn, "events");
    let scheduler = arn_prefix(&scope.cluster_arn, "scheduler");
    let star = || vec!["*".to_string()];
    let mut statements = vec![
        statement(
            "ResolveCluster",
            &["ecs:DescribeClusters"],
            vec![scope.cluster_arn.clone()],
        ),
        // These ECS actions do not support resource-level permissions.
        statement(
            "TaskDefinitions",
            &[
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
            ],
            star(),
        ),
        statement(
            "TagRevisionsOfTemplatedFamilies",
            &["ecs:TagResource"],
            scope
                .families
                .iter()
                .map(|f| format!("{ecs}task-definition/{f}:*"))
                .collect(),
        ),
        // List calls that take no resource. ListRules gives each rule's state (the plan
        // shows a disabled rule).
        statement(
            "FindRulesAndSchedules",
            &[
                "events:ListRuleNamesByTarget",
                "events:ListRules",
                "events:ListEventBuses",
                "scheduler:ListSchedules",
            ],
            star(),
        ),
        statement(
            "RepointRuleTargets",
            &["events:ListTargetsByRule", "events:PutTargets"],
            scope
                .event_buses
                .iter()
                .map(|bus| match bus.as_str() {
                    "default" => format!("{events}rule/*"),
                    bus => format!("{events}rule/{bus}/*"),
                })
                .collect(),
        ),
        statement(
            "RepointSchedules",
            &["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
            scope
                .schedule_groups
                .iter()
                .map(|g| format!("{scheduler}schedule/{g}/*"))
                .collect(),
        ),
    ];
    if let Some(repo) = &scope.ecr {
        let partition = scope.cluster_arn.split(':').nth(1).unwrap_or("aws");
        statements.push(statement(
            "CheckImageExists",
            &["ecr:DescribeImages"],
            vec![format!(
                "arn:{partition}:ecr:{}:{}:repository/{}",
                repo.region, repo.account, repo.repository
            )],
        ));
    }
    if scope.prune {
        statements.push(statement(
            "PruneSeesEveryRuleAndSchedule",
            &[
                "events:ListRules",
                "events:ListTargetsByRule",
                "scheduler:GetSchedule",
            ],
            vec![format!("{events}rule/*"), format!("{scheduler}schedule/*")],
        ));
    }
    statements.extend(
        [
            pass_role(
                "PassTaskRoles",
                &scope.task_roles,
                "ecs-tasks.amazonaws.com",
            ),
            pass_role(
                "PassRuleTargetRoles",
                &scope.rule_roles,
                "events.amazonaws.com",
            ),
            pass_role(
                "PassScheduleRoles",
                &scope.schedule_roles,
                "scheduler.amazonaws.com",
            ),
        ]
        .into_iter()
        .flatten(),
    );
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_to_what_the_config_touches() {
        let scope = Scope {
            cluster_arn: "arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch".into(),
            families: vec!["web".into()],
            event_buses: vec!["default".into(), "jobs".into()],
            schedule_groups: vec!["default".into()],
            ecr: Some(EcrRepository {
                account: "123456789012".into(),
                region: "ap-northeast-1".into(),
                repository: "web".into(),
            }),
            task_roles: ["arn:aws:iam::123456789012:role/web-task".to_string()].into(),
            rule_roles: BTreeSet::new(),
            schedule_roles: ["arn:aws:iam::123456789012:role/sched".to_string()].into(),
            prune: false,
        };
        let p = policy(&scope);
        let text = p.to_string();
        for expected in [
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/web:*",
            "arn:aws:events:ap-northeast-1:123456789012:rule/*",
            "arn:aws:events:ap-northeast-1:123456789012:rule/jobs/*",
            "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/*",
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/web",
            "ecs-tasks.amazonaws.com",
            "scheduler.amazonaws.com",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(
            !text.contains("events.amazonaws.com"),
            "no rule roles: {text}"
        );
        assert!(
            !text.contains("PruneSeesEveryRuleAndSchedule"),
            "no prune: {text}"
        );
        assert!(
            text.contains("\"events:ListRules\""),
            "rule states for the plan: {text}"
        );
        let sids: Vec<&str> = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids.len(), sids.iter().collect::<BTreeSet<_>>().len());
    }
}
