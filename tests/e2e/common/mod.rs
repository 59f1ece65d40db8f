//! Test harness: a moto server per test, a recording proxy in front of it, real git repos,
//! AWS SDK clients for seeding and checking, and the built binary.

pub mod proxy;
pub mod scenario;
pub mod tasks;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::KeyValuePair;
use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeadLetterConfig,
    EcsParameters, NetworkConfiguration, PlacementConstraint, PlacementConstraintType,
    PlacementStrategy, PlacementStrategyType, PropagateTags, RetryPolicy, Target,
};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web";

/// Held by the heavy, timing-sensitive tests (the quota runs, whose throttle counts and
/// durations assume a machine that is not saturated, and the fault sweeps, which run a
/// deploy per request index) for as long as they run. The suite is one test binary whose
/// tests run in parallel threads, so without it they would run beside one another.
static HEAVY: Mutex<()> = Mutex::new(());

/// Waits until no other heavy test runs; the guard keeps the others waiting until dropped.
/// A heavy test that failed (poisoned the lock) does not fail the ones after it.
pub fn heavy_test() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("JOBDEPLOY_TEST_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
}

/// A moto server of this test's own, stopped on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    /// moto binds a port the kernel picks (`-p 0`) and logs it: a port chosen here and handed
    /// over could be taken meanwhile by another test's server, whose answer would then pass
    /// for this one's until that test ended.
    pub fn start() -> Self {
        let server = moto_server();
        assert!(
            server.exists(),
            "{} is missing: run scripts/test, which installs moto into .venv",
            server.display()
        );
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().expect("moto_server's stderr");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads the port from the startup line, then drains the request log so that moto
        // never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|digits| digits.parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut moto = Self {
            child,
            url: String::new(),
        };
        match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => moto.url = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!("moto_server did not start"),
        }
        // Logged just before it serves: wait until it answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(moto.url.trim_start_matches("http://")).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not answer on {}", moto.url);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto, a proxy in front of it, a cluster `batch`, and the image tags v1..v3 in ECR.
pub struct World {
    pub moto: Moto,
    pub proxy: proxy::Proxy,
    pub aws: Aws,
    pub cluster: String,
}

impl World {
    pub fn new() -> Self {
        let moto = Moto::start();
        let proxy = proxy::Proxy::start(&moto.url);
        let aws = Aws::new(&moto.url);
        let cluster = aws.create_cluster("batch");
        for tag in ["v1", "v2", "v3"] {
            aws.push_image("web", tag);
        }
        Self {
            moto,
            proxy,
            aws,
            cluster,
        }
    }

    /// Family `web` at revision 1 (tag v1), run by rule `hourly` target `batch`.
    pub fn hourly_web_job(&self) -> String {
        let web = self.aws.register("web", "v1");
        self.aws.rule(
            "hourly",
            "default",
            aws_sdk_eventbridge::types::RuleState::Enabled,
            vec![ecs_target("batch", &self.cluster, &web)],
        );
        web
    }

    pub fn run(&self, app: &App, args: &[&str]) -> Run {
        app.run(&self.proxy.url, args)
    }
}

/// SDK clients pointed at an endpoint, for seeding and for checking what jobdeploy did.
pub struct Aws {
    pub rt: tokio::runtime::Runtime,
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub events: aws_sdk_eventbridge::Client,
    endpoint: String,
}

