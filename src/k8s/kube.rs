//! The Kubernetes API side of the gate: plain rollouts (Deployment, StatefulSet, DaemonSet)
//! and Flux Kustomizations. The verdicts are pure, `(object JSON, release) → Verdict`; the
//! reader at the bottom makes one GET per workload per poll (and lists the workload's pods
//! only once the rollout is otherwise done and the release has a digest to check).
//!
//! The rollout rules are kubectl's own, `kubectl rollout status`
//! (kubernetes/kubectl `pkg/polymorphichelpers/rollout_status.go`), message for message, so
//! a wait that times out says what kubectl would say. On top of them the release binds the
//! verdict to *this* release: the pod template runs the release image, and every running
//! pod's `imageID` has the release digest when one is known.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::gate::{Look, Setup, Source, SourceError};
use super::http::{HttpClient, K8sError};
use super::kubeconfig::{self, Access, Bearer, Credential, Env};
use super::verdict::{Lineage, Observed, Relation, ReleaseRef, Verdict};
use crate::config::{FluxRef, KubeApiSettings, WorkloadKind, WorkloadRef};
use crate::error::Error;
use crate::image::ImageRef;
use crate::progress::Progress;

/// The object's path under the API server: apps/v1.
pub fn workload_path(w: &WorkloadRef) -> String {
    format!(
        "/apis/apps/v1/namespaces/{}/{}/{}",
        w.namespace,
        w.kind.plural(),
        w.name
    )
}

/// How lines and errors name a workload: `deployment web/web`.
pub fn workload_label(w: &WorkloadRef) -> String {
    format!(
        "{} {}/{}",
        w.kind.as_str().to_ascii_lowercase(),
        w.namespace,
        w.name
    )
}

/// Flux's current API, `kustomize.toolkit.fluxcd.io/v1`.
pub fn flux_path(k: &FluxRef) -> String {
    format!(
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{}/kustomizations/{}",
        k.namespace, k.name
    )
}

/// How lines and errors name a Kustomization: `kustomization flux-system/web`.
pub fn flux_label(k: &FluxRef) -> String {
    format!("kustomization {}/{}", k.namespace, k.name)
}

// ---------------------------------------------------------------------------------------
// kubectl rollout status, rule for rule

/// What `kubectl rollout status --watch=false` concludes: its message and whether it is
/// done, or its error (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Done(String),
    Waiting(String),
    Error(String),
}

fn int(v: &Value, path: &[&str]) -> i64 {
    opt_int(v, path).unwrap_or(0)
}

