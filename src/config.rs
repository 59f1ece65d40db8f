//! `jobdeploy.toml`: strict, so that a typo fails loudly instead of changing what is deployed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
}

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
        Ok(Self {
            path: path.to_path_buf(),
            config,
            image_name,
            rule_exclude,
            schedule_exclude,
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
