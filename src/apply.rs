//! Executes a plan: check the image, register changed families, repoint every target by
//! compare-and-swap read–modify–write (the first write read back before any other); on any
//! failure put back every target already repointed, exactly as it was.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};
use serde::Serialize;
use serde_json::Value;

use crate::aws::ecs::{self, LiveTaskDef};
use crate::aws::owner::{self, find, slot_id, task_definition_label, with_task_definition};
use crate::aws::pace::CallStats;
use crate::aws::{Aws, ecr};
use crate::error::{Error, Result};
use crate::history::ADOPTED;
use crate::live::{Owner, Trigger};
use crate::normalize::TAG_PREFIX;
use crate::plan::{Destination, FamilyChange, Plan, PlanKind, TargetAction, TargetPlan};
use crate::progress::Progress;
use crate::render::split_tags;

pub const TAG_RELEASE: &str = "jobdeploy:release";
pub const TAG_MANIFEST_COMMIT: &str = "jobdeploy:manifest-commit";
pub const TAG_SOURCE_COMMIT: &str = "jobdeploy:source-commit";
/// The image digest deployed: pinned by the manifest, or what ECR said the tag was.
pub const TAG_IMAGE_DIGEST: &str = "jobdeploy:image-digest";
/// When the revision was registered (RFC 3339). ECS's own `registeredAt` wins; this keeps
/// release order where it is missing (emulators).
pub const TAG_REGISTERED_AT: &str = "jobdeploy:registered-at";

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub kind: PlanKind,
    pub release: String,
    pub registered: Vec<Registered>,
    pub repointed: Vec<Repointed>,
    /// What the whole run asked of AWS, up to the end of the apply.
    pub aws_calls: CallStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub family: String,
    pub revision: i64,
    pub arn: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repointed {
    #[serde(flatten)]
    pub at: Trigger,
    pub from: String,
    pub to: String,
}

/// Everything a deploy needs besides the plan.
pub struct DeployInput<'a> {
    pub plan: &'a Plan,
    pub source_commit: Option<String>,
}

/// Checks that must pass before the first write: the image exists when it is in ECR, and a
/// `tag@digest` tag resolves to that digest. Run beside the live reads (see
/// `commands::make_plan`), since it needs only the release. Returns what ECR said of the
/// image (nothing when it is not in ECR).
pub async fn preflight(aws: &Aws, release: &crate::manifest::Release) -> Result<ecr::EcrImage> {
    match release.image.ecr() {
        Some(repo) => ecr::check_image(aws, &release.image, &repo).await,
        None => Ok(ecr::EcrImage::default()),
    }
}

/// Registers and repoints. [`preflight`] must have passed for the plan's release.
pub async fn deploy(aws: &Aws, input: DeployInput<'_>, progress: &Progress) -> Result<Outcome> {
    deploy_gated(aws, input, progress, |_| async { Ok(()) }).await
}

/// [`deploy`] with a gate between registering and the first repoint (`deploy --smoke`): it
/// gets what was registered; its error stops the deploy with no target changed.
pub async fn deploy_gated<G, F>(
    aws: &Aws,
    input: DeployInput<'_>,
    progress: &Progress,
    gate: G,
) -> Result<Outcome>
where
    G: FnOnce(Vec<Registered>) -> F,
    F: std::future::Future<Output = Result<()>>,
{
    let plan = input.plan;
    adopt(aws, plan, progress).await?;
    let registered = register_all(aws, &input, progress).await?;
    let new_arns: BTreeMap<&str, &LiveTaskDef> = registered
        .iter()
        .map(|td| (td.family.as_str(), td))
        .collect();
    let registered_list: Vec<Registered> = registered
        .iter()
        .map(|td| Registered {
            family: td.family.clone(),
            revision: td.revision,
            arn: td.arn.clone(),
        })
        .collect();

    gate(registered_list.clone())
        .await
        .map_err(|e| with_registered_note(e.note("No target was changed."), &registered_list))?;
    let moves = moves(plan, &new_arns)?;
    let repointed = repoint_all(aws, plan, &moves, progress)
        .await
        .map_err(|e| with_registered_note(e, &registered_list))?;
    Ok(Outcome {
        kind: plan.kind,
        release: plan.release.id.clone(),
        registered: registered_list,
        repointed,
        aws_calls: aws.pacer.stats(),
    })
}