fn opt_int(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_i64()
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The object's conditions of `kind`, first match (kubectl's `GetDeploymentCondition`).
fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// `kubectl rollout status` for one object of `kind`, as kubectl computes it (revision 0,
/// i.e. without `--revision`). The messages are kubectl's, without the trailing newline.
pub fn rollout_status(kind: WorkloadKind, obj: &Value) -> Rollout {
    let name = text(obj, &["metadata", "name"]);
    let generation = int(obj, &["metadata", "generation"]);
    let observed = int(obj, &["status", "observedGeneration"]);
    let spec_replicas = opt_int(obj, &["spec", "replicas"]);
    match kind {
        WorkloadKind::Deployment => {
            if generation > observed {
                return Rollout::Waiting(
                    "Waiting for deployment spec update to be observed...".into(),
                );
            }
            if condition(obj, "Progressing")
                .is_some_and(|c| text(c, &["reason"]) == "ProgressDeadlineExceeded")
            {
                return Rollout::Error(format!(
                    "deployment {name:?} exceeded its progress deadline"
                ));
            }
            let replicas = int(obj, &["status", "replicas"]);
            let updated = int(obj, &["status", "updatedReplicas"]);
            let available = int(obj, &["status", "availableReplicas"]);
            if let Some(want) = spec_replicas
                && updated < want
            {
                return Rollout::Waiting(format!(
                    "Waiting for deployment {name:?} rollout to finish: {updated} out of {want} new replicas have been updated..."
                ));
            }
            if replicas > updated {
                return Rollout::Waiting(format!(
                    "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
                    replicas - updated
                ));
            }
            if available < updated {
                return Rollout::Waiting(format!(
                    "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
                ));
            }
            Rollout::Done(format!("deployment {name:?} successfully rolled out"))
        }
        WorkloadKind::DaemonSet => {
            if text(obj, &["spec", "updateStrategy", "type"]) != "RollingUpdate" {
                return Rollout::Error(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                );
            }
            if generation > observed {
                return Rollout::Waiting(
                    "Waiting for daemon set spec update to be observed...".into(),
                );
            }
            let desired = int(obj, &["status", "desiredNumberScheduled"]);
            let updated = int(obj, &["status", "updatedNumberScheduled"]);
            let available = int(obj, &["status", "numberAvailable"]);
            if updated < desired {
                return Rollout::Waiting(format!(
                    "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
                ));
            }
            if available < desired {
                return Rollout::Waiting(format!(
                    "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
                ));
            }
            Rollout::Done(format!("daemon set {name:?} successfully rolled out"))
        }
        WorkloadKind::StatefulSet => {
            if text(obj, &["spec", "updateStrategy", "type"]) != "RollingUpdate" {
                return Rollout::Error(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                );
            }
            if observed == 0 || generation > observed {
                return Rollout::Waiting(
                    "Waiting for statefulset spec update to be observed...".into(),
                );
            }
            let ready = int(obj, &["status", "readyReplicas"]);
            let updated = int(obj, &["status", "updatedReplicas"]);
            if let Some(want) = spec_replicas
                && ready < want
            {
                return Rollout::Waiting(format!(
                    "Waiting for {} pods to be ready...",
                    want - ready
                ));
            }
            // The API server defaults `rollingUpdate: {partition: 0}`, so on a real cluster
            // this branch is the one taken; kubectl never compares the revisions then.
            if let Some(rolling) = obj.pointer("/spec/updateStrategy/rollingUpdate")
                && !rolling.is_null()
            {
                if let (Some(want), Some(partition)) =
                    (spec_replicas, opt_int(rolling, &["partition"]))
                    && updated < want - partition
                {
                    return Rollout::Waiting(format!(
                        "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                        want - partition
                    ));
                }
                return Rollout::Done(format!(
                    "partitioned roll out complete: {updated} new pods have been updated..."
                ));
            }
            let current_revision = text(obj, &["status", "currentRevision"]);
            let update_revision = text(obj, &["status", "updateRevision"]);
            if update_revision != current_revision {
                return Rollout::Waiting(format!(
                    "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
                ));
            }
            Rollout::Done(format!(
                "statefulset rolling update complete {} pods at revision {current_revision}...",
                int(obj, &["status", "currentReplicas"])
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------
// The release on top: the template's image, the pods' digests

/// An image name as the registry sees it: Docker Hub's short forms spelled out
/// (`nginx` → `docker.io/library/nginx`), so a manifest's `nginx` matches a pod's
/// `docker.io/library/nginx`.
fn canonical_name(name: &str) -> String {
    let lower = name.trim();
    let (host, rest) = match lower.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first != first.to_lowercase() =>
        {
            (first, rest.to_string())
        }
        _ => ("docker.io", lower.to_string()),
    };
    let host = if host == "index.docker.io" || host == "registry-1.docker.io" {
        "docker.io"
    } else {
        host
    };
    if host == "docker.io" && !rest.contains('/') {
        format!("docker.io/library/{rest}")
    } else {
        format!("{host}/{rest}")
    }
}

/// The containers (init containers included: a migration often runs there) of a pod spec
/// whose image is the release image, by name: `(container name, image)`.
fn release_containers<'a>(pod_spec: &'a Value, release: &ReleaseRef) -> Vec<(&'a str, &'a str)> {
    let want = canonical_name(&release.image_name);
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| pod_spec.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| {
            let image = c.get("image")?.as_str()?;
            let parsed = ImageRef::parse(image).ok()?;
            (canonical_name(&parsed.name) == want).then(|| {
                (
                    c.get("name").and_then(Value::as_str).unwrap_or_default(),
                    image,
                )
            })
        })
        .collect()
}

/// Whether `image` (a container's image reference) is the release: its tag is the release
/// tag, or its digest is the release digest.
fn runs_release(image: &str, release: &ReleaseRef) -> bool {
    let Ok(parsed) = ImageRef::parse(image) else {
        return false;
    };
    match (&parsed.digest, &release.digest, &parsed.tag) {
        (Some(have), Some(want), _) => have.eq_ignore_ascii_case(want),
        (Some(_), None, Some(tag)) | (None, _, Some(tag)) => tag == &release.tag,
        _ => false,
    }
}

/// The release image reference as a person reads it.
fn release_image(release: &ReleaseRef) -> String {
    format!("{}:{}", release.image_name, release.tag)
}

/// The digest a pod's `imageID` names: `docker-pullable://repo@sha256:…`, `repo@sha256:…`;
/// `None` when it names none (an image config id `sha256:…` is not a repository digest).
fn image_id_digest(image_id: &str) -> Option<&str> {
    let (_, digest) = image_id.rsplit_once('@')?;
    digest.contains(':').then_some(digest)
}

/// A short digest for messages: `sha256:0123456789ab`.
fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |i| i + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

/// The verdict for one workload. `pods` is the pod list (`v1.PodList`) of its selector, or
/// `None` when not read (it is read only when this returns `Done` without it and the
/// release has a digest: see [`needs_pods`]).
///
/// Decisions beyond kubectl's rules:
/// - a template on another tag of the image is `Wait`, naming it: the manifest's sync has
///   not reached this workload yet (or was rolled back, which the Argo CD side and the
///   timeout catch). A workload cannot say whether that other tag is newer, so it never
///   says `Superseded`.
/// - kubectl's errors (`ProgressDeadlineExceeded`, an unsupported update strategy) are a
///   `Fail` only while the template runs the release: a deadline passed by the previous
///   rollout is not this release failing, and its sync resets the deadline.
/// - a template with no container of the release image at all is a `Fail`: the workload
///   named in `[k8s.api] workloads` will never run the release.
pub fn workload_verdict(
    workload: &WorkloadRef,
    obj: &Value,
    pods: Option<&Value>,
    release: &ReleaseRef,
) -> Verdict {
    let pod_spec = obj.pointer("/spec/template/spec").unwrap_or(&Value::Null);
    let containers = release_containers(pod_spec, release);
    if containers.is_empty() {
        return Verdict::Fail {
            why: format!(
                "no container of its pod template runs {}",
                release.image_name
            ),
            hint: "list in [k8s.api] workloads only the workloads that run the release image"
                .into(),
        };
    }
    let mut unmet = Vec::new();
    let template_ok = containers
        .iter()
        .all(|(_, image)| runs_release(image, release));
    if !template_ok {
        for (container, image) in containers.iter().filter(|(_, i)| !runs_release(i, release)) {
            unmet.push(format!(
                "container {container} runs {image}, want {}",
                release_image(release)
            ));
        }
    }
    let summary = match rollout_status(workload.kind, obj) {
        Rollout::Error(why) if template_ok => {
            return Verdict::Fail {
                why,
                hint: match workload.kind {
                    WorkloadKind::Deployment => format!(
                        "see `kubectl -n {} describe deployment {}` for why the new pods do not become available",
                        workload.namespace, workload.name
                    ),
                    _ => {
                        "jobdeploy judges rollouts as kubectl does: only the RollingUpdate strategy"
                            .into()
                    }
                },
            };
        }
        Rollout::Error(why) | Rollout::Waiting(why) => {
            unmet.push(why);
            None
        }
        Rollout::Done(message) => Some(message),
    };
    if let (Some(want), Some(pods)) = (&release.digest, pods) {
        for pod in pods
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if text(pod, &["status", "phase"]) != "Running"
                || pod
                    .pointer("/metadata/deletionTimestamp")
                    .is_some_and(|t| !t.is_null())
            {
                continue;
            }
            let pod_name = text(pod, &["metadata", "name"]);
            let spec = pod.get("spec").unwrap_or(&Value::Null);
            let statuses = ["initContainerStatuses", "containerStatuses"]
                .iter()
                .filter_map(|k| {
                    pod.pointer(&format!("/status/{k}"))
                        .and_then(Value::as_array)
                })
                .flatten()
                .collect::<Vec<_>>();
            for (container, _) in release_containers(spec, release) {
                let id = statuses
                    .iter()
                    .find(|s| text(s, &["name"]) == container)
                    .map(|s| text(s, &["imageID"]))
                    .unwrap_or_default();
                match image_id_digest(id) {
                    Some(have) if have.eq_ignore_ascii_case(want) => {}
                    Some(have) => unmet.push(format!(
                        "pod {pod_name} container {container} runs {}, want {}",
                        short_digest(have),
                        short_digest(want)
                    )),
                    // Not started yet (kubectl's availability counts cover that), or a
                    // runtime that reports no repository digest: nothing to compare.
                    None => {}
                }
            }
        }
    }
    match summary {
        Some(message) if unmet.is_empty() => Verdict::Done {
            summary: format!(
                "{message}, runs {}{}",
                release_image(release),
                if pods.is_some() {
                    format!(
                        " ({})",
                        short_digest(release.digest.as_deref().unwrap_or(""))
                    )
                } else {
                    String::new()
                }
            ),
        },
        _ => Verdict::Wait { unmet },
    }
}

/// Whether the pods must be listed before the verdict can be `Done`: the release has a
/// digest and the workload is otherwise done.
pub fn needs_pods(verdict: &Verdict, release: &ReleaseRef) -> bool {
    release.digest.is_some() && matches!(verdict, Verdict::Done { .. })
}

/// The `labelSelector` query value for the workload's `spec.selector`
/// (`matchLabels` and `matchExpressions`, in the label-selector syntax the API accepts).
pub fn label_selector(obj: &Value) -> Result<String, String> {
    let selector = obj.pointer("/spec/selector").unwrap_or(&Value::Null);
    let mut terms = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            terms.push(format!("{key}={}", value.as_str().unwrap_or_default()));
        }
    }
    for expr in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = text(expr, &["key"]);
        let values = expr
            .get("values")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        terms.push(match text(expr, &["operator"]) {
            "In" => format!("{key} in ({values})"),
            "NotIn" => format!("{key} notin ({values})"),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(format!("unknown selector operator `{other}`")),
        });
    }
    if terms.is_empty() {
        return Err("the workload has no spec.selector".into());
    }
    Ok(terms.join(","))
}

