//! Every AWS call paced to the account's request quotas.
//!
//! AWS meters API calls per account and region in token buckets, one per quota group, shared
//! with every other tool in the account, and answers `ThrottlingException` when a bucket is
//! empty. jobdeploy keeps a bucket of its own per group at the documented rate and burst, so
//! a run spends the budget evenly instead of drawing throttles. When a throttle still comes
//! (another tool is spending the same budget), that group's rate is halved at once and
//! recovers linearly (AIMD), and the throttled call is sent again as soon as the slower bucket
//! has a token for it: no blind sleep that stacks, and no failure while the throttling clears.
//! Transient failures (5xx, timeouts, dropped connections) are retried with capped
//! exponential backoff and full jitter, `AWS_MAX_ATTEMPTS` attempts in all.
//!
//! The bucket is pure (time is an argument), so its arithmetic is unit-tested; [`Pacer`] adds
//! the clock and the sleeping.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
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
    /// IAM GetRole (`verify`).
    Iam,
    /// SSM Parameter Store GetParameters (`verify`).
    Ssm,
    /// Secrets Manager DescribeSecret (`verify`).
    SecretsManager,
    /// CloudWatch Logs DescribeLogGroups (`verify`).
    Logs,
    /// EC2 DescribeSubnets, DescribeSecurityGroups, DescribeRouteTables,
    /// DescribeVpcEndpoints (`verify`).
    Ec2,
}

impl Group {
    pub const ALL: [Group; 11] = [
        Group::Eventbridge,
        Group::Scheduler,
        Group::EcsTaskDefinitionWrites,
        Group::EcsReads,
        Group::EcsTagging,
        Group::Ecr,
        Group::Iam,
        Group::Ssm,
        Group::SecretsManager,
        Group::Logs,
        Group::Ec2,
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
            Group::Iam => "iam",
            Group::Ssm => "ssm",
            Group::SecretsManager => "secrets_manager",
            Group::Logs => "logs",
            Group::Ec2 => "ec2",
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
            // IAM publishes no per-action rate for GetRole; a run reads a few roles, and IAM
            // is global, so another tool's traffic shares it: kept low.
            Group::Iam => Quota::new(10.0, 10.0),
            // Parameter Store standard throughput: 40 TPS shared by GetParameter,
            // GetParameters and GetParametersByPath.
            Group::Ssm => Quota::new(40.0, 40.0),
            // Secrets Manager: DescribeSecret and GetSecretValue share 10,000 TPS; a run
            // makes a call per secret, so 50 is ample and leaves the budget to the apps.
            Group::SecretsManager => Quota::new(50.0, 50.0),
            // CloudWatch Logs DescribeLogGroups: 10 TPS per account and region.
            Group::Logs => Quota::new(10.0, 10.0),
            // EC2 non-mutating (Describe*) actions: a bucket of 100, refilled at 20/s.
            Group::Ec2 => Quota::new(20.0, 100.0),
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
    pub iam: Option<QuotaSetting>,
    pub ssm: Option<QuotaSetting>,
    pub secrets_manager: Option<QuotaSetting>,
    pub logs: Option<QuotaSetting>,
    pub ec2: Option<QuotaSetting>,
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
            Group::Iam => self.iam,
            Group::Ssm => self.ssm,
            Group::SecretsManager => self.secrets_manager,
            Group::Logs => self.logs,
            Group::Ec2 => self.ec2,
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

/// Halve the rate on a throttle…
const DECREASE: f64 = 0.5;
/// …at most once per this many seconds (calls already in flight when the budget ran out
/// come back throttled together: one overload, one decrease)…
const DECREASE_COOLDOWN: f64 = 1.0;
/// …never below this share of the quota, nor below one call per second (so a throttled
/// call waits about a second at most for its next token, even in the 1/s group)…
const FLOOR: f64 = 0.1;
/// …and win back this share of the quota per second without a throttle.
const INCREASE_PER_SECOND: f64 = 0.1;

/// A call that had to wait for its token waits this much longer. Once the burst is spent,
/// AWS's bucket and ours are both empty and each call arrives just as its token does; a call
/// that reaches AWS a few milliseconds sooner than the one before it (connection reuse, the
/// scheduler, a first burst that took a while to connect) would find no token and be
/// throttled, which halves the rate. Shifting every paced call by the same 100 ms leaves
/// AWS's bucket that much ahead of ours (5 tokens at 50/s) for as long as calls keep waiting,
/// at the cost of 100 ms once per such stretch.
const ARRIVAL_SLACK: Duration = Duration::from_millis(100);

/// One quota group's token bucket with its AIMD rate controller. Reservations may take the
/// bucket below zero: a caller is told how long to wait for its token, so waiting callers
/// are served in order without polling.
#[derive(Debug, Clone)]
pub struct Bucket {
    quota: Quota,
    rate: f64,
    tokens: f64,
    /// Seconds (on the caller's clock) when `tokens` and `rate` were last brought up to date.
    updated: f64,
    last_decrease: Option<f64>,
}

impl Bucket {
    /// A full bucket at the quota's rate.
    pub fn new(quota: Quota, now: f64) -> Self {
        Self {
            quota,
            rate: quota.rate,
            tokens: quota.burst,
            updated: now,
            last_decrease: None,
        }
    }

    /// The rate in force now, in calls per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn advance(&mut self, now: f64) {
        let elapsed = (now - self.updated).max(0.0);
        if elapsed == 0.0 {
            return;
        }
        // Additive increase first, over the time since the last update, once the cooldown
        // after a decrease has passed; tokens refill at the mean of the old and new rate.
        let recovering_from = self
            .last_decrease
            .map_or(self.updated, |t| self.updated.max(t + DECREASE_COOLDOWN));
        let recovering = (now - recovering_from).max(0.0);
        let old_rate = self.rate;
        if recovering > 0.0 && self.rate < self.quota.rate {
            self.rate = (self.rate + INCREASE_PER_SECOND * self.quota.rate * recovering)
                .min(self.quota.rate);
        }
        self.tokens = (self.tokens + elapsed * (old_rate + self.rate) / 2.0).min(self.quota.burst);
        self.updated = now;
    }

    /// Takes one token; returns how many seconds to wait before the call may be sent.
    pub fn reserve(&mut self, now: f64) -> f64 {
        self.advance(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            0.0
        } else {
            -self.tokens / self.rate
        }
    }

    /// AWS answered a call of this group with a throttle: the burst is gone, and the rate
    /// halves (once per cooldown, down to the floor).
    pub fn throttled(&mut self, now: f64) {
        self.advance(now);
        self.tokens = self.tokens.min(0.0);
        if self
            .last_decrease
            .is_none_or(|t| now - t >= DECREASE_COOLDOWN)
        {
            let floor = (self.quota.rate * FLOOR).max(self.quota.rate.min(1.0));
            self.rate = (self.rate * DECREASE).max(floor);
            self.last_decrease = Some(now);
        }
    }
}

/// Counts per API operation, for `--verbose` and the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallCount {
    pub group: Group,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Of those, answered with a throttle.
    pub throttled: u64,
    /// Of those, failed transiently (5xx, timeout, dropped connection) and sent again.
    pub retried: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallStats {
    /// By operation name (`PutTargets`), sorted.
    pub operations: BTreeMap<&'static str, CallCount>,
    /// Longest time a call waited for its token after a throttle, in seconds.
    pub longest_wait_after_throttle: f64,
}

impl CallStats {
    /// Requests, throttled, retried: over every operation.
    pub fn total(&self) -> (u64, u64, u64) {
        self.operations.values().fold((0, 0, 0), |(r, t, x), c| {
            (r + c.requests, t + c.throttled, x + c.retried)
        })
    }

