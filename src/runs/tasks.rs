//! The tasks of our families ECS still shows: which trigger started each, how it ended
//! (the same rule as `jobdeploy run`), and how long it took to start and to run.
//!
//! A task names what started it in `startedBy`: EventBridge writes `events-rule/RULE` and
//! Scheduler `chronos-schedule/NAME`, cut to ECS's 36 characters; a target that sets a
//! `Group` gives its tasks that group. Failing both, a family run by exactly one trigger of
//! ours names it; else the task is listed apart (`other_tasks`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Observed, Window, seconds};
use crate::live::LiveTarget;
use crate::model::{Owner, TaskDefRef};
use crate::run::wait::{Ending, ending};

/// How a task fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not stopped yet.
    Running,
    /// Its container exited 0.
    Succeeded,
    /// Exited non-zero, never started, killed, or cut short.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRun {
    pub task_arn: String,
    pub revision: Option<i64>,
    pub release: Option<String>,
    pub last_status: String,
    pub outcome: Outcome,
    /// The exit code of the container that ended the task.
    pub exit_code: Option<i64>,
    /// The container it is of.
    pub container: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub started_by: Option<String>,
    /// RFC 3339 `createdAt`.
    pub created_at: Option<String>,
    /// `createdAt` → `startedAt`: provisioning, the image pull, starting the containers.
    pub startup_seconds: Option<f64>,
    /// `pullStartedAt` → `pullStoppedAt`, part of the start-up.
    pub pull_seconds: Option<f64>,
    /// `startedAt` → `stoppedAt` (or `executionStoppedAt`); still running: until now.
    pub run_seconds: Option<f64>,
    /// Still running a revision other than the one its trigger runs now: it started before
    /// the release.
    pub older_revision: bool,
    #[serde(skip)]
    created: Option<f64>,
    #[serde(skip)]
    stopped: Option<f64>,
}

impl TaskRun {
    /// It failed, and it ended (or was created) within the window.
    pub fn failed_in(&self, window: Window) -> bool {
        let when = self.stopped.or(self.created).unwrap_or(f64::MAX);
        self.outcome == Outcome::Failed && when >= window.since as f64
    }

    /// Built from a task as DescribeTasks returns it.
    pub fn from_task(task: &Value, now: i64, releases: &BTreeMap<(String, i64), String>) -> Self {
        let text = |k: &str| {
            task.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let time = |k: &str| time_of(task.get(k));
        let td = TaskDefRef::parse(&text("taskDefinitionArn").unwrap_or_default());
        let last_status = text("lastStatus").unwrap_or_else(|| "UNKNOWN".to_string());
        let stopped = last_status == "STOPPED" || last_status == "DELETED";
        let (outcome, exit_code, container) = if stopped {
            // Essential flags are not in DescribeTasks: every container counts, as `run`
            // counts them when it has no task definition at hand.
            match ending(task, &[], None) {
                Ending::Exited { container, code } => (
                    if code == 0 {
                        Outcome::Succeeded
                    } else {
                        Outcome::Failed
                    },
                    Some(code),
                    Some(container),
                ),
                Ending::OutOfMemory {
                    container, code, ..
                } => (Outcome::Failed, code, Some(container)),
                Ending::CutShort { container, .. } => (Outcome::Failed, Some(0), Some(container)),
                Ending::NoExitCode { container, .. } => (Outcome::Failed, None, Some(container)),
                Ending::NeverStarted { .. } => (Outcome::Failed, None, None),
            }
        } else {
            (Outcome::Running, None, None)
        };
        let created = time("createdAt");
        let started = time("startedAt");
        let ended = time("stoppedAt").or_else(|| time("executionStoppedAt"));
        let span = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b >= a => Some(((b - a) * 10.0).round() / 10.0),
            _ => None,
        };
        let run_end = if stopped { ended } else { Some(now as f64) };
        TaskRun {
            task_arn: text("taskArn").unwrap_or_default(),
            revision: td.revision,
            release: td
                .revision
                .and_then(|r| releases.get(&(td.family.clone(), r)).cloned()),
            last_status,
            outcome,
            exit_code,
            container,
            stop_code: text("stopCode"),
            stopped_reason: text("stoppedReason"),
            started_by: text("startedBy"),
            created_at: created.map(crate::model::format_time),
            startup_seconds: span(created, started),
            pull_seconds: span(time("pullStartedAt"), time("pullStoppedAt")),
            run_seconds: span(started, run_end),
            older_revision: false,
            created,
            stopped: if stopped { ended } else { None },
        }
    }
}

