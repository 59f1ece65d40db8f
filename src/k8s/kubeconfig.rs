//! Where the Kubernetes API is and how to prove who we are, as kubectl finds out: the
//! kubeconfig files of `KUBECONFIG` (a `:`-separated list, merged as client-go merges them:
//! the first file to name a cluster, user or context wins, as does the first
//! `current-context`) or `~/.kube/config`; a context (`[k8s.api] context`, else
//! `current-context`) gives the server, its CA (`certificate-authority-data` or the file
//! `certificate-authority`, relative to the kubeconfig that names it),
//! `insecure-skip-tls-verify`, and the user's `token` / `tokenFile`,
//! `client-certificate(-data)` / `client-key(-data)` or an `exec` credential plugin
//! (`client.authentication.k8s.io/v1` and `v1beta1` ExecCredential). With no kubeconfig
//! inside a pod, the service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and
//! `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}`).
//!
//! Every error names the kubeconfig file and the context, cluster or user key at fault.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::http::TlsOptions;
use crate::error::{Error, Result};

/// The service account mount of every pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What the loader reads from the process: its environment and home directory, so tests
/// can give their own.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub kubeconfig: Option<OsString>,
    pub home: Option<PathBuf>,
    pub service_host: Option<String>,
    pub service_port: Option<String>,
    pub service_account_dir: PathBuf,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()),
            home: std::env::var_os("HOME").map(PathBuf::from),
            service_host: std::env::var("KUBERNETES_SERVICE_HOST").ok(),
            service_port: std::env::var("KUBERNETES_SERVICE_PORT").ok(),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
        }
    }
}

/// How requests prove who we are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Token(String),
    /// Re-read on every use: projected service-account tokens rotate.
    TokenFile(PathBuf),
    Exec(ExecPlugin),
    /// `[k8s.api] eks_cluster`: the token is made from the AWS credentials.
    Eks {
        cluster: String,
    },
}

/// A user's `exec` credential plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlugin {
    pub api_version: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub install_hint: Option<String>,
    /// `spec.cluster` for `provideClusterInfo: true`.
    pub cluster_info: Option<Value>,
    /// Where it was configured, for errors: `<file>: user "<name>"`.
    pub origin: String,
}

/// The API server and how to reach it.
#[derive(Debug, Clone)]
pub struct Access {
    pub server: String,
    pub tls: TlsOptions,
    pub credential: Credential,
    /// For errors and `plan`: `context "prod" in /home/me/.kube/config`, or `the pod's
    /// service account`.
    pub origin: String,
}

struct Loaded {
    /// name → (entry, the file that named it first)
    clusters: BTreeMap<String, (Value, PathBuf)>,
    users: BTreeMap<String, (Value, PathBuf)>,
    contexts: BTreeMap<String, (Value, PathBuf)>,
    current_context: Option<(String, PathBuf)>,
    files: Vec<PathBuf>,
}

fn kubeconfig_paths(env: &Env) -> Vec<PathBuf> {
    match &env.kubeconfig {
        Some(list) => std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => env
            .home
            .iter()
            .map(|h| h.join(".kube").join("config"))
            .collect(),
    }
}

/// Reads and merges the files; missing ones are skipped, as kubectl skips them.
fn load_files(paths: &[PathBuf]) -> Result<Loaded> {
    let mut loaded = Loaded {
        clusters: BTreeMap::new(),
        users: BTreeMap::new(),
        contexts: BTreeMap::new(),
        current_context: None,
        files: Vec::new(),
    };
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::new(format!(
                    "kubeconfig {}: cannot read it: {e}",
                    path.display()
                )));
            }
        };
        let doc: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_saphyr::from_str(&text).map_err(|e| {
                Error::new(format!(
                    "kubeconfig {}: not valid YAML: {e}",
                    path.display()
                ))
            })?
        };
        loaded.files.push(path.clone());
        for (list, key, into) in [
            ("clusters", "cluster", &mut loaded.clusters),
            ("users", "user", &mut loaded.users),
            ("contexts", "context", &mut loaded.contexts),
        ] {
            for entry in doc
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = entry.get("name").and_then(Value::as_str) else {
                    return Err(Error::new(format!(
                        "kubeconfig {}: an entry of `{list}` has no name",
                        path.display()
                    )));
                };
                into.entry(name.to_string()).or_insert_with(|| {
                    (entry.get(key).cloned().unwrap_or(json!({})), path.clone())
                });
            }
        }
        if loaded.current_context.is_none()
            && let Some(current) = doc.get("current-context").and_then(Value::as_str)
            && !current.is_empty()
        {
            loaded.current_context = Some((current.to_string(), path.clone()));
        }
    }
    Ok(loaded)
}

