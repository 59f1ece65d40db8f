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
