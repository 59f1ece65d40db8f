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

/// A release directory as GitHub serves it: the archive and its `.sha256`.
fn release_dir(root: &Path, tamper: bool) -> PathBuf {
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
    if tamper {
        sum = format!("{}{}", "0".repeat(64), &sum[64..]);
    }
    std::fs::write(version_dir.join(format!("{archive}.sha256")), sum).expect("write sum");
    dir
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

fn run_action(w: &World, app: &App, given: &[(&str, &str)], releases: &Path) -> ActionRun {
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
                format!("file://{}", releases.display()),
            )
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
    let releases = release_dir(app.path(), false);
    let run = run_action(
        &w,
        &app,
        &[
            ("command", "deploy"),
            ("args", "--tag v2"),
            ("working-directory", "service"),
        ],
        &releases,
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
    let bad = run_action(&w, &app, &[("command", "destroy")], &releases);
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
    let releases = release_dir(app.path(), true);
    let run = run_action(&w, &app, &[("command", "plan")], &releases);
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
    let releases = release_dir(app.path(), false);
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
        &releases,
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
        &releases,
    );
    let (_, code, text) = bad.steps.last().expect("steps");
    assert_eq!(*code, 1, "{text}");
    assert!(
        text.contains("the smoke input applies to command deploy"),
        "{text}"
    );
}

#[test]
fn the_wait_for_k8s_input_becomes_the_gate_flag() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config("batch", ""), &["web"]);
    let releases = release_dir(app.path(), false);
    let given = |wait: &str, command: &str| {
        let run = run_action(
            &w,
            &app,
            &[
                ("command", command),
                ("args", "--tag v2"),
                ("wait-for-k8s", wait),
            ],
            &releases,
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