fn field<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A path in a kubeconfig, relative to the file that names it.
fn relative_to(file: &Path, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

fn decode_data(data: &str, what: &str) -> Result<Vec<u8>> {
    let compact: String = data.split_whitespace().collect();
    aws_smithy_types::base64::decode(&compact)
        .map_err(|e| Error::new(format!("{what} is not base64: {e}")))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::new(format!("{what} {}: cannot read it: {e}", path.display())))
}

/// `*-data` (base64) or the file beside it, relative to the kubeconfig naming it.
fn data_or_file(entry: &Value, file: &Path, key: &str) -> Result<Option<Vec<u8>>> {
    if let Some(data) = field(entry, &format!("{key}-data")) {
        return decode_data(data, &format!("{key}-data")).map(Some);
    }
    match field(entry, key) {
        Some(path) => read_file(&relative_to(file, path), key).map(Some),
        None => Ok(None),
    }
}

/// Finds the API server and credentials: the kubeconfig context `context` (else its
/// `current-context`), or with no kubeconfig at all the pod's service account.
/// `eks_cluster` replaces the user's credentials with the EKS token (the context then needs
/// no user).
pub fn load(env: &Env, context: Option<&str>, eks_cluster: Option<&str>) -> Result<Access> {
    let paths = kubeconfig_paths(env);
    let loaded = load_files(&paths)?;
    if loaded.files.is_empty() {
        if let (Some(host), Some(port)) = (&env.service_host, &env.service_port) {
            return in_cluster(env, host, port, eks_cluster);
        }
        let looked = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::new(format!(
            "[k8s.api]: no kubeconfig found (looked at {}) and not running in a pod",
            if looked.is_empty() {
                "nothing: no KUBECONFIG, no HOME".into()
            } else {
                looked
            }
        ))
        .hint("set KUBECONFIG, or run `aws eks update-kubeconfig --name <cluster>` to write one"));
    }
    let files = loaded
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let (name, named_in) = match context {
        Some(name) => (name.to_string(), None),
        None => match &loaded.current_context {
            Some((name, file)) => (name.clone(), Some(file.clone())),
            None => {
                return Err(Error::new(format!(
                    "kubeconfig {files}: no current-context, and [k8s.api] context is not set"
                ))
                .hint("set [k8s.api] context to one of its contexts"));
            }
        },
    };
    let Some((ctx, ctx_file)) = loaded.contexts.get(&name) else {
        let known = loaded
            .contexts
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let by = match named_in {
            Some(file) => format!("current-context of {}", file.display()),
            None => "[k8s.api] context".into(),
        };
        return Err(Error::new(format!(
            "kubeconfig {files}: no context {name:?} (named by {by}); it has: {}",
            if known.is_empty() {
                "none".into()
            } else {
                known
            }
        )));
    };
    let origin = format!("context {name:?} in {}", ctx_file.display());
    let Some(cluster_name) = field(ctx, "cluster") else {
        return Err(Error::new(format!(
            "kubeconfig {}: context {name:?} names no cluster",
            ctx_file.display()
        )));
    };
    let Some((cluster, cluster_file)) = loaded.clusters.get(cluster_name) else {
        return Err(Error::new(format!(
            "kubeconfig {files}: context {name:?} names cluster {cluster_name:?}, which no kubeconfig defines"
        )));
    };
    let cluster_what = format!("cluster {cluster_name:?}");
    let Some(server) = field(cluster, "server") else {
        return Err(Error::new(format!(
            "kubeconfig {}: {cluster_what} has no server",
            cluster_file.display()
        )));
    };
    let insecure = cluster
        .get("insecure-skip-tls-verify")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ca_pem = data_or_file(cluster, cluster_file, "certificate-authority")
        .map_err(at(cluster_file, cluster_what.clone()))?;
    let mut tls = TlsOptions {
        ca_pem,
        insecure,
        client_cert_pem: None,
        client_key_pem: None,
    };
    let credential = match (eks_cluster, field(ctx, "user")) {
        (Some(cluster), _) => Credential::Eks {
            cluster: cluster.to_string(),
        },
        (None, None) => Credential::None,
        (None, Some(user_name)) => {
            let Some((user, user_file)) = loaded.users.get(user_name) else {
                return Err(Error::new(format!(
                    "kubeconfig {files}: context {name:?} names user {user_name:?}, which no kubeconfig defines"
                )));
            };
            let user_what = format!("user {user_name:?}");
            let wrap = at(user_file, user_what.clone());
            tls.client_cert_pem =
                data_or_file(user, user_file, "client-certificate").map_err(&wrap)?;
            tls.client_key_pem = data_or_file(user, user_file, "client-key").map_err(&wrap)?;
            if tls.client_cert_pem.is_some() != tls.client_key_pem.is_some() {
                return Err(wrap(Error::new(
                    "client-certificate and client-key must be given together",
                )));
            }
            user_credential(user, user_file, &user_what, server).map_err(&wrap)?
        }
    };
    Ok(Access {
        server: server.trim_end_matches('/').to_string(),
        tls,
        credential,
        origin,
    })
}