// ---------------------------------------------------------------------------------------
// Flux

/// The commit a Flux revision names: `main@sha1:<sha>` (Flux ≥ 2.0), `sha1:<sha>` (a
/// commit ref), the legacy `main/<sha>`, or a bare sha. `None` for an OCI or bucket digest
/// (`latest@sha256:…` of an artifact is not a git commit) and for anything not hex.
pub fn flux_revision_commit(revision: &str) -> Option<&str> {
    let candidate = match revision.rsplit_once('@') {
        Some((_, rest)) => rest.strip_prefix("sha1:")?,
        None => match revision.strip_prefix("sha1:") {
            Some(sha) => sha,
            None => revision.rsplit('/').next()?,
        },
    };
    (candidate.len() >= 7 && candidate.bytes().all(|b| b.is_ascii_hexdigit())).then_some(candidate)
}

/// The `Ready=False` reasons that mean the apply of the attempted revision failed
/// (kustomize-controller `docs/spec/v1/kustomizations.md`, "Failed Kustomization"). The
/// controller retries with backoff, but the same revision builds and applies the same way,
/// so for the release's own commit they are a failure. `ArtifactFailed` (the source has no
/// artifact yet) and `DependencyNotReady` are waiting.
const FLUX_FAILED_REASONS: [&str; 4] = [
    "BuildFailed",
    "HealthCheckFailed",
    "ReconciliationFailed",
    "PruneFailed",
];

