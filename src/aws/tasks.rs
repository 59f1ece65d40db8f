//! ECS tasks: RunTask, DescribeTasks, StopTask. RunTask's request is sent as the JSON that
//! [`crate::run::request`] built from the live target, so every field the target carries
//! reaches ECS, including ones newer than this SDK.

use serde_json::Value;

use super::pace::{Group, Paced};
use super::raw::RawJson;
use super::{aws_error, failed};
use crate::error::{Error, Result};

/// What RunTask answered: the started tasks (JSON, as ECS returns them) and the `failures`
/// that come back with HTTP 200.
#[derive(Debug, Clone, Default)]
pub struct Started {
    pub tasks: Vec<Value>,
    pub failures: Vec<Failure>,
}

/// One entry of a `failures` array: `RESOURCE:MEMORY`, `AGENT`, capacity unavailable, …
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub arn: Option<String>,
    pub reason: String,
    pub detail: Option<String>,
}

impl Failure {
    pub fn describe(&self) -> String {
        match &self.detail {
            Some(detail) if !detail.is_empty() => format!("{} ({detail})", self.reason),
            _ => self.reason.clone(),
        }
    }
}

fn failures(response: &Value) -> Vec<Failure> {
    let text = |f: &Value, k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
    response
        .get("failures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| Failure {
            arn: text(f, "arn"),
            reason: text(f, "reason").unwrap_or_else(|| "unknown".to_string()),
            detail: text(f, "detail"),
        })
        .collect()
}

fn tasks(response: &Value) -> Vec<Value> {
    response
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// RunTask with `request` (a whole RunTask body) as the request. RunTask has a bucket of its
/// own at AWS, larger than the reads'; a run makes one call, paced with the ECS reads.
pub async fn run(ecs: &Paced<aws_sdk_ecs::Client>, request: &Value) -> Result<Started> {
    let task_definition = request
        .get("taskDefinition")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let raw = RawJson::send(request);
    ecs.call(Group::EcsReads, "RunTask", || {
        ecs.run_task()
            .task_definition(&task_definition)
            .customize()
            .interceptor(raw.clone())
            .send()
    })
    .await
    .map_err(aws_error("RunTask", &task_definition))?;
    let response = raw.response("RunTask")?;
    Ok(Started {
        tasks: tasks(&response),
        failures: failures(&response),
    })
}

/// The task as DescribeTasks returns it; `None` when ECS answers `MISSING` (right after
/// RunTask, as its API is eventually consistent, or about an hour after the task stopped).
pub async fn describe(
    ecs: &Paced<aws_sdk_ecs::Client>,
    cluster: &str,
    task: &str,
) -> Result<Option<Value>> {
    let raw = RawJson::capture();
    ecs.call(Group::EcsReads, "DescribeTasks", || {
        ecs.describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .customize()
            .interceptor(raw.clone())
            .send()
    })
    .await
    .map_err(aws_error("DescribeTasks", task))?;
    let response = raw.response("DescribeTasks")?;
    found(&response).map_err(|why| Error::new(format!("DescribeTasks {task}: {why}")))
}

/// The task of a DescribeTasks answer, `None` for `MISSING`, else the failure's reason.
fn found(response: &Value) -> std::result::Result<Option<Value>, String> {
    if let Some(found) = tasks(response).into_iter().next() {
        return Ok(Some(found));
    }
    match failures(response).first() {
        Some(f) if f.reason == "MISSING" => Ok(None),
        Some(f) => Err(f.describe()),
        None => Err("not found".to_string()),
    }
}

/// The ARNs of `family`'s tasks on `cluster` that ECS still lists with `desired_status`
/// (`RUNNING` or `STOPPED`; stopped tasks stay visible for about an hour). `Denied` when the
/// caller may not list them.
pub async fn list(
    ecs: &Paced<aws_sdk_ecs::Client>,
    cluster: &str,
    family: &str,
    desired_status: &str,
) -> Result<super::Lookup<Vec<String>>> {
    use aws_sdk_ecs::types::DesiredStatus;
    let status = DesiredStatus::from(desired_status);
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ecs
            .call(Group::EcsReads, "ListTasks", || {
                ecs.list_tasks()
                    .cluster(cluster)
                    .family(family)
                    .desired_status(status.clone())
                    .max_results(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if super::is_denied(&e) => return Ok(super::Lookup::Denied("ecs:ListTasks")),
            Err(e) => return Err(failed("ListTasks", format!("of family {family}"), &e)),
        };
        arns.extend(out.task_arns().iter().cloned());
        token = super::next_token(out.next_token());
        if token.is_none() {
            return Ok(super::Lookup::Found(arns));
        }
    }
}

/// DescribeTasks answers at most 100 tasks a call.
pub const DESCRIBE_TASKS_PER_CALL: usize = 100;

/// The tasks as DescribeTasks returns them (JSON), 100 a call; tasks ECS no longer knows
/// (`MISSING`) are left out. `Denied` when the caller may not describe them.
pub async fn describe_many(
    ecs: &Paced<aws_sdk_ecs::Client>,
    cluster: &str,
    arns: &[String],
) -> Result<super::Lookup<Vec<Value>>> {
    let mut found = Vec::new();
    for batch in arns.chunks(DESCRIBE_TASKS_PER_CALL) {
        let raw = RawJson::capture();
        let out = ecs
            .call(Group::EcsReads, "DescribeTasks", || {
                ecs.describe_tasks()
                    .cluster(cluster)
                    .set_tasks(Some(batch.to_vec()))
                    .customize()
                    .interceptor(raw.clone())
                    .send()
            })
            .await;
        match out {
            Ok(_) => found.extend(tasks(&raw.response("DescribeTasks")?)),
            Err(e) if super::is_denied(&e) => {
                return Ok(super::Lookup::Denied("ecs:DescribeTasks"));
            }
            Err(e) => return Err(failed("DescribeTasks", cluster, &e)),
        }
    }
    Ok(super::Lookup::Found(found))
}

/// StopTask with `reason` (shown in the console and in DescribeTasks' `stoppedReason`).
pub async fn stop(
    ecs: &Paced<aws_sdk_ecs::Client>,
    cluster: &str,
    task: &str,
    reason: &str,
) -> Result<()> {
    ecs.call(Group::EcsReads, "StopTask", || {
        ecs.stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| failed("StopTask", task, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_at_http_200_are_read_with_their_detail() {
        let response = json!({"tasks": [], "failures": [
            {"arn": "arn:aws:ecs:us-east-1:1:container-instance/x", "reason": "RESOURCE:MEMORY"},
            {"reason": "Capacity is unavailable at this time", "detail": "FARGATE_SPOT"}
        ]});
        let found = failures(&response);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].describe(), "RESOURCE:MEMORY");
        assert_eq!(
            found[1].describe(),
            "Capacity is unavailable at this time (FARGATE_SPOT)"
        );
        assert!(tasks(&response).is_empty());
    }

    #[test]
    fn a_missing_task_is_none_other_failures_are_errors() {
        let missing = json!({"tasks": [], "failures": [{"arn": "t", "reason": "MISSING"}]});
        assert_eq!(found(&missing), Ok(None));
        let task = json!({"tasks": [{"taskArn": "t"}], "failures": []});
        assert_eq!(found(&task), Ok(Some(json!({"taskArn": "t"}))));
        let other = json!({"failures": [{"arn": "t", "reason": "ACCESS_DENIED"}]});
        assert_eq!(found(&other), Err("ACCESS_DENIED".to_string()));
    }
}
