//! `verify`: the misconfigurations that make a batch job fail when its schedule fires, read
//! from the account before anything is written.
//!
//! Two halves. [`gather`] reads (AWS, concurrently, paced): roles, image manifests,
//! parameters, secrets' metadata, log groups, subnets and routes; then, once the roles'
//! ARNs and the targets' revisions after the deploy are known, asks IAM what each role may
//! do ([`gather::simulate`], [`permissions`]). The checks — one module
//! per family of them — are pure functions from what was read to [`Finding`]s, so every
//! rule is unit-tested without AWS. A read AWS refuses (no permission) becomes a `warn`
//! naming the permission; it never fails the run.

pub mod capacity;
pub mod fargate;
pub mod gather;
pub mod image;
pub mod logs;
pub mod network;
pub mod permissions;
pub mod roles;
pub mod secrets;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::aws::Lookup;
use crate::aws::ec2::{Endpoints, Routes, SecurityGroup, Subnet};
use crate::aws::ecr::Manifest;
use crate::aws::ecs::Cluster;
use crate::aws::iam::Role;
use crate::aws::secretsmanager::{Described, Versions};
use crate::error::Result;
use crate::model::{Owner, Trigger};

/// What a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Roles,
    Image,
    Secrets,
    Logs,
    Network,
    Fargate,
    /// The cluster a target runs on: capacity providers, container instances.
    Capacity,
    /// What is left when a target's invocation fails: its dead-letter queue.
    Delivery,
    /// What a role's policies let it do (`iam:SimulatePrincipalPolicy`).
    Iam,
}

impl Area {
    pub fn word(self) -> &'static str {
        match self {
            Area::Roles => "roles",
            Area::Image => "image",
            Area::Secrets => "secrets",
            Area::Logs => "logs",
            Area::Network => "network",
            Area::Fargate => "fargate",
            Area::Capacity => "capacity",
            Area::Delivery => "delivery",
            Area::Iam => "iam",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The job would fail; `fix` says what to change.
    Fail {
        problem: String,
        fix: String,
    },
    /// Worth a look, or a read jobdeploy was not allowed to make.
    Warn {
        problem: String,
    },
    /// Not checked, and why.
    Skipped {
        why: String,
    },
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Warn { .. } => "warn",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    /// A failure or a warning: worth showing beside a plan.
    pub fn is_note(&self) -> bool {
        matches!(self, Outcome::Fail { .. } | Outcome::Warn { .. })
    }

    fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Outcome::Fail {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// A read AWS refused: a warning naming the permission, not a failure.
    fn denied(permission: &str) -> Self {
        Outcome::Warn {
            problem: format!(
                "not checked: no permission for {permission} (add it: `jobdeploy iam-policy` lists it)"
            ),
        }
    }
}

/// One line of the report: a check of a family (task definition) or of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The family, or the target's label (`bus/rule target ID`, `schedule group/name`).
    pub subject: String,
    pub area: Area,
    /// What was checked: `execution role ecs-task-execution`, `container app image …`.
    pub check: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub ok: usize,
    pub failed: usize,
    pub warnings: usize,
    pub skipped: usize,
}

/// What `verify` reports: every finding, families first (in family order), then targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub totals: Totals,
}

impl Report {
    pub fn new(findings: Vec<Finding>) -> Self {
        let mut totals = Totals::default();
        for f in &findings {
            match f.outcome {
                Outcome::Ok => totals.ok += 1,
                Outcome::Fail { .. } => totals.failed += 1,
                Outcome::Warn { .. } => totals.warnings += 1,
                Outcome::Skipped { .. } => totals.skipped += 1,
            }
        }
        Self { findings, totals }
    }

    pub fn failed(&self) -> bool {
        self.totals.failed > 0
    }

    /// A failure or a warning: what `plan` and `deploy` show (a `skipped` check, such as
    /// the platform of a single-platform image, is in `verify`'s report only).
    pub fn has_notes(&self) -> bool {
        self.findings.iter().any(|f| f.outcome.is_note())
    }

