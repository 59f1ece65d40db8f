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
    if cli.format == Format::Human && !cli.quiet {
        // The plan is what the log reader needs first; the outcome follows.
        super::print(&report::plan(plan, Format::Human, Style::detect(), masker));
    }
    if planned.local.config.config.verify.before_deploy && !args.no_verify {
        let checks = super::verify::of_plan(&planned.aws, plan).await?;
        super::verify::gate(cli, &checks, masker)?;
    }
    let source_commit = std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty());
    let apply = apply::deploy(
        &planned.aws,
        DeployInput {
            plan,
            source_commit,
        },
        &progress,
    );
    super::finish_apply(cli, &planned.aws, plan, masker, &progress, apply).await
}