/// The git commits a Kustomization reports (applied, its origin, attempted), full hex.
fn flux_revisions(obj: &Value) -> Vec<String> {
    [
        "lastAppliedRevision",
        "lastAppliedOriginRevision",
        "lastAttemptedRevision",
    ]
    .iter()
    .filter_map(|k| flux_revision_commit(text(obj, &["status", k])))
    .map(str::to_string)
    .collect()
}

/// The verdict for one Flux Kustomization (`kustomize.toolkit.fluxcd.io/v1`): `Ready` True
/// for the current generation with `lastAppliedRevision` (or `lastAppliedOriginRevision`,
/// for an OCI source built from git) naming the manifest commit C or a later one (`lineage`:
/// a later commit applied means C's change is in). `Stalled` True is a failure (kstatus: it
/// will not progress without a person), as is `Ready` False with a failed reason for C itself.
/// Without a commit (`rollback`), `Ready` alone.
pub fn flux_verdict(ks: &FluxRef, obj: &Value, release: &ReleaseRef, lineage: &Lineage) -> Verdict {
    let applied = text(obj, &["status", "lastAppliedRevision"]);
    let origin = text(obj, &["status", "lastAppliedOriginRevision"]);
    let attempted = text(obj, &["status", "lastAttemptedRevision"]);
    let ready = condition(obj, "Ready");
    let ready_status = ready.map_or("Unknown", |c| text(c, &["status"]));
    let ready_reason = ready.map_or("", |c| text(c, &["reason"]));
    let ready_message = ready.map_or("no Ready condition yet", |c| text(c, &["message"]));
    let reconcile = format!(
        "fix it in the manifest repo, or run `flux reconcile kustomization {} -n {}` once the cause is gone",
        ks.name, ks.namespace
    );
    if let Some(stalled) = condition(obj, "Stalled")
        && text(stalled, &["status"]) == "True"
    {
        return Verdict::Fail {
            why: format!(
                "Stalled, {}: {}",
                text(stalled, &["reason"]),
                text(stalled, &["message"])
            ),
            hint: reconcile,
        };
    }
    let relation = |revision: &str| {
        let commit = release.commit.as_deref()?;
        let sha = flux_revision_commit(revision)?;
        Some(lineage.relation(commit, sha))
    };
    if ready_status == "False"
        && FLUX_FAILED_REASONS.contains(&ready_reason)
        && relation(attempted) == Some(Relation::Same)
    {
        return Verdict::Fail {
            why: format!("Ready False, {ready_reason}: {ready_message} (revision {attempted})"),
            hint: reconcile,
        };
    }
    let includes_c = |revision: &str| {
        release.commit.is_none()
            || matches!(
                relation(revision),
                Some(Relation::Same | Relation::Descendant)
            )
    };
    let mut unmet = Vec::new();
    let generation = int(obj, &["metadata", "generation"]);
    let observed = ready.and_then(|c| opt_int(c, &["observedGeneration"]));
    if ready_status != "True" {
        unmet.push(format!(
            "Ready {ready_status}{}: {ready_message}, want Ready True",
            if ready_reason.is_empty() {
                String::new()
            } else {
                format!(", {ready_reason}")
            }
        ));
    } else if let Some(observed) = observed.filter(|o| *o < generation) {
        unmet.push(format!(
            "Ready is for generation {observed}, want {generation}"
        ));
    }
    if !(includes_c(applied) || (!origin.is_empty() && includes_c(origin))) {
        unmet.push(format!(
            "lastAppliedRevision {}, want {}",
            if applied.is_empty() { "none" } else { applied },
            release.commit.as_deref().unwrap_or_default()
        ));
    }
    if !unmet.is_empty() {
        return Verdict::Wait { unmet };
    }
    // A later commit applied whose manifest names another tag: k8s will not run this release
    // (a Kustomization's status names no images, so the manifest at that commit tells).
    if let Some(sha) = flux_revision_commit(applied)
        && relation(applied) == Some(Relation::Descendant)
        && let Some(tag) = lineage.tags.get(&sha.to_ascii_lowercase())
        && !is_release_tag(tag, release)
    {
        let separator = if tag.starts_with('@') { "" } else { ":" };
        return Verdict::Superseded {
            by: format!(
                "{}{separator}{tag} at {}",
                release.image_name,
                super::verdict::short_commit(sha)
            ),
        };
    }
    Verdict::Done {
        summary: format!("Ready, applied {applied}"),
    }
}

