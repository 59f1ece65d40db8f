//! The shared nouns of the k8s gate: what a source says about the release (a [`Verdict`]),
//! what it saw ([`Observed`]), and the release it is asked about ([`ReleaseRef`]).
//! Pure data; every source (Argo CD apps, workloads, Flux Kustomizations) produces these.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One source's answer to "does k8s run the release?" at one look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Verdict {
    /// k8s runs the release; `summary` is the one line the step summary and `status` show,
    /// e.g. `Synced, Healthy at 23bdcf5`.
    Done { summary: String },
    /// Not yet: every condition still unmet, in the API's own words
    /// (`health Progressing, want Healthy`).
    Wait { unmet: Vec<String> },
    /// It will not: exit 1, nothing written. `why` names the cause (the failed hook, the
    /// rollback, the deadline), `hint` what to do.
    Fail { why: String, hint: String },
    /// A newer manifest commit runs another tag of the image: this release will never run.
    /// `by` names it (`web:v1.4.3 at 9f8e7d6`). deploy exits 0 with a warning, writing nothing.
    Superseded { by: String },
}

impl Verdict {
    pub fn is_done(&self) -> bool {
        matches!(self, Verdict::Done { .. })
    }

    /// Whether waiting longer can change the answer.
    pub fn is_final(&self) -> bool {
        !matches!(self, Verdict::Wait { .. })
    }
}

/// The release a source is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRef {
    /// The image name without tag or digest: `123456789012.dkr.ecr.us-east-1.amazonaws.com/web`.
    pub image_name: String,
    pub tag: String,
    /// `sha256:…` when known (pinned in the manifest, or as ECR reports the tag).
    pub digest: Option<String>,
    /// The manifest commit C, full hex. `None` for `rollback` and `--tag`: then only the
    /// image is checked, not the revision.
    pub commit: Option<String>,
}

impl ReleaseRef {
    /// `name:tag`, as k8s lists running images.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.image_name, self.tag)
    }
}

/// The manifest repo's history around C, computed before the wait so the verdicts stay pure:
/// which commits came after C on the manifest ref, and which commits the repo knows at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Commits that have C as an ancestor (C itself excluded), full lowercase hex.
    pub descendants: BTreeSet<String>,
    /// Every commit the fetched repo holds (reachable from its refs), full lowercase hex.
    pub known: BTreeSet<String>,
    /// Descendant → the image tag the manifest names there (`@sha256:…` for a digest alone):
    /// a later commit applied on another tag supersedes the release.
    pub tags: BTreeMap<String, String>,
}

/// Where a revision stands relative to C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// C itself.
    Same,
    /// A later commit on top of C.
    Descendant,
    /// Neither C nor after it: an older commit or another branch.
    NotDescendant,
    /// A revision the fetched manifest repo does not hold (pushed after jobdeploy fetched).
    Unknown,
}

impl Lineage {
    /// A commit (full hex) the fetched repo does not hold; never true of an empty lineage
    /// (no commit to weigh against) or of something that is not a full commit id.
    pub fn is_unknown(&self, revision: &str) -> bool {
        let revision = revision.to_ascii_lowercase();
        !self.known.is_empty()
            && revision.len() == 40
            && revision.bytes().all(|b| b.is_ascii_hexdigit())
            && !self.known.contains(&revision)
    }

    pub fn relation(&self, commit: &str, revision: &str) -> Relation {
        let revision = revision.to_ascii_lowercase();
        if same_commit(commit, &revision) {
            Relation::Same
        } else if self.descendants.contains(&revision) {
            Relation::Descendant
        } else if self.known.contains(&revision) {
            Relation::NotDescendant
        } else {
            Relation::Unknown
        }
    }
}

/// A commit as Argo CD shows it: 7 hex digits.
pub fn short_commit(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// Two commit ids name the same commit (either may be abbreviated, ≥ 7 hex digits).
pub fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let n = a.len().min(b.len());
    n >= 7 && a[..n] == b[..n]
}

/// What a source saw at its last look: the `k8s` block of `status`, the "k8s runs now" line of
/// `plan`. Fields a source has no notion of stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// `argocd app web-production`, `deployment web/web`, `kustomization flux-system/web`.
    pub source: String,
    /// The manifest revision k8s is on (Argo CD `status.sync.revision`, Flux
    /// `lastAppliedRevision`).
    pub revision: Option<String>,
    /// `Synced` / `OutOfSync` (Argo CD), the rollout state for a workload.
    pub sync: Option<String>,
    /// `Healthy`, `Progressing`, `Degraded`… (Argo CD), `Ready`/`NotReady` (Flux).
    pub health: Option<String>,
    /// Every image the source runs (Argo CD `status.summary.images`, the pod template's).
    pub images: Vec<String>,
}

impl Observed {
    /// The tags of `image_name` the source runs (digest-only references count as `@sha256:…`).
    pub fn tags_of(&self, image_name: &str) -> Vec<String> {
        crate::image::tags_of(&self.images, image_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_an_image_ignore_other_images_with_a_shared_prefix() {
        let o = Observed {
            images: vec![
                "r.example/web:v1".into(),
                "r.example/web-worker:v9".into(),
                "r.example/web:v2@sha256:abc".into(),
                "r.example/web@sha256:def".into(),
                "nginx:1.27".into(),
            ],
            ..Observed::default()
        };
        assert_eq!(o.tags_of("r.example/web"), ["@sha256:def", "v1", "v2"]);
    }

    #[test]
    fn relation_to_the_release_commit() {
        let c = "a".repeat(40);
        let lineage = Lineage {
            descendants: ["b".repeat(40)].into(),
            known: [c.clone(), "b".repeat(40), "d".repeat(40)].into(),
            tags: BTreeMap::new(),
        };
        assert_eq!(lineage.relation(&c, &"A".repeat(40)), Relation::Same);
        assert_eq!(lineage.relation(&c, &"b".repeat(40)), Relation::Descendant);
        assert_eq!(
            lineage.relation(&c, &"d".repeat(40)),
            Relation::NotDescendant
        );
        assert_eq!(lineage.relation(&c, &"e".repeat(40)), Relation::Unknown);
        assert!(same_commit(
            "abcdef1",
            &format!("abcdef1{}", "0".repeat(33))
        ));
        assert!(!same_commit("abc", "abd"));
    }
}
