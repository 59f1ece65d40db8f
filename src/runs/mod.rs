//! What the release's jobs did: per rule and schedule of ours, its state and next firing,
//! its invocations and failed invocations in the window, the tasks of our families ECS
//! still shows, and the depth of its dead-letter queue. Pure: [`Observed`] is what the
//! reads found (`crate::commands::runs` makes them), [`RunsReport::compute`] the report.

pub mod metrics;
pub mod schedule;
pub mod tasks;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::aws::Lookup;
use crate::live::LiveTarget;
use crate::model::{Owner, Trigger, format_time};
pub use metrics::{MetricsScope, Subject};
pub use tasks::{Outcome, TaskRun};

/// The window `runs` looks at: `[since, until]`, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: i64,
    pub until: i64,
}

/// Everything the reads found, as plain data.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub targets: Vec<LiveTarget>,
    /// `ENABLED`/`DISABLED` per rule and schedule.
    pub states: BTreeMap<Owner, String>,
    /// Rules' schedule expressions (schedules carry theirs in `raw`).
    pub rule_expressions: BTreeMap<Owner, String>,
    /// The metric sums by query id (see [`metrics::plan`]); `Denied` when refused.
    pub metric_sums: Option<Lookup<BTreeMap<String, f64>>>,
    /// Tasks of our families as DescribeTasks returned them; `Denied` when refused.
    pub tasks: Option<Lookup<Vec<Value>>>,
    /// Depth per dead-letter queue ARN.
    pub dead_letters: BTreeMap<String, Lookup<u64>>,
    /// `(family, revision) → release` for the revisions history could name.
    pub releases: BTreeMap<(String, i64), String>,
}

/// One rule target or schedule in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerRuns {
    #[serde(flatten)]
    pub at: Trigger,
    pub family: String,
    pub revision: Option<i64>,
    pub release: Option<String>,
    pub state: Option<String>,
    pub expression: Option<String>,
    /// Scheduler's `ScheduleExpressionTimezone` (rules: always UTC, `null`).
    pub timezone: Option<String>,
    /// RFC 3339, UTC; `null` when it will not fire again (or has no schedule).
    pub next_firing: Option<String>,
    /// `false` for a rate whose phase AWS does not tell (a rule, or a schedule without a
    /// `StartDate`): it fires at the latest then.
    pub next_firing_exact: bool,
    /// The same instant in the schedule's zone, `2026-03-09 02:30 EDT`.
    pub next_firing_local: Option<String>,
    /// Why the next firing is unknown (an expression jobdeploy cannot read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_firing_error: Option<String>,
    pub invocations: Option<u64>,
    pub failed_invocations: Option<u64>,
    /// Scheduler `TargetErrorCount` (ECS answered RunTask with an error; retried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_errors: Option<u64>,
    /// EventBridge `ThrottledRules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled: Option<u64>,
    pub metrics_scope: MetricsScope,
    pub tasks: Vec<TaskRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// The queue's name.
    pub queue: String,
    pub arn: String,
    /// `null` when the queue could not be read (see `warnings`).
    pub messages: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunsReport {
    pub since: String,
    pub until: String,
    pub triggers: Vec<TriggerRuns>,
    /// Failed invocations + tasks that failed in the window + dead-letter messages.
    pub failures: u64,
    /// Tasks of our families that no rule or schedule of ours can be named for (started by
    /// hand, by `jobdeploy run`, or by a rule that is not ours).
    pub other_tasks: Vec<TaskRun>,
    /// Reads that were refused or found nothing, each naming the permission or the queue.
    pub warnings: Vec<String>,
}

