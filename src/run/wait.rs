//! Waiting for a task, as pure state: how long to sleep before the next DescribeTasks, which
//! status changes to print, when `--timeout` has passed, and what the stopped task's exit
//! code is. Time is an argument, so all of it is unit-tested with a fake clock.

use std::time::Duration;

use serde_json::Value;

/// Sleeps between polls: quick while the task is being placed (most failures show within
/// seconds), then every 6 s. DescribeTasks is paced in the ECS reads' budget (20/s), so even
/// many runs side by side stay far below it.
const INTERVALS: [u64; 8] = [1, 1, 2, 2, 3, 4, 5, 6];
pub const MAX_INTERVAL: Duration = Duration::from_secs(6);

/// The sleep before poll number `n` (0: the first after RunTask).
pub fn interval(n: usize) -> Duration {
    Duration::from_secs(INTERVALS.get(n).copied().unwrap_or(6))
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Sleep(Duration),
    TimedOut,
}

/// The wait of one task: the statuses seen, polls made, the deadline.
#[derive(Debug, Clone)]
pub struct Waiter {
    deadline: Duration,
    polls: usize,
    last: Option<String>,
}

impl Waiter {
    /// Started at `now` (on any monotonic clock), giving up `timeout` later.
    pub fn new(now: Duration, timeout: Duration) -> Self {
        Self {
            deadline: now + timeout,
            polls: 0,
            last: None,
        }
    }

    /// A poll answered `status` (`lastStatus`): the status when it changed, to be printed.
    pub fn observe(&mut self, status: &str) -> Option<String> {
        if self.last.as_deref() == Some(status) {
            return None;
        }
        self.last = Some(status.to_string());
        Some(status.to_string())
    }

    /// After a poll at `now`: sleep until the next (never past the deadline), or give up.
    pub fn next(&mut self, now: Duration) -> Step {
        if now >= self.deadline {
            return Step::TimedOut;
        }
        let sleep = interval(self.polls).min(self.deadline - now);
        self.polls += 1;
        Step::Sleep(sleep)
    }
}

/// How a stopped task ended, and so the exit code of `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The container exited with this code.
    Exited { container: String, code: i64 },
    /// The task never ran its containers (image pull, secrets, network, capacity).
    NeverStarted { reason: String, hints: Vec<String> },
    /// The container has no exit code (killed with the task, or never reported): never a
    /// success.
    NoExitCode { container: String, reason: String },
    /// The kernel killed the container for using more memory than it may (ECS's reason
    /// says `OutOfMemoryError`): a failure, whatever its exit code.
    OutOfMemory {
        container: String,
        code: Option<i64>,
        reason: String,
    },
    /// The task was stopped from outside (someone's StopTask, a Spot interruption, a
    /// maintenance notice) and the container exited 0 on the SIGTERM: the job was cut short,
    /// so not a success either.
    CutShort {
        container: String,
        stop_code: String,
        reason: String,
    },
}

impl Ending {
    /// The exit code of `run`: the container's own (0–255; others are 1), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Ending::Exited { code, .. } => u8::try_from(*code).unwrap_or(1),
            Ending::OutOfMemory { code, .. } => code
                .and_then(|c| u8::try_from(c).ok())
                .filter(|c| *c != 0)
                .unwrap_or(1),
            _ => 1,
        }
    }
}

/// The reasons ECS gives when a task's containers never ran.
const NEVER_STARTED: [&str; 4] = [
    "CannotPullContainerError",
    "ResourceInitializationError",
    "CannotStartContainerError",
    "TaskFailedToStart",
];

/// ECS's reason for a container killed for its memory use: "OutOfMemoryError: Container
/// killed due to memory usage"
/// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/out-of-memory.html>).
pub const OUT_OF_MEMORY: &str = "OutOfMemoryError";

/// Exit codes of a container ended by a signal: SIGKILL (128 + 9) and SIGTERM (128 + 15),
/// what an essential container gets when the task stops because another one exited.
const ENDED_BY_SIGNAL: [i64; 2] = [137, 143];

fn out_of_memory(container: &Value) -> bool {
    text(container, "reason").contains(OUT_OF_MEMORY)
}

