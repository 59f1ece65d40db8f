//! Thin adapters over the AWS SDK. Clients come from the standard chain (`AWS_PROFILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, web identity for OIDC). Every call goes through
//! [`pace`]: paced to the account's request quotas, throttles and transient failures retried
//! there (the SDK's own retry is off, so nothing sleeps twice).
//!
//! Task definitions and targets travel as raw JSON (see [`raw`]): a template is the wire body
//! of RegisterTaskDefinition, and a target is written back exactly as ListTargetsByRule
//! returned it, so no field is lost in a typed round trip — including fields newer than this
//! SDK.

pub mod cloudformation;
pub mod cloudwatch;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod events;
pub mod iam;
pub mod loggroups;
pub mod logs;
pub mod owner;
pub mod pace;
pub mod raw;
pub mod scheduler;
pub mod secretsmanager;
pub mod sqs;
pub mod ssm;
pub mod tasks;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::AwsConfig;
use crate::error::{Error, Result};
use pace::{Paced, Pacer};

#[derive(Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub ecs: Paced<aws_sdk_ecs::Client>,
    pub events: Paced<aws_sdk_eventbridge::Client>,
    pub scheduler: Paced<aws_sdk_scheduler::Client>,
    /// CloudWatch Logs: `run` follows a task's streams, `verify` reads log groups.
    /// `verify`'s reads: roles, parameters, secrets, log groups, subnets. Services with
    /// regions (all but IAM) are asked in the deploy's region; reads in another region (a
    /// log group's `awslogs-region`, a parameter's ARN) build a client there.
    pub iam: Paced<aws_sdk_iam::Client>,
    pub ssm: Paced<aws_sdk_ssm::Client>,
    pub secrets: Paced<aws_sdk_secretsmanager::Client>,
    pub logs: Paced<aws_sdk_cloudwatchlogs::Client>,
    pub ec2: Paced<aws_sdk_ec2::Client>,
    /// `runs`: invocation metrics and dead-letter queue depth; `init`: stacks.
    pub cloudwatch: Paced<aws_sdk_cloudwatch::Client>,
    pub sqs: Paced<aws_sdk_sqs::Client>,
    pub cloudformation: Paced<aws_sdk_cloudformation::Client>,
    /// Every client's calls go through it; it also counts them.
    pub pacer: Arc<Pacer>,
    pub region: String,
    pub concurrency: usize,
}

impl Aws {
    /// Loads the SDK config and checks region and credentials before anything is called, so
    /// a missing one is a clear error rather than a failure halfway.
    pub async fn connect(
        region: Option<&str>,
        concurrency: usize,
        settings: &AwsConfig,
    ) -> Result<Self> {
        let attempts = max_attempts()?;
        let _ = MAX_ATTEMPTS.set(attempts);
        let _ = THROTTLE_TIMEOUT.set(settings.throttle_timeout);
        let pacer = Pacer::new(
            &settings.quotas,
            attempts,
            Duration::from_secs(settings.throttle_timeout),
        );
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
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
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(no_region)?;
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| no_credentials(None))?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| no_credentials(Some(&e)))?;
        Ok(Self {
            ecs: Paced::new(aws_sdk_ecs::Client::new(&sdk), pacer.clone()),
            events: Paced::new(aws_sdk_eventbridge::Client::new(&sdk), pacer.clone()),
            scheduler: Paced::new(aws_sdk_scheduler::Client::new(&sdk), pacer.clone()),
            iam: Paced::new(aws_sdk_iam::Client::new(&sdk), pacer.clone()),
            ssm: Paced::new(aws_sdk_ssm::Client::new(&sdk), pacer.clone()),
            secrets: Paced::new(aws_sdk_secretsmanager::Client::new(&sdk), pacer.clone()),
            logs: Paced::new(aws_sdk_cloudwatchlogs::Client::new(&sdk), pacer.clone()),
            ec2: Paced::new(aws_sdk_ec2::Client::new(&sdk), pacer.clone()),
            cloudwatch: Paced::new(aws_sdk_cloudwatch::Client::new(&sdk), pacer.clone()),
            sqs: Paced::new(aws_sdk_sqs::Client::new(&sdk), pacer.clone()),
            cloudformation: Paced::new(aws_sdk_cloudformation::Client::new(&sdk), pacer.clone()),
            pacer,
            sdk,
            region,
            concurrency: concurrency.max(1),
        })
    }

    /// CloudWatch Logs in `region` (a container's `awslogs-region`), paced with the rest.
    pub fn logs_in(&self, region: &str) -> Paced<aws_sdk_cloudwatchlogs::Client> {
        if region == self.region {
            return self.logs.clone();
        }
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk)
            .region(Region::new(region.to_string()))
            .build();
        Paced::new(
            aws_sdk_cloudwatchlogs::Client::from_conf(config),
            self.pacer.clone(),
        )
    }
}