    /// Only the failures and warnings; the totals still count every check.
    pub fn notes(&self) -> Self {
        Self {
            findings: self
                .findings
                .iter()
                .filter(|f| f.outcome.is_note())
                .cloned()
                .collect(),
            totals: self.totals,
        }
    }
}

/// A target as verify reads it: its role, launch settings and network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub label: String,
    /// The service that must be trusted by the target's role.
    pub service: &'static str,
    pub family: String,
    pub role_arn: Option<String>,
    /// The cluster (ARN, as the target's `Arn` names it).
    pub cluster: Option<String>,
    pub launch_type: Option<String>,
    pub capacity_providers: Vec<String>,
    pub platform_version: Option<String>,
    pub network: Option<Awsvpc>,
    /// The dead-letter queue's ARN (`DeadLetterConfig.Arn`), when it has one.
    pub dead_letter: Option<String>,
    /// What the target's RunTask asks of its role.
    pub start: TaskStart,
}

/// Where RunTask places a target's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Launch type FARGATE, or a strategy of FARGATE / FARGATE_SPOT only.
    Fargate,
    /// On container instances: launch type EC2 (or EXTERNAL), a strategy of Auto Scaling
    /// group capacity providers only, or neither on a cluster without a default strategy
    /// (RunTask's default launch type is EC2).
    Instances,
    /// Verify cannot tell: a strategy mixing both, or the cluster's default strategy
    /// unread.
    Unknown,
}

/// Whether a capacity provider is one of Fargate's (the rest are Auto Scaling groups).
pub fn is_fargate_provider(name: &str) -> bool {
    name == "FARGATE" || name == "FARGATE_SPOT"
}

fn runs_on(providers: &[String]) -> Runs {
    if providers.iter().all(|p| is_fargate_provider(p)) {
        Runs::Fargate
    } else if providers.iter().any(|p| is_fargate_provider(p)) {
        Runs::Unknown
    } else {
        Runs::Instances
    }
}

/// What a target's RunTask asks of the target's role: run this revision on this cluster,
/// pass these roles, tag the task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStart {
    /// The task definition revision the target will run after this deploy; set by the
    /// caller, which knows the plan ([`TargetSpec::running`]).
    pub revision_arn: Option<String>,
    /// Whether RunTask will tag the task.
    pub tags: TaskTags,
    /// Role ARNs the target's `Input` overrides pass (`taskRoleArn`, `executionRoleArn`).
    pub input_roles: Vec<String>,
}

