use serde_json::{Value, json};

use super::*;

/// The rollout fixtures, shaped like kubectl's own test objects
/// (`pkg/polymorphichelpers/rollout_status_test.go`) and shared with the e2e test that asks
/// kubectl itself about each of them.
fn fixtures() -> Vec<Value> {
    let text = include_str!("../../tests/fixtures/k8s/rollouts.json");
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

fn release() -> ReleaseRef {
    ReleaseRef {
        image_name: "registry.example.com/team/web".into(),
        tag: "v1.4.2".into(),
        digest: None,
        commit: Some("23bdcf5e8a7d4c1b9f0e6a2d3c4b5a69788f9e0d".into()),
    }
}

const DIGEST: &str = "sha256:4c2a0f1e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988";

fn workload(kind: &str) -> WorkloadRef {
    WorkloadRef {
        namespace: "bar".into(),
        kind: match kind {
            "deployment" => WorkloadKind::Deployment,
            "statefulset" => WorkloadKind::StatefulSet,
            _ => WorkloadKind::DaemonSet,
        },
        name: "foo".into(),
    }
}

fn web() -> WorkloadRef {
    WorkloadRef {
        namespace: "web".into(),
        kind: WorkloadKind::Deployment,
        name: "web".into(),
    }
}

fn outcome(r: &Rollout) -> &'static str {
    match r {
        Rollout::Done(_) => "done",
        Rollout::Waiting(_) => "waiting",
        Rollout::Error(_) => "error",
    }
}

fn verdict_line(v: &Verdict) -> String {
    match v {
        Verdict::Done { summary } => format!("Done: {summary}"),
        Verdict::Wait { unmet } => format!("Wait: {}", unmet.join(" | ")),
        Verdict::Fail { why, hint } => format!("Fail: {why} (hint: {hint})"),
        Verdict::Superseded { by } => format!("Superseded: {by}"),
    }
}

#[test]
fn rollout_status_follows_kubectl_on_its_own_test_objects() {
    let cases = fixtures();
    assert_eq!(cases.len(), 20);
    let mut lines = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default();
        let w = workload(case["kind"].as_str().unwrap_or_default());
        let status = rollout_status(w.kind, &case["object"]);
        assert_eq!(outcome(&status), case["kubectl"], "{name}: {status:?}");
        let verdict = workload_verdict(&w, &case["object"], None, &release());
        let expected = match case["kubectl"].as_str() {
            Some("done") => "Done",
            Some("waiting") => "Wait",
            _ => "Fail",
        };
        assert!(
            verdict_line(&verdict).starts_with(expected),
            "{name}: {verdict:?}"
        );
        lines.push(format!(
            "{name}\n  kubectl: {status:?}\n  {}",
            verdict_line(&verdict)
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

fn rolled_out_deployment(image: &str) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "web", "generation": 7},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web", "tier": "front"}},
            "template": {"spec": {
                "initContainers": [{"name": "migrate", "image": image}],
                "containers": [{"name": "web", "image": image}, {"name": "envoy", "image": "envoyproxy/envoy:v1.30"}],
            }},
        },
        "status": {"observedGeneration": 7, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    })
}

fn pod(name: &str, image_id: &str, phase: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": "web", "tier": "front"}},
        "spec": {"containers": [
            {"name": "web", "image": "registry.example.com/team/web:v1.4.2"},
            {"name": "envoy", "image": "envoyproxy/envoy:v1.30"},
        ]},
        "status": {"phase": phase, "containerStatuses": [
            {"name": "envoy", "imageID": "docker.io/envoyproxy/envoy@sha256:1111111111111111111111111111111111111111111111111111111111111111"},
            {"name": "web", "imageID": image_id},
        ]},
    })
}

