//! The ECS task lifecycle, played by the proxy for `jobdeploy run`: moto 5.x answers RunTask
//! on a Fargate definition whose containers have no `memory` with HTTP 500, and never stops a
//! task. A test queues a [`Script`]; the next RunTask starts a task that goes through the
//! script's statuses, one per DescribeTasks, and stops as the script says (exit codes, stop
//! code, reason) — or when StopTask comes. Its log lines are written into moto's CloudWatch
//! Logs: the first ones when it is RUNNING, the last ones only as it is reported STOPPED, so a
//! runner that stops reading at STOPPED loses them.

use std::collections::VecDeque;

use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::{ACCOUNT, REGION};

/// Log lines of one container, in `group`, stream `prefix/container/task-id`.
#[derive(Debug, Clone)]
pub struct Logs {
    pub group: String,
    pub prefix: String,
    pub container: String,
    pub running: Vec<String>,
    pub last: Vec<String>,
}

/// How the task the next RunTask starts behaves.
#[derive(Debug, Clone)]
pub struct Script {
    /// RunTask answers these `failures` (reason, detail) at HTTP 200 and starts nothing.
    pub failures: Vec<(String, Option<String>)>,
    /// Statuses, each answered to this many DescribeTasks.
    pub phases: Vec<(&'static str, usize)>,
    /// Stays in the last phase until StopTask.
    pub until_stopped: bool,
    pub stop_code: String,
    pub stopped_reason: String,
    /// `(name, exitCode, reason)` of each container once STOPPED.
    pub containers: Vec<(String, Option<i64>, Option<String>)>,
    pub logs: Vec<Logs>,
}

impl Script {
    /// PROVISIONING, PENDING, RUNNING (twice), then STOPPED: `container` exits with `code`.
    pub fn exits(container: &str, code: i64) -> Self {
        Self {
            failures: Vec::new(),
            phases: vec![("PROVISIONING", 1), ("PENDING", 1), ("RUNNING", 2)],
            until_stopped: false,
            stop_code: "EssentialContainerExited".into(),
            stopped_reason: "Essential container in task exited".into(),
            containers: vec![(container.into(), Some(code), None)],
            logs: Vec::new(),
        }
    }

    /// Runs like [`Script::exits`], then stops with every container as listed:
    /// `(name, exitCode, reason)`. The first one to exit ended the task
    /// (EssentialContainerExited); the others were stopped with it or killed.
    pub fn ends(containers: &[(&str, Option<i64>, Option<&str>)]) -> Self {
        Self {
            containers: containers
                .iter()
                .map(|(name, code, reason)| (name.to_string(), *code, reason.map(str::to_string)))
                .collect(),
            ..Self::exits("app", 0)
        }
    }

    /// Stopped before its containers ran (stopCode TaskFailedToStart).
    pub fn never_starts(container: &str, reason: &str) -> Self {
        Self {
            phases: vec![("PROVISIONING", 1), ("PENDING", 1)],
            stop_code: "TaskFailedToStart".into(),
            stopped_reason: reason.into(),
            containers: vec![(container.into(), None, Some(reason.into()))],
            ..Self::exits(container, 0)
        }
    }

    /// RunTask answers `failures` and starts nothing.
    pub fn fails(reason: &str, detail: Option<&str>) -> Self {
        Self {
            failures: vec![(reason.into(), detail.map(str::to_string))],
            ..Self::exits("app", 0)
        }
    }

    /// RUNNING until StopTask; then stopped by the user, the container killed (143).
    pub fn runs_until_stopped(container: &str) -> Self {
        Self {
            until_stopped: true,
            ..Self::exits(container, 143)
        }
    }

    pub fn with_logs(
        mut self,
        group: &str,
        prefix: &str,
        container: &str,
        running: &[&str],
        last: &[&str],
    ) -> Self {
        self.logs.push(Logs {
            group: group.into(),
            prefix: prefix.into(),
            container: container.into(),
            running: running.iter().map(|s| s.to_string()).collect(),
            last: last.iter().map(|s| s.to_string()).collect(),
        });
        self
    }
}

struct Task {
    arn: String,
    request: Value,
    script: Script,
    polls: usize,
    stop_reason: Option<String>,
    wrote_running: bool,
    wrote_last: bool,
}

/// Lines for moto's CloudWatch Logs, written before the proxy answers.
#[derive(Debug, Clone)]
pub struct LogWrite {
    pub group: String,
    pub stream: String,
    pub lines: Vec<String>,
}

#[derive(Default)]
pub struct Tasks {
    queue: VecDeque<Script>,
    tasks: Vec<Task>,
    /// Tasks ECS still shows from earlier runs (`jobdeploy runs`), as DescribeTasks
    /// returns them: ListTasks and DescribeTasks answer them.
    recent: Vec<Value>,
}

impl Tasks {
    pub fn push(&mut self, script: Script) {
        self.queue.push_back(script);
    }

    /// A task ECS shows from an earlier run (see [`recent_task`]).
    pub fn remember(&mut self, task: Value) {
        self.recent.push(task);
    }

