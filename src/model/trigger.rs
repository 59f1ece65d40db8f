//! What starts a batch job, and the AWS object jobdeploy writes to change it.

use serde::Serialize;
use serde_json::Value;

/// The AWS object jobdeploy writes as a whole: a rule (PutTargets) or a schedule
/// (UpdateSchedule).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    Rule { event_bus: String, rule: String },
    Schedule { group: String, schedule: String },
}

impl Owner {
    /// `bus/rule`, or `schedule group/name`.
    pub fn label(&self) -> String {
        match self {
            Owner::Rule { event_bus, rule } => format!("{event_bus}/{rule}"),
            Owner::Schedule { group, schedule } => format!("schedule {group}/{schedule}"),
        }
    }

    /// How messages name it: `rule R (bus B)`, or `schedule G/N`.
    pub fn describe(&self) -> String {
        match self {
            Owner::Rule { event_bus, rule } => format!("rule {rule} (bus {event_bus})"),
            Owner::Schedule { .. } => self.label(),
        }
    }

    /// The ECS target inside what `aws::owner::read` returns for this owner: the
    /// rule target itself, or the schedule's `Target`.
    pub fn target_of<'a>(&self, slot: &'a Value) -> &'a Value {
        match self {
            Owner::Rule { .. } => slot,
            Owner::Schedule { .. } => slot.get("Target").unwrap_or(&Value::Null),
        }
    }

    /// Where in what `aws::owner::read` returns the task definition ARN is.
    pub fn task_definition_pointer(&self) -> &'static str {
        match self {
            Owner::Rule { .. } => "/EcsParameters/TaskDefinitionArn",
            Owner::Schedule { .. } => "/Target/EcsParameters/TaskDefinitionArn",
        }
    }
}

/// What starts a batch job: one target of a rule, or a schedule (which has exactly one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Trigger {
    #[serde(flatten)]
    pub owner: Owner,
    /// The rule target's `Id`; schedules have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

impl Trigger {
    pub fn rule_target(event_bus: &str, rule: &str, target_id: &str) -> Self {
        Self {
            owner: Owner::Rule {
                event_bus: event_bus.into(),
                rule: rule.into(),
            },
            target_id: Some(target_id.into()),
        }
    }

    pub fn schedule(group: &str, schedule: &str) -> Self {
        Self {
            owner: Owner::Schedule {
                group: group.into(),
                schedule: schedule.into(),
            },
            target_id: None,
        }
    }

    /// `bus/rule target ID`, or `schedule group/name`.
    pub fn label(&self) -> String {
        match &self.target_id {
            Some(id) => format!("{} target {id}", self.owner.label()),
            None => self.owner.label(),
        }
    }

    /// How messages name it: `rule R (bus B) target ID`, or `schedule G/N`.
    pub fn describe(&self) -> String {
        match &self.target_id {
            Some(id) => format!("{} target {id}", self.owner.describe()),
            None => self.owner.describe(),
        }
    }
}
