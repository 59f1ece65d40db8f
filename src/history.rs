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

use crate::apply::{
    TAG_IMAGE_DIGEST, TAG_MANIFEST_COMMIT, TAG_REGISTERED_AT, TAG_RELEASE, TAG_SOURCE_COMMIT,
};
use crate::aws::Aws;
use crate::aws::ecs::{self, LiveTaskDef};
use crate::error::Result;
use crate::live::{LiveTarget, SkipKind, Skipped, Trigger};

/// One revision of a family, as far as releases are concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionInfo {
    pub family: String,
    pub revision: i64,
    pub arn: String,
    pub status: String,
    /// Seconds since the epoch: ECS's `registeredAt`, else the `jobdeploy:registered-at`
    /// tag (emulators do not report `registeredAt`).
    pub registered_at: Option<f64>,
    /// The release that registered it, from the `jobdeploy:release` tag.
    pub release: Option<String>,
    pub manifest_commit: Option<String>,
    pub source_commit: Option<String>,
    /// The image digest deployed, from the `jobdeploy:image-digest` tag.
    pub image_digest: Option<String>,
}

impl RevisionInfo {
    pub fn from_live(td: &LiveTaskDef) -> Self {
        let tags = td.tags();
        let registered_at = td
            .registered_at
            .or_else(|| tags.get(TAG_REGISTERED_AT).and_then(|t| parse_time(t)));
        Self {
            family: td.family.clone(),
            revision: td.revision,
            arn: td.arn.clone(),
            status: td.status.clone(),
            registered_at,
            release: tags.get(TAG_RELEASE).cloned(),
            manifest_commit: tags.get(TAG_MANIFEST_COMMIT).cloned(),
            source_commit: tags.get(TAG_SOURCE_COMMIT).cloned(),
            image_digest: tags.get(TAG_IMAGE_DIGEST).cloned(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }

    pub fn label(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }
}

/// RFC 3339, as the `jobdeploy:registered-at` tag and the reports write times.
pub fn format_time(seconds: f64) -> String {
    aws_smithy_types::DateTime::from_secs_f64(seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| seconds.to_string())
}

/// RFC 3339 to the second, for people.
pub fn display_time(seconds: f64) -> String {
    format_time(seconds.floor())
}

pub fn parse_time(text: &str) -> Option<f64> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|t| t.as_secs_f64())
}

/// The release jobdeploy records at the first deploy for what the targets ran before it:
/// the revisions they were on, tagged with this id, so that the first deploy can be rolled
/// back like any other.
pub const ADOPTED: &str = "adopted";

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
    /// first rule decides for [`ADOPTED`], whose revisions were registered by hand, in any
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
        status: String,
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
    /// `v1.4.2`, or `v1.4.2+N` for the N-th release of one tag; or [`ADOPTED`].
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
                Some(Slot::Revision { status, .. }) if status == "ACTIVE" => None,
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

/// What `history` reports: the newest releases and which one is live.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub families: Vec<String>,
    pub live: Live,
    pub releases: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub release: ReleaseInfo,
    pub live: bool,
}

impl HistoryReport {
    pub fn compute(history: &History, targets: &[LiveTarget], limit: usize) -> Self {
        let releases = history.releases();
        let live = history.live(&releases, targets);
        let entries = releases
            .into_iter()
            .take(limit)
            .map(|release| HistoryEntry {
                live: live.release() == Some(release.id.as_str()),
                release,
            })
            .collect();
        Self {
            families: history.families.keys().cloned().collect(),
            live,
            releases: entries,
        }
    }
}

/// What `status` reports: every target of ours, its revision and release, and drift.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub live: Live,
    pub targets: Vec<TargetStatus>,
    /// ECS targets on our cluster running a family with no template: never deployed.
    pub untemplated: Vec<Skipped>,
    pub drift: Vec<Drift>,
    /// What the manifest (or `--tag`) says should be live, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Wanted>,
}

/// The release the manifest repo says is live, against the one that is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wanted {
    pub tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The targets are not on a release of this tag (and digest, when both are known).
    pub behind: bool,
}

