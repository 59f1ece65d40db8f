//! The task runner: start the exact task a rule or schedule would start, wait for it while
//! following its logs, and say how it ended. [`request`], [`wait`] and [`find`] are pure;
//! this module does the I/O (RunTask, DescribeTasks, StopTask, GetLogEvents) and the signals.

pub mod find;
pub mod input;
pub mod logs;
pub mod request;
pub mod smoke;
pub mod wait;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::aws::{Aws, tasks};
use crate::error::{Error, Result};
use crate::model::LiveTaskDef;
use crate::model::{Owner, Trigger};
use crate::progress::Progress;
use request::{Overrides, RunRequest};
use wait::{Ending, Step, Waiter};

/// `reason` of the StopTask sent when `run` is interrupted.
pub const STOP_REASON: &str = "Stopped by jobdeploy run: interrupted (Ctrl-C or SIGTERM)";

/// Exit code when `--timeout` passes with the task still running.
pub const EXIT_TIMEOUT: u8 = 124;
/// Exit code when interrupted (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How `run` waits.
#[derive(Debug, Clone)]
pub struct Options {
    pub logs: bool,
    pub timeout: Duration,
    pub detach_on_interrupt: bool,
    /// `--container`: whose exit code is the result.
    pub container: Option<String>,
}

/// A RunTask request ready to send, with what waiting for it needs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request: RunRequest,
    pub task_definition: LiveTaskDef,
    pub essential: Vec<String>,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Stopped(Ending),
    TimedOut,
    /// Interrupted; `stopped`: StopTask was sent.
    Interrupted {
        stopped: bool,
    },
}

/// The containers of a task definition, and which of them are essential (the default).
pub fn containers(task_definition: &Value) -> (Vec<String>, Vec<String>) {
    let list = task_definition
        .get("containerDefinitions")
        .and_then(Value::as_array);
    let mut all = Vec::new();
    let mut essential = Vec::new();
    for c in list.into_iter().flatten() {
        let Some(name) = c.get("name").and_then(Value::as_str) else {
            continue;
        };
        all.push(name.to_string());
        if c.get("essential").and_then(Value::as_bool).unwrap_or(true) {
            essential.push(name.to_string());
        }
    }
    (all, essential)
}

/// Builds the request for `slot` of `owner` running `task_definition`: overrides go to
/// `container` (`--container`, else the first essential container).
pub fn prepare(
    owner: &Owner,
    slot: &Value,
    task_definition: LiveTaskDef,
    container: Option<&str>,
    overrides: &Overrides,
    client_token: &str,
) -> Result<Prepared> {
    let (all, essential) = containers(&task_definition.body);
    let target_container = match container {
        Some(name) if all.iter().any(|c| c == name) => name.to_string(),
        Some(name) => {
            return Err(Error::new(format!(
                "--container {name}: {}:{} has no container `{name}`; it has {}",
                task_definition.family,
                task_definition.revision,
                all.join(", ")
            )));
        }
        None => essential
            .first()
            .or(all.first())
            .cloned()
            .ok_or_else(|| Error::new(format!("{} has no containers", task_definition.arn)))?,
    };
    let request = request::build(
        owner,
        slot,
        &task_definition.arn,
        &target_container,
        overrides,
        client_token,
    )?;
    Ok(Prepared {
        request,
        task_definition,
        essential,
    })
}

/// The target as RunTask will be built from it: its `Input` what EventBridge or Scheduler
/// would hand the task now, and a line saying how it was made (`None`: the target's Input
/// as it is).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub slot: Value,
    pub note: Option<String>,
}