#[test]
fn workload_verdicts_bind_the_rollout_to_the_release() {
    let w = web();
    let with_digest = ReleaseRef {
        digest: Some(DIGEST.into()),
        ..release()
    };
    let other = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    let pods_ok = json!({"items": [
        pod("web-1", &format!("registry.example.com/team/web@{DIGEST}"), "Running"),
        pod("web-2", &format!("docker-pullable://registry.example.com/team/web@{DIGEST}"), "Running"),
        pod("web-old", &format!("registry.example.com/team/web@{other}"), "Succeeded"),
    ]});
    let mut terminating = pod(
        "web-0",
        &format!("registry.example.com/team/web@{other}"),
        "Running",
    );
    terminating["metadata"]["deletionTimestamp"] = json!("2026-12-02T02:00:00Z");
    let pods_old = json!({"items": [
        pod("web-1", &format!("registry.example.com/team/web@{DIGEST}"), "Running"),
        pod("web-3", &format!("registry.example.com/team/web@{other}"), "Running"),
        terminating,
    ]});
    let mut deadline = rolled_out_deployment("registry.example.com/team/web:v1.4.1");
    deadline["status"]["conditions"] =
        json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
    let rows: Vec<(&str, Value, Option<Value>, ReleaseRef)> = vec![
        (
            "template on the release",
            rolled_out_deployment("registry.example.com/team/web:v1.4.2"),
            None,
            release(),
        ),
        (
            "template on another tag of the image",
            rolled_out_deployment("registry.example.com/team/web:v1.4.1"),
            None,
            release(),
        ),
        (
            "template pinned to the release digest",
            rolled_out_deployment(&format!("registry.example.com/team/web@{DIGEST}")),
            None,
            with_digest.clone(),
        ),
        (
            "old template past its deadline is waiting, not failing",
            deadline,
            None,
            release(),
        ),
        (
            "no container runs the image",
            rolled_out_deployment("registry.example.com/team/api:v1.4.2"),
            None,
            release(),
        ),
        (
            "every running pod on the digest",
            rolled_out_deployment("registry.example.com/team/web:v1.4.2"),
            Some(pods_ok),
            with_digest.clone(),
        ),
        (
            "a running pod on another digest",
            rolled_out_deployment("registry.example.com/team/web:v1.4.2"),
            Some(pods_old),
            with_digest.clone(),
        ),
    ];
    let mut lines = Vec::new();
    for (name, obj, pods, release) in &rows {
        let v = workload_verdict(&w, obj, pods.as_ref(), release);
        lines.push(format!("{name}\n  {}", verdict_line(&v)));
    }
    insta::assert_snapshot!(lines.join("\n"));

    // The pods are listed only when a digest must be checked and the rest is done.
    let done = workload_verdict(&w, &rows[0].1, None, &with_digest);
    assert!(needs_pods(&done, &with_digest));
    assert!(!needs_pods(&done, &release()));
    let waiting = workload_verdict(&w, &rows[1].1, None, &with_digest);
    assert!(!needs_pods(&waiting, &with_digest));
}

#[test]
fn docker_hub_short_names_match_their_long_form() {
    let release = ReleaseRef {
        image_name: "nginx".into(),
        tag: "1.27".into(),
        digest: None,
        commit: None,
    };
    let w = web();
    for image in [
        "nginx:1.27",
        "docker.io/library/nginx:1.27",
        "index.docker.io/library/nginx:1.27",
    ] {
        let v = workload_verdict(&w, &rolled_out_deployment(image), None, &release);
        assert!(matches!(v, Verdict::Done { .. }), "{image}: {v:?}");
    }
    let v = workload_verdict(
        &w,
        &rolled_out_deployment("ghcr.io/library/nginx:1.27"),
        None,
        &release,
    );
    assert!(matches!(v, Verdict::Fail { .. }), "{v:?}");
}

#[test]
fn label_selectors_are_spelled_as_the_api_reads_them() {
    let obj = json!({"spec": {"selector": {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "track", "operator": "NotIn", "values": ["old"]},
            {"key": "team", "operator": "Exists"},
        ],
    }}});
    assert_eq!(
        label_selector(&obj).as_deref(),
        Ok("app=web,tier in (front,edge),!canary,track notin (old),team")
    );
    assert!(label_selector(&json!({"spec": {}})).is_err());
}

#[test]
fn paths_and_labels_of_workloads_and_kustomizations() {
    let sts = WorkloadRef {
        kind: WorkloadKind::StatefulSet,
        name: "db".into(),
        ..web()
    };
    assert_eq!(
        workload_path(&sts),
        "/apis/apps/v1/namespaces/web/statefulsets/db"
    );
    assert_eq!(workload_label(&sts), "statefulset web/db");
    let ks = FluxRef {
        namespace: "flux-system".into(),
        name: "web".into(),
    };
    assert_eq!(
        flux_path(&ks),
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/web"
    );
    assert_eq!(flux_label(&ks), "kustomization flux-system/web");
    assert_eq!(
        query_value("app=web,tier in (a,b)"),
        "app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
    );
}

// ---------------------------------------------------------------------------------------
// Flux, shaped like kustomize-controller's docs/spec/v1/kustomizations.md

const C: &str = "23bdcf5e8a7d4c1b9f0e6a2d3c4b5a69788f9e0d";
const OLDER: &str = "450796ddb2ab6724ee1cc32a4be56da032d1cca0";

fn kustomization(conditions: Value, applied: &str, attempted: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "web", "namespace": "flux-system", "generation": 3},
        "spec": {"interval": "10m", "path": "./apps/web", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "manifests"}},
        "status": {
            "observedGeneration": 3,
            "conditions": conditions,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted,
        },
    })
}

fn cond(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "observedGeneration": 3, "lastTransitionTime": "2026-12-02T02:00:00Z"})
}