impl Wanted {
    /// Compares the live release with the manifest's tag: behind unless the live release
    /// is of that tag (and, when both digests are known, of that digest).
    pub fn compare(
        tag: &str,
        digest: Option<&str>,
        commit: Option<&str>,
        live: &Live,
        releases: &[ReleaseInfo],
    ) -> Self {
        let behind = match live {
            Live::Release(id) => match releases.iter().find(|r| &r.id == id) {
                Some(r) => {
                    r.tag != tag
                        || matches!((digest, r.digest.as_deref()), (Some(a), Some(b)) if a != b)
                }
                None => release_tag(id) != tag,
            },
            Live::NoTargets => false,
            Live::Mixed | Live::Untracked => true,
        };
        Self {
            tag: tag.to_string(),
            digest: digest.map(str::to_string),
            commit: commit.map(str::to_string),
            behind,
        }
    }

    /// `live v1.4.1, manifest says v1.4.2: behind — run jobdeploy deploy`.
    pub fn describe(&self, live: &Live) -> String {
        let live_text = match live {
            Live::Release(id) => format!("live {id}"),
            Live::Mixed => "live mixed".to_string(),
            Live::Untracked => "live untracked".to_string(),
            Live::NoTargets => "nothing live".to_string(),
        };
        let verdict = if self.behind {
            "behind — run jobdeploy deploy"
        } else {
            "up to date"
        };
        format!("{live_text}, manifest says {}: {verdict}", self.tag)
    }
}

/// How the human forms name the targets on a revision of no release.
pub const NO_RELEASE: &str = "no release";

/// Why `status` says the account is not as jobdeploy left it. Serialized with a stable code
/// (`"drift": "floating"`); report/ words it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum Drift {
    /// Targets are on revisions of different releases: each release (`None`: a revision of no
    /// release) with the triggers on it.
    Mixed {
        releases: Vec<(Option<String>, Vec<Trigger>)>,
    },
    /// A target names the family only, so it runs whatever was registered last.
    Floating { at: Trigger, family: String },
    /// A target points at a revision ECS does not have.
    Missing {
        at: Trigger,
        task_definition: String,
    },
    /// A target points at a revision that is not ACTIVE.
    Inactive {
        at: Trigger,
        task_definition: String,
        state: String,
    },
    /// An ECS target on our cluster runs a family with no template: never deployed.
    Untemplated { at: Trigger, reason: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    #[serde(flatten)]
    pub at: Trigger,
    pub family: String,
    /// The revision it runs; for a floating target, the one it floats to.
    pub revision: Option<i64>,
    pub floating: bool,
    /// ACTIVE, INACTIVE, or `missing` when ECS has no such revision.
    pub state: String,
    /// The newest release this revision belongs to.
    pub release: Option<String>,
}

impl Status {
    pub fn compute(history: &History, targets: &[LiveTarget], skipped: &[Skipped]) -> Self {
        let releases = history.releases();
        let live = history.live(&releases, targets);
        let mut drift = Vec::new();
        let rows: Vec<TargetStatus> = targets
            .iter()
            .map(|t| {
                let resolved = history.resolve(t);
                let release = history
                    .releases_of(&releases, t)
                    .first()
                    .map(|s| (*s).to_string());
                let floating = t.task_definition.revision.is_none();
                let state = resolved.map_or("missing".to_string(), |r| r.status.clone());
                if floating {
                    drift.push(Drift::Floating {
                        at: t.at.clone(),
                        family: t.task_definition.family.clone(),
                    });
                }
                match resolved {
                    None => drift.push(Drift::Missing {
                        at: t.at.clone(),
                        task_definition: t.task_definition.label(),
                    }),
                    Some(r) if !r.is_active() => drift.push(Drift::Inactive {
                        at: t.at.clone(),
                        task_definition: r.label(),
                        state: r.status.clone(),
                    }),
                    Some(_) => {}
                }
                TargetStatus {
                    at: t.at.clone(),
                    family: t.task_definition.family.clone(),
                    revision: resolved.map(|r| r.revision),
                    floating,
                    state,
                    release,
                }
            })
            .collect();
        if live == Live::Mixed {
            let mut on: BTreeMap<Option<String>, Vec<Trigger>> = BTreeMap::new();
            for row in &rows {
                on.entry(row.release.clone())
                    .or_default()
                    .push(row.at.clone());
            }
            // In the order they are worded in: by release id, "no release" among them.
            let mut releases: Vec<(Option<String>, Vec<Trigger>)> = on.into_iter().collect();
            releases.sort_by_key(|(r, _)| r.clone().unwrap_or_else(|| NO_RELEASE.to_string()));
            drift.insert(0, Drift::Mixed { releases });
        }
        let untemplated: Vec<Skipped> = skipped
            .iter()
            .filter(|s| s.kind == SkipKind::NoTemplate)
            .cloned()
            .collect();
        for s in &untemplated {
            drift.push(Drift::Untemplated {
                at: s.at.clone(),
                reason: s.reason.clone(),
            });
        }
        Self {
            live,
            targets: rows,
            untemplated,
            drift,
            manifest: None,
        }
    }
}

