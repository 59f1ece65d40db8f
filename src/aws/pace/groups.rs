//! The quota groups AWS meters calls in, their documented quotas, and `[aws.quotas]`.

use serde::{Deserialize, Serialize};

/// A group of API calls that AWS meters with one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// EventBridge control plane: every EventBridge call jobdeploy makes shares one budget.
    Eventbridge,
    /// EventBridge Scheduler: GetSchedule, UpdateSchedule, ListSchedules.
    Scheduler,
    /// ECS RegisterTaskDefinition and DeregisterTaskDefinition.
    EcsTaskDefinitionWrites,
    /// ECS DescribeTaskDefinition, ListTaskDefinitions, ListTagsForResource, DescribeClusters.
    EcsReads,
    /// ECS TagResource: at the first deploy, the revisions the targets ran become release
    /// `adopted`.
    EcsTagging,
    /// ECR DescribeImages.
    Ecr,
    /// CloudWatch Logs GetLogEvents: `run` follows a task's log streams.
    Logs,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Eventbridge,
        Group::Scheduler,
        Group::EcsTaskDefinitionWrites,
        Group::EcsReads,
        Group::EcsTagging,
        Group::Ecr,
        Group::Logs,
    ];

    /// The key in `[aws.quotas]`.
    pub fn key(self) -> &'static str {
        match self {
            Group::Eventbridge => "eventbridge",
            Group::Scheduler => "scheduler",
            Group::EcsTaskDefinitionWrites => "ecs_task_definition_writes",
            Group::EcsReads => "ecs_reads",
            Group::EcsTagging => "ecs_tagging",
            Group::Ecr => "ecr",
            Group::Logs => "logs",
        }
    }

    /// The documented default quota (calls per second, burst) of a new account.
    pub fn default_quota(self) -> Quota {
        match self {
            // EventBridge: 50 TPS for the control-plane APIs, shared per account and region.
            Group::Eventbridge => Quota::new(50.0, 50.0),
            // Scheduler: 50 TPS for Get/Update/ListSchedules on older accounts (newer: more).
            Group::Scheduler => Quota::new(50.0, 50.0),
            // ECS: RegisterTaskDefinition / DeregisterTaskDefinition 1/s, burst 20.
            Group::EcsTaskDefinitionWrites => Quota::new(1.0, 20.0),
            // ECS task-definition and cluster reads: 20/s, burst 50.
            Group::EcsReads => Quota::new(20.0, 50.0),
            // ECS TagResource / UntagResource: 10/s, burst 20.
            Group::EcsTagging => Quota::new(10.0, 20.0),
            // ECR publishes no rate for DescribeImages; a run makes one or two calls.
            Group::Ecr => Quota::new(10.0, 10.0),
            // CloudWatch Logs GetLogEvents: 25 TPS per account and region (adjustable).
            Group::Logs => Quota::new(25.0, 25.0),
        }
    }
}

/// A rate in calls per second and the burst the bucket holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quota {
    pub rate: f64,
    pub burst: f64,
}

impl Quota {
    pub const fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst }
    }
}

/// `[aws.quotas]` in jobdeploy.toml: a rate (`eventbridge = 25`) or a rate and a burst
/// (`eventbridge = { rate = 25, burst = 10 }`) per group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverrides {
    pub eventbridge: Option<QuotaSetting>,
    pub scheduler: Option<QuotaSetting>,
    pub ecs_task_definition_writes: Option<QuotaSetting>,
    pub ecs_reads: Option<QuotaSetting>,
    pub ecs_tagging: Option<QuotaSetting>,
    pub ecr: Option<QuotaSetting>,
    pub logs: Option<QuotaSetting>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum QuotaSetting {
    Rate(f64),
    Full {
        rate: f64,
        #[serde(default)]
        burst: Option<f64>,
    },
}

impl QuotaOverrides {
    fn get(&self, group: Group) -> Option<QuotaSetting> {
        match group {
            Group::Eventbridge => self.eventbridge,
            Group::Scheduler => self.scheduler,
            Group::EcsTaskDefinitionWrites => self.ecs_task_definition_writes,
            Group::EcsReads => self.ecs_reads,
            Group::EcsTagging => self.ecs_tagging,
            Group::Ecr => self.ecr,
            Group::Logs => self.logs,
        }
    }

    /// The quota in force for `group`: the override, else the default. A rate without a
    /// burst keeps the default burst, capped at the rate's one second when it is lower.
    pub fn quota(&self, group: Group) -> Quota {
        let default = group.default_quota();
        match self.get(group) {
            None => default,
            Some(QuotaSetting::Rate(rate)) => Quota::new(rate, default.burst.min(rate.max(1.0))),
            Some(QuotaSetting::Full { rate, burst }) => Quota::new(
                rate,
                burst.unwrap_or_else(|| default.burst.min(rate.max(1.0))),
            ),
        }
    }

    /// Every override must be a positive, finite number: a problem per key, for messages.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for group in Group::ALL {
            let Some(setting) = self.get(group) else {
                continue;
            };
            let (rate, burst) = match setting {
                QuotaSetting::Rate(rate) => (rate, None),
                QuotaSetting::Full { rate, burst } => (rate, burst),
            };
            let key = group.key();
            if !(rate.is_finite() && rate > 0.0) {
                problems.push(format!(
                    "`aws.quotas.{key}` rate must be a positive number of calls per second, not {rate}"
                ));
            }
            if let Some(burst) = burst
                && !(burst.is_finite() && burst >= 1.0)
            {
                problems.push(format!(
                    "`aws.quotas.{key}` burst must be at least 1, not {burst}"
                ));
            }
        }
        problems
    }
}
