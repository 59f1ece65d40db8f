//! The Kubernetes API side of the gate against the stand-in API server: kubectl itself
//! agrees with jobdeploy on every rollout fixture (so the stand-in and the verdicts are
//! faithful to kubectl), and deploy waits through a scripted rollout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use jobdeploy::config::{WorkloadKind, WorkloadRef};
use jobdeploy::k8s::kube::{Api, WorkloadSource};
use jobdeploy::k8s::kubeconfig::{self, Env};
use jobdeploy::k8s::{ReleaseRef, Verdict};
use serde_json::Value;

use crate::common::kube_api::KubeApi;
use crate::common::*;

fn kubectl() -> PathBuf {
    if let Some(p) = std::env::var_os("JOBDEPLOY_TEST_KUBECTL") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/kubectl")
}

fn fixtures() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s/rollouts.json");
    let text = std::fs::read_to_string(path).expect("fixtures");
    serde_json::from_str::<Value>(&text)
        .expect("fixtures JSON")
        .as_array()
        .cloned()
        .expect("fixtures array")
}

/// What kubectl's `rollout status --watch=false` said: its exit, stdout and stderr.
fn kubectl_rollout_status(
    kubeconfig: &Path,
    namespace: &str,
    kind: &str,
) -> (bool, String, String) {
    let binary = kubectl();
    let output = Command::new(&binary)
        .args(["--kubeconfig"])
        .arg(kubeconfig)
        .args(["--cache-dir"])
        .arg(kubeconfig.with_file_name("cache"))
        .args([
            "-n",
            namespace,
            "rollout",
            "status",
            &format!("{kind}/foo"),
            "--watch=false",
        ])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (scripts/test installs it): {e}",
                binary.display()
            )
        });
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    )
}

/// Every fixture, shaped like kubectl's own rollout_status_test.go objects, is served by the
/// stand-in; kubectl's verdict (done, waiting, error) and message must be jobdeploy's.
#[test]
fn kubectl_agrees_with_jobdeploy_on_every_rollout_fixture() {
    let api = KubeApi::start();
    api.require_token("stand-in-token");
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = api.kubeconfig(dir.path(), "stand-in-token");
    let cases = fixtures();
    assert_eq!(cases.len(), 20);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let kind = case["kind"].as_str().expect("kind");
        let plural = format!("{kind}s");
        // One namespace per fixture; the object keeps kubectl's test name, `foo`.
        let path = format!("/apis/apps/v1/namespaces/{name}/{plural}/foo");
        api.script(&path, vec![case["object"].clone()]);

        let (ok, stdout, stderr) = kubectl_rollout_status(&kubeconfig, name, kind);
        let kubectl_says = if !ok {
            "error"
        } else if stdout.ends_with("successfully rolled out")
            || stdout.starts_with("partitioned roll out complete")
            || stdout.starts_with("statefulset rolling update complete")
        {
            "done"
        } else {
            "waiting"
        };
        assert_eq!(
            kubectl_says, case["kubectl"],
            "{name}: kubectl said {stdout:?} {stderr:?}"
        );

        // jobdeploy reads the same object through its own kubeconfig loader and client.
        let look = runtime
            .block_on(jobdeploy_look(&kubeconfig, name, kind))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (verdict, text) = match &look {
            Verdict::Done { summary } => ("done", summary.clone()),
            Verdict::Wait { unmet } => ("waiting", unmet.join("; ")),
            Verdict::Fail { why, .. } => ("error", why.clone()),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            verdict, kubectl_says,
            "{name}: jobdeploy said {text:?}, kubectl {stdout:?} {stderr:?}"
        );
        // In kubectl's own words: its message (or error) is jobdeploy's.
        let kubectl_words = if ok {
            stdout.clone()
        } else {
            // Its error is its last line (client-go may log reflector notes before it).
            stderr
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string()
        };
        assert!(
            text.contains(&kubectl_words),
            "{name}: jobdeploy {text:?} vs kubectl {kubectl_words:?}"
        );
    }
    // kubectl was refused nothing: every request carried the kubeconfig's token.
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("fieldSelector=metadata.name"))
    );
}

