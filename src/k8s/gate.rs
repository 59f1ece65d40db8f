//! The gate: `deploy` (and `rollback --wait-for-k8s`) ask every configured source whether k8s
//! runs the release, before their first write, and wait for it.
//!
//! A source is anything that can look at k8s and answer with a [`Verdict`]: an Argo CD app
//! ([`super::argocd::AppSource`]), a workload or a Flux Kustomization (the Kubernetes API
//! reader). Each look costs one GET; the loop only fetches, compares and prints on change.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::verdict::{Lineage, Observed, ReleaseRef, Verdict};
use crate::config::{GateMode, K8sSettings};
use crate::error::Error;
use crate::progress::Progress;

/// One look at one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    pub verdict: Verdict,
    pub observed: Observed,
    /// The manifest commits the source reported (Argo CD's operation and sync revisions, a
    /// Kustomization's applied and attempted ones): one the fetched manifest repo does not
    /// hold makes the gate fetch it again.
    pub revisions: Vec<String>,
}

/// A look that got no answer. `transient`: the server may answer next time (connection
/// refused, 5xx, timeout) — the wait goes on past it, but not on its first look; anything
/// else (401/403/404, bad TLS, bad JSON) ends the gate at once.
#[derive(Debug)]
pub struct SourceError {
    pub error: Error,
    pub transient: bool,
}

impl SourceError {
    /// From the HTTP client's error, with what the request was about (`Argo CD app web`,
    /// `token from JOBDEPLOY_ARGOCD_TOKEN`) and what to do.
    pub fn from_http(err: super::http::K8sError, about: &str, hint: Option<String>) -> Self {
        let transient = err.is_transient();
        let mut error = Error::new(format!("{about}: {err}"));
        if let Some(hint) = hint {
            error = error.hint(hint);
        }
        SourceError { error, transient }
    }
}

/// What the gate asks of k8s: one implementation per kind of source.
pub trait Source: Send + Sync {
    /// `argocd app web-production`, `deployment web/web`: how lines and errors name it.
    fn label(&self) -> String;
    /// One GET and the verdict on what it returned, weighed against the manifest repo's
    /// `lineage` around C. `first`: the gate's first look (Argo CD is asked to refresh the
    /// app from git then).
    fn look<'a>(
        &'a self,
        first: bool,
        lineage: &'a Lineage,
    ) -> BoxFuture<'a, Result<Look, SourceError>>;
}

/// Reads the manifest repo's lineage around C again (a remote is fetched first).
pub type Refetch = std::sync::Arc<dyn Fn() -> Result<Lineage, Error> + Send + Sync>;

/// The sources of a release and what their verdicts are weighed against.
pub struct Sources {
    pub list: Vec<Box<dyn Source>>,
    /// C's descendants and the commits the manifest repo holds (empty without a commit).
    pub lineage: Lineage,
    /// How to read `lineage` again when k8s reports a commit the repo did not hold when it
    /// was read (pushed since); `None` without a commit.
    pub refetch: Option<Refetch>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Everything a source is built from.
pub struct Setup<'a> {
    pub settings: &'a K8sSettings,
    /// The release k8s must run. For `status`, the live batch release's tag (no commit).
    pub release: ReleaseRef,
    /// The manifest repo as configured (URL or path), to pick a multi-source app's source.
    pub manifest_repo: Option<String>,
    /// When the gate started (seconds since the epoch): an operation for an older commit
    /// started after it is a rollback.
    pub wait_started: f64,
    /// The AWS SDK config, for `[k8s.api] eks_cluster`'s token (no AWS call is made; the
    /// credentials sign a presigned URL).
    pub aws: Option<aws_config::SdkConfig>,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

/// Every source `[k8s]` names, in config order: Argo CD apps, then workloads, then Flux.
/// Bad CA files, missing tokens and bad kubeconfigs are errors here, before any look.
pub fn sources(setup: &Setup<'_>, progress: &Progress) -> Result<Vec<Box<dyn Source>>, Error> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if let Some(argocd) = &setup.settings.argocd {
        sources.extend(super::argocd::sources(argocd, setup, progress)?);
    }
    if let Some(api) = &setup.settings.api {
        sources.extend(super::kube::sources(api, setup, progress)?);
    }
    Ok(sources)
}

