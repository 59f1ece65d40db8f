//! Permissions, by `iam:SimulatePrincipalPolicy`: what each role must be allowed for a
//! schedule to start its task and for ECS to start its containers, asked of IAM — which
//! weighs the role's identity policies, its permissions boundary and the organization's
//! SCPs, but not resource policies (an ECR repository's, a secret's, a KMS key's).
//!
//! Pure. [`target_checks`] and [`family_checks`] list what each role needs, [`requests`]
//! batches those needs into a few simulations per role, [`read`] files IAM's answers by
//! `(role, action, resource)`, and [`outcome`] turns a check's answers into its line: a
//! deny nothing else could grant fails; one a resource policy could grant, or one IAM could
//! not decide without context verify does not have, is a warning.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Facts, Outcome, TargetSpec, TaskTags, containers, secrets};
use crate::aws::Lookup;
use crate::aws::iam::{Decided, Evaluation, Simulation, role_name};

/// The service a task's roles are passed to.
pub const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// A task id in the ARNs simulated for things that do not exist yet (the task RunTask
/// starts, its log streams): IAM matches the patterns of the policies against it.
const TASK_ID: &str = "0123456789abcdef0123456789abcdef";

/// Who, besides the role's own policies, could allow an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Nothing else: a deny is certain (`fail`).
    RoleOnly,
    /// A resource policy verify cannot read could allow it (`warn`), named here.
    ResourcePolicy(&'static str),
    /// Whether AWS asks this at all is not certain (`warn`), and why.
    Uncertain(&'static str),
}

/// One permission a role needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// The role's ARN: the simulation's `PolicySourceArn`.
    pub role: String,
    pub action: &'static str,
    /// The ARNs simulated; allowed when IAM allows any one of them.
    pub resources: Vec<String>,
    /// The statement to add: its `Resource` (a pattern) and `Condition`.
    pub grant_resource: String,
    pub condition: Option<Value>,
    /// The request context AWS sends with the call (`ecs:cluster`, `iam:PassedToService`).
    pub context: Vec<(&'static str, String)>,
    /// The region the call is made in, where its resource does not say (IAM's role ARNs,
    /// `*`): `aws:RequestedRegion`.
    pub region: String,
    pub grant: Grant,
}

impl Need {
    /// The whole request context simulated: the need's own keys, plus the global keys every
    /// request carries that SCPs and policies commonly test — `aws:PrincipalArn` (the role)
    /// and `aws:RequestedRegion` (its resource's region, else [`Need::region`]). Without
    /// them a region-deny SCP would read as a deny.
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
    pub fn simulated_context(&self) -> BTreeMap<String, String> {
        let mut context: BTreeMap<String, String> = self
            .context
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        context.insert("aws:PrincipalArn".into(), self.role.clone());
        let region = self
            .resources
            .iter()
            .map(|r| arn_parts(r).1)
            .find(|r| !r.is_empty())
            .unwrap_or(self.region.as_str());
        if !region.is_empty() {
            context.insert("aws:RequestedRegion".into(), region.to_string());
        }
        context
    }
}

/// A context as the answers are keyed by it.
pub fn context_key(context: &BTreeMap<String, String>) -> String {
    context
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where an answer is filed: `(role ARN, action in lower case, resource, context key)`.
pub type AnswerKey = (String, String, String, String);

/// Whose permissions a check is about: what breaks when one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The role EventBridge or Scheduler starts the task with.
    Target,
    /// The task's execution role, which ECS pulls, logs and reads secrets with.
    Execution,
}

/// One line of the report: a few needs of one role.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub label: String,
    pub whose: Whose,
    pub needs: Vec<Need>,
    /// What verify could not read to know every need: warnings of their own.
    pub unknown: Vec<String>,
}

/// IAM's answer for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub decided: Decided,
    /// `AllowedByOrganizations` was false: an SCP denies it.
    pub denied_by_organizations: bool,
}

