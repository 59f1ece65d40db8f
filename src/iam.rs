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
    /// `executionRoleArn` of the rendered templates: verify simulates what they may do.
    pub execution_roles: BTreeSet<String>,
    /// `RoleArn` of our rule targets.
    pub rule_roles: BTreeSet<String>,
    /// `Target.RoleArn` of our schedules.
    pub schedule_roles: BTreeSet<String>,
    /// Include what `prune` needs: account-wide reads of every rule and schedule.
    pub prune: bool,
    /// `(awslogs-region, awslogs-group)` of the templates' containers: `run` and
    /// `deploy --smoke` read their tasks' logs there (no region: the cluster's).
    pub log_groups: BTreeSet<(Option<String>, String)>,
    /// `verify`'s reads (which `deploy` runs first): SSM parameter ARNs of the templates'
    /// secrets.
    pub parameters: BTreeSet<String>,
    /// Secrets Manager secret ARNs of the templates' secrets.
    pub secrets: BTreeSet<String>,
    /// The SQS dead-letter queue ARNs of our targets: `runs` reads their depth.
    pub dead_letter_queues: BTreeSet<String>,
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

/// `jobs` for `jobs` or `arn:aws:events:…:event-bus/jobs`.
fn bus_name(bus: &str) -> &str {
    match bus.strip_prefix("arn:") {
        Some(arn) => arn.rsplit_once("event-bus/").map_or(bus, |(_, name)| name),
        None => bus,
    }
}

/// The account-wide read patterns when there are any (prune), else the configured ones.
fn read_or(configured: &[String], every: Vec<String>) -> Vec<String> {
    if every.is_empty() {
        configured.to_vec()
    } else {
        every
    }
}

/// One statement per set of actions, each pattern in exactly one statement: `(read
/// action, its patterns)` and `(write action, its patterns)`; `sids` name the statements
/// with both, only the read, only the write. A pattern the account-wide read pattern
/// already covers gets only the write.
fn by_pattern(actions: &[(&str, Vec<String>); 2], sids: (&str, &str, &str)) -> Vec<Value> {
    let [(read, reads), (write, writes)] = actions;
    let mut patterns: Vec<&String> = reads.iter().chain(writes.iter()).collect();
    patterns.sort();
    patterns.dedup();
    let (mut both, mut only_read, mut only_write) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns {
        match (reads.contains(p), writes.contains(p)) {
            (true, true) => both.push(p.clone()),
            (true, false) => only_read.push(p.clone()),
            (false, true) => only_write.push(p.clone()),
            (false, false) => {}
        }
    }
    let mut out = Vec::new();
    if !both.is_empty() {
        out.push(statement(sids.0, &[*read, *write], both));
    }
    if !only_read.is_empty() {
        out.push(statement(sids.1, &[*read], only_read));
    }
    if !only_write.is_empty() {
        out.push(statement(sids.2, &[*write], only_write));
    }
    out
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
                "scheduler:ListSchedules",
            ],
            star(),
        ),
    ];
    // Reads reach every bus and group for prune (a revision any rule uses is never
    // deregistered), writes only the configured ones. Each ARN pattern is listed once,
    // with every action it needs.
    let configured_rules: Vec<String> = scope
        .event_buses
        .iter()
        .map(|bus| match bus_name(bus) {
            "default" => format!("{events}rule/*"),
            bus => format!("{events}rule/{bus}/*"),
        })
        .collect();
    let configured_schedules: Vec<String> = scope
        .schedule_groups
        .iter()
        .map(|g| format!("{scheduler}schedule/{g}/*"))
        .collect();
    let every = |pattern: String| {
        if scope.prune {
            vec![pattern]
        } else {
            Vec::new()
        }
    };
    statements.extend(by_pattern(
        &[
            (
                "events:ListTargetsByRule",
                read_or(&configured_rules, every(format!("{events}rule/*"))),
            ),
            ("events:PutTargets", configured_rules.clone()),
        ],
        (
            "ReadAndRepointRuleTargets",
            "ReadRuleTargets",
            "RepointRuleTargets",
        ),
    ));
    statements.extend(by_pattern(
        &[
            (
                "scheduler:GetSchedule",
                read_or(
                    &configured_schedules,
                    every(format!("{scheduler}schedule/*")),
                ),
            ),
            ("scheduler:UpdateSchedule", configured_schedules.clone()),
        ],
        (
            "ReadAndRepointSchedules",
            "ReadSchedules",
            "RepointSchedules",
        ),
    ));
    if let Some(repo) = &scope.ecr {
        let partition = scope.cluster_arn.split(':').nth(1).unwrap_or("aws");
        statements.push(statement(
            "CheckImageExists",
            // BatchGetImage: verify reads the manifest for the image's platforms.
            &["ecr:DescribeImages", "ecr:BatchGetImage"],
            vec![format!(
                "arn:{partition}:ecr:{}:{}:repository/{}",
                repo.region, repo.account, repo.repository
            )],
        ));
    }
    statements.extend(run_tasks(scope, &ecs));
    if scope.prune {
        // List calls that take no resource; the targets and schedules they find are read
        // with the account-wide patterns above.
        statements.push(statement(
            "PruneListsEveryBus",
            &["events:ListEventBuses"],
            star(),
        ));
    }
    statements.extend(verify_reads(scope));
    statements.extend(runs_reads(scope));
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