/// Whether a target's RunTask tags the task it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskTags {
    #[default]
    None,
    /// `Tags`, or `PropagateTags` (jobdeploy's revisions carry tags).
    Tagged,
    /// Only `EnableECSManagedTags`.
    ManagedOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awsvpc {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// The first of `keys` present: EventBridge and Scheduler spell nested keys differently
/// (`awsvpcConfiguration` / `AwsvpcConfiguration`).
fn field<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| value.get(*k))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl TargetSpec {
    /// From a trigger, the rule target or schedule as read (`raw`), and the family it runs.
    pub fn of(at: &Trigger, raw: &Value, family: &str) -> Self {
        let slot = at.owner.target_of(raw);
        let ecs = slot.get("EcsParameters").unwrap_or(&Value::Null);
        let network = field(ecs, &["NetworkConfiguration", "networkConfiguration"])
            .and_then(|n| field(n, &["awsvpcConfiguration", "AwsvpcConfiguration"]))
            .map(|vpc| Awsvpc {
                subnets: strings(field(vpc, &["Subnets", "subnets"])),
                security_groups: strings(field(vpc, &["SecurityGroups", "securityGroups"])),
                assign_public_ip: field(vpc, &["AssignPublicIp", "assignPublicIp"])
                    .and_then(Value::as_str)
                    == Some("ENABLED"),
            });
        let capacity_providers = field(ecs, &["CapacityProviderStrategy"])
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| field(s, &["capacityProvider", "CapacityProvider"]))
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let tags = ecs
            .get("Tags")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        let propagates = ecs
            .get("PropagateTags")
            .and_then(Value::as_str)
            .is_some_and(|p| p != "NONE");
        let managed = ecs.get("EnableECSManagedTags").and_then(Value::as_bool) == Some(true);
        // An `Input` of RunTask overrides may pass other roles.
        let input: Value = slot
            .get("Input")
            .and_then(Value::as_str)
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or(Value::Null);
        let input_roles = [
            "/taskRoleArn",
            "/executionRoleArn",
            "/overrides/taskRoleArn",
            "/overrides/executionRoleArn",
        ]
        .iter()
        .filter_map(|p| input.pointer(p).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
        Self {
            label: at.label(),
            service: match at.owner {
                Owner::Rule { .. } => "events.amazonaws.com",
                Owner::Schedule { .. } => "scheduler.amazonaws.com",
            },
            family: family.to_string(),
            role_arn: slot
                .get("RoleArn")
                .and_then(Value::as_str)
                .map(str::to_string),
            cluster: slot.get("Arn").and_then(Value::as_str).map(str::to_string),
            dead_letter: slot
                .pointer("/DeadLetterConfig/Arn")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            launch_type: ecs
                .get("LaunchType")
                .and_then(Value::as_str)
                .map(str::to_string),
            capacity_providers,
            platform_version: ecs
                .get("PlatformVersion")
                .and_then(Value::as_str)
                .map(str::to_string),
            network,
            start: TaskStart {
                revision_arn: None,
                tags: if tags || propagates {
                    TaskTags::Tagged
                } else if managed {
                    TaskTags::ManagedOnly
                } else {
                    TaskTags::None
                },
                input_roles,
            },
        }
    }

    /// The same target, running `revision` (a task definition ARN) after the deploy.
    pub fn running(mut self, revision: Option<String>) -> Self {
        self.start.revision_arn = revision;
        self
    }

    /// Where its task runs. A launch type decides; else its own strategy; else the
    /// cluster's default strategy; with none of them, RunTask's default launch type, EC2.
    /// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html>
    /// (`capacityProviderStrategy`: "If no capacityProviderStrategy or launchType is
    /// specified, the defaultCapacityProviderStrategy for the cluster is used").
    pub fn runs(&self, cluster: Option<&Lookup<Cluster>>) -> Runs {
        match self.launch_type.as_deref() {
            Some("FARGATE") => return Runs::Fargate,
            Some(_) => return Runs::Instances,
            None => {}
        }
        if !self.capacity_providers.is_empty() {
            return runs_on(&self.capacity_providers);
        }
        match cluster {
            Some(Lookup::Found(c)) if c.default_strategy.is_empty() => Runs::Instances,
            Some(Lookup::Found(c)) => runs_on(&c.default_strategy),
            _ => Runs::Unknown,
        }
    }
}

/// What is verified: rendered task definitions and the targets that run them.
pub struct Scope<'a> {
    /// `(family, rendered body)` of the families to check.
    pub families: Vec<(&'a str, &'a Value)>,
    pub targets: Vec<TargetSpec>,
    /// Every rendered body by family, checked or not: a target's checks look at the task
    /// definition it runs (its network mode, its cpu).
    pub bodies: BTreeMap<&'a str, &'a Value>,
    /// The deploy's region: the default of `awslogs-region` and of parameter names.
    pub region: String,
}

/// Reads what the scope needs and runs every check: the whole of `verify`.
pub async fn verify(aws: &crate::aws::Aws, scope: &Scope<'_>) -> Result<Report> {
    let mut facts = gather::gather(aws, scope).await?;
    facts.permissions = gather::simulate(aws, scope, &facts).await?;
    Ok(check(scope, &facts))
}