/// One sentence and a hint, never the SDK's error dump.
fn no_region() -> Error {
    Error::new("no AWS region: set AWS_REGION or `region` in jobdeploy.toml").hint(
        "or a region in your AWS profile (AWS_PROFILE); for `jobdeploy init`, --region REGION",
    )
}

/// No credentials at all is one sentence; a provider that failed (a broken profile, an
/// unreachable SSO or web identity endpoint) adds only its innermost cause.
fn no_credentials(err: Option<&aws_credential_types::provider::error::CredentialsError>) -> Error {
    use aws_credential_types::provider::error::CredentialsError;
    let message = match err {
        None | Some(CredentialsError::CredentialsNotLoaded(_)) => {
            "no AWS credentials found: no environment variables, profile, web identity or instance role provided any".to_string()
        }
        Some(CredentialsError::ProviderTimedOut(_)) => {
            "no AWS credentials: the credentials provider timed out".to_string()
        }
        Some(e) => format!(
            "no AWS credentials: {}",
            root_cause(e).lines().next().unwrap_or_default()
        ),
    };
    Error::new(message).hint(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run `aws sso login` for SSO), or use aws-actions/configure-aws-credentials (OIDC) in GitHub Actions",
    )
}

const DEFAULT_MAX_ATTEMPTS: u32 = 6;
static MAX_ATTEMPTS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static THROTTLE_TIMEOUT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

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

/// `Code: message` for service errors; the whole cause chain for the rest (timeouts,
/// connection refused, …). Errors the SDK retries say that retrying did not help.
pub fn describe_error<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let attempts = crate::model::plural(
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
    let text = match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                // Not an error AWS sends (no code, no message: a body the SDK could not
                // read): the status and the start of what came, not the parser's dump.
                (None, None) => unreadable_answer(service.raw()),
                _ => DisplayErrorContext(e).to_string(),
            }
        }
        other => DisplayErrorContext(other).to_string(),
    };
    match pace::classify(err) {
        pace::Failure::Throttled => {
            let seconds = THROTTLE_TIMEOUT.get().copied().unwrap_or(120);
            format!(
                "{text} (still throttled after {seconds} s of paced retries: another tool is spending this account's API quota — retry later, or lower the rate in [aws.quotas])"
            )
        }
        pace::Failure::Transient => format!(
            "{text} (still failing after {attempts} with backoff; an AWS outage? retry later)"
        ),
        pace::Failure::Final => text,
    }
}

/// An answer with no AWS error in it: its HTTP status and the first line of its body.
fn unreadable_answer(raw: &HttpResponse) -> String {
    let status = raw.status().as_u16();
    let body = raw
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .unwrap_or_default();
    // An HTML error page (a proxy's, an emulator's) says what it is in its title.
    let title = body
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| format!("{} (an HTML page)", title.trim()));
    let first: String = title
        .as_deref()
        .unwrap_or_else(|| body.lines().next().unwrap_or_default())
        .chars()
        .take(120)
        .collect();
    if first.is_empty() {
        format!(
            "HTTP {status} with an empty body, not an AWS error (does {} implement this call?)",
            ENDPOINT.get().map_or("the endpoint", String::as_str)
        )
    } else {
        format!("HTTP {status} that is not an AWS error: {first}")
    }
}

