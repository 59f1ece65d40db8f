//! Executes a plan: check the image, register changed families, repoint every target by
//! compare-and-swap read–modify–write (the first write read back before any other, a last
//! round of registrations made while it settles); on any failure put back every target
//! already repointed, exactly as it was.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::aws::ecs;
use crate::aws::pace::{CallStats, Group};
use crate::aws::{Aws, ecr};
use crate::error::{Error, Result};
use crate::model::{
    ADOPTED, LiveTaskDef, TAG_IMAGE_DIGEST, TAG_MANIFEST_COMMIT, TAG_PREFIX, TAG_REGISTERED_AT,
    TAG_RELEASE, TAG_SOURCE_COMMIT, Trigger, format_time, split_tags,
};
use crate::plan::{
    Destination, FamilyChange, FamilyPlan, Plan, PlanKind, TargetAction, TargetPlan,
};
use crate::progress::Progress;

mod repoint;

use repoint::{Move, repoint_all};

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
///
/// The first rule or schedule to change (the claim, see `repoint::repoint_all`) is written
/// once the revisions it runs are registered; a last round of the other families may
/// register while its write settles (see [`settle_round`]). Nothing else changes before the
/// claim is read back, and a family of that round that fails to register puts the claim
/// back.
pub async fn deploy(aws: &Aws, input: DeployInput<'_>, progress: &Progress) -> Result<Outcome> {
    deploy_with(
        aws,
        input,
        progress,
        None::<fn(Vec<Registered>) -> std::future::Ready<Result<()>>>,
    )
    .await
}

/// [`deploy`] with a gate between registering and the first repoint (`deploy --smoke`): it
/// gets everything registered; its error stops the deploy with no target changed.
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
    deploy_with(aws, input, progress, Some(gate)).await
}

async fn deploy_with<G, F>(
    aws: &Aws,
    input: DeployInput<'_>,
    progress: &Progress,
    gate: Option<G>,
) -> Result<Outcome>
where
    G: FnOnce(Vec<Registered>) -> F,
    F: std::future::Future<Output = Result<()>>,
{
    let plan = input.plan;
    let (claim, others) = repoint::split_claim(changing(plan));
    let registering: Vec<&FamilyPlan> = plan
        .families
        .iter()
        .filter(|f| f.change == FamilyChange::Register)
        .collect();
    // With a gate, everything registers first: the gate (the smoke tasks) runs the new
    // revisions. Without one, a round of families may register while the claim settles.
    let (now, later) = match gate {
        None => settle_round(aws, registering, &claim),
        Some(_) => (registering, Vec::new()),
    };
    // Adoption first: a revision registered for this release would make the next deploy
    // take jobdeploy as having released already, and an adoption cut short by a failure
    // would then never be completed.
    adopt(aws, plan, progress).await.map_err(|e| {
        e.note("No target was changed and nothing was registered.")
            .hint("fix the cause and run `jobdeploy deploy` again")
    })?;
    let (registered, failed) = register(aws, &input, now).await;
    say_registered(progress, &registered);
    if let Some(err) = failed {
        return Err(
            with_registered_note(err.note("No target was changed."), &listed(&registered))
                .hint("fix the cause and run `jobdeploy deploy` again"),
        );
    }
    if let Some(gate) = gate {
        let list = listed(&registered);
        gate(list.clone())
            .await
            .map_err(|e| with_registered_note(e.note("No target was changed."), &list))?;
    }
    let claim_moves = moves(&claim, &by_family(&registered))
        .map_err(|e| with_registered_note(e, &listed(&registered)))?;
    let registered_later = std::sync::Mutex::new(Vec::new());
    let rest = async {
        let (done, failed) = register(aws, &input, later).await;
        say_registered(progress, &done);
        let mut all = by_family(&registered);
        all.extend(by_family(&done));
        let rest_moves = moves(&others, &all);
        if let Ok(mut later) = registered_later.lock() {
            *later = done;
        }
        match failed {
            Some(err) => Err(err),
            None => rest_moves,
        }
    };
    let repointed = repoint_all(aws, plan, claim_moves, rest, progress).await;
    let mut all = registered;
    if let Ok(mut later) = registered_later.lock() {
        all.append(&mut later);
    }
    all.sort_by(|a, b| a.family.cmp(&b.family));
    let registered = listed(&all);
    let repointed = repointed.map_err(|e| with_registered_note(e, &registered))?;
    Ok(Outcome {
        kind: plan.kind,
        release: plan.release.id.clone(),
        registered,
        repointed,
        aws_calls: aws.pacer.stats(),
    })
}

