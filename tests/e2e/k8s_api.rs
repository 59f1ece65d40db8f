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
fn kubectl_rollout_status(kubeconfig: &Path, namespace: &str, kind: &str) -> (bool, String, String) {
    let binary = kubectl();
    let output = Command::new(&binary)
        .args(["--kubeconfig"])
        .arg(kubeconfig)
        .args(["-n", namespace, "rollout", "status", &format!("{kind}/foo"), "--watch=false"])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (scripts/test installs it): {e}", binary.display()));
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
        } else if stdout.contains("successfully rolled out") || stdout.contains("complete") {
            "done"
        } else {
            "waiting"
        };
        assert_eq!(kubectl_says, case["kubectl"], "{name}: kubectl said {stdout:?} {stderr:?}");

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
        assert_eq!(verdict, kubectl_says, "{name}: jobdeploy said {text:?}, kubectl {stdout:?} {stderr:?}");
        // In kubectl's own words: its message (or error) is jobdeploy's.
        let kubectl_words = if ok {
            stdout.clone()
        } else {
            stderr.trim_start_matches("error: ").to_string()
        };
        assert!(text.contains(&kubectl_words), "{name}: jobdeploy {text:?} vs kubectl {kubectl_words:?}");
    }
    // kubectl was refused nothing: every request carried the kubeconfig's token.
    assert!(api.requests().iter().any(|r| r.contains("fieldSelector=metadata.name")));
}

/// jobdeploy's verdict on `namespace`'s workload `foo`, as the gate's source reads it.
async fn jobdeploy_look(kubeconfig: &Path, namespace: &str, kind: &str) -> Result<Verdict, String> {
    let env = Env {
        kubeconfig: Some(kubeconfig.as_os_str().to_owned()),
        ..Env::default()
    };
    let access = kubeconfig::load(&env, None, None).map_err(|e| e.message().to_string())?;
    let api = Api::connect(access, None, Duration::from_secs(10)).map_err(|e| e.message().to_string())?;
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