/// jobdeploy's verdict on `namespace`'s workload `foo`, as the gate's source reads it.
async fn jobdeploy_look(kubeconfig: &Path, namespace: &str, kind: &str) -> Result<Verdict, String> {
    let env = Env {
        kubeconfig: Some(kubeconfig.as_os_str().to_owned()),
        ..Env::default()
    };
    let access = kubeconfig::load(&env, None, None).map_err(|e| e.message().to_string())?;
    let api =
        Api::connect(access, None, Duration::from_secs(10)).map_err(|e| e.message().to_string())?;
    let workload = WorkloadRef {
        namespace: namespace.to_string(),
        kind: match kind {
            "deployment" => WorkloadKind::Deployment,
            "statefulset" => WorkloadKind::StatefulSet,
            _ => WorkloadKind::DaemonSet,
        },
        name: "foo".into(),
    };
    let source = WorkloadSource::new(api, workload, release());
    source
        .verdict()
        .await
        .map(|(verdict, _)| verdict)
        .map_err(|e| e.error.message().to_string())
}

fn release() -> ReleaseRef {
    ReleaseRef {
        image_name: "registry.example.com/team/web".into(),
        tag: "v1.4.2".into(),
        digest: None,
        commit: None,
    }
}

// ---------------------------------------------------------------------------------------
// deploy with [k8s.api] workloads

const WEB: &str = "/apis/apps/v1/namespaces/web/deployments/web";

/// Deployment web/web as the API server shows it: its template's image tag, generation and
/// observed generation, spec replicas, status replicas / updated / available, conditions.
fn web_deployment(
    tag: &str,
    generation: i64,
    observed: i64,
    counts: [i64; 4],
    conditions: Value,
) -> Value {
    let [spec, replicas, updated, available] = counts;
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web", "generation": generation},
        "spec": {
            "replicas": spec,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": format!("{IMAGE}:{tag}")}]},
            },
            "strategy": {"type": "RollingUpdate"},
        },
        "status": {
            "observedGeneration": observed, "replicas": replicas,
            "updatedReplicas": updated, "availableReplicas": available,
            "conditions": conditions,
        },
    })
}

/// A running pod of web/web whose container `web` runs the image with `digest`.
fn web_pod(name: &str, digest: &str) -> Value {
    serde_json::json!({
        "metadata": {"name": name, "namespace": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": format!("{IMAGE}:v2")}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "web", "ready": true, "imageID": format!("{IMAGE}@{digest}")},
        ]},
    })
}

fn progressing(reason: &str) -> Value {
    serde_json::json!([{"type": "Progressing", "status": if reason == "ProgressDeadlineExceeded" { "False" } else { "True" }, "reason": reason}])
}

/// The rollout of v2 over v1: still v1, the new spec not yet observed, new pods coming up,
/// old ones terminating, then rolled out.
fn rollout_timeline() -> Vec<Value> {
    vec![
        web_deployment(
            "v1",
            1,
            1,
            [2, 2, 2, 2],
            progressing("NewReplicaSetAvailable"),
        ),
        web_deployment(
            "v2",
            2,
            1,
            [2, 2, 2, 2],
            progressing("NewReplicaSetAvailable"),
        ),
        web_deployment("v2", 2, 2, [2, 3, 1, 2], progressing("ReplicaSetUpdated")),
        web_deployment("v2", 2, 2, [2, 3, 2, 2], progressing("ReplicaSetUpdated")),
        web_deployment(
            "v2",
            2,
            2,
            [2, 2, 2, 2],
            progressing("NewReplicaSetAvailable"),
        ),
    ]
}

fn k8s_app(w: &World, api: &KubeApi, token: &str, extra: &str) -> App {
    let text = format!(
        "{}\n[k8s]\npoll = \"1s\"\ntimeout = \"60s\"\n\n[k8s.api]\nworkloads = [\"web/deployment/web\"]\n{extra}",
        config(&w.cluster, "")
    );
    let app = App::new(&text, &["web"]);
    // $HOME/.kube/config: the default kubeconfig (the binary runs with HOME = the app dir).
    api.kubeconfig(&app.path().join(".kube"), token);
    app
}