/// What a command needs read before it can answer.
pub struct Want {
    /// Read every family back to this time; `None`: keep reading (the answer is not in
    /// sight yet); infinity: nothing more.
    pub horizon: Option<f64>,
}

/// Reads revisions newest first, a batch per family per round, until the question is
/// answered. Listing (ACTIVE and INACTIVE, merged by revision number) is paginated lazily too.
pub struct Reader<'a> {
    aws: &'a Aws,
    cursors: BTreeMap<String, Cursor>,
    pub history: History,
}

const BATCH: usize = 8;

impl<'a> Reader<'a> {
    pub fn new(aws: &'a Aws, families: &[String]) -> Self {
        Self {
            aws,
            cursors: families
                .iter()
                .map(|f| (f.clone(), Cursor::new(f)))
                .collect(),
            history: History {
                families: families
                    .iter()
                    .map(|f| (f.clone(), FamilyLog::default()))
                    .collect(),
            },
        }
    }

    /// Reads rounds until `want` says the history read so far is enough.
    pub async fn read_until(&mut self, want: impl Fn(&History) -> Want) -> Result<()> {
        loop {
            let horizon = want(&self.history).horizon;
            let behind: BTreeSet<String> = self
                .history
                .families
                .iter()
                .filter(|(_, log)| !log.complete && horizon.is_none_or(|t| !log.reached_time(t)))
                .map(|(f, _)| f.clone())
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            self.read_round(&behind).await?;
        }
    }

    /// Reads one round of every family: the part of the history any question needs, so a
    /// command can read it beside the live targets instead of after them.
    pub async fn read_first_round(&mut self) -> Result<()> {
        let families: BTreeSet<String> = self
            .history
            .families
            .iter()
            .filter(|(_, log)| !log.complete && log.revisions.is_empty())
            .map(|(f, _)| f.clone())
            .collect();
        if families.is_empty() {
            return Ok(());
        }
        self.read_round(&families).await
    }

    async fn read_round(&mut self, families: &BTreeSet<String>) -> Result<()> {
        let ecs = &self.aws.ecs;
        let batches: Vec<(String, Vec<i64>)> = stream::iter(
            self.cursors
                .iter_mut()
                .filter(|(f, _)| families.contains(*f)),
        )
        .map(|(family, cursor)| async move {
            let batch = cursor.next(ecs, BATCH).await?;
            Ok::<_, crate::error::Error>((family.clone(), batch))
        })
        .buffer_unordered(self.aws.concurrency)
        .try_collect()
        .await?;
        let wanted: Vec<(String, i64)> = batches
            .iter()
            .flat_map(|(f, revs)| revs.iter().map(move |r| (f.clone(), *r)))
            .collect();
        let described: Vec<(String, Option<LiveTaskDef>)> = stream::iter(wanted)
            .map(|(family, revision)| async move {
                let td = ecs::describe(ecs, &format!("{family}:{revision}")).await?;
                Ok::<_, crate::error::Error>((family, td))
            })
            .buffered(self.aws.concurrency)
            .try_collect()
            .await?;
        for (family, batch) in &batches {
            if let Some(log) = self.history.families.get_mut(family)
                && batch.is_empty()
            {
                log.complete = true;
            }
        }
        // Described in order: newest first within each family.
        for (family, td) in described {
            if let (Some(log), Some(td)) = (self.history.families.get_mut(&family), td) {
                log.revisions.push(RevisionInfo::from_live(&td));
            }
        }
        Ok(())
    }

