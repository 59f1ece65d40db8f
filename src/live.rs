//! Live state: the newest revision of each family we template, and every target of ours on
//! the configured buses. Reads only, concurrently with a bound.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde_json::Value;

use crate::aws::ecs::{self, LiveTaskDef};
use crate::aws::{Aws, events};
use crate::config::LoadedConfig;
use crate::error::Result;

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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuleRef {
    pub event_bus: String,
    pub rule: String,
}

/// A target of ours: ECS on our cluster, a family we have a template for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTarget {
    #[serde(flatten)]
    pub rule: RuleRef,
    pub target_id: String,
    pub task_definition: TaskDefRef,
    /// The whole target as ListTargetsByRule returned it.
    #[serde(skip)]
    pub raw: Value,
}

/// Why a target we saw is left alone; shown with `--verbose`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    #[serde(flatten)]
    pub rule: RuleRef,
    pub target_id: Option<String>,
    pub kind: SkipKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    Excluded,
    NotEcs,
    OtherCluster,
    /// ECS on our cluster, but the family has no template: `status` reports it as drift.
    NoTemplate,
}

#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub cluster_arn: String,
    /// Newest ACTIVE revision per templated family; `None` when the family does not exist yet.
    pub families: BTreeMap<String, Option<LiveTaskDef>>,
    pub targets: Vec<LiveTarget>,
    pub skipped: Vec<Skipped>,
}

pub enum Classified {
    Ours(TaskDefRef),
    NotOurs(SkipKind, String),
}

/// Is this target ours? Pure, so the rules of ownership are unit-tested.
pub fn classify(target: &Value, cluster_arn: &str, families: &BTreeSet<String>) -> Classified {
    let Some(ecs) = target.get("EcsParameters") else {
        return Classified::NotOurs(SkipKind::NotEcs, "not an ECS target".into());
    };
    let arn = target
        .get("Arn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if arn != cluster_arn {
        return Classified::NotOurs(SkipKind::OtherCluster, format!("other cluster {arn}"));
    }
    let Some(td) = ecs.get("TaskDefinitionArn").and_then(Value::as_str) else {
        return Classified::NotOurs(SkipKind::NotEcs, "no TaskDefinitionArn".into());
    };
    let td = TaskDefRef::parse(td);
    if !families.contains(&td.family) {
        return Classified::NotOurs(
            SkipKind::NoTemplate,
            format!("family `{}` has no template", td.family),
        );
    }
    Classified::Ours(td)
}

pub async fn read(aws: &Aws, config: &LoadedConfig, families: &[String]) -> Result<LiveState> {
    let describe_families = stream::iter(families.iter().cloned())
        .map(|family| async move {
            let live = ecs::describe(&aws.ecs, &family).await?;
            Ok::<_, crate::error::Error>((family, live))
        })
        .buffer_unordered(aws.concurrency)
        .try_collect::<BTreeMap<_, _>>();
    let (families, targets) =
        futures::future::try_join(describe_families, read_targets(aws, config, families)).await?;
    Ok(LiveState {
        families,
        ..targets
    })
}

/// The targets only, without describing the families: what the release commands need,
/// since they read revisions through [`crate::history::Reader`].
pub async fn read_targets(
    aws: &Aws,
    config: &LoadedConfig,
    families: &[String],
) -> Result<LiveState> {
    let families: BTreeSet<String> = families.iter().cloned().collect();
    let families = &families;
    let cluster_arn = ecs::cluster_arn(&aws.ecs, &config.config.cluster).await?;
    let buses = &config.config.rules.event_buses;
    let per_bus: Vec<Vec<String>> = stream::iter(buses.iter())
        .map(|bus| events::rule_names_by_target(&aws.events, &cluster_arn, bus))
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    let mut skipped = Vec::new();
    let mut rules = Vec::new();
    for (bus, names) in buses.iter().zip(per_bus) {
        for name in names {
            let rule = RuleRef {
                event_bus: bus.clone(),
                rule: name,
            };
            if config.rule_exclude.is_match(&rule.rule) {
                skipped.push(Skipped {
                    rule,
                    target_id: None,
                    kind: SkipKind::Excluded,
                    reason: "excluded by rules.exclude".into(),
                });
            } else {
                rules.push(rule);
            }
        }
    }
    let listed: Vec<(RuleRef, Vec<Value>)> = stream::iter(rules)
        .map(|rule| async move {
            let targets = events::list_targets(&aws.events, &rule.rule, &rule.event_bus).await?;
            Ok::<_, crate::error::Error>((rule, targets))
        })
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    let mut ours = Vec::new();
    for (rule, targets) in listed {
        for raw in targets {
            let target_id = raw
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match classify(&raw, &cluster_arn, families) {
                Classified::Ours(task_definition) => ours.push(LiveTarget {
                    rule: rule.clone(),
                    target_id,
                    task_definition,
                    raw,
                }),
                Classified::NotOurs(kind, reason) => skipped.push(Skipped {
                    rule: rule.clone(),
                    target_id: Some(target_id),
                    kind,
                    reason,
                }),
            }
        }
    }
    ours.sort_by(|a, b| (&a.rule, &a.target_id).cmp(&(&b.rule, &b.target_id)));
    Ok(LiveState {
        cluster_arn,
        families: BTreeMap::new(),
        targets: ours,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_definition_refs() {
        let r = TaskDefRef::parse("arn:aws:ecs:us-east-1:123:task-definition/web-batch:42");
        assert_eq!((r.family.as_str(), r.revision), ("web-batch", Some(42)));
        let r = TaskDefRef::parse("arn:aws:ecs:us-east-1:123:task-definition/web-batch");
        assert_eq!((r.family.as_str(), r.revision), ("web-batch", None));
        assert_eq!(r.label(), "web-batch (floating)");
        let r = TaskDefRef::parse("report:3");
        assert_eq!((r.family.as_str(), r.revision), ("report", Some(3)));
    }

    #[test]
    fn ownership() {
        let cluster = "arn:aws:ecs:us-east-1:123:cluster/batch";
        let families: BTreeSet<String> = ["web".to_string()].into();
        let ours = json!({"Id": "a", "Arn": cluster, "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123:task-definition/web:1"}});
        assert!(matches!(
            classify(&ours, cluster, &families),
            Classified::Ours(_)
        ));
        let other_cluster = json!({"Id": "a", "Arn": "arn:aws:ecs:us-east-1:123:cluster/other", "EcsParameters": {"TaskDefinitionArn": "web:1"}});
        assert!(matches!(
            classify(&other_cluster, cluster, &families),
            Classified::NotOurs(..)
        ));
        let other_family =
            json!({"Id": "a", "Arn": cluster, "EcsParameters": {"TaskDefinitionArn": "api:1"}});
        assert!(
            matches!(classify(&other_family, cluster, &families), Classified::NotOurs(SkipKind::NoTemplate, r) if r.contains("api"))
        );
        let lambda = json!({"Id": "a", "Arn": cluster});
        assert!(matches!(
            classify(&lambda, cluster, &families),
            Classified::NotOurs(..)
        ));
    }
}