/// The sources for a release, ready to look: the release as k8s sees it (`commit`: check the
/// manifest commit too; `None` for `rollback` and `status`, image only), the manifest repo's
/// lineage around the commit (read here, and again when k8s reports a commit pushed since),
/// and the AWS SDK config for EKS tokens.
pub fn for_release(
    config: &crate::config::LoadedConfig,
    release: &crate::manifest::Release,
    commit: Option<&str>,
    aws: Option<aws_config::SdkConfig>,
    progress: &Progress,
) -> Result<Sources, Error> {
    let Some(settings) = &config.k8s else {
        return Ok(Sources {
            list: Vec::new(),
            lineage: Lineage::default(),
            refetch: None,
        });
    };
    let (lineage, refetch) = match commit {
        Some(c) => {
            let read = {
                let config = config.clone();
                let c = c.to_string();
                move || {
                    crate::manifest::lineage(&config, &c).map(|l| Lineage {
                        descendants: l.descendants,
                        known: l.known,
                        tags: l.tags,
                    })
                }
            };
            let lineage = read()?;
            (lineage, Some(std::sync::Arc::new(read) as Refetch))
        }
        None => (Lineage::default(), None),
    };
    let setup = Setup {
        settings,
        release: ReleaseRef {
            image_name: release.image.name.clone(),
            tag: release.tag.clone(),
            digest: release.digest.clone(),
            commit: commit.map(str::to_string),
        },
        manifest_repo: config.config.manifest.as_ref().and_then(|m| m.repo.clone()),
        wait_started: now(),
        aws,
        request_timeout: REQUEST_TIMEOUT,
    };
    Ok(Sources {
        list: sources(&setup, progress)?,
        lineage,
        refetch,
    })
}

/// One HTTP request's budget (retries included are each this long).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One look at every source, for `plan` and `status`: what k8s runs now. A source that
/// cannot be asked gives its error instead (a warning there, not a failure).
pub async fn look_once(sources: &Sources) -> Vec<(String, Result<Look, Error>)> {
    let looks =
        futures::future::join_all(sources.list.iter().map(|s| s.look(false, &sources.lineage)))
            .await;
    sources
        .list
        .iter()
        .zip(looks)
        .map(|(s, l)| (s.label(), l.map_err(|e| e.error)))
        .collect()
}

/// How `deploy` runs the gate this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateRun {
    /// `Wait` or `Check` (never `Off`: the caller skips the gate then).
    pub mode: GateMode,
    pub timeout: Duration,
    pub poll: Duration,
}

impl GateRun {
    /// `[k8s]` with `--wait-for-k8s[=DURATION]` / `--no-k8s-gate` applied; `None`: no gate.
    pub fn resolve(
        settings: Option<&K8sSettings>,
        wait_for: Option<Option<Duration>>,
        no_gate: bool,
    ) -> Option<GateRun> {
        let settings = settings?;
        if no_gate {
            return None;
        }
        match wait_for {
            Some(duration) => Some(GateRun {
                mode: GateMode::Wait,
                timeout: duration.unwrap_or(settings.timeout),
                poll: settings.poll,
            }),
            None if settings.gate == GateMode::Off => None,
            None => Some(GateRun {
                mode: settings.gate,
                timeout: settings.timeout,
                poll: settings.poll,
            }),
        }
    }
}

/// How the gate ended, when it lets the command go on (or stop without failing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateOutcome {
    /// k8s runs the release: `(source, summary)` per source.
    Done {
        waited: Duration,
        sources: Vec<(String, String)>,
    },
    /// A newer commit runs another tag: nothing is to be written (`(source, by)`).
    Superseded {
        waited: Duration,
        sources: Vec<(String, String)>,
    },
}

/// The combined verdict of one round of looks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Round {
    Done(Vec<(String, String)>),
    Superseded(Vec<(String, String)>),
    Fail(Vec<(String, String, String)>),
    Wait(Vec<(String, Vec<String>)>),
}

fn combine(looks: &[(String, Verdict)]) -> Round {
    let mut fails = Vec::new();
    let mut waits = Vec::new();
    let mut superseded = Vec::new();
    let mut done = Vec::new();
    for (label, verdict) in looks {
        match verdict {
            Verdict::Fail { why, hint } => fails.push((label.clone(), why.clone(), hint.clone())),
            Verdict::Wait { unmet } => waits.push((label.clone(), unmet.clone())),
            Verdict::Superseded { by } => superseded.push((label.clone(), by.clone())),
            Verdict::Done { summary } => done.push((label.clone(), summary.clone())),
        }
    }
    if !fails.is_empty() {
        Round::Fail(fails)
    } else if !superseded.is_empty() {
        // One source running a newer tag is enough: this release will not be the one k8s runs.
        Round::Superseded(superseded)
    } else if !waits.is_empty() {
        Round::Wait(waits)
    } else {
        Round::Done(done)
    }
}