    /// Per family, every ACTIVE revision number older than those read (for prune, which
    /// needs to know what exists, not what each one is). Listed, not described.
    pub async fn older_active(&mut self) -> Result<BTreeMap<String, Vec<i64>>> {
        let ecs = &self.aws.ecs;
        stream::iter(self.cursors.iter_mut())
            .map(|(family, cursor)| async move {
                let mut older = Vec::new();
                loop {
                    cursor.active.fill(ecs, family).await?;
                    match cursor.active.buffer.pop_front() {
                        Some(n) => older.push(n),
                        None => return Ok::<_, crate::error::Error>((family.clone(), older)),
                    }
                }
            })
            .buffer_unordered(self.aws.concurrency)
            .try_collect()
            .await
    }
}

/// A family's revision numbers, newest first, from the ACTIVE and INACTIVE listings.
struct Cursor {
    family: String,
    active: Listing,
    inactive: Listing,
}

struct Listing {
    status: TaskDefinitionStatus,
    buffer: VecDeque<i64>,
    token: Option<String>,
    done: bool,
}

impl Listing {
    fn new(status: TaskDefinitionStatus) -> Self {
        Self {
            status,
            buffer: VecDeque::new(),
            token: None,
            done: false,
        }
    }

    async fn fill(
        &mut self,
        ecs: &crate::aws::pace::Paced<aws_sdk_ecs::Client>,
        family: &str,
    ) -> Result<()> {
        while self.buffer.is_empty() && !self.done {
            let (revisions, next) =
                ecs::list_revisions(ecs, family, self.status.clone(), self.token.take()).await?;
            self.buffer.extend(revisions);
            self.done = next.is_none();
            self.token = next;
        }
        Ok(())
    }
}

impl Cursor {
    fn new(family: &str) -> Self {
        Self {
            family: family.to_string(),
            active: Listing::new(TaskDefinitionStatus::Active),
            inactive: Listing::new(TaskDefinitionStatus::Inactive),
        }
    }

