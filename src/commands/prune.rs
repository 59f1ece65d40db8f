use std::collections::BTreeSet;
use std::process::ExitCode;

use futures::{StreamExt, stream};
use serde_json::Value;

use super::Context;
use crate::aws::{Aws, ecs, events};
use crate::cli::PruneArgs;
use crate::error::{Error, Result};
use crate::history::{Reader, Want};
use crate::live::{self, Found, Reach, Scope};
use crate::model::{Owner, TaskDefRef};
use crate::progress::Progress;
use crate::prune::{self, PruneEntry, PruneOutcome, Users};
use crate::report;

pub async fn run(ctx: &Context<'_>, args: &PruneArgs) -> Result<ExitCode> {
    // No targets of ours needed: what is in use is read from the whole account below.
    let account = ctx.account().await?;
    let aws = &account.aws;
    let keep = usize::from(args.keep);
    let families = account.family_names();
    let mut reader = Reader::new(aws, &families);
    reader
        .read_until(|h| Want {
            horizon: h.releases().get(keep - 1).map(|r| r.time),
        })
        .await?;
    let older = reader.older_active().await?;
    let users = users(aws, &families.iter().cloned().collect())
        .await
        .map_err(|e| {
            e.note("Nothing was deregistered: prune must see every rule and schedule that could use a revision.")
        })?;
    let plan = prune::plan(&reader.history, keep, &older, &users);
    let failed = if args.dry_run {
        Vec::new()
    } else {
        deregister_all(aws, &plan.deregister, &ctx.progress).await
    };
    let outcome = PruneOutcome {
        plan,
        dry_run: args.dry_run,
        failed,
    };
    super::print(&report::releases::prune(&outcome, ctx.format, ctx.style));
    if outcome.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<String> = outcome
        .failed
        .iter()
        .map(|(label, e)| format!("{label}: {e}"))
        .collect();
    Err(Error::new(format!(
        "could not deregister {} of {} revisions:\n  {}",
        outcome.failed.len(),
        outcome.plan.deregister.len(),
        list.join("\n  ")
    ))
    .hint("run `jobdeploy prune` again: revisions already deregistered are not listed again"))
}

async fn deregister_all(
    aws: &Aws,
    doomed: &[PruneEntry],
    progress: &Progress,
) -> Vec<(String, String)> {
    let mut results: Vec<(&PruneEntry, String, Option<String>)> = stream::iter(doomed)
        .map(|entry| async move {
            let label = entry.label();
            let failed = ecs::deregister(&aws.ecs, &label)
                .await
                .err()
                .map(|e| e.message().to_string());
            (entry, label, failed)
        })
        .buffer_unordered(aws.concurrency)
        .collect()
        .await;
    // In revision order, not the order the calls finished: two runs diff cleanly.
    results.sort_by(|a, b| (&a.0.family, a.0.revision).cmp(&(&b.0.family, b.0.revision)));
    let mut failed = Vec::new();
    for (_, label, error) in results {
        match error {
            None => progress.line(format!("deregistered {label}")),
            Some(e) => failed.push((label, e)),
        }
    }
    failed
}

/// Every rule target (any bus, any cluster) and every schedule (any group) in the account
/// that runs one of `families`, read by the same trigger reader as everything else
/// ([`live::scan`]), so no kind of trigger is seen by the plan and missed here.
async fn users(aws: &Aws, families: &BTreeSet<String>) -> Result<Users> {
    let buses = events::list_buses(&aws.events).await?;
    let everything = Scope::everywhere(&buses);
    let triggers = live::scan(aws, Reach::Account, &everything)
        .await
        .map_err(|e| {
            e.hint("prune reads every rule (events:ListEventBuses, ListRules, ListTargetsByRule) and every schedule (scheduler:ListSchedules, GetSchedule) to know which revisions are in use: `jobdeploy iam-policy` lists them")
        })?;
    let mut users = Users::new();
    for (at, found) in triggers {
        let Found::Slot(raw) = found else {
            continue;
        };
        let Some(arn) = raw
            .pointer(at.owner.task_definition_pointer())
            .and_then(Value::as_str)
        else {
            continue;
        };
        let td = TaskDefRef::parse(arn);
        if families.contains(&td.family) {
            let who = match at.owner {
                Owner::Rule { .. } => format!("rule {}", at.label()),
                Owner::Schedule { .. } => at.label(),
            };
            users.entry((td.family, td.revision)).or_default().push(who);
        }
    }
    for who in users.values_mut() {
        who.sort();
    }
    Ok(users)
}
