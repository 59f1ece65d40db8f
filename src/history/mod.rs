//! Releases, derived from AWS alone: the tags jobdeploy puts on the revisions it registers
//! and when they were registered. A release's revision of a family is the newest revision
//! registered at or before the release, so a family that a release did not change keeps its
//! earlier revision. Revisions are read newest first, concurrently, and only as far back as
//! the question asked needs (see [`Reader::read_until`]).
//!
//! Everything but [`Reader`] is pure and unit-tested.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use aws_sdk_ecs::types::TaskDefinitionStatus;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::aws::Aws;
use crate::aws::ecs;
use crate::error::Result;
use crate::live::{LiveTarget, SkipKind, Skipped};
use crate::model::{EcsStatus, LiveTaskDef, RevisionInfo, Trigger, display_time};

/// The image tag of a release id: `v1.4.2+3` → `v1.4.2`. Image tags cannot hold `+`, so
/// the suffix is never part of the tag.
pub fn release_tag(id: &str) -> &str {
    match id.rsplit_once('+') {
        Some((tag, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => tag,
        _ => id,
    }
}

/// The number of a release of its tag: `v1.4.2` is 1, `v1.4.2+3` is 3.
fn release_number(id: &str) -> u64 {
    match id.rsplit_once('+') {
        Some((_, n)) => n.parse().unwrap_or(1),
        None => 1,
    }
}

/// The newest of the release ids of `tag` among `ids`: the one with the highest number.
pub fn newest_release_of<'a>(tag: &str, ids: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    ids.into_iter()
        .filter(|id| release_tag(id) == tag)
        .max_by_key(|id| release_number(id))
}

/// The id of a new release of `tag`, given the release ids already seen: the tag alone the
/// first time, then `tag+2`, `tag+3`, …
pub fn next_release_id<'a>(tag: &str, ids: impl IntoIterator<Item = &'a str>) -> String {
    match newest_release_of(tag, ids) {
        Some(id) => format!("{tag}+{}", release_number(id) + 1),
        None => tag.to_string(),
    }
}

/// What `rollback <rev>` names, found among the releases (newest first): an image tag (its
/// newest release), a release id (`v1.4.2+2`; `v1.4.2+1` is the first release of the tag,
/// `v1.4.2`), or the manifest commit a release was made from (a hex prefix of at least 7
/// characters; of several releases from one commit, the newest).
pub fn find_release<'a>(
    releases: &'a [ReleaseInfo],
    wanted: &str,
) -> Result<Option<&'a ReleaseInfo>> {
    if let Some(r) = releases.iter().find(|r| r.tag == wanted) {
        return Ok(Some(r));
    }
    let tag = release_tag(wanted);
    let numbered = |r: &&ReleaseInfo| {
        r.id == wanted
            || (tag != wanted && r.tag == tag && release_number(&r.id) == release_number(wanted))
    };
    if let Some(r) = releases.iter().find(numbered) {
        return Ok(Some(r));
    }
    if !is_commit_prefix(wanted) {
        return Ok(None);
    }
    let wanted_lower = wanted.to_ascii_lowercase();
    let matching: Vec<&ReleaseInfo> = releases
        .iter()
        .filter(|r| {
            r.manifest_commit
                .as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().starts_with(&wanted_lower))
        })
        .collect();
    let commits: BTreeSet<&str> = matching
        .iter()
        .filter_map(|r| r.manifest_commit.as_deref())
        .collect();
    if commits.len() > 1 {
        let list: Vec<String> = matching
            .iter()
            .map(|r| {
                format!(
                    "{} (release {})",
                    r.manifest_commit.as_deref().unwrap_or_default(),
                    r.id
                )
            })
            .collect();
        return Err(crate::error::Error::new(format!(
            "manifest commit prefix `{wanted}` is ambiguous: {}",
            list.join(", ")
        ))
        .hint("give more characters of the commit, or the release id"));
    }
    Ok(matching.first().copied())
}

