//! Which CloudWatch metrics say how a trigger fared, and what their sums mean.
//!
//! - Rules: `AWS/Events` `Invocations`, `FailedInvocations` (failed permanently: not
//!   retried, not counted in `DeadLetterInvocations`) and `ThrottledRules`, by `RuleName`;
//!   a rule on a custom bus also by `EventBusName` ("Metrics that specify both the
//!   EventBusName and RuleName dimensions refer to a custom event bus";
//!   <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html>).
//! - Schedules: `AWS/Scheduler` `InvocationAttemptCount`, `TargetErrorCount`,
//!   `InvocationDroppedCount` and `InvocationsSentToDeadLetterCount`, by `ScheduleGroup`, the
//!   only dimension Scheduler meters
//!   (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/monitoring-cloudwatch.html>):
//!   every schedule of a group shows the group's numbers.
//!
//! AWS sends no datapoint for zero, so a metric without one is 0.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::cloudwatch::MetricQuery;
use crate::live::LiveTarget;
use crate::model::Owner;

/// What a trigger's numbers are metered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsScope {
    Rule,
    /// Scheduler meters per schedule group only: the group's numbers.
    ScheduleGroup,
}

/// What one set of metrics is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Rule { bus: String, rule: String },
    Group(String),
}

impl Subject {
    pub fn of(owner: &Owner) -> Self {
        match owner {
            Owner::Rule { event_bus, rule } => Subject::Rule {
                bus: bus_name(event_bus).to_string(),
                rule: rule.clone(),
            },
            Owner::Schedule { group, .. } => Subject::Group(group.clone()),
        }
    }

    pub fn scope(&self) -> MetricsScope {
        match self {
            Subject::Rule { .. } => MetricsScope::Rule,
            Subject::Group(_) => MetricsScope::ScheduleGroup,
        }
    }
}

/// `jobs` for `jobs` or `arn:aws:events:…:event-bus/jobs`.
fn bus_name(bus: &str) -> &str {
    bus.rsplit_once("event-bus/").map_or(bus, |(_, name)| name)
}

/// Every distinct subject of the targets, in order.
pub fn subjects(targets: &[LiveTarget]) -> Vec<Subject> {
    let mut out: Vec<Subject> = targets.iter().map(|t| Subject::of(&t.at.owner)).collect();
    out.sort();
    out.dedup();
    out
}

/// The role a metric plays in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Invocations,
    Failed,
    TargetErrors,
    Throttled,
}

const EVENTS: [(&str, Role); 3] = [
    ("Invocations", Role::Invocations),
    ("FailedInvocations", Role::Failed),
    ("ThrottledRules", Role::Throttled),
];
const SCHEDULER: [(&str, Role); 4] = [
    ("InvocationAttemptCount", Role::Invocations),
    ("TargetErrorCount", Role::TargetErrors),
    ("InvocationDroppedCount", Role::Failed),
    ("InvocationsSentToDeadLetterCount", Role::Failed),
];

/// The queries for `subjects`: 3 per rule, 4 per schedule group, each with its subject and
/// role.
pub fn plan(subjects: &[Subject]) -> Vec<(Subject, Role, MetricQuery)> {
    let mut out = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        let (namespace, metrics, dimensions): (_, &[(&'static str, Role)], _) = match subject {
            Subject::Rule { bus, rule } => {
                let mut d = vec![("RuleName", rule.clone())];
                if bus != "default" {
                    d.insert(0, ("EventBusName", bus.clone()));
                }
                ("AWS/Events", &EVENTS, d)
            }
            Subject::Group(group) => (
                "AWS/Scheduler",
                &SCHEDULER,
                vec![("ScheduleGroup", group.clone())],
            ),
        };
        for (j, (metric, role)) in metrics.iter().enumerate() {
            out.push((
                subject.clone(),
                *role,
                MetricQuery {
                    id: format!("m{i}_{j}"),
                    namespace,
                    metric,
                    dimensions: dimensions.clone(),
                },
            ));
        }
    }
    out
}

/// A subject's numbers; `None` throughout when the metrics could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbers {
    pub invocations: Option<u64>,
    pub failed: Option<u64>,
    pub target_errors: Option<u64>,
    pub throttled: Option<u64>,
}

