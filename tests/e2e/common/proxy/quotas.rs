//! AWS's request quotas, which moto does not play: a token bucket per quota group, AWS's
//! documented defaults, another tool sharing the budget, a throttling storm.

use std::time::Duration;

use super::Proxy;

/// A quota group as AWS meters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QuotaGroup {
    EventBridge,
    Scheduler,
    EcsTaskDefinitionWrites,
    EcsReads,
    EcsTagging,
    Ecr,
    /// CloudWatch Logs (GetLogEvents, DescribeLogGroups: one bucket at 10/s, as jobdeploy paces).
    Iam,
    Ssm,
    SecretsManager,
    Logs,
    Ec2,
    /// CloudWatch GetMetricData: 50 TPS.
    CloudWatch,
}

impl QuotaGroup {
    /// AWS's documented default (rate per second, burst).
    pub fn default_quota(self) -> (f64, f64) {
        match self {
            QuotaGroup::EventBridge | QuotaGroup::Scheduler => (50.0, 50.0),
            QuotaGroup::EcsTaskDefinitionWrites => (1.0, 20.0),
            QuotaGroup::EcsReads => (20.0, 50.0),
            QuotaGroup::EcsTagging => (10.0, 20.0),
            QuotaGroup::Ecr | QuotaGroup::Iam | QuotaGroup::Logs => (10.0, 10.0),
            QuotaGroup::Ssm => (40.0, 40.0),
            QuotaGroup::SecretsManager => (50.0, 50.0),
            QuotaGroup::Ec2 => (20.0, 100.0),
            QuotaGroup::CloudWatch => (50.0, 50.0),
        }
    }

    /// The group of a request, from its X-Amz-Target service prefix and action, or from the
    /// REST path (Scheduler).
    pub fn of(service: &str, action: &str) -> Option<Self> {
        match service {
            "iam" => return Some(QuotaGroup::Iam),
            "ec2" => return Some(QuotaGroup::Ec2),
            "AmazonSSM" => return Some(QuotaGroup::Ssm),
            "secretsmanager" => return Some(QuotaGroup::SecretsManager),
            "Logs_20140328" => return Some(QuotaGroup::Logs),
            "GraniteServiceVersion20100801" => return Some(QuotaGroup::CloudWatch),
            _ => {}
        }
        if service.starts_with("AWSEvents") {
            return Some(QuotaGroup::EventBridge);
        }
        if service.starts_with("AmazonEC2ContainerRegistry") {
            return Some(QuotaGroup::Ecr);
        }
        if service.starts_with("Logs_") {
            return Some(QuotaGroup::Logs);
        }
        if service.starts_with("AmazonEC2ContainerService") {
            return Some(match action {
                "RegisterTaskDefinition" | "DeregisterTaskDefinition" => {
                    QuotaGroup::EcsTaskDefinitionWrites
                }
                "TagResource" | "UntagResource" => QuotaGroup::EcsTagging,
                _ => QuotaGroup::EcsReads,
            });
        }
        matches!(
            action,
            "ListSchedules" | "GetSchedule" | "UpdateSchedule" | "CreateSchedule"
        )
        .then_some(QuotaGroup::Scheduler)
    }
}