/// Executes a rollback plan: every target to an existing revision; nothing is registered.
pub async fn rollback(aws: &Aws, plan: &Plan, progress: &Progress) -> Result<Outcome> {
    let moves = moves(plan, &BTreeMap::new())?;
    let repointed = repoint_all(aws, plan, &moves, progress).await?;
    Ok(Outcome {
        kind: plan.kind,
        release: plan.release.id.clone(),
        registered: Vec::new(),
        repointed,
        aws_calls: aws.pacer.stats(),
    })
}

/// Every target to change, with the ARN it goes to: an existing revision, or the one this
/// run registered for its family.
fn moves<'a>(plan: &'a Plan, registered: &BTreeMap<&str, &LiveTaskDef>) -> Result<Vec<Move<'a>>> {
    plan.targets
        .iter()
        .filter(|t| t.action != TargetAction::Keep)
        .map(|target| {
            let to = match &target.to {
                Destination::Existing { arn, .. } => arn.clone(),
                Destination::New { .. } => registered
                    .get(target.family.as_str())
                    .map(|td| td.arn.clone())
                    .ok_or_else(|| {
                        Error::new(format!(
                            "internal: family {} was not registered",
                            target.family
                        ))
                    })?,
            };
            Ok(Move { target, to })
        })
        .collect()
}

/// The command that converges after a failure.
fn rerun(plan: &Plan) -> String {
    match plan.kind {
        PlanKind::Deploy => "jobdeploy deploy".to_string(),
        PlanKind::Rollback => format!("jobdeploy rollback {}", plan.release.id),
    }
}

fn with_registered_note(err: Error, registered: &[Registered]) -> Error {
    if registered.is_empty() {
        return err;
    }
    let list: Vec<String> = registered
        .iter()
        .map(|r| format!("{}:{}", r.family, r.revision))
        .collect();
    err.note(format!(
        "Registered (unused, harmless, reused by the next deploy): {}",
        list.join(", ")
    ))
}

async fn register_all(
    aws: &Aws,
    input: &DeployInput<'_>,
    progress: &Progress,
) -> Result<Vec<LiveTaskDef>> {
    let plan = input.plan;
    let to_register: Vec<_> = plan
        .families
        .iter()
        .filter(|f| f.change == FamilyChange::Register)
        .collect();
    let results: Vec<Result<LiveTaskDef>> = stream::iter(to_register)
        .map(|family| async move {
            let (body, mut tags) = split_tags(&family.body);
            tags.retain(|(k, _)| !k.starts_with(TAG_PREFIX));
            tags.push((TAG_RELEASE.into(), plan.release.id.clone()));
            if let Some(commit) = &plan.release.manifest_commit {
                tags.push((TAG_MANIFEST_COMMIT.into(), commit.clone()));
            }
            if let Some(digest) = &plan.release.digest {
                tags.push((TAG_IMAGE_DIGEST.into(), digest.clone()));
            }
            if let Some(commit) = &input.source_commit {
                tags.push((TAG_SOURCE_COMMIT.into(), commit.clone()));
            }
            tags.push((
                TAG_REGISTERED_AT.into(),
                crate::history::format_time(now_seconds()),
            ));
            ecs::register(&aws.ecs, &body, &tags).await
        })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let mut ok: Vec<LiveTaskDef> = ok.into_iter().filter_map(Result::ok).collect();
    // Reported in family order, not in the order the calls finished: two runs diff cleanly.
    ok.sort_by(|a, b| a.family.cmp(&b.family));
    for td in &ok {
        progress.line(format!("registered {}:{}", td.family, td.revision));
    }
    if let Some(Err(first)) = failed.into_iter().next() {
        let done: Vec<String> = ok
            .iter()
            .map(|t| format!("{}:{}", t.family, t.revision))
            .collect();
        let mut err = first.note("No target was changed.");
        if !done.is_empty() {
            err = err.note(format!(
                "Registered (unused, reused by the next deploy): {}",
                done.join(", ")
            ));
        }
        return Err(err.hint("fix the cause and run `jobdeploy deploy` again"));
    }
    Ok(ok)
}