/// Everything the simulations answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    /// By role, action, resource and the context simulated: two checks of one role that
    /// differ only in context (a cluster, a service) are answered apart.
    pub answers: BTreeMap<AnswerKey, Answer>,
    /// Roles jobdeploy may not simulate (AccessDenied): one warning for all of them.
    pub denied: BTreeSet<String>,
    /// Roles IAM would not simulate, with its message.
    pub refused: BTreeMap<String, String>,
}

/// `(partition, region, account)` of an ARN; empty parts where it has none.
fn arn_parts(arn: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    (part(1), part(3), part(4))
}

/// The ARN of a role the template or target names (by ARN, or by name when GetRole found
/// it); `None` when it does not exist or cannot be known.
fn resolve_role(facts: &Facts, given: &str) -> Option<String> {
    match facts.roles.get(given) {
        Some(Lookup::Missing) => None,
        Some(Lookup::Found(role)) if role.arn.starts_with("arn:") => Some(role.arn.clone()),
        _ => given.starts_with("arn:").then(|| given.to_string()),
    }
}

fn condition(operator: &str, key: &str, value: &str) -> Option<Value> {
    Some(json!({ operator: { key: value } }))
}

/// What the role of a rule target or schedule needs to start its task: `ecs:RunTask` on
/// the revision it will run, `iam:PassRole` on the task's roles, `ecs:TagResource` when the
/// task is tagged.
///
/// EventBridge's role: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/CWE_IAM_role.html
/// ("you must add iam:PassRole permissions for each task execution role, task role, or task
/// role override"). Tagging on RunTask:
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
/// ("The ecs:TagResource action is only evaluated if tags are applied during the resource
/// creation action"). RunTask authorizes the revision's full ARN ("On March 21, 2024, a
/// change was made to resolve the task definition revision before authorization"; "you must
/// either specify a specific revision, or all revisions in the ARN", `family:*`):
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html.
pub fn target_checks(target: &TargetSpec, body: Option<&Value>, facts: &Facts) -> Vec<Check> {
    let Some(role) = target
        .role_arn
        .as_deref()
        .and_then(|r| resolve_role(facts, r))
    else {
        return Vec::new();
    };
    let name = role_name(&role).to_string();
    let cluster = target.cluster.clone().unwrap_or_default();
    let (partition, region, account) = arn_parts(&cluster);
    let ecs = format!("arn:{partition}:ecs:{region}:{account}:");
    let mut out = Vec::new();
    if let Some(revision) = &target.start.revision_arn {
        let tail = revision
            .rsplit_once("task-definition/")
            .map_or(revision.as_str(), |(_, t)| t);
        let family = tail.rsplit_once(':').map_or(tail, |(f, _)| f);
        let prefix = revision
            .rsplit_once("task-definition/")
            .map_or(ecs.clone(), |(p, _)| p.to_string());
        out.push(Check {
            label: format!("role {name} ecs:RunTask {tail}"),
            whose: Whose::Target,
            unknown: Vec::new(),
            needs: vec![Need {
                role: role.clone(),
                action: "ecs:RunTask",
                resources: vec![revision.clone()],
                grant_resource: format!("{prefix}task-definition/{family}:*"),
                condition: condition("ArnEquals", "ecs:cluster", &cluster),
                context: vec![("ecs:cluster", cluster.clone())],
                region: region.to_string(),
                grant: Grant::RoleOnly,
            }],
        });
    }
    let mut passed: Vec<String> = body
        .into_iter()
        .flat_map(|b| {
            ["taskRoleArn", "executionRoleArn"]
                .into_iter()
                .filter_map(move |k| b.get(k).and_then(Value::as_str))
        })
        .chain(target.start.input_roles.iter().map(String::as_str))
        .filter_map(|r| resolve_role(facts, r))
        .collect();
    passed.sort();
    passed.dedup();
    if !passed.is_empty() {
        let names: Vec<&str> = passed.iter().map(|r| role_name(r)).collect();
        out.push(Check {
            label: format!("role {name} iam:PassRole {}", names.join(", ")),
            whose: Whose::Target,
            unknown: Vec::new(),
            needs: passed
                .iter()
                .map(|passed| Need {
                    role: role.clone(),
                    action: "iam:PassRole",
                    resources: vec![passed.clone()],
                    grant_resource: passed.clone(),
                    condition: condition("StringEquals", "iam:PassedToService", ECS_TASKS),
                    context: vec![("iam:PassedToService", ECS_TASKS.to_string())],
                    region: region.to_string(),
                    grant: Grant::RoleOnly,
                })
                .collect(),
        });
    }
    let grant = match target.start.tags {
        TaskTags::None => None,
        TaskTags::Tagged => Some(Grant::RoleOnly),
        TaskTags::ManagedOnly => Some(Grant::Uncertain(text::MANAGED_TAGS)),
    };
    if let Some(grant) = grant
        && !cluster.is_empty()
    {
        let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
        out.push(Check {
            label: format!("role {name} ecs:TagResource (the target tags its tasks)"),
            whose: Whose::Target,
            unknown: Vec::new(),
            needs: vec![Need {
                role: role.clone(),
                action: "ecs:TagResource",
                resources: vec![format!("{ecs}task/{cluster_name}/{TASK_ID}")],
                grant_resource: format!("{ecs}task/{cluster_name}/*"),
                condition: condition("StringEquals", "ecs:CreateAction", "RunTask"),
                context: vec![("ecs:CreateAction", "RunTask".to_string())],
                region: region.to_string(),
                grant,
            }],
        });
    }
    out
}