/// Everything read from AWS, keyed the way the checks look it up.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// By role ARN (or name) as the template or target gives it.
    pub roles: BTreeMap<String, Lookup<Role>>,
    /// By image reference as rendered; only ECR images are read.
    pub images: BTreeMap<String, Lookup<Manifest>>,
    /// Per region, the parameter names (as given) GetParameters did not find.
    pub parameters: BTreeMap<String, Lookup<BTreeSet<String>>>,
    /// Per region, the KMS key of each SecureString parameter (by plain name) DescribeParameters
    /// found.
    pub parameter_keys: BTreeMap<String, Lookup<BTreeMap<String, String>>>,
    /// By `(region, secret ARN)`.
    pub secrets: BTreeMap<(String, String), Lookup<Versions>>,
    /// By `(region, log group)`.
    pub log_groups: BTreeMap<(String, String), Lookup<()>>,
    /// Every subnet found, by id; `Denied` when the read was refused.
    pub subnets: Option<Lookup<BTreeMap<String, Subnet>>>,
    /// The targets' security groups, by id (a target's group missing here does not exist).
    pub security_groups: Option<Lookup<BTreeMap<String, SecurityGroup>>>,
    /// The security groups of the VPCs' interface endpoints, by id.
    pub endpoint_groups: Option<Lookup<BTreeMap<String, SecurityGroup>>>,
    /// By subnet id.
    pub routes: BTreeMap<String, Lookup<Routes>>,
    /// By VPC id.
    pub endpoints: BTreeMap<String, Lookup<Endpoints>>,
    /// By cluster, as the targets name it (one DescribeClusters for all of them).
    pub clusters: BTreeMap<String, Lookup<Cluster>>,
    /// By `(region, secret ARN)` as `secrets` is keyed: the full ARN and KMS key.
    pub secret_meta: BTreeMap<(String, String), Described>,
    /// What the simulations answered; `None` when nothing was simulated.
    pub permissions: Option<permissions::Permissions>,
}

impl Facts {
    /// What two gathers read (the families' and the targets', or the first target's and
    /// what the others added), as one. A key both read is the same fact; the lookups by id
    /// are joined, and a refused one on either side stays refused.
    pub fn merge(mut self, other: Facts) -> Facts {
        fn join<T>(
            a: Option<Lookup<BTreeMap<String, T>>>,
            b: Option<Lookup<BTreeMap<String, T>>>,
        ) -> Option<Lookup<BTreeMap<String, T>>> {
            use Lookup::{Denied, Found};
            match (a, b) {
                (Some(Found(mut a)), Some(Found(b))) => {
                    a.extend(b);
                    Some(Found(a))
                }
                (Some(Denied(p)), _) | (_, Some(Denied(p))) => Some(Denied(p)),
                (a, None) => a,
                (_, b) => b,
            }
        }
        self.roles.extend(other.roles);
        self.images.extend(other.images);
        self.parameters.extend(other.parameters);
        self.parameter_keys.extend(other.parameter_keys);
        self.secrets.extend(other.secrets);
        self.log_groups.extend(other.log_groups);
        self.subnets = join(self.subnets, other.subnets);
        self.security_groups = join(self.security_groups, other.security_groups);
        self.endpoint_groups = join(self.endpoint_groups, other.endpoint_groups);
        self.routes.extend(other.routes);
        self.endpoints.extend(other.endpoints);
        self.clusters.extend(other.clusters);
        self.secret_meta.extend(other.secret_meta);
        self.permissions = other.permissions.or(self.permissions);
        self
    }
}

