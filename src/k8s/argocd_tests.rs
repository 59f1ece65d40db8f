//! The Argo CD verdict, table-tested with applications shaped like Argo CD's own (the fields
//! of pkg/apis/application/v1alpha1/types.go, as `argocd app get -o json` prints them).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

const C: &str = "23bdcf5a1e0c4d2b8f7e6a5b4c3d2e1f0a9b8c7d";
const OLD: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const NEWER: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web";
const WAIT_STARTED: &str = "2026-03-01T10:00:00Z";

fn release(commit: Option<&str>) -> ReleaseRef {
    ReleaseRef {
        image_name: IMAGE.to_string(),
        tag: "v1.4.2".to_string(),
        digest: None,
        commit: commit.map(str::to_string),
    }
}

fn lineage() -> Lineage {
    Lineage {
        descendants: [NEWER.to_string()].into(),
        known: [C, OLD, NEWER].iter().map(|s| s.to_string()).collect(),
        tags: BTreeMap::new(),
    }
}

/// An app as Argo CD serves it: spec, status.sync/health/operationState/history/summary.
struct App {
    sync_status: &'static str,
    sync_revision: &'static str,
    health: &'static str,
    phase: Option<&'static str>,
    op_revision: &'static str,
    started: &'static str,
    finished: Option<&'static str>,
    reconciled: &'static str,
    images: Vec<String>,
    hooks: Vec<Value>,
    history: Vec<Value>,
    message: &'static str,
    retry: i64,
    pending: bool,
}

fn base() -> App {
    App {
        sync_status: "Synced",
        sync_revision: C,
        health: "Healthy",
        phase: Some("Succeeded"),
        op_revision: C,
        started: "2026-03-01T10:00:05Z",
        finished: Some("2026-03-01T10:01:00Z"),
        reconciled: "2026-03-01T10:01:30Z",
        images: vec![format!("{IMAGE}:v1.4.2"), "redis:7".to_string()],
        hooks: vec![
            json!({"group": "batch", "version": "v1", "kind": "Job", "namespace": "web", "name": "db-migrate", "hookType": "PreSync", "hookPhase": "Succeeded", "message": "job completed", "syncPhase": "PreSync"}),
        ],
        history: vec![
            json!({"revision": OLD, "deployedAt": "2026-02-28T09:00:40Z", "deployStartedAt": "2026-02-28T09:00:00Z", "id": 7, "source": {"repoURL": "https://github.com/acme/k8s-manifests.git", "path": "apps/web/overlays/production", "targetRevision": "main"}}),
        ],
        message: "successfully synced (all tasks run)",
        retry: 0,
        pending: false,
    }
}

impl App {
    fn json(&self) -> Value {
        let mut op = json!({
            "operation": {"sync": {"revision": self.op_revision, "syncStrategy": {"hook": {}}}, "initiatedBy": {"automated": true}, "retry": {"limit": 5}},
            "phase": self.phase,
            "message": self.message,
            "startedAt": self.started,
            "syncResult": {"resources": self.hooks, "revision": self.op_revision, "source": {"repoURL": "https://github.com/acme/k8s-manifests.git", "path": "apps/web/overlays/production", "targetRevision": "main"}},
        });
        if let Some(f) = self.finished {
            op["finishedAt"] = json!(f);
        }
        if self.retry > 0 {
            op["retryCount"] = json!(self.retry);
        }
        let mut app = json!({
            "metadata": {"name": "web-production", "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://github.com/acme/k8s-manifests.git", "path": "apps/web/overlays/production", "targetRevision": "main"}, "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}},
            "status": {
                "sync": {"status": self.sync_status, "revision": self.sync_revision, "comparedTo": {"source": {"repoURL": "https://github.com/acme/k8s-manifests.git"}}},
                "health": {"status": self.health},
                "history": self.history,
                "reconciledAt": self.reconciled,
                "sourceType": "Kustomize",
                "summary": {"images": self.images},
            }
        });
        if self.phase.is_some() {
            app["status"]["operationState"] = op;
        }
        if self.pending {
            app["operation"] =
                json!({"sync": {"revision": C}, "initiatedBy": {"username": "admin"}});
        }
        app
    }
}

