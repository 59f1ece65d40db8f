//! What `status` and `history` report: pure, over the history read and the live targets.

use super::*;

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
    /// With `[k8s]`: what each k8s source runs now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s: Option<Vec<K8sSourceStatus>>,
}

/// One k8s source in `status`: what it runs, or why it could not be asked (a warning, not
/// drift).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct K8sSourceStatus {
    /// `argocd app web-production`, `deployment web/web`.
    pub source: String,
    pub revision: Option<String>,
    pub sync: Option<String>,
    pub health: Option<String>,
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// k8s does not run the live batch release's tag: `k8s` lists the tags of the image the
    /// source runs.
    K8sMismatch {
        source: String,
        live: String,
        k8s: Vec<String>,
    },
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
    /// Adds the k8s block, and `k8s_mismatch` for each source that answered and does not run
    /// exactly the live release's tag of `image_name`. No drift without one live release.
    pub fn add_k8s(&mut self, image_name: &str, sources: Vec<K8sSourceStatus>) {
        if let Live::Release(id) = &self.live {
            let live = crate::history::release_tag(id).to_string();
            for s in sources.iter().filter(|s| s.error.is_none()) {
                let tags = crate::image::tags_of(&s.images, image_name);
                if tags != [live.clone()] {
                    self.drift.push(Drift::K8sMismatch {
                        source: s.source.clone(),
                        live: live.clone(),
                        k8s: tags,
                    });
                }
            }
        }
        self.k8s = Some(sources);
    }

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
                let state = resolved.map_or("missing".to_string(), |r| r.status.to_string());
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
                        state: r.status.to_string(),
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
            k8s: None,
        }
    }
}
