//! Argo CD applications through Argo CD's REST API (`GET /api/v1/applications/{name}`), and
//! the pure verdict: does the app run the release?
//!
//! Field names and phases are Argo CD's own (pkg/apis/application/v1alpha1/types.go:
//! `status.operationState.{phase,startedAt,finishedAt,retryCount,syncResult}`,
//! `status.sync.{status,revision,revisions}`, `status.health.status`, `status.reconciledAt`,
//! `status.summary.images`, `status.history[].{revision,revisions,deployStartedAt,deployedAt}`;
//! operation phases `Running`, `Terminating`, `Failed`, `Error`, `Succeeded` from
//! gitops-engine pkg/sync/common/types.go). Like `argocd app wait`
//! (cmd/argocd/commands/app.go `checkAppWaitConditions`), health counts only once
//! `reconciledAt` is not before the operation's `finishedAt`; unlike it, the operation must be
//! for the released commit C, not whatever the app is on.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::gate::{Look, Setup, Source, SourceError};
use super::http::{HttpClient, K8sError, TlsOptions};
use super::verdict::{Lineage, Observed, Relation, ReleaseRef, Verdict};
use super::{ARGOCD_TOKEN_VARS, Token};
use crate::config::{ArgoApp, ArgoCdSettings};
use crate::error::Error;
use crate::progress::Progress;

/// What the verdict weighs an app against.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    pub release: &'a ReleaseRef,
    /// `[manifest] repo`, to pick a multi-source app's source.
    pub manifest_repo: Option<&'a str>,
    pub lineage: &'a Lineage,
    /// Seconds since the epoch.
    pub wait_started: f64,
}

/// The app's state as `status` and `plan` show it.
pub fn observe(label: &str, app: &Value, want: &Want<'_>) -> Observed {
    let index = source_index(app, want.manifest_repo).ok().flatten();
    let sync = &app["status"]["sync"];
    Observed {
        source: label.to_string(),
        revision: revision_at(sync, index),
        sync: text(&sync["status"]),
        health: text(&app["status"]["health"]["status"]),
        images: images(app),
    }
}