/// Runs the gate: one look (`check`) or looks every `poll` until every source is done, one
/// fails, or `timeout` passes. Prints a line per source when its state changes.
pub async fn run(
    gate_sources: &Sources,
    run: GateRun,
    release: &str,
    progress: &Progress,
) -> Result<GateOutcome, Error> {
    let sources = &gate_sources.list;
    let mut lineage = gate_sources.lineage.clone();
    // Commits k8s reported that the repo did not hold, once fetched again: each is fetched
    // for at most once (one that is still unknown is on no ref: waiting, then the timeout).
    let mut refetched: BTreeSet<String> = BTreeSet::new();
    let started = Instant::now();
    let mut display = Display::start(release, run, progress);
    let mut last: Vec<Option<String>> = vec![None; sources.len()];
    let mut first = true;
    loop {
        let looks =
            futures::future::join_all(sources.iter().map(|s| s.look(first, &lineage))).await;
        let mut verdicts = Vec::with_capacity(sources.len());
        let mut unknown = BTreeSet::new();
        for (i, (source, look)) in sources.iter().zip(looks).enumerate() {
            let label = source.label();
            let verdict = match look {
                Ok(look) => {
                    unknown.extend(
                        look.revisions
                            .iter()
                            .filter(|r| lineage.is_unknown(r) && !refetched.contains(*r))
                            .cloned(),
                    );
                    look.verdict
                }
                Err(e) if e.transient && !first => Verdict::Wait {
                    unmet: vec![format!("no answer: {}", e.error.message())],
                },
                Err(e) => {
                    display.finish();
                    return Err(e.error.note(nothing_written()));
                }
            };
            let line = state_line(&verdict);
            if last[i].as_deref() != Some(line.as_str()) {
                display.change(&label, &line, started.elapsed());
                last[i] = Some(line);
            }
            verdicts.push((label, verdict));
        }
        first = false;
        let waited = started.elapsed();
        match combine(&verdicts) {
            Round::Done(sources) => {
                display.finish();
                return Ok(GateOutcome::Done { waited, sources });
            }
            Round::Superseded(sources) => {
                display.finish();
                return Ok(GateOutcome::Superseded { waited, sources });
            }
            Round::Fail(fails) => {
                display.finish();
                let mut err = Error::new(format!(
                    "k8s will not run release {release}:{}",
                    fails
                        .iter()
                        .map(|(label, why, _)| format!("\n  {label}: {why}"))
                        .collect::<String>()
                ))
                .note(nothing_written());
                for (_, _, hint) in fails {
                    err = err.hint(hint);
                }
                return Err(err);
            }
            Round::Wait(waits) => {
                // A commit pushed to the manifest repo after jobdeploy read it (another
                // release merged meanwhile): fetch again, and look again at once, so a
                // later commit that carries C counts and one that supersedes it is seen.
                if let Some(read) = gate_sources
                    .refetch
                    .as_ref()
                    .filter(|_| !unknown.is_empty())
                {
                    let commits: Vec<String> = unknown.into_iter().collect();
                    display.note(&format!(
                        "k8s reports manifest commit {} that the repo did not hold when read: fetching it again",
                        commits
                            .iter()
                            .map(|c| super::verdict::short_commit(c))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    refetched.extend(commits);
                    let read = read.clone();
                    // Within what is left of the wait; a fetch that fails or runs out of time
                    // is a warning and the wait goes on as before (the timeout still holds).
                    let left = run.timeout.saturating_sub(started.elapsed());
                    match tokio::time::timeout(left, tokio::task::spawn_blocking(move || read()))
                        .await
                    {
                        Ok(Ok(Ok(fetched))) => {
                            lineage = fetched;
                            continue;
                        }
                        Ok(Ok(Err(e))) => display.note(&format!(
                            "warning: cannot fetch the manifest repo again: {}",
                            e.message()
                        )),
                        Ok(Err(e)) => display.note(&format!(
                            "warning: cannot fetch the manifest repo again: {e}"
                        )),
                        Err(_) => display.note(
                            "warning: fetching the manifest repo again did not finish within the wait",
                        ),
                    }
                }
                if run.mode == GateMode::Check {
                    display.finish();
                    return Err(Error::new(format!(
                        "k8s does not run release {release} yet ([k8s] gate = \"check\"):{}",
                        unmet_lines(&waits)
                    ))
                    .note(nothing_written())
                    .hint("run `jobdeploy deploy` again once k8s runs it, or wait for it with `jobdeploy deploy --wait-for-k8s`"));
                }
                if waited >= run.timeout {
                    display.finish();
                    return Err(Error::new(format!(
                        "k8s did not run release {release} within {}; still unmet:{}",
                        crate::model::short_duration(run.timeout),
                        unmet_lines(&waits)
                    ))
                    .note(nothing_written())
                    .hint(format!(
                        "run `jobdeploy deploy` again once k8s runs {release}, or wait longer: `jobdeploy deploy --wait-for-k8s={}` ([k8s] timeout)",
                        crate::model::short_duration(run.timeout * 2)
                    )));
                }
                let left = run.timeout - waited;
                tokio::time::sleep(run.poll.min(left)).await;
            }
        }
    }
}

/// The note every gate failure in deploy and rollback carries.
pub fn nothing_written() -> &'static str {
    "Nothing was written: no task definition registered, no target repointed."
}

fn unmet_lines(waits: &[(String, Vec<String>)]) -> String {
    waits
        .iter()
        .flat_map(|(label, unmet)| unmet.iter().map(move |u| format!("\n  {label}: {u}")))
        .collect()
}

/// The one line that stands for a verdict; a new line is printed when it changes.
fn state_line(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Done { summary } => summary.clone(),
        Verdict::Wait { unmet } => unmet.join("; "),
        Verdict::Fail { why, .. } => why.clone(),
        Verdict::Superseded { by } => format!("superseded by {by}"),
    }
}