/// What `run` and `deploy --smoke` need: start a templated family's task on the cluster,
/// watch, stop and tag tasks there (RunTask tags at launch), read their logs.
fn run_tasks(scope: &Scope, ecs: &str) -> Vec<Value> {
    let cluster_name = scope.cluster_arn.rsplit('/').next().unwrap_or("*");
    let on_cluster = json!({"ArnEquals": {"ecs:cluster": scope.cluster_arn}});
    let mut run = statement(
        "RunTasksOfTemplatedFamilies",
        &["ecs:RunTask"],
        scope
            .families
            .iter()
            .map(|f| format!("{ecs}task-definition/{f}:*"))
            .collect(),
    );
    run["Condition"] = on_cluster;
    // TagResource: RunTask tags the task when the target has tags or propagates them.
    let mut out = vec![
        run,
        statement(
            "WatchStopAndTagTasks",
            &["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
            vec![format!("{ecs}task/{cluster_name}/*")],
        ),
    ];
    if !scope.log_groups.is_empty() {
        let logs = arn_prefix(&scope.cluster_arn, "logs");
        let region = scope.cluster_arn.split(':').nth(3).unwrap_or("*");
        let resources = scope
            .log_groups
            .iter()
            .map(|(in_region, group)| {
                let prefix = match in_region {
                    Some(r) if r != region => {
                        logs.replacen(&format!(":{region}:"), &format!(":{r}:"), 1)
                    }
                    _ => logs.clone(),
                };
                format!("{prefix}log-group:{group}:log-stream:*")
            })
            .collect();
        out.push(statement("ReadTaskLogs", &["logs:GetLogEvents"], resources));
    }
    out
}

/// What `runs` reads besides the targets and the tasks' DescribeTasks (granted with `run`'s):
/// the tasks of our families on the cluster (ListTasks acts on container instances, so it is
/// granted on `*` conditioned on `ecs:cluster`, as aws-cdk#3199 and the Service Authorization
/// Reference, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html>,
/// have it), the
/// invocation metrics (GetMetricData supports no resource-level permission:
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>)
/// and the depth of the targets' dead-letter queues.
fn runs_reads(scope: &Scope) -> Vec<Value> {
    let mut list = statement(
        "RunsListTasksOnTheCluster",
        &["ecs:ListTasks"],
        vec!["*".to_string()],
    );
    list["Condition"] = json!({"ArnEquals": {"ecs:cluster": scope.cluster_arn}});
    let mut out = vec![
        list,
        statement(
            "RunsReadInvocationMetrics",
            &["cloudwatch:GetMetricData"],
            vec!["*".to_string()],
        ),
    ];
    if !scope.dead_letter_queues.is_empty() {
        out.push(statement(
            "RunsReadDeadLetterQueueDepth",
            &["sqs:GetQueueAttributes"],
            scope.dead_letter_queues.iter().cloned().collect(),
        ));
    }
    out
}

/// What `verify` reads (and `deploy`, which runs it first): the roles it names, the
/// templates' parameters and secrets (metadata only: `secretsmanager:DescribeSecret`, never
/// GetSecretValue), log groups and the network. DescribeLogGroups and EC2's Describe calls
/// take no resource.
fn verify_reads(scope: &Scope) -> Vec<Value> {
    let mut out = Vec::new();
    let roles: BTreeSet<&String> = scope
        .task_roles
        .iter()
        .chain(&scope.rule_roles)
        .chain(&scope.schedule_roles)
        .collect();
    if !roles.is_empty() {
        out.push(statement(
            "VerifyRoles",
            &["iam:GetRole"],
            roles.into_iter().cloned().collect(),
        ));
    }
    // verify asks IAM what the roles that start and feed the tasks may do: the targets'
    // roles and the execution roles, no other.
    let simulated: BTreeSet<&String> = scope
        .rule_roles
        .iter()
        .chain(&scope.schedule_roles)
        .chain(&scope.execution_roles)
        .collect();
    if !simulated.is_empty() {
        out.push(statement(
            "VerifyRolePermissions",
            &["iam:SimulatePrincipalPolicy"],
            simulated.into_iter().cloned().collect(),
        ));
    }
    if !scope.parameters.is_empty() {
        out.push(statement(
            "VerifyParameters",
            &["ssm:GetParameters"],
            scope.parameters.iter().cloned().collect(),
        ));
        // Which KMS key each SecureString uses. DescribeParameters takes no resource:
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
        out.push(statement(
            "VerifyParameterKeys",
            &["ssm:DescribeParameters"],
            vec!["*".to_string()],
        ));
    }
    if !scope.secrets.is_empty() {
        out.push(statement(
            "VerifySecrets",
            &["secretsmanager:DescribeSecret"],
            scope.secrets.iter().cloned().collect(),
        ));
    }
    out.push(statement(
        "VerifyLogGroupsAndNetwork",
        &[
            "logs:DescribeLogGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeRouteTables",
            "ec2:DescribeVpcEndpoints",
        ],
        vec!["*".to_string()],
    ));
    out
}

/// The ARNs IAM matches for secrets: shared with verify's permission checks.
pub use crate::verify::secrets::{secret_resource, secrets_manager_resource};

#[cfg(test)]
mod tests;