/// An essential container that only stopped because the task stopped: a signal's exit code
/// and no out-of-memory reason.
fn stopped_with_the_task(container: &Value) -> bool {
    container
        .get("exitCode")
        .and_then(Value::as_i64)
        .is_some_and(|c| ENDED_BY_SIGNAL.contains(&c))
        && !out_of_memory(container)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// How the stopped `task` ended: the exit code of `chosen` (`--container`), else of the
/// essential container that ended it. An essential container killed for memory decides (a
/// failure with its reason); one that only stopped because the task stopped (137/143, no
/// out-of-memory reason) never decides while another essential container ended on its own;
/// of the rest, the first that failed, else the first. `essential` lists the task
/// definition's essential containers.
pub fn ending(task: &Value, essential: &[String], chosen: Option<&str>) -> Ending {
    let containers: Vec<&Value> = task
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let code = |c: &Value| c.get("exitCode").and_then(Value::as_i64);
    let stop_code = text(task, "stopCode");
    let stopped_reason = text(task, "stoppedReason");
    let reasons: Vec<&str> = std::iter::once(stopped_reason)
        .chain(containers.iter().map(|c| text(c, "reason")))
        .filter(|r| !r.is_empty())
        .collect();
    let any_exit_code = containers.iter().any(|c| code(c).is_some());
    let failed_to_start = stop_code == "TaskFailedToStart"
        || (!any_exit_code
            && reasons
                .iter()
                .any(|r| NEVER_STARTED.iter().any(|n| r.contains(n))));
    if failed_to_start {
        let reason = if reasons.is_empty() {
            format!("stopCode {stop_code}")
        } else {
            reasons.join("; ")
        };
        let hints = hints_for(&reason);
        return Ending::NeverStarted { reason, hints };
    }
    let pick = match chosen {
        Some(name) => containers.iter().find(|c| text(c, "name") == name).copied(),
        None => {
            let essentials: Vec<&Value> = containers
                .iter()
                .filter(|c| essential.is_empty() || essential.iter().any(|e| e == text(c, "name")))
                .copied()
                .collect();
            let ended_on_their_own: Vec<&Value> = essentials
                .iter()
                .filter(|c| !stopped_with_the_task(c))
                .copied()
                .collect();
            let deciders = if ended_on_their_own.is_empty() {
                essentials
            } else {
                ended_on_their_own
            };
            deciders
                .iter()
                .find(|c| out_of_memory(c))
                .or_else(|| deciders.iter().find(|c| code(c).is_some_and(|x| x != 0)))
                .or_else(|| deciders.iter().find(|c| code(c).is_none()))
                .or_else(|| deciders.first())
                .copied()
        }
    };
    let Some(container) = pick else {
        return Ending::NoExitCode {
            container: chosen.unwrap_or("(none)").to_string(),
            reason: nonempty(stopped_reason, "the task has no such container"),
        };
    };
    let name = text(container, "name").to_string();
    if out_of_memory(container) {
        return Ending::OutOfMemory {
            container: name,
            code: code(container),
            reason: text(container, "reason").to_string(),
        };
    }
    match code(container) {
        Some(0) if !stop_code.is_empty() && stop_code != "EssentialContainerExited" => {
            Ending::CutShort {
                container: name,
                stop_code: stop_code.to_string(),
                reason: nonempty(stopped_reason, "no reason given"),
            }
        }
        Some(code) => Ending::Exited {
            container: name,
            code,
        },
        None => Ending::NoExitCode {
            container: name,
            reason: nonempty(
                &reasons.join("; "),
                &format!("stopCode {}", nonempty(stop_code, "unknown")),
            ),
        },
    }
}

fn nonempty(text: &str, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.to_string()
    } else {
        text.to_string()
    }
}

/// What usually causes a task not to start, by what ECS said.
pub fn hints_for(reason: &str) -> Vec<String> {
    let lower = reason.to_ascii_lowercase();
    let route = "no route to ECR: with assignPublicIp DISABLED the subnets need a NAT gateway or VPC endpoints (ecr.api, ecr.dkr, an S3 gateway, logs); with ENABLED, a route to an internet gateway";
    let role = "the task execution role may lack permissions: ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, logs:CreateLogStream, logs:PutLogEvents";
    let secret = "a secret the task definition names may be missing, or the execution role may lack secretsmanager:GetSecretValue / ssm:GetParameters (and kms:Decrypt) for it";
    let mut hints = Vec::new();
    let about_secrets = ["secret", "ssm", "parameter", "kms"]
        .iter()
        .any(|w| lower.contains(w));
    let about_access = [
        "accessdenied",
        "not authorized",
        "unauthorized",
        "forbidden",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let about_network = [
        "timeout",
        "i/o timeout",
        "dial tcp",
        "context deadline",
        "network",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if about_secrets {
        hints.push(secret.to_string());
    }
    if about_access {
        hints.push(role.to_string());
    }
    if about_network {
        hints.push(route.to_string());
    }
    if hints.is_empty() {
        hints = vec![route.to_string(), role.to_string(), secret.to_string()];
    }
    hints
}

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
