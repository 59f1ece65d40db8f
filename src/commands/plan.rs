use std::process::ExitCode;

use super::{Context, Preflight};
use crate::cli::PlanArgs;
use crate::error::Result;
use crate::github;
use crate::report;

pub async fn run(ctx: &Context<'_>, args: &PlanArgs) -> Result<ExitCode> {
    let planned = ctx.plan(Preflight::Image { verify: true }).await?;
    let plan = &planned.plan;
    let masker = &planned.local.masker;
    // The checks deploy will run before writing (read beside the plan's reads unless
    // `[verify] before_deploy = false`); shown only when one is not `ok`, so a clean plan
    // reads as before.
    let checks = match &planned.facts {
        Some(facts) => super::verify::of_plan(&planned.aws, plan, facts).notes(),
        None => crate::verify::Report::default(),
    };
    super::report_calls(ctx, &planned.aws, plan);
    let style = ctx.style;
    if ctx.quiet_human() {
        crate::progress::print(&format!("{}\n", plan.summary_line()));
    } else {
        crate::progress::print(&report::plan(plan, ctx.format, style, masker));
        if !checks.findings.is_empty() {
            match ctx.format {
                report::Format::Human => {
                    crate::progress::print(&masker.mask(&format!(
                        "\nChecks deploy will run first (jobdeploy verify):\n{}",
                        report::verify::human(&checks, style)
                    )));
                }
                report::Format::Markdown => {
                    crate::progress::print(
                        &masker.mask(&format!("\n{}", report::verify::markdown(&checks))),
                    );
                }
                // The plan's JSON keeps its shape; `jobdeploy verify --format json` has them.
                report::Format::Json => {}
            }
        }
    }
    let mut markdown = report::plan_markdown(plan, masker);
    if !checks.findings.is_empty() {
        markdown = format!(
            "{markdown}\n{}",
            masker.mask(&report::verify::markdown(&checks))
        );
    }
    github::publish(&markdown, &plan.release.id, plan.has_changes())?;
    Ok(if args.exit_code && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
