//! A stand-in Kubernetes API server, faithful enough for kubectl itself: the legacy
//! discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`, Flux's group), GET of
//! apps/v1 Deployments, StatefulSets and DaemonSets and of Flux Kustomizations, their lists
//! (kubectl's `rollout status` lists with `fieldSelector=metadata.name=…`, then watches),
//! and the pod list of a namespace filtered by `labelSelector`.
//!
//! Objects are scripted timelines: each GET of an object answers the next state of its
//! timeline and then stays on the last one, so a test scripts a rollout poll by poll. A
//! list answers the state the last GET answered (kubectl GETs, then lists). With
//! [`KubeApi::require_token`] every request without that bearer token is answered 401 as
//! the API server answers it. Every request is recorded (method, path and query). It speaks
//! TLS with tests/e2e/fixtures/tls/server.pem; its kubeconfig trusts the CA beside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// One object's scripted states: `next` is what the next GET answers, `last` what the
/// last GET answered (what a list shows).
struct Timeline {
    states: Vec<Value>,
    next: usize,
    last: usize,
}

#[derive(Default)]
struct State {
    objects: HashMap<String, Timeline>,
    /// Namespace → pod list timeline, advanced per list.
    pods: HashMap<String, (Vec<Vec<Value>>, usize)>,
    /// Whether a request's bearer token is accepted; `None`: every request is.
    token: Option<Accepts>,
    /// Each request, and how many AWS writes the proxy had seen when it was answered.
    log: Vec<(String, usize)>,
}

type Probe = Arc<dyn Fn() -> usize + Send + Sync>;
type Accepts = Box<dyn Fn(&str) -> bool + Send>;

pub struct KubeApi {
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

/// The discovery documents kubectl reads (legacy, unaggregated: kubectl falls back to them
/// when the server does not answer the aggregated form).
fn discovery(path: &str) -> Option<Value> {
    let resource = |name: &str, kind: &str, namespaced: bool, short: &[&str]| {
        json!({
            "name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced,
            "kind": kind, "verbs": ["get", "list", "watch"], "shortNames": short,
        })
    };
    let group = |name: &str, version: &str| {
        json!({
            "name": name,
            "versions": [{"groupVersion": format!("{name}/{version}"), "version": version}],
            "preferredVersion": {"groupVersion": format!("{name}/{version}"), "version": version},
        })
    };
    Some(match path {
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }),
        "/apis" => json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group("apps", "v1"), group("kustomize.toolkit.fluxcd.io", "v1")],
        }),
        "/api/v1" => json!({
            "kind": "APIResourceList", "groupVersion": "v1",
            "resources": [resource("pods", "Pod", true, &["po"])],
        }),
        "/apis/apps/v1" => json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
            "resources": [
                resource("deployments", "Deployment", true, &["deploy"]),
                resource("statefulsets", "StatefulSet", true, &["sts"]),
                resource("daemonsets", "DaemonSet", true, &["ds"]),
            ],
        }),
        "/apis/kustomize.toolkit.fluxcd.io/v1" => json!({
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "kustomize.toolkit.fluxcd.io/v1",
            "resources": [resource("kustomizations", "Kustomization", true, &["ks"])],
        }),
        "/version" => json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64",
        }),
        _ => return None,
    })
}

/// The API server's `Status` error body.
fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    respond(code, &body)
}

fn respond(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `labels` satisfy a `matchLabels`-style selector `a=b,c=d` (the form jobdeploy and
/// kubectl send for the workloads here).
fn selects(selector: &str, labels: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (key, value) = term.split_once('=').unwrap_or((term, ""));
        let value = value.trim_start_matches('=');
        labels.get(key.trim()).and_then(Value::as_str) == Some(value.trim())
    })
}

/// The kind and apiVersion of the objects under a collection path segment.
fn kind_of(plural: &str) -> Option<(&'static str, &'static str)> {
    Some(match plural {
        "deployments" => ("Deployment", "apps/v1"),
        "statefulsets" => ("StatefulSet", "apps/v1"),
        "daemonsets" => ("DaemonSet", "apps/v1"),
        "kustomizations" => ("Kustomization", "kustomize.toolkit.fluxcd.io/v1"),
        "pods" => ("Pod", "v1"),
        _ => return None,
    })
}

