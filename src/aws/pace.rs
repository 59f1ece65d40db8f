//! Every AWS call paced to the account's request quotas.
//!
//! AWS meters API calls per account and region in token buckets, one per quota group, shared
//! with every other tool in the account, and answers `ThrottlingException` when a bucket is
//! empty. jobdeploy keeps a bucket of its own per group at the documented rate and burst, so
//! a run spends the budget evenly instead of drawing throttles. When a throttle comes
//! anyway, AWS's bucket is empty, so that group's bucket is emptied and the throttled call is
//! sent again as soon as a token is free; when throttles repeat (another tool is spending the
//! same budget) the group's rate is halved and recovers linearly (AIMD). No blind sleep that
//! stacks, and no failure while the throttling clears.
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

mod bucket;
mod calls;
mod groups;

use bucket::ARRIVAL_SLACK;
pub use bucket::Bucket;
#[cfg(test)]
use bucket::{DECREASE_COOLDOWN, REPEAT_WINDOW};
pub use calls::{CallCount, CallStats, Failure, THROTTLING_CODES, classify};
pub use groups::{Group, Quota, QuotaOverrides, QuotaSetting};

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

    /// How many calls of `group` may be sent now without waiting for a token.
    pub fn available(&self, group: Group) -> f64 {
        self.with_bucket(group, Bucket::available).unwrap_or(0.0)
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
            let sent = self.now();
            let err = match attempt().await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            match classify(&err) {
                Failure::Throttled => {
                    self.count(group, operation, |c| c.throttled += 1);
                    self.with_bucket(group, |b, now| b.throttled(now, sent));
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
mod tests;