/// Every check of every family and target in `scope`, in report order.
pub fn check(scope: &Scope<'_>, facts: &Facts) -> Report {
    let mut findings = Vec::new();
    let runs = |t: &TargetSpec| t.runs(t.cluster.as_ref().and_then(|c| facts.clusters.get(c)));
    for (family, body) in &scope.families {
        let on_fargate = on_fargate(scope, facts, family, body);
        let mut push = |area: Area, check: String, outcome: Outcome| {
            findings.push(Finding {
                subject: family.to_string(),
                area,
                check,
                outcome,
            });
        };
        for (check, outcome) in roles::task_roles(body, on_fargate, &facts.roles) {
            push(Area::Roles, check, outcome);
        }
        for (check, outcome) in image::check(body, on_fargate, &facts.images) {
            push(Area::Image, check, outcome);
        }
        for (check, outcome) in secrets::check(body, &scope.region, facts) {
            push(Area::Secrets, check, outcome);
        }
        for (check, outcome) in logs::check(body, &scope.region, on_fargate, &facts.log_groups) {
            push(Area::Logs, check, outcome);
        }
        for (check, outcome) in fargate::task(body, on_fargate) {
            push(Area::Fargate, check, outcome);
        }
        if let Some(simulated) = &facts.permissions {
            for c in permissions::family_checks(body, on_fargate, &scope.region, facts) {
                if let Some(outcome) = permissions::outcome(&c, simulated) {
                    push(Area::Iam, c.label, outcome);
                }
            }
        }
    }
    for target in &scope.targets {
        let body = scope.bodies.get(target.family.as_str()).copied();
        let runs = runs(target);
        let mut push = |area: Area, check: String, outcome: Outcome| {
            findings.push(Finding {
                subject: target.label.clone(),
                area,
                check,
                outcome,
            });
        };
        let (check, outcome) = roles::target_role(target, &facts.roles);
        push(Area::Roles, check, outcome);
        for (check, outcome) in network::check(target, runs, body, &scope.region, facts) {
            push(Area::Network, check, outcome);
        }
        for (check, outcome) in fargate::target(target, runs, body) {
            push(Area::Fargate, check, outcome);
        }
        for (check, outcome) in capacity::check(target, runs, &facts.clusters) {
            push(Area::Capacity, check, outcome);
        }
        let (check, outcome) = capacity::dead_letter(target);
        push(Area::Delivery, check, outcome);
        if let Some(simulated) = &facts.permissions {
            for c in permissions::target_checks(target, body, facts) {
                if let Some(outcome) = permissions::outcome(&c, simulated) {
                    push(Area::Iam, c.label, outcome);
                }
            }
        }
    }
    // Roles jobdeploy may not simulate: one warning for the run, not one per check.
    if let Some(simulated) = facts.permissions.as_ref().filter(|p| !p.denied.is_empty()) {
        let roles: Vec<&str> = simulated
            .denied
            .iter()
            .map(|r| crate::aws::iam::role_name(r))
            .collect();
        findings.push(Finding {
            subject: "IAM permissions".to_string(),
            area: Area::Iam,
            check: "iam:SimulatePrincipalPolicy".to_string(),
            outcome: Outcome::Warn {
                problem: permissions::text::simulation_denied(&roles),
            },
        });
    }
    Report::new(findings)
}

/// Whether a family's tasks run on Fargate: its template requires it, or a target of the
/// scope runs it there.
fn on_fargate(scope: &Scope<'_>, facts: &Facts, family: &str, body: &Value) -> bool {
    fargate::requires_fargate(body)
        || scope.targets.iter().any(|t| {
            t.family == family
                && t.runs(t.cluster.as_ref().and_then(|c| facts.clusters.get(c))) == Runs::Fargate
        })
}

/// Every permission check of the scope, families first: what [`gather`] simulates.
pub fn permission_checks(scope: &Scope<'_>, facts: &Facts) -> Vec<permissions::Check> {
    let mut out = Vec::new();
    for (family, body) in &scope.families {
        out.extend(permissions::family_checks(
            body,
            on_fargate(scope, facts, family, body),
            &scope.region,
            facts,
        ));
    }
    for target in &scope.targets {
        let body = scope.bodies.get(target.family.as_str()).copied();
        out.extend(permissions::target_checks(target, body, facts));
    }
    out
}

/// The containers of a task definition body.
pub(crate) fn containers(body: &Value) -> impl Iterator<Item = (&str, &Value)> {
    body.get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| (c.get("name").and_then(Value::as_str).unwrap_or("?"), c))
}

#[cfg(test)]
mod tests;