#[test]
fn deploy_waits_through_a_scripted_rollout_then_switches() {
    let w = World::new();
    w.hourly_web_job();
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.require_token("ci-token");
    api.script(WEB, rollout_timeline());
    // The release's digest is ECR's: once the rollout is done, one pod still runs v1's
    // digest (terminating late), then every pod runs v2's.
    let (v1, v2) = (
        w.aws.image_digest("web", "v1"),
        w.aws.image_digest("web", "v2"),
    );
    assert_ne!(v1, v2, "the world's tags are distinct images");
    api.script_pods(
        "web",
        vec![
            vec![web_pod("web-new-1", &v2), web_pod("web-old-1", &v1)],
            vec![web_pod("web-new-1", &v2), web_pod("web-new-2", &v2)],
        ],
    );
    let app = k8s_app(&w, &api, "ci-token", "");
    let run = w.run(&app, &["deploy", "--tag", "v2"]).ok();

    // One GET per poll, until the last state, and the pods once the rollout was done; no
    // AWS write before the last answer.
    let seen = api.seen();
    let pods = "GET /api/v1/namespaces/web/pods?labelSelector=app%3Dweb".to_string();
    let requests: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
    let get = format!("GET {WEB}");
    assert_eq!(
        requests,
        [&get, &get, &get, &get, &get, &pods, &get, &pods].map(String::as_str),
        "{seen:?}"
    );
    assert!(seen[..7].iter().all(|(_, writes)| *writes == 0), "{seen:?}");
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    // The waiting said what it waited for, in kubectl's words.
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains(&format!(
            "deployment web/web: container web runs {IMAGE}:v1, want {IMAGE}:v2"
        )),
        "{out}"
    );
    assert!(out.contains("Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."), "{out}");
    assert!(
        out.contains(&format!("pod web-old-1 container web runs {}", &v1[..19])),
        "{out}"
    );
}

#[test]
fn progress_deadline_exceeded_fails_the_deploy_with_nothing_written() {
    let w = World::new();
    w.hourly_web_job();
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.script(
        WEB,
        vec![web_deployment(
            "v2",
            2,
            2,
            [2, 3, 1, 2],
            progressing("ProgressDeadlineExceeded"),
        )],
    );
    let app = k8s_app(&w, &api, "any", "");
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
    assert!(
        run.stderr
            .contains("deployment web/web: deployment \"web\" exceeded its progress deadline"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was written"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("kubectl -n web describe deployment web"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 1)
    );
}

#[test]
fn a_refused_token_names_the_kubeconfig_context_before_any_write() {
    let w = World::new();
    w.hourly_web_job();
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.require_token("the-right-one");
    api.script(WEB, rollout_timeline());
    let app = k8s_app(&w, &api, "a-stale-one", "");
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
    assert!(run.stderr.contains("401 Unauthorized"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "context \"stand-in\" in {}",
            app.path().join(".kube/config").display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("a-stale-one"),
        "the token is never printed: {}",
        run.stderr
    );
}

/// With `eks_cluster`, the binary signs the token from the AWS credentials it runs with, as
/// `aws eks get-token` would; the stand-in accepts only such a token for cluster `prod`.
#[test]
fn eks_cluster_makes_the_token_from_the_aws_credentials() {
    let w = World::new();
    w.hourly_web_job();
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.require_token_that(|token| {
        let Some(body) = token.strip_prefix("k8s-aws-v1.") else {
            return false;
        };
        let standard = body.replace('-', "+").replace('_', "/");
        let padded = format!("{standard}{}", "=".repeat((4 - standard.len() % 4) % 4));
        let url = aws_smithy_types::base64::decode(padded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        url.starts_with("https://sts.us-east-1.amazonaws.com/?")
            && url.contains("Action=GetCallerIdentity")
            && url.contains("X-Amz-Credential=testing%2F")
            && url.contains("X-Amz-Expires=60")
            && url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id")
    });
    api.script(
        WEB,
        vec![web_deployment(
            "v2",
            2,
            2,
            [2, 2, 2, 2],
            progressing("NewReplicaSetAvailable"),
        )],
    );
    // The kubeconfig's own user token is not what is sent.
    let app = k8s_app(&w, &api, "not-this-one", "eks_cluster = \"prod\"\n");
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    // Signing is local: no STS or EKS request went to AWS.
    assert!(
        !w.proxy
            .actions()
            .iter()
            .any(|a| a == "GetCallerIdentity" || a == "DescribeCluster"),
        "{:?}",
        w.proxy.actions()
    );
}

// ---------------------------------------------------------------------------------------
// deploy with [k8s.api] flux

const KS: &str = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/web";

/// Kustomization flux-system/web: its Ready condition and revisions.
fn kustomization(ready: (&str, &str, &str), applied: &str, attempted: &str) -> Value {
    let (status, reason, message) = ready;
    serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "web", "namespace": "flux-system", "generation": 1},
        "spec": {"interval": "5m", "path": "./apps/web", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "manifests"}},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message,
                            "observedGeneration": 1, "lastTransitionTime": "2026-12-02T03:00:00Z"}],
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted,
        },
    })
}

