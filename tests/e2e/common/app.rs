//! The app repo a test deploys from, and running the built binary in it.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use super::{IMAGE, REGION};

/// An app repo: jobdeploy.toml plus taskdefs/, in a temp dir.
pub struct App {
    pub dir: tempfile::TempDir,
}

pub const APP_TEMPLATE: &str = r#"{
  "family": "FAMILY",
  "executionRoleArn": "arn:aws:iam::123456789012:role/jobs-exec",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "0.25 vCPU",
  "memory": "512",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "{{ image }}",
      "environment": [{"name": "RELEASE", "value": "{{ release }}"}],
      "secrets": [{"name": "DATABASE_URL", "valueFrom": "/jobs/db"}],
      "logConfiguration": {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/jobs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "FAMILY"}
      }
    }
  ],
  "tags": [{"key": "team", "value": "batch"}]
}
"#;

impl App {
    /// `config` is the whole jobdeploy.toml; `families` get the standard template.
    pub fn new(config: &str, families: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("jobdeploy.toml"), config).expect("write config");
        std::fs::create_dir_all(dir.path().join("taskdefs")).expect("taskdefs dir");
        for family in families {
            std::fs::write(
                dir.path().join(format!("taskdefs/{family}.json")),
                APP_TEMPLATE.replace("FAMILY", family),
            )
            .expect("write template");
        }
        Self { dir }
    }

    /// An app repo with nothing in it yet (for `init`).
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    /// Runs the built binary in the app dir with a pinned environment.
    pub fn run(&self, endpoint: &str, args: &[&str]) -> Run {
        self.run_env(endpoint, args, &[])
    }

    pub fn run_env(&self, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_in(self.dir.path(), endpoint, args, env)
    }

    /// Runs from another working directory (the config must then be found by flag or env).
    pub fn run_in(&self, cwd: &Path, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = self
            .command(cwd, endpoint, args, env)
            .output()
            .expect("run jobdeploy");
        Run::from(output)
    }

    /// Runs on a pseudo-terminal (util-linux `script`, in Debian's essential set), as a user
    /// at a terminal does: stdout and stderr both reach the terminal, so `stdout` holds both
    /// (with the terminal's `\r\n`) and `stderr` is empty.
    pub fn run_on_terminal(&self, endpoint: &str, args: &[&str]) -> Run {
        let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
        let line = std::iter::once(env!("CARGO_BIN_EXE_jobdeploy"))
            .chain(args.iter().copied())
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        // The same environment `run` gives the binary, handed to it through script.
        let inner = self.command(self.dir.path(), endpoint, &[], &[("TERM", "xterm")]);
        let mut script = Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .current_dir(self.dir.path())
            .env_clear()
            .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdin(Stdio::null());
        Run::from(script.output().expect("run script(1)"))
    }

    /// Starts the binary in the app dir without waiting; output is piped.
    pub fn spawn(&self, endpoint: &str, args: &[&str]) -> Child {
        self.command(self.dir.path(), endpoint, args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn jobdeploy")
    }

    fn command(&self, cwd: &Path, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let cache = self.dir.path().join(".cache");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobdeploy"));
        cmd.current_dir(cwd)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("JOBDEPLOY_CACHE_DIR", cache)
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self) -> Self {
        assert_eq!(
            self.code, 1,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The suite's config: deploy's verify gate is on, as users run it (the world seeds what
/// the template and targets need; tests/e2e/verify/ turns the gate off to test the switch).
pub fn config(cluster: &str, manifest: &str) -> String {
    format!("cluster = \"{cluster}\"\n\n[manifest]\nimage = \"{IMAGE}\"\n{manifest}\n")
}
