//! `status`, `history` and `prune` in every form.

use insta::assert_snapshot;

use super::*;
use crate::history::{Drift, HistoryEntry, HistoryReport, Live, Status, TargetStatus, Wanted};
use crate::live::{SkipKind, Skipped};
use crate::prune::{PruneEntry, PruneOutcome, PrunePlan, Reason};
use crate::report::releases::{history, prune, status};

const CLUSTER: &str = "batch";

fn row(
    at: Trigger,
    family: &str,
    revision: Option<i64>,
    state: &str,
    release: Option<&str>,
) -> TargetStatus {
    TargetStatus {
        at,
        family: family.into(),
        revision,
        floating: false,
        state: state.into(),
        release: release.map(str::to_string),
    }
}

fn legacy() -> Trigger {
    Trigger::rule_target("default", "legacy", "api")
}

/// Targets on three releases, and drift of every kind; the manifest is ahead.
fn drifted() -> Status {
    let mut floating = row(nightly(), "report", Some(5), "ACTIVE", Some("v1.4.1"));
    floating.floating = true;
    Status {
        live: Live::Mixed,
        targets: vec![
            row(hourly(), "web", Some(4), "ACTIVE", Some("v1.4.2")),
            floating,
            row(cleanup(), "report", Some(2), "INACTIVE", None),
            row(export_daily(), "export", None, "missing", None),
        ],
        untemplated: vec![Skipped {
            at: legacy(),
            kind: SkipKind::NoTemplate,
            reason: "family `api` has no template".into(),
        }],
        drift: vec![
            Drift::Mixed {
                releases: vec![
                    (None, vec![cleanup(), export_daily()]),
                    (Some("v1.4.1".into()), vec![nightly()]),
                    (Some("v1.4.2".into()), vec![hourly()]),
                ],
            },
            Drift::Floating {
                at: nightly(),
                family: "report".into(),
            },
            Drift::Inactive {
                at: cleanup(),
                task_definition: "report:2".into(),
                state: "INACTIVE".into(),
            },
            Drift::Missing {
                at: export_daily(),
                task_definition: "export:7".into(),
            },
            Drift::Untemplated {
                at: legacy(),
                reason: "family `api` has no template".into(),
            },
            Drift::K8sMismatch {
                source: "argocd app web-production".into(),
                live: "v1.4.2".into(),
                k8s: vec!["v1.4.3".into()],
            },
        ],
        manifest: Some(Wanted {
            tag: "v1.4.3".into(),
            digest: Some(DIGEST.into()),
            commit: Some(MANIFEST_COMMIT.into()),
            behind: true,
        }),
        k8s: Some(vec![
            crate::history::K8sSourceStatus {
                source: "argocd app web-production".into(),
                revision: Some(MANIFEST_COMMIT.into()),
                sync: Some("Synced".into()),
                health: Some("Healthy".into()),
                images: vec!["123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.4.3".into()],
                error: None,
            },
            crate::history::K8sSourceStatus {
                source: "argocd app api".into(),
                revision: None,
                sync: None,
                health: None,
                images: Vec::new(),
                error: Some("cannot connect to https://argocd.example.com/api/v1/applications/api: connection refused".into()),
            },
        ]),
    }
}

/// Every target on `v1.4.2`, as the manifest says.
fn clean() -> Status {
    Status {
        live: Live::Release("v1.4.2".into()),
        targets: vec![
            row(hourly(), "web", Some(4), "ACTIVE", Some("v1.4.2")),
            row(backfill(), "web", Some(4), "ACTIVE", Some("v1.4.2")),
        ],
        untemplated: Vec::new(),
        drift: Vec::new(),
        manifest: Some(Wanted {
            tag: "v1.4.2".into(),
            digest: None,
            commit: None,
            behind: false,
        }),
        k8s: None,
    }
}

#[test]
fn status_with_every_drift_in_every_form() {
    let s = drifted();
    assert_snapshot!(
        "status_drift_human",
        status(&s, CLUSTER, Format::Human, PLAIN)
    );
    assert_snapshot!(
        "status_drift_json",
        status(&s, CLUSTER, Format::Json, PLAIN)
    );
    assert_snapshot!(
        "status_drift_markdown",
        status(&s, CLUSTER, Format::Markdown, PLAIN)
    );
    assert_snapshot!(
        "status_drift_human_colour",
        visible(&status(&s, CLUSTER, Format::Human, COLOR))
    );
}

#[test]
fn status_without_drift_in_every_form() {
    let s = clean();
    assert_snapshot!(
        "status_clean_human",
        status(&s, CLUSTER, Format::Human, PLAIN)
    );
    assert_snapshot!(
        "status_clean_json",
        status(&s, CLUSTER, Format::Json, PLAIN)
    );
    assert_snapshot!(
        "status_clean_markdown",
        status(&s, CLUSTER, Format::Markdown, PLAIN)
    );
    let nothing = Status {
        live: Live::NoTargets,
        targets: Vec::new(),
        manifest: None,
        ..clean()
    };
    assert_snapshot!(
        "status_no_targets_human",
        status(&nothing, CLUSTER, Format::Human, PLAIN)
    );
    assert_snapshot!(
        "status_no_targets_json",
        status(&nothing, CLUSTER, Format::Json, PLAIN)
    );
}