fn answer(state: &Mutex<State>, writes: &Probe, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let Ok(mut state) = state.lock() else {
        return status(500, "InternalError", "stand-in state poisoned");
    };
    let line = if query.is_empty() {
        format!("{} {path}", req.method())
    } else {
        format!("{} {path}?{query}", req.method())
    };
    state.log.push((line, writes()));
    if let Some(accepts) = &state.token {
        let sent = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !sent.is_some_and(accepts.as_ref()) {
            return status(401, "Unauthorized", "Unauthorized");
        }
    }
    if let Some(doc) = discovery(&path) {
        return respond(200, &doc);
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // /api/v1/namespaces/NS/pods or /apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME]
    let (namespace, plural, name) = match segments.as_slice() {
        ["api", "v1", "namespaces", ns, plural] => (*ns, *plural, None),
        ["apis", _, _, "namespaces", ns, plural] => (*ns, *plural, None),
        ["apis", _, _, "namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
    };
    let Some((kind, api_version)) = kind_of(plural) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let group = if plural == "deployments" || plural == "statefulsets" || plural == "daemonsets" {
        format!("{plural}.apps")
    } else if plural == "kustomizations" {
        "kustomizations.kustomize.toolkit.fluxcd.io".to_string()
    } else {
        plural.to_string()
    };
    let not_found = |name: &str| status(404, "NotFound", &format!("{group} \"{name}\" not found"));
    if plural == "pods" {
        let selector = query_param(&query, "labelSelector").unwrap_or_default();
        let items: Vec<Value> = match state.pods.get_mut(namespace) {
            Some((timeline, at)) => {
                let pods = timeline.get(*at).cloned().unwrap_or_default();
                *at = (*at + 1).min(timeline.len().saturating_sub(1));
                pods
            }
            None => Vec::new(),
        };
        let items: Vec<Value> = items
            .into_iter()
            .filter(|p| {
                selects(
                    &selector,
                    p.pointer("/metadata/labels").unwrap_or(&Value::Null),
                )
            })
            .collect();
        return respond(
            200,
            &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}),
        );
    }
    let with_kind = |mut obj: Value| {
        if let Some(map) = obj.as_object_mut() {
            map.entry("kind").or_insert_with(|| json!(kind));
            map.entry("apiVersion")
                .or_insert_with(|| json!(api_version));
            if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.entry("resourceVersion").or_insert_with(|| json!("1"));
            }
        }
        obj
    };
    match name {
        Some(name) => {
            let key = format!("/{}", segments.join("/"));
            let Some(timeline) = state.objects.get_mut(&key) else {
                return not_found(name);
            };
            let obj = timeline
                .states
                .get(timeline.next)
                .cloned()
                .unwrap_or_default();
            timeline.last = timeline.next;
            timeline.next = (timeline.next + 1).min(timeline.states.len().saturating_sub(1));
            respond(200, &with_kind(obj))
        }
        None => {
            let wanted = query_param(&query, "fieldSelector")
                .and_then(|s| s.strip_prefix("metadata.name=").map(str::to_string));
            let prefix = format!("/{}/", segments.join("/"));
            let mut items = Vec::new();
            for (key, timeline) in &state.objects {
                let Some(object_name) = key.strip_prefix(&prefix) else {
                    continue;
                };
                if wanted.as_deref().is_some_and(|w| w != object_name) {
                    continue;
                }
                let obj = timeline
                    .states
                    .get(timeline.last)
                    .cloned()
                    .unwrap_or_default();
                items.push(with_kind(obj));
            }
            if query_param(&query, "watch").as_deref() == Some("true") {
                return watch_events(&query, kind, api_version, items);
            }
            respond(
                200,
                &json!({
                    "kind": format!("{kind}List"), "apiVersion": api_version,
                    "metadata": {"resourceVersion": "1"}, "items": items,
                }),
            )
        }
    }
}