    /// Requests of the operations in `group` that AWS answered (not throttled).
    pub fn answered_in(&self, group: Group) -> u64 {
        self.operations
            .values()
            .filter(|c| c.group == group)
            .map(|c| c.requests - c.throttled)
            .sum()
    }
}

/// How a failed attempt is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The quota ran out: wait for a token (at the lowered rate) and send again.
    Throttled,
    /// 5xx, timeout, dropped connection: back off and send again, a bounded number of times.
    Transient,
    /// Anything else: the caller's to handle.
    Final,
}

/// Error codes AWS uses for "slow down".
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
];

/// Codes that mean "try again shortly" without being a quota.
const TRANSIENT_CODES: &[&str] = &[
    "TransactionInProgressException",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Transient
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code();
            let status = service.raw().status();
            if code.is_some_and(|c| THROTTLING_CODES.contains(&c)) || status.as_u16() == 429 {
                Failure::Throttled
            } else if code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) || status.is_server_error()
            {
                Failure::Transient
            } else {
                Failure::Final
            }
        }
        _ => Failure::Final,
    }
}

/// The buckets of every group, the retry policy, and the statistics of one run.
#[derive(Debug)]
pub struct Pacer {
    origin: Instant,
    buckets: Mutex<BTreeMap<Group, Bucket>>,
    stats: Mutex<CallStats>,
    max_attempts: u32,
    throttle_timeout: Duration,
}

