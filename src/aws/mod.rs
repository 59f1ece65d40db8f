//! Thin adapters over the AWS SDK. Clients come from the standard chain (`AWS_PROFILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, web identity for OIDC), with adaptive retry.
//!
//! Task definitions and targets travel as raw JSON (see [`raw`]): a template is the wire body
//! of RegisterTaskDefinition, and a target is written back exactly as ListTargetsByRule
//! returned it, so no field is lost in a typed round trip — including fields newer than this
//! SDK.

pub mod ecr;
pub mod ecs;
pub mod events;
pub mod owner;
pub mod raw;
pub mod scheduler;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{Error, Result};

#[derive(Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub region: String,
    pub concurrency: usize,
}

impl Aws {
    /// Loads the SDK config and checks region and credentials before anything is called, so
    /// a missing one is a clear error rather than a failure halfway.
    pub async fn connect(region: Option<&str>, concurrency: usize) -> Result<Self> {
        let attempts = max_attempts()?;
        let _ = MAX_ATTEMPTS.set(attempts);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::adaptive()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        let sdk = loader.load().await;
        let _ = ENDPOINT.set(
            sdk.endpoint_url()
                .map_or("the AWS regional endpoint".to_string(), str::to_string),
        );
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::new("no AWS region configured")
                .hint("set `region` in jobdeploy.toml, AWS_REGION, or a region in your AWS profile")
        })?;
        let provider = sdk.credentials_provider().ok_or_else(|| {
            Error::new("no AWS credentials provider").hint(
                "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use aws-actions/configure-aws-credentials",
            )
        })?;
        provider.provide_credentials().await.map_err(|e| {
            Error::new(format!(
                "no AWS credentials: {}",
                DisplayErrorContext(&e)
            ))
            .hint("set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use aws-actions/configure-aws-credentials (OIDC)")
        })?;
        Ok(Self {
            ecs: aws_sdk_ecs::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            sdk,
            region,
            concurrency: concurrency.max(1),
        })
    }
}

const DEFAULT_MAX_ATTEMPTS: u32 = 6;
static MAX_ATTEMPTS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The innermost cause: "Connection refused (os error 111)" rather than the whole chain.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Attempts per call, from `AWS_MAX_ATTEMPTS` as every AWS SDK reads it, else 6.
fn max_attempts() -> Result<u32> {
    match std::env::var("AWS_MAX_ATTEMPTS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                Error::new(format!(
                    "AWS_MAX_ATTEMPTS=`{v}` is not a whole number of at least 1"
                ))
            }),
        _ => Ok(DEFAULT_MAX_ATTEMPTS),
    }
}

/// Error codes AWS asks clients to retry with backoff.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// `Code: message` for service errors; the whole cause chain for the rest (timeouts,
/// connection refused, …). Errors the SDK retries say that retrying did not help.
pub fn describe_error<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let attempts = crate::plan::plural(
        MAX_ATTEMPTS.get().copied().unwrap_or(DEFAULT_MAX_ATTEMPTS) as usize,
        "attempt",
        "attempts",
    );
    if let SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) =
        err
    {
        let endpoint = ENDPOINT.get().map_or("AWS", String::as_str);
        let kind = match err {
            SdkError::TimeoutError(_) => "timed out talking to",
            SdkError::ResponseError(_) => "bad response from",
            _ => "cannot reach",
        };
        let cause = match err {
            SdkError::DispatchFailure(e) => e.as_connector_error().map(|c| root_cause(c)),
            _ => None,
        }
        .unwrap_or_else(|| DisplayErrorContext(err).to_string());
        return format!(
            "{kind} {endpoint}: {cause} (after {attempts} with backoff; check the network, proxy settings and AWS_ENDPOINT_URL)"
        );
    }
    let (text, retried) = match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let text = match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => DisplayErrorContext(e).to_string(),
            };
            let retried = e.code().is_some_and(|c| THROTTLING.contains(&c))
                || service.raw().status().is_server_error();
            (text, retried)
        }
        other => (DisplayErrorContext(other).to_string(), false),
    };
    if retried {
        format!(
            "{text} (still failing after {attempts} with backoff; AWS throttling or an outage — retry later, or lower --concurrency)"
        )
    } else {
        text
    }
}

pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}
