//! `jobdeploy.toml`: strict, so that a typo fails loudly instead of changing what is deployed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::aws::pace::QuotaOverrides;
use crate::error::{Error, Result};
use crate::image::ImageRef;

pub const DEFAULT_FILE: &str = "jobdeploy.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// ECS cluster name or ARN whose scheduled tasks jobdeploy owns.
    pub cluster: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub manifest: Option<ManifestConfig>,
    #[serde(default)]
    pub taskdefs: TaskdefsConfig,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub schedules: SchedulesConfig,
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub aws: AwsConfig,
    /// Rules (or schedules) whose task `deploy` runs on the new revision before repointing
    /// anything; the deploy goes on only if each exits 0 (`deploy --smoke` adds to these).
    #[serde(default)]
    pub smoke: Vec<String>,
    #[serde(default)]
    pub verify: VerifyConfig,
    /// `[k8s]`: wait until Kubernetes runs the release before switching the batch jobs.
    #[serde(default)]
    pub k8s: Option<K8sConfig>,
}

/// `[k8s]` as written; [`LoadedConfig::k8s`] holds it checked and resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sConfig {
    #[serde(default)]
    pub gate: GateMode,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub poll: Option<String>,
    #[serde(default)]
    pub argocd: Option<ArgoCdConfig>,
    #[serde(default)]
    pub api: Option<KubeApiConfig>,
}

/// `[k8s] gate`: what `deploy` does about k8s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateMode {
    /// Wait (up to `timeout`) until k8s runs the release.
    #[default]
    Wait,
    /// One look: refuse unless k8s already runs it.
    Check,
    /// No gate (`plan` and `status` still show k8s).
    Off,
}

/// `[k8s.argocd]`: Argo CD's REST API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdConfig {
    pub server: String,
    #[serde(default)]
    pub apps: Vec<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure: bool,
}

/// `[k8s.api]`: the Kubernetes API itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeApiConfig {
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub eks_cluster: Option<String>,
    #[serde(default)]
    pub workloads: Vec<String>,
    #[serde(default)]
    pub flux: Vec<String>,
}

/// `[k8s]`, checked: durations parsed, apps defaulted, names split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sSettings {
    pub gate: GateMode,
    pub timeout: Duration,
    pub poll: Duration,
    pub argocd: Option<ArgoCdSettings>,
    pub api: Option<KubeApiSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoCdSettings {
    /// `https://argocd.example.com`, without a trailing slash (a path prefix is kept).
    pub server: String,
    /// Never empty: `apps`, else `[manifest] app`.
    pub apps: Vec<ArgoApp>,
    /// Resolved against the config file's directory.
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
}

impl ArgoCdSettings {
    /// `http://` or `insecure = true`: warned on every run.
    pub fn is_insecure(&self) -> bool {
        self.insecure || self.server.starts_with("http://")
    }
}

/// An Argo CD application: `name`, or `namespace/name` for an app outside Argo CD's own
/// namespace (sent as `appNamespace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoApp {
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ArgoApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeApiSettings {
    /// The kubeconfig context; `None`: the current context, or in a pod its service account.
    pub context: Option<String>,
    /// Make the bearer token from the AWS credentials for this EKS cluster.
    pub eks_cluster: Option<String>,
    pub workloads: Vec<WorkloadRef>,
    pub flux: Vec<FluxRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    /// The kind as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }

    /// The resource in the `apps/v1` API path: `deployments`.
    pub fn plural(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
            WorkloadKind::DaemonSet => "daemonsets",
        }
    }
}

/// `namespace/kind/name` from `[k8s.api] workloads`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkloadRef {
    pub namespace: String,
    pub kind: WorkloadKind,
    pub name: String,
}

/// `namespace/kustomization/name` from `[k8s.api] flux`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FluxRef {
    pub namespace: String,
    pub name: String,
}

pub const DEFAULT_K8S_TIMEOUT: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_K8S_POLL: Duration = Duration::from_secs(10);

