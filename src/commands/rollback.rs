use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use super::Context;
use crate::apply;
use crate::cli::RollbackArgs;
use crate::error::{Error, Result};
use crate::github;
use crate::history::{
    History, Live, Reader, ReleaseInfo, Slot, Want, find_release, is_commit_prefix,
};
use crate::live::LiveTarget;
use crate::manifest::Release;
use crate::plan::{Plan, Revision};
use crate::report::{self, Format};
use crate::secrets::Masker;

pub const PREVIOUS: &str = "previous";

pub async fn run(ctx: &Context<'_>, args: &RollbackArgs) -> Result<ExitCode> {
    let wait_for = super::wait_for_k8s(args.wait_for_k8s.as_ref())?;
    let account = ctx.account().await?;
    super::require_k8s(&account.config, wait_for.is_some())?;
    let mut reader = Reader::new(&account.aws, &account.family_names());
    // Targets (EventBridge, Scheduler) and the newest revisions (ECS) come from different
    // quota budgets: read them side by side.
    let (live, first_round) = tokio::join!(account.targets(ctx), reader.read_first_round());
    let live = live?;
    first_round?;
    let targets = &live.targets;
    reader
        .read_until(|h| Want {
            horizon: horizon(h, targets, &args.release),
        })
        .await?;
    let history = &reader.history;
    let releases = history.releases();
    let chosen = choose(history, &releases, targets, &args.release)?;
    let revisions = revisions_for_targets(chosen, &releases, targets)?;
    let release = Release::recorded(
        &chosen.id,
        account.config.image_name()?,
        chosen.manifest_commit.clone(),
    );
    let plan = Plan::rollback(
        &release,
        &account.families,
        &revisions,
        targets,
        &live.states,
    );
    // Nothing in a rollback plan comes from the environment, so there is nothing to mask.
    let masker = Masker::new(Vec::new());
    if ctx.quiet_human() && args.dry_run {
        crate::progress::print(&format!("{}\n", plan.summary_line()));
    } else if args.dry_run || (ctx.format == Format::Human && !ctx.cli.quiet) {
        crate::progress::print(&report::plan(&plan, ctx.format, ctx.style, &masker));
    }
    if args.dry_run {
        github::publish(
            &report::plan_markdown(&plan, &masker),
            &plan.release.id,
            plan.has_changes(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    // Only when asked: k8s runs the rolled-back release's image (its commit is not checked:
    // a rollback in k8s is usually a new commit, or a sync to an old one).
    let mut k8s_line = None;
    if wait_for.is_some() && release.id == crate::model::ADOPTED {
        return Err(Error::new(
            "rollback adopted --wait-for-k8s: the adopted release has no image tag to wait for",
        )
        .hint("run it without --wait-for-k8s"));
    }
    if let Some(gate) = wait_for.and_then(|w| {
        crate::k8s::gate::GateRun::resolve(account.config.k8s.as_ref(), Some(w), false)
    }) {
        let sources = crate::k8s::gate::for_release(
            &account.config,
            &release,
            None,
            Some(account.aws.sdk.clone()),
            &ctx.progress,
        )
        .map_err(|e| e.note(crate::k8s::gate::nothing_written()))?;
        match crate::k8s::gate::run(&sources, gate, &plan.release.id, &ctx.progress).await? {
            crate::k8s::gate::GateOutcome::Done { waited, sources } => {
                let line = report::k8s::waited_line(waited, &sources);
                ctx.progress.line(&line);
                k8s_line = Some(line);
            }
            crate::k8s::gate::GateOutcome::Superseded { sources, .. } => {
                return Err(Error::new(report::k8s::superseded_line(
                    &plan.release.id,
                    &sources,
                )));
            }
        }
    }
    let apply = apply::rollback(&account.aws, &plan, &ctx.progress);
    super::finish_apply(
        ctx,
        &account.aws,
        &plan,
        &masker,
        k8s_line.as_deref(),
        apply,
    )
    .await
}

/// How far back to read: to the named release (or the one before the live one), and to the
/// revisions targets are on. `None` while the release has not been seen.
fn horizon(history: &History, targets: &[LiveTarget], wanted: &str) -> Option<f64> {
    let on = history.targets_horizon(targets)?;
    let releases = history.releases();
    let time = if wanted == PREVIOUS {
        if !history.reached(on) {
            return Some(on);
        }
        match history.live(&releases, targets) {
            Live::Release(live) => {
                let position = releases.iter().position(|r| r.id == live)?;
                releases.get(position + 1)?.time
            }
            // Nothing to step back from; `choose` says why.
            _ => return Some(f64::INFINITY),
        }
    } else {
        match find_release(&releases, wanted) {
            Ok(found) => found?.time,
            // Ambiguous already: reading further cannot make it less so; `choose` says why.
            Err(_) => return Some(f64::INFINITY),
        }
    };
    Some(time.min(on))
}

fn choose<'a>(
    history: &History,
    releases: &'a [ReleaseInfo],
    targets: &[LiveTarget],
    wanted: &str,
) -> Result<&'a ReleaseInfo> {
    let families = target_families(targets);
    if wanted == PREVIOUS {
        let live = history.live(releases, targets);
        let Live::Release(id) = &live else {
            return Err(Error::new(format!(
                "cannot roll back to the previous release: live is {}",
                live.describe()
            ))
            .hint("name the release: `jobdeploy rollback <release>`")
            .hint(usable_list(releases, &families)));
        };
        let position = releases.iter().position(|r| &r.id == id);
        return position
            .and_then(|p| releases.get(p + 1))
            .ok_or_else(|| {
                Error::new(format!(
                    "cannot roll back to the previous release: release {id} is live and no older release exists"
                ))
            });
    }
    find_release(releases, wanted)?.ok_or_else(|| {
        let what = if is_commit_prefix(wanted) {
            "release or manifest commit"
        } else {
            "release"
        };
        Error::new(format!(
            "{what} `{wanted}` not found: no revision of {} carries it",
            family_list(history)
        ))
        .hint(usable_list(releases, &families))
    })
}

/// The release's revision for every family a target of ours runs; refused when one is
/// missing or INACTIVE, so no target is ever pointed at a revision that cannot run.
fn revisions_for_targets(
    release: &ReleaseInfo,
    releases: &[ReleaseInfo],
    targets: &[LiveTarget],
) -> Result<BTreeMap<String, Revision>> {
    let families = target_families(targets);
    let problems = release.unusable(&families);
    if !problems.is_empty() {
        return Err(Error::new(format!(
            "cannot roll back to release {}: {}",
            release.id,
            problems.join("; ")
        ))
        .note("Nothing was changed.")
        .hint(usable_list(releases, &families)));
    }
    Ok(release
        .revisions
        .iter()
        .filter_map(|(family, slot)| match slot {
            Slot::Revision { revision, arn, .. } => Some((
                family.clone(),
                Revision {
                    arn: arn.clone(),
                    revision: *revision,
                },
            )),
            _ => None,
        })
        .collect())
}

fn target_families(targets: &[LiveTarget]) -> BTreeSet<String> {
    targets
        .iter()
        .map(|t| t.task_definition.family.clone())
        .collect()
}

fn family_list(history: &History) -> String {
    let names: Vec<&str> = history.families.keys().map(String::as_str).collect();
    names.join(", ")
}

/// The releases a rollback can use, newest first.
fn usable_list(releases: &[ReleaseInfo], families: &BTreeSet<String>) -> String {
    let usable: Vec<String> = releases
        .iter()
        .filter(|r| r.unusable(families).is_empty())
        .take(10)
        .map(|r| match &r.time_text {
            Some(time) => format!("{} ({time})", r.id),
            None => r.id.clone(),
        })
        .collect();
    if usable.is_empty() {
        "no release can be rolled back to: none has an ACTIVE revision of every family in use"
            .to_string()
    } else {
        format!(
            "releases that can be used, newest first: {}",
            usable.join(", ")
        )
    }
}