/// The one error of a failed call: `Operation subject: ` and [`describe_error`]'s sentence
/// (`Operation: ` when there is no subject). Every adapter maps its SDK errors here, so a
/// hint added to AWS failures later reaches every call.
pub fn failed<E>(
    operation: &str,
    subject: impl fmt::Display,
    err: &SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let subject = subject.to_string();
    let at = if subject.is_empty() {
        operation.to_string()
    } else {
        format!("{operation} {subject}")
    };
    Error::new(format!("{at}: {}", describe_error(err)))
}

/// [`failed`] for `map_err`: `.map_err(aws_error("PutTargets", rule))`.
pub fn aws_error<'a, E>(
    operation: &'a str,
    subject: impl fmt::Display + 'a,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> Error + 'a
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| failed(operation, subject, &err)
}

/// Every page of a next-token listing, in order. `page` fetches the page at a token (`None`:
/// the first) and returns its items and the next token; no token, or an empty one, ends it.
pub async fn paginate<T, F, Fut>(page: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    futures::TryStreamExt::try_concat(pages(page)).await
}

/// [`paginate`] as a stream of pages, each yielded as soon as it is answered: work on one
/// page overlaps the reading of the next.
pub fn pages<'a, T, F, Fut>(page: F) -> impl futures::Stream<Item = Result<Vec<T>>> + 'a
where
    T: 'a,
    F: FnMut(Option<String>) -> Fut + 'a,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>> + 'a,
{
    // `Some(token)`: a page to read (`None` the first); `None`: no page left.
    futures::stream::try_unfold(
        (page, Some(None::<String>)),
        |(mut page, state)| async move {
            let Some(token) = state else {
                return Ok(None);
            };
            let (items, next) = page(token).await?;
            Ok(Some((items, (page, next_token(next.as_deref()).map(Some)))))
        },
    )
}

/// Reads `source` to its end beside `consume`, which gets its items through a channel as
/// they come. A consumer bounded by `--concurrency` polls its source only when a slot is
/// free, so a listing's next page would wait until the last page's items were nearly all
/// taken; here it is asked for as soon as the last one is answered. Reading stops at the
/// first error, or when `consume` is done (its error, or not wanting the rest).
pub async fn read_ahead<T, S, C, Fut, R>(source: S, consume: C) -> R
where
    S: futures::Stream<Item = Result<T>>,
    C: FnOnce(futures::channel::mpsc::UnboundedReceiver<Result<T>>) -> Fut,
    Fut: Future<Output = R>,
{
    use futures::StreamExt;
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let read = async move {
        let mut source = std::pin::pin!(source);
        while let Some(item) = source.next().await {
            let failed = item.is_err();
            if tx.unbounded_send(item).is_err() || failed {
                break;
            }
            // A source that is always ready must still let the consumer run.
            tokio::task::yield_now().await;
        }
    };
    let read = std::pin::pin!(read);
    let consumed = std::pin::pin!(consume(rx));
    match futures::future::select(read, consumed).await {
        futures::future::Either::Left(((), consumed)) => consumed.await,
        // Done without the rest: a page still being read is not wanted.
        futures::future::Either::Right((out, _)) => out,
    }
}

