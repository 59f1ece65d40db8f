use std::process::ExitCode;

use crate::cli::{Cli, HistoryArgs};
use crate::error::Result;
use crate::history::{HistoryReport, Reader, Want};
use crate::progress::Progress;
use crate::report::{self, Style};

pub async fn run(cli: &Cli, args: &HistoryArgs) -> Result<ExitCode> {
    let progress = Progress::new(cli.quiet);
    let account = super::Account::open(cli).await?;
    let live = account.targets(cli, &progress).await?;
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
    super::print(&report::releases::history(
        &history,
        cli.format,
        Style::detect(),
    ));
    Ok(ExitCode::SUCCESS)
}