    /// ListTasks by family and desired status, as ECS answers it (ARNs of the remembered
    /// tasks), 100 a page.
    fn list(&self, body: &Value) -> Option<(Value, Vec<LogWrite>)> {
        if self.recent.is_empty() {
            return None;
        }
        let family = body.get("family").and_then(Value::as_str);
        let desired = body
            .get("desiredStatus")
            .and_then(Value::as_str)
            .unwrap_or("RUNNING");
        let start: usize = body
            .get("nextToken")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let arns: Vec<&Value> = self
            .recent
            .iter()
            .filter(|t| {
                let td = t
                    .get("taskDefinitionArn")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let task_family = td
                    .rsplit('/')
                    .next()
                    .and_then(|f| f.rsplit_once(':'))
                    .map(|(f, _)| f);
                family.is_none_or(|f| task_family == Some(f))
                    && t.get("desiredStatus").and_then(Value::as_str) == Some(desired)
            })
            .filter_map(|t| t.get("taskArn"))
            .collect();
        let page: Vec<&Value> = arns.iter().skip(start).take(100).copied().collect();
        let mut answer = json!({"taskArns": page});
        if start + 100 < arns.len() {
            answer["nextToken"] = json!((start + 100).to_string());
        }
        Some((answer, Vec::new()))
    }

    /// The answer to a RunTask, DescribeTasks or StopTask this plays, and the log lines to
    /// write first; `None`: not ours, forward it.
    pub fn answer(&mut self, action: &str, body: &Value) -> Option<(Value, Vec<LogWrite>)> {
        match action {
            "RunTask" => self.run(body),
            "ListTasks" => self.list(body),
            "DescribeTasks"
                if body
                    .pointer("/tasks/0")
                    .and_then(Value::as_str)
                    .is_some_and(|arn| {
                        self.recent
                            .iter()
                            .any(|t| t.get("taskArn").and_then(Value::as_str) == Some(arn))
                    }) =>
            {
                let wanted: Vec<&str> = body
                    .get("tasks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut found = Vec::new();
                let mut failures = Vec::new();
                for arn in wanted {
                    match self
                        .recent
                        .iter()
                        .find(|t| t.get("taskArn").and_then(Value::as_str) == Some(arn))
                    {
                        Some(t) => found.push(t.clone()),
                        None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
                    }
                }
                Some((json!({"tasks": found, "failures": failures}), Vec::new()))
            }
            "DescribeTasks" => {
                let arn = body.pointer("/tasks/0").and_then(Value::as_str)?;
                let task = self.tasks.iter_mut().find(|t| t.arn == arn)?;
                task.polls += 1;
                let status = task.status();
                let writes = task.logs_for(status);
                Some((
                    json!({"tasks": [task.json(status)], "failures": []}),
                    writes,
                ))
            }
            "StopTask" => {
                let arn = body.get("task").and_then(Value::as_str)?;
                let task = self.tasks.iter_mut().find(|t| t.arn == arn)?;
                let reason = body
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                task.stop_reason = Some(reason.to_string());
                let status = task.status();
                Some((json!({"task": task.json(status)}), Vec::new()))
            }
            _ => None,
        }
    }

    fn run(&mut self, body: &Value) -> Option<(Value, Vec<LogWrite>)> {
        let token = body.get("clientToken");
        // Idempotent as ECS is: the same client token answers the task it started.
        if let Some(task) = self
            .tasks
            .iter()
            .find(|t| token.is_some() && t.request.get("clientToken") == token)
        {
            return Some((
                json!({"tasks": [task.json("PROVISIONING")], "failures": []}),
                Vec::new(),
            ));
        }
        let script = self.queue.pop_front()?;
        if !script.failures.is_empty() {
            let failures: Vec<Value> = script
                .failures
                .iter()
                .map(|(reason, detail)| json!({"reason": reason, "detail": detail}))
                .collect();
            return Some((json!({"tasks": [], "failures": failures}), Vec::new()));
        }
        let cluster = body
            .get("cluster")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
        let id = format!("{:032x}", 0xa11ce_u128 * 1000 + self.tasks.len() as u128);
        let task = Task {
            arn: format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster_name}/{id}"),
            request: body.clone(),
            script,
            polls: 0,
            stop_reason: None,
            wrote_running: false,
            wrote_last: false,
        };
        let answer = json!({"tasks": [task.json("PROVISIONING")], "failures": []});
        self.tasks.push(task);
        Some((answer, Vec::new()))
    }

    /// The RunTask requests that started a task.
    pub fn started(&self) -> Vec<Value> {
        self.tasks.iter().map(|t| t.request.clone()).collect()
    }
}

impl Task {
    fn status(&self) -> &'static str {
        if self.stop_reason.is_some() {
            return "STOPPED";
        }
        let mut seen = 0;
        for (status, times) in &self.script.phases {
            seen += times;
            if self.polls <= seen {
                return status;
            }
        }
        if self.script.until_stopped {
            return self.script.phases.last().map_or("RUNNING", |(s, _)| s);
        }
        "STOPPED"
    }