/// A hex prefix of a git commit, long enough to name one: at least 7 characters.
pub fn is_commit_prefix(text: &str) -> bool {
    text.len() >= 7 && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What has been read of one family: its newest revisions, contiguous, newest first.
#[derive(Debug, Clone, Default)]
pub struct FamilyLog {
    pub revisions: Vec<RevisionInfo>,
    /// Every revision the family has was read.
    pub complete: bool,
}

impl FamilyLog {
    /// Times used for ordering, one per revision. A revision without a time (registered by
    /// hand on an emulator) is placed right after the next older revision that has one.
    fn times(&self) -> Vec<f64> {
        let mut times = vec![f64::NEG_INFINITY; self.revisions.len()];
        let mut last = f64::NEG_INFINITY;
        for (i, r) in self.revisions.iter().enumerate().rev() {
            if let Some(t) = r.registered_at {
                last = last.max(t);
            }
            times[i] = last;
        }
        times
    }

    /// Whether every revision registered after `time` has been read.
    pub fn reached_time(&self, time: f64) -> bool {
        self.complete || self.times().last().is_some_and(|t| *t <= time)
    }

    /// Whether revision `revision` (and everything newer) has been read.
    pub fn reached_revision(&self, revision: i64) -> bool {
        self.complete
            || self
                .revisions
                .last()
                .is_some_and(|r| r.revision <= revision)
    }

    pub fn get(&self, revision: i64) -> Option<&RevisionInfo> {
        self.revisions.iter().find(|r| r.revision == revision)
    }

    /// The newest ACTIVE revision: where a family-only target floats to.
    pub fn newest_active(&self) -> Option<&RevisionInfo> {
        self.revisions.iter().find(|r| r.is_active())
    }

    /// The family's revision in release `id` made at `time`: the revision carrying the id
    /// (the newest, if several do), else the newest registered at or before `time`. The
    /// first rule decides for [`crate::model::ADOPTED`], whose revisions were registered by hand, in any
    /// order.
    pub fn of_release(&self, id: &str, time: f64) -> Slot {
        match self
            .revisions
            .iter()
            .find(|r| r.release.as_deref() == Some(id))
        {
            Some(r) => Slot::Revision {
                revision: r.revision,
                arn: r.arn.clone(),
                status: r.status.clone(),
            },
            None => self.at(time),
        }
    }

    /// The family's revision at `time`: the newest registered at or before it.
    pub fn at(&self, time: f64) -> Slot {
        let times = self.times();
        match self.revisions.iter().zip(times).find(|(_, t)| *t <= time) {
            Some((r, _)) => Slot::Revision {
                revision: r.revision,
                arn: r.arn.clone(),
                status: r.status.clone(),
            },
            None if self.complete => Slot::Absent,
            None => Slot::Unknown,
        }
    }
}

/// A family's revision in a release.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Slot {
    Revision {
        revision: i64,
        arn: String,
        status: EcsStatus,
    },
    /// The family had no revision yet.
    Absent,
    /// Not read that far back (never the case for what a command reports).
    Unknown,
}

