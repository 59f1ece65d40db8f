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
    // Pages of rule names (and of rule states) come per 100 rules on a bus, not per rule.
    let pages: u64 = ["ListRuleNamesByTarget", "ListRules"]
        .iter()
        .filter_map(|op| stats.operations.get(*op))
        .map(|c| c.requests)
        .sum();
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
        // The rules' states are read a page per 100 rules too: not a call per rule.
        stats
            .operations
            .insert("ListRules", count(Group::Eventbridge, 2, 0));
        let text = summary(&stats, 200);
        assert!(
            text.contains("for 200 rules: 3.00 per rule, plus 4 pages"),
            "{text}"
        );
    }
}