/// Applies the rule target's `InputPath`/`InputTransformer` to the event the rule would send
/// (`event`, from `--event FILE`; else a scheduled rule's Scheduled Event, now), or fills a
/// schedule's context attributes. Refuses, before anything is written, a transformer on a
/// rule driven by an event pattern when no event is given, and a result EventBridge would
/// not deliver.
pub async fn deliver(
    aws: &Aws,
    at: &Trigger,
    slot: &Value,
    event: Option<&Value>,
) -> Result<Delivery> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = input::seed(now.as_nanos(), std::process::id());
    let time = crate::model::display_time(now.as_secs_f64());
    let what = at.describe();
    match &at.owner {
        Owner::Schedule { group, schedule } => {
            let target = at.owner.target_of(slot);
            let Some(text) = target.get("Input").and_then(Value::as_str) else {
                return Ok(Delivery {
                    slot: slot.clone(),
                    note: None,
                });
            };
            if !text.contains("<aws.scheduler.") {
                return Ok(Delivery {
                    slot: slot.clone(),
                    note: None,
                });
            }
            let context = input::SchedulerContext {
                schedule_arn: match slot.get("Arn").and_then(Value::as_str) {
                    Some(arn) => arn.to_string(),
                    None => input::schedule_arn(
                        target
                            .get("Arn")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        group,
                        schedule,
                    ),
                },
                scheduled_time: time.clone(),
                execution_id: input::execution_id(seed),
                attempt_number: 1,
            };
            let filled = input::scheduler_input(text, &context);
            let mut slot = slot.clone();
            if let Some(target) = slot.get_mut("Target").and_then(Value::as_object_mut) {
                target.insert("Input".into(), Value::String(filled));
            }
            Ok(Delivery {
                slot,
                note: Some(format!(
                    "{what}: Scheduler's context attributes filled in (scheduled-time {time}, execution-id {}, attempt-number 1)",
                    context.execution_id
                )),
            })
        }
        Owner::Rule { event_bus, rule } => {
            let shaping = input::Shaping::of(slot);
            if shaping == input::Shaping::Constant {
                return Ok(Delivery {
                    slot: slot.clone(),
                    note: None,
                });
            }
            let name = shaping.name();
            let info = crate::aws::events::rule_info(&aws.events, event_bus, rule)
                .await?
                .ok_or_else(|| Error::new(format!("{what}: the rule no longer exists")))?;
            let facts = input::RuleFacts {
                name: rule.clone(),
                arn: info.arn.clone(),
            };
            let (event, source) = match (event, &info.schedule_expression) {
                (Some(event), _) => (event.clone(), "the event of --event".to_string()),
                (None, Some(_)) => {
                    let parts: Vec<&str> = info.arn.split(':').collect();
                    let region = parts.get(3).copied().unwrap_or(aws.region.as_str());
                    let account = parts.get(4).copied().unwrap_or_default();
                    let id = input::event_id(seed);
                    let event = input::scheduled_event(&id, account, region, &time, &info.arn);
                    (event, format!("a Scheduled Event (id {id}, time {time})"))
                }
                (None, None) => {
                    return Err(Error::new(format!(
                        "{what}: its {name} builds the task's overrides from the event, and the rule is driven by an event pattern, not a schedule: run cannot know the event"
                    ))
                    .hint("give the event the rule would match with --event FILE (a JSON event as EventBridge delivers it)"));
                }
            };
            let overrides = input::overrides(&shaping, &event, &facts)
                .map_err(|r| Error::new(format!("{what}: {name}: {}", r.reason())))?;
            let Some(overrides) = overrides else {
                return Ok(Delivery {
                    slot: slot.clone(),
                    note: None,
                });
            };
            Ok(Delivery {
                slot: input::with_input(slot, false, &overrides),
                note: Some(format!(
                    "{what}: overrides from its {name} applied to {source}"
                )),
            })
        }
    }
}

/// Reads `--event FILE`: one JSON object, as EventBridge delivers events.
pub fn read_event(path: &std::path::Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("--event {}: {e}", path.display())))?;
    let event: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("--event {}: not JSON: {e}", path.display())))?;
    if !event.is_object() {
        return Err(Error::new(format!(
            "--event {}: an event is a JSON object (version, id, detail-type, source, …, detail)",
            path.display()
        )));
    }
    Ok(event)
}

/// A client token for this process's RunTask.
pub fn new_client_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    request::client_token(nanos, std::process::id())
}

/// RunTask; `failures` (HTTP 200) are an error naming the reason. Returns the task's ARN.
pub async fn start(aws: &Aws, prepared: &Prepared, what: &str) -> Result<String> {
    let started = tasks::run(&aws.ecs, &prepared.request.body).await?;
    if let Some(failure) = started.failures.first() {
        let all: Vec<String> = started.failures.iter().map(|f| f.describe()).collect();
        return Err(Error::new(format!(
            "RunTask {what}: ECS started no task: {}",
            all.join("; ")
        ))
        .hint(failure_hint(&failure.reason)));
    }
    started
        .tasks
        .first()
        .and_then(|t| t.get("taskArn"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::new(format!(
                "RunTask {what}: ECS answered no task and no failure"
            ))
        })
}

fn failure_hint(reason: &str) -> String {
    if reason.starts_with("RESOURCE:") {
        "the cluster's instances lack that resource: add capacity, or use Fargate".to_string()
    } else if reason.to_ascii_lowercase().contains("capacity") {
        "the capacity provider has no capacity now (Fargate Spot often); retry later or use FARGATE"
            .to_string()
    } else {
        "see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html"
            .to_string()
    }
}