/// A watch: kubectl watches after its list (or, with client-go's watch-list, instead of it:
/// `sendInitialEvents=true` wants every object as ADDED, then a BOOKMARK marking the end of
/// the initial events). The stream then ends; with `--watch=false` kubectl is done by then.
fn watch_events(
    query: &str,
    kind: &str,
    api_version: &str,
    items: Vec<Value>,
) -> Response<Full<Bytes>> {
    let mut lines = String::new();
    if query_param(query, "sendInitialEvents").as_deref() == Some("true") {
        for item in items {
            lines.push_str(&json!({"type": "ADDED", "object": item}).to_string());
            lines.push('\n');
        }
        let bookmark = json!({
            "type": "BOOKMARK",
            "object": {
                "kind": kind, "apiVersion": api_version,
                "metadata": {"resourceVersion": "1", "annotations": {"k8s.io/initial-events-end": "true"}},
            },
        });
        lines.push_str(&bookmark.to_string());
        lines.push('\n');
    }
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(lines)))
        .unwrap_or_default()
}

impl KubeApi {
    pub fn start() -> Self {
        Self::start_with(|| 0)
    }

    /// `writes` counts the AWS writes so far (the proxy's `write_counter`): each request
    /// records it, so a test can say no write came before the rollout's last state.
    pub fn start_with(writes: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        let writes: Probe = Arc::new(writes);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        // TLS, as every API server: kubectl sends no bearer token over plain http.
        let url = format!("https://{}", listener.local_addr().expect("addr"));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(super::argocd::server_config()));
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                let writes = writes.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let response = answer(&state, &writes, &req);
                        async move { Ok::<_, std::convert::Infallible>(response) }
                    });
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            state,
            _runtime: runtime,
        }
    }

    /// Scripts `path`'s object (`/apis/apps/v1/namespaces/web/deployments/web`): each GET
    /// answers the next state, then the last one for ever.
    pub fn script(&self, path: &str, timeline: Vec<Value>) {
        if let Ok(mut s) = self.state.lock() {
            s.objects.insert(
                path.to_string(),
                Timeline {
                    states: timeline,
                    next: 0,
                    last: 0,
                },
            );
        }
    }

    /// Scripts the pods of `namespace`: each list answers the next set.
    pub fn script_pods(&self, namespace: &str, timeline: Vec<Vec<Value>>) {
        if let Ok(mut s) = self.state.lock() {
            s.pods.insert(namespace.to_string(), (timeline, 0));
        }
    }

    /// Every request must carry `Authorization: Bearer <token>`, else 401.
    pub fn require_token(&self, token: &str) {
        let token = token.to_string();
        self.require_token_that(move |t| t == token);
    }

    /// Every request must carry a bearer token `accepts` accepts, else 401.
    pub fn require_token_that(&self, accepts: impl Fn(&str) -> bool + Send + 'static) {
        if let Ok(mut s) = self.state.lock() {
            s.token = Some(Box::new(accepts));
        }
    }

    /// Every request so far: `GET /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.seen().into_iter().map(|(r, _)| r).collect()
    }

    /// Every request so far with the AWS writes made before it was answered.
    pub fn seen(&self) -> Vec<(String, usize)> {
        self.state.lock().map(|s| s.log.clone()).unwrap_or_default()
    }

    /// A kubeconfig file `dir/config` whose one context `stand-in` points here, with `token`
    /// (`dir` = `$HOME/.kube` makes it the default kubeconfig).
    pub fn kubeconfig(&self, dir: &std::path::Path, token: &str) -> std::path::PathBuf {
        std::fs::create_dir_all(dir).expect("kubeconfig dir");
        let path = dir.join("config");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: stand-in\nclusters:\n- name: stand-in\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: ci\nusers:\n- name: ci\n  user:\n    token: {token}\n",
            self.url,
            aws_smithy_types::base64::encode(super::argocd::ca_pem())
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}
