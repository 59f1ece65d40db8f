//! EventBridge Scheduler schedules.

use futures::{StreamExt, TryStreamExt, stream};

use super::describe_error;
use crate::error::{Error, Result};

/// A schedule's ECS task definition, as `prune` needs to know what is in use.
#[derive(Debug, Clone)]
pub struct ScheduleTaskDefinition {
    pub group: String,
    pub name: String,
    pub task_definition_arn: String,
}

/// Every schedule in every group whose target runs an ECS task, with its task definition.
/// ListSchedules returns summaries only, so each schedule is fetched, concurrently.
pub async fn ecs_task_definitions(
    scheduler: &aws_sdk_scheduler::Client,
    concurrency: usize,
) -> Result<Vec<ScheduleTaskDefinition>> {
    let mut summaries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = scheduler
            .list_schedules()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::new(format!("ListSchedules: {}", describe_error(&e))))?;
        for s in out.schedules() {
            if let Some(name) = s.name() {
                let group = s.group_name().unwrap_or("default").to_string();
                summaries.push((group, name.to_string()));
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let found: Vec<Option<ScheduleTaskDefinition>> = stream::iter(summaries)
        .map(|(group, name)| async move {
            let out = scheduler
                .get_schedule()
                .group_name(&group)
                .name(&name)
                .send()
                .await
                .map_err(|e| {
                    Error::new(format!(
                        "GetSchedule {group}/{name}: {}",
                        describe_error(&e)
                    ))
                })?;
            let arn = out
                .target()
                .and_then(|t| t.ecs_parameters())
                .map(|e| e.task_definition_arn().to_string());
            Ok::<_, Error>(arn.map(|task_definition_arn| ScheduleTaskDefinition {
                group,
                name,
                task_definition_arn,
            }))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
