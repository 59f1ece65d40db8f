//! What a run asked of AWS: requests per operation, throttles and retries. Shown with
//! `--verbose`, and in the JSON outcome of deploy and rollback.

use std::fmt::Write as _;

use crate::aws::pace::{CallStats, Group};

/// Lines for `--verbose`: the totals, EventBridge requests per rule, then per operation.
pub fn summary(stats: &CallStats, rules: usize) -> String {
    let (requests, throttled, retried) = stats.total();
    let mut out = format!(
        "AWS: {requests} requests, {throttled} throttled, {retried} retried after a transient failure"
    );
    if throttled > 0 {
        let _ = write!(
            out,
            " (longest wait for a token after a throttle: {:.2} s)",
            stats.longest_wait_after_throttle
        );
    }
    // Answered requests: throttled ones are counted above, and per operation below.
    let eventbridge = stats.answered_in(Group::Eventbridge);
    let pages = stats
        .operations
        .get("ListRuleNamesByTarget")
        .map_or(0, |c| c.requests);
    if rules > 0 {
        let per_rule = eventbridge.saturating_sub(pages) as f64 / rules as f64;
        let _ = write!(
            out,
            "\nEventBridge: {eventbridge} answered requests for {rules} rules: {per_rule:.2} per rule, plus {pages} pages of rule names"
        );
    }
    for (operation, count) in &stats.operations {
        let _ = write!(out, "\n  {operation}: {}", count.requests);
        if count.throttled > 0 {
            let _ = write!(out, " ({} throttled)", count.throttled);
        }
        if count.retried > 0 {
            let _ = write!(out, " ({} retried)", count.retried);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::pace::CallCount;

    #[test]
    fn per_rule_figure_leaves_out_the_pages_of_rule_names() {
        let mut stats = CallStats::default();
        let count = |group, requests, throttled| CallCount {
            group,
            requests,
            throttled,
            retried: 0,
        };
        stats
            .operations
            .insert("ListRuleNamesByTarget", count(Group::Eventbridge, 2, 0));
        stats
            .operations
            .insert("ListTargetsByRule", count(Group::Eventbridge, 400, 0));
        stats
            .operations
            .insert("PutTargets", count(Group::Eventbridge, 202, 2));
        stats.operations.insert(
            "RegisterTaskDefinition",
            count(Group::EcsTaskDefinitionWrites, 3, 0),
        );
        let text = summary(&stats, 200);
        assert!(text.starts_with("AWS: 607 requests, 2 throttled"), "{text}");
        assert!(
            text.contains(
                "EventBridge: 602 answered requests for 200 rules: 3.00 per rule, plus 2 pages"
            ),
            "{text}"
        );
        assert!(text.contains("  PutTargets: 202 (2 throttled)"), "{text}");
    }
}
