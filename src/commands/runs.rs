//! `jobdeploy runs`: read what the jobs of our rules and schedules did in the window —
//! metrics, tasks, dead letters, side by side — and report it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use futures::{StreamExt, TryStreamExt, stream};

use super::Context;
use crate::aws::{Aws, Lookup, cloudwatch, sqs, tasks};
use crate::cli::RunsArgs;
use crate::error::{Error, Result};
use crate::history::{Reader, Want};
use crate::live::LiveTarget;
use crate::report;
use crate::runs::{Observed, RunsReport, Window, dead_letter_arn, metrics};

pub async fn run(ctx: &Context<'_>, args: &RunsArgs) -> Result<ExitCode> {
    // A malformed --since is the user's mistake, found before AWS is asked: exit 1.
    let length = crate::runs::parse_since(&args.since)
        .map_err(|e| Error::new(e).hint("e.g. --since 24h, --since 90m, --since 7d"))?;
    let account = ctx.account().await?;
    let live = account.targets(ctx).await?;
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let window = Window {
        since: until - length,
        until,
    };
    let aws = &account.aws;
    let families = account.family_names();
    let (metric_sums, tasks, dead_letters, releases) = futures::future::try_join4(
        read_metrics(aws, &live.targets, window),
        read_tasks(aws, &live.cluster_arn, &families),
        read_dead_letters(aws, &live.targets),
        read_releases(aws, &families, &live.targets),
    )
    .await?;
    let observed = Observed {
        targets: live.targets.clone(),
        states: live.states.clone(),
        rule_expressions: live.rule_expressions.clone(),
        metric_sums: Some(metric_sums),
        tasks: Some(tasks),
        dead_letters,
        releases,
    };
    let report = RunsReport::compute(&observed, window);
    crate::progress::print(&report::runs::runs(&report, ctx.format, ctx.style));
    crate::github::summary(&report::runs::runs(
        &report,
        report::Format::Markdown,
        ctx.style,
    ))?;
    if ctx.cli.verbose > 0 {
        ctx.progress
            .line(report::calls::summary(&aws.pacer.stats(), 0));
    }
    Ok(if args.exit_code && report.failures > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Every metric of every rule and schedule group, in as few GetMetricData calls as 500
/// queries a call allow.
async fn read_metrics(
    aws: &Aws,
    targets: &[LiveTarget],
    window: Window,
) -> Result<Lookup<BTreeMap<String, f64>>> {
    let plan = metrics::plan(&metrics::subjects(targets));
    if plan.is_empty() {
        return Ok(Lookup::Found(BTreeMap::new()));
    }
    let queries: Vec<cloudwatch::MetricQuery> = plan.into_iter().map(|(_, _, q)| q).collect();
    let period = metrics::period(window.until - window.since);
    cloudwatch::sums(
        &aws.cloudwatch,
        &queries,
        window.since,
        window.until,
        period,
    )
    .await
}

/// The tasks of our families ECS still lists, running and stopped: two ListTasks per family
/// side by side, then DescribeTasks 100 at a time.
async fn read_tasks(
    aws: &Aws,
    cluster: &str,
    families: &[String],
) -> Result<Lookup<Vec<serde_json::Value>>> {
    let lists: Vec<Lookup<Vec<String>>> = stream::iter(
        families
            .iter()
            .flat_map(|f| [(f, "RUNNING"), (f, "STOPPED")]),
    )
    .map(|(family, status)| tasks::list(&aws.ecs, cluster, family, status))
    .buffered(aws.concurrency)
    .try_collect()
    .await?;
    let mut arns = BTreeSet::new();
    for list in lists {
        match list {
            Lookup::Found(found) => arns.extend(found),
            Lookup::Denied(permission) => return Ok(Lookup::Denied(permission)),
            Lookup::Missing => {}
        }
    }
    let arns: Vec<String> = arns.into_iter().collect();
    if arns.is_empty() {
        return Ok(Lookup::Found(Vec::new()));
    }
    tasks::describe_many(&aws.ecs, cluster, &arns).await
}

/// The depth of each dead-letter queue our targets name, each read once.
async fn read_dead_letters(
    aws: &Aws,
    targets: &[LiveTarget],
) -> Result<BTreeMap<String, Lookup<u64>>> {
    let queues: BTreeSet<String> = targets.iter().filter_map(dead_letter_arn).collect();
    stream::iter(queues)
        .map(|arn| async move {
            let depth = match sqs::queue_url(&arn) {
                Some(url) => sqs::depth(&aws.sqs, &url).await?,
                None => Lookup::Missing,
            };
            Ok::<_, Error>((arn, depth))
        })
        .buffer_unordered(aws.concurrency)
        .try_collect()
        .await
}

/// The release of each revision the targets run, from the revisions' tags (read as far
/// back as the targets need, as `status` reads them).
async fn read_releases(
    aws: &Aws,
    families: &[String],
    targets: &[LiveTarget],
) -> Result<BTreeMap<(String, i64), String>> {
    let mut reader = Reader::new(aws, families);
    reader
        .read_until(|h| Want {
            horizon: h.targets_horizon(targets),
        })
        .await?;
    Ok(reader
        .history
        .families
        .values()
        .flat_map(|log| log.revisions.iter())
        .filter_map(|r| {
            r.release
                .clone()
                .map(|release| ((r.family.clone(), r.revision), release))
        })
        .collect())
}