/// What a task definition's execution role needs for ECS to start its containers: pull
/// each ECR image, write each awslogs group, read each secret.
///
/// The execution role: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html.
/// CloudWatch Logs checks `logs:CreateLogStream` and `logs:PutLogEvents` against the
/// log-stream ARN `arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}`
/// and `logs:CreateLogGroup` against the log group's:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
/// (both the group ARN and its `:*` form are in use, per
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html,
/// so either allowed is enough). awslogs names a stream `prefix/container/task-id`.
pub fn family_checks(body: &Value, on_fargate: bool, region: &str, facts: &Facts) -> Vec<Check> {
    let Some(role) = body
        .get("executionRoleArn")
        .and_then(Value::as_str)
        .and_then(|r| resolve_role(facts, r))
    else {
        return Vec::new();
    };
    let name = role_name(&role).to_string();
    let (partition, _, account) = arn_parts(&role);
    // On EC2 the container instance's role may do the pulling and the logging.
    let pull_and_log = if on_fargate {
        Grant::RoleOnly
    } else {
        Grant::Uncertain(text::ON_EC2)
    };
    let mut checks: BTreeMap<String, Check> = BTreeMap::new();
    let mut add = |label: String, needs: Vec<Need>, unknown: Vec<String>| {
        checks.entry(label.clone()).or_insert(Check {
            label,
            whose: Whose::Execution,
            needs,
            unknown,
        });
    };
    let need = |action: &'static str, resources: Vec<String>, grant_resource: String, grant| Need {
        role: role.clone(),
        action,
        resources,
        grant_resource,
        condition: None,
        context: Vec::new(),
        region: region.to_string(),
        grant,
    };
    for (container, c) in containers(body) {
        let repository = c
            .get("image")
            .and_then(Value::as_str)
            .and_then(|i| crate::image::ImageRef::parse(i).ok())
            .and_then(|i| i.ecr());
        if let Some(repo) = repository {
            let arn = format!(
                "arn:{partition}:ecr:{}:{}:repository/{}",
                repo.region, repo.account, repo.repository
            );
            let policy = match pull_and_log {
                Grant::RoleOnly => Grant::ResourcePolicy(text::REPOSITORY_POLICY),
                other => other,
            };
            add(
                format!("execution role {name} pulls {}", repo.repository),
                vec![
                    need(
                        "ecr:GetAuthorizationToken",
                        vec!["*".into()],
                        "*".into(),
                        pull_and_log,
                    ),
                    need("ecr:BatchGetImage", vec![arn.clone()], arn.clone(), policy),
                    need("ecr:GetDownloadUrlForLayer", vec![arn.clone()], arn, policy),
                ],
                Vec::new(),
            );
        }
        if c.pointer("/logConfiguration/logDriver")
            .and_then(Value::as_str)
            == Some("awslogs")
        {
            let option = |k: &str| {
                c.pointer("/logConfiguration/options")
                    .and_then(|o| o.get(k))
                    .and_then(Value::as_str)
            };
            let Some(group) = option("awslogs-group") else {
                continue;
            };
            let in_region = option("awslogs-region").unwrap_or(region);
            let group_arn = format!("arn:{partition}:logs:{in_region}:{account}:log-group:{group}");
            let stream = match option("awslogs-stream-prefix") {
                Some(prefix) => format!("{prefix}/{container}/{TASK_ID}"),
                None => TASK_ID.to_string(),
            };
            let stream_arn = format!("{group_arn}:log-stream:{stream}");
            let streams = format!("{group_arn}:log-stream:*");
            let mut needs = vec![
                need(
                    "logs:CreateLogStream",
                    vec![stream_arn.clone()],
                    streams.clone(),
                    pull_and_log,
                ),
                need("logs:PutLogEvents", vec![stream_arn], streams, pull_and_log),
            ];
            if option("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                needs.push(need(
                    "logs:CreateLogGroup",
                    vec![group_arn.clone(), format!("{group_arn}:*")],
                    format!("{group_arn}:*"),
                    pull_and_log,
                ));
            }
            add(
                format!("execution role {name} writes log group {group} ({in_region})"),
                needs,
                Vec::new(),
            );
        }
    }
    for source in secrets::sources(body, region) {
        let (given, secret_region) = match source {
            secrets::Source::Parameter {
                name: param,
                region,
            } => {
                let arn = secrets::secret_resource(&param, partition, &region, account);
                let (_, _, owner) = arn_parts(&arn);
                let grant = if owner == account {
                    Grant::RoleOnly
                } else {
                    Grant::ResourcePolicy(text::SHARED_PARAMETER)
                };
                let mut needs = vec![need(
                    "ssm:GetParameters",
                    vec![arn.clone()],
                    arn.clone(),
                    grant,
                )];
                let mut unknown = Vec::new();
                // A SecureString under a customer managed key: ECS reads it decrypted, so
                // the role needs kms:Decrypt on the key ("Any principal that retrieves the
                // decrypted value must have kms:Decrypt permission on that key":
                // https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html).
                // The AWS managed key (alias/aws/ssm) lets every principal of the account
                // decrypt. Only this account's parameters are described.
                if owner == account {
                    match facts.parameter_keys.get(&region) {
                        Some(Lookup::Found(keys)) => {
                            let key = secrets::parameter_names(&param)
                                .iter()
                                .find_map(|n| keys.get(n))
                                .and_then(|k| key_arn(k, &arn));
                            if let Some(key) = key {
                                let mut decrypt = need(
                                    "kms:Decrypt",
                                    vec![key.clone()],
                                    key,
                                    Grant::ResourcePolicy(text::KEY_POLICY),
                                );
                                decrypt.context =
                                    vec![("kms:ViaService", format!("ssm.{region}.amazonaws.com"))];
                                needs.push(decrypt);
                            }
                        }
                        Some(Lookup::Denied(permission)) => {
                            unknown.push(text::key_unknown(&param, permission));
                        }
                        _ => {}
                    }
                }
                add(
                    format!("execution role {name} reads parameter {param}"),
                    needs,
                    unknown,
                );
                continue;
            }
            secrets::Source::Secret { arn, region, .. } => (arn, region),
            // A `/aws/reference/secretsmanager/` parameter: SSM hands out the secret only
            // to a caller the secret's own permissions let read it
            // (https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html:
            // "Parameter Store honors IAM policies attached to Secrets Manager secrets").
            secrets::Source::Reference { secret, region, .. } => (secret, region),
        };
        let described = facts
            .secret_meta
            .get(&(secret_region.clone(), given.clone()))
            .cloned()
            .unwrap_or_default();
        let grant_resource =
            secrets::secrets_manager_resource(&given, partition, &secret_region, account);
        let Some(arn) = described
            .arn
            .clone()
            .or_else(|| given.starts_with("arn:").then(|| given.clone()))
        else {
            continue;
        };
        let mut needs = vec![need(
            "secretsmanager:GetSecretValue",
            vec![arn.clone()],
            grant_resource,
            Grant::ResourcePolicy(text::SECRET_POLICY),
        )];
        if let Some(key) = described
            .kms_key_id
            .as_deref()
            .and_then(|k| key_arn(k, &arn))
        {
            let mut decrypt = need(
                "kms:Decrypt",
                vec![key.clone()],
                key,
                Grant::ResourcePolicy(text::KEY_POLICY),
            );
            // Secrets Manager decrypts on the caller's behalf.
            decrypt.context = vec![(
                "kms:ViaService",
                format!("secretsmanager.{secret_region}.amazonaws.com"),
            )];
            needs.push(decrypt);
        }
        let short = given
            .rsplit_once(":secret:")
            .map_or(given.as_str(), |(_, n)| n);
        add(
            format!("execution role {name} reads secret {short}"),
            needs,
            Vec::new(),
        );
    }
    checks.into_values().collect()
}