/// The token of the next page, as AWS answers it: absent or empty means there is none.
pub fn next_token(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

/// What a read found: the thing, its absence, or no permission to read it (`verify` turns
/// that into a warning naming the permission, never a failure).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    /// The IAM action that was refused, e.g. `iam:GetRole`.
    Denied(&'static str),
}

/// Error codes AWS answers a refused read with, across services.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// Whether AWS refused the call for want of a permission.
pub fn is_denied<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error_code(err).is_some_and(|c| DENIED_CODES.contains(&c))
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_targets::PutTargetsError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn denied() -> SdkError<PutTargetsError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("not authorized to perform events:PutTargets")
            .build();
        let response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        SdkError::service_error(PutTargetsError::generic(meta), response)
    }

    #[test]
    fn a_failed_call_says_the_operation_its_subject_and_what_aws_said() {
        assert_eq!(
            failed("PutTargets", "", &denied()).message(),
            "PutTargets: AccessDeniedException: not authorized to perform events:PutTargets"
        );
        assert_eq!(
            aws_error("ListRules", "on bus `default`")(denied()).message(),
            "ListRules on bus `default`: AccessDeniedException: not authorized to perform events:PutTargets"
        );
    }

    #[tokio::test]
    async fn paginate_reads_every_page_until_no_token_or_an_empty_one() {
        let pages = |last: Option<&'static str>| {
            move |token: Option<String>| async move {
                Ok(match token.as_deref() {
                    None => (vec![1, 2], Some("a".to_string())),
                    Some("a") => (vec![3], last.map(str::to_string)),
                    Some(other) => panic!("asked for page {other}"),
                })
            }
        };
        assert_eq!(paginate(pages(None)).await.unwrap(), [1, 2, 3]);
        let streamed: Vec<Vec<i32>> =
            futures::TryStreamExt::try_collect(super::pages(pages(Some(""))))
                .await
                .unwrap();
        assert_eq!(streamed, [vec![1, 2], vec![3]]);
        assert_eq!(paginate(pages(Some(""))).await.unwrap(), [1, 2, 3]);
        let failing = |_| async { Err::<(Vec<i32>, _), _>(Error::new("ListRules: down")) };
        assert_eq!(
            paginate(failing).await.unwrap_err().message(),
            "ListRules: down"
        );
    }

    /// The next page is asked for while the consumer still holds the last one (it waits for
    /// that request before taking more): without reading ahead this would never end.
    #[tokio::test]
    async fn read_ahead_asks_for_the_next_page_before_the_last_is_consumed() {
        use futures::{StreamExt, TryStreamExt};
        let asked = std::sync::Mutex::new(Vec::new());
        let seen = tokio::sync::Notify::new();
        let page = |token: Option<String>| {
            let n: usize = token.as_deref().map_or(0, |t| t.parse().unwrap_or(0));
            asked.lock().map(|mut a| a.push(n)).ok();
            seen.notify_waiters();
            async move { Ok((vec![n], (n < 2).then(|| (n + 1).to_string()))) }
        };
        let consume = |items: futures::channel::mpsc::UnboundedReceiver<Result<Vec<usize>>>| {
            let (asked, seen) = (&asked, &seen);
            items
                .then(move |item| async move {
                    let n = item?[0];
                    // Hold page n until page n + 1 was asked for (or there is none).
                    while n < 2 && !asked.lock().map(|a| a.contains(&(n + 1))).unwrap_or(true) {
                        seen.notified().await;
                    }
                    Ok::<_, Error>(n)
                })
                .try_collect::<Vec<_>>()
        };
        let out = tokio::time::timeout(Duration::from_secs(5), read_ahead(pages(page), consume))
            .await
            .expect("the next page was never asked for while the last was held");
        assert_eq!(out.unwrap(), [0, 1, 2]);
    }

    #[tokio::test]
    async fn read_ahead_passes_a_source_error_on_and_stops_when_the_consumer_is_done() {
        use futures::{StreamExt, TryStreamExt};
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let failing = |token: Option<String>| {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match token {
                    None => Ok((vec![1], Some("a".to_string()))),
                    Some(_) => Err(Error::new("ListRuleNamesByTarget: down")),
                }
            }
        };
        let all =
            |items: futures::channel::mpsc::UnboundedReceiver<Result<Vec<i32>>>| items.try_concat();
        let err = read_ahead(pages(failing), all).await.unwrap_err();
        assert_eq!(err.message(), "ListRuleNamesByTarget: down");
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A consumer that wants only the first page: the long listing is not read on.
        let long = std::sync::atomic::AtomicUsize::new(0);
        let endless = |_| {
            let n = long.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok((vec![7], (n < 1000).then(|| "more".to_string()))) }
        };
        let first = |items: futures::channel::mpsc::UnboundedReceiver<Result<Vec<i32>>>| async {
            let mut items = items;
            items.next().await
        };
        let got = tokio::time::timeout(Duration::from_secs(5), read_ahead(pages(endless), first))
            .await
            .expect("reading went on after the consumer was done");
        assert_eq!(
            got.map(|r| r.map_err(|e| e.message().to_string())),
            Some(Ok(vec![7]))
        );
        assert!(long.load(std::sync::atomic::Ordering::SeqCst) <= 2);
    }
}
