use std::process::ExitCode;

use super::{Context, Preflight};
use crate::cli::PlanArgs;
use crate::error::Result;
use crate::github;
use crate::report;

pub async fn run(ctx: &Context<'_>, args: &PlanArgs) -> Result<ExitCode> {
    let planned = ctx.plan(Preflight::Image).await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    super::report_calls(ctx, &planned.aws, plan);
    if ctx.quiet_human() {
        super::print(&format!("{}\n", plan.summary_line()));
    } else {
        super::print(&report::plan(plan, ctx.format, ctx.style, masker));
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
