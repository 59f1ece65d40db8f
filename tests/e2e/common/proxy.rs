//! A recording, fault-injecting HTTP proxy between jobdeploy (`AWS_ENDPOINT_URL`) and moto:
//! every request's action (X-Amz-Target, the query protocol's `Action` for IAM and EC2, else
//! method and path) is logged, so tests can assert
//! which calls were made — "plan writes nothing" is checked here, not hoped for. Faults: per
//! action (or every action, `*`) and optionally per rule, from the Nth matching request on:
//! an AWS error, a 200 with FailedEntryCount, a dropped connection; plus added latency.
//!
//! It also plays AWS's request quotas, which moto does not: with [`Proxy::enforce_quotas`]
//! every request takes a token from its quota group's bucket (AWS's documented defaults:
//! EventBridge 50/s, ECS task-definition writes 1/s burst 20, …) and is answered
//! `400 ThrottlingException: Rate exceeded` when the bucket is empty, as AWS answers.
//! [`Proxy::share_budget`] makes another tool spend part of a group's budget, and
//! [`Proxy::throttle_everything_for`] a storm in which every call is throttled.
//!
//! And it plays the ECS task lifecycle for `jobdeploy run` (see [`super::tasks`]):
//! [`Proxy::script_task`] queues how the next RunTask's task behaves.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::tasks::{Script, Tasks, write_logs};

pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
    quotas: Arc<Mutex<Quotas>>,
    tasks: Arc<Mutex<Tasks>>,
    _runtime: tokio::runtime::Runtime,
}

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
struct Quotas {
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
    fn throttles(&mut self, group: Option<QuotaGroup>) -> bool {
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

/// What the proxy answers instead of forwarding.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with `FailedEntryCount: 1` for the first target in the request.
    FailedEntry,
    /// An AWS JSON error with this HTTP status and `__type`.
    Error(u16, &'static str),
    /// 200 with this JSON body: what another writer would make the state look like.
    Json(serde_json::Value),
    /// Forward the request, then close the connection instead of answering: the call took
    /// effect but the caller cannot know.
    LoseResponse,
}

/// Replies instead of forwarding when the action matches and the body names the rule.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The action, or `*` for every request.
    pub action: &'static str,
    pub rule: Option<&'static str>,
    /// Matching requests forwarded untouched before the fault starts.
    pub skip: usize,
    /// How many requests it hits once started; `None`: every one after.
    pub times: Option<usize>,
    pub reply: Reply,
}

/// Calls that change AWS state.
pub fn is_write(action: &str) -> bool {
    [
        "Register",
        "Deregister",
        "Put",
        "Update",
        "Create",
        "Delete",
        "Tag",
        "Untag",
        "Remove",
        "Run",
        "Stop",
    ]
    .iter()
    .any(|w| action.starts_with(w))
}

impl Proxy {
    pub fn start(upstream: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let shared_faults = faults.clone();
        let latency: Arc<Mutex<Duration>> = Arc::default();
        let shared_latency = latency.clone();
        let quotas: Arc<Mutex<Quotas>> = Arc::default();
        let shared_quotas = quotas.clone();
        let tasks: Arc<Mutex<Tasks>> = Arc::default();
        let shared_tasks = tasks.clone();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.to_string();
        let shared_log = log.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let client = client.clone();
                let upstream = upstream.clone();
                let log = shared_log.clone();
                let faults = shared_faults.clone();
                let latency = shared_latency.clone();
                let quotas = shared_quotas.clone();
                let tasks = shared_tasks.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        forward(
                            req,
                            client.clone(),
                            upstream.clone(),
                            log.clone(),
                            faults.clone(),
                            latency.clone(),
                            quotas.clone(),
                            tasks.clone(),
                        )
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            log,
            faults,
            latency,
            quotas,
            tasks,
            _runtime: runtime,
        }
    }

    /// The next RunTask starts a task that behaves as `script` says.
    pub fn script_task(&self, script: Script) {
        if let Ok(mut t) = self.tasks.lock() {
            t.push(script);
        }
    }

    /// The RunTask requests that started a scripted task.
    pub fn started_tasks(&self) -> Vec<serde_json::Value> {
        self.tasks.lock().map(|t| t.started()).unwrap_or_default()
    }

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