fn judge(app: &Value, commit: Option<&str>) -> Verdict {
    let release = release(commit);
    let lineage = lineage();
    let want = Want {
        release: &release,
        manifest_repo: Some("https://github.com/acme/k8s-manifests"),
        lineage: &lineage,
        wait_started: crate::model::parse_time(WAIT_STARTED).unwrap(),
    };
    verdict(app, &want)
}

fn running_hook(phase: &str) -> Vec<Value> {
    vec![
        json!({"group": "batch", "version": "v1", "kind": "Job", "namespace": "web", "name": "db-migrate", "hookType": "PreSync", "hookPhase": phase, "message": if phase == "Failed" { "Job has reached the specified backoff limit" } else { "" }, "syncPhase": "PreSync"}),
    ]
}

/// Every case of the table, with the verdict it gets; the snapshot pins the words.
fn table() -> Vec<(&'static str, Value, Option<&'static str>)> {
    vec![
        (
            "out_of_sync_on_an_older_commit_before_its_sync_waits",
            App { sync_status: "OutOfSync", sync_revision: OLD, op_revision: OLD, started: "2026-02-28T09:00:00Z", finished: Some("2026-02-28T09:00:40Z"), reconciled: "2026-03-01T10:00:01Z", images: vec![format!("{IMAGE}:v1.4.1")], ..base() }.json(),
            Some(C),
        ),
        (
            "running_with_a_presync_hook_waits_naming_the_hook",
            App { sync_status: "OutOfSync", sync_revision: OLD, phase: Some("Running"), finished: None, message: "waiting for completion of hook batch/Job/db-migrate", hooks: running_hook("Running"), images: vec![format!("{IMAGE}:v1.4.1")], ..base() }.json(),
            Some(C),
        ),
        (
            "succeeded_but_progressing_waits_for_health",
            App { health: "Progressing", images: vec![format!("{IMAGE}:v1.4.1"), format!("{IMAGE}:v1.4.2")], ..base() }.json(),
            Some(C),
        ),
        (
            "healthy_before_the_reconcile_after_the_sync_is_stale",
            App { reconciled: "2026-03-01T10:00:59Z", ..base() }.json(),
            Some(C),
        ),
        ("synced_healthy_fresh_on_the_image_is_done", base().json(), Some(C)),
        (
            "a_failed_presync_hook_fails_naming_it",
            App { phase: Some("Failed"), message: "one or more synchronization tasks completed unsuccessfully", hooks: running_hook("Failed"), sync_status: "OutOfSync", sync_revision: OLD, ..base() }.json(),
            Some(C),
        ),
        (
            "an_errored_sync_without_hooks_fails_naming_the_resource",
            App { phase: Some("Error"), message: "one or more objects failed to apply", hooks: vec![json!({"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web", "status": "SyncFailed", "message": "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required value", "syncPhase": "Sync"})], ..base() }.json(),
            Some(C),
        ),
        (
            "a_retrying_operation_waits",
            App { phase: Some("Running"), finished: None, retry: 2, message: "Retrying attempt #2 at 10:02AM: one or more objects failed to apply", hooks: vec![], ..base() }.json(),
            Some(C),
        ),
        (
            "a_sync_to_an_older_commit_after_the_wait_began_is_a_rollback",
            App { op_revision: OLD, sync_revision: OLD, started: "2026-03-01T10:05:00Z", ..base() }.json(),
            Some(C),
        ),
        (
            "history_showing_an_older_commit_after_c_is_a_rollback",
            App {
                op_revision: OLD, sync_revision: OLD, started: "2026-03-01T09:30:00Z",
                history: vec![
                    json!({"revision": C, "deployStartedAt": "2026-03-01T09:00:00Z", "deployedAt": "2026-03-01T09:01:00Z", "id": 8}),
                    json!({"revision": OLD, "deployStartedAt": "2026-03-01T09:30:00Z", "deployedAt": "2026-03-01T09:31:00Z", "id": 9}),
                ],
                ..base()
            }.json(),
            Some(C),
        ),
        (
            "a_newer_commit_running_the_same_tag_is_accepted",
            App { op_revision: NEWER, sync_revision: NEWER, ..base() }.json(),
            Some(C),
        ),
        (
            "a_newer_commit_running_another_tag_supersedes",
            App { op_revision: NEWER, sync_revision: NEWER, images: vec![format!("{IMAGE}:v1.4.3")], ..base() }.json(),
            Some(C),
        ),
        (
            "a_commit_the_repo_does_not_have_waits",
            App { op_revision: "feedfacefeedfacefeedfacefeedfacefeedface", sync_revision: "feedfacefeedfacefeedfacefeedfacefeedface", started: "2026-03-01T10:05:00Z", ..base() }.json(),
            Some(C),
        ),
        (
            "another_tag_beside_the_release_waits",
            App { images: vec![format!("{IMAGE}:v1.4.2"), format!("{IMAGE}:v1.4.1")], ..base() }.json(),
            Some(C),
        ),
        (
            "a_requested_operation_waits",
            App { pending: true, ..base() }.json(),
            Some(C),
        ),
        (
            "rollback_without_a_commit_is_done_on_the_image",
            App { op_revision: OLD, sync_revision: OLD, started: "2026-03-01T10:05:00Z", ..base() }.json(),
            None,
        ),
        (
            "rollback_without_a_commit_waits_for_the_image",
            App { images: vec![format!("{IMAGE}:v1.4.3")], ..base() }.json(),
            None,
        ),
        (
            "no_operation_yet_waits",
            App { phase: None, sync_status: "OutOfSync", sync_revision: OLD, ..base() }.json(),
            Some(C),
        ),
    ]
}

