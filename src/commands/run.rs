//! `jobdeploy run NAME`: the task a rule or schedule runs, now.

use std::process::ExitCode;

use serde_json::Value;

use super::Context;
use crate::aws::{Aws, ecs};
use crate::cli::RunArgs;
use crate::config::LoadedConfig;
use crate::error::{Error, Result};
use crate::history::{Reader, Slot, Want, find_release};
use crate::live::{self, Found, Reach, Scope};
use crate::model::TaskDefRef;
use crate::progress::Progress;
use crate::run::find::{self, Candidate};
use crate::run::request::{self, Overrides};
use crate::run::{self as runner, Finished, Interrupts, Options};

pub async fn run(ctx: &Context<'_>, args: &RunArgs) -> Result<ExitCode> {
    let cli = ctx.cli;
    let progress = &ctx.progress;
    let config = LoadedConfig::load(cli.config.as_deref())?;
    let overrides = overrides(args)?;
    let event = args.event.as_deref().map(runner::read_event).transpose()?;
    let timeout =
        runner::parse_duration(&args.timeout).map_err(|e| Error::new(format!("--timeout {e}")))?;
    let aws = ctx
        .connect(config.config.region.as_deref(), &config.config.aws)
        .await?;
    let cluster = ecs::cluster_arn(&aws.ecs, &config.config.cluster).await?;
    let candidates = candidates(&aws, &config, &cluster).await?;
    let chosen = find::resolve(&args.name, args.target.as_deref(), &candidates, &cluster)?;
    let what = chosen.at.describe();
    if event.is_some() && matches!(chosen.at.owner, crate::model::Owner::Schedule { .. }) {
        return Err(Error::new(format!(
            "--event: {what} is a schedule; Scheduler sends its target no event"
        )));
    }
    let pointer = chosen.at.owner.task_definition_pointer();
    let arn = chosen
        .slot
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::new(format!("{what}: the target names no task definition")))?;
    let release = args.release.as_ref().or(cli.tag.as_ref());
    if args.latest && release.is_some() {
        return Err(Error::new(
            "--latest and --tag/--release name different revisions: give one",
        ));
    }
    let target_revision = TaskDefRef::parse(arn);
    let family = target_revision.family.clone();
    let wanted = match release {
        Some(id) => release_revision(&aws, &config, &family, id).await?,
        // A family-only target floats to the newest ACTIVE revision, as ECS runs it.
        None if args.latest || target_revision.revision.is_none() => family,
        None => arn.to_string(),
    };
    let task_definition = ecs::describe(&aws.ecs, &wanted).await?.ok_or_else(|| {
        Error::new(format!("{what}: task definition {wanted} does not exist"))
            .hint("`jobdeploy status` shows targets on missing revisions; `jobdeploy deploy` repoints them")
    })?;
    let delivery = runner::deliver(&aws, &chosen.at, &chosen.slot, event.as_ref()).await?;
    if let Some(note) = &delivery.note {
        progress.line(note.clone());
    }
    let prepared = runner::prepare(
        &chosen.at.owner,
        &delivery.slot,
        task_definition,
        args.container.as_deref(),
        &overrides,
        &runner::new_client_token(),
    )?;
    for note in &prepared.request.notes {
        progress.warn(format!("{what}: {note}"));
    }
    if args.dry_run {
        let text = serde_json::to_string_pretty(&request::masked(&prepared.request.body))
            .map_err(|e| Error::new(format!("RunTask request: {e}")))?;
        crate::progress::print(&format!("{text}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut interrupts = Interrupts::listen();
    let task_arn = runner::start(&aws, &prepared, &what).await?;
    let td = &prepared.task_definition;
    let url = runner::console_url(&aws.region, &cluster, &task_arn);
    if args.no_wait {
        crate::progress::print(&format!("{task_arn}\n{url}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    progress.line(format!(
        "started task {task_arn} ({}:{}) as {what} would\n{url}",
        td.family, td.revision
    ));
    let options = Options {
        logs: !args.no_logs,
        timeout,
        detach_on_interrupt: args.detach_on_interrupt,
        container: args.container.clone(),
    };
    let finished = runner::follow(
        &aws,
        &cluster,
        &task_arn,
        &prepared,
        &options,
        &mut interrupts,
        progress,
    )
    .await?;
    Ok(ExitCode::from(exit_code(
        &finished,
        &task_arn,
        &args.timeout,
        &cluster,
        progress,
    )?))
}

/// The exit code of a finished wait (errors: exit 1 with the reason).
fn exit_code(
    finished: &Finished,
    task_arn: &str,
    timeout: &str,
    cluster: &str,
    progress: &Progress,
) -> Result<u8> {
    match finished {
        Finished::Stopped(ending) => runner::conclude(ending, task_arn, progress),
        Finished::TimedOut => {
            eprintln!(
                "Error: stopped waiting after --timeout {timeout}: task {task_arn} is still running"
            );
            eprintln!(
                "Hint: stop it with `aws ecs stop-task --cluster {cluster} --task {task_arn}`, or follow it in the console"
            );
            Ok(runner::EXIT_TIMEOUT)
        }
        Finished::Interrupted { .. } => Ok(runner::EXIT_INTERRUPTED),
    }
}

/// The ARN of `family`'s revision in release `wanted` (an id or a tag), read from the
/// revisions' release tags as `history` reads them: the templated families' and this one's.
async fn release_revision(
    aws: &Aws,
    config: &LoadedConfig,
    family: &str,
    wanted: &str,
) -> Result<String> {
    let dir = config.taskdefs_dir();
    let mut families: Vec<String> = if dir.is_dir() {
        crate::render::load_templates(&dir)?
            .into_iter()
            .map(|t| t.family)
            .collect()
    } else {
        Vec::new()
    };
    if !families.iter().any(|f| f == family) {
        families.push(family.to_string());
    }
    let mut reader = Reader::new(aws, &families);
    reader
        .read_until(|h| Want {
            horizon: match find_release(&h.releases(), wanted) {
                Ok(Some(r)) => Some(r.time),
                Ok(None) => None,
                Err(_) => Some(f64::INFINITY),
            },
        })
        .await?;
    let releases = reader.history.releases();
    let Some(release) = find_release(&releases, wanted)? else {
        let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
        return Err(
            Error::new(format!("no release `{wanted}` of family {family}"))
                .hint(format!("releases, newest first: {}", ids.join(", "))),
        );
    };
    let slot = reader
        .history
        .families
        .get(family)
        .map(|log| log.of_release(&release.id, release.time));
    match slot {
        Some(Slot::Revision { arn, .. }) => Ok(arn),
        _ => Err(Error::new(format!(
            "family {family} had no revision in release {}",
            release.id
        ))),
    }
}

/// `--override-command` and `--env`, checked before anything is called.
fn overrides(args: &RunArgs) -> Result<Overrides> {
    let command = match &args.override_command {
        None => None,
        Some(text) if text.trim_start().starts_with('[') => {
            Some(serde_json::from_str::<Vec<String>>(text).map_err(|e| {
                Error::new(format!(
                    "--override-command `{text}` is not a JSON array of strings: {e}"
                ))
            })?)
        }
        Some(text) => {
            let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return Err(Error::new("--override-command is empty"));
            }
            Some(words)
        }
    };
    let env = args
        .env
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::new(format!("--env `{kv}`: use NAME=VALUE"))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Overrides { command, env })
}

/// Every rule target and schedule that runs a task on the cluster, on the configured buses
/// and groups (excluded names too: running one changes nothing).
pub async fn candidates(aws: &Aws, config: &LoadedConfig, cluster: &str) -> Result<Vec<Candidate>> {
    let scope = Scope {
        buses: &config.config.rules.event_buses,
        groups: Some(&config.config.schedules.groups),
        rule_exclude: None,
        schedule_exclude: None,
    };
    let found = live::scan(aws, Reach::Cluster(cluster), &scope).await?;
    Ok(found
        .into_iter()
        .filter_map(|(at, found)| match found {
            Found::Slot(slot) => {
                let target = at.owner.target_of(&slot);
                let on_cluster = target.get("Arn").and_then(Value::as_str) == Some(cluster)
                    && target.get("EcsParameters").is_some();
                on_cluster.then_some(Candidate { at, slot })
            }
            Found::Skipped(..) => None,
        })
        .collect())
}
