use std::process::ExitCode;

use crate::cli::{Cli, StatusArgs};
use crate::error::Result;
use crate::history::{Reader, Status, Want};
use crate::progress::Progress;
use crate::report::{self, Style};

pub async fn run(cli: &Cli, args: &StatusArgs) -> Result<ExitCode> {
    let progress = Progress::new(cli.quiet);
    let account = super::Account::open(cli).await?;
    let live = account.targets(cli, &progress).await?;
    let targets = &live.targets;
    let mut reader = Reader::new(&account.aws, &account.family_names());
    reader
        .read_until(|h| Want {
            horizon: h.targets_horizon(targets),
        })
        .await?;
    let status = Status::compute(&reader.history, targets, &live.skipped);
    super::print(&report::releases::status(
        &status,
        &account.config.config.cluster,
        cli.format,
        Style::detect(),
    ));
    Ok(if args.exit_code && !status.drift.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