/// First deploy: tags the revisions the targets run now as release `adopted` (see
/// [`Plan::adopt`]). A revision the plan did not see the tags of is described first: if
/// jobdeploy released it already, there is nothing to adopt, and no release is renamed.
/// Tagging again what is already `adopted` changes nothing, so an adoption cut short by a
/// failure is completed by the next deploy.
async fn adopt(aws: &Aws, plan: &Plan, progress: &Progress) -> Result<()> {
    if plan.adopt.is_empty() {
        return Ok(());
    }
    let newest: Vec<&str> = plan
        .families
        .iter()
        .filter_map(|f| f.live.as_ref().map(|l| l.arn.as_str()))
        .collect();
    let unseen: Vec<&str> = plan
        .adopt
        .values()
        .map(|r| r.arn.as_str())
        .filter(|arn| !newest.contains(arn))
        .collect();
    let described: Vec<Result<Option<LiveTaskDef>>> = stream::iter(unseen)
        .map(|arn| ecs::describe(&aws.ecs, arn))
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    for td in described {
        let released = td?.is_some_and(|td| {
            td.tags()
                .get(TAG_RELEASE)
                .is_some_and(|id| id.as_str() != ADOPTED)
        });
        if released {
            return Ok(());
        }
    }
    let results: Vec<Result<()>> = stream::iter(plan.adopt.values())
        .map(|r| async move {
            let tag = [(TAG_RELEASE.to_string(), ADOPTED.to_string())];
            ecs::tag(&aws.ecs, &r.arn, &tag).await
        })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    for r in results {
        r.map_err(|e| {
            e.note("No target was changed and nothing was registered.")
                .hint("fix the cause and run `jobdeploy deploy` again")
        })?;
    }
    let list: Vec<String> = plan
        .adopt
        .iter()
        .map(|(f, r)| format!("{f}:{}", r.revision))
        .collect();
    progress.line(format!(
        "recorded what the targets ran as release {ADOPTED}: {}",
        list.join(", ")
    ));
    Ok(())
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

struct Move<'a> {
    target: &'a TargetPlan,
    to: String,
}

/// A rule or schedule that was written: each slot as it was and as we wrote it.
struct Written {
    owner: Owner,
    changes: Vec<Change>,
}

struct Change {
    original: Value,
    written: Value,
}

impl Written {
    /// How messages name one of its slots: `rule R (bus B) target T`, or `schedule G/N`.
    fn describe(&self, slot: &Value) -> String {
        Trigger {
            owner: self.owner.clone(),
            target_id: slot_id(&self.owner, slot).map(str::to_string),
        }
        .describe()
    }
}

enum WriteFailure {
    /// Nothing of this rule or schedule was written.
    Untouched(Error),
    /// The write may have applied, or applied in part (FailedEntryCount); put the originals
    /// back too.
    Partial(Error, Written),
}