/// Puts `kubeconfig <file>: <what>: ` before an error.
fn at(file: &Path, what: String) -> impl Fn(Error) -> Error + '_ {
    move |e| e.context(format!("kubeconfig {}: {what}", file.display()))
}

fn user_credential(user: &Value, file: &Path, what: &str, server: &str) -> Result<Credential> {
    if user.get("auth-provider").is_some_and(|v| !v.is_null()) {
        return Err(Error::new("auth-provider is not supported (kubectl removed it too)")
            .hint("use an exec credential plugin (e.g. `aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`)"));
    }
    if field(user, "username").is_some() || field(user, "password").is_some() {
        return Err(Error::new(
            "username/password (basic auth) is not supported: Kubernetes removed it",
        ));
    }
    if let Some(token) = field(user, "token") {
        return Ok(Credential::Token(token.to_string()));
    }
    if let Some(path) = field(user, "tokenFile") {
        return Ok(Credential::TokenFile(relative_to(file, path)));
    }
    let Some(exec) = user.get("exec").filter(|v| !v.is_null()) else {
        return Ok(Credential::None);
    };
    let api_version = field(exec, "apiVersion").unwrap_or_default();
    if !matches!(
        api_version,
        "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1"
    ) {
        return Err(Error::new(format!(
            "exec.apiVersion {api_version:?} is not supported; want client.authentication.k8s.io/v1 or v1beta1"
        )));
    }
    let Some(command) = field(exec, "command") else {
        return Err(Error::new("exec has no command"));
    };
    // A command with a path separator is relative to the kubeconfig, as client-go has it.
    let command = if command.contains('/') && !Path::new(command).is_absolute() {
        relative_to(file, command).display().to_string()
    } else {
        command.to_string()
    };
    let strings = |key: &str| -> Vec<String> {
        exec.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let env = exec
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                field(e, "name")?.to_string(),
                e.get("value")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let cluster_info = exec
        .get("provideClusterInfo")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .then(|| json!({"server": server}));
    Ok(Credential::Exec(ExecPlugin {
        api_version: api_version.to_string(),
        command,
        args: strings("args"),
        env,
        install_hint: field(exec, "installHint").map(str::to_string),
        cluster_info,
        origin: format!("kubeconfig {}: {what}", file.display()),
    }))
}

fn in_cluster(env: &Env, host: &str, port: &str, eks_cluster: Option<&str>) -> Result<Access> {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let ca = env.service_account_dir.join("ca.crt");
    let ca_pem = read_file(&ca, "the service account CA").map(Some)?;
    Ok(Access {
        server: format!("https://{host}:{port}"),
        tls: TlsOptions {
            ca_pem,
            insecure: false,
            client_cert_pem: None,
            client_key_pem: None,
        },
        credential: match eks_cluster {
            Some(cluster) => Credential::Eks {
                cluster: cluster.to_string(),
            },
            None => Credential::TokenFile(env.service_account_dir.join("token")),
        },
        origin: "the pod's service account".into(),
    })
}

// ---------------------------------------------------------------------------------------
// exec credential plugins

/// What an exec plugin returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCredential {
    pub token: Option<String>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    /// `status.expirationTimestamp`: use it until then, then run the plugin again.
    pub expires: Option<SystemTime>,
}

