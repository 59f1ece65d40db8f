//! Task definitions: as a target names one, and a registered revision as ECS describes it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A task definition as a target names it: `…:task-definition/family:rev`, or without
/// `:rev`, which floats to the newest revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDefRef {
    pub arn: String,
    pub family: String,
    pub revision: Option<i64>,
}

impl TaskDefRef {
    pub fn parse(arn: &str) -> Self {
        let tail = arn.rsplit_once("task-definition/").map_or(arn, |(_, t)| t);
        let (family, revision) = match tail.rsplit_once(':') {
            Some((family, rev)) => match rev.parse::<i64>() {
                Ok(n) => (family, Some(n)),
                Err(_) => (tail, None),
            },
            None => (tail, None),
        };
        Self {
            arn: arn.to_string(),
            family: family.to_string(),
            revision,
        }
    }

    pub fn label(&self) -> String {
        match self.revision {
            Some(rev) => format!("{}:{rev}", self.family),
            None => format!("{} (floating)", self.family),
        }
    }
}

/// A registered task definition revision as DescribeTaskDefinition shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTaskDef {
    pub arn: String,
    pub family: String,
    pub revision: i64,
    pub status: EcsStatus,
    /// `registeredAt` in seconds since the epoch, when ECS reports it.
    pub registered_at: Option<f64>,
    /// The `taskDefinition` object plus `tags`: the shape templates are compared with.
    #[serde(skip)]
    pub body: Value,
}

impl LiveTaskDef {
    /// From a DescribeTaskDefinition or RegisterTaskDefinition response; `None` when it has
    /// no `taskDefinition`.
    pub fn from_response(response: &Value) -> Option<Self> {
        let Some(Value::Object(td)) = response.get("taskDefinition") else {
            return None;
        };
        let mut body = td.clone();
        if let Some(tags) = response.get("tags") {
            body.insert("tags".into(), tags.clone());
        }
        let text = |k: &str| {
            td.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(Self {
            arn: text("taskDefinitionArn"),
            family: text("family"),
            revision: td
                .get("revision")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            status: EcsStatus::from(text("status").as_str()),
            registered_at: td.get("registeredAt").and_then(Value::as_f64),
            body: Value::Object(body),
        })
    }

    /// The revision's tags as `key → value`.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.body
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("key")?.as_str()?.to_string(),
                    t.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

/// A revision's `status` as ECS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcsStatus {
    Active,
    Inactive,
    DeleteInProgress,
    /// A status this version of jobdeploy does not know, kept as ECS wrote it.
    Other(String),
}

impl EcsStatus {
    pub fn as_str(&self) -> &str {
        match self {
            EcsStatus::Active => "ACTIVE",
            EcsStatus::Inactive => "INACTIVE",
            EcsStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
            EcsStatus::Other(s) => s,
        }
    }

    pub fn is_active(&self) -> bool {
        *self == EcsStatus::Active
    }
}

impl From<&str> for EcsStatus {
    fn from(s: &str) -> Self {
        match s {
            "ACTIVE" => EcsStatus::Active,
            "INACTIVE" => EcsStatus::Inactive,
            "DELETE_IN_PROGRESS" => EcsStatus::DeleteInProgress,
            other => EcsStatus::Other(other.to_string()),
        }
    }
}

impl fmt::Display for EcsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EcsStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ref_parses_family_and_revision() {
        let r = TaskDefRef::parse("arn:aws:ecs:eu-west-1:1:task-definition/web:7");
        assert_eq!((r.family.as_str(), r.revision), ("web", Some(7)));
        assert_eq!(r.label(), "web:7");
        let floating = TaskDefRef::parse("arn:aws:ecs:eu-west-1:1:task-definition/web");
        assert_eq!((floating.family.as_str(), floating.revision), ("web", None));
        assert_eq!(floating.label(), "web (floating)");
    }

    #[test]
    fn a_status_round_trips_and_keeps_unknown_words() {
        for s in ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS", "PAUSED"] {
            assert_eq!(EcsStatus::from(s).as_str(), s);
            assert_eq!(json!(EcsStatus::from(s)), json!(s));
        }
        assert!(EcsStatus::from("ACTIVE").is_active());
        assert!(!EcsStatus::from("INACTIVE").is_active());
    }

    #[test]
    fn a_live_revision_reads_its_response() {
        let response = json!({
            "taskDefinition": {"taskDefinitionArn": "arn:td/web:3", "family": "web",
                               "revision": 3, "status": "ACTIVE"},
            "tags": [{"key": "team", "value": "data"}],
        });
        let td = LiveTaskDef::from_response(&response).expect("has a taskDefinition");
        assert_eq!((td.family.as_str(), td.revision), ("web", 3));
        assert_eq!(td.status, EcsStatus::Active);
        assert_eq!(td.tags().get("team").map(String::as_str), Some("data"));
        assert!(LiveTaskDef::from_response(&json!({})).is_none());
    }
}