impl Pacer {
    pub fn new(
        overrides: &QuotaOverrides,
        max_attempts: u32,
        throttle_timeout: Duration,
    ) -> Arc<Self> {
        let buckets = Group::ALL
            .iter()
            .map(|g| (*g, Bucket::new(overrides.quota(*g), 0.0)))
            .collect();
        Arc::new(Self {
            origin: Instant::now(),
            buckets: Mutex::new(buckets),
            stats: Mutex::default(),
            max_attempts: max_attempts.max(1),
            throttle_timeout,
        })
    }

    fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn with_bucket<T>(&self, group: Group, f: impl FnOnce(&mut Bucket, f64) -> T) -> Option<T> {
        let now = self.now();
        let mut buckets = self.buckets.lock().ok()?;
        buckets.get_mut(&group).map(|b| f(b, now))
    }

    fn count(&self, group: Group, operation: &'static str, f: impl FnOnce(&mut CallCount)) {
        if let Ok(mut stats) = self.stats.lock() {
            f(stats.operations.entry(operation).or_insert(CallCount {
                group,
                requests: 0,
                throttled: 0,
                retried: 0,
            }));
        }
    }

    pub fn stats(&self) -> CallStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits for a token of `group`.
    async fn token(&self, group: Group) -> Duration {
        let wait = self.with_bucket(group, Bucket::reserve).unwrap_or(0.0);
        if wait <= 0.0 {
            return Duration::ZERO;
        }
        let wait = Duration::from_secs_f64(wait) + ARRIVAL_SLACK;
        tokio::time::sleep(wait).await;
        wait
    }

    /// Sends `attempt()` paced in `group`: each attempt waits for a token; throttles lower
    /// the group's rate and are sent again when a token is free, for up to the throttle
    /// timeout; transient failures back off and are sent again up to `max_attempts` times.
    pub async fn call<T, E, F, Fut>(
        &self,
        group: Group,
        operation: &'static str,
        mut attempt: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut transient_failures = 0u32;
        let mut throttled_since: Option<Instant> = None;
        loop {
            let waited = self.token(group).await;
            if throttled_since.is_some()
                && let Ok(mut stats) = self.stats.lock()
            {
                let secs = waited.as_secs_f64();
                if secs > stats.longest_wait_after_throttle {
                    stats.longest_wait_after_throttle = secs;
                }
            }
            self.count(group, operation, |c| c.requests += 1);
            let err = match attempt().await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            match classify(&err) {
                Failure::Throttled => {
                    self.count(group, operation, |c| c.throttled += 1);
                    self.with_bucket(group, Bucket::throttled);
                    let since = *throttled_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.throttle_timeout {
                        return Err(err);
                    }
                }
                Failure::Transient => {
                    transient_failures += 1;
                    if transient_failures >= self.max_attempts {
                        return Err(err);
                    }
                    self.count(group, operation, |c| c.retried += 1);
                    tokio::time::sleep(backoff(transient_failures)).await;
                }
                Failure::Final => return Err(err),
            }
        }
    }
}

/// Full-jitter exponential backoff: up to 200 ms · 2^(n-1), at most 5 s.
fn backoff(failures: u32) -> Duration {
    let cap = (0.2 * f64::from(1u32 << failures.saturating_sub(1).min(10))).min(5.0);
    Duration::from_secs_f64(cap * jitter())
}

/// A number in [0.5, 1): enough spread that retries of calls that failed together do not
/// arrive together, without a random-number dependency.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    0.5 + f64::from(nanos % 1000) / 2000.0
}

/// An SDK client with the pacer every call of it goes through. Derefs to the client, so
/// building a request reads as usual; sending goes through [`Paced::call`].
#[derive(Debug, Clone)]
pub struct Paced<C> {
    client: C,
    pacer: Arc<Pacer>,
}

impl<C> Paced<C> {
    pub fn new(client: C, pacer: Arc<Pacer>) -> Self {
        Self { client, pacer }
    }

    pub async fn call<T, E, F, Fut>(
        &self,
        group: Group,
        operation: &'static str,
        attempt: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        self.pacer.call(group, operation, attempt).await
    }
}

