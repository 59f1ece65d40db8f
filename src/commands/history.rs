use std::process::ExitCode;

use super::Context;
use crate::cli::HistoryArgs;
use crate::error::Result;
use crate::history::{HistoryReport, Reader, Want};
use crate::report;

pub async fn run(ctx: &Context<'_>, args: &HistoryArgs) -> Result<ExitCode> {
    let account = ctx.account().await?;
    let live = account.targets(ctx).await?;
    let targets = &live.targets;
    let limit = usize::from(args.limit);
    let mut reader = Reader::new(&account.aws, &account.family_names());
    // Back to the `limit`-th newest release, and to the revisions targets are on (to tell
    // which release is live). Until `limit` releases are seen, there may be older ones.
    reader
        .read_until(|h| Want {
            horizon: h.targets_horizon(targets).and_then(|on| {
                h.releases()
                    .get(limit - 1)
                    .map(|oldest| oldest.time.min(on))
            }),
        })
        .await?;
    let history = HistoryReport::compute(&reader.history, targets, limit);
    super::print(&report::releases::history(&history, ctx.format, ctx.style));
    Ok(ExitCode::SUCCESS)
}