    fn logs_for(&mut self, status: &str) -> Vec<LogWrite> {
        let id = self.arn.rsplit('/').next().unwrap_or_default().to_string();
        let mut writes = Vec::new();
        let running = status == "RUNNING" || status == "STOPPED";
        for logs in &self.script.logs {
            let stream = format!("{}/{}/{id}", logs.prefix, logs.container);
            let mut lines = Vec::new();
            if running && !self.wrote_running {
                lines.extend(logs.running.iter().cloned());
            }
            if status == "STOPPED" && !self.wrote_last {
                lines.extend(logs.last.iter().cloned());
            }
            if !lines.is_empty() {
                writes.push(LogWrite {
                    group: logs.group.clone(),
                    stream,
                    lines,
                });
            }
        }
        self.wrote_running |= running;
        self.wrote_last |= status == "STOPPED";
        writes
    }

    fn json(&self, status: &str) -> Value {
        let stopped = status == "STOPPED";
        let containers: Vec<Value> = self
            .script
            .containers
            .iter()
            .map(|(name, code, reason)| {
                let mut c = json!({"name": name, "lastStatus": status});
                if stopped {
                    if let Some(code) = code {
                        c["exitCode"] = json!(code);
                    }
                    if let Some(reason) = reason {
                        c["reason"] = json!(reason);
                    }
                }
                c
            })
            .collect();
        let desired = if stopped || self.stop_reason.is_some() {
            "STOPPED"
        } else {
            "RUNNING"
        };
        let mut task = json!({
            "taskArn": self.arn,
            "clusterArn": self.request.get("cluster"),
            "taskDefinitionArn": self.request.get("taskDefinition"),
            "lastStatus": status,
            "desiredStatus": desired,
            "startedBy": self.request.get("startedBy"),
            "group": self.request.get("group"),
            "containers": containers,
        });
        if stopped {
            match &self.stop_reason {
                Some(reason) => {
                    task["stopCode"] = json!("UserInitiated");
                    task["stoppedReason"] = json!(reason);
                }
                None => {
                    task["stopCode"] = json!(self.script.stop_code);
                    task["stoppedReason"] = json!(self.script.stopped_reason);
                }
            }
        }
        task
    }
}

/// Writes a task's log lines into the emulator's CloudWatch Logs, creating the group and
/// stream when they are not there yet.
pub async fn write_logs(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    write: &LogWrite,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let events: Vec<serde_json::Value> = write
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| serde_json::json!({"timestamp": now + i as i64, "message": line}))
        .collect();
    let calls = [
        (
            "CreateLogGroup",
            serde_json::json!({"logGroupName": write.group}),
        ),
        (
            "CreateLogStream",
            serde_json::json!({"logGroupName": write.group, "logStreamName": write.stream}),
        ),
        (
            "PutLogEvents",
            serde_json::json!({"logGroupName": write.group, "logStreamName": write.stream, "logEvents": events}),
        ),
    ];
    for (action, body) in calls {
        let Ok(request) = Request::builder()
            .method("POST")
            .uri(format!("{upstream}/"))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("Logs_20140328.{action}"))
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{}/logs/aws4_request, SignedHeaders=host, Signature=0", REGION),
            )
            .body(Full::new(Bytes::from(body.to_string())))
        else {
            continue;
        };
        // Create* answers "already exists" the second time; that is fine.
        let _ = client.request(request).await;
    }
}

/// A task as DescribeTasks shows it after a rule or schedule started it: `family:revision`
/// on cluster `batch`, created `age` seconds ago, `startedBy`; stopped after 172.5 s
/// (start-up 52.5 s, of it 30 s pulling the image) with `exit` from container `app`, or
/// still running when `exit` is `None`.
pub fn recent_task(
    id: &str,
    family: &str,
    revision: u32,
    started_by: &str,
    age: f64,
    exit: Option<i64>,
) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        .floor();
    let created = now - age;
    let mut task = json!({
        "taskArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/{id}"),
        "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/batch"),
        "taskDefinitionArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"),
        "startedBy": started_by,
        "group": format!("family:{family}"),
        "createdAt": created,
        "pullStartedAt": created + 10.0,
        "pullStoppedAt": created + 40.0,
        "startedAt": created + 52.5,
        "lastStatus": "RUNNING",
        "desiredStatus": "RUNNING",
        "containers": [{"name": "app", "lastStatus": "RUNNING"}],
    });
    if let Some(code) = exit {
        task["lastStatus"] = json!("STOPPED");
        task["desiredStatus"] = json!("STOPPED");
        task["stoppedAt"] = json!(created + 172.5);
        task["stopCode"] = json!("EssentialContainerExited");
        task["stoppedReason"] = json!("Essential container in task exited");
        task["containers"] = json!([{"name": "app", "lastStatus": "STOPPED", "exitCode": code}]);
    }
    task
}
