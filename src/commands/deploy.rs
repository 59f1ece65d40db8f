use std::process::ExitCode;

use super::{Context, Preflight};
use crate::apply::{self, DeployInput};
use crate::cli::{DeployArgs, PlanArgs};
use crate::error::Result;
use crate::k8s::gate::{GateOutcome, GateRun};
use crate::report::{self, Format};

pub async fn run(ctx: &Context<'_>, args: &DeployArgs) -> Result<ExitCode> {
    if args.dry_run {
        return super::plan::run(ctx, &PlanArgs { exit_code: false }).await;
    }
    let wait_for = super::wait_for_k8s(args.wait_for_k8s.as_ref())?;
    // The gate unless `--no-verify` (or `[verify] before_deploy = false`) turns it off.
    let planned = ctx
        .plan(Preflight::Image {
            verify: !args.no_verify,
        })
        .await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    let config = &planned.local.config;
    super::require_k8s(config, wait_for.is_some())?;
    // Smoke names are checked against the plan's targets before anything is written.
    let mut smoke_names = config.config.smoke.clone();
    smoke_names.extend(args.smoke.iter().cloned());
    let smokes = crate::run::smoke::resolve(&smoke_names, plan, &config.config.cluster)?;
    crate::run::smoke::check_inputs(&planned.aws, &smokes).await?;
    if ctx.format == Format::Human && !ctx.cli.quiet {
        // The plan is what the log reader needs first; the outcome follows.
        crate::progress::print(&report::plan(plan, Format::Human, ctx.style, masker));
    }
    if let Some(facts) = &planned.facts {
        let checks = super::verify::of_plan(&planned.aws, plan, facts);
        super::verify::gate(ctx, &checks, masker)?;
    }
    // The k8s gate: after plan and verify, before the first write (and so before any smoke
    // run), so no batch job starts on the release before k8s runs it.
    let mut k8s_line = None;
    if let Some(gate) = GateRun::resolve(config.k8s.as_ref(), wait_for, args.no_k8s_gate) {
        let release = &planned.local.release;
        let sources = crate::k8s::gate::for_release(
            config,
            release,
            release.manifest_commit.as_deref(),
            Some(planned.aws.sdk.clone()),
            &ctx.progress,
        )
        .map_err(|e| e.note(crate::k8s::gate::nothing_written()))?;
        match crate::k8s::gate::run(&sources, gate, &plan.release.id, &ctx.progress).await? {
            GateOutcome::Done { waited, sources } => {
                let line = report::k8s::waited_line(waited, &sources);
                ctx.progress.line(&line);
                k8s_line = Some(line);
            }
            GateOutcome::Superseded { sources, .. } => {
                let line = report::k8s::superseded_line(&plan.release.id, &sources);
                ctx.progress.warn(&line);
                crate::progress::print(&format!("{line}\n"));
                crate::github::publish(&format!("{line}\n"), &plan.release.id, false)?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let source_commit = std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty());
    let aws = &planned.aws;
    let input = DeployInput {
        plan,
        source_commit,
    };
    // Smoke tasks run every registered revision before any target changes; without them the
    // first target changes once what it runs is registered (see `apply::deploy`).
    let apply = if smokes.is_empty() {
        futures::future::Either::Left(apply::deploy(aws, input, &ctx.progress))
    } else {
        futures::future::Either::Right(apply::deploy_gated(
            aws,
            input,
            &ctx.progress,
            |registered| async move {
                crate::run::smoke::run_all(aws, &smokes, &registered, &ctx.progress).await
            },
        ))
    };
    super::finish_apply(ctx, &planned.aws, plan, masker, k8s_line.as_deref(), apply).await
}