#[test]
fn argocd_verdicts() {
    let mut out = String::new();
    for (name, app, commit) in table() {
        out.push_str(&format!("{name}:\n  {:?}\n", judge(&app, commit)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn verdict_kinds_per_case() {
    let kind = |v: &Verdict| match v {
        Verdict::Done { .. } => "done",
        Verdict::Wait { .. } => "wait",
        Verdict::Fail { .. } => "fail",
        Verdict::Superseded { .. } => "superseded",
    };
    let got: Vec<(&str, &str)> = table()
        .iter()
        .map(|(name, app, commit)| (*name, kind(&judge(app, *commit))))
        .collect();
    for (name, kind) in got {
        let want = if name.ends_with("is_done")
            || name.ends_with("is_accepted")
            || name.contains("is_done_on")
        {
            "done"
        } else if name.contains("fails") || name.ends_with("rollback") {
            "fail"
        } else if name.ends_with("supersedes") {
            "superseded"
        } else {
            "wait"
        };
        assert_eq!(kind, want, "{name}");
    }
}

#[test]
fn multi_source_apps_are_judged_on_the_manifest_repos_source() {
    let mut app = base().json();
    app["spec"]["sources"] = json!([
        {"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.2.0"},
        {"repoURL": "https://GitHub.com/acme/k8s-manifests.git/", "path": "apps/web", "targetRevision": "main"},
    ]);
    app["status"]["sync"]["revisions"] = json!(["1.2.0", C]);
    app["status"]["operationState"]["syncResult"]["revisions"] = json!(["1.2.0", C]);
    app["status"]["sync"]["revision"] = Value::Null;
    assert!(judge(&app, Some(C)).is_done(), "{:?}", judge(&app, Some(C)));
    app["spec"]["sources"][1]["repoURL"] = json!("https://github.com/acme/other.git");
    match judge(&app, Some(C)) {
        Verdict::Fail { why, .. } => assert!(why.contains("no source's repoURL"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn repo_urls_compare_by_repo() {
    for (a, b) in [
        (
            "https://github.com/acme/k8s.git",
            "https://GITHUB.com/acme/k8s/",
        ),
        (
            "https://token@github.com/acme/k8s",
            "https://github.com/acme/k8s.git",
        ),
        (
            "git@github.com:acme/k8s.git",
            "ssh://git@github.com/acme/k8s",
        ),
    ] {
        assert_eq!(normalize_repo_url(a), normalize_repo_url(b), "{a} vs {b}");
    }
    assert_ne!(
        normalize_repo_url("https://github.com/acme/k8s"),
        normalize_repo_url("https://github.com/acme/K8S")
    );
}

#[test]
fn observed_is_what_status_shows() {
    let release = release(Some(C));
    let lineage = lineage();
    let want = Want {
        release: &release,
        manifest_repo: None,
        lineage: &lineage,
        wait_started: 0.0,
    };
    let o = observe("argocd app web-production", &base().json(), &want);
    assert_eq!(o.revision.as_deref(), Some(C));
    assert_eq!(o.sync.as_deref(), Some("Synced"));
    assert_eq!(o.health.as_deref(), Some("Healthy"));
    assert_eq!(o.tags_of(IMAGE), ["v1.4.2"]);
}