/// A manifest repo at v1 (`old`) then v2 (C); the app deploys what it says, with Flux.
fn flux_app(w: &World, api: &KubeApi, manifests: &ManifestRepo, manifest_extra: &str) -> App {
    let manifest = format!(
        "repo = \"{}\"\npath = \"{}\"\n{manifest_extra}",
        manifests.url(),
        crate::common::argocd::MANIFEST_PATH
    );
    let text = format!(
        "{}\n[k8s]\npoll = \"1s\"\ntimeout = \"60s\"\n\n[k8s.api]\nflux = [\"flux-system/kustomization/web\"]\n",
        config(&w.cluster, &manifest)
    );
    let app = App::new(&text, &["web"]);
    api.kubeconfig(&app.path().join(".kube"), "ci-token");
    app
}

#[test]
fn deploy_waits_for_flux_to_apply_the_manifest_commit() {
    let w = World::new();
    w.hourly_web_job();
    let manifests = ManifestRepo::new();
    let old = format!("main@sha1:{}", manifests.release("v1"));
    let c = format!("main@sha1:{}", manifests.release("v2"));
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.script(
        KS,
        vec![
            kustomization(
                (
                    "True",
                    "ReconciliationSucceeded",
                    &format!("Applied revision: {old}"),
                ),
                &old,
                &old,
            ),
            kustomization(
                ("Unknown", "Progressing", "Reconciliation in progress"),
                &old,
                &c,
            ),
            kustomization(
                (
                    "True",
                    "ReconciliationSucceeded",
                    &format!("Applied revision: {c}"),
                ),
                &c,
                &c,
            ),
        ],
    );
    let app = flux_app(&w, &api, &manifests, "");
    let run = w.run(&app, &["deploy"]).ok();
    let seen = api.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen[..2].iter().all(|(_, writes)| *writes == 0), "{seen:?}");
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains(&format!(
            "kustomization flux-system/web: lastAppliedRevision {old}, want"
        )),
        "{out}"
    );
    assert!(
        out.contains("Ready Unknown, Progressing: Reconciliation in progress, want Ready True"),
        "{out}"
    );
}

#[test]
fn a_failed_flux_health_check_of_the_commit_fails_the_deploy_with_nothing_written() {
    let w = World::new();
    w.hourly_web_job();
    let manifests = ManifestRepo::new();
    let old = format!("main@sha1:{}", manifests.release("v1"));
    let c = format!("main@sha1:{}", manifests.release("v2"));
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.script(
        KS,
        vec![kustomization(
            (
                "False",
                "HealthCheckFailed",
                "timeout waiting for: [Deployment/web/web status: 'InProgress']",
            ),
            &old,
            &c,
        )],
    );
    let app = flux_app(&w, &api, &manifests, "");
    let run = w.run(&app, &["deploy"]).fails();
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
    assert!(
        run.stderr.contains(
            "kustomization flux-system/web: Ready False, HealthCheckFailed: timeout waiting for"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("flux reconcile kustomization web -n flux-system"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was written"), "{}", run.stderr);
}

/// Issue 24: a Kustomization names no images, so Flux applying a later commit counted as the
/// release being in even when that commit moved the image on: the batch jobs switched to a
/// release k8s had already left. Now the manifest at the later commit is read: another tag
/// there supersedes the release (exit 0, a warning, nothing written), as with Argo CD.
#[test]
fn flux_applying_a_later_commit_on_another_tag_supersedes_the_release() {
    let w = World::new();
    w.hourly_web_job();
    let manifests = ManifestRepo::new();
    manifests.release("v1");
    let c = manifests.release("v2");
    let newer = format!("main@sha1:{}", manifests.release("v3"));
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.script(
        KS,
        vec![kustomization(
            (
                "True",
                "ReconciliationSucceeded",
                &format!("Applied revision: {newer}"),
            ),
            &newer,
            &newer,
        )],
    );
    // The release is C, pinned; main has moved on to v3 and Flux applied it.
    let app = flux_app(&w, &api, &manifests, &format!("ref = \"{c}\"\n"));
    let run = w.run(&app, &["deploy"]).ok();
    assert!(
        run.stdout.contains("release v2 was superseded in k8s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains(&format!("{IMAGE}:v3 at {}", &newer[10..17])),
        "{}",
        run.stderr
    );
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 1)
    );
}

// ---------------------------------------------------------------------------------------
// deploy with a StatefulSet and a DaemonSet

const DB: &str = "/apis/apps/v1/namespaces/web/statefulsets/db";
const AGENT: &str = "/apis/apps/v1/namespaces/web/daemonsets/agent";

/// StatefulSet web/db (`kubectl rollout status` reads generation, readyReplicas,
/// updatedReplicas and the two revisions): `counts` = [spec replicas, ready, updated].
fn db_statefulset(tag: &str, generation: i64, counts: [i64; 3], revisions: (&str, &str)) -> Value {
    let [spec, ready, updated] = counts;
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "web", "generation": generation},
        "spec": {
            "replicas": spec, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "web", "image": format!("{IMAGE}:{tag}")}]}},
            "updateStrategy": {"type": "RollingUpdate"},
        },
        "status": {"observedGeneration": generation, "replicas": spec, "readyReplicas": ready,
                   "currentReplicas": spec, "updatedReplicas": updated,
                   "currentRevision": revisions.0, "updateRevision": revisions.1},
    })
}