/// A tag the manifest names (`@sha256:…` for a digest alone) is the release's.
fn is_release_tag(tag: &str, release: &ReleaseRef) -> bool {
    match tag.strip_prefix('@') {
        Some(digest) => release.digest.as_deref() == Some(digest),
        None => tag == release.tag,
    }
}

// ---------------------------------------------------------------------------------------
// The reader: one connection, one source per workload and per Kustomization

/// The API server, its client and the credentials of each request, shared by every source.
pub struct Api {
    server: String,
    client: HttpClient,
    bearer: Bearer,
    /// `context "prod" in /home/me/.kube/config`, for errors.
    origin: String,
}

/// Unreserved characters pass, everything else is `%XX` (RFC 3986), for a query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Api {
    /// Connects as `access` says. An exec plugin runs once here, so a broken one fails
    /// before any look (and a client certificate it returns is used for TLS). `sdk` signs
    /// the EKS token with `eks_cluster`.
    pub fn connect(
        access: Access,
        sdk: Option<aws_config::SdkConfig>,
        timeout: Duration,
    ) -> Result<Arc<Self>, Error> {
        let Access {
            server,
            mut tls,
            credential,
            origin,
        } = access;
        let primed = match &credential {
            Credential::Exec(plugin) => {
                let got = plugin.run()?;
                if let (Some(cert), Some(key)) = (&got.client_cert_pem, &got.client_key_pem) {
                    tls.client_cert_pem = Some(cert.clone());
                    tls.client_key_pem = Some(key.clone());
                }
                Some(got)
            }
            _ => None,
        };
        let client = HttpClient::new(&tls, timeout)
            .map_err(|e| Error::new(format!("[k8s.api] {server} ({origin}): {e}")))?;
        let bearer = Bearer::new(credential, sdk);
        if let Some(got) = &primed {
            bearer.prime(got);
        }
        Ok(Arc::new(Self {
            server,
            client,
            bearer,
            origin,
        }))
    }

    /// GET `path` (with its query) as JSON; `about` names the object in errors.
    async fn get(&self, path: &str, about: &str) -> Result<Value, SourceError> {
        let token = self.bearer.token().await.map_err(|error| SourceError {
            error,
            transient: false,
        })?;
        let url = format!("{}{path}", self.server);
        self.client
            .get_json(&url, token.as_deref())
            .await
            .map_err(|e| {
                let hint = match &e {
                    K8sError::Unauthorized { .. } => Some(format!(
                        "the API server refused the credentials of {}: check its token, client certificate or exec plugin (with eks_cluster: the IAM principal's EKS access entry)",
                        self.origin
                    )),
                    K8sError::Forbidden { .. } => Some(
                        "grant get on deployments, statefulsets, daemonsets and kustomizations, and list on pods (README: Release coherence, permissions)".into(),
                    ),
                    K8sError::NotFound { .. } => Some(format!(
                        "check [k8s.api] for {about}: namespace, kind and name as `kubectl get` shows them ({})",
                        self.origin
                    )),
                    _ => None,
                };
                SourceError::from_http(e, &format!("Kubernetes {about}"), hint)
            })
    }
}