/// A classic token bucket, as AWS's: full at the start, refilled at `rate` up to `burst`,
/// a request takes a whole token or is refused.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    pub rate: f64,
    pub burst: f64,
    tokens: f64,
    updated: f64,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            updated: now,
        }
    }

    /// Takes a token at `now` (seconds); false when there is none.
    pub fn take(&mut self, now: f64) -> bool {
        self.tokens = (self.tokens + (now - self.updated).max(0.0) * self.rate).min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Quotas {
    /// `None`: quotas are not enforced.
    origin: Option<std::time::Instant>,
    buckets: std::collections::BTreeMap<QuotaGroup, TokenBucket>,
    /// Every request is throttled until then.
    storm_until: Option<std::time::Instant>,
    throttled: usize,
    /// Tokens spent by the simulated other tool, and how many of its calls were refused.
    others_spent: usize,
}

impl Quotas {
    fn now(&self) -> f64 {
        self.origin.map_or(0.0, |o| o.elapsed().as_secs_f64())
    }

    /// Whether a request of `group` is throttled now.
    pub(super) fn throttles(&mut self, group: Option<QuotaGroup>) -> bool {
        if self
            .storm_until
            .is_some_and(|until| std::time::Instant::now() < until)
        {
            self.throttled += 1;
            return true;
        }
        if self.origin.is_none() {
            return false;
        }
        let now = self.now();
        let Some(bucket) = group.and_then(|g| self.buckets.get_mut(&g)) else {
            return false;
        };
        let refused = !bucket.take(now);
        if refused {
            self.throttled += 1;
        }
        refused
    }
}

impl Proxy {
    /// From now on, every request spends a token of its group's bucket (AWS's default
    /// quotas, full buckets) and is throttled when there is none.
    pub fn enforce_quotas(&self) {
        let all = [
            QuotaGroup::EventBridge,
            QuotaGroup::Scheduler,
            QuotaGroup::EcsTaskDefinitionWrites,
            QuotaGroup::EcsReads,
            QuotaGroup::EcsTagging,
            QuotaGroup::Ecr,
            QuotaGroup::Iam,
            QuotaGroup::Ssm,
            QuotaGroup::SecretsManager,
            QuotaGroup::Logs,
            QuotaGroup::Ec2,
        ];
        if let Ok(mut q) = self.quotas.lock() {
            q.origin = Some(std::time::Instant::now());
            q.buckets = all
                .into_iter()
                .map(|g| {
                    let (rate, burst) = g.default_quota();
                    (g, TokenBucket::new(rate, burst, 0.0))
                })
                .collect();
        }
    }

    /// Requests answered with a throttle so far.
    pub fn throttled(&self) -> usize {
        self.quotas.lock().map(|q| q.throttled).unwrap_or(0)
    }

    /// Another tool in the account calls `group` at `rate` per second for `duration`,
    /// spending the same budget (its refused calls are not retried).
    pub fn share_budget(&self, group: QuotaGroup, rate: f64, duration: Duration) {
        let quotas = self.quotas.clone();
        self._runtime.spawn(async move {
            let start = std::time::Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            while start.elapsed() < duration {
                tick.tick().await;
                if let Ok(mut q) = quotas.lock() {
                    let now = q.now();
                    if let Some(bucket) = q.buckets.get_mut(&group)
                        && bucket.take(now)
                    {
                        q.others_spent += 1;
                    }
                }
            }
        });
    }

    /// Tokens the other tool of [`Proxy::share_budget`] got.
    pub fn others_spent(&self) -> usize {
        self.quotas.lock().map(|q| q.others_spent).unwrap_or(0)
    }

    /// Every request is throttled for `duration` from now.
    pub fn throttle_everything_for(&self, duration: Duration) {
        if let Ok(mut q) = self.quotas.lock() {
            q.storm_until = Some(std::time::Instant::now() + duration);
        }
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    #[test]
    fn the_emulated_bucket_serves_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(50.0, 50.0, 0.0);
        assert_eq!((0..60).filter(|_| b.take(0.0)).count(), 50);
        // 0.1 s later: 5 tokens back, not more.
        assert_eq!((0..10).filter(|_| b.take(0.1)).count(), 5);
        // Idle for a minute: the burst, not 3000.
        assert_eq!((0..100).filter(|_| b.take(60.0)).count(), 50);
        let mut register = TokenBucket::new(1.0, 20.0, 0.0);
        assert_eq!((0..25).filter(|_| register.take(0.0)).count(), 20);
        assert!(!register.take(0.5));
        assert!(register.take(1.0));
    }

    #[test]
    fn requests_are_metered_in_their_group() {
        let ecs = "AmazonEC2ContainerServiceV20141113";
        assert_eq!(
            QuotaGroup::of(ecs, "RegisterTaskDefinition"),
            Some(QuotaGroup::EcsTaskDefinitionWrites)
        );
        assert_eq!(
            QuotaGroup::of(ecs, "DescribeTaskDefinition"),
            Some(QuotaGroup::EcsReads)
        );
        assert_eq!(
            QuotaGroup::of("AWSEvents", "PutTargets"),
            Some(QuotaGroup::EventBridge)
        );
        assert_eq!(
            QuotaGroup::of("", "GetSchedule"),
            Some(QuotaGroup::Scheduler)
        );
    }
}
