//! One group's token bucket and its AIMD rate controller. Pure: time is an argument.

use std::time::Duration;

use super::Quota;

/// Halve the rate on a throttle that repeats: one sent after an earlier throttle came back,
/// within this many seconds of it (someone else is spending the budget). A lone throttle
/// only empties the bucket: AWS just said its bucket is empty, and ours refills at the same
/// rate, so the next call waits about one token…
pub(super) const REPEAT_WINDOW: f64 = 3.0;
/// …halve the rate…
const DECREASE: f64 = 0.5;
/// …at most once per this many seconds (calls already in flight when the budget ran out
/// come back throttled together: one overload, one decrease)…
pub(super) const DECREASE_COOLDOWN: f64 = 1.0;
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
pub(super) const ARRIVAL_SLACK: Duration = Duration::from_millis(100);

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
    /// When the last throttle came back.
    last_throttle: Option<f64>,
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
            last_throttle: None,
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

    /// The tokens free now (negative when calls are waiting for theirs).
    pub fn available(&mut self, now: f64) -> f64 {
        self.advance(now);
        self.tokens
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

    /// AWS answered a call of this group, sent at `sent`, with a throttle at `now`: its
    /// bucket is empty, so ours is emptied too. The rate halves (once per cooldown, down to
    /// the floor) only when the throttle repeats: the call was sent after an earlier throttle
    /// came back, within [`REPEAT_WINDOW`] of it. Calls that were in flight together when the
    /// budget ran out are one overload; a lone throttle costs about one token, not a halved
    /// rate that takes seconds to win back.
    pub fn throttled(&mut self, now: f64, sent: f64) {
        self.advance(now);
        self.tokens = self.tokens.min(0.0);
        let repeated = self
            .last_throttle
            .is_some_and(|t| sent > t && now - t <= REPEAT_WINDOW);
        self.last_throttle = Some(self.last_throttle.map_or(now, |t| t.max(now)));
        if repeated
            && self
                .last_decrease
                .is_none_or(|t| now - t >= DECREASE_COOLDOWN)
        {
            let floor = (self.quota.rate * FLOOR).max(self.quota.rate.min(1.0));
            self.rate = (self.rate * DECREASE).max(floor);
            self.last_decrease = Some(now);
        }
    }
}
