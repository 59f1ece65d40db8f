use std::process::ExitCode;

use crate::cli::{Cli, PlanArgs};
use crate::error::Result;
use crate::github;
use crate::progress::Progress;
use crate::report::{self, Style};

pub async fn run(cli: &Cli, args: &PlanArgs) -> Result<ExitCode> {
    let progress = Progress::new(cli.quiet);
    let planned = super::make_plan(cli, &progress, super::Preflight::Image).await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    super::report_calls(cli, &planned.aws, plan, &progress);
    if super::quiet_human(cli) {
        super::print(&format!("{}\n", plan.summary_line()));
    } else {
        super::print(&report::plan(plan, cli.format, Style::detect(), masker));
    }
    github::publish(
        &report::plan_markdown(plan, masker),
        &plan.release.id,
        plan.has_changes(),
    )?;
    Ok(if args.exit_code && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
