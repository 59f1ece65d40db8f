//! Fault scenarios for the proxy, written as sentences:
//!
//! ```ignore
//! w.proxy.inject(fail("PutTargets").on_rule("b-nightly").times(2).with(Reply::throttling()));
//! w.proxy.inject(fail("GetSchedule").on_schedule("export").after(1).times(1).with(Reply::Json(edited)));
//! w.proxy.inject(fail_every_request().after(k).with(Reply::LoseResponse));
//! ```
//!
//! By default a fault hits every matching request, from the first one on, for good.

use super::Run;
use super::proxy::{Fault, Reply};

/// A fault on every `action` request (an API operation name: `PutTargets`, `UpdateSchedule`).
pub fn fail(action: &'static str) -> FaultBuilder {
    FaultBuilder {
        action,
        rule: None,
        skip: 0,
        times: None,
    }
}

/// A fault on every request, whatever its action.
pub fn fail_every_request() -> FaultBuilder {
    fail("*")
}

/// A [`Fault`] being described; [`FaultBuilder::with`] says what the proxy answers.
#[derive(Debug, Clone)]
pub struct FaultBuilder {
    action: &'static str,
    rule: Option<&'static str>,
    skip: usize,
    times: Option<usize>,
}

impl FaultBuilder {
    /// Only requests about this rule (its name in the request body).
    pub fn on_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    /// Only requests about this schedule (its name in the request path).
    pub fn on_schedule(self, schedule: &'static str) -> Self {
        self.on_rule(schedule)
    }

    /// Only RegisterTaskDefinition requests of this family.
    pub fn on_family(self, family: &'static str) -> Self {
        self.on_rule(family)
    }

    /// The first `n` matching requests go through untouched; the fault starts after them.
    pub fn after(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    /// The fault hits `n` matching requests, then heals itself.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// What the proxy answers instead of AWS.
    pub fn with(self, reply: Reply) -> Fault {
        Fault {
            action: self.action,
            rule: self.rule,
            skip: self.skip,
            times: self.times,
            reply,
        }
    }
}

/// The AWS errors the fault tests answer with, as AWS sends them.
impl Reply {
    /// `400 ThrottlingException`, as EventBridge, ECS and Scheduler throttle.
    pub fn throttling() -> Self {
        Reply::Error(400, "ThrottlingException")
    }

    /// `400 AccessDeniedException`, as the JSON-protocol services (EventBridge, ECS) deny.
    pub fn access_denied() -> Self {
        Reply::Error(400, "AccessDeniedException")
    }

    /// `403 AccessDeniedException`, as a REST service (EventBridge Scheduler) denies.
    pub fn access_denied_rest() -> Self {
        Reply::Error(403, "AccessDeniedException")
    }

    /// `403 AccessDenied`, as the query-protocol services (IAM, EC2) deny: the proxy
    /// answers it in their XML.
    pub fn access_denied_query() -> Self {
        Reply::Error(403, "AccessDenied")
    }
}

impl Run {
    /// Asserts that stderr says each of `texts`, showing stderr when it does not.
    #[track_caller]
    pub fn says(&self, texts: &[&str]) -> &Self {
        for text in texts {
            assert!(
                self.stderr.contains(text),
                "stderr does not say {text:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// Runs `test` for each item, `width` at a time on threads; its results in item order. A
/// panic in one is re-raised here.
pub fn in_batches<T, R>(
    items: Vec<T>,
    width: usize,
    test: impl Fn(T) -> R + Clone + Send + 'static,
) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let mut results = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let handles: Vec<_> = items
            .by_ref()
            .take(width)
            .map(|item| {
                let test = test.clone();
                std::thread::spawn(move || test(item))
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(result) => results.push(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }
    results
}