/// `[verify]`: the read-only preflight `deploy` runs before its first write.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Run `verify`'s checks of what a deploy changes before it writes, and refuse on a
    /// failure. `--no-verify` skips them for one deploy.
    #[serde(default = "default_true")]
    pub before_deploy: bool,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            before_deploy: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// `[aws]`: how hard jobdeploy may call AWS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Calls per second per quota group; defaults are AWS's documented per-account quotas.
    #[serde(default)]
    pub quotas: QuotaOverrides,
    /// Seconds a call goes on being sent again (paced) while AWS keeps throttling it.
    #[serde(default = "default_throttle_timeout")]
    pub throttle_timeout: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            quotas: QuotaOverrides::default(),
            throttle_timeout: default_throttle_timeout(),
        }
    }
}

fn default_throttle_timeout() -> u64 {
    120
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestConfig {
    /// URL (https://, file://, ssh) or a path to a local clone.
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub image: String,
    /// The Argo CD application name: `.argocd-source-<app>.yaml` is read, other apps' files
    /// are not. Without it, one app file is taken as ours and several must agree.
    #[serde(default)]
    pub app: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskdefsConfig {
    #[serde(default = "default_taskdefs_dir")]
    pub dir: PathBuf,
}

impl Default for TaskdefsConfig {
    fn default() -> Self {
        Self {
            dir: default_taskdefs_dir(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default = "default_list")]
    pub event_buses: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            event_buses: default_list(),
            exclude: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulesConfig {
    #[serde(default = "default_list")]
    pub groups: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        Self {
            groups: default_list(),
            exclude: Vec::new(),
        }
    }
}

fn default_taskdefs_dir() -> PathBuf {
    PathBuf::from("taskdefs")
}

fn default_list() -> Vec<String> {
    vec!["default".to_string()]
}

/// A validated config plus where it came from, so relative paths resolve against its directory.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: Config,
    pub image_name: Option<ImageRef>,
    pub rule_exclude: GlobSet,
    pub schedule_exclude: GlobSet,
    /// `[k8s]`, checked; `None` without the table (no gate, nothing asked of k8s).
    pub k8s: Option<K8sSettings>,
}

impl LoadedConfig {
    /// `--config`/`JOBDEPLOY_CONFIG` when given, else `./jobdeploy.toml`.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from(DEFAULT_FILE),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let err = Error::new(format!("cannot read {}: {e}", path.display()));
            if explicit.is_none() {
                err.hint("run jobdeploy in the app repo root, or pass --config PATH (or set JOBDEPLOY_CONFIG)")
            } else {
                err
            }
        })?;
        Self::parse(&path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let shown = path.display();
        let config: Config = toml::from_str(text)
            .map_err(|e| Error::new(format!("{shown}: {}", e.to_string().trim_end())))?;
        if config.cluster.trim().is_empty() {
            return Err(Error::new(format!("{shown}: key `cluster` is empty")));
        }
        if config.rules.event_buses.is_empty() {
            return Err(Error::new(format!(
                "{shown}: key `rules.event_buses` is empty; leave it out for [\"default\"]"
            )));
        }
        let image_name = match &config.manifest {
            Some(m) => {
                let image = ImageRef::parse(&m.image).map_err(|e| {
                    Error::new(format!(
                        "{shown}: key `manifest.image` = `{}`: {e}",
                        m.image
                    ))
                })?;
                if image.tag.is_some() || image.digest.is_some() {
                    return Err(Error::new(format!(
                        "{shown}: key `manifest.image` must be an image name without tag or digest, got `{}`",
                        m.image
                    ))
                    .hint(format!("use `{}`", image.name)));
                }
                if let Some(app) = &m.app
                    && (app.trim().is_empty() || app.contains('/'))
                {
                    return Err(Error::new(format!(
                        "{shown}: key `manifest.app` = `{app}` is not an Argo CD application name"
                    ))
                    .hint("the name as in `.argocd-source-<app>.yaml`, e.g. `web-production`"));
                }
                Some(image)
            }
            None => None,
        };
        let rule_exclude = globs(&config.rules.exclude)
            .map_err(|e| Error::new(format!("{shown}: key `rules.exclude`: {e}")))?;
        let schedule_exclude = globs(&config.schedules.exclude)
            .map_err(|e| Error::new(format!("{shown}: key `schedules.exclude`: {e}")))?;
        if let Some(problem) = config.aws.quotas.problems().into_iter().next() {
            return Err(Error::new(format!("{shown}: key {problem}")));
        }
        if config.aws.throttle_timeout == 0 {
            return Err(Error::new(format!(
                "{shown}: key `aws.throttle_timeout` must be at least 1 (seconds)"
            )));
        }
        if let Some(bad) = config
            .smoke
            .iter()
            .find(|s| s.trim().is_empty() || s.contains(char::is_whitespace))
        {
            return Err(Error::new(format!(
                "{shown}: key `smoke`: `{bad}` is not a rule or schedule name"
            ))
            .hint("`smoke = [\"nightly-report\"]`, as `[bus/]rule` or `[group/]schedule`"));
        }
        if config.schedules.groups.is_empty() {
            return Err(Error::new(format!(
                "{shown}: key `schedules.groups` is empty; leave it out for [\"default\"]"
            )));
        }
        let k8s = match &config.k8s {
            Some(k8s) => Some(
                k8s_settings(
                    k8s,
                    config.manifest.as_ref().and_then(|m| m.app.as_deref()),
                    path.parent().unwrap_or(Path::new("")),
                )
                .map_err(|e| Error::new(format!("{shown}: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            path: path.to_path_buf(),
            config,
            image_name,
            rule_exclude,
            schedule_exclude,
            k8s,
        })
    }

    /// The config file's directory; empty for `./jobdeploy.toml`, so joined paths stay short.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    pub fn taskdefs_dir(&self) -> PathBuf {
        self.base_dir().join(&self.config.taskdefs.dir)
    }

    /// The configured image name; rendering `{{ image }}` needs it even with `--tag`.
    pub fn image_name(&self) -> Result<&ImageRef> {
        self.image_name.as_ref().ok_or_else(|| {
            Error::new(format!(
                "{}: [manifest] with key `image` is required (the image whose tag is the release)",
                self.path.display()
            ))
        })
    }
}

/// `[k8s]` checked; errors name the key (the caller adds the file).
fn k8s_settings(
    k8s: &K8sConfig,
    manifest_app: Option<&str>,
    base_dir: &Path,
) -> std::result::Result<K8sSettings, String> {
    let duration = |key: &str, value: &Option<String>, default: Duration| match value {
        None => Ok(default),
        Some(text) => match crate::model::parse_duration(text) {
            Ok(d) if d.is_zero() => Err(format!("key `{key}` = `{text}` must be longer than 0s")),
            Ok(d) => Ok(d),
            Err(e) => Err(format!("key `{key}`: {e}")),
        },
    };
    let timeout = duration("k8s.timeout", &k8s.timeout, DEFAULT_K8S_TIMEOUT)?;
    let poll = duration("k8s.poll", &k8s.poll, DEFAULT_K8S_POLL)?;
    let argocd = match &k8s.argocd {
        Some(a) => Some(argocd_settings(a, manifest_app, base_dir)?),
        None => None,
    };
    let api = match &k8s.api {
        Some(a) => Some(kube_api_settings(a)?),
        None => None,
    };
    let has_source = argocd.is_some()
        || api
            .as_ref()
            .is_some_and(|a| !a.workloads.is_empty() || !a.flux.is_empty());
    if !has_source {
        return Err("[k8s] names nothing to watch: add [k8s.argocd] (server, apps) or [k8s.api] workloads/flux".to_string());
    }
    Ok(K8sSettings {
        gate: k8s.gate,
        timeout,
        poll,
        argocd,
        api,
    })
}

fn argocd_settings(
    a: &ArgoCdConfig,
    manifest_app: Option<&str>,
    base_dir: &Path,
) -> std::result::Result<ArgoCdSettings, String> {
    let server = a.server.trim().trim_end_matches('/').to_string();
    let rest = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"));
    let host = rest.map(|r| r.split('/').next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) && !h.contains('@') => {}
        _ => {
            return Err(format!(
                "key `k8s.argocd.server` = `{}` is not an https:// URL (e.g. `https://argocd.example.com`)",
                a.server
            ));
        }
    }
    if server.contains(['?', '#']) {
        return Err(format!(
            "key `k8s.argocd.server` = `{}`: no query or fragment, only scheme, host and an optional path",
            a.server
        ));
    }
    let names: Vec<String> = if a.apps.is_empty() {
        match manifest_app {
            Some(app) => vec![app.to_string()],
            None => {
                return Err("key `k8s.argocd.apps` is empty and [manifest] has no `app`: name the Argo CD applications, e.g. apps = [\"web-production\"]".to_string());
            }
        }
    } else {
        a.apps.clone()
    };
    let mut apps = Vec::with_capacity(names.len());
    for name in &names {
        let app = match name.split('/').collect::<Vec<_>>()[..] {
            [app] => ArgoApp {
                namespace: None,
                name: app.to_string(),
            },
            [ns, app] => ArgoApp {
                namespace: Some(ns.to_string()),
                name: app.to_string(),
            },
            _ => ArgoApp {
                namespace: None,
                name: String::new(),
            },
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        if !valid(&app.name) || app.namespace.as_deref().is_some_and(|ns| !valid(ns)) {
            return Err(format!(
                "key `k8s.argocd.apps`: `{name}` is not an Argo CD application (`name` or `namespace/name`, lowercase)"
            ));
        }
        if apps.contains(&app) {
            return Err(format!("key `k8s.argocd.apps`: `{name}` is listed twice"));
        }
        apps.push(app);
    }
    Ok(ArgoCdSettings {
        server,
        apps,
        ca_file: a.ca_file.as_ref().map(|f| base_dir.join(f)),
        insecure: a.insecure,
    })
}

fn kube_api_settings(a: &KubeApiConfig) -> std::result::Result<KubeApiSettings, String> {
    let part_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    let mut workloads = Vec::new();
    for w in &a.workloads {
        let parts: Vec<&str> = w.split('/').collect();
        let kind = match parts.get(1).map(|k| k.to_ascii_lowercase()).as_deref() {
            Some("deployment" | "deployments" | "deploy") => Some(WorkloadKind::Deployment),
            Some("statefulset" | "statefulsets" | "sts") => Some(WorkloadKind::StatefulSet),
            Some("daemonset" | "daemonsets" | "ds") => Some(WorkloadKind::DaemonSet),
            _ => None,
        };
        match (&parts[..], kind) {
            ([ns, _, name], Some(kind)) if part_ok(ns) && part_ok(name) => {
                workloads.push(WorkloadRef {
                    namespace: ns.to_string(),
                    kind,
                    name: name.to_string(),
                })
            }
            _ => {
                return Err(format!(
                    "key `k8s.api.workloads`: `{w}` is not `namespace/kind/name` with kind deployment, statefulset or daemonset (e.g. `web/deployment/web`)"
                ));
            }
        }
    }
    let mut flux = Vec::new();
    for f in &a.flux {
        match f.split('/').collect::<Vec<_>>()[..] {
            [ns, kind, name]
                if part_ok(ns) && part_ok(name) && kind.eq_ignore_ascii_case("kustomization") =>
            {
                flux.push(FluxRef {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                })
            }
            _ => {
                return Err(format!(
                    "key `k8s.api.flux`: `{f}` is not `namespace/kustomization/name` (e.g. `flux-system/kustomization/web`)"
                ));
            }
        }
    }
    let empty = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
    if empty(&a.context) {
        return Err(
            "key `k8s.api.context` is empty; leave it out for the current context".to_string(),
        );
    }
    if empty(&a.eks_cluster) {
        return Err("key `k8s.api.eks_cluster` is empty".to_string());
    }
    if workloads.is_empty() && flux.is_empty() {
        return Err(
            "[k8s.api] names nothing to watch: add `workloads` (namespace/kind/name) or `flux`"
                .to_string(),
        );
    }
    Ok(KubeApiSettings {
        context: a.context.clone(),
        eks_cluster: a.eks_cluster.clone(),
        workloads,
        flux,
    })
}

fn globs(patterns: &[String]) -> std::result::Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(Glob::new(pattern).map_err(|e| format!("`{pattern}`: {e}"))?);
    }
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedConfig> {
        LoadedConfig::parse(Path::new("app/jobdeploy.toml"), text)
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
cluster = "batch"
region = "ap-northeast-1"
[manifest]
repo = "https://github.com/acme/k8s.git"
ref = "main"
path = "apps/web"
image = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web"
[taskdefs]
dir = "defs"
[rules]
event_buses = ["default", "batch"]
exclude = ["legacy-*"]
[schedules]
groups = ["jobs"]
[vars]
env = "production"
replicas = 3
"#,
        )
        .unwrap();
        assert_eq!(c.config.cluster, "batch");
        assert_eq!(c.taskdefs_dir(), PathBuf::from("app/defs"));
        assert!(c.rule_exclude.is_match("legacy-report"));
        assert!(!c.rule_exclude.is_match("report"));
        assert_eq!(c.config.schedules.groups, ["jobs"]);
        assert_eq!(c.config.vars.len(), 2);
    }

    #[test]
    fn verify_before_deploy_is_on_unless_turned_off() {
        assert!(
            parse("cluster = \"b\"")
                .unwrap()
                .config
                .verify
                .before_deploy
        );
        let off = parse("cluster = \"b\"\n[verify]\nbefore_deploy = false\n").unwrap();
        assert!(!off.config.verify.before_deploy);
        let err = parse("cluster = \"b\"\n[verify]\nbefore_deploys = false\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("before_deploys"), "{err}");
    }

    #[test]
    fn defaults() {
        let c = parse("cluster = \"batch\"").unwrap();
        assert_eq!(c.config.rules.event_buses, ["default"]);
        assert_eq!(c.config.schedules.groups, ["default"]);
        assert_eq!(c.taskdefs_dir(), PathBuf::from("app/taskdefs"));
        assert!(c.image_name().is_err());
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let err = parse("cluster = \"b\"\n[manifest]\nimage = \"web\"\nbranch = \"main\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("app/jobdeploy.toml"), "{err}");
        assert!(err.contains("branch"), "{err}");
    }

    #[test]
    fn empty_schedule_groups_are_refused() {
        let err = parse("cluster = \"b\"\n[schedules]\ngroups = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("schedules.groups"), "{err}");
        let err = parse("cluster = \"b\"\n[schedules]\nexclude = [\"[\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("schedules.exclude"), "{err}");
    }

    #[test]
    fn wrong_type_names_key() {
        let err = parse("cluster = 3").unwrap_err().to_string();
        assert!(err.contains("cluster"), "{err}");
        let err = parse("cluster = \"b\"\n[rules]\nevent_buses = \"default\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("event_buses"), "{err}");
    }

    #[test]
    fn aws_quotas_are_strict() {
        let c = parse("cluster = \"b\"\n[aws.quotas]\neventbridge = 20\n").unwrap();
        let q = c
            .config
            .aws
            .quotas
            .quota(crate::aws::pace::Group::Eventbridge);
        assert_eq!(q.rate, 20.0);
        assert_eq!(c.config.aws.throttle_timeout, 120);
        let err = parse("cluster = \"b\"\n[aws.quotas]\neventbrige = 20\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("eventbrige"), "{err}");
        let err = parse("cluster = \"b\"\n[aws.quotas]\necs_reads = -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("aws.quotas.ecs_reads"), "{err}");
        let err = parse("cluster = \"b\"\n[aws]\nthrottle_timeout = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("aws.throttle_timeout"), "{err}");
    }

    #[test]
    fn manifest_app_is_checked() {
        let c =
            parse("cluster = \"b\"\n[manifest]\nimage = \"web\"\napp = \"web-prod\"\n").unwrap();
        assert_eq!(
            c.config.manifest.and_then(|m| m.app).as_deref(),
            Some("web-prod")
        );
        for bad in ["", "a/b"] {
            let err = parse(&format!(
                "cluster = \"b\"\n[manifest]\nimage = \"web\"\napp = \"{bad}\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains("manifest.app"), "{err}");
        }
        let err = parse("cluster = \"b\"\n[manifest]\nimage = \"web\"\napplication = \"w\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("application"), "{err}");
    }

    #[test]
    fn smoke_names_rules() {
        let c = parse("cluster = \"b\"\nsmoke = [\"nightly\", \"jobs/export\"]\n").unwrap();
        assert_eq!(c.config.smoke, ["nightly", "jobs/export"]);
        assert!(parse("cluster = \"b\"").unwrap().config.smoke.is_empty());
        let err = parse("cluster = \"b\"\nsmoke = [\"\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `smoke`"), "{err}");
        let err = parse("cluster = \"b\"\nsmoke = \"nightly\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("smoke"), "{err}");
    }

    #[test]
    fn k8s_table_is_checked_and_resolved() {
        let c = parse(
            r#"
cluster = "b"
[manifest]
image = "web"
app = "web-production"
[k8s]
timeout = "20m"
[k8s.argocd]
server = "https://argocd.example.com/"
ca_file = "ci/ca.pem"
[k8s.api]
context = "prod"
eks_cluster = "prod"
workloads = ["web/deployment/web", "web/StatefulSet/db"]
flux = ["flux-system/kustomization/web"]
"#,
        )
        .unwrap();
        let k8s = c.k8s.unwrap();
        assert_eq!(k8s.gate, GateMode::Wait);
        assert_eq!(k8s.timeout, Duration::from_secs(1200));
        assert_eq!(k8s.poll, DEFAULT_K8S_POLL);
        let argocd = k8s.argocd.unwrap();
        assert_eq!(argocd.server, "https://argocd.example.com");
        assert_eq!(argocd.apps[0].to_string(), "web-production");
        assert_eq!(argocd.ca_file, Some(PathBuf::from("app/ci/ca.pem")));
        assert!(!argocd.is_insecure());
        let api = k8s.api.unwrap();
        assert_eq!(api.workloads[1].kind, WorkloadKind::StatefulSet);
        assert_eq!(api.flux[0].name, "web");
        assert!(parse("cluster = \"b\"").unwrap().k8s.is_none());
    }

    #[test]
    fn k8s_bad_input_names_the_key() {
        let base = "cluster = \"b\"\n[manifest]\nimage = \"web\"\n";
        for (extra, key) in [
            (
                "[k8s]\ntimeout = \"15x\"\n[k8s.argocd]\nserver = \"https://a\"\napps = [\"w\"]\n",
                "k8s.timeout",
            ),
            (
                "[k8s]\npoll = \"0s\"\n[k8s.argocd]\nserver = \"https://a\"\napps = [\"w\"]\n",
                "k8s.poll",
            ),
            ("[k8s]\ngate = \"sometimes\"\n", "sometimes"),
            ("[k8s]\nwait = true\n", "wait"),
            (
                "[k8s.argocd]\nserver = \"https://a\"\napps = [\"w\"]\ntoken = \"x\"\n",
                "token",
            ),
            ("[k8s.argocd]\nserver = \"https://a\"\n", "k8s.argocd.apps"),
            (
                "[k8s.argocd]\nserver = \"argocd.example.com\"\napps = [\"w\"]\n",
                "k8s.argocd.server",
            ),
            (
                "[k8s.argocd]\nserver = \"https://a\"\napps = [\"a/b/c\"]\n",
                "k8s.argocd.apps",
            ),
            (
                "[k8s.api]\nworkloads = [\"web/pod/web\"]\n",
                "k8s.api.workloads",
            ),
            ("[k8s.api]\nflux = [\"flux-system/web\"]\n", "k8s.api.flux"),
            ("[k8s.api]\ncontexts = \"x\"\n", "contexts"),
            ("[k8s]\ngate = \"wait\"\n", "[k8s] names nothing"),
        ] {
            let err = parse(&format!("{base}{extra}")).unwrap_err().to_string();
            assert!(err.contains(key), "{extra}: {err}");
            assert!(err.contains("app/jobdeploy.toml"), "{err}");
        }
    }

    #[test]
    fn k8s_argocd_app_namespaces_and_http() {
        let c = parse("cluster = \"b\"\n[k8s.argocd]\nserver = \"http://127.0.0.1:8080\"\napps = [\"team-a/web\", \"api\"]\n[k8s]\ngate = \"check\"\npoll = \"2s\"\n").unwrap();
        let k8s = c.k8s.unwrap();
        assert_eq!(k8s.gate, GateMode::Check);
        let argocd = k8s.argocd.unwrap();
        assert_eq!(argocd.apps[0].namespace.as_deref(), Some("team-a"));
        assert_eq!(argocd.apps[0].to_string(), "team-a/web");
        assert!(argocd.is_insecure());
    }

    #[test]
    fn missing_cluster() {
        let err = parse("region = \"us-east-1\"").unwrap_err().to_string();
        assert!(err.contains("cluster"), "{err}");
    }

    #[test]
    fn image_with_tag_is_refused() {
        let err = parse("cluster = \"b\"\n[manifest]\nimage = \"web:v1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest.image"), "{err}");
    }

    #[test]
    fn bad_glob() {
        let err = parse("cluster = \"b\"\n[rules]\nexclude = [\"a[\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules.exclude"), "{err}");
    }
}
