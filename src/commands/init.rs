//! `jobdeploy init`: `jobdeploy.toml` and `taskdefs/` from the live account. Finds every rule
//! (any bus) and schedule (any group) that runs an ECS task on the cluster, and writes a
//! template per family from the revision they run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use super::Context;
use crate::aws::{Aws, ecs, events};
use crate::cli::InitArgs;
use crate::config::{AwsConfig, DEFAULT_FILE};
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::init::{
    ConfigInput, choose_revisions, config_text, container_images, scope_of, template_from,
};
use crate::live::{self, Found, Reach, Scope};
use crate::model::{LiveTaskDef, TaskDefRef, Trigger};

pub async fn run(ctx: &Context<'_>, args: &InitArgs) -> Result<ExitCode> {
    let progress = &ctx.progress;
    let image = ImageRef::parse(&args.image)
        .map_err(|e| Error::new(format!("--image `{}`: {e}", args.image)))?;
    if image.tag.is_some() || image.digest.is_some() {
        return Err(Error::new(format!(
            "--image must be an image name without tag or digest, got `{}`",
            args.image
        ))
        .hint(format!("use `--image {}`", image.name)));
    }
    let config_path = args.dir.join(DEFAULT_FILE);
    let taskdefs = args.dir.join("taskdefs");
    if !args.force && config_path.exists() {
        return Err(Error::new(format!("{} exists", config_path.display()))
            .hint("pass --force to overwrite it and the templates, or choose another --dir"));
    }

    // No config yet: the region from --region (or the environment), default quotas.
    let aws = ctx
        .connect(args.region.as_deref(), &AwsConfig::default())
        .await?;
    // No jobdeploy.toml exists yet: point at the flags, not at the file.
    let cluster_arn = ecs::cluster_arn(&aws.ecs, &args.cluster)
        .await
        .map_err(|e| {
            Error::new(e.message()).hint("check --cluster, and --region (or AWS_REGION)")
        })?;
    let found = find_triggers(&aws, &cluster_arn).await?;
    if found.is_empty() {
        return Err(Error::new(format!(
            "no EventBridge rule (any bus) and no Scheduler schedule (any group) runs an ECS task on cluster `{}`",
            args.cluster
        ))
        .hint("check --cluster, and --region (or AWS_REGION)"));
    }
    for (at, td) in &found {
        progress.line(format!("found {} → {}", at.label(), td.label()));
    }
    warn_stacks(&aws, &cluster_arn, &found, progress).await?;

    // Per family, the revision to template: the newest any trigger pins, else the newest.
    let chosen = choose_revisions(&found);
    for warning in chosen.iter().filter_map(|c| c.warning.as_ref()) {
        progress.warn(warning);
    }
    let families: Vec<String> = chosen.iter().map(|c| c.family.clone()).collect();

    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut not_running: Vec<String> = Vec::new();
    let mut images_run: BTreeSet<String> = BTreeSet::new();
    let mut secrets: Vec<String> = Vec::new();
    let described: Vec<(String, String, Option<LiveTaskDef>)> = stream::iter(chosen)
        .map(|c| {
            let aws = &aws;
            async move {
                let live = ecs::describe(&aws.ecs, &c.task_definition).await?;
                Ok::<_, Error>((c.family, c.task_definition, live))
            }
        })
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    for (family, what, live) in described {
        let live = live.ok_or_else(|| {
            Error::new(format!(
                "{what} is run by a rule or schedule but ECS has no such task definition"
            ))
        })?;
        let template = template_from(&live.body, &image);
        let path = taskdefs.join(format!("{family}.json"));
        for note in &template.notes {
            progress.warn(format!("{}: {note}", path.display()));
        }
        if template.tags.is_empty() {
            not_running.push(format!(
                "{}: no container of {} runs {}; a release will not change it",
                path.display(),
                live.arn,
                image.name
            ));
        }
        images_run.extend(container_images(&live.body));
        for (container, variable) in crate::init::plaintext_secrets(&template.body) {
            secrets.push(format!(
                "{}: container `{container}` has `{variable}` in plain text in `environment`",
                path.display()
            ));
        }
        for tag in &template.tags {
            tags.entry(tag.clone()).or_default().push(family.clone());
        }
        let text = serde_json::to_string_pretty(&template.body).unwrap_or_default() + "\n";
        files.push((path, text));
    }

    if tags.is_empty() {
        return Err(Error::new(format!(
            "--image {}: no container of the task definitions the cluster's rules and schedules run ({}) runs it; nothing was written",
            image.name,
            families.join(", ")
        ))
        .hint(format!(
            "they run: {}; pass the release image's name (without tag) as --image",
            images_run.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    for warning in &not_running {
        progress.warn(warning);
    }
    for warning in &secrets {
        progress.warn(warning);
    }
    if !secrets.is_empty() {
        progress.warn(
            "these values are now in taskdefs/, and so in your repo's history once committed: move each to `secrets` with `valueFrom` (an SSM Parameter Store parameter or a Secrets Manager secret ARN) and rotate it",
        );
    }

    let (event_buses, schedule_groups) = scope_of(&found);
    let config = config_text(&ConfigInput {
        cluster: &args.cluster,
        region: args.region.as_deref(),
        image: &image,
        manifest_repo: args.manifest_repo.as_deref(),
        manifest_path: args.manifest_path.as_deref(),
        event_buses: &event_buses,
        schedule_groups: &schedule_groups,
    });
    files.push((config_path, config));

    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::new(format!(
                "would overwrite {}; nothing was written",
                existing.join(", ")
            ))
            .hint("pass --force to overwrite"));
        }
    }
    write_all(&taskdefs, &files)?;
    let next = match tags.len() {
        0 => "jobdeploy plan --tag <the live tag>".to_string(),
        1 => format!(
            "jobdeploy plan --tag {}",
            tags.keys().next().map_or("", String::as_str)
        ),
        _ => {
            let list: Vec<String> = tags
                .iter()
                .map(|(t, fs)| format!("{t} ({})", fs.join(", ")))
                .collect();
            progress.warn(format!(
                "families run different tags of {}: {}; the next deploy moves them all to one",
                image.name,
                list.join(", ")
            ));
            "jobdeploy plan --tag <the live tag>".to_string()
        }
    };
    let unset: Vec<&str> = [
        ("repo", args.manifest_repo.is_none()),
        ("path", args.manifest_path.is_none()),
    ]
    .into_iter()
    .filter_map(|(key, unset)| unset.then_some(key))
    .collect();
    let then = if unset.is_empty() {
        String::new()
    } else {
        format!(
            "; then set [manifest] {} in {}",
            unset.join(" and "),
            files
                .last()
                .map_or(DEFAULT_FILE.to_string(), |(p, _)| p.display().to_string())
        )
    };
    progress.line(format!("next: `{next}` should show no change{then}"));
    let written: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    crate::progress::print(&format!("Wrote {}.\n", written.join(", ")));
    Ok(ExitCode::SUCCESS)
}

/// Every rule target (any bus) and schedule (any group) on the cluster running an ECS
/// task, with the task definition it names.
async fn find_triggers(aws: &Aws, cluster_arn: &str) -> Result<Vec<(Trigger, TaskDefRef)>> {
    let buses = events::list_buses(&aws.events).await?;
    let everywhere = Scope::everywhere(&buses);
    let mut found: Vec<(Trigger, TaskDefRef)> =
        live::scan(aws, Reach::Cluster(cluster_arn), &everywhere)
            .await?
            .into_iter()
            .filter_map(|(at, found)| {
                let Found::Slot(raw) = found else {
                    return None;
                };
                let target = at.owner.target_of(&raw);
                if target.get("Arn").and_then(Value::as_str) != Some(cluster_arn) {
                    return None;
                }
                let td = target
                    .pointer("/EcsParameters/TaskDefinitionArn")?
                    .as_str()?;
                Some((at, TaskDefRef::parse(td)))
            })
            .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Warns, naming the stack, about each rule or schedule a CloudFormation stack owns: rules
/// by their `aws:cloudformation:stack-name` tag; schedules, which cannot be tagged, by
/// DescribeStackResources with their name (the schedule's physical id). A refused read is
/// a note, not a failure.
async fn warn_stacks(
    aws: &Aws,
    cluster_arn: &str,
    found: &[(Trigger, TaskDefRef)],
    progress: &crate::progress::Progress,
) -> Result<()> {
    use crate::aws::{Lookup, cloudformation};
    use crate::init::{STACK_TAG, rule_arn, stack_unknown_note, stack_warning};
    use crate::model::Owner;
    let owners: BTreeSet<&Owner> = found.iter().map(|(at, _)| &at.owner).collect();
    let answers: Vec<(&Owner, Lookup<String>)> = stream::iter(owners)
        .map(|owner| async move {
            let stack = match owner {
                Owner::Rule { event_bus, rule } => {
                    match events::rule_tags(&aws.events, &rule_arn(cluster_arn, event_bus, rule))
                        .await?
                    {
                        Lookup::Found(tags) => tags
                            .into_iter()
                            .find(|(k, _)| k == STACK_TAG)
                            .map_or(Lookup::Missing, |(_, v)| Lookup::Found(v)),
                        Lookup::Denied(p) => Lookup::Denied(p),
                        Lookup::Missing => Lookup::Missing,
                    }
                }
                Owner::Schedule { schedule, .. } => {
                    cloudformation::stack_of(
                        &aws.cloudformation,
                        "AWS::Scheduler::Schedule",
                        schedule,
                    )
                    .await?
                }
            };
            Ok::<_, Error>((owner, stack))
        })
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    for (owner, stack) in answers {
        match stack {
            Lookup::Found(stack) => progress.warn(stack_warning(&owner.describe(), &stack)),
            Lookup::Denied(permission) => {
                progress.line(stack_unknown_note(&owner.describe(), permission));
            }
            Lookup::Missing => {}
        }
    }
    Ok(())
}

/// Writes every file, creating `taskdefs`; on a write error, names the file.
fn write_all(taskdefs: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    std::fs::create_dir_all(taskdefs)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", taskdefs.display())))?;
    for (path, text) in files {
        std::fs::write(path, text)
            .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
