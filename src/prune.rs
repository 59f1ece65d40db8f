//! Which old revisions `prune` deregisters, and why every other one is kept. Pure: the
//! command reads history and what the account's rules and schedules use, then asks here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::{History, ReleaseInfo, Slot};

/// Who points at a task definition: `bus/rule target id` or `schedule group/name`.
pub type Users = BTreeMap<(String, Option<i64>), Vec<String>>;

/// What prune did: the plan, and per revision to deregister whether it was.
#[derive(Debug, Clone, Serialize)]
pub struct PruneOutcome {
    #[serde(flatten)]
    pub plan: PrunePlan,
    pub dry_run: bool,
    /// `family:revision` → the error, for each deregistration that failed.
    pub failed: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrunePlan {
    /// The releases whose revisions are kept, newest first.
    pub kept_releases: Vec<String>,
    pub keep: Vec<PruneEntry>,
    pub deregister: Vec<PruneEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneEntry {
    pub family: String,
    pub revision: i64,
    pub reasons: Vec<Reason>,
}

/// Why a revision is kept, or deregistered. Serialized with a stable code
/// (`"reason": "used_by"`); report/ words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// It is the family's revision in these kept releases.
    InReleases { releases: Vec<String> },
    /// These rule targets and schedules run it.
    UsedBy { users: Vec<String> },
    /// The family's newest ACTIVE revision.
    Newest,
    /// These family-only (floating) targets run it, being the newest.
    FloatedTo { users: Vec<String> },
    /// No jobdeploy release exists to tell old from new.
    NoRelease,
    /// The kept releases have no revision of this family, so all of it is newer.
    NewerThanEveryKeptRelease,
    /// Registered after the oldest kept release.
    NewerThan { release: String },
    /// Deregistered: older than the oldest kept release and run by nothing.
    OlderAndUnused { release: String },
}

impl PruneEntry {
    pub fn label(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }
}

/// `history` must reach back to the `keep`-th newest release; `older` holds, per family, the
/// ACTIVE revision numbers older than what `history` read; `users` every rule target and
/// schedule in the account that runs one of our families (a revision of `None`: floating).
pub fn plan(
    history: &History,
    keep: usize,
    older: &BTreeMap<String, Vec<i64>>,
    users: &Users,
) -> PrunePlan {
    let releases = history.releases();
    let kept: Vec<&ReleaseInfo> = releases.iter().take(keep).collect();
    let mut plan = PrunePlan {
        kept_releases: kept.iter().map(|r| r.id.clone()).collect(),
        keep: Vec::new(),
        deregister: Vec::new(),
    };
    for (family, log) in &history.families {
        let in_releases = |revision: i64| -> Vec<&str> {
            kept.iter()
                .filter(|r| r.revisions.get(family).and_then(Slot::revision) == Some(revision))
                .map(|r| r.id.as_str())
                .collect()
        };
        // Everything at or above the oldest kept release's revision is that release's or newer.
        let floor = kept
            .iter()
            .filter_map(|r| r.revisions.get(family).and_then(Slot::revision))
            .min();
        let newest_active = log.newest_active().map(|r| r.revision);
        let active: BTreeSet<i64> = log
            .revisions
            .iter()
            .filter(|r| r.is_active())
            .map(|r| r.revision)
            .chain(older.get(family).into_iter().flatten().copied())
            .collect();
        for &revision in active.iter().rev() {
            let mut reasons = Vec::new();
            let releases_of = in_releases(revision);
            if !releases_of.is_empty() {
                reasons.push(Reason::InReleases {
                    releases: releases_of.iter().map(|r| r.to_string()).collect(),
                });
            }
            if let Some(users) = users.get(&(family.clone(), Some(revision))) {
                reasons.push(Reason::UsedBy {
                    users: users.clone(),
                });
            }
            if newest_active == Some(revision) {
                reasons.push(Reason::Newest);
                if let Some(users) = users.get(&(family.clone(), None)) {
                    reasons.push(Reason::FloatedTo {
                        users: users.clone(),
                    });
                }
            }
            match floor {
                None if kept.is_empty() => {
                    reasons.push(Reason::NoRelease);
                }
                None => reasons.push(Reason::NewerThanEveryKeptRelease),
                Some(floor) if revision > floor && releases_of.is_empty() => {
                    let oldest = kept.last().map_or("", |r| r.id.as_str());
                    reasons.push(Reason::NewerThan {
                        release: oldest.to_string(),
                    });
                }
                _ => {}
            }
            let entry = PruneEntry {
                family: family.clone(),
                revision,
                reasons,
            };
            if entry.reasons.is_empty() {
                let oldest = kept.last().map_or("", |r| r.id.as_str());
                plan.deregister.push(PruneEntry {
                    reasons: vec![Reason::OlderAndUnused {
                        release: oldest.to_string(),
                    }],
                    ..entry
                });
            } else {
                plan.keep.push(entry);
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::FamilyLog;
    use crate::model::RevisionInfo;

    fn rev(revision: i64, time: f64, release: Option<&str>, status: &str) -> RevisionInfo {
        RevisionInfo {
            family: "web".into(),
            revision,
            arn: format!("arn:aws:ecs:us-east-1:1:task-definition/web:{revision}"),
            status: status.into(),
            registered_at: Some(time),
            release: release.map(str::to_string),
            manifest_commit: None,
            source_commit: None,
            image_digest: None,
        }
    }

    /// web:6 by hand after v5; v5..v3 on 5..3; web:2 INACTIVE already; web:1 by hand.
    fn history() -> History {
        History {
            families: [(
                "web".to_string(),
                FamilyLog {
                    revisions: vec![
                        rev(6, 60.0, None, "ACTIVE"),
                        rev(5, 50.0, Some("v5"), "ACTIVE"),
                        rev(4, 40.0, Some("v4"), "ACTIVE"),
                        rev(3, 30.0, Some("v3"), "ACTIVE"),
                    ],
                    complete: false,
                },
            )]
            .into(),
        }
    }

    fn labels(entries: &[PruneEntry]) -> Vec<String> {
        entries.iter().map(PruneEntry::label).collect()
    }

    #[test]
    fn keeps_the_last_releases_the_newest_and_what_is_in_use() {
        let older = BTreeMap::from([("web".to_string(), vec![1])]);
        let users: Users = BTreeMap::from([(
            ("web".to_string(), Some(1)),
            vec!["default/legacy target t".to_string()],
        )]);
        let plan = plan(&history(), 2, &older, &users);
        assert_eq!(plan.kept_releases, ["v5", "v4"]);
        assert_eq!(labels(&plan.deregister), ["web:3"]);
        assert_eq!(labels(&plan.keep), ["web:6", "web:5", "web:4", "web:1"]);
        assert_eq!(
            plan.keep[0].reasons,
            [
                Reason::Newest,
                Reason::NewerThan {
                    release: "v4".into()
                }
            ]
        );
        assert_eq!(
            plan.keep[3].reasons,
            [Reason::UsedBy {
                users: vec!["default/legacy target t".into()]
            }]
        );
        assert_eq!(
            plan.deregister[0].reasons,
            [Reason::OlderAndUnused {
                release: "v4".into()
            }]
        );
    }

    #[test]
    fn nothing_goes_without_a_release() {
        let h = History {
            families: [(
                "web".to_string(),
                FamilyLog {
                    revisions: vec![rev(2, 2.0, None, "ACTIVE"), rev(1, 1.0, None, "ACTIVE")],
                    complete: true,
                },
            )]
            .into(),
        };
        let plan = plan(&h, 3, &BTreeMap::new(), &BTreeMap::new());
        assert!(plan.deregister.is_empty());
        assert_eq!(plan.keep.len(), 2);
    }

    #[test]
    fn keeping_more_releases_than_exist_keeps_them_all() {
        let older = BTreeMap::from([("web".to_string(), vec![1])]);
        let plan = plan(&history(), 10, &older, &BTreeMap::new());
        assert_eq!(labels(&plan.deregister), ["web:1"]);
        assert_eq!(plan.kept_releases, ["v5", "v4", "v3"]);
    }
}
