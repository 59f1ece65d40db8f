//! The composite action (action.yml) run locally the way the runner runs it: each shell step
//! with its `env:` (expressions resolved from the inputs), fake `GITHUB_*` files, a release
//! served from a local directory, and the built binary deploying against moto.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

const VERSION: &str = "v0.1.0";
const TARGET: &str = "x86_64-unknown-linux-musl";

fn action() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml");
    serde_saphyr::from_str(&text).expect("action.yml is YAML")
}

/// A release directory as GitHub serves it (the archive and its `.sha256`), and the checksum
/// the tests give the action as `JOBDEPLOY_RELEASE_SHA256`.
struct Release {
    dir: PathBuf,
    sha256: String,
}

/// `tamper`: the published `.sha256` is wrong.
fn release_dir(root: &Path, tamper: bool) -> Release {
    let dir = root.join("releases");
    let version_dir = dir.join(VERSION);
    let staging = root.join("staging");
    std::fs::create_dir_all(&version_dir).expect("mkdir");
    std::fs::create_dir_all(&staging).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_jobdeploy"), staging.join("jobdeploy")).expect("copy");
    let archive = format!("jobdeploy-{VERSION}-{TARGET}.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(version_dir.join(&archive))
        .arg("-C")
        .arg(&staging)
        .arg("jobdeploy")
        .status()
        .expect("tar");
    assert!(status.success());
    let out = Command::new("sha256sum")
        .arg(&archive)
        .current_dir(&version_dir)
        .output()
        .expect("sha256sum");
    let mut sum = String::from_utf8_lossy(&out.stdout).to_string();
    let sha256 = sum[..64].to_string();
    if tamper {
        sum = format!("{}{}", "0".repeat(64), &sum[64..]);
    }
    std::fs::write(version_dir.join(format!("{archive}.sha256")), sum).expect("write sum");
    Release { dir, sha256 }
}

/// Resolves the `${{ … }}` expressions the action may use; any other is a test failure.
fn resolve(
    text: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("no input {name}"))
        } else if let Some(name) = expr.strip_prefix("steps.run.outputs.") {
            outputs.get(name).cloned().unwrap_or_default()
        } else {
            match expr {
                "github.action_ref" => VERSION.to_string(),
                "github.action_repository" => "acme/jobdeploy".to_string(),
                other => panic!("action.yml uses an expression this test does not know: {other}"),
            }
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

struct ActionRun {
    /// (step name, exit code, stdout + stderr) of every step run.
    steps: Vec<(String, i32, String)>,
    outputs: BTreeMap<String, String>,
    summary: String,
}

fn run_action(w: &World, app: &App, given: &[(&str, &str)], release: &Release) -> ActionRun {
    let action = action();
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    for (name, spec) in action["inputs"].as_object().expect("inputs") {
        let default = spec
            .get("default")
            .and_then(Value::as_str)
            .unwrap_or_default();
        inputs.insert(name.clone(), default.to_string());
    }
    for (k, v) in given {
        assert!(inputs.contains_key(*k), "action.yml has no input {k}");
        inputs.insert((*k).to_string(), (*v).to_string());
    }
    let runner = app.path().join("runner");
    std::fs::create_dir_all(&runner).expect("runner dir");
    let files = |name: &str| {
        let p = runner.join(name);
        std::fs::write(&p, "").expect("touch");
        p
    };
    let (path_file, summary_file) = (files("path"), files("summary"));
    let mut step_outputs = BTreeMap::new();
    let mut steps = Vec::new();
    for step in action["runs"]["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap_or("?").to_string();
        let script = step["run"].as_str().expect("a shell step");
        assert!(
            !script.contains("${{"),
            "step `{name}`: expressions belong in env:, not run:"
        );
        assert_eq!(step["shell"], "bash");
        let output_file = files(&format!("output-{}", steps.len()));
        let cwd = match step.get("working-directory").and_then(Value::as_str) {
            Some(dir) => app.path().join(resolve(dir, &inputs, &BTreeMap::new())),
            None => app.path().to_path_buf(),
        };
        let added: Vec<String> = std::fs::read_to_string(&path_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let system_path = std::env::var("PATH").unwrap_or_default();
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(script)
            .current_dir(&cwd)
            .env_clear()
            .env("PATH", [added.join(":"), system_path].join(":"))
            .env("HOME", app.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", &runner)
            .env(
                "JOBDEPLOY_RELEASE_BASE_URL",
                format!("file://{}", release.dir.display()),
            )
            .env("JOBDEPLOY_RELEASE_SHA256", &release.sha256)
            .env("AWS_ENDPOINT_URL", &w.proxy.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("JOBDEPLOY_CACHE_DIR", app.path().join(".cache"))
            .env("NO_COLOR", "1");
        if let Some(env) = step.get("env").and_then(Value::as_object) {
            for (k, v) in env {
                cmd.env(
                    k,
                    resolve(v.as_str().unwrap_or_default(), &inputs, &BTreeMap::new()),
                );
            }
        }
        let out = cmd.output().expect("bash");
        let code = out.status.code().unwrap_or(-1);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if step.get("id").and_then(Value::as_str) == Some("run") {
            for line in std::fs::read_to_string(&output_file)
                .unwrap_or_default()
                .lines()
            {
                if let Some((k, v)) = line.split_once('=') {
                    step_outputs.insert(k.to_string(), v.to_string());
                }
            }
        }
        steps.push((name, code, text));
        if code != 0 {
            break;
        }
    }
    let mut outputs = BTreeMap::new();
    for (name, spec) in action["outputs"].as_object().expect("outputs") {
        let value = spec["value"].as_str().unwrap_or_default();
        outputs.insert(name.clone(), resolve(value, &inputs, &step_outputs));
    }
    ActionRun {
        steps,
        outputs,
        summary: std::fs::read_to_string(&summary_file).unwrap_or_default(),
    }
}

#[test]
fn the_action_installs_a_verified_binary_and_deploys() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config("batch", ""), &[]);
    app.write("service/jobdeploy.toml", &config("batch", ""));
    app.write(
        "service/taskdefs/web.json",
        &APP_TEMPLATE.replace("FAMILY", "web"),
    );
    let release = release_dir(app.path(), false);
    let run = run_action(
        &w,
        &app,
        &[
            ("command", "deploy"),
            ("args", "--tag v2"),
            ("working-directory", "service"),
        ],
        &release,
    );
    for (name, code, text) in &run.steps {
        assert_eq!(*code, 0, "step `{name}`:\n{text}");
    }
    assert!(
        run.steps[0].2.contains("jobdeploy 0.1.0"),
        "{}",
        run.steps[0].2
    );
    assert!(
        run.steps[1].2.contains("::group::jobdeploy deploy v2"),
        "{}",
        run.steps[1].2
    );
    assert_eq!(run.outputs["release"], "v2");
    assert_eq!(run.outputs["changed"], "true");
    assert!(
        run.summary.contains("### jobdeploy plan: release `v2`"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("### jobdeploy deploy"),
        "{}",
        run.summary
    );
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );

    // Bad input to the action fails in its own step, before jobdeploy runs.
    let bad = run_action(&w, &app, &[("command", "destroy")], &release);
    let (_, code, text) = bad.steps.last().expect("steps");
    assert_ne!(*code, 0);
    assert!(
        text.contains("::error::jobdeploy: unknown command 'destroy'"),
        "{text}"
    );
}

#[test]
fn the_action_refuses_a_binary_whose_checksum_does_not_match() {
    let w = World::new();
    let app = App::new(&config("batch", ""), &["web"]);
    let mut release = release_dir(app.path(), true);
    release.sha256 = "0".repeat(64);
    let run = run_action(&w, &app, &[("command", "plan")], &release);
    assert_eq!(run.steps.len(), 1, "nothing runs after a failed install");
    let (_, code, text) = &run.steps[0];
    assert_eq!(*code, 1, "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(!app.path().join("runner/jobdeploy/bin/jobdeploy").exists());
    assert_eq!(w.proxy.actions(), Vec::<String>::new());
}

#[test]
fn the_action_passes_smoke_through_to_deploy() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config("batch", ""), &["web"]);
    let release = release_dir(app.path(), false);
    w.proxy
        .script_task(crate::common::tasks::Script::exits("app", 1));
    let run = run_action(
        &w,
        &app,
        &[
            ("command", "deploy"),
            ("args", "--tag v2"),
            ("smoke", "hourly"),
        ],
        &release,
    );
    let (_, code, text) = run.steps.last().expect("steps");
    assert_eq!(*code, 1, "{text}");
    assert!(
        text.contains("::group::jobdeploy smoke default/hourly"),
        "{text}"
    );
    assert!(
        run.summary.contains("**failed**, exit code 1"),
        "{}",
        run.summary
    );
    assert_eq!(w.proxy.count("RunTask"), 1);
    assert_eq!(w.proxy.count("PutTargets"), 0);

    // Only deploy takes it.
    let bad = run_action(
        &w,
        &app,
        &[("command", "plan"), ("smoke", "hourly")],
        &release,
    );
    let (_, code, text) = bad.steps.last().expect("steps");
    assert_eq!(*code, 1, "{text}");
    assert!(
        text.contains("the smoke input applies to command deploy"),
        "{text}"
    );
}

/// The install step alone (action/install.sh), with `env` on top of a runner's.
fn install(
    root: &Path,
    name: &str,
    release: &Release,
    env: &[(&str, &str)],
) -> (i32, String, PathBuf) {
    let runner = root.join(name);
    std::fs::create_dir_all(&runner).expect("runner dir");
    let path_file = runner.join("path");
    std::fs::write(&path_file, "").expect("touch");
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("GITHUB_PATH", &path_file)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", &runner)
        .env("INPUT_VERSION", VERSION)
        .env("ACTION_REF", VERSION)
        .env("ACTION_REPOSITORY", "acme/jobdeploy")
        .env(
            "JOBDEPLOY_RELEASE_BASE_URL",
            format!("file://{}", release.dir.display()),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        text,
        runner.join("jobdeploy/bin/jobdeploy"),
    )
}

/// Issue 23: `JOBDEPLOY_RELEASE_BASE_URL` redirected both the binary and the checksum it was
/// checked against, undocumented, inside Actions too. Now in Actions it needs the checksum
/// given explicitly; outside Actions (a local mirror) the mirror's `.sha256` is used.
#[test]
fn a_redirected_release_url_was_trusted_for_its_own_checksum_inside_actions() {
    let root = tempfile::tempdir().expect("tempdir");
    // The mirror publishes a wrong .sha256: only an explicit checksum can install from it.
    let release = release_dir(root.path(), true);

    let (code, text, bin) = install(
        root.path(),
        "no-sum",
        &release,
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("::error::jobdeploy: JOBDEPLOY_RELEASE_BASE_URL")
            && text.contains("set JOBDEPLOY_RELEASE_SHA256"),
        "{text}"
    );
    assert!(!bin.exists(), "installed without a trusted checksum");

    let (code, text, bin) = install(
        root.path(),
        "bad-sum",
        &release,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("JOBDEPLOY_RELEASE_SHA256", "abc"),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("64 lowercase hex digits"), "{text}");
    assert!(!bin.exists());

    // The explicit checksum is what the archive is checked against, not the mirror's file.
    let (code, text, bin) = install(
        root.path(),
        "pinned",
        &release,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("JOBDEPLOY_RELEASE_SHA256", &release.sha256),
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(bin.exists());
    assert!(text.contains("jobdeploy 0.1.0"), "{text}");

    // Outside Actions a mirror is trusted for its own .sha256 — here a wrong one, refused.
    let (code, text, bin) = install(root.path(), "local", &release, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(!bin.exists());
}

#[test]
fn the_wait_for_k8s_input_becomes_the_gate_flag() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config("batch", ""), &["web"]);
    let release = release_dir(app.path(), false);
    let given = |wait: &str, command: &str| {
        let run = run_action(
            &w,
            &app,
            &[
                ("command", command),
                ("args", "--tag v2"),
                ("wait-for-k8s", wait),
            ],
            &release,
        );
        let (_, code, text) = run.steps.last().expect("steps").clone();
        (code, text)
    };
    // The flag reaches jobdeploy, which refuses it without a [k8s] table: nothing written.
    let (code, text) = given("20m", "deploy");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("--wait-for-k8s: ") && text.contains("has no [k8s] table"),
        "{text}"
    );
    let (code, text) = given("soon", "deploy");
    assert_ne!(code, 0);
    assert!(
        text.contains("::error::jobdeploy: wait-for-k8s is true, false or a duration"),
        "{text}"
    );
    let (code, text) = given("true", "status");
    assert_ne!(code, 0);
    assert!(
        text.contains("applies to deploy and rollback, not 'status'"),
        "{text}"
    );
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
}