fn time_of(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(_) => seconds(value).map(|s| s as f64),
        _ => None,
    }
}

fn family_of(task: &Value) -> String {
    TaskDefRef::parse(
        task.get("taskDefinitionArn")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .family
}

/// The most characters of `startedBy` ECS keeps ("Up to 36 letters …", RunTask's
/// `startedBy`: <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html>).
const STARTED_BY_MAX: usize = 36;

/// The index of the target that started `task`, if it can be told.
fn started_by(task: &Value, targets: &[LiveTarget]) -> Option<usize> {
    let family = family_of(task);
    let text = |k: &str| task.get(k).and_then(Value::as_str).unwrap_or_default();
    let candidates: Vec<usize> = (0..targets.len())
        .filter(|i| targets[*i].task_definition.family == family)
        .collect();
    let unique = |found: Vec<usize>| (found.len() == 1).then(|| found[0]);
    let by = text("startedBy");
    // `jobdeploy run` and `deploy --smoke` start tasks too: no rule or schedule did.
    if by == crate::run::request::STARTED_BY {
        return None;
    }
    // ECS keeps at most 36 characters of startedBy: a name is matched whole, and only a
    // cut-off one by its prefix (rules `nightly` and `nightly-full` are then told apart
    // whenever the name fits).
    let truncated = by.chars().count() >= STARTED_BY_MAX;
    let named = |prefix: &str, rule: bool| {
        by.strip_prefix(prefix).and_then(|name| {
            let matches =
                |candidate: &str| candidate == name || (truncated && candidate.starts_with(name));
            unique(
                candidates
                    .iter()
                    .copied()
                    .filter(|i| match &targets[*i].at.owner {
                        Owner::Rule { rule: r, .. } if rule => matches(r),
                        Owner::Schedule { schedule, .. } if !rule => matches(schedule),
                        _ => false,
                    })
                    .collect(),
            )
        })
    };
    if let Some(i) = named("events-rule/", true).or_else(|| named("chronos-schedule/", false)) {
        return Some(i);
    }
    let group = text("group");
    if !group.is_empty()
        && let Some(i) = unique(
            candidates
                .iter()
                .copied()
                .filter(|i| {
                    let t = &targets[*i];
                    t.at.owner
                        .target_of(&t.raw)
                        .pointer("/EcsParameters/Group")
                        .and_then(Value::as_str)
                        == Some(group)
                })
                .collect(),
        )
    {
        return Some(i);
    }
    unique(candidates)
}

/// The tasks shown per target (by index), and the ones no target can be named for. A
/// stopped task shows when it was created or stopped within the window; a running one
/// always. Newest first.
pub fn attribute(
    tasks: &[Value],
    targets: &[LiveTarget],
    window: Window,
    observed: &Observed,
) -> (BTreeMap<usize, Vec<TaskRun>>, Vec<TaskRun>) {
    let mut by_target: BTreeMap<usize, Vec<TaskRun>> = BTreeMap::new();
    let mut other = Vec::new();
    for task in tasks {
        let mut run = TaskRun::from_task(task, window.until, &observed.releases);
        let recent = run.outcome == Outcome::Running
            || run
                .stopped
                .or(run.created)
                .is_none_or(|t| t >= window.since as f64);
        if !recent {
            continue;
        }
        match started_by(task, targets) {
            Some(i) => {
                let target_revision = targets[i].task_definition.revision;
                run.older_revision = run.outcome == Outcome::Running
                    && run.revision.is_some()
                    && target_revision.is_some()
                    && run.revision != target_revision;
                by_target.entry(i).or_default().push(run);
            }
            None => other.push(run),
        }
    }
    let newest_first = |a: &TaskRun, b: &TaskRun| {
        b.created
            .partial_cmp(&a.created)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.task_arn.cmp(&b.task_arn))
    };
    for runs in by_target.values_mut() {
        runs.sort_by(newest_first);
    }
    other.sort_by(newest_first);
    (by_target, other)
}
