//! `jobdeploy verify`: every rendered task definition and every target of ours, checked
//! read-only; and the same checks of what a deploy changes, which `deploy` runs before its
//! first write and `plan` shows.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::Context;
use crate::aws::Aws;
use crate::error::Result;
use crate::github;
use crate::model::plural;
use crate::plan::{FamilyChange, Plan, TargetAction};
use crate::progress::print;
use crate::report;
use crate::verify::{self, Report, Scope, TargetSpec};

pub async fn run(ctx: &Context<'_>) -> Result<ExitCode> {
    // The plan says which revision each target runs after a deploy of this release: the
    // one its role must be allowed to run.
    let planned = ctx.plan(super::Preflight::None).await?;
    let (local, aws, plan) = (&planned.local, &planned.aws, &planned.plan);
    let scope = Scope {
        families: local
            .rendered
            .iter()
            .map(|r| (r.family.as_str(), &r.body))
            .collect(),
        targets: specs(plan, false),
        bodies: local
            .rendered
            .iter()
            .map(|r| (r.family.as_str(), &r.body))
            .collect(),
        region: aws.region.clone(),
    };
    let report = verify::verify(aws, &scope).await?;
    if ctx.cli.verbose > 0 {
        ctx.progress
            .line(crate::report::calls::summary(&aws.pacer.stats(), 0));
    }
    let masker = &local.masker;
    if ctx.quiet_human() {
        print(&format!("{}\n", report::verify::summary_line(&report)));
    } else {
        print(&masker.mask(&report::verify::verify(&report, ctx.format, ctx.style)));
    }
    github::summary(&masker.mask(&report::verify::markdown(&report)))?;
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Before deploy's first write: a failed check refuses the deploy (exit 1, nothing
/// written), printing every finding that is not `ok`; warnings are shown and let it go on.
pub fn gate(ctx: &Context<'_>, checks: &Report, masker: &crate::secrets::Masker) -> Result<()> {
    if !checks.has_notes() {
        return Ok(());
    }
    let notes = checks.notes();
    if checks.failed() {
        print(&masker.mask(&report::verify::verify(&notes, ctx.format, ctx.style)));
        github::summary(&masker.mask(&report::verify::markdown(&notes)))?;
        return Err(crate::error::Error::new(format!(
            "verify: {} of this deploy failed; nothing was written",
            plural(checks.totals.failed, "check", "checks")
        ))
        .hint("fix what each FAIL line names, then deploy again; or skip the checks with --no-verify (or [verify] before_deploy = false)"));
    }
    if ctx.format == report::Format::Human && !ctx.cli.quiet {
        print(&masker.mask(&report::verify::human(&notes, ctx.style)));
    }
    Ok(())
}

/// The checks of what `plan` changes: the families it registers and the targets it
/// repoints (with the task definitions they will run). What deploy runs before writing.
/// `facts` are what was read beside the plan's own reads (`Preflight::Image { verify }`),
/// and the permissions simulated once the plan was known ([`simulate_plan`]).
pub fn of_plan(aws: &Aws, plan: &Plan, facts: &verify::Facts) -> Report {
    verify::check(&plan_scope(aws, plan), facts)
}

/// What the plan's checks cover: the families it registers, the targets it repoints.
fn plan_scope<'a>(aws: &Aws, plan: &'a Plan) -> Scope<'a> {
    let bodies: BTreeMap<&str, &serde_json::Value> = plan
        .families
        .iter()
        .map(|f| (f.family.as_str(), &f.body))
        .collect();
    Scope {
        families: plan
            .families
            .iter()
            .filter(|f| f.change == FamilyChange::Register)
            .map(|f| (f.family.as_str(), &f.body))
            .collect(),
        targets: specs(plan, true),
        bodies,
        region: aws.region.clone(),
    }
}

/// The permission simulations of the plan's checks, into `facts`: they need the revision
/// each target runs after the deploy, which only the plan knows, so they run once it is
/// computed — one `SimulatePrincipalPolicy` per role and request context
/// ([`verify::permissions::requests`]), all side by side: one IAM round trip after the plan.
pub async fn simulate_plan(aws: &Aws, plan: &Plan, facts: &mut verify::Facts) -> Result<()> {
    facts.permissions = verify::gather::simulate(aws, &plan_scope(aws, plan), facts).await?;
    Ok(())
}

/// The plan's targets (only those it repoints, when `changed`) as verify reads them, each
/// with the revision it runs after the deploy.
fn specs(plan: &Plan, changed: bool) -> Vec<TargetSpec> {
    plan.targets
        .iter()
        .filter(|t| !changed || t.action != TargetAction::Keep)
        .map(|t| TargetSpec::of(&t.at, &t.raw, &t.family).running(t.revision_arn()))
        .collect()
}