impl Aws {
    pub fn new(endpoint: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(aws_config::Region::new(REGION))
                .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        );
        Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            endpoint: endpoint.to_string(),
            rt,
        }
    }

    /// A Scheduler REST call to the emulator with a JSON body, answered as JSON: the wire
    /// shape, so tests can seed and read schedules exactly as AWS has them.
    pub fn rest(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;
        let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint))
            .header("content-type", "application/json")
            // moto routes by the service in the credential scope; it does not check the
            // signature.
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/scheduler/aws4_request, SignedHeaders=host, Signature=0"
                ),
            )
            .body(Full::new(Bytes::from(
                body.map(Value::to_string).unwrap_or_default(),
            )))
            .expect("request");
        self.rt.block_on(async {
            let response = client.request(request).await.expect("emulator answers");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert!(
                status.is_success(),
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        })
    }

    /// Creates schedule group `name`.
    pub fn schedule_group(&self, name: &str) {
        self.rest(
            "POST",
            &format!("/schedule-groups/{name}"),
            Some(&json!({"ClientToken": name})),
        );
    }

    /// Creates a schedule from its CreateSchedule body (`GroupName` in it; default group
    /// otherwise).
    pub fn create_schedule(&self, name: &str, body: &Value) {
        self.rest("POST", &format!("/schedules/{name}"), Some(body));
    }

    /// The schedule exactly as GetSchedule returns it.
    pub fn schedule_json(&self, group: &str, name: &str) -> Value {
        self.rest("GET", &format!("/schedules/{name}?groupName={group}"), None)
    }

    pub fn create_cluster(&self, name: &str) -> String {
        let out = self
            .rt
            .block_on(self.ecs.create_cluster().cluster_name(name).send())
            .expect("create cluster");
        out.cluster()
            .and_then(|c| c.cluster_arn())
            .expect("arn")
            .to_string()
    }

    pub fn push_image(&self, repo: &str, tag: &str) {
        let _ = self
            .rt
            .block_on(self.ecr.create_repository().repository_name(repo).send());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"digest":"sha256:{:0>64}"}},"layers":[]}}"#,
            tag.len()
        );
        self.rt
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name(repo)
                    .image_manifest(manifest)
                    .image_tag(tag)
                    .send(),
            )
            .expect("put image");
    }

    /// Registers a task definition like the `app.json` template renders for `tag`.
    pub fn register(&self, family: &str, tag: &str) -> String {
        let container = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("app")
            .image(format!("{IMAGE}:{tag}"))
            .essential(true)
            .environment(KeyValuePair::builder().name("RELEASE").value(tag).build())
            .build();
        let out = self
            .rt
            .block_on(
                self.ecs
                    .register_task_definition()
                    .family(family)
                    .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                    .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
                    .cpu("256")
                    .memory("512")
                    .container_definitions(container)
                    .tags(
                        aws_sdk_ecs::types::Tag::builder()
                            .key("team")
                            .value("batch")
                            .build(),
                    )
                    .send(),
            )
            .expect("register");
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_string()
    }

    pub fn put_rule(&self, name: &str, bus: &str, state: aws_sdk_eventbridge::types::RuleState) {
        if bus != "default" {
            let _ = self
                .rt
                .block_on(self.events.create_event_bus().name(bus).send());
        }
        let mut rule = self
            .events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .state(state);
        rule = if bus == "default" {
            rule.schedule_expression("rate(1 hour)")
        } else {
            rule.event_pattern(r#"{"source":["acme.batch"]}"#)
        };
        self.rt.block_on(rule.send()).expect("put rule");
    }

    pub fn put_targets(&self, rule: &str, bus: &str, targets: Vec<Target>) {
        let out = self
            .rt
            .block_on(
                self.events
                    .put_targets()
                    .rule(rule)
                    .event_bus_name(bus)
                    .set_targets(Some(targets))
                    .send(),
            )
            .expect("put targets");
        assert_eq!(out.failed_entry_count(), 0);
    }

    /// A rule with these targets.
    pub fn rule(
        &self,
        name: &str,
        bus: &str,
        state: aws_sdk_eventbridge::types::RuleState,
        targets: Vec<Target>,
    ) {
        self.put_rule(name, bus, state);
        self.put_targets(name, bus, targets);
    }

    pub fn targets(&self, rule: &str, bus: &str) -> Vec<Target> {
        self.rt
            .block_on(
                self.events
                    .list_targets_by_rule()
                    .rule(rule)
                    .event_bus_name(bus)
                    .send(),
            )
            .expect("list targets")
            .targets()
            .to_vec()
    }

    pub fn task_definition_of(&self, rule: &str, bus: &str, id: &str) -> String {
        self.targets(rule, bus)
            .iter()
            .find(|t| t.id() == id)
            .and_then(|t| t.ecs_parameters())
            .map(|e| e.task_definition_arn().to_string())
            .expect("target exists")
    }

    pub fn rule_state(&self, rule: &str, bus: &str) -> String {
        self.rt
            .block_on(
                self.events
                    .describe_rule()
                    .name(rule)
                    .event_bus_name(bus)
                    .send(),
            )
            .expect("describe rule")
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    }

    pub fn revisions(&self, family: &str) -> Vec<String> {
        self.rt
            .block_on(
                self.ecs
                    .list_task_definitions()
                    .family_prefix(family)
                    .send(),
            )
            .expect("list task definitions")
            .task_definition_arns()
            .to_vec()
    }

    /// ACTIVE or INACTIVE.
    pub fn status_of(&self, task_definition: &str) -> String {
        self.rt
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .expect("describe")
            .task_definition()
            .and_then(|t| t.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    }

    pub fn deregister(&self, task_definition: &str) {
        self.rt
            .block_on(
                self.ecs
                    .deregister_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .expect("deregister");
    }

    /// A schedule in group `default` that runs `task_definition` on `cluster` every hour.
    /// A minimal schedule in `group` (created when not `default`) running `task_definition`
    /// on `cluster`.
    pub fn schedule(&self, group: &str, name: &str, cluster: &str, task_definition: &str) {
        if group != "default" {
            self.schedule_group(group);
        }
        self.create_schedule(
            name,
            &json!({
                "GroupName": group,
                "ScheduleExpression": "rate(1 hour)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": cluster,
                    "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/scheduler-ecs"),
                    "EcsParameters": {"TaskDefinitionArn": task_definition}
                }
            }),
        );
    }

    pub fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        let out = self
            .rt
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(arn)
                    .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                    .send(),
            )
            .expect("describe");
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The digest ECR has for `repo:tag`.
    pub fn image_digest(&self, repo: &str, tag: &str) -> String {
        let out = self
            .rt
            .block_on(
                self.ecr
                    .describe_images()
                    .repository_name(repo)
                    .image_ids(
                        aws_sdk_ecr::types::ImageIdentifier::builder()
                            .image_tag(tag)
                            .build(),
                    )
                    .send(),
            )
            .expect("describe images");
        out.image_details()
            .first()
            .and_then(|d| d.image_digest())
            .expect("digest")
            .to_string()
    }
}

