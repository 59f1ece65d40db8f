//! A stand-in Argo CD API server: `GET /api/v1/applications/{name}` answered from scripted
//! timelines of Application JSON shaped like Argo CD's own (the fields of
//! pkg/apis/application/v1alpha1/types.go as `argocd app get -o json` prints them), with
//! Argo CD's error bodies for 401/403/404. Each GET of an app serves its timeline's next
//! frame (the last one forever after). Plain http or TLS with the fixture certificate
//! (tests/e2e/fixtures/tls: `ca.pem` signed `server.pem` for 127.0.0.1).
//!
//! Every request is recorded with how many AWS writes the proxy had seen when it was
//! answered, so a test can show that no write happened before the final frame was served.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::IMAGE;

pub const TOKEN: &str = "argocd-test-token-5d2f";
pub const MANIFEST_PATH: &str = "apps/web";

/// One answered request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    /// Index of the frame served (`None`: an error answer).
    pub frame: Option<usize>,
    /// AWS writes the proxy had recorded when this was answered.
    pub writes_before: usize,
}

/// How an app answers.
#[derive(Clone)]
pub enum Script {
    Frames(Vec<Value>),
    Forbidden,
}

/// Something that happens in the world just before a frame is served (a push to the
/// manifest repo while the gate waits).
type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    apps: BTreeMap<String, (Script, usize)>,
    seen: Vec<Seen>,
    hooks: BTreeMap<(String, usize), Hook>,
}

type Probe = Arc<dyn Fn() -> usize + Send + Sync>;

pub struct ArgoCd {
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

impl ArgoCd {
    /// Plain http. `writes` counts the AWS writes so far (the proxy's).
    pub fn start(writes: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        Self::serve(false, Arc::new(writes))
    }

    /// TLS with tests/e2e/fixtures/tls/server.pem (trust `ca_pem()`).
    pub fn start_tls(writes: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        Self::serve(true, Arc::new(writes))
    }

    pub fn script(&self, app: &str, script: Script) {
        if let Ok(mut s) = self.state.lock() {
            s.apps.insert(app.to_string(), (script, 0));
        }
    }

    /// Runs `hook` just before frame `frame` of `app` is first served.
    pub fn before_frame(&self, app: &str, frame: usize, hook: impl FnOnce() + Send + 'static) {
        if let Ok(mut s) = self.state.lock() {
            s.hooks.insert((app.to_string(), frame), Box::new(hook));
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .lock()
            .map(|s| s.seen.clone())
            .unwrap_or_default()
    }

    fn serve(tls: bool, writes: Probe) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("{}://{addr}", if tls { "https" } else { "http" });
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let acceptor = tls.then(|| tokio_rustls::TlsAcceptor::from(Arc::new(server_config())));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                let writes = writes.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        let writes = writes.clone();
                        async move { Ok::<_, hyper::Error>(answer(&req, &state, &writes)) }
                    });
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Self {
            url,
            state,
            _runtime: runtime,
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/e2e/fixtures/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("TLS fixture")
}

pub fn ca_pem() -> Vec<u8> {
    fixture("ca.pem")
}

pub fn server_config() -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&fixture("server.pem"))
            .collect::<Result<_, _>>()
            .expect("server.pem");
    let key = PrivateKeyDer::from_pem_slice(&fixture("server.key")).expect("server.key");
    rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server cert")
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Argo CD's error body (grpc-gateway): `error`, `code` (gRPC), `message`.
fn error(status: StatusCode, code: u8, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        &json!({"error": message, "code": code, "message": message}),
    )
}

fn answer(
    req: &Request<hyper::body::Incoming>,
    state: &Mutex<State>,
    writes: &Probe,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Ok(mut s) = state.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, 13, "poisoned");
    };
    let mut seen = Seen {
        path: path.clone(),
        query,
        authorization: authorization.clone(),
        frame: None,
        writes_before: writes(),
    };
    let response = if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        error(
            StatusCode::UNAUTHORIZED,
            16,
            "invalid session: token signature is invalid",
        )
    } else if let Some(name) = path.strip_prefix("/api/v1/applications/") {
        match s.apps.get_mut(name) {
            None => error(
                StatusCode::NOT_FOUND,
                5,
                &format!("applications.argoproj.io \"{name}\" not found"),
            ),
            Some((Script::Forbidden, _)) => error(
                StatusCode::FORBIDDEN,
                7,
                "permission denied: applications, get, default/web-production, sub: jobdeploy, iat: 2026-03-01T10:00:00Z",
            ),
            Some((Script::Frames(frames), at)) => {
                let i = (*at).min(frames.len() - 1);
                *at += 1;
                seen.frame = Some(i);
                let response = reply(StatusCode::OK, &frames[i]);
                if let Some(hook) = s.hooks.remove(&(name.to_string(), i)) {
                    hook();
                }
                response
            }
        }
    } else {
        error(StatusCode::NOT_FOUND, 5, "Not Found")
    };
    s.seen.push(seen);
    response
}

