//! Reading and writing an [`Owner`] as a whole: a rule's targets, or a schedule. What comes
//! back is a list of "slots" in AWS's own JSON: the rule's targets, or the one schedule.

use serde_json::Value;

use super::{Aws, events, scheduler};
use crate::error::{Error, Result};
use crate::model::Owner;

/// Every slot of `owner` as AWS has it now.
pub async fn read(aws: &Aws, owner: &Owner) -> Result<Vec<Value>> {
    match owner {
        Owner::Rule { event_bus, rule } => events::list_targets(&aws.events, rule, event_bus).await,
        Owner::Schedule { group, schedule } => {
            Ok(vec![scheduler::get(&aws.scheduler, group, schedule).await?])
        }
    }
}

/// Writes `slots` (each whole, as [`read`] returned it, modified): PutTargets with the
/// rule's targets, or UpdateSchedule with the schedule.
pub async fn write(aws: &Aws, owner: &Owner, slots: &[Value]) -> Result<()> {
    match owner {
        Owner::Rule { event_bus, rule } => events::put_targets(&aws.events, rule, event_bus, slots)
            .await
            .map_err(Error::from),
        Owner::Schedule { .. } => {
            for schedule in slots {
                scheduler::update(&aws.scheduler, schedule).await?;
            }
            Ok(())
        }
    }
}

/// Which slot of its owner `slot` is: the rule target's `Id`; a schedule has one slot.
pub fn slot_id<'a>(owner: &Owner, slot: &'a Value) -> Option<&'a str> {
    match owner {
        Owner::Rule { .. } => slot.get("Id").and_then(Value::as_str),
        Owner::Schedule { .. } => None,
    }
}

/// The slot with `id` among `slots`.
pub fn find<'a>(owner: &Owner, slots: &'a [Value], id: Option<&str>) -> Option<&'a Value> {
    slots.iter().find(|s| slot_id(owner, s) == id)
}

/// `slot` with only its task definition ARN changed.
pub fn with_task_definition(owner: &Owner, slot: &Value, arn: &str) -> Value {
    let mut slot = slot.clone();
    if let Some(field) = slot.pointer_mut(owner.task_definition_pointer()) {
        *field = Value::String(arn.to_string());
    }
    slot
}

/// `family:rev` of the task definition `slot` runs, for messages.
pub fn task_definition_label(owner: &Owner, slot: &Value) -> String {
    slot.pointer(owner.task_definition_pointer())
        .and_then(Value::as_str)
        .map_or("(no task definition)".to_string(), |arn| {
            crate::model::TaskDefRef::parse(arn).label()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_task_definition_changes() {
        let schedule = Owner::Schedule {
            group: "g".into(),
            schedule: "s".into(),
        };
        let body = json!({"Name": "s", "State": "DISABLED",
            "Target": {"Arn": "c", "RoleArn": "r", "EcsParameters": {"TaskDefinitionArn": "f:1", "TaskCount": 2}}});
        let moved = with_task_definition(&schedule, &body, "f:2");
        assert_eq!(moved["Target"]["EcsParameters"]["TaskDefinitionArn"], "f:2");
        let mut back = moved.clone();
        back["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!("f:1");
        assert_eq!(back, body);
        assert_eq!(task_definition_label(&schedule, &moved), "f:2");
        assert_eq!(slot_id(&schedule, &body), None);

        let rule = Owner::Rule {
            event_bus: "default".into(),
            rule: "r".into(),
        };
        let target = json!({"Id": "t", "EcsParameters": {"TaskDefinitionArn": "f:1"}});
        assert_eq!(slot_id(&rule, &target), Some("t"));
        assert_eq!(
            with_task_definition(&rule, &target, "f:3")["EcsParameters"]["TaskDefinitionArn"],
            "f:3"
        );
    }
}
