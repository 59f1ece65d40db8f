use std::process::ExitCode;

use crate::apply::{self, DeployInput};
use crate::cli::{Cli, DeployArgs, PlanArgs};
use crate::error::Result;
use crate::progress::Progress;
use crate::report::{self, Format, Style};

pub async fn run(cli: &Cli, args: &DeployArgs) -> Result<ExitCode> {
    if args.dry_run {
        return super::plan::run(cli, &PlanArgs { exit_code: false }).await;
    }
    let progress = Progress::new(cli.quiet);
    let planned = super::make_plan(cli, &progress, super::Preflight::Image).await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    // Smoke names are checked against the plan's targets before anything is written.
    let mut smoke_names = planned.local.config.config.smoke.clone();
    smoke_names.extend(args.smoke.iter().cloned());
    let smokes =
        crate::run::smoke::resolve(&smoke_names, plan, &planned.local.config.config.cluster)?;
    if cli.format == Format::Human && !cli.quiet {
        // The plan is what the log reader needs first; the outcome follows.
        super::print(&report::plan(plan, Format::Human, Style::detect(), masker));
    }
    let source_commit = std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty());
    let aws = &planned.aws;
    let apply = apply::deploy_gated(
        aws,
        DeployInput {
            plan,
            source_commit,
        },
        &progress,
        |registered| async move {
            crate::run::smoke::run_all(aws, &smokes, &registered, &progress).await
        },
    );
    super::finish_apply(cli, &planned.aws, plan, masker, &progress, apply).await
}