fn history_report() -> HistoryReport {
    HistoryReport {
        families: vec!["export".into(), "report".into(), "web".into()],
        live: Live::Release("v1.4.2".into()),
        releases: releases()
            .into_iter()
            .map(|release| HistoryEntry {
                live: release.id == "v1.4.2",
                release,
            })
            .collect(),
    }
}

#[test]
fn history_in_every_form() {
    let h = history_report();
    assert_snapshot!("history_human", history(&h, Format::Human, PLAIN));
    assert_snapshot!("history_json", history(&h, Format::Json, PLAIN));
    assert_snapshot!("history_markdown", history(&h, Format::Markdown, PLAIN));
    assert_snapshot!(
        "history_human_colour",
        visible(&history(&h, Format::Human, COLOR))
    );
}

#[test]
fn history_without_releases() {
    let h = HistoryReport {
        families: vec!["web".into()],
        live: Live::Untracked,
        releases: Vec::new(),
    };
    assert_snapshot!("history_empty_human", history(&h, Format::Human, PLAIN));
    assert_snapshot!("history_empty_json", history(&h, Format::Json, PLAIN));
    assert_snapshot!(
        "history_empty_markdown",
        history(&h, Format::Markdown, PLAIN)
    );
}

fn entry(family: &str, revision: i64, reasons: Vec<Reason>) -> PruneEntry {
    PruneEntry {
        family: family.into(),
        revision,
        reasons,
    }
}

/// Keeping the last two releases: every reason to keep, three to deregister, one of which
/// failed.
fn pruned(dry_run: bool) -> PruneOutcome {
    let release = |r: &str| r.to_string();
    PruneOutcome {
        plan: PrunePlan {
            kept_releases: vec![release("v1.4.2"), release("v1.4.1")],
            keep: vec![
                entry(
                    "export",
                    1,
                    vec![
                        Reason::InReleases {
                            releases: vec![release("v1.4.2")],
                        },
                        Reason::Newest,
                    ],
                ),
                entry(
                    "report",
                    2,
                    vec![Reason::UsedBy {
                        users: vec![cleanup().label()],
                    }],
                ),
                entry(
                    "report",
                    6,
                    vec![
                        Reason::NewerThan {
                            release: release("v1.4.1"),
                        },
                        Reason::Newest,
                        Reason::FloatedTo {
                            users: vec![nightly().label(), backfill().label()],
                        },
                    ],
                ),
                entry(
                    "report",
                    5,
                    vec![Reason::InReleases {
                        releases: vec![release("v1.4.2"), release("v1.4.1")],
                    }],
                ),
                entry(
                    "scratch",
                    12,
                    vec![Reason::NewerThanEveryKeptRelease, Reason::Newest],
                ),
            ],
            deregister: vec![
                entry(
                    "report",
                    3,
                    vec![Reason::OlderAndUnused {
                        release: release("v1.4.1"),
                    }],
                ),
                entry(
                    "web",
                    1,
                    vec![Reason::OlderAndUnused {
                        release: release("v1.4.1"),
                    }],
                ),
                entry(
                    "web",
                    2,
                    vec![Reason::OlderAndUnused {
                        release: release("v1.4.1"),
                    }],
                ),
            ],
        },
        dry_run,
        failed: if dry_run {
            Vec::new()
        } else {
            vec![(
                "web:1".into(),
                "AccessDeniedException: not authorized to perform ecs:DeregisterTaskDefinition"
                    .into(),
            )]
        },
    }
}

#[test]
fn prune_in_every_form() {
    let p = pruned(false);
    assert_snapshot!("prune_human", prune(&p, Format::Human, PLAIN));
    assert_snapshot!("prune_json", prune(&p, Format::Json, PLAIN));
    assert_snapshot!("prune_markdown", prune(&p, Format::Markdown, PLAIN));
    assert_snapshot!(
        "prune_human_colour",
        visible(&prune(&p, Format::Human, COLOR))
    );
}

#[test]
fn prune_dry_run_in_every_form() {
    let p = pruned(true);
    assert_snapshot!("prune_dry_run_human", prune(&p, Format::Human, PLAIN));
    assert_snapshot!("prune_dry_run_json", prune(&p, Format::Json, PLAIN));
    assert_snapshot!("prune_dry_run_markdown", prune(&p, Format::Markdown, PLAIN));
}

/// No release yet: nothing is old enough to drop; one release kept: nothing to drop.
#[test]
fn prune_with_nothing_to_deregister() {
    let none = PruneOutcome {
        plan: PrunePlan {
            kept_releases: Vec::new(),
            keep: vec![entry("web", 1, vec![Reason::NoRelease, Reason::Newest])],
            deregister: Vec::new(),
        },
        dry_run: false,
        failed: Vec::new(),
    };
    assert_snapshot!("prune_no_release_human", prune(&none, Format::Human, PLAIN));
    assert_snapshot!(
        "prune_no_release_markdown",
        prune(&none, Format::Markdown, PLAIN)
    );
    let one = PruneOutcome {
        plan: PrunePlan {
            kept_releases: vec!["v1.4.2".into()],
            ..none.plan
        },
        ..none
    };
    assert_snapshot!("prune_one_release_human", prune(&one, Format::Human, PLAIN));
}
