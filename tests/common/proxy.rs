//! A recording, fault-injecting HTTP proxy between jobdeploy (`AWS_ENDPOINT_URL`) and moto:
//! every request's action (X-Amz-Target, else method and path) is logged, so tests can assert
//! which calls were made — "plan writes nothing" is checked here, not hoped for. Faults: per
//! action (or every action, `*`) and optionally per rule, from the Nth matching request on:
//! an AWS error, a 200 with FailedEntryCount, a dropped connection; plus added latency.

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

pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
    _runtime: tokio::runtime::Runtime,
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
    /// Close the connection without answering.
    Drop,
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
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        forward(
                            req,
                            client.clone(),
                            upstream.clone(),
                            log.clone(),
                            faults.clone(),
                            latency.clone(),
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
            _runtime: runtime,
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

async fn forward(
    req: Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let delay = latency.lock().map(|l| *l).unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = req.into_parts();
    let body = read_all(body).await;
    let action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string)
        .unwrap_or_else(|| rest_action(parts.method.as_str(), parts.uri.path()));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Ok(mut l) = log.lock() {
        l.push((action.clone(), json.clone()));
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
            Reply::Drop | Reply::LoseResponse => return Err(Dropped),
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