/// The ARN of a customer managed key as DescribeSecret or DescribeParameters names it (a key
/// ARN or id; an alias cannot be simulated, and `alias/aws/secretsmanager` and
/// `alias/aws/ssm` are AWS's own keys), in the account and region of `secret_arn`.
fn key_arn(key: &str, secret_arn: &str) -> Option<String> {
    if key.contains(":key/") {
        return Some(key.to_string());
    }
    if key.contains("alias/") {
        return None;
    }
    let (partition, region, account) = arn_parts(secret_arn);
    Some(format!("arn:{partition}:kms:{region}:{account}:key/{key}"))
}

/// The simulations that answer `needs`: one per role and context (needs with the same
/// context map, globals included, share one; a key one need sends must not leak into
/// another's evaluation), each with every action and every resource of its needs — IAM
/// evaluates each action on each resource and answers per resource.
pub fn requests<'a>(needs: impl IntoIterator<Item = &'a Need>) -> Vec<Simulation> {
    let mut batches: BTreeMap<(String, BTreeMap<String, String>), Batch> = BTreeMap::new();
    for need in needs {
        let batch = batches
            .entry((need.role.clone(), need.simulated_context()))
            .or_default();
        batch.actions.insert(need.action);
        batch.resources.extend(need.resources.iter().cloned());
    }
    batches
        .into_iter()
        .map(|((role, context), b)| Simulation {
            role,
            actions: b.actions.into_iter().map(str::to_string).collect(),
            resources: b.resources.into_iter().collect(),
            context: context.into_iter().collect(),
        })
        .collect()
}