/// One `[k8s.api] workloads` entry.
pub struct WorkloadSource {
    api: Arc<Api>,
    workload: WorkloadRef,
    release: ReleaseRef,
}

impl WorkloadSource {
    pub fn new(api: Arc<Api>, workload: WorkloadRef, release: ReleaseRef) -> Self {
        Self {
            api,
            workload,
            release,
        }
    }

    /// One GET of the workload, and its pods when the digest must be checked.
    pub async fn verdict(&self) -> Result<(Verdict, Observed), SourceError> {
        let label = self.label();
        let obj = self.api.get(&workload_path(&self.workload), &label).await?;
        let mut verdict = workload_verdict(&self.workload, &obj, None, &self.release);
        if needs_pods(&verdict, &self.release) {
            let selector = label_selector(&obj).map_err(|e| SourceError {
                error: Error::new(format!("Kubernetes {label}: {e}")),
                transient: false,
            })?;
            let path = format!(
                "/api/v1/namespaces/{}/pods?labelSelector={}",
                self.workload.namespace,
                query_value(&selector)
            );
            let pods = self.api.get(&path, &format!("pods of {label}")).await?;
            verdict = workload_verdict(&self.workload, &obj, Some(&pods), &self.release);
        }
        let observed = observe_workload(&label, &obj, &verdict);
        Ok((verdict, observed))
    }
}

