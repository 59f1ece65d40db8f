//! `jobdeploy iam-policy`: the least-privilege policy for this config, scoped by what the
//! templates and the live account name.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::Value;

use super::Context;
use crate::error::Result;
use crate::iam::{Scope, policy};
use crate::model::Owner;

pub async fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    let (local, aws, state) = ctx.local_with_targets().await?;
    let mut scope = Scope {
        cluster_arn: state.cluster_arn.clone(),
        families: local.rendered.iter().map(|r| r.family.clone()).collect(),
        event_buses: local.config.config.rules.event_buses.clone(),
        schedule_groups: local.config.config.schedules.groups.clone(),
        ecr: local.release.image.ecr(),
        prune: true,
        ..Scope::default()
    };
    let partition = state
        .cluster_arn
        .split(':')
        .nth(1)
        .unwrap_or("aws")
        .to_string();
    let account = state
        .cluster_arn
        .split(':')
        .nth(4)
        .unwrap_or("*")
        .to_string();
    for r in &local.rendered {
        for key in ["taskRoleArn", "executionRoleArn"] {
            if let Some(role) = r.body.get(key).and_then(Value::as_str) {
                scope.task_roles.insert(role.to_string());
            }
        }
        if let Some(role) = r.body.get("executionRoleArn").and_then(Value::as_str) {
            scope.execution_roles.insert(role.to_string());
        }
        let containers = r.body.get("containerDefinitions").and_then(Value::as_array);
        for c in containers.into_iter().flatten() {
            let options = c.pointer("/logConfiguration/options");
            let option = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str);
            if c.pointer("/logConfiguration/logDriver")
                .and_then(Value::as_str)
                == Some("awslogs")
                && let Some(group) = option("awslogs-group")
            {
                let region = option("awslogs-region").map(str::to_string);
                scope.log_groups.insert((region, group.to_string()));
            }
        }
        // Everything ECS resolves at start, as verify reads it: `secrets[]`, log-driver
        // `secretOptions[]` and registry credentials (a secret by ARN or by name).
        for (from, in_secrets_manager) in crate::verify::secrets::referenced(&r.body) {
            if in_secrets_manager {
                scope.secrets.insert(crate::iam::secrets_manager_resource(
                    &from,
                    &partition,
                    &aws.region,
                    &account,
                ));
            } else {
                scope.parameters.insert(crate::iam::secret_resource(
                    &from,
                    &partition,
                    &aws.region,
                    &account,
                ));
            }
        }
    }
    for t in &state.targets {
        let (roles, pointer): (&mut BTreeSet<String>, &str) = match t.at.owner {
            Owner::Rule { .. } => (&mut scope.rule_roles, "/RoleArn"),
            Owner::Schedule { .. } => (&mut scope.schedule_roles, "/Target/RoleArn"),
        };
        if let Some(role) = t.raw.pointer(pointer).and_then(Value::as_str) {
            roles.insert(role.to_string());
        }
        if let Some(queue) = crate::runs::dead_letter_arn(t) {
            scope.dead_letter_queues.insert(queue);
        }
    }
    let text = serde_json::to_string_pretty(&policy(&scope)).unwrap_or_default();
    crate::progress::print(&(text + "\n"));
    Ok(ExitCode::SUCCESS)
}
