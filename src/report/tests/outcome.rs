//! What `deploy` and `rollback` print when they are done, in every form, and the `--verbose`
//! summary of AWS calls.

use insta::assert_snapshot;

use super::*;
use crate::apply::{Outcome, Registered, Repointed};
use crate::aws::pace::{CallCount, CallStats, Group};
use crate::plan::PlanKind;

fn calls() -> CallStats {
    let count = |group, requests, throttled, retried| CallCount {
        group,
        requests,
        throttled,
        retried,
    };
    CallStats {
        operations: BTreeMap::from([
            ("DescribeImages", count(Group::Ecr, 1, 0, 0)),
            ("DescribeTaskDefinition", count(Group::EcsReads, 3, 0, 0)),
            ("ListRuleNamesByTarget", count(Group::Eventbridge, 2, 0, 0)),
            ("ListRules", count(Group::Eventbridge, 2, 0, 0)),
            ("ListTargetsByRule", count(Group::Eventbridge, 6, 0, 0)),
            ("PutTargets", count(Group::Eventbridge, 5, 2, 1)),
            (
                "RegisterTaskDefinition",
                count(Group::EcsTaskDefinitionWrites, 2, 0, 0),
            ),
            ("UpdateSchedule", count(Group::Scheduler, 2, 0, 0)),
        ]),
        longest_wait_after_throttle: 0.25,
    }
}

fn repointed(at: Trigger, from: (&str, i64), to: (&str, i64)) -> Repointed {
    Repointed {
        at,
        from: arn(from.0, from.1),
        to: arn(to.0, to.1),
    }
}

/// The first deploy's outcome: two families registered, four targets repointed.
fn deployed() -> Outcome {
    Outcome {
        kind: PlanKind::Deploy,
        release: "v1.4.2".into(),
        registered: vec![
            Registered {
                family: "export".into(),
                revision: 1,
                arn: arn("export", 1),
            },
            Registered {
                family: "web".into(),
                revision: 4,
                arn: arn("web", 4),
            },
        ],
        repointed: vec![
            repointed(hourly(), ("web", 3), ("web", 4)),
            repointed(cleanup(), ("report", 4), ("report", 5)),
            Repointed {
                at: backfill(),
                from: format!("{ACCOUNT}:task-definition/web"),
                to: arn("web", 4),
            },
            repointed(export_daily(), ("export", 2), ("export", 1)),
        ],
        aws_calls: calls(),
    }
}

fn rolled_back() -> Outcome {
    Outcome {
        kind: PlanKind::Rollback,
        release: "v1.4.1".into(),
        registered: Vec::new(),
        repointed: vec![
            repointed(hourly(), ("web", 4), ("web", 3)),
            repointed(backfill(), ("web", 4), ("web", 3)),
        ],
        aws_calls: CallStats::default(),
    }
}

#[test]
fn deploy_outcome_in_every_form() {
    let outcome = deployed();
    assert_snapshot!("deploy_human", super::outcome(&outcome, Format::Human));
    assert_snapshot!("deploy_json", super::outcome(&outcome, Format::Json));
    assert_snapshot!(
        "deploy_markdown",
        super::outcome(&outcome, Format::Markdown)
    );
}

#[test]
fn rollback_outcome_in_every_form() {
    let outcome = rolled_back();
    assert_snapshot!("rollback_human", super::outcome(&outcome, Format::Human));
    assert_snapshot!("rollback_json", super::outcome(&outcome, Format::Json));
    assert_snapshot!(
        "rollback_markdown",
        super::outcome(&outcome, Format::Markdown)
    );
}

/// Deploy and rollback that changed nothing, and a deploy that only repointed.
#[test]
fn outcomes_that_changed_little_say_so() {
    let mut nothing = deployed();
    nothing.registered.clear();
    nothing.repointed.clear();
    let mut repointed_only = deployed();
    repointed_only.registered.clear();
    repointed_only.repointed.truncate(1);
    let mut back_nothing = rolled_back();
    back_nothing.repointed.clear();
    assert_snapshot!(
        "little_changed",
        [nothing, repointed_only, back_nothing]
            .iter()
            .map(outcome_line)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut nothing = deployed();
    nothing.registered.clear();
    nothing.repointed.clear();
    assert_snapshot!(
        "nothing_changed_markdown",
        super::outcome(&nothing, Format::Markdown)
    );
}

#[test]
fn verbose_summary_of_aws_calls() {
    assert_snapshot!("calls_summary", super::calls::summary(&calls(), 3));
    // No throttle: no longest wait; no rule: no per-rule figure.
    let mut calm = calls();
    calm.operations
        .retain(|op, _| op.starts_with("Register") || op.starts_with("Describe"));
    assert_snapshot!("calls_summary_calm", super::calls::summary(&calm, 0));
}