async fn repoint_all(
    aws: &Aws,
    plan: &Plan,
    moves: &[Move<'_>],
    progress: &Progress,
) -> Result<Vec<Repointed>> {
    let mut by_owner: BTreeMap<&Owner, Vec<&Move<'_>>> = BTreeMap::new();
    for m in moves {
        by_owner.entry(&m.target.at.owner).or_default().push(m);
    }
    let announce = |owner: &Owner| {
        for m in by_owner.get(owner).into_iter().flatten() {
            progress.line(format!(
                "repointed {}: {} → {}",
                m.target.at.describe(),
                m.target.from.label(),
                crate::live::TaskDefRef::parse(&m.to).label()
            ));
        }
    };
    let mut owners = by_owner.iter();
    let mut written = Vec::new();
    let mut failures = Vec::new();
    // The first rule or schedule is written alone and read back before any other: of two
    // deploys racing, the one whose write did not stick stops here, having changed nothing
    // else.
    if let Some((first, first_moves)) = owners.next() {
        match repoint(aws, first, first_moves).await {
            Ok(w) => {
                announce(&w.owner);
                if let Err(e) = confirm(aws, &w).await {
                    failures.push(e);
                }
                written.push(w);
            }
            Err(WriteFailure::Untouched(e)) => failures.push(e),
            Err(WriteFailure::Partial(e, w)) => {
                failures.push(e);
                written.push(w);
            }
        }
    }
    if failures.is_empty() {
        let abort = AtomicBool::new(false);
        let mut results: Vec<Option<(&Owner, Result<Written, WriteFailure>)>> =
            stream::iter(owners)
                .map(|(owner, moves)| {
                    let abort = &abort;
                    async move {
                        if abort.load(Ordering::SeqCst) {
                            return None;
                        }
                        let result = repoint(aws, owner, moves).await;
                        if result.is_err() {
                            abort.store(true, Ordering::SeqCst);
                        }
                        Some((*owner, result))
                    }
                })
                .buffer_unordered(aws.concurrency)
                .collect()
                .await;
        // Completion order is the network's; report in rule and schedule order.
        results.sort_by(|a, b| a.as_ref().map(|r| r.0).cmp(&b.as_ref().map(|r| r.0)));
        for (_, result) in results.into_iter().flatten() {
            match result {
                Ok(w) => {
                    announce(&w.owner);
                    written.push(w);
                }
                Err(WriteFailure::Untouched(e)) => failures.push(e),
                Err(WriteFailure::Partial(e, w)) => {
                    failures.push(e);
                    written.push(w);
                }
            }
        }
    }
    // No read-back of every write: each was compare-and-swapped right before, PutTargets
    // reports refused entries, and the first write's read-back settled any race. Reading
    // all back again would cost a request per rule for a window of milliseconds.
    if failures.is_empty() {
        return Ok(moves
            .iter()
            .map(|m| Repointed {
                at: m.target.at.clone(),
                from: m.target.from.arn.clone(),
                to: m.to.clone(),
            })
            .collect());
    }
    Err(revert(aws, plan, &written, failures, progress).await)
}

async fn repoint(aws: &Aws, owner: &Owner, moves: &[&Move<'_>]) -> Result<Written, WriteFailure> {
    // Compare-and-swap: each slot must still be what the plan saw.
    let current = owner::read(aws, owner)
        .await
        .map_err(WriteFailure::Untouched)?;
    let mut changes = Vec::new();
    for m in moves {
        let at = &m.target.at;
        match find(owner, &current, at.target_id.as_deref()) {
            Some(now) if *now == m.target.raw => changes.push(Change {
                original: now.clone(),
                written: with_task_definition(owner, now, &m.to),
            }),
            Some(_) => {
                return Err(WriteFailure::Untouched(
                    Error::new(format!(
                        "{} changed since the plan was made; another deploy may be running",
                        at.describe()
                    ))
                    .hint("serialise releases with a GitHub Actions `concurrency:` group, then run `jobdeploy plan` again"),
                ));
            }
            None => {
                return Err(WriteFailure::Untouched(Error::new(format!(
                    "{} disappeared since the plan was made",
                    at.describe()
                ))));
            }
        }
    }
    let updated: Vec<Value> = changes.iter().map(|c| c.written.clone()).collect();
    let written = Written {
        owner: owner.clone(),
        changes,
    };
    match owner::write(aws, owner, &updated).await {
        Ok(()) => Ok(written),
        // FailedEntryCount may leave part of a rule written, and a call that errored may
        // still have been applied (a timeout after the write): both are reverted.
        Err(e) => Err(WriteFailure::Partial(e.context(owner.describe()), written)),
    }
}

/// Reads a written rule or schedule back: every slot we wrote must be there exactly as
/// written. A difference means someone else wrote it meanwhile (another deploy).
async fn confirm(aws: &Aws, w: &Written) -> Result<()> {
    let now = owner::read(aws, &w.owner).await?;
    for c in &w.changes {
        let id = slot_id(&w.owner, &c.written);
        if find(&w.owner, &now, id) != Some(&c.written) {
            return Err(Error::new(format!(
                "{}: read back does not match what was written; another deploy may be running",
                w.describe(&c.written)
            ))
            .hint("serialise releases with a GitHub Actions `concurrency:` group"));
        }
    }
    Ok(())
}

/// How putting one rule or schedule back went.
enum Reverted {
    /// Every target we changed is as it was (`true`: we wrote to put some back).
    Restored(bool),
    /// Some targets hold neither our write nor the original: another writer's. Left alone.
    /// (`true`: we put the others back.)
    ChangedByOthers(Vec<String>, bool),
    /// Putting back failed: the error, hints and all.
    Failed(Error),
}

/// Puts back every slot still holding what we wrote (compare-and-swap again: a slot
/// someone else wrote since is theirs now and left alone).
async fn revert_one(aws: &Aws, w: &Written) -> Reverted {
    let now = match owner::read(aws, &w.owner).await {
        Ok(now) => now,
        Err(e) => return Reverted::Failed(e),
    };
    let mut restore = Vec::new();
    let mut others = Vec::new();
    for c in &w.changes {
        let id = slot_id(&w.owner, &c.original);
        match find(&w.owner, &now, id) {
            Some(t) if *t == c.original => {}
            Some(t) if *t == c.written => restore.push(c.original.clone()),
            Some(t) => others.push(format!(
                "{} is now on {} (written by someone else; left alone)",
                w.describe(&c.original),
                task_definition_label(&w.owner, t)
            )),
            // Deleted meanwhile; putting it back would resurrect what someone removed.
            None => others.push(format!(
                "{} was removed by someone else; left alone",
                w.describe(&c.original)
            )),
        }
    }
    if !restore.is_empty()
        && let Err(e) = owner::write(aws, &w.owner, &restore).await
    {
        return Reverted::Failed(e);
    }
    if others.is_empty() {
        Reverted::Restored(!restore.is_empty())
    } else {
        Reverted::ChangedByOthers(others, !restore.is_empty())
    }
}

/// Puts back every written target. Returns the error to report, which says what failed,
/// what state things are in now, and what to run.
async fn revert(
    aws: &Aws,
    plan: &Plan,
    written: &[Written],
    failures: Vec<Error>,
    progress: &Progress,
) -> Error {
    let mut results: Vec<(&Written, Reverted)> = stream::iter(written)
        .map(|w| async move { (w, revert_one(aws, w).await) })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    results.sort_by(|a, b| a.0.owner.cmp(&b.0.owner));
    for (w, r) in &results {
        if matches!(
            r,
            Reverted::Restored(true) | Reverted::ChangedByOthers(_, true)
        ) {
            progress.line(format!("reverted {}", w.owner.describe()));
        }
    }
    let verb = plan.kind.verb();
    let mut message = String::new();
    for f in &failures {
        message.push_str(&format!("\n  {}", f.message()));
    }
    let others: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Reverted::ChangedByOthers(o, _) => Some(o),
            _ => None,
        })
        .flatten()
        .collect();
    let stuck: Vec<(&Written, &Error)> = results
        .iter()
        .filter_map(|(w, r)| match r {
            Reverted::Failed(e) => Some((*w, e)),
            _ => None,
        })
        .collect();
    if stuck.is_empty() {
        let mut text = format!("{verb} failed, nothing was left half-done:{message}");
        if others.is_empty() {
            text.push_str("\nEvery target is back on the revision it had before.");
        } else {
            text.push_str(
                "\nEvery target this run changed is back as it was, except where another writer took over:",
            );
            for o in &others {
                text.push_str(&format!("\n  {o}"));
            }
        }
        let mut err =
            Error::new(text).hint(format!("fix the cause and run `{}` again", rerun(plan)));
        for f in &failures {
            for h in f.hints() {
                err = err.hint(h.clone());
            }
        }
        return err;
    }
    // Putting back failed too: say, for every target this run touched, where it is.
    let mut text = format!("{verb} failed, and putting targets back failed too:{message}");
    text.push_str("\nTargets this run changed, and where they are now:");
    for (w, result) in &results {
        for c in &w.changes {
            let label = |slot: &Value| task_definition_label(&w.owner, slot);
            let state = match result {
                Reverted::Restored(_) => format!("{} (put back)", label(&c.original)),
                Reverted::ChangedByOthers(..) => "see above".to_string(),
                Reverted::Failed(e) => format!(
                    "{} as written, or still {} (unknown: putting back failed: {})",
                    label(&c.written),
                    label(&c.original),
                    e.message()
                ),
            };
            text.push_str(&format!("\n  {}: {state}", w.describe(&c.original)));
        }
    }
    for o in &others {
        text.push_str(&format!("\n  {o}"));
    }
    let mut err = Error::new(text)
        .hint(format!(
            "run `{}` again: it converges from any mix of old and new",
            rerun(plan)
        ))
        .split();
    for f in &failures {
        for h in f.hints() {
            err = err.hint(h.clone());
        }
    }
    // Why putting back failed says what to do about it too (once, when a failure said it).
    for (_, e) in &stuck {
        for h in e.hints() {
            if !err.hints().contains(h) {
                err = err.hint(h.clone());
            }
        }
    }
    err
}