/// Which families register before the claim is written, and which while it settles (when
/// the settle wait would otherwise be idle). A failure after the claim puts the claim back,
/// so only registrations ECS has all but accepted already go then: of families the claim
/// does not run, whose body differs from its live revision in container images and
/// environment values alone (`FamilyPlan::same_shape`: the body ECS accepted, with new
/// strings), and only when the claim registers one of its own first (so a permission or
/// quota problem shows before any target changes). And only one round of them
/// (`--concurrency`), when the RegisterTaskDefinition budget covers every registration
/// without waiting: unless a call is retried, the claim runs the release alone for its
/// settle wait and a round trip, as it did when everything registered first.
fn settle_round<'a>(
    aws: &Aws,
    registering: Vec<&'a FamilyPlan>,
    claim: &[&TargetPlan],
) -> (Vec<&'a FamilyPlan>, Vec<&'a FamilyPlan>) {
    let budget = aws.pacer.available(Group::EcsTaskDefinitionWrites);
    let claim_runs = |f: &FamilyPlan| claim.iter().any(|t| t.family == f.family && is_new(t));
    // A claim that registers nothing of its own: nothing would have been registered before
    // the first write, and what fails every registration (a permission) would fail after it.
    if !registering.iter().any(|f| claim_runs(f)) || registering.len() as f64 > budget {
        return (registering, Vec::new());
    }
    let (mut later, mut now): (Vec<_>, Vec<_>) = registering
        .into_iter()
        .partition(|f| f.same_shape && !claim_runs(f));
    now.extend(later.drain(..later.len().saturating_sub(aws.concurrency)));
    now.sort_by(|a, b| a.family.cmp(&b.family));
    (now, later)
}

/// The targets the plan changes, in plan order.
fn changing(plan: &Plan) -> Vec<&TargetPlan> {
    plan.targets
        .iter()
        .filter(|t| t.action != TargetAction::Keep)
        .collect()
}

fn is_new(target: &TargetPlan) -> bool {
    matches!(target.to, Destination::New { .. })
}

fn by_family(registered: &[LiveTaskDef]) -> BTreeMap<&str, &LiveTaskDef> {
    registered
        .iter()
        .map(|td| (td.family.as_str(), td))
        .collect()
}

fn listed(registered: &[LiveTaskDef]) -> Vec<Registered> {
    registered
        .iter()
        .map(|td| Registered {
            family: td.family.clone(),
            revision: td.revision,
            arn: td.arn.clone(),
        })
        .collect()
}

/// Executes a rollback plan: every target to an existing revision; nothing is registered.
pub async fn rollback(aws: &Aws, plan: &Plan, progress: &Progress) -> Result<Outcome> {
    let (claim, others) = repoint::split_claim(changing(plan));
    let none = BTreeMap::new();
    let (claim, others) = (moves(&claim, &none)?, moves(&others, &none));
    let repointed = repoint_all(aws, plan, claim, async { others }, progress).await?;
    Ok(Outcome {
        kind: plan.kind,
        release: plan.release.id.clone(),
        registered: Vec::new(),
        repointed,
        aws_calls: aws.pacer.stats(),
    })
}

/// Each target with the ARN it goes to: an existing revision, or the one this run
/// registered for its family.
fn moves<'a>(
    targets: &[&'a TargetPlan],
    registered: &BTreeMap<&str, &LiveTaskDef>,
) -> Result<Vec<Move<'a>>> {
    targets
        .iter()
        .map(|&target| {
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
pub(crate) fn rerun(plan: &Plan) -> String {
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

/// Registers `families` side by side: what was registered (in family order), and the first
/// failure.
async fn register(
    aws: &Aws,
    input: &DeployInput<'_>,
    families: Vec<&FamilyPlan>,
) -> (Vec<LiveTaskDef>, Option<Error>) {
    let plan = input.plan;
    let results: Vec<(&str, Result<LiveTaskDef>)> = stream::iter(families)
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
            tags.push((TAG_REGISTERED_AT.into(), format_time(now_seconds())));
            (
                family.family.as_str(),
                ecs::register(&aws.ecs, &body, &tags).await,
            )
        })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    let mut ok = Vec::new();
    // The failure reported is the first family's that failed, not the first to answer.
    let mut failed: Option<(&str, Error)> = None;
    for (family, result) in results {
        match result {
            Ok(td) => ok.push(td),
            Err(e) if failed.as_ref().is_none_or(|(f, _)| family < *f) => {
                failed = Some((family, e));
            }
            Err(_) => {}
        }
    }
    let failed = failed.map(|(_, e)| e);
    // Reported in family order (each batch: before the claim, then while it settles), not in
    // the order the calls finished: two runs diff cleanly.
    ok.sort_by(|a, b| a.family.cmp(&b.family));
    (ok, failed)
}

fn say_registered(progress: &Progress, registered: &[LiveTaskDef]) {
    for td in registered {
        progress.line(format!("registered {}:{}", td.family, td.revision));
    }
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
        r?;
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