/// DaemonSet web/agent: `counts` = [desired, updated, available].
fn agent_daemonset(tag: &str, generation: i64, observed: i64, counts: [i64; 3]) -> Value {
    let [desired, updated, available] = counts;
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "web", "generation": generation},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "web", "image": format!("{IMAGE}:{tag}")}]}},
            "updateStrategy": {"type": "RollingUpdate"},
        },
        "status": {"observedGeneration": observed, "desiredNumberScheduled": desired,
                   "updatedNumberScheduled": updated, "numberAvailable": available},
    })
}

fn pod_of(app: &str, name: &str, digest: &str) -> Value {
    serde_json::json!({
        "metadata": {"name": name, "namespace": "web", "labels": {"app": app}},
        "spec": {"containers": [{"name": "web", "image": format!("{IMAGE}:v2")}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "web", "ready": true, "imageID": format!("{IMAGE}@{digest}")},
        ]},
    })
}

/// Issue 24: the gate's deploy path was exercised end to end with Deployments only. A
/// StatefulSet and a DaemonSet are read at their own API paths, waited for by kubectl's
/// rules for their kind, their pods checked for the release's digest by their own
/// selectors, and nothing is written before both are done.
#[test]
fn deploy_waits_for_a_statefulset_and_a_daemonset_by_their_own_rules() {
    let w = World::new();
    w.hourly_web_job();
    let api = KubeApi::start_with(w.proxy.write_counter());
    api.script(
        DB,
        vec![
            db_statefulset("v1", 1, [3, 3, 3], ("db-1", "db-1")),
            db_statefulset("v2", 2, [3, 2, 1], ("db-1", "db-2")),
            db_statefulset("v2", 2, [3, 3, 3], ("db-2", "db-2")),
        ],
    );
    api.script(
        AGENT,
        vec![
            agent_daemonset("v2", 2, 1, [2, 0, 2]),
            agent_daemonset("v2", 2, 2, [2, 2, 1]),
            agent_daemonset("v2", 2, 2, [2, 2, 2]),
        ],
    );
    let v2 = w.aws.image_digest("web", "v2");
    api.script_pods(
        "web",
        vec![vec![
            pod_of("db", "db-0", &v2),
            pod_of("db", "db-1", &v2),
            pod_of("agent", "agent-x1", &v2),
        ]],
    );
    let text = format!(
        "{}\n[k8s]\npoll = \"1s\"\ntimeout = \"60s\"\n\n[k8s.api]\nworkloads = [\"web/statefulset/db\", \"web/daemonset/agent\"]\n",
        config(&w.cluster, "")
    );
    let app = App::new(&text, &["web"]);
    api.kubeconfig(&app.path().join(".kube"), "ci-token");
    let run = w.run(&app, &["deploy", "--tag", "v2"]).ok();

    let seen = api.seen();
    let count = |path: &str| {
        seen.iter()
            .filter(|(r, _)| r == &format!("GET {path}"))
            .count()
    };
    assert_eq!(count(DB), 3, "{seen:?}");
    assert_eq!(count(AGENT), 3, "{seen:?}");
    // Each workload's pods by its own selector, once its rollout was done.
    for selector in ["app%3Ddb", "app%3Dagent"] {
        let pods = format!("/api/v1/namespaces/web/pods?labelSelector={selector}");
        assert_eq!(count(&pods), 1, "{seen:?}");
    }
    let last = seen.len() - 1;
    assert!(
        seen[..last].iter().all(|(_, writes)| *writes == 0),
        "{seen:?}"
    );
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    let out = format!("{}{}", run.stdout, run.stderr);
    for words in [
        format!("statefulset web/db: container web runs {IMAGE}:v1, want {IMAGE}:v2"),
        "statefulset web/db: Waiting for 1 pods to be ready...".to_string(),
        "daemonset web/agent: Waiting for daemon set spec update to be observed...".to_string(),
        "daemonset web/agent: Waiting for daemon set \"agent\" rollout to finish: 1 of 2 updated pods are available...".to_string(),
    ] {
        assert!(out.contains(&words), "{words}:\n{out}");
    }
}
