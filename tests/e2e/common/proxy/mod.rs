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
//! [`Proxy::script_task`] queues how the next RunTask's task behaves; and IAM's
//! `SimulatePrincipalPolicy`, which moto lacks, over the role policies moto holds
//! (`simulate.rs`).
//!
//! Here the server and what it recorded; `forward.rs` answers each request (recording,
//! throttling, faults, played tasks, else forwarding to moto), `quotas.rs` the quota groups
//! and their buckets, `faults.rs` what a fault replies.

mod cbor;
mod faults;
mod forward;
mod quotas;
mod registered;
mod simulate;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::tasks::{Script, Tasks};
use forward::forward;
use quotas::Quotas;
use registered::Registrations;

pub use faults::{Fault, Reply};
pub use quotas::QuotaGroup;

pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    latency: Arc<Mutex<Duration>>,
    quotas: Arc<Mutex<Quotas>>,
    tasks: Arc<Mutex<Tasks>>,
    simulator: simulate::Simulator,
    _runtime: tokio::runtime::Runtime,
}

/// The verbs of AWS calls that change nothing: `DescribeX`, `ListX`, `GetX`, `BatchGetX`,
/// `SimulateX` (IAM's policy simulator), `SearchX`, `LookupX` (CloudTrail), `FilterX`
/// (CloudWatch Logs). Chosen as what the call does, not what it is named like: no AWS API
/// has a `Get…`/`List…`/`Describe…` call that writes.
pub const READ_VERBS: &[&str] = &[
    "Describe", "List", "Get", "BatchGet", "Simulate", "Search", "Lookup", "Filter",
];

/// Calls that change AWS state: every call that is not an explicit read, so a call nobody
/// thought of (`EnableRule`, `StartExecution`, `AttachRolePolicy`, a Scheduler REST call not
/// mapped to its name, logged as `METHOD /path`) counts as a write and "writes nothing" fails
/// rather than passes.
pub fn is_write(action: &str) -> bool {
    !READ_VERBS.iter().any(|verb| {
        action
            .strip_prefix(verb)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
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
        let registrations: Arc<Mutex<Registrations>> = Arc::default();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.to_string();
        let simulator = simulate::Simulator::new(aws_sdk_iam::Client::new(
            &super::aws::sdk_config(&runtime, &upstream),
        ));
        let shared_simulator = simulator.clone();
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
                let registrations = registrations.clone();
                let simulator = shared_simulator.clone();
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
                            registrations.clone(),
                            simulator.clone(),
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
            simulator,
            _runtime: runtime,
        }
    }

    /// `SimulatePrincipalPolicy` answers at most `results` evaluation results a page, as
    /// IAM may ("IAM might return fewer than the MaxItems number of results even when there
    /// are more results available":
    /// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html),
    /// so the caller must follow `Marker`.
    pub fn simulate_page(&self, results: usize) {
        self.simulator.set_page(results);
    }

    /// The next RunTask starts a task that behaves as `script` says.
    pub fn script_task(&self, script: Script) {
        if let Ok(mut t) = self.tasks.lock() {
            t.push(script);
        }
    }

    /// ECS shows this task from an earlier run (see [`super::tasks::recent_task`]).
    pub fn remember_task(&self, task: serde_json::Value) {
        if let Ok(mut t) = self.tasks.lock() {
            t.remember(task);
        }
    }

    /// The RunTask requests that started a scripted task.
    pub fn started_tasks(&self) -> Vec<serde_json::Value> {
        self.tasks.lock().map(|t| t.started()).unwrap_or_default()
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

    /// Every request so far, in order: its action and JSON body.
    pub fn calls(&self) -> Vec<(String, serde_json::Value)> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
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

    /// Counts the writes recorded so far, from another thread (the Argo CD stand-in asks it
    /// at each request it answers).
    pub fn write_counter(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let log = self.log.clone();
        move || {
            log.lock()
                .map(|l| l.iter().filter(|(a, _)| is_write(a)).count())
                .unwrap_or(0)
        }
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