#[derive(Default)]
struct Batch {
    actions: BTreeSet<&'static str>,
    resources: BTreeSet<String>,
}

/// IAM's answers to `question`, by `(role, action, resource)`. Read per resource
/// (`ResourceSpecificResults`) where IAM gives them; else the action's own result, which is
/// either one resource's (older answers name it in `EvalResourceName`) or the most
/// restrictive across all of them.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
pub fn read(question: &Simulation, evaluations: &[Evaluation]) -> Vec<(AnswerKey, Answer)> {
    let mut out = Vec::new();
    let context = context_key(&question.context.iter().cloned().collect());
    for e in evaluations {
        let denied_by_organizations = e.allowed_by_organizations == Some(false);
        let key = |resource: &str| {
            (
                question.role.clone(),
                e.action.to_ascii_lowercase(),
                resource.to_string(),
                context.clone(),
            )
        };
        let answer = |decided: &Decided| Answer {
            decided: decided.clone(),
            denied_by_organizations: denied_by_organizations && decided.decision != "allowed",
        };
        if !e.resources.is_empty() {
            for (resource, decided) in &e.resources {
                out.push((key(resource), answer(decided)));
            }
        } else if let Some(resource) = e
            .resource
            .as_deref()
            .filter(|r| question.resources.iter().any(|q| q == r))
        {
            out.push((key(resource), answer(&e.top)));
        } else {
            for resource in &question.resources {
                out.push((key(resource), answer(&e.top)));
            }
        }
    }
    out
}