/// Where the wait's lines go: a GitHub Actions group, a live status line on a terminal, or
/// plain lines; nothing with `--quiet`.
struct Display {
    group: Option<crate::github::Group>,
    live: Option<crate::progress::LiveLine>,
    progress: Progress,
}

impl Display {
    fn start(release: &str, run: GateRun, progress: &Progress) -> Self {
        let title = match run.mode {
            GateMode::Check => format!("checking that k8s runs release {release}"),
            _ => format!(
                "waiting up to {} for k8s to run release {release}",
                crate::model::short_duration(run.timeout)
            ),
        };
        let mut display = Display {
            group: None,
            live: None,
            progress: *progress,
        };
        if progress.is_quiet() {
            return display;
        }
        if crate::github::in_actions() {
            display.group = Some(crate::github::Group::start(&format!("jobdeploy: {title}")));
            return display;
        }
        progress.line(&title);
        if run.mode == GateMode::Wait {
            display.live = crate::progress::LiveLine::start(progress, &title);
        }
        display
    }

    fn change(&mut self, label: &str, line: &str, elapsed: Duration) {
        let text = format!(
            "[{}] {label}: {line}",
            crate::model::short_duration(Duration::from_secs(elapsed.as_secs()))
        );
        crate::progress::status(&self.progress, self.live.as_ref(), &text);
        if let Some(live) = &self.live {
            live.set(format!("{label}: {line}"));
        }
    }

    /// A line about the wait itself, not about one source.
    fn note(&mut self, text: &str) {
        crate::progress::status(&self.progress, self.live.as_ref(), text);
    }

    fn finish(&mut self) {
        if let Some(live) = self.live.take() {
            live.finish();
        }
        self.group.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(gate: GateMode) -> K8sSettings {
        K8sSettings {
            gate,
            timeout: Duration::from_secs(900),
            poll: Duration::from_secs(10),
            argocd: None,
            api: None,
        }
    }

    #[test]
    fn flags_override_the_config() {
        let wait = settings(GateMode::Wait);
        assert_eq!(GateRun::resolve(None, Some(None), false), None);
        assert_eq!(GateRun::resolve(Some(&wait), None, true), None);
        let r = GateRun::resolve(Some(&wait), Some(Some(Duration::from_secs(60))), false).unwrap();
        assert_eq!(
            (r.mode, r.timeout),
            (GateMode::Wait, Duration::from_secs(60))
        );
        let off = settings(GateMode::Off);
        assert_eq!(GateRun::resolve(Some(&off), None, false), None);
        let r = GateRun::resolve(Some(&off), Some(None), false).unwrap();
        assert_eq!(
            (r.mode, r.timeout),
            (GateMode::Wait, Duration::from_secs(900))
        );
        let check = settings(GateMode::Check);
        assert_eq!(
            GateRun::resolve(Some(&check), None, false).unwrap().mode,
            GateMode::Check
        );
    }

    #[test]
    fn one_failure_decides_the_round_and_superseded_beats_waiting() {
        let done = Verdict::Done {
            summary: "ok".into(),
        };
        let wait = Verdict::Wait {
            unmet: vec!["health Progressing, want Healthy".into()],
        };
        let fail = Verdict::Fail {
            why: "x".into(),
            hint: "y".into(),
        };
        let sup = Verdict::Superseded {
            by: "web:v2".into(),
        };
        let l = |v: &Verdict| ("a".to_string(), v.clone());
        assert!(matches!(
            combine(&[l(&done), l(&wait), l(&fail)]),
            Round::Fail(_)
        ));
        assert!(matches!(
            combine(&[l(&wait), l(&sup)]),
            Round::Superseded(_)
        ));
        assert!(matches!(combine(&[l(&done), l(&wait)]), Round::Wait(_)));
        assert!(matches!(combine(&[l(&done), l(&done)]), Round::Done(_)));
    }
}
