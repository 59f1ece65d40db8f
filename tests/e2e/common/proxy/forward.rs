//! One request through the proxy: recorded, then throttled, faulted, played (ECS tasks,
//! IAM's policy simulation) or forwarded to moto.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use super::cbor;
use super::faults::{Dropped, Fault, Reply};
use super::quotas::{QuotaGroup, Quotas};
use super::registered::Registrations;
use crate::common::tasks::{Tasks, write_logs};

// Each piece of shared state is its own handle, as the Proxy hands them out.
#[allow(clippy::too_many_arguments)]
pub(super) async fn forward(
    req: Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
    quotas: Arc<Mutex<Quotas>>,
    tasks: Arc<Mutex<Tasks>>,
    registrations: Arc<Mutex<Registrations>>,
    simulator: super::simulate::Simulator,
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
    // CloudWatch speaks Smithy RPC v2 CBOR: translated for moto (see cbor.rs).
    let rpc_cbor = parts
        .headers
        .get("smithy-protocol")
        .is_some_and(|v| v.as_bytes() == b"rpc-v2-cbor")
        .then(|| cbor::call(parts.uri.path()))
        .flatten();
    // IAM and EC2 speak the query protocol: a form body with `Action` and `Version`.
    let query = query_call(&body);
    let service = match (&query, &rpc_cbor) {
        (Some((_, service)), _) => *service,
        (None, Some((service, _))) => service.as_str(),
        (None, None) => target.split('.').next().unwrap_or_default(),
    };
    let action = match (&query, &rpc_cbor) {
        (Some((action, _)), _) => action.clone(),
        (None, Some((_, operation))) => operation.clone(),
        (None, None) => target
            .rsplit_once('.')
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| rest_action(parts.method.as_str(), parts.uri.path())),
    };
    let json: serde_json::Value = match &rpc_cbor {
        Some(_) => cbor::to_json(&body),
        None => serde_json::from_slice(&body).unwrap_or_default(),
    };
    if let Ok(mut l) = log.lock() {
        l.push((action.clone(), json.clone()));
    }
    let throttled = quotas
        .lock()
        .is_ok_and(|mut q| q.throttles(QuotaGroup::of(service, &action)));
    if throttled && query.is_some() {
        return Ok(query_error(service, 400, "Throttling"));
    }
    if throttled && rpc_cbor.is_some() {
        return Ok(cbor_reply(
            400,
            cbor::error("ThrottlingException", "Rate exceeded"),
        ));
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
    // What a fault's `rule` matches: the rule in the body, the schedule in the path, or the
    // family a RegisterTaskDefinition registers.
    let subject = json
        .get("Rule")
        .or_else(|| json.get("family"))
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
            Reply::Json(value) if rpc_cbor.is_some() => {
                return Ok(cbor_reply(200, cbor::from_json(&value)));
            }
            Reply::Json(value) => (200, value),
            Reply::Xml(xml) => {
                return Ok(Response::builder()
                    .status(200)
                    .header("content-type", "text/xml")
                    .body(Full::new(Bytes::from(xml)))
                    .unwrap_or_default());
            }
            Reply::LoseResponse => return Err(Dropped),
            Reply::Error(status, kind) if query.is_some() => {
                return Ok(query_error(service, status, kind));
            }
            Reply::Error(status, kind) if rpc_cbor.is_some() => {
                return Ok(cbor_reply(
                    status,
                    cbor::error(kind, "injected by the test proxy"),
                ));
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
    if service == "iam" && action == "SimulatePrincipalPolicy" {
        return Ok(simulator.answer(&body).await);
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
    if let Some((service, operation)) = &rpc_cbor {
        return translate(
            &client,
            &upstream,
            &parts,
            service,
            operation,
            &json,
            lose_response,
        )
        .await;
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
            let (mut parts, body) = response.into_parts();
            let mut bytes = read_all(body).await;
            let stamped = if parts.status.is_success() {
                registrations
                    .lock()
                    .ok()
                    .and_then(|mut r| r.stamp(&action, &bytes))
            } else {
                None
            };
            if let Some(stamped) = stamped {
                bytes = stamped;
                parts.headers.remove(hyper::header::CONTENT_LENGTH);
            }
            Ok(Response::from_parts(parts, Full::new(bytes)))
        }
        Err(e) => Ok(Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!("proxy: {e}"))))
            .unwrap_or_default()),
    }
}

/// An RPC v2 CBOR answer.
fn cbor_reply(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/cbor")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// Sends an RPC v2 CBOR call to moto as AWS JSON 1.0 and answers in CBOR.
async fn translate(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    parts: &hyper::http::request::Parts,
    service: &str,
    operation: &str,
    json: &serde_json::Value,
    lose_response: bool,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let mut builder = Request::builder()
        .method("POST")
        .uri(format!("{upstream}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("{service}.{operation}"));
    if let Some(auth) = parts.headers.get("authorization") {
        builder = builder.header("authorization", auth);
    }
    let Ok(request) = builder.body(Full::new(Bytes::from(json.to_string()))) else {
        return Ok(cbor_reply(
            500,
            cbor::error("InternalFailure", "proxy: bad request"),
        ));
    };
    let response = match client.request(request).await {
        Ok(_) if lose_response => return Err(Dropped),
        Ok(response) => response,
        Err(e) => {
            return Ok(cbor_reply(
                502,
                cbor::error("InternalFailure", &format!("proxy: {e}")),
            ));
        }
    };
    let status = response.status().as_u16();
    let bytes = read_all(response.into_body()).await;
    // An empty answer (an operation with no output) is an empty structure.
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| serde_json::json!({}));
    if status >= 300 {
        let (code, message) = cbor::json_error(&answer);
        return Ok(cbor_reply(status, cbor::error(&code, &message)));
    }
    Ok(cbor_reply(status, cbor::from_json(&answer)))
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
            Some(("Version", "2010-05-15")) => service = Some("cloudformation"),
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
/// method and path, so logs and faults use the operation names AWS documents. All twelve
/// operations of the API, as its reference lists them
/// (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Operations.html; the method
/// and path of each in botocore's scheduler/2021-06-30 model). Anything else is logged as
/// `METHOD /path`, which [`super::is_write`] counts as a write.
pub(super) fn rest_action(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, segments.as_slice()) {
        ("GET", ["schedules"]) => "ListSchedules",
        ("GET", ["schedules", _]) => "GetSchedule",
        ("POST", ["schedules", _]) => "CreateSchedule",
        ("PUT", ["schedules", _]) => "UpdateSchedule",
        ("DELETE", ["schedules", _]) => "DeleteSchedule",
        ("GET", ["schedule-groups"]) => "ListScheduleGroups",
        ("GET", ["schedule-groups", _]) => "GetScheduleGroup",
        ("POST", ["schedule-groups", _]) => "CreateScheduleGroup",
        ("DELETE", ["schedule-groups", _]) => "DeleteScheduleGroup",
        // The ARN is one percent-encoded segment (`%2F` for its `/`); any more are the ARN's.
        ("GET", ["tags", _, ..]) => "ListTagsForResource",
        ("POST", ["tags", _, ..]) => "TagResource",
        ("DELETE", ["tags", _, ..]) => "UntagResource",
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

fn schedule_in_path(path: &str) -> Option<String> {
    path.strip_prefix("/schedules/").map(str::to_string)
}

async fn read_all(body: Incoming) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}
