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
    if let Some(image_name) = account.config.image_name.as_ref()
        && account.config.k8s.is_some()
    {
        let k8s = k8s_block(ctx, &account, &status).await;
        status.add_k8s(&image_name.name, k8s);
    }
    crate::progress::print(&report::releases::status(
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

/// With `[k8s]`: one look per source at what k8s runs. A source that cannot be asked is a
/// warning and an `error` in the block, not drift.
async fn k8s_block(
    ctx: &Context<'_>,
    account: &Account,
    status: &crate::history::Status,
) -> Vec<crate::history::K8sSourceStatus> {
    let Ok(image_name) = account.config.image_name() else {
        return Vec::new();
    };
    // The image alone (no commit): status compares tags.
    let live = status.live.release().unwrap_or("-");
    let release = Release::recorded(live, image_name, None);
    let sources = match crate::k8s::gate::for_release(
        &account.config,
        &release,
        None,
        Some(account.aws.sdk.clone()),
        &ctx.progress,
    ) {
        Ok(sources) => sources,
        Err(e) => {
            ctx.progress.warn(format!("k8s: {}", e.message()));
            return Vec::new();
        }
    };
    crate::k8s::gate::look_once(&sources)
        .await
        .into_iter()
        .map(|(label, look)| match look {
            Ok(look) => crate::history::K8sSourceStatus {
                source: look.observed.source,
                revision: look.observed.revision,
                sync: look.observed.sync,
                health: look.observed.health,
                images: look.observed.images,
                error: None,
            },
            Err(e) => {
                ctx.progress.warn(format!("k8s: {label}: {}", e.message()));
                crate::history::K8sSourceStatus {
                    source: label,
                    revision: None,
                    sync: None,
                    health: None,
                    images: Vec::new(),
                    error: Some(e.message().to_string()),
                }
            }
        })
        .collect()
}
