//! What each call came to: per-operation counts, and how a failed attempt is handled.

use std::collections::BTreeMap;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use super::Group;

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
