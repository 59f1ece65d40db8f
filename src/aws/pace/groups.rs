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
    /// ECR DescribeImages and BatchGetImage.
    Ecr,
    /// CloudWatch Logs reads: GetLogEvents (`run` follows a task's log streams) and
    /// DescribeLogGroups (`verify`).
    Logs,
    /// IAM GetRole (`verify`).
    Iam,
    /// SSM Parameter Store GetParameters (`verify`).
    Ssm,
    /// Secrets Manager DescribeSecret (`verify`).
    SecretsManager,
    /// EC2 DescribeSubnets, DescribeSecurityGroups, DescribeRouteTables,
    /// DescribeVpcEndpoints (`verify`).
    Ec2,
    /// CloudWatch GetMetricData (`runs`).
    Cloudwatch,
    /// SQS GetQueueAttributes (`runs`: dead-letter queue depth).
    Sqs,
    /// CloudFormation DescribeStackResources (`init`: which stack owns a schedule).
    Cloudformation,
}

impl Group {
    pub const ALL: [Group; 14] = [
        Group::Eventbridge,
        Group::Scheduler,
        Group::EcsTaskDefinitionWrites,
        Group::EcsReads,
        Group::EcsTagging,
        Group::Ecr,
        Group::Logs,
        Group::Iam,
        Group::Ssm,
        Group::SecretsManager,
        Group::Ec2,
        Group::Cloudwatch,
        Group::Sqs,
        Group::Cloudformation,
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
            Group::Iam => "iam",
            Group::Ssm => "ssm",
            Group::SecretsManager => "secrets_manager",
            Group::Ec2 => "ec2",
            Group::Cloudwatch => "cloudwatch",
            Group::Sqs => "sqs",
            Group::Cloudformation => "cloudformation",
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
            // CloudWatch Logs meters each API on its own: GetLogEvents 25 TPS,
            // DescribeLogGroups 10 TPS per account and region. One bucket at the lower rate:
            // a run reads a stream or two per poll, verify a group per family.
            Group::Logs => Quota::new(10.0, 10.0),
            // IAM publishes no per-action rate for GetRole; a run reads a few roles, and IAM
            // is global, so another tool's traffic shares it: kept low.
            Group::Iam => Quota::new(10.0, 10.0),
            // Parameter Store standard throughput: 40 TPS shared by GetParameter,
            // GetParameters and GetParametersByPath.
            Group::Ssm => Quota::new(40.0, 40.0),
            // Secrets Manager: DescribeSecret and GetSecretValue share 10,000 TPS; a run
            // makes a call per secret, so 50 is ample and leaves the budget to the apps.
            Group::SecretsManager => Quota::new(50.0, 50.0),
            // EC2 non-mutating (Describe*) actions: a bucket of 100, refilled at 20/s.
            Group::Ec2 => Quota::new(20.0, 100.0),
            // GetMetricData: 50 TPS per account and region, 500 metrics and 100,800 datapoints
            // a call (https://repost.aws/knowledge-center/cloudwatch-getmetricdata-api); `runs`
            // makes one call per 500 metrics.
            Group::Cloudwatch => Quota::new(50.0, 50.0),
            // SQS publishes no rate for GetQueueAttributes: its quotas
            // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-limits.html)
            // meter messages, and standard queues take "a nearly unlimited number of API calls
            // per second, per API action"
            // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/DistributedQueues.html).
            // `runs` reads each dead-letter queue once: kept modest.
            Group::Sqs => Quota::new(20.0, 20.0),
            // CloudFormation publishes no rate for DescribeStackResources, only that calls
            // beyond it fail "Rate exceeded"
            // (https://repost.aws/knowledge-center/cloudformation-rate-exceeded-error): `init`
            // asks once per schedule it adopts, kept modest.
            Group::Cloudformation => Quota::new(5.0, 5.0),
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
    pub iam: Option<QuotaSetting>,
    pub ssm: Option<QuotaSetting>,
    pub secrets_manager: Option<QuotaSetting>,
    pub ec2: Option<QuotaSetting>,
    pub cloudwatch: Option<QuotaSetting>,
    pub sqs: Option<QuotaSetting>,
    pub cloudformation: Option<QuotaSetting>,
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
            Group::Iam => self.iam,
            Group::Ssm => self.ssm,
            Group::SecretsManager => self.secrets_manager,
            Group::Ec2 => self.ec2,
            Group::Cloudwatch => self.cloudwatch,
            Group::Sqs => self.sqs,
            Group::Cloudformation => self.cloudformation,
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