impl<C> Deref for Paced<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_full_bucket_serves_its_burst_at_once_then_paces_at_the_rate() {
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        for _ in 0..50 {
            assert_eq!(b.reserve(0.0), 0.0);
        }
        // The 51st waits one interval, the 52nd two: queued in order, no polling.
        assert!(close(b.reserve(0.0), 0.02));
        assert!(close(b.reserve(0.0), 0.04));
        // Half a second later 25 tokens have come back; two were already owed.
        let mut served = 0;
        while b.reserve(0.5) == 0.0 {
            served += 1;
        }
        assert_eq!(served, 23);
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let mut b = Bucket::new(Quota::new(1.0, 20.0), 0.0);
        for _ in 0..20 {
            b.reserve(0.0);
        }
        // An hour idle refills 20, not 3600.
        let mut served = 0;
        while b.reserve(3600.0) == 0.0 {
            served += 1;
        }
        assert_eq!(served, 20);
    }

    #[test]
    fn register_task_definition_at_one_per_second_after_its_burst_of_twenty() {
        let mut b = Bucket::new(Group::EcsTaskDefinitionWrites.default_quota(), 0.0);
        let waits: Vec<f64> = (0..23).map(|_| b.reserve(0.0)).collect();
        assert!(waits[..20].iter().all(|w| *w == 0.0));
        assert!(close(waits[20], 1.0) && close(waits[21], 2.0) && close(waits[22], 3.0));
    }

    #[test]
    fn a_throttle_halves_the_rate_once_per_cooldown_and_drops_the_burst() {
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        b.throttled(0.0);
        assert!(close(b.rate(), 25.0));
        // Throttles of calls that were in flight together: one decrease.
        b.throttled(0.1);
        b.throttled(0.2);
        assert!(close(b.rate(), 25.0));
        // No burst left: the next call waits for a token at the lower rate.
        let wait = b.reserve(0.2);
        assert!(wait > 0.0 && wait <= 1.0 / 25.0 + 1e-9, "{wait}");
        // A second later (no recovery yet: the cooldown just ended) it halves again.
        b.throttled(1.0);
        assert!(close(b.rate(), 12.5));
    }

    #[test]
    fn the_rate_never_falls_below_the_floor() {
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        for i in 0..20 {
            b.throttled(f64::from(i) * DECREASE_COOLDOWN);
        }
        assert!(close(b.rate(), 5.0));
        // The 1/s group keeps its rate: below it a throttled call would idle for seconds.
        let mut register = Bucket::new(Group::EcsTaskDefinitionWrites.default_quota(), 0.0);
        register.throttled(0.0);
        assert!(close(register.rate(), 1.0));
        assert!(register.reserve(0.0) <= 1.0);
    }

    #[test]
    fn the_rate_recovers_additively_after_the_cooldown() {
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        b.throttled(0.0);
        // Within the cooldown: no recovery yet.
        b.reserve(0.5);
        assert!(close(b.rate(), 25.0));
        // Two seconds after the cooldown: +5/s per second.
        b.reserve(3.0);
        assert!(close(b.rate(), 35.0), "{}", b.rate());
        // Never above the quota.
        b.reserve(60.0);
        assert!(close(b.rate(), 50.0));
    }

    #[test]
    fn a_throttled_call_waits_about_one_token_not_a_stacking_backoff() {
        // EventBridge at 50/s, fully spent, then throttled by another tool's traffic.
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        for _ in 0..50 {
            b.reserve(0.0);
        }
        b.throttled(0.0);
        let wait = b.reserve(0.0);
        assert!(wait <= 1.0, "{wait}");
        // Throttled again on the retry a second later: still well under a second.
        b.throttled(1.0);
        let wait = b.reserve(1.0);
        assert!(wait <= 1.0, "{wait}");
    }

    #[test]
    fn sustained_rate_matches_the_quota() {
        // Reserve as fast as allowed for 10 s of simulated time: 50 burst + 10·50.
        let mut b = Bucket::new(Quota::new(50.0, 50.0), 0.0);
        let mut now = 0.0;
        let mut calls = 0;
        while now < 10.0 {
            now += b.reserve(now);
            calls += 1;
        }
        assert!((549..=551).contains(&calls), "{calls}");
    }

    #[test]
    fn overrides_replace_rate_and_burst() {
        let o: QuotaOverrides =
            toml::from_str("eventbridge = 25\necs_reads = { rate = 40, burst = 100 }").unwrap();
        assert_eq!(o.quota(Group::Eventbridge), Quota::new(25.0, 25.0));
        assert_eq!(o.quota(Group::EcsReads), Quota::new(40.0, 100.0));
        assert_eq!(o.quota(Group::Scheduler), Group::Scheduler.default_quota());
        assert!(o.problems().is_empty());
        let bad: QuotaOverrides = toml::from_str("ecr = 0\nscheduler = { rate = 5, burst = 0 }")
            .expect("parses; checked after");
        assert_eq!(bad.problems().len(), 2);
        assert!(toml::from_str::<QuotaOverrides>("eventbrige = 5").is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(3) <= Duration::from_millis(800));
        assert!(backoff(30) <= Duration::from_secs(5));
        assert!(backoff(30) >= Duration::from_millis(2500));
    }
}