/// The morning check (`.github/workflows/batch-health.yml`): `command: runs` with
/// `--exit-code` fails its step when a job failed, and the step summary has the table.
#[test]
fn the_action_runs_runs_and_fails_the_step_when_a_job_failed() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    let releases = release_dir(app.path(), false);
    let args = [("command", "runs"), ("args", "--exit-code --since 24h")];
    let healthy = run_action(&w, &app, &args, &releases);
    let (_, code, text) = healthy.steps.last().expect("steps");
    assert_eq!(*code, 0, "{text}");
    assert!(
        healthy.summary.contains("### jobdeploy runs"),
        "{}",
        healthy.summary
    );
    crate::runs::Seed::new(&w).metric(
        &w,
        "AWS/Events",
        "FailedInvocations",
        &[("RuleName", "hourly")],
        1.0,
        60,
    );
    let failed = run_action(&w, &app, &args, &releases);
    let (_, code, text) = failed.steps.last().expect("steps");
    assert_eq!(*code, 2, "{text}");
    assert!(
        failed
            .summary
            .contains("| `default/hourly` | `batch` | ENABLED |"),
        "{}",
        failed.summary
    );
}

/// Review of issue 25: the batch-health workflow uses the action by local path, where
/// `github.action_repository` is empty, and install.sh aborted on `${ACTION_REPOSITORY:?}`
/// every morning. Now `JOBDEPLOY_REPOSITORY` (the workflow passes its `jobdeploy-repository`
/// input) names the repository whose releases are downloaded; with neither, the error says
/// what to set, before any download.
#[test]
fn a_local_action_downloads_from_the_repository_the_workflow_names() {
    let root = tempfile::tempdir().expect("tempdir");
    let release = release_dir(root.path(), false);
    // A curl that records what it was asked for and fails, as offline.
    let fake = root.path().join("fakebin");
    std::fs::create_dir_all(&fake).expect("mkdir");
    let log = root.path().join("curl.log");
    let curl = fake.join("curl");
    std::fs::write(
        &curl,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 22\n", log.display()),
    )
    .expect("fake curl");
    let mut perms = std::fs::metadata(&curl).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&curl, perms).expect("chmod");
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let local = [
        ("ACTION_REPOSITORY", ""),
        ("JOBDEPLOY_RELEASE_BASE_URL", ""),
        ("PATH", path.as_str()),
    ];

    let mut named = local.to_vec();
    named.push(("JOBDEPLOY_REPOSITORY", "acme/jobdeploy"));
    let (code, text, _) = install(root.path(), "named", &release, &named);
    assert_ne!(code, 0, "{text}");
    let asked = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        asked.contains(&format!(
            "https://github.com/acme/jobdeploy/releases/download/{VERSION}/"
        )),
        "{asked}"
    );

    std::fs::remove_file(&log).ok();
    let (code, text, bin) = install(root.path(), "unnamed", &release, &local);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("set JOBDEPLOY_REPOSITORY"), "{text}");
    assert!(!log.exists(), "downloaded without a repository");
    assert!(!bin.exists());
}