impl RunsReport {
    pub fn compute(observed: &Observed, window: Window) -> Self {
        let mut warnings = Vec::new();
        let subjects = metrics::subjects(&observed.targets);
        let queries = metrics::plan(&subjects);
        let sums = match &observed.metric_sums {
            Some(Lookup::Found(sums)) => Some(sums),
            Some(Lookup::Denied(permission)) => {
                warnings.push(denied(permission, "invocation metrics"));
                None
            }
            _ => None,
        };
        let tasks = match &observed.tasks {
            Some(Lookup::Found(tasks)) => tasks.as_slice(),
            Some(Lookup::Denied(permission)) => {
                warnings.push(denied(permission, "the tasks of our families"));
                &[]
            }
            _ => &[],
        };
        let (by_target, other) = tasks::attribute(tasks, &observed.targets, window, observed);
        let mut triggers = Vec::new();
        let mut failures = 0u64;
        let mut counted_subjects = BTreeSet::new();
        let mut counted_queues = BTreeSet::new();
        for (i, target) in observed.targets.iter().enumerate() {
            let at = &target.at;
            let subject = Subject::of(&at.owner);
            let m = metrics::read(&queries, &subject, sums);
            // A rule's (or a schedule group's) metrics count once, however many of its
            // targets are ours.
            if let Some(failed) = m.failed
                && counted_subjects.insert(subject.clone())
            {
                failures += failed;
            }
            let timing = timing_of(target, observed);
            let target_tasks = by_target.get(&i).cloned().unwrap_or_default();
            failures += target_tasks.iter().filter(|t| t.failed_in(window)).count() as u64;
            let dead_letter = dead_letter_arn(target).map(|arn| {
                let messages = match observed.dead_letters.get(&arn) {
                    Some(Lookup::Found(n)) => Some(*n),
                    Some(Lookup::Denied(permission)) => {
                        warnings.push(denied(permission, &format!("dead-letter queue {arn}")));
                        None
                    }
                    Some(Lookup::Missing) => {
                        warnings.push(format!(
                            "dead-letter queue {arn} of {} does not exist: failed invocations are lost",
                            at.describe()
                        ));
                        None
                    }
                    None => None,
                };
                if let Some(n) = messages
                    && counted_queues.insert(arn.clone())
                {
                    failures += n;
                }
                DeadLetter {
                    queue: arn.rsplit(':').next().unwrap_or(&arn).to_string(),
                    arn,
                    messages,
                }
            });
            let state = observed.states.get(&at.owner).cloned();
            let next = next_firing(&timing, state.as_deref(), window.until);
            triggers.push(TriggerRuns {
                at: at.clone(),
                family: target.task_definition.family.clone(),
                revision: target.task_definition.revision,
                release: target.task_definition.revision.and_then(|r| {
                    observed
                        .releases
                        .get(&(target.task_definition.family.clone(), r))
                        .cloned()
                }),
                state,
                expression: timing.expression.clone(),
                timezone: timing.zone.clone(),
                next_firing: next.at.map(format_time_secs),
                next_firing_exact: next.exact,
                next_firing_local: next
                    .at
                    .zip(timing.zone.as_deref())
                    .and_then(|(at, zone)| schedule::local_time(at, zone)),
                next_firing_error: next.error,
                invocations: m.invocations,
                failed_invocations: m.failed,
                target_errors: m.target_errors,
                throttled: m.throttled,
                metrics_scope: subject.scope(),
                tasks: target_tasks,
                dead_letter,
            });
        }
        failures += other.iter().filter(|t| t.failed_in(window)).count() as u64;
        warnings.sort();
        warnings.dedup();
        RunsReport {
            since: format_time_secs(window.since),
            until: format_time_secs(window.until),
            triggers,
            failures,
            other_tasks: other,
            warnings,
        }
    }
}

fn denied(permission: &str, what: &str) -> String {
    format!(
        "could not read {what}: {permission} was refused (grant it: `jobdeploy iam-policy` lists it)"
    )
}

fn format_time_secs(at: i64) -> String {
    format_time(at as f64)
}

/// What decides a trigger's firings.
#[derive(Debug, Clone, Default)]
struct TriggerTiming {
    expression: Option<String>,
    zone: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
}

fn timing_of(target: &LiveTarget, observed: &Observed) -> TriggerTiming {
    match &target.at.owner {
        Owner::Rule { .. } => TriggerTiming {
            expression: observed.rule_expressions.get(&target.at.owner).cloned(),
            ..TriggerTiming::default()
        },
        Owner::Schedule { .. } => {
            let raw = &target.raw;
            let text = |k: &str| {
                raw.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            TriggerTiming {
                expression: text("ScheduleExpression"),
                zone: text("ScheduleExpressionTimezone"),
                start: seconds(raw.get("StartDate")),
                end: seconds(raw.get("EndDate")),
            }
        }
    }
}

/// A timestamp as the JSON protocols carry it: epoch seconds, or RFC 3339 text.
pub fn seconds(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
        Value::String(s) => crate::model::parse_time(s).map(|f| f.floor() as i64),
        _ => None,
    }
}

struct NextFiring {
    at: Option<i64>,
    exact: bool,
    error: Option<String>,
}

fn next_firing(timing: &TriggerTiming, state: Option<&str>, now: i64) -> NextFiring {
    let none = |error| NextFiring {
        at: None,
        exact: true,
        error,
    };
    let Some(expression) = &timing.expression else {
        return none(None);
    };
    if state == Some("DISABLED") {
        return none(None);
    }
    let t = schedule::Timing {
        expression,
        zone: timing.zone.as_deref(),
        start: timing.start,
        end: timing.end,
    };
    match schedule::next_firing(&t, now) {
        Ok(schedule::Next::At(at)) => NextFiring {
            at: Some(at),
            exact: true,
            error: None,
        },
        Ok(schedule::Next::Within(at)) => NextFiring {
            at: Some(at),
            exact: false,
            error: None,
        },
        Ok(schedule::Next::Never) => none(None),
        Err(e) => none(Some(e)),
    }
}

/// The ARN of the target's dead-letter queue, if it has one.
pub fn dead_letter_arn(target: &LiveTarget) -> Option<String> {
    target
        .at
        .owner
        .target_of(&target.raw)
        .pointer("/DeadLetterConfig/Arn")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

/// `--since`: `90s`, `30m`, `24h`, `7d` (a positive whole number and a unit), in seconds.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "--since `{text}`: expected a positive duration such as 30m, 24h or 7d (units s, m, h, d)"
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    // CloudWatch keeps hourly datapoints for 455 days.
    n.checked_mul(unit)
        .filter(|s| *s <= 455 * 86_400)
        .ok_or_else(|| {
            format!("--since `{text}`: at most 455d (CloudWatch keeps metrics 15 months)")
        })
}

#[cfg(test)]
pub(crate) mod tests;
/// The fixtures of the unit tests, for the report's snapshot tests.
#[cfg(test)]
pub(crate) use tests as tests_support;