/// Why IAM said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A Deny statement, in these policies.
    Denied(Vec<String>),
    /// A service control policy of the organization.
    Organizations,
    /// The role's permissions boundary does not allow it.
    Boundary,
    /// No statement allows it.
    NotAllowed,
}

fn cause(answer: &Answer) -> Cause {
    if answer.denied_by_organizations {
        Cause::Organizations
    } else if answer.decided.decision == "explicitDeny" {
        Cause::Denied(answer.decided.policies.clone())
    } else if answer.decided.allowed_by_boundary == Some(false) {
        Cause::Boundary
    } else {
        Cause::NotAllowed
    }
}

/// The line of one check: `None` when its role could not be simulated for want of
/// permission (one warning says so for all such roles).
pub fn outcome(check: &Check, permissions: &Permissions) -> Option<Outcome> {
    if check
        .needs
        .iter()
        .all(|n| permissions.denied.contains(&n.role))
    {
        return None;
    }
    if let Some((role, message)) = check
        .needs
        .iter()
        .find_map(|n| permissions.refused.get_key_value(&n.role))
    {
        return Some(Outcome::Warn {
            problem: text::refused(role_name(role), message),
        });
    }
    let mut fails: Vec<(String, String)> = Vec::new();
    let mut warns: Vec<String> = check.unknown.clone();
    let mut simulated = false;
    for need in &check.needs {
        let context = context_key(&need.simulated_context());
        let answers: Vec<&Answer> = need
            .resources
            .iter()
            .filter_map(|r| {
                permissions.answers.get(&(
                    need.role.clone(),
                    need.action.to_ascii_lowercase(),
                    r.clone(),
                    context.clone(),
                ))
            })
            .collect();
        let Some(answer) = answers
            .iter()
            .find(|a| a.decided.decision == "allowed")
            .or(answers.first())
        else {
            continue;
        };
        simulated = true;
        let role = role_name(&need.role);
        let resource = need.resources.first().map_or("*", String::as_str);
        let missing = &answer.decided.missing_context;
        if answer.decided.decision == "allowed" {
            if !missing.is_empty() {
                warns.push(text::allowed_with_missing_context(
                    role,
                    need.action,
                    resource,
                    missing,
                ));
            }
            continue;
        }
        let statement = text::statement(need.action, &need.grant_resource, need.condition.as_ref());
        let cause = cause(answer);
        let (problem, fix) = text::denied(role, need.action, resource, &cause, &statement);
        if !missing.is_empty() {
            warns.push(text::undecided(role, need.action, resource, missing, &fix));
            continue;
        }
        // An SCP may test what a simulation cannot supply (the caller's tags, its source,
        // the time), so its deny is not certain: a warning.
        let grant = if cause == Cause::Organizations {
            Grant::Uncertain(text::ORGANIZATIONS)
        } else {
            need.grant
        };
        match grant {
            Grant::RoleOnly => fails.push((problem, fix)),
            Grant::ResourcePolicy(policy) => {
                warns.push(text::unless_resource_policy(&problem, policy, &fix));
            }
            Grant::Uncertain(why) => warns.push(text::uncertain(&problem, why, &fix)),
        }
    }
    if !simulated {
        return Some(Outcome::Skipped {
            why: text::NOT_SIMULATED.to_string(),
        });
    }
    Some(if !fails.is_empty() {
        let (problems, fixes): (Vec<String>, Vec<String>) = fails.into_iter().unzip();
        Outcome::Fail {
            problem: text::fail_problem(&problems, &warns, check.whose),
            fix: fixes.join("; "),
        }
    } else if !warns.is_empty() {
        Outcome::Warn {
            problem: warns.join("; "),
        }
    } else {
        Outcome::Ok
    })
}

pub mod text;

#[cfg(test)]
mod tests;
