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
    // The checks deploy will run before writing; shown only when one is not `ok`, so a
    // clean plan reads as before.
    let checks = if planned.local.config.config.verify.before_deploy {
        super::verify::of_plan(&planned.aws, plan).await?.notes()
    } else {
        crate::verify::Report::default()
    };
    let k8s = k8s_looks(ctx, &planned).await;
    let k8s_text = |markdown: bool| {
        k8s.as_ref().map(|(gate, looks)| {
            report::k8s::plan_block(
                *gate,
                &plan.release.id,
                planned.local.release.manifest_commit.as_deref(),
                looks,
                markdown,
            )
        })
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
        if ctx.format != report::Format::Json
            && let Some(block) = k8s_text(ctx.format == report::Format::Markdown)
        {
            crate::progress::print(&block);
        }
    }
    let mut markdown = report::plan_markdown(plan, masker);
    if !checks.findings.is_empty() {
        markdown = format!(
            "{markdown}\n{}",
            masker.mask(&report::verify::markdown(&checks))
        );
    }
    if let Some(block) = k8s_text(true) {
        markdown.push_str(&block);
    }
    github::publish(&markdown, &plan.release.id, plan.has_changes())?;
    Ok(if args.exit_code && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

type Looks = Vec<(String, Result<crate::k8s::gate::Look, crate::error::Error>)>;

/// With `[k8s]`: the gate deploy will run and what k8s runs now (one look per source). A
/// source that cannot be asked is a warning here: plan writes nothing either way.
async fn k8s_looks(
    ctx: &Context<'_>,
    planned: &super::Planned,
) -> Option<(Option<crate::k8s::gate::GateRun>, Looks)> {
    let config = &planned.local.config;
    config.k8s.as_ref()?;
    let release = &planned.local.release;
    let gate = crate::k8s::gate::GateRun::resolve(config.k8s.as_ref(), None, false);
    let looks = match crate::k8s::gate::for_release(
        config,
        release,
        release.manifest_commit.as_deref(),
        Some(planned.aws.sdk.clone()),
        &ctx.progress,
    ) {
        Ok(sources) => crate::k8s::gate::look_once(&sources).await,
        Err(e) => {
            ctx.progress.warn(format!("k8s: {}", e.message()));
            Vec::new()
        }
    };
    Some((gate, looks))
}
