use std::process::ExitCode;

use super::{Context, Preflight};
use crate::apply::{self, DeployInput};
use crate::cli::{DeployArgs, PlanArgs};
use crate::error::Result;
use crate::report::{self, Format};

pub async fn run(ctx: &Context<'_>, args: &DeployArgs) -> Result<ExitCode> {
    if args.dry_run {
        return super::plan::run(ctx, &PlanArgs { exit_code: false }).await;
    }
    // The gate unless `--no-verify` (or `[verify] before_deploy = false`) turns it off.
    let planned = ctx
        .plan(Preflight::Image {
            verify: !args.no_verify,
        })
        .await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    // Smoke names are checked against the plan's targets before anything is written.
    let mut smoke_names = planned.local.config.config.smoke.clone();
    smoke_names.extend(args.smoke.iter().cloned());
    let smokes =
        crate::run::smoke::resolve(&smoke_names, plan, &planned.local.config.config.cluster)?;
    if ctx.format == Format::Human && !ctx.cli.quiet {
        // The plan is what the log reader needs first; the outcome follows.
        crate::progress::print(&report::plan(plan, Format::Human, ctx.style, masker));
    }
    if let Some(facts) = &planned.facts {
        let checks = super::verify::of_plan(&planned.aws, plan, facts);
        super::verify::gate(ctx, &checks, masker)?;
    }
    let source_commit = std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty());
    let aws = &planned.aws;
    let apply = apply::deploy_gated(
        aws,
        DeployInput {
            plan,
            source_commit,
        },
        &ctx.progress,
        |registered| async move {
            crate::run::smoke::run_all(aws, &smokes, &registered, &ctx.progress).await
        },
    );
    super::finish_apply(ctx, &planned.aws, plan, masker, apply).await
}
