//! EventBridge Scheduler schedules, read and written as raw JSON. UpdateSchedule replaces the
//! whole schedule, so a repoint sends back every field GetSchedule returned (including ones
//! this SDK version may not know), with only the task definition changed.

use serde_json::Value;

use super::pace::{Group, Paced};
use super::raw::RawJson;
use super::{aws_error, failed, paginate};
use crate::error::{Error, Result};

/// GetSchedule fields that UpdateSchedule does not take. `Name` stays in what we keep (it
/// identifies the schedule) and goes into the request path instead of the body.
const READ_ONLY: [&str; 3] = ["Arn", "CreationDate", "LastModificationDate"];

/// A schedule as ListSchedules summarises it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub group: String,
    pub name: String,
    /// The target's ARN: for an ECS RunTask target, the cluster.
    pub target_arn: Option<String>,
}

/// Every schedule in `group` (every group when `None`), paginated.
pub async fn list(
    scheduler: &Paced<aws_sdk_scheduler::Client>,
    group: Option<&str>,
) -> Result<Vec<Summary>> {
    paginate(|token| async move {
        let out = scheduler
            .call(Group::Scheduler, "ListSchedules", || {
                scheduler
                    .list_schedules()
                    .set_group_name(group.map(str::to_string))
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| {
                let subject = group.map_or(String::new(), |g| format!("(group {g})"));
                failed("ListSchedules", subject, &e)
            })?;
        let found = out
            .schedules()
            .iter()
            .filter_map(|s| {
                Some(Summary {
                    group: s.group_name().or(group).unwrap_or("default").to_string(),
                    name: s.name()?.to_string(),
                    target_arn: s.target().map(|t| t.arn().to_string()),
                })
            })
            .collect();
        Ok((found, out.next_token().map(str::to_string)))
    })
    .await
}

/// The whole schedule as GetSchedule returns it, less its read-only fields and null members:
/// exactly what UpdateSchedule takes back.
pub async fn get(
    scheduler: &Paced<aws_sdk_scheduler::Client>,
    group: &str,
    name: &str,
) -> Result<Value> {
    let raw = RawJson::capture();
    scheduler
        .call(Group::Scheduler, "GetSchedule", || {
            scheduler
                .get_schedule()
                .group_name(group)
                .name(name)
                .customize()
                .interceptor(raw.clone())
                .send()
        })
        .await
        .map_err(aws_error("GetSchedule", format!("{group}/{name}")))?;
    Ok(writable(raw.response("GetSchedule")?))
}

/// Drops what UpdateSchedule does not accept.
pub fn writable(mut schedule: Value) -> Value {
    if let Some(fields) = schedule.as_object_mut() {
        fields.retain(|k, v| !READ_ONLY.contains(&k.as_str()) && !v.is_null());
    }
    schedule
}

/// UpdateSchedule with `schedule` (as [`get`] returned it) as the whole request body.
pub async fn update(scheduler: &Paced<aws_sdk_scheduler::Client>, schedule: &Value) -> Result<()> {
    let field = |key: &str| {
        schedule
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (group, name) = (field("GroupName"), field("Name"));
    let mut body = schedule.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("Name");
    }
    let target = schedule.get("Target").cloned().unwrap_or(Value::Null);
    let target_field = |key: &str| target.get(key).and_then(Value::as_str).map(str::to_string);
    let mode = schedule
        .pointer("/FlexibleTimeWindow/Mode")
        .and_then(Value::as_str)
        .unwrap_or("OFF");
    // The SDK checks required members before it serialises; the body it builds is then
    // replaced by ours, so these only need to be the schedule's own values.
    let built_target = aws_sdk_scheduler::types::Target::builder()
        .set_arn(target_field("Arn"))
        .set_role_arn(target_field("RoleArn"))
        .build()
        .map_err(|e| Error::new(format!("UpdateSchedule {group}/{name}: target: {e}")))?;
    let window = aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
        .mode(mode.into())
        .build()
        .map_err(|e| Error::new(format!("UpdateSchedule {group}/{name}: {e}")))?;
    let raw = RawJson::send(&body);
    scheduler
        .call(Group::Scheduler, "UpdateSchedule", || {
            scheduler
                .update_schedule()
                .name(name)
                .group_name(group)
                .schedule_expression(field("ScheduleExpression"))
                .flexible_time_window(window.clone())
                .target(built_target.clone())
                .customize()
                .interceptor(raw.clone())
                .send()
        })
        .await
        .map_err(aws_error("UpdateSchedule", format!("{group}/{name}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writable_keeps_every_field_update_takes() {
        let got = json!({
            "Arn": "arn:aws:scheduler:us-east-1:123:schedule/default/n",
            "CreationDate": 1.7e9, "LastModificationDate": 1.7e9,
            "Name": "n", "GroupName": "default", "Description": null,
            "State": "DISABLED", "ActionAfterCompletion": "NONE",
            "StartDate": 1.8e9, "Target": {"Arn": "c", "FutureField": 1}
        });
        assert_eq!(
            writable(got),
            json!({
                "Name": "n", "GroupName": "default", "State": "DISABLED",
                "ActionAfterCompletion": "NONE", "StartDate": 1.8e9,
                "Target": {"Arn": "c", "FutureField": 1}
            })
        );
    }
}
