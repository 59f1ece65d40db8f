use std::process::ExitCode;

use super::{Account, Context};
use crate::cli::{Cli, StatusArgs};
use crate::error::Result;
use crate::history::{Reader, Status, Want, Wanted};
use crate::manifest::Release;
use crate::report;

pub async fn run(ctx: &Context<'_>, args: &StatusArgs) -> Result<ExitCode> {
    let account = ctx.account().await?;
    let wanted = wanted_release(ctx.cli, &account)?;
    let live = account.targets(ctx).await?;
    let targets = &live.targets;
    let mut reader = Reader::new(&account.aws, &account.family_names());
    reader
        .read_until(|h| Want {
            horizon: h.targets_horizon(targets),
        })
        .await?;
    let mut status = Status::compute(&reader.history, targets, &live.skipped);
    if let Some(release) = wanted {
        status.manifest = Some(Wanted::compare(
            &release.tag,
            release.digest.as_deref(),
            release.manifest_commit.as_deref(),
            &status.live,
            &reader.history.releases(),
        ));
    }
    super::print(&report::releases::status(
        &status,
        &account.config.config.cluster,
        ctx.format,
        ctx.style,
    ));
    Ok(if args.exit_code && !status.drift.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// What should be live: `--tag`, else the manifest repo when `[manifest]` names one. `None`
/// when there is nothing to compare with.
fn wanted_release(cli: &Cli, account: &Account) -> Result<Option<Release>> {
    if let Some(tag) = &cli.tag {
        return Ok(Some(Release::from_tag(tag, account.config.image_name()?)?));
    }
    let configured = account
        .config
        .config
        .manifest
        .as_ref()
        .is_some_and(|m| m.repo.is_some() && m.path.is_some());
    if !configured {
        return Ok(None);
    }
    Release::from_manifest(&account.config).map(Some)
}