/// The console page of a task.
pub fn console_url(region: &str, cluster_arn: &str, task_arn: &str) -> String {
    let cluster = cluster_arn.rsplit('/').next().unwrap_or(cluster_arn);
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/tasks/{}?region={region}",
        logs::task_id(task_arn)
    )
}

/// Ctrl-C and SIGTERM, listened to from creation on (so a signal during RunTask is seen).
///
/// A signal handler, once installed, stays for the life of the process. So that Ctrl-C still
/// ends `deploy` after its smoke runs (during the repoint), the first `Interrupts` dropped
/// leaves a fallback that exits 130 on a signal that arrives while no `Interrupts` is alive.
pub struct Interrupts {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

/// How many [`Interrupts`] are listening now.
static LISTENING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static FALLBACK: std::sync::Once = std::sync::Once::new();

impl Drop for Interrupts {
    fn drop(&mut self) {
        LISTENING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        #[cfg(unix)]
        if let (Some(signals), Ok(runtime)) =
            (self.signals.take(), tokio::runtime::Handle::try_current())
        {
            FALLBACK.call_once(move || {
                runtime.spawn(exit_on_unheard_signal(signals));
            });
        }
    }
}

/// The fallback: a signal no [`Interrupts`] listens to ends the process with 130, as if no
/// handler had ever been installed.
#[cfg(unix)]
async fn exit_on_unheard_signal(
    (mut interrupt, mut terminate): (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
) {
    loop {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if LISTENING.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            eprintln!("interrupted");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    }
}

impl Interrupts {
    pub fn listen() -> Self {
        LISTENING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::interrupt())
                .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        match &mut self.signals {
            Some((interrupt, terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn now_label() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    crate::model::display_time(seconds)
}

/// Waits for the task to stop: polls DescribeTasks (quickly at first, then every 6 s),
/// prints status changes with their time, follows the logs (read once more after STOPPED),
/// stops the task on Ctrl-C/SIGTERM unless told to leave it.
pub async fn follow(
    aws: &Aws,
    cluster: &str,
    task_arn: &str,
    prepared: &Prepared,
    options: &Options,
    interrupts: &mut Interrupts,
    progress: &Progress,
) -> Result<Finished> {
    let task_id = logs::task_id(task_arn);
    let sources = logs::sources(&prepared.task_definition.body, task_id);
    let mut follower = if options.logs {
        for source in &sources {
            if let logs::Source::Elsewhere { container, place } = source {
                progress.line(format!("logs of container {container}: {place}"));
            }
        }
        Some(logs::Follower::new(aws, &sources))
    } else {
        None
    };
    let clock = Instant::now();
    let mut waiter = Waiter::new(Duration::ZERO, options.timeout);
    let mut seen = false;
    // On a terminal, a live line with the time waited and the task's state (issue 24): a long
    // PROVISIONING or a quiet job no longer looks like a hung command.
    let live = crate::progress::LiveLine::start(progress, &format!("task {task_id}: starting"));
    loop {
        match tasks::describe(&aws.ecs, cluster, task_arn).await? {
            Some(task) => {
                seen = true;
                let status = task
                    .get("lastStatus")
                    .and_then(Value::as_str)
                    .unwrap_or("UNKNOWN");
                if let Some(changed) = waiter.observe(status) {
                    let line = format!("{} task {task_id} {changed}", now_label());
                    crate::progress::status(progress, live.as_ref(), line);
                    if let Some(live) = &live {
                        live.set(format!("task {task_id} {status}"));
                    }
                }
                read_logs(&mut follower, progress, live.as_ref()).await;
                if status == "STOPPED" {
                    return Ok(Finished::Stopped(wait::ending(
                        &task,
                        &prepared.essential,
                        options.container.as_deref(),
                    )));
                }
            }
            // ECS's API is eventually consistent: a task just started may not be found yet.
            None if !seen && clock.elapsed() < MISSING_GRACE => {}
            None => {
                return Err(Error::new(format!(
                    "DescribeTasks {task_arn}: MISSING (ECS no longer knows the task)"
                )));
            }
        }
        let Step::Sleep(pause) = waiter.next(clock.elapsed()) else {
            return Ok(Finished::TimedOut);
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = interrupts.next() => {
                drop(live);
                return interrupted(aws, cluster, task_arn, options, &mut follower, progress).await;
            }
        }
    }
}

/// Reads new log lines; a failure to read logs is said once and stops log reading, never the
/// run.
async fn read_logs(
    follower: &mut Option<logs::Follower>,
    progress: &Progress,
    live: Option<&crate::progress::LiveLine>,
) {
    let Some(f) = follower else { return };
    let result = f
        .drain(&mut |line| crate::progress::data(live, &format!("{line}\n")))
        .await;
    if let Err(e) = result {
        let warning = format!("cannot read the task's logs: {}", e.message());
        match live {
            Some(live) => live.println(format!("warning: {warning}")),
            None => progress.warn(warning),
        }
        *follower = None;
    }
}

/// How long a task RunTask started may be unknown to DescribeTasks (`MISSING`) before the
/// wait gives up: ECS's API is eventually consistent, usually for a second or two.
const MISSING_GRACE: Duration = Duration::from_secs(60);

/// How long an interrupted run waits for the stopped task to be STOPPED.
const STOP_WAIT: Duration = Duration::from_secs(30);

async fn interrupted(
    aws: &Aws,
    cluster: &str,
    task_arn: &str,
    options: &Options,
    follower: &mut Option<logs::Follower>,
    progress: &Progress,
) -> Result<Finished> {
    if options.detach_on_interrupt {
        progress.line(format!(
            "interrupted: task {task_arn} is left running (--detach-on-interrupt)"
        ));
        return Ok(Finished::Interrupted { stopped: false });
    }
    progress.line(format!("interrupted: stopping task {task_arn}"));
    tasks::stop(&aws.ecs, cluster, task_arn, STOP_REASON).await?;
    let clock = Instant::now();
    while clock.elapsed() < STOP_WAIT {
        let task = tasks::describe(&aws.ecs, cluster, task_arn).await?;
        read_logs(follower, progress, None).await;
        let status = task.as_ref().and_then(|t| t.get("lastStatus"));
        if status.and_then(Value::as_str) == Some("STOPPED") {
            progress.line(format!(
                "{} task {} STOPPED",
                now_label(),
                logs::task_id(task_arn)
            ));
            return Ok(Finished::Interrupted { stopped: true });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    progress.line(format!(
        "task {task_arn} is stopping (StopTask sent); not waiting longer"
    ));
    Ok(Finished::Interrupted { stopped: true })
}

/// The exit code of a stopped task, said on stderr: the container's code, or an error (exit
/// 1) when the task never started or its container has no exit code.
pub fn conclude(ending: &Ending, task_arn: &str, progress: &Progress) -> Result<u8> {
    let task = logs::task_id(task_arn);
    match ending {
        Ending::Exited { container, code } => {
            progress.line(format!(
                "task {task}: container {container} exited with code {code}"
            ));
            Ok(ending.exit_code())
        }
        Ending::OutOfMemory {
            container,
            code,
            reason,
        } => {
            let code = code.map_or_else(|| "no exit code".to_string(), |c| format!("exit code {c}"));
            progress.line(format!(
                "task {task}: container {container} was killed for its memory use ({code}): {reason}"
            ));
            progress.line(
                "Hint: raise the container's `memory` (or the task's) in its task definition, or make the job use less",
            );
            Ok(ending.exit_code())
        }
        Ending::NeverStarted { reason, hints } => {
            let mut err = Error::new(format!("task {task} never started: {reason}"));
            for hint in hints {
                err = err.hint(hint.clone());
            }
            Err(err)
        }
        Ending::CutShort {
            container,
            stop_code,
            reason,
        } => Err(Error::new(format!(
            "task {task} was stopped before its job ended ({stop_code}: {reason}); container {container} exited with code 0"
        ))
        .hint("run it again; a Spot interruption or someone's StopTask cut it short")),
        Ending::NoExitCode { container, reason } => Err(Error::new(format!(
            "task {task} stopped without an exit code for container {container}: {reason}"
        ))),
    }
}

pub use crate::model::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5m3").is_err());
        // Too long for a u64 of seconds: an error, not an overflow panic.
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("9999999999999999999h").is_err());
        assert!(parse_duration("18446744073709551615s1s").is_err());
    }

    #[test]
    fn essential_is_the_default() {
        let td = json!({"containerDefinitions": [
            {"name": "app"}, {"name": "sidecar", "essential": false}, {"name": "init", "essential": true}
        ]});
        let (all, essential) = containers(&td);
        assert_eq!(all, ["app", "sidecar", "init"]);
        assert_eq!(essential, ["app", "init"]);
    }

    #[test]
    fn console_url_names_cluster_and_task() {
        assert_eq!(
            console_url(
                "us-east-1",
                "arn:aws:ecs:us-east-1:1:cluster/batch",
                "arn:aws:ecs:us-east-1:1:task/batch/abc"
            ),
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/batch/tasks/abc?region=us-east-1"
        );
    }
}