/// The manifest commits the app's verdict turns on: its current operation's revision and the
/// revision it is synced to (of the manifest repo's source, for a multi-source app).
pub fn revisions(app: &Value, want: &Want<'_>) -> Vec<String> {
    let index = source_index(app, want.manifest_repo).ok().flatten();
    let op = &app["status"]["operationState"];
    [
        revision_at(&op["syncResult"], index),
        revision_at(&op["operation"]["sync"], index),
        revision_at(&app["status"]["sync"], index),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The verdict on one app, from its JSON alone: pure.
pub fn verdict(app: &Value, want: &Want<'_>) -> Verdict {
    let status = &app["status"];
    let op = &status["operationState"];
    let index = match source_index(app, want.manifest_repo) {
        Ok(index) => index,
        Err(why) => {
            return Verdict::Fail {
                why,
                hint: "set [manifest] repo to the repoURL the Argo CD app syncs from".to_string(),
            };
        }
    };
    let phase = text(&op["phase"]);
    let op_revision = revision_at(&op["syncResult"], index)
        .or_else(|| revision_at(&op["operation"]["sync"], index));
    let op_started = time(&op["startedAt"]);
    let pending = !app["operation"].is_null();
    let mut accepted_revision = None;

    if let Some(commit) = &want.release.commit {
        let c = commit.as_str();
        // Rolled back: an operation for a revision that is neither C nor after it, started
        // after C was deployed or after the wait began.
        let c_deployed = history(status, index)
            .into_iter()
            .filter(|h| want.lineage.relation(c, &h.revision) == Relation::Same)
            .filter_map(|h| h.started)
            .reduce(f64::min);
        let since = c_deployed.map_or(want.wait_started, |d| d.min(want.wait_started));
        let mut operations: Vec<(String, Option<f64>)> = history(status, index)
            .into_iter()
            .map(|h| (h.revision, h.started))
            .collect();
        if let Some(rev) = &op_revision {
            operations.push((rev.clone(), op_started));
        }
        for (revision, started) in &operations {
            let later = started.is_some_and(|s| s > since);
            if later && want.lineage.relation(c, revision) == Relation::NotDescendant {
                return Verdict::Fail {
                    why: format!(
                        "rolled back: Argo CD synced {} (neither {} nor a later commit) at {}",
                        short(revision),
                        short(c),
                        started.map(crate::model::display_time).unwrap_or_default()
                    ),
                    hint: format!(
                        "k8s went back to an older manifest commit; fix the release and deploy it again (`argocd app history {}` shows what ran)",
                        app_name(app)
                    ),
                };
            }
        }
        let Some(rev) = op_revision.clone() else {
            return Verdict::Wait {
                unmet: vec![format!("no sync operation yet, want one for {}", short(c))],
            };
        };
        match want.lineage.relation(c, &rev) {
            Relation::Same => {}
            Relation::Descendant => {
                if phase.as_deref() == Some("Succeeded") {
                    let tags = other_tags(app, want.release);
                    let runs_x = images(app).contains(&want.release.reference());
                    if !runs_x && !tags.is_empty() {
                        return Verdict::Superseded {
                            by: format!(
                                "{}:{} at {}",
                                want.release.image_name,
                                tags.join(", "),
                                short(&rev)
                            ),
                        };
                    }
                }
                accepted_revision = Some(rev.clone());
            }
            Relation::NotDescendant => {
                return Verdict::Wait {
                    unmet: vec![format!(
                        "operation {} for {}, want one for {}",
                        phase.as_deref().unwrap_or("(none)"),
                        short(&rev),
                        short(c)
                    )],
                };
            }
            Relation::Unknown => {
                return Verdict::Wait {
                    unmet: vec![format!(
                        "operation for {}, a commit the manifest repo did not have when jobdeploy fetched it; want {}",
                        short(&rev),
                        short(c)
                    )],
                };
            }
        }
        match phase.as_deref() {
            Some("Succeeded") => {}
            Some("Failed" | "Error") if !pending => {
                return Verdict::Fail {
                    why: format!(
                        "the sync of {} {}: {}",
                        short(&rev),
                        phase.as_deref().unwrap_or_default(),
                        failure(op)
                    ),
                    hint: format!(
                        "see `argocd app get {} --show-operation`; fix it, let Argo CD sync again, then run `jobdeploy deploy` again",
                        app_name(app)
                    ),
                };
            }
            other => {
                return Verdict::Wait {
                    unmet: running(op, other, pending, &rev),
                };
            }
        }
        if accepted_revision.is_none() {
            accepted_revision = Some(c.to_string());
        }
    } else if pending
        || !matches!(
            phase.as_deref(),
            None | Some("Succeeded" | "Failed" | "Error")
        )
    {
        let rev = op_revision.clone().unwrap_or_default();
        return Verdict::Wait {
            unmet: running(op, phase.as_deref(), pending, &rev),
        };
    }

    // The operation is done: is the app synced there, fresh, healthy, on the image?
    let mut unmet = Vec::new();
    if pending {
        unmet.push("operation requested, not started yet".to_string());
    }
    let sync = &status["sync"];
    let sync_revision = revision_at(sync, index);
    if let Some(want_rev) = &accepted_revision
        && !sync_revision
            .as_deref()
            .is_some_and(|r| super::verdict::same_commit(r, want_rev))
    {
        unmet.push(format!(
            "sync revision {}, want {}",
            sync_revision.as_deref().map_or("(none)", short),
            short(want_rev)
        ));
    }
    let finished = time(&op["finishedAt"]);
    let reconciled = time(&status["reconciledAt"]);
    if let Some(finished) = finished
        && !reconciled.is_some_and(|r| r >= finished)
    {
        unmet.push(format!(
            "health is stale: reconciledAt {} is before the operation finished at {}",
            text(&status["reconciledAt"]).unwrap_or_else(|| "(none)".into()),
            text(&op["finishedAt"]).unwrap_or_default()
        ));
    }
    let health = text(&status["health"]["status"]).unwrap_or_else(|| "(none)".to_string());
    if health != "Healthy" {
        let message = text(&status["health"]["message"])
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        unmet.push(format!("health {health}, want Healthy{message}"));
    }
    let x = want.release.reference();
    let running_images = images(app);
    if !running_images.contains(&x) {
        unmet.push(format!("summary.images lacks {x}"));
    }
    let others = other_tags(app, want.release);
    if !others.is_empty() {
        unmet.push(format!(
            "summary.images also holds {}:{}",
            want.release.image_name,
            others.join(", ")
        ));
    }
    if !unmet.is_empty() {
        return Verdict::Wait { unmet };
    }
    let sync_status = text(&sync["status"]).unwrap_or_else(|| "(no sync status)".to_string());
    Verdict::Done {
        summary: match sync_revision {
            Some(rev) => format!("{sync_status}, {health} at {}", short(&rev)),
            None => format!("{sync_status}, {health}"),
        },
    }
}

/// What a running (or requested) operation still waits for, hooks by name.
fn running(op: &Value, phase: Option<&str>, pending: bool, revision: &str) -> Vec<String> {
    let mut unmet = Vec::new();
    let rev = if revision.is_empty() {
        String::new()
    } else {
        format!(" for {}", short(revision))
    };
    match phase {
        _ if pending && phase.is_none_or(|p| p != "Running") => {
            unmet.push(format!("operation requested{rev}, not started yet"));
        }
        Some(p) => {
            let retry = op["retryCount"].as_i64().filter(|n| *n > 0);
            let mut line = format!("operation {p}{rev}");
            if let Some(n) = retry {
                line.push_str(&format!(" (retry {n})"));
            }
            if let Some(m) = text(&op["message"]) {
                line.push_str(&format!(": {m}"));
            }
            unmet.push(line);
        }
        None => unmet.push(format!("no sync operation yet{rev}")),
    }
    for r in resources(op) {
        if !r.hook_type.is_empty() && r.hook_phase != "Succeeded" {
            unmet.push(format!(
                "{} {} {}/{} {}",
                r.hook_type, r.kind, r.namespace, r.name, r.hook_phase
            ));
        }
    }
    unmet
}

/// The failed hooks (`PreSync Job web/db-migrate Failed: …`), else the resources that failed
/// to sync, else the operation's message.
fn failure(op: &Value) -> String {
    let all = resources(op);
    let hooks: Vec<String> = all
        .iter()
        .filter(|r| !r.hook_type.is_empty() && matches!(r.hook_phase.as_str(), "Failed" | "Error"))
        .map(|r| r.describe(&r.hook_phase))
        .collect();
    if !hooks.is_empty() {
        return hooks.join("; ");
    }
    let failed: Vec<String> = all
        .iter()
        .filter(|r| r.status == "SyncFailed" || matches!(r.hook_phase.as_str(), "Failed" | "Error"))
        .map(|r| r.describe("SyncFailed"))
        .collect();
    if !failed.is_empty() {
        return failed.join("; ");
    }
    text(&op["message"]).unwrap_or_else(|| "no message".to_string())
}

struct ResourceResult {
    kind: String,
    namespace: String,
    name: String,
    status: String,
    hook_type: String,
    hook_phase: String,
    message: String,
}

impl ResourceResult {
    fn describe(&self, state: &str) -> String {
        let kind = if self.hook_type.is_empty() {
            self.kind.clone()
        } else {
            format!("{} {}", self.hook_type, self.kind)
        };
        let at = if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        };
        let message = if self.message.is_empty() {
            String::new()
        } else {
            format!(": {}", self.message)
        };
        format!("{kind} {at} {state}{message}")
    }
}

fn resources(op: &Value) -> Vec<ResourceResult> {
    op["syncResult"]["resources"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    let s = |k: &str| text(&r[k]).unwrap_or_default();
                    ResourceResult {
                        kind: s("kind"),
                        namespace: s("namespace"),
                        name: s("name"),
                        status: s("status"),
                        hook_type: s("hookType"),
                        hook_phase: s("hookPhase"),
                        message: s("message"),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

struct HistoryEntry {
    revision: String,
    started: Option<f64>,
}

/// `status.history`, each entry's revision of our source and when its sync started
/// (`deployStartedAt`, else `deployedAt`).
fn history(status: &Value, index: Option<usize>) -> Vec<HistoryEntry> {
    status["history"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    Some(HistoryEntry {
                        revision: revision_at(h, index)?,
                        started: time(&h["deployStartedAt"]).or_else(|| time(&h["deployedAt"])),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `revisions[index]` for a multi-source app, else `revision`.
fn revision_at(v: &Value, index: Option<usize>) -> Option<String> {
    match index {
        Some(i) => text(&v["revisions"][i]).or_else(|| text(&v["revision"])),
        None => text(&v["revision"]),
    }
}

/// A multi-source app's source from the manifest repo (its index); `None` for a single-source
/// app. An error when no source is from the manifest repo.
fn source_index(app: &Value, manifest_repo: Option<&str>) -> Result<Option<usize>, String> {
    let Some(sources) = app["spec"]["sources"].as_array().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let urls: Vec<String> = sources
        .iter()
        .map(|s| text(&s["repoURL"]).unwrap_or_default())
        .collect();
    if let Some(repo) = manifest_repo {
        let want = normalize_repo_url(repo);
        if let Some(i) = urls.iter().position(|u| normalize_repo_url(u) == want) {
            return Ok(Some(i));
        }
    }
    Err(format!(
        "multi-source app: no source's repoURL is the manifest repo {} (sources: {})",
        manifest_repo.map_or("(not configured)".to_string(), crate::manifest::redact_url),
        urls.join(", ")
    ))
}

/// Repo URLs compare equal when they name the same repo: `.git` and a trailing slash off,
/// scheme and host in lower case, credentials dropped.
pub fn normalize_repo_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url
        .strip_suffix(".git")
        .unwrap_or(url)
        .trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = host.rsplit('@').next().unwrap_or(host);
            format!(
                "{}://{}/{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        // scp-like `git@github.com:acme/k8s` and local paths stay as they are, host lowered.
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') => {
                let host = host.rsplit('@').next().unwrap_or(host);
                format!("ssh://{}/{}", host.to_ascii_lowercase(), path)
            }
            _ => url.to_string(),
        },
    }
}

fn images(app: &Value) -> Vec<String> {
    app["status"]["summary"]["images"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn other_tags(app: &Value, release: &ReleaseRef) -> Vec<String> {
    let observed = Observed {
        images: images(app),
        ..Observed::default()
    };
    observed
        .tags_of(&release.image_name)
        .into_iter()
        .filter(|t| t != &release.tag)
        .collect()
}

fn app_name(app: &Value) -> String {
    text(&app["metadata"]["name"]).unwrap_or_else(|| "APP".to_string())
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn time(v: &Value) -> Option<f64> {
    v.as_str().and_then(crate::model::parse_time)
}

fn short(sha: &str) -> &str {
    super::verdict::short_commit(sha)
}

/// One Argo CD application, read through the API server.
pub struct AppSource {
    app: ArgoApp,
    server: String,
    client: HttpClient,
    token: Token,
    release: ReleaseRef,
    manifest_repo: Option<String>,
    wait_started: f64,
}

impl AppSource {
    /// `GET /api/v1/applications/{name}` (server/application/application.proto), with
    /// `refresh=normal` on the first look and `appNamespace` for an app outside Argo CD's
    /// namespace.
    pub fn url(&self, first: bool) -> String {
        let mut query = Vec::new();
        if first {
            query.push("refresh=normal".to_string());
        }
        if let Some(ns) = &self.app.namespace {
            query.push(format!("appNamespace={ns}"));
        }
        let mut url = format!("{}/api/v1/applications/{}", self.server, self.app.name);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    fn hint_for(&self, err: &K8sError) -> Option<String> {
        let token = &self.token.source;
        match err {
            K8sError::Unauthorized { .. } => Some(format!(
                "the token from {token} was refused: make a new one (`argocd account generate-token --account jobdeploy`) and set {token}"
            )),
            K8sError::Forbidden { .. } => Some(format!(
                "the account of the token from {token} may not read app {}: grant it `applications, get` on the app's project in argocd-rbac-cm",
                self.app
            )),
            K8sError::NotFound { .. } => Some(format!(
                "Argo CD at {} has no app {} (or the token from {token} may not see it): check [k8s.argocd] apps{}",
                self.server,
                self.app,
                if self.app.namespace.is_none() {
                    " (`namespace/name` for an app outside Argo CD's namespace)"
                } else {
                    ""
                }
            )),
            K8sError::Connect { .. } | K8sError::Timeout { .. } => Some(format!(
                "check [k8s.argocd] server = \"{}\" and that this runner can reach it",
                self.server
            )),
            K8sError::Tls { .. } => Some(
                "set [k8s.argocd] ca_file to the CA that signed the server's certificate"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

impl Source for AppSource {
    fn label(&self) -> String {
        format!("argocd app {}", self.app)
    }

    fn look<'a>(
        &'a self,
        first: bool,
        lineage: &'a Lineage,
    ) -> BoxFuture<'a, Result<Look, SourceError>> {
        Box::pin(async move {
            let url = self.url(first);
            let app = self
                .client
                .get_json(&url, Some(&self.token.value))
                .await
                .map_err(|e| {
                    let hint = self.hint_for(&e);
                    SourceError::from_http(e, &format!("Argo CD app {}", self.app), hint)
                })?;
            let want = Want {
                release: &self.release,
                manifest_repo: self.manifest_repo.as_deref(),
                lineage,
                wait_started: self.wait_started,
            };
            Ok(Look {
                verdict: verdict(&app, &want),
                observed: observe(&self.label(), &app, &want),
                revisions: revisions(&app, &want),
            })
        })
    }
}

/// One [`AppSource`] per configured app. The token and the CA file are read here, so a
/// missing one fails before any look; `insecure` and `http://` are warned about.
pub fn sources(
    settings: &ArgoCdSettings,
    setup: &Setup<'_>,
    progress: &Progress,
) -> Result<Vec<Box<dyn Source>>, Error> {
    let token = Token::from_env(&ARGOCD_TOKEN_VARS).ok_or_else(|| {
        Error::new(format!(
            "[k8s.argocd]: no Argo CD token: set {} (or {})",
            ARGOCD_TOKEN_VARS[0], ARGOCD_TOKEN_VARS[1]
        ))
        .hint("make one with `argocd account generate-token --account jobdeploy`; the account needs `applications, get`")
    })?;
    crate::github::mask(&token.value);
    if settings.insecure {
        progress.warn(format!(
            "[k8s.argocd] insecure = true: the certificate of {} is not checked",
            settings.server
        ));
    }
    if settings.server.starts_with("http://") {
        progress.warn(format!(
            "[k8s.argocd] server {} is plain http://: the token crosses the network unencrypted",
            settings.server
        ));
    }
    let ca_pem = match &settings.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            Error::new(format!(
                "key `k8s.argocd.ca_file`: cannot read {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let tls = TlsOptions {
        ca_pem,
        insecure: settings.insecure,
        ..TlsOptions::default()
    };
    let client = || {
        HttpClient::new(&tls, setup.request_timeout).map_err(|e| {
            let e = Error::new(format!("[k8s.argocd] {}: {e}", settings.server));
            match &settings.ca_file {
                Some(path) => e.context(format!("key `k8s.argocd.ca_file` ({})", path.display())),
                None => e,
            }
        })
    };
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for app in &settings.apps {
        sources.push(Box::new(AppSource {
            app: app.clone(),
            server: settings.server.clone(),
            client: client()?.with_retry_pause(Duration::from_millis(500)),
            token: token.clone(),
            release: setup.release.clone(),
            manifest_repo: setup.manifest_repo.clone(),
            wait_started: setup.wait_started,
        }));
    }
    Ok(sources)
}

#[cfg(test)]
#[path = "argocd_tests.rs"]
mod tests;