/// The subject's numbers from the sums (no datapoint: 0).
pub fn read(
    plan: &[(Subject, Role, MetricQuery)],
    subject: &Subject,
    sums: Option<&BTreeMap<String, f64>>,
) -> Numbers {
    let Some(sums) = sums else {
        return Numbers::default();
    };
    let mut by_role: BTreeMap<Role, u64> = BTreeMap::new();
    for (_, role, query) in plan.iter().filter(|(s, ..)| s == subject) {
        let value = sums.get(&query.id).copied().unwrap_or(0.0).max(0.0).round() as u64;
        *by_role.entry(*role).or_insert(0) += value;
    }
    let get = |role| by_role.get(&role).copied();
    Numbers {
        invocations: get(Role::Invocations),
        failed: get(Role::Failed),
        target_errors: get(Role::TargetErrors),
        throttled: get(Role::Throttled),
    }
}

/// The period of the datapoints asked for: the window in at most 100 of them (so 500
/// queries fit GetMetricData's 100,800 datapoints a call), a multiple of 60 s — of 3600 s
/// past 3 hours, as CloudWatch keeps 1-minute data for 15 days, 5-minute for 63 and hourly
/// for 455 (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>).
pub fn period(window_seconds: i64) -> i32 {
    let step = if window_seconds <= 3 * 3600 { 60 } else { 3600 };
    let per_point = (window_seconds + 99) / 100;
    let periods = ((per_point + step - 1) / step).max(1);
    i32::try_from(periods * step).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_on_the_default_bus_are_metered_by_rule_name_alone() {
        let plan = plan(&[
            Subject::Rule {
                bus: "default".into(),
                rule: "nightly".into(),
            },
            Subject::Rule {
                bus: "jobs".into(),
                rule: "nightly".into(),
            },
            Subject::Group("batch".into()),
        ]);
        assert_eq!(plan.len(), 3 + 3 + 4);
        let dims = |i: usize| plan[i].2.dimensions.clone();
        assert_eq!(dims(0), vec![("RuleName", "nightly".to_string())]);
        assert_eq!(
            dims(3),
            vec![
                ("EventBusName", "jobs".to_string()),
                ("RuleName", "nightly".to_string())
            ]
        );
        assert_eq!(plan[6].2.namespace, "AWS/Scheduler");
        assert_eq!(dims(6), vec![("ScheduleGroup", "batch".to_string())]);
        let ids: std::collections::BTreeSet<_> = plan.iter().map(|p| p.2.id.clone()).collect();
        assert_eq!(ids.len(), plan.len(), "ids are unique");
    }

    #[test]
    fn no_datapoint_is_zero_and_scheduler_failures_add_dropped_and_dead_lettered() {
        let group = Subject::Group("batch".into());
        let plan = plan(std::slice::from_ref(&group));
        let sums: BTreeMap<String, f64> = [
            (plan[0].2.id.clone(), 5.0),
            (plan[2].2.id.clone(), 1.0),
            (plan[3].2.id.clone(), 2.0),
        ]
        .into();
        let n = read(&plan, &group, Some(&sums));
        assert_eq!(n.invocations, Some(5));
        assert_eq!(n.target_errors, Some(0));
        assert_eq!(n.failed, Some(3));
        assert_eq!(read(&plan, &group, None), Numbers::default());
    }

    #[test]
    fn the_period_keeps_a_window_within_a_hundred_datapoints() {
        assert_eq!(period(3600), 60);
        assert_eq!(period(3 * 3600), 120);
        assert_eq!(period(24 * 3600), 3600);
        assert_eq!(period(30 * 86_400), 28_800);
    }
}