#[test]
fn flux_verdicts_follow_ready_and_the_applied_revision() {
    let ks = FluxRef {
        namespace: "flux-system".into(),
        name: "web".into(),
    };
    const LATER: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
    // NEWER: after C, its manifest on another tag (the next release).
    const NEWER: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
    let lineage = Lineage {
        descendants: [LATER.to_string(), NEWER.to_string()].into(),
        known: [C, OLDER, LATER, NEWER]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        tags: [
            (LATER.to_string(), "v1.4.2".to_string()),
            (NEWER.to_string(), "v1.4.3".to_string()),
        ]
        .into(),
    };
    let newer = format!("main@sha1:{NEWER}");
    let later = format!("main@sha1:{LATER}");
    let at_c = format!("main@sha1:{C}");
    let older = format!("main@sha1:{OLDER}");
    let ready = |rev: &str| {
        cond(
            "Ready",
            "True",
            "ReconciliationSucceeded",
            &format!("Applied revision: {rev}"),
        )
    };
    let mut stale = kustomization(json!([ready(&at_c)]), &at_c, &at_c);
    stale["metadata"]["generation"] = json!(4);
    let mut oci = kustomization(
        json!([ready("latest@sha256:abcdef0123456789")]),
        "latest@sha256:abcdef0123456789",
        "latest@sha256:abcdef0123456789",
    );
    oci["status"]["lastAppliedOriginRevision"] = json!(at_c);
    let rows: Vec<(&str, Value)> = vec![
        (
            "ready at C",
            kustomization(json!([ready(&at_c)]), &at_c, &at_c),
        ),
        (
            "ready at C, legacy revision format",
            kustomization(
                json!([ready(&format!("main/{C}"))]),
                &format!("main/{C}"),
                &format!("main/{C}"),
            ),
        ),
        ("ready at C, OCI artifact with its origin revision", oci),
        (
            "ready on an older commit",
            kustomization(json!([ready(&older)]), &older, &older),
        ),
        (
            "ready on a later commit",
            kustomization(json!([ready(&later)]), &later, &later),
        ),
        (
            "ready on a later commit whose manifest names another tag",
            kustomization(json!([ready(&newer)]), &newer, &newer),
        ),
        ("ready, but for an older generation", stale),
        (
            "reconciling C",
            kustomization(
                json!([
                    cond(
                        "Reconciling",
                        "True",
                        "Progressing",
                        &format!("Detecting drift for revision {at_c} with a timeout of 50s")
                    ),
                    cond(
                        "Ready",
                        "Unknown",
                        "Progressing",
                        "Reconciliation in progress"
                    ),
                ]),
                &older,
                &at_c,
            ),
        ),
        (
            "health check of C failed",
            kustomization(
                json!([
                    cond(
                        "Reconciling",
                        "True",
                        "ProgressingWithRetry",
                        "Detecting drift"
                    ),
                    cond(
                        "Ready",
                        "False",
                        "HealthCheckFailed",
                        "timeout waiting for: [Deployment/web/web status: 'InProgress']"
                    ),
                ]),
                &older,
                &at_c,
            ),
        ),
        (
            "build of an older commit failed",
            kustomization(
                json!([cond(
                    "Ready",
                    "False",
                    "BuildFailed",
                    "kustomize build failed: accumulating resources"
                ),]),
                &older,
                &older,
            ),
        ),
        (
            "dependency not ready",
            kustomization(
                json!([cond(
                    "Ready",
                    "False",
                    "DependencyNotReady",
                    "dependency 'flux-system/infra' is not ready"
                ),]),
                &older,
                &at_c,
            ),
        ),
        (
            "stalled",
            kustomization(
                json!([
                    cond(
                        "Ready",
                        "False",
                        "AccessDenied",
                        "cross-namespace references are not allowed"
                    ),
                    cond(
                        "Stalled",
                        "True",
                        "AccessDenied",
                        "cross-namespace references are not allowed"
                    ),
                ]),
                "",
                "",
            ),
        ),
    ];
    let mut lines = Vec::new();
    for (name, obj) in &rows {
        lines.push(format!(
            "{name}\n  {}",
            verdict_line(&flux_verdict(&ks, obj, &release(), &lineage))
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn flux_revisions_name_their_commit() {
    assert_eq!(flux_revision_commit(&format!("main@sha1:{C}")), Some(C));
    assert_eq!(
        flux_revision_commit(&format!("refs/heads/feature/x@sha1:{C}")),
        Some(C)
    );
    assert_eq!(flux_revision_commit(&format!("sha1:{C}")), Some(C));
    assert_eq!(flux_revision_commit(&format!("main/{C}")), Some(C));
    assert_eq!(flux_revision_commit(C), Some(C));
    assert_eq!(flux_revision_commit("latest@sha256:abcdef0123456789"), None);
    assert_eq!(flux_revision_commit("feature/branch"), None);
    assert_eq!(flux_revision_commit(""), None);
    // Without a commit (rollback) only Ready counts.
    let ks = FluxRef {
        namespace: "flux-system".into(),
        name: "web".into(),
    };
    let rollback = ReleaseRef {
        commit: None,
        ..release()
    };
    let ready = json!([{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Applied"}]);
    let obj = kustomization(ready, &format!("main@sha1:{OLDER}"), "");
    assert!(flux_verdict(&ks, &obj, &rollback, &Lineage::default()).is_done());
}