    /// Every request waits this long before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.latency.lock() {
            *l = latency;
        }
    }

    /// Removes every fault.
    pub fn heal(&self) {
        if let Ok(mut f) = self.faults.lock() {
            f.clear();
        }
    }

    pub fn actions(&self) -> Vec<String> {
        self.log
            .lock()
            .map(|l| l.iter().map(|(a, _)| a.clone()).collect())
            .unwrap_or_default()
    }

    /// The JSON bodies of every `action` request, in order.
    pub fn bodies(&self, action: &str) -> Vec<serde_json::Value> {
        self.log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(a, _)| a == action)
                    .map(|(_, b)| b.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn writes(&self) -> Vec<String> {
        self.actions().into_iter().filter(|a| is_write(a)).collect()
    }

    pub fn count(&self, action: &str) -> usize {
        self.actions().iter().filter(|a| *a == action).count()
    }

    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.faults.lock() {
            f.push(fault);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

// Each piece of shared state is its own handle, as the Proxy hands them out.
#[allow(clippy::too_many_arguments)]
async fn forward(
    req: Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
    quotas: Arc<Mutex<Quotas>>,
    tasks: Arc<Mutex<Tasks>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let delay = latency.lock().map(|l| *l).unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = req.into_parts();
    let body = read_all(body).await;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // IAM and EC2 speak the query protocol: a form body with `Action` and `Version`.
    let query = query_call(&body);
    let service = match &query {
        Some((_, service)) => *service,
        None => target.split('.').next().unwrap_or_default(),
    };
    let action = match &query {
        Some((action, _)) => action.clone(),
        None => target
            .rsplit_once('.')
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| rest_action(parts.method.as_str(), parts.uri.path())),
    };
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Ok(mut l) = log.lock() {
        l.push((action.clone(), json.clone()));
    }
    let throttled = quotas
        .lock()
        .is_ok_and(|mut q| q.throttles(QuotaGroup::of(service, &action)));
    if throttled && query.is_some() {
        return Ok(query_error(service, 400, "Throttling"));
    }
    if throttled {
        return Ok(Response::builder()
            .status(400)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", "ThrottlingException")
            .body(Full::new(Bytes::from(
                serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                    .to_string(),
            )))
            .unwrap_or_default());
    }
    // What a fault's `rule` matches: the rule in the body, or the schedule in the path.
    let subject = json
        .get("Rule")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| schedule_in_path(parts.uri.path()));
    let fault = faults.lock().ok().and_then(|mut f| {
        let fault = f.iter_mut().find(|f| {
            f.times != Some(0)
                && (f.action == "*" || f.action == action)
                && f.rule.is_none_or(|r| subject.as_deref() == Some(r))
        })?;
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        match &mut fault.times {
            Some(0) => return None,
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault.clone())
    });
    let lose_response = matches!(fault.as_ref().map(|f| &f.reply), Some(Reply::LoseResponse));
    let fault = fault.filter(|_| !lose_response);
    if let Some(fault) = fault {
        let (status, reply) = match fault.reply {
            Reply::FailedEntry => {
                let id = json.pointer("/Targets/0/Id").cloned().unwrap_or_default();
                (
                    200,
                    serde_json::json!({"FailedEntryCount": 1, "FailedEntries": [{"TargetId": id, "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "injected by the test proxy"}]}),
                )
            }
            Reply::Json(value) => (200, value),
            Reply::LoseResponse => return Err(Dropped),
            Reply::Error(status, kind) if query.is_some() => {
                return Ok(query_error(service, status, kind));
            }
            Reply::Error(status, kind) => (
                status,
                serde_json::json!({"__type": kind, "message": "injected by the test proxy"}),
            ),
        };
        return Ok(Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(reply.to_string())))
            .unwrap_or_default());
    }
    let played = tasks.lock().ok().and_then(|mut t| t.answer(&action, &json));
    if let Some((reply, writes)) = played {
        for write in writes {
            write_logs(&client, &upstream, &write).await;
        }
        if lose_response {
            return Err(Dropped);
        }
        return Ok(Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(reply.to_string())))
            .unwrap_or_default());
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let Ok(request) = builder.body(Full::new(body)) else {
        return Ok(Response::builder()
            .status(500)
            .body(Full::new(Bytes::from("proxy: bad request")))
            .unwrap_or_default());
    };
    match client.request(request).await {
        Ok(_) if lose_response => Err(Dropped),
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes = read_all(body).await;
            Ok(Response::from_parts(parts, Full::new(bytes)))
        }
        Err(e) => Ok(Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!("proxy: {e}"))))
            .unwrap_or_default()),
    }
}

/// `(Action, service)` of a query-protocol call (IAM, EC2): a form body with `Action=` and
/// the API `Version` that tells the service.
fn query_call(body: &[u8]) -> Option<(String, &'static str)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut action = None;
    let mut service = None;
    for pair in text.split('&') {
        match pair.split_once('=') {
            Some(("Action", a)) => action = Some(a.to_string()),
            Some(("Version", "2010-05-08")) => service = Some("iam"),
            Some(("Version", "2016-11-15")) => service = Some("ec2"),
            _ => {}
        }
    }
    Some((action?, service?))
}

/// An error as a query-protocol service answers it: XML, IAM's `ErrorResponse` or EC2's
/// `Response/Errors`.
fn query_error(service: &str, status: u16, code: &str) -> Response<Full<Bytes>> {
    let message = "injected by the test proxy";
    let xml = if service == "ec2" {
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
        )
    } else {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(xml)))
        .unwrap_or_default()
}

/// EventBridge Scheduler is a REST API (no X-Amz-Target): its calls are named from the
/// method and path, so logs and faults use the operation names AWS documents.
fn rest_action(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, segments.as_slice()) {
        ("GET", ["schedules"]) => "ListSchedules",
        ("GET", ["schedules", _]) => "GetSchedule",
        ("PUT", ["schedules", _]) => "UpdateSchedule",
        ("POST", ["schedules", _]) => "CreateSchedule",
        ("DELETE", ["schedules", _]) => "DeleteSchedule",
        ("GET", ["schedule-groups"]) => "ListScheduleGroups",
        ("POST", ["schedule-groups", _]) => "CreateScheduleGroup",
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

fn schedule_in_path(path: &str) -> Option<String> {
    path.strip_prefix("/schedules/").map(str::to_string)
}

/// Makes hyper close the connection without a response.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the test proxy")
    }
}

impl std::error::Error for Dropped {}

async fn read_all(body: Incoming) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
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