impl ExecPlugin {
    /// `KUBERNETES_EXEC_INFO`, as client-go sets it: the ExecCredential with its spec.
    fn exec_info(&self) -> String {
        let mut spec = json!({"interactive": false});
        if let Some(cluster) = &self.cluster_info {
            spec["cluster"] = cluster.clone();
        }
        json!({"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}).to_string()
    }

    /// Runs the plugin (blocking) and reads its ExecCredential.
    pub fn run(&self) -> Result<ExecCredential> {
        let output = std::process::Command::new(&self.command)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", self.exec_info())
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| {
                let mut err = Error::new(format!(
                    "{}: exec plugin `{}` could not be run: {e}",
                    self.origin, self.command
                ));
                if let Some(hint) = &self.install_hint {
                    err = err.hint(hint.trim());
                }
                err
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(Error::new(format!(
                "{}: exec plugin `{}` failed ({}): {}",
                self.origin,
                self.command,
                output.status,
                stderr.trim()
            )));
        }
        parse_exec_credential(&output.stdout, &self.api_version)
            .map_err(|e| e.context(format!("{}: exec plugin `{}`", self.origin, self.command)))
    }
}

/// Reads an ExecCredential from a plugin's stdout: its `apiVersion` must be the one asked
/// for; `status.token`, or `status.clientCertificateData` with `clientKeyData`;
/// `status.expirationTimestamp` (RFC 3339) when it expires.
pub fn parse_exec_credential(stdout: &[u8], api_version: &str) -> Result<ExecCredential> {
    let doc: Value = serde_json::from_slice(stdout)
        .map_err(|e| Error::new(format!("its output is not an ExecCredential (JSON): {e}")))?;
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let version = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "ExecCredential" || version != api_version {
        return Err(Error::new(format!(
            "it returned kind {kind:?} apiVersion {version:?}, want ExecCredential {api_version}"
        )));
    }
    let status = doc.get("status").unwrap_or(&Value::Null);
    let token = field(status, "token").map(str::to_string);
    let cert = field(status, "clientCertificateData").map(|s| s.as_bytes().to_vec());
    let key = field(status, "clientKeyData").map(|s| s.as_bytes().to_vec());
    if token.is_none() && (cert.is_none() || key.is_none()) {
        return Err(Error::new(
            "its status has neither a token nor clientCertificateData and clientKeyData",
        ));
    }
    let expires = match field(status, "expirationTimestamp") {
        Some(text) => Some(
            crate::model::parse_time(text)
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(s.max(0.0)))
                .ok_or_else(|| {
                    Error::new(format!(
                        "status.expirationTimestamp {text:?} is not RFC 3339"
                    ))
                })?,
        ),
        None => None,
    };
    Ok(ExecCredential {
        token,
        client_cert_pem: cert,
        client_key_pem: key,
        expires,
    })
}

/// A token and until when it may be used (`None`: for the whole run).
type Cached = Option<(String, Option<SystemTime>)>;

/// The bearer token of each request: static, re-read from a file, or from a plugin or EKS
/// cached until it expires.
#[derive(Debug)]
pub struct Bearer {
    credential: Credential,
    sdk: Option<aws_config::SdkConfig>,
    cache: Mutex<Cached>,
}

impl Bearer {
    /// `sdk` is needed only for [`Credential::Eks`].
    pub fn new(credential: Credential, sdk: Option<aws_config::SdkConfig>) -> Self {
        Self {
            credential,
            sdk,
            cache: Mutex::new(None),
        }
    }

    /// Primes the cache with what the plugin returned when the client was built.
    pub fn prime(&self, credential: &ExecCredential) {
        if let (Some(token), Ok(mut cache)) = (&credential.token, self.cache.lock()) {
            *cache = Some((token.clone(), credential.expires));
        }
    }

    fn cached(&self, now: SystemTime) -> Option<String> {
        let cache = self.cache.lock().ok()?;
        let (token, until) = cache.as_ref()?;
        // A little early, so a token does not expire on its way.
        let fresh = until.is_none_or(|u| now + Duration::from_secs(10) < u);
        fresh.then(|| token.clone())
    }

    fn store(&self, token: &str, until: Option<SystemTime>) {
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((token.to_string(), until));
        }
    }

    /// The token for the next request, `None` when requests carry none.
    pub async fn token(&self) -> Result<Option<String>> {
        let now = SystemTime::now();
        match &self.credential {
            Credential::None => Ok(None),
            Credential::Token(token) => Ok(Some(token.clone())),
            Credential::TokenFile(path) => {
                let bytes = read_file(path, "tokenFile")?;
                Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string()))
            }
            Credential::Exec(plugin) => {
                if let Some(token) = self.cached(now) {
                    return Ok(Some(token));
                }
                let plugin = plugin.clone();
                let credential = tokio::task::spawn_blocking(move || plugin.run())
                    .await
                    .map_err(|e| Error::new(format!("exec plugin: {e}")))??;
                let Some(token) = credential.token else {
                    return Ok(None);
                };
                self.store(&token, credential.expires);
                Ok(Some(token))
            }
            Credential::Eks { cluster } => {
                if let Some(token) = self.cached(now) {
                    return Ok(Some(token));
                }
                let Some(sdk) = &self.sdk else {
                    return Err(Error::new(format!(
                        "[k8s.api] eks_cluster {cluster:?}: no AWS configuration to sign with"
                    )));
                };
                let token = super::eks::token(sdk, cluster).await?;
                self.store(&token, Some(now + super::eks::TOKEN_LIFETIME));
                Ok(Some(token))
            }
        }
    }
}

#[cfg(test)]
#[path = "kubeconfig_tests.rs"]
mod tests;