    async fn next(
        &mut self,
        ecs: &crate::aws::pace::Paced<aws_sdk_ecs::Client>,
        n: usize,
    ) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.active.fill(ecs, &self.family).await?;
            self.inactive.fill(ecs, &self.family).await?;
            let from = match (self.active.buffer.front(), self.inactive.buffer.front()) {
                (None, None) => break,
                (Some(a), Some(i)) if i > a => &mut self.inactive,
                (Some(_), _) => &mut self.active,
                (None, Some(_)) => &mut self.inactive,
            };
            if let Some(revision) = from.buffer.pop_front() {
                out.push(revision);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::TaskDefRef;
    use serde_json::json;

    fn rev(family: &str, revision: i64, time: Option<f64>, release: Option<&str>) -> RevisionInfo {
        RevisionInfo {
            family: family.into(),
            revision,
            arn: format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:{revision}"),
            status: "ACTIVE".into(),
            registered_at: time,
            release: release.map(str::to_string),
            manifest_commit: release.map(|r| format!("commit-{r}")),
            source_commit: None,
            image_digest: None,
        }
    }

    fn log(revisions: Vec<RevisionInfo>) -> FamilyLog {
        FamilyLog {
            revisions,
            complete: true,
        }
    }

    fn target(rule: &str, family: &str, revision: Option<i64>) -> LiveTarget {
        let arn = match revision {
            Some(n) => format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:{n}"),
            None => format!("arn:aws:ecs:us-east-1:1:task-definition/{family}"),
        };
        LiveTarget {
            at: Trigger::rule_target("default", rule, "t"),
            task_definition: TaskDefRef::parse(&arn),
            raw: json!({}),
        }
    }

    /// web registered in v1, v2, v3; report only in v1 and v3 (v2 did not change it);
    /// each family also has a revision 1 registered by hand before jobdeploy.
    fn three_releases() -> History {
        History {
            families: [
                (
                    "web".to_string(),
                    log(vec![
                        rev("web", 4, Some(300.0), Some("v3")),
                        rev("web", 3, Some(200.0), Some("v2")),
                        rev("web", 2, Some(100.0), Some("v1")),
                        rev("web", 1, None, None),
                    ]),
                ),
                (
                    "report".to_string(),
                    log(vec![
                        rev("report", 3, Some(301.0), Some("v3")),
                        rev("report", 2, Some(101.0), Some("v1")),
                        rev("report", 1, None, None),
                    ]),
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn releases_newest_first_with_unchanged_families_keeping_their_revision() {
        let releases = three_releases().releases();
        let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["v3", "v2", "v1"]);
        let v2 = &releases[1];
        assert_eq!(v2.revisions["web"].revision(), Some(3));
        assert_eq!(
            v2.revisions["report"].revision(),
            Some(2),
            "v2 kept report:2"
        );
        assert_eq!(v2.registered, BTreeSet::from(["web".to_string()]));
        assert_eq!(
            releases[0].time, 301.0,
            "a release's time is its last registration"
        );
        assert_eq!(releases[2].manifest_commit.as_deref(), Some("commit-v1"));
    }

    #[test]
    fn a_family_younger_than_a_release_is_absent_from_it() {
        let mut h = three_releases();
        h.families.insert(
            "cleanup".into(),
            log(vec![rev("cleanup", 1, Some(250.0), Some("v3"))]),
        );
        let releases = h.releases();
        assert_eq!(releases[0].revisions["cleanup"].revision(), Some(1));
        assert_eq!(releases[1].revisions["cleanup"], Slot::Absent);
        let families = BTreeSet::from(["cleanup".to_string(), "web".to_string()]);
        assert_eq!(
            releases[1].unusable(&families),
            ["cleanup had no revision yet"]
        );
        assert!(releases[0].unusable(&families).is_empty());
    }

    #[test]
    fn an_incomplete_log_says_unknown_instead_of_absent() {
        let mut h = three_releases();
        if let Some(l) = h.families.get_mut("web") {
            l.revisions.truncate(1);
            l.complete = false;
        }
        let releases = h.releases();
        let v2 = releases.iter().find(|r| r.id == "v2");
        assert!(
            v2.is_none(),
            "v2 is only known from web:3, which was not read"
        );
        let v1 = releases
            .iter()
            .find(|r| r.id == "v1")
            .map(|r| r.revisions["web"].clone());
        assert_eq!(v1, Some(Slot::Unknown));
        assert!(h.families["web"].reached_time(300.0));
        assert!(!h.families["web"].reached_time(299.0));
        assert!(h.families["web"].reached_revision(4));
        assert!(!h.families["web"].reached_revision(3));
    }

    #[test]
    fn inactive_revisions_make_a_release_unusable() {
        let mut h = three_releases();
        if let Some(l) = h.families.get_mut("web") {
            l.revisions[2].status = "INACTIVE".into();
        }
        let releases = h.releases();
        let families = BTreeSet::from(["web".to_string(), "report".to_string()]);
        assert_eq!(
            releases[2].unusable(&families),
            ["web:2 is INACTIVE (deregistered)"]
        );
        assert!(releases[1].unusable(&families).is_empty());
    }

    #[test]
    fn live_release_mixed_untracked() {
        let h = three_releases();
        let releases = h.releases();
        let on_v2 = [target("a", "web", Some(3)), target("b", "report", Some(2))];
        assert_eq!(h.live(&releases, &on_v2), Live::Release("v2".into()));
        // report:2 is in v1 and v2; web:2 only in v1.
        let on_v1 = [target("a", "web", Some(2)), target("b", "report", Some(2))];
        assert_eq!(h.live(&releases, &on_v1), Live::Release("v1".into()));
        let mixed = [target("a", "web", Some(4)), target("b", "report", Some(2))];
        assert_eq!(h.live(&releases, &mixed), Live::Mixed);
        let by_hand = [target("a", "web", Some(1))];
        assert_eq!(h.live(&releases, &by_hand), Live::Untracked);
        assert_eq!(h.live(&releases, &[]), Live::NoTargets);
        // Floating resolves to the newest ACTIVE revision.
        let floating = [target("a", "web", None), target("b", "report", None)];
        assert_eq!(h.live(&releases, &floating), Live::Release("v3".into()));
    }

    #[test]
    fn status_flags_drift() {
        let h = three_releases();
        let targets = [
            target("a", "web", Some(4)),
            target("b", "report", Some(2)),
            target("c", "web", None),
            target("d", "web", Some(9)),
        ];
        let skipped = [Skipped {
            at: Trigger::rule_target("default", "e", "x"),
            kind: SkipKind::NoTemplate,
            reason: "family `api` has no template".into(),
        }];
        let status = Status::compute(&h, &targets, &skipped);
        assert_eq!(status.live, Live::Mixed);
        let releases: Vec<Option<&str>> = status
            .targets
            .iter()
            .map(|t| t.release.as_deref())
            .collect();
        assert_eq!(releases, [Some("v3"), Some("v2"), Some("v3"), None]);
        assert_eq!(status.targets[3].state, "missing");
        assert!(status.targets[2].floating);
        let codes: Vec<String> = status
            .drift
            .iter()
            .map(|d| serde_json::to_value(d).expect("json")["drift"].to_string())
            .collect();
        assert_eq!(
            codes,
            [
                "\"mixed\"",
                "\"floating\"",
                "\"missing\"",
                "\"untemplated\""
            ]
        );
        let Drift::Mixed { releases } = &status.drift[0] else {
            panic!("{:?}", status.drift[0]);
        };
        let on: Vec<(Option<&str>, usize)> = releases
            .iter()
            .map(|(r, at)| (r.as_deref(), at.len()))
            .collect();
        assert_eq!(on, [(None, 1), (Some("v2"), 1), (Some("v3"), 2)]);
        assert_eq!(
            status.drift[1],
            Drift::Floating {
                at: Trigger::rule_target("default", "c", "t"),
                family: "web".into()
            }
        );
        assert_eq!(status.untemplated.len(), 1);
    }

    #[test]
    fn horizon_waits_for_target_revisions() {
        let mut h = three_releases();
        let targets = [target("a", "web", Some(3))];
        assert_eq!(h.targets_horizon(&targets), Some(200.0));
        if let Some(l) = h.families.get_mut("web") {
            l.revisions.truncate(1);
            l.complete = false;
        }
        assert_eq!(h.targets_horizon(&targets), None);
        assert_eq!(h.targets_horizon(&[]), Some(f64::INFINITY));
    }

    #[test]
    fn release_ids_number_the_releases_of_one_tag() {
        assert_eq!(release_tag("v1.4.2"), "v1.4.2");
        assert_eq!(release_tag("v1.4.2+3"), "v1.4.2");
        assert_eq!(release_tag("v1+x"), "v1+x", "only a number is a suffix");
        assert_eq!(next_release_id("v1.4.2", []), "v1.4.2");
        assert_eq!(next_release_id("v1.4.2", ["v1.4.1", "v1.4.2"]), "v1.4.2+2");
        assert_eq!(
            next_release_id("v1.4.2", ["v1.4.2+2", "v1.4.2", "v1.4.2+10", "v1.4.20"]),
            "v1.4.2+11"
        );
        assert_eq!(
            newest_release_of("v1", ["v1", "v1+3", "v2", "v1+2"]),
            Some("v1+3")
        );
        assert_eq!(newest_release_of("v3", ["v1", "v2"]), None);
    }

    fn commit(c: &str) -> Option<String> {
        Some(c.to_string())
    }

    /// v1 from commit aaaaaaa111, v1+2 from the same commit (a template change), v2 from
    /// aaaaaaa222.
    fn releases_with_commits() -> Vec<ReleaseInfo> {
        let mut h = three_releases();
        for log in h.families.values_mut() {
            for r in &mut log.revisions {
                r.release = r.release.as_deref().map(|id| match id {
                    "v3" => "v2".to_string(),
                    "v2" => "v1+2".to_string(),
                    other => other.to_string(),
                });
                r.manifest_commit = match r.release.as_deref() {
                    Some("v1" | "v1+2") => commit("aaaaaaa111"),
                    Some("v2") => commit("aaaaaaa222"),
                    _ => None,
                };
            }
        }
        h.releases()
    }

    #[test]
    fn rollback_names_a_release_its_tag_or_its_manifest_commit() {
        let releases = releases_with_commits();
        let found = |wanted: &str| {
            find_release(&releases, wanted)
                .map(|r| r.map(|r| r.id.clone()))
                .map_err(|e| e.message().to_string())
        };
        assert_eq!(found("v1+2"), Ok(Some("v1+2".into())));
        assert_eq!(
            found("v1"),
            Ok(Some("v1+2".into())),
            "a tag: its newest release"
        );
        assert_eq!(
            found("v1+1"),
            Ok(Some("v1".into())),
            "the first release of v1"
        );
        assert_eq!(found("v1+3"), Ok(None));
        assert_eq!(releases[1].tag, "v1");
        assert_eq!(found("aaaaaaa2"), Ok(Some("v2".into())));
        assert_eq!(
            found("AAAAAAA1"),
            Ok(Some("v1+2".into())),
            "of two releases from one commit, the newest"
        );
        let ambiguous = found("aaaaaaa").unwrap_err();
        assert!(
            ambiguous.contains("ambiguous")
                && ambiguous.contains("aaaaaaa111 (release v1+2)")
                && ambiguous.contains("aaaaaaa222 (release v2)"),
            "{ambiguous}"
        );
        assert_eq!(found("bbbbbbb"), Ok(None));
        assert_eq!(found("aaaaaa"), Ok(None), "six characters are not a commit");
    }

    #[test]
    fn a_tag_names_its_newest_release() {
        let mut h = three_releases();
        for log in h.families.values_mut() {
            for r in &mut log.revisions {
                if r.release.as_deref() == Some("v3") {
                    r.release = Some("v2+2".into());
                }
            }
        }
        let releases = h.releases();
        let found = find_release(&releases, "v2")
            .ok()
            .flatten()
            .map(|r| r.id.as_str());
        assert_eq!(found, Some("v2+2"));
    }

    #[test]
    fn the_adopted_release_has_the_revisions_tagged_with_it() {
        // web:1 and report:1 ran before jobdeploy; web:2 was registered by hand before
        // report:1 and never used: the release's time alone would take web:2.
        let h = History {
            families: [
                (
                    "web".to_string(),
                    log(vec![
                        rev("web", 3, Some(300.0), Some("v1")),
                        rev("web", 2, Some(200.0), None),
                        rev("web", 1, Some(100.0), Some(ADOPTED)),
                    ]),
                ),
                (
                    "report".to_string(),
                    log(vec![rev("report", 1, Some(250.0), Some(ADOPTED))]),
                ),
            ]
            .into(),
        };
        let releases = h.releases();
        let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["v1", ADOPTED]);
        assert_eq!(releases[1].revisions["web"].revision(), Some(1));
        assert_eq!(releases[1].revisions["report"].revision(), Some(1));
        let targets = [target("a", "web", Some(1)), target("b", "report", Some(1))];
        assert_eq!(h.live(&releases, &targets), Live::Release(ADOPTED.into()));
    }

    #[test]
    fn status_is_behind_the_manifest_until_its_tag_is_live() {
        let h = three_releases();
        let releases = h.releases();
        let on_v3 = Live::Release("v3".into());
        let behind = Wanted::compare("v4", None, None, &on_v3, &releases);
        assert!(behind.behind);
        assert_eq!(
            behind.describe(&on_v3),
            "live v3, manifest says v4: behind — run jobdeploy deploy"
        );
        let current = Wanted::compare("v3", None, None, &on_v3, &releases);
        assert!(!current.behind);
        assert!(current.describe(&on_v3).ends_with("up to date"));
        let template_change = Live::Release("v3+2".into());
        assert!(!Wanted::compare("v3", None, None, &template_change, &releases).behind);
        assert!(Wanted::compare("v3", None, None, &Live::Mixed, &releases).behind);
        assert!(!Wanted::compare("v3", None, None, &Live::NoTargets, &releases).behind);
        // Same tag, another digest: the tag was moved and re-pinned.
        let mut with_digest = releases.clone();
        with_digest[0].digest = Some("sha256:aa".into());
        assert!(Wanted::compare("v3", Some("sha256:bb"), None, &on_v3, &with_digest).behind);
        assert!(!Wanted::compare("v3", Some("sha256:aa"), None, &on_v3, &with_digest).behind);
    }

    #[test]
    fn times_round_trip() {
        let t = 1_795_000_000.25;
        assert_eq!(parse_time(&format_time(t)), Some(t));
        assert_eq!(parse_time("not a time"), None);
    }
}