impl Slot {
    pub fn revision(&self) -> Option<i64> {
        match self {
            Slot::Revision { revision, .. } => Some(*revision),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseInfo {
    /// `v1.4.2`, or `v1.4.2+N` for the N-th release of one tag; or [`crate::model::ADOPTED`].
    pub id: String,
    /// The image tag it deployed.
    pub tag: String,
    /// The image digest it deployed, when known (pinned by the manifest, or as ECR had it).
    pub digest: Option<String>,
    /// Seconds since the epoch: when its last revision was registered.
    #[serde(skip)]
    pub time: f64,
    /// `time` in RFC 3339, or `None` when no revision of it has a time.
    #[serde(rename = "time")]
    pub time_text: Option<String>,
    pub manifest_commit: Option<String>,
    pub source_commit: Option<String>,
    /// The families this release registered a revision of.
    pub registered: BTreeSet<String>,
    /// Every templated family's revision in this release.
    pub revisions: BTreeMap<String, Slot>,
}

impl ReleaseInfo {
    /// The families whose revision in this release cannot be used: missing or INACTIVE.
    pub fn unusable(&self, families: &BTreeSet<String>) -> Vec<String> {
        families
            .iter()
            .filter_map(|f| match self.revisions.get(f) {
                Some(Slot::Revision { status, .. }) if status.is_active() => None,
                Some(Slot::Revision { revision, .. }) => {
                    Some(format!("{f}:{revision} is INACTIVE (deregistered)"))
                }
                _ => Some(format!("{f} had no revision yet")),
            })
            .collect()
    }
}

/// What jobdeploy knows of past releases: what has been read of each templated family.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub families: BTreeMap<String, FamilyLog>,
}

/// Which release the targets of ours are on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "release", rename_all = "snake_case")]
pub enum Live {
    Release(String),
    /// Targets disagree: no one release has every target's revision.
    Mixed,
    /// Targets agree but on revisions no jobdeploy release registered.
    Untracked,
    NoTargets,
}

impl Live {
    pub fn release(&self) -> Option<&str> {
        match self {
            Live::Release(id) => Some(id),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Live::Release(id) => format!("release {id}"),
            Live::Mixed => "mixed: targets are on revisions of different releases".into(),
            Live::Untracked => {
                "no jobdeploy release (targets on revisions it did not register)".into()
            }
            Live::NoTargets => "nothing: no target of ours".into(),
        }
    }
}

impl History {
    /// Every release seen, newest first.
    pub fn releases(&self) -> Vec<ReleaseInfo> {
        struct Seen<'a> {
            time: f64,
            newest: &'a RevisionInfo,
            registered: BTreeSet<String>,
        }
        let mut seen: BTreeMap<&str, Seen<'_>> = BTreeMap::new();
        for (family, log) in &self.families {
            for (r, time) in log.revisions.iter().zip(log.times()) {
                let Some(id) = r.release.as_deref() else {
                    continue;
                };
                let entry = seen.entry(id).or_insert_with(|| Seen {
                    time,
                    newest: r,
                    registered: BTreeSet::new(),
                });
                if time > entry.time {
                    entry.time = time;
                    entry.newest = r;
                }
                entry.registered.insert(family.clone());
            }
        }
        let mut releases: Vec<ReleaseInfo> = seen
            .into_iter()
            .map(|(id, s)| ReleaseInfo {
                id: id.to_string(),
                time: s.time,
                time_text: s.time.is_finite().then(|| display_time(s.time)),
                tag: release_tag(id).to_string(),
                digest: s.newest.image_digest.clone(),
                manifest_commit: s.newest.manifest_commit.clone(),
                source_commit: s.newest.source_commit.clone(),
                registered: s.registered,
                revisions: self
                    .families
                    .iter()
                    .map(|(f, log)| (f.clone(), log.of_release(id, s.time)))
                    .collect(),
            })
            .collect();
        releases.sort_by(|a, b| b.time.total_cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
        releases
    }

    /// Whether every family has been read back to `time`.
    pub fn reached(&self, time: f64) -> bool {
        self.families.values().all(|log| log.reached_time(time))
    }

    /// The revision a target runs: its own, or for a family-only ARN the newest ACTIVE one.
    pub fn resolve(&self, target: &LiveTarget) -> Option<&RevisionInfo> {
        let log = self.families.get(&target.task_definition.family)?;
        match target.task_definition.revision {
            Some(n) => log.get(n),
            None => log.newest_active(),
        }
    }

    /// How far back status and live detection need to read: every family back to the
    /// oldest revision a target is on. `None` until those revisions have been read.
    pub fn targets_horizon(&self, targets: &[LiveTarget]) -> Option<f64> {
        let mut horizon = f64::INFINITY;
        for t in targets {
            let log = self.families.get(&t.task_definition.family)?;
            match t.task_definition.revision {
                Some(n) if !log.reached_revision(n) => return None,
                None if log.newest_active().is_none() && !log.complete => return None,
                _ => {}
            }
            if let Some(r) = self.resolve(t) {
                let times = log.times();
                if let Some(pos) = log.revisions.iter().position(|x| x == r) {
                    horizon = horizon.min(times[pos]);
                }
            }
        }
        Some(horizon)
    }

    /// Which release the targets are on. Needs [`Self::targets_horizon`] reached.
    pub fn live(&self, releases: &[ReleaseInfo], targets: &[LiveTarget]) -> Live {
        if targets.is_empty() {
            return Live::NoTargets;
        }
        let on = |release: &ReleaseInfo, t: &LiveTarget| {
            let revision = self.resolve(t).map(|r| r.revision);
            revision.is_some()
                && release
                    .revisions
                    .get(&t.task_definition.family)
                    .and_then(Slot::revision)
                    == revision
        };
        if let Some(r) = releases.iter().find(|r| targets.iter().all(|t| on(r, t))) {
            return Live::Release(r.id.clone());
        }
        if targets.iter().any(|t| releases.iter().any(|r| on(r, t))) {
            Live::Mixed
        } else {
            Live::Untracked
        }
    }

    /// The releases a target's revision belongs to, newest first.
    pub fn releases_of<'a>(
        &self,
        releases: &'a [ReleaseInfo],
        target: &LiveTarget,
    ) -> Vec<&'a str> {
        let Some(revision) = self.resolve(target).map(|r| r.revision) else {
            return Vec::new();
        };
        releases
            .iter()
            .filter(|r| {
                r.revisions
                    .get(&target.task_definition.family)
                    .and_then(Slot::revision)
                    == Some(revision)
            })
            .map(|r| r.id.as_str())
            .collect()
    }
}

mod reader;
mod status;
#[cfg(test)]
mod tests;

pub use reader::{Reader, Want};
pub use status::{
    Drift, HistoryEntry, HistoryReport, K8sSourceStatus, NO_RELEASE, Status, TargetStatus, Wanted,
};
