//! `deploy --smoke RULE`: after registering and before the first repoint, run each named
//! rule's (or schedule's) task on the revision the deploy moves it to; the deploy goes on
//! only if every one exits 0.

use std::time::Duration;

use serde_json::Value;

use super::find::{self, Candidate};
use super::request::Overrides;
use super::{Finished, Interrupts, Options};
use crate::apply::Registered;
use crate::aws::{Aws, ecs};
use crate::error::{Error, Result};
use crate::plan::{Destination, Plan};
use crate::progress::Progress;

/// How long a smoke run may take before the deploy gives up on it.
pub const TIMEOUT: Duration = Duration::from_secs(3600);

/// A smoke run to make: the target, and where the deploy moves it.
#[derive(Debug, Clone)]
pub struct Smoke {
    pub candidate: Candidate,
    pub family: String,
    pub to: Destination,
}

/// Resolves the smoke names among the plan's targets, before anything is written.
pub fn resolve(names: &[String], plan: &Plan, cluster: &str) -> Result<Vec<Smoke>> {
    let candidates: Vec<Candidate> = plan
        .targets
        .iter()
        .map(|t| Candidate {
            at: t.at.clone(),
            slot: t.raw.clone(),
        })
        .collect();
    let mut smokes: Vec<Smoke> = Vec::new();
    for name in names {
        let found =
            find::resolve(name, None, &candidates, cluster).map_err(|e| e.context("--smoke"))?;
        if smokes.iter().any(|s| s.candidate.at == found.at) {
            continue;
        }
        let Some(target) = plan.targets.iter().find(|t| t.at == found.at) else {
            continue;
        };
        smokes.push(Smoke {
            candidate: found.clone(),
            family: target.family.clone(),
            to: target.to.clone(),
        });
    }
    Ok(smokes)
}

/// Works out, before anything is written, what each smoke's rule or schedule would hand its
/// task — the same code as `run` — so a transformer on an event-pattern rule, or one
/// EventBridge would not deliver, stops the deploy before it registers anything. The run
/// itself works it out again, with the time it starts (a k8s gate may wait in between).
pub async fn check_inputs(aws: &Aws, smokes: &[Smoke]) -> Result<()> {
    for smoke in smokes {
        super::deliver(aws, &smoke.candidate.at, &smoke.candidate.slot, None)
            .await
            .map_err(|e| e.context("--smoke"))?;
    }
    Ok(())
}

/// Runs every smoke in turn on its new revision; an error (exit ≠ 0, never started,
/// interrupted, timed out) stops the deploy before any repoint.
pub async fn run_all(
    aws: &Aws,
    smokes: &[Smoke],
    registered: &[Registered],
    progress: &Progress,
) -> Result<()> {
    for smoke in smokes {
        run_one(aws, smoke, registered, progress).await?;
    }
    Ok(())
}

async fn run_one(
    aws: &Aws,
    smoke: &Smoke,
    registered: &[Registered],
    progress: &Progress,
) -> Result<()> {
    let at = &smoke.candidate.at;
    let what = at.describe();
    let arn = match &smoke.to {
        Destination::Existing { arn, .. } => arn.clone(),
        Destination::New { .. } => registered
            .iter()
            .find(|r| r.family == smoke.family)
            .map(|r| r.arn.clone())
            .ok_or_else(|| Error::new(format!("internal: {} was not registered", smoke.family)))?,
    };
    let task_definition = ecs::describe(&aws.ecs, &arn)
        .await?
        .ok_or_else(|| Error::new(format!("smoke {what}: {arn} does not exist")))?;
    let label = format!("{}:{}", task_definition.family, task_definition.revision);
    let cluster = at
        .owner
        .target_of(&smoke.candidate.slot)
        .get("Arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let delivery = super::deliver(aws, at, &smoke.candidate.slot, None).await?;
    if let Some(note) = &delivery.note {
        progress.line(format!("smoke: {note}"));
    }
    let prepared = super::prepare(
        &at.owner,
        &delivery.slot,
        task_definition,
        None,
        &Overrides::default(),
        &super::new_client_token(),
    )?;
    let group = crate::github::Group::start(&format!("jobdeploy smoke {} on {label}", at.label()));
    progress.line(format!("smoke: running {what} on {label}"));
    let mut interrupts = Interrupts::listen();
    let result = async {
        let task_arn = super::start(aws, &prepared, &what).await?;
        progress.line(super::console_url(&aws.region, &cluster, &task_arn));
        let options = Options {
            logs: true,
            timeout: TIMEOUT,
            detach_on_interrupt: false,
            container: None,
        };
        let finished = super::follow(
            aws,
            &cluster,
            &task_arn,
            &prepared,
            &options,
            &mut interrupts,
            progress,
        )
        .await?;
        match finished {
            Finished::Stopped(ending) => super::conclude(&ending, &task_arn, progress),
            Finished::TimedOut => Err(Error::new(format!(
                "task {task_arn} still running after {} s",
                TIMEOUT.as_secs()
            ))),
            Finished::Interrupted { .. } => Err(Error::new("interrupted; the task was stopped")),
        }
    }
    .await;
    drop(group);
    let (line, outcome) = match result {
        Ok(0) => (
            format!(
                "Smoke run of `{}` on `{label}`: passed (exit 0)",
                at.label()
            ),
            Ok(()),
        ),
        Ok(code) => (
            format!(
                "Smoke run of `{}` on `{label}`: **failed**, exit code {code}",
                at.label()
            ),
            Err(Error::new(format!(
                "smoke run of {what} on {label} exited with code {code}"
            ))),
        ),
        Err(e) => (
            format!(
                "Smoke run of `{}` on `{label}`: **failed**: {}",
                at.label(),
                e.message()
            ),
            Err(e.context(format!("smoke run of {what} on {label}"))),
        ),
    };
    crate::github::summary(&line)?;
    outcome.map_err(|e| {
        e.hint("the task's logs are above; fix the job and deploy again (the registered revisions are reused)")
    })
}