pub fn td_arn(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}")
}

/// A minimal ECS target on `cluster`.
pub fn ecs_target(id: &str, cluster: &str, task_definition: &str) -> Target {
    Target::builder()
        .id(id)
        .arn(cluster)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/events-ecs"))
        .ecs_parameters(
            aws_sdk_eventbridge::types::EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(1)
                .launch_type(aws_sdk_eventbridge::types::LaunchType::Fargate)
                .build()
                .expect("ecs parameters"),
        )
        .build()
        .expect("target")
}

/// Every field a target can carry, so that a deploy that drops one fails.
pub fn full_target(cluster: &str, task_definition: &str) -> Target {
    let ecs = EcsParameters::builder()
        .task_definition_arn(task_definition)
        .task_count(2)
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(3)
                .base(1)
                .build()
                .expect("strategy"),
        )
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-0a1b2c3d")
                        .subnets("subnet-4e5f6a7b")
                        .security_groups("sg-0123abcd")
                        .assign_public_ip(AssignPublicIp::Enabled)
                        .build()
                        .expect("vpc"),
                )
                .build(),
        )
        .platform_version("1.4.0")
        .group("family:nightly")
        .propagate_tags(PropagateTags::TaskDefinition)
        .enable_ecs_managed_tags(true)
        .enable_execute_command(true)
        .reference_id("ref-42")
        .placement_constraints(
            PlacementConstraint::builder()
                .r#type(PlacementConstraintType::MemberOf)
                .expression("attribute:ecs.os-type == linux")
                .build(),
        )
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .tags(
            aws_sdk_eventbridge::types::Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .expect("tag"),
        )
        .build()
        .expect("ecs parameters");
    Target::builder()
        .id("nightly")
        .arn(cluster)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/events-ecs"))
        .input(r#"{"containerOverrides":[{"name":"app","command":["bin/rake","nightly"]}]}"#)
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(4)
                .maximum_event_age_in_seconds(3600)
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:batch-dlq"))
                .build(),
        )
        .ecs_parameters(ecs)
        .build()
        .expect("target")
}