/// One frame of an app's timeline: the fields the gate reads, the rest shaped as Argo CD
/// serves them.
#[derive(Clone)]
pub struct Frame {
    pub sync: &'static str,
    pub sync_revision: String,
    pub health: &'static str,
    /// `None`: no operation has run yet.
    pub phase: Option<&'static str>,
    pub op_revision: String,
    pub started: String,
    pub finished: Option<String>,
    pub reconciled: String,
    pub tags: Vec<&'static str>,
    /// `(hookPhase)` of the PreSync Job web/db-migrate, when the sync has one.
    pub hook: Option<&'static str>,
    pub message: &'static str,
    pub retry: i64,
    pub history: Vec<(String, String)>,
    pub repo_url: String,
}

/// RFC 3339, `seconds` from now (negative: in the past).
pub fn at(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    aws_smithy_types::DateTime::from_secs(now + seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .expect("time")
}

impl Frame {
    /// The app synced and healthy on `revision`, running `tag` — before the release.
    pub fn settled(revision: &str, tag: &'static str, repo_url: &str) -> Self {
        Frame {
            sync: "Synced",
            sync_revision: revision.to_string(),
            health: "Healthy",
            phase: Some("Succeeded"),
            op_revision: revision.to_string(),
            started: at(-3600),
            finished: Some(at(-3590)),
            reconciled: at(-60),
            tags: vec![tag],
            hook: None,
            message: "successfully synced (all tasks run)",
            retry: 0,
            history: vec![(revision.to_string(), at(-3600))],
            repo_url: repo_url.to_string(),
        }
    }

    pub fn json(&self) -> Value {
        let source =
            json!({"repoURL": self.repo_url, "path": MANIFEST_PATH, "targetRevision": "main"});
        let resources: Vec<Value> = self
            .hook
            .iter()
            .map(|phase| json!({"group": "batch", "version": "v1", "kind": "Job", "namespace": "web", "name": "db-migrate", "hookType": "PreSync", "hookPhase": phase, "syncPhase": "PreSync", "message": if *phase == "Failed" { "Job has reached the specified backoff limit" } else { "" }}))
            .collect();
        let history: Vec<Value> = self
            .history
            .iter()
            .enumerate()
            .map(|(i, (rev, t))| json!({"id": i, "revision": rev, "deployStartedAt": t, "deployedAt": t, "source": source, "initiatedBy": {"automated": true}}))
            .collect();
        let mut app = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web-production", "namespace": "argocd", "resourceVersion": "123456"},
            "spec": {"project": "default", "source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}, "syncPolicy": {"automated": {"prune": true}, "retry": {"limit": 3}}},
            "status": {
                "sync": {"status": self.sync, "revision": self.sync_revision, "comparedTo": {"source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}},
                "health": {"status": self.health, "lastTransitionTime": at(-30)},
                "history": history,
                "reconciledAt": self.reconciled,
                "sourceType": "Kustomize",
                "summary": {"images": self.tags.iter().map(|t| format!("{IMAGE}:{t}")).chain(["docker.io/library/redis:7.2".to_string()]).collect::<Vec<_>>()},
                "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web", "status": self.sync, "health": {"status": self.health}}],
                "controllerNamespace": "argocd",
            }
        });
        if let Some(phase) = self.phase {
            let mut op = json!({
                "operation": {"sync": {"revision": self.op_revision, "syncStrategy": {"hook": {}}}, "initiatedBy": {"automated": true}, "retry": {"limit": 3}},
                "phase": phase,
                "message": self.message,
                "startedAt": self.started,
                "syncResult": {"resources": resources, "revision": self.op_revision, "source": source},
            });
            if let Some(f) = &self.finished {
                op["finishedAt"] = json!(f);
            }
            if self.retry > 0 {
                op["retryCount"] = json!(self.retry);
            }
            app["status"]["operationState"] = op;
        }
        app
    }
}

/// The success timeline for releasing `tag` at commit `c` over `old` (on `old_tag`):
/// OutOfSync → Running with a PreSync hook → Succeeded + Progressing → stale Healthy → Healthy.
pub fn sync_timeline(
    old: &str,
    old_tag: &'static str,
    c: &str,
    tag: &'static str,
    repo_url: &str,
) -> Vec<Value> {
    let before = Frame::settled(old, old_tag, repo_url);
    let out_of_sync = Frame {
        sync: "OutOfSync",
        ..before.clone()
    };
    let running = Frame {
        sync: "OutOfSync",
        phase: Some("Running"),
        op_revision: c.to_string(),
        started: at(-5),
        finished: None,
        hook: Some("Running"),
        message: "waiting for completion of hook batch/Job/db-migrate",
        ..before.clone()
    };
    let mut history = before.history.clone();
    history.push((c.to_string(), at(-5)));
    let progressing = Frame {
        sync: "Synced",
        sync_revision: c.to_string(),
        health: "Progressing",
        phase: Some("Succeeded"),
        op_revision: c.to_string(),
        started: at(-5),
        finished: Some(at(-1)),
        reconciled: at(-1),
        tags: vec![old_tag, tag],
        hook: Some("Succeeded"),
        message: "successfully synced (all tasks run)",
        history,
        ..before.clone()
    };
    let stale = Frame {
        health: "Healthy",
        tags: vec![tag],
        reconciled: at(-3),
        ..progressing.clone()
    };
    let healthy = Frame {
        reconciled: at(1),
        ..stale.clone()
    };
    vec![
        out_of_sync.json(),
        running.json(),
        progressing.json(),
        stale.json(),
        healthy.json(),
    ]
}