impl Source for WorkloadSource {
    fn label(&self) -> String {
        workload_label(&self.workload)
    }

    fn look<'a>(
        &'a self,
        _first: bool,
        _lineage: &'a Lineage,
    ) -> BoxFuture<'a, Result<Look, SourceError>> {
        Box::pin(async move {
            let (verdict, observed) = self.verdict().await?;
            Ok(Look {
                verdict,
                observed,
                revisions: Vec::new(),
            })
        })
    }
}

/// One `[k8s.api] flux` entry.
pub struct FluxSource {
    api: Arc<Api>,
    kustomization: FluxRef,
    release: ReleaseRef,
}

impl Source for FluxSource {
    fn label(&self) -> String {
        flux_label(&self.kustomization)
    }

    fn look<'a>(
        &'a self,
        _first: bool,
        lineage: &'a Lineage,
    ) -> BoxFuture<'a, Result<Look, SourceError>> {
        Box::pin(async move {
            let label = self.label();
            let obj = self
                .api
                .get(&flux_path(&self.kustomization), &label)
                .await?;
            let verdict = flux_verdict(&self.kustomization, &obj, &self.release, lineage);
            Ok(Look {
                observed: observe_flux(&label, &obj),
                revisions: flux_revisions(&obj),
                verdict,
            })
        })
    }
}

/// What `plan` and `status` show of a workload: its rollout state and template images.
fn observe_workload(label: &str, obj: &Value, verdict: &Verdict) -> Observed {
    let spec = obj.pointer("/spec/template/spec").unwrap_or(&Value::Null);
    let images = ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect();
    Observed {
        source: label.to_string(),
        revision: None,
        sync: Some(
            match verdict {
                Verdict::Done { .. } => "rolled out",
                Verdict::Fail { .. } => "failed",
                _ => "rolling out",
            }
            .to_string(),
        ),
        health: None,
        images,
    }
}

/// What `plan` and `status` show of a Kustomization: its revision and readiness.
fn observe_flux(label: &str, obj: &Value) -> Observed {
    let ready = condition(obj, "Ready");
    Observed {
        source: label.to_string(),
        revision: Some(text(obj, &["status", "lastAppliedRevision"]).to_string())
            .filter(|r| !r.is_empty()),
        sync: None,
        health: Some(match ready.map(|c| text(c, &["status"])) {
            Some("True") => "Ready".to_string(),
            _ => format!(
                "NotReady{}",
                ready
                    .map(|c| text(c, &["reason"]))
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        }),
        images: Vec::new(),
    }
}

/// Every source of `[k8s.api]`: the kubeconfig is read and the exec plugin run here, so a
/// bad one fails before any look; `insecure-skip-tls-verify` and `http://` are warned.
pub fn sources(
    settings: &KubeApiSettings,
    setup: &Setup<'_>,
    progress: &Progress,
) -> Result<Vec<Box<dyn Source>>, Error> {
    let access = kubeconfig::load(
        &Env::from_process(),
        settings.context.as_deref(),
        settings.eks_cluster.as_deref(),
    )?;
    if access.tls.insecure {
        progress.warn(format!(
            "[k8s.api] {}: insecure-skip-tls-verify: the certificate of {} is not checked",
            access.origin, access.server
        ));
    }
    if access.server.starts_with("http://") {
        progress.warn(format!(
            "[k8s.api] {}: server {} is plain http://: credentials cross the network unencrypted",
            access.origin, access.server
        ));
    }
    let api = Api::connect(access, setup.aws.clone(), setup.request_timeout)?;
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for workload in &settings.workloads {
        sources.push(Box::new(WorkloadSource::new(
            api.clone(),
            workload.clone(),
            setup.release.clone(),
        )));
    }
    for kustomization in &settings.flux {
        sources.push(Box::new(FluxSource {
            api: api.clone(),
            kustomization: kustomization.clone(),
            release: setup.release.clone(),
        }));
    }
    Ok(sources)
}

#[cfg(test)]
#[path = "kube_tests.rs"]
mod tests;