/// A non-ECS target (SQS) that shares a rule with ours and must never be touched.
pub fn sqs_target() -> Target {
    Target::builder()
        .id("audit")
        .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:audit"))
        .input("{\"a\":1}")
        .build()
        .expect("sqs target")
}

/// An app repo: jobdeploy.toml plus taskdefs/, in a temp dir.
pub struct App {
    pub dir: tempfile::TempDir,
}

pub const APP_TEMPLATE: &str = r#"{
  "family": "FAMILY",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "0.25 vCPU",
  "memory": "512",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "{{ image }}",
      "environment": [{"name": "RELEASE", "value": "{{ release }}"}]
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

/// A real git repository holding Kubernetes manifests.
pub struct ManifestRepo {
    pub dir: tempfile::TempDir,
    pub repo: git2::Repository,
}

impl ManifestRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).expect("git init");
        Self { dir, repo }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Writes the files and commits them on the current branch; returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            let full = self.dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        let mut index = self.repo.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        index.write().expect("write index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let sig = git2::Signature::now("release bot", "bot@example.com").expect("sig");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .expect("commit")
            .to_string()
    }

    /// Commits `apps/web/kustomization.yaml` naming `tag`, as the Kubernetes half of a
    /// release would; returns the commit SHA.
    pub fn release(&self, tag: &str) -> String {
        self.commit(
            &[("apps/web/kustomization.yaml", &Self::kustomization(tag))],
            &format!("web {tag}"),
        )
    }

    pub fn kustomization(tag: &str) -> String {
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\nimages:\n  - name: {IMAGE}\n    newTag: {tag}\n"
        )
    }
}

pub fn config(cluster: &str, manifest: &str) -> String {
    format!("cluster = \"{cluster}\"\n\n[manifest]\nimage = \"{IMAGE}\"\n{manifest}\n")
}

/// A CreateSchedule body with every field UpdateSchedule would drop if not sent back.
pub fn full_schedule(group: &str, cluster: &str, task_definition: &str, state: &str) -> Value {
    json!({
        "GroupName": group,
        "Description": "nightly export, owned by the data team",
        "ScheduleExpression": "cron(15 3 * * ? *)",
        "ScheduleExpressionTimezone": "Asia/Tokyo",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "StartDate": 4_102_444_800_i64,
        "EndDate": 4_133_980_800_i64,
        "State": state,
        "KmsKeyArn": format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "ActionAfterCompletion": "NONE",
        "Target": {
            "Arn": cluster,
            "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/scheduler-ecs"),
            "Input": r#"{"containerOverrides":[{"name":"app","command":["bin/rake","export"]}]}"#,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 4},
            "DeadLetterConfig": {"Arn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:export-dlq")},
            "EcsParameters": {
                "TaskDefinitionArn": task_definition,
                "TaskCount": 2,
                "CapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}],
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
                    "SecurityGroups": ["sg-0123abcd"],
                    "AssignPublicIp": "ENABLED"
                }},
                "PlatformVersion": "1.4.0",
                "Group": "family:export",
                "EnableECSManagedTags": true,
                "EnableExecuteCommand": true,
                "PlacementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
                "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
                "PropagateTags": "TASK_DEFINITION",
                "ReferenceId": "ref-7",
                "Tags": [{"cost-center": "42"}]
            }
        }
    })
}
