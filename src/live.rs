//! Live state: the newest revision of each family we template, and every target of ours on
//! the configured buses. Reads only, concurrently with a bound.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use globset::GlobSet;
use serde::Serialize;
use serde_json::Value;

use crate::aws::ecs;
use crate::aws::{Aws, events, scheduler};
use crate::config::LoadedConfig;
use crate::error::Result;
use crate::model::{LiveTaskDef, Owner, TaskDefRef, Trigger};

/// A target of ours: ECS on our cluster, a family we have a template for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTarget {
    #[serde(flatten)]
    pub at: Trigger,
    pub task_definition: TaskDefRef,
    /// The rule's target as ListTargetsByRule returned it, or the schedule as GetSchedule
    /// returned it (less its read-only fields).
    #[serde(skip)]
    pub raw: Value,
}

/// Why a target we saw is left alone; shown with `--verbose`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// Without a target id when a whole rule or schedule is left alone.
    #[serde(flatten)]
    pub at: Trigger,
    /// Not `kind`: that is the trigger's (`rule` or `schedule`), flattened beside it.
    #[serde(rename = "skip")]
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
    /// `ENABLED` or `DISABLED` (as AWS spells it) per rule and schedule of ours: a disabled
    /// one is still repointed, and the plan says it is disabled.
    pub states: BTreeMap<Owner, String>,
    /// The schedule expression of each rule of ours that has one (from the same ListRules):
    /// `runs` shows when it fires next. A schedule's is in its GetSchedule answer.
    pub rule_expressions: BTreeMap<Owner, String>,
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
    let (families, targets) = futures::future::try_join(
        describe_families(aws, families),
        read_targets(aws, config, families),
    )
    .await?;
    Ok(LiveState {
        families,
        ..targets
    })
}

/// The newest ACTIVE revision of each family (`None`: the family does not exist yet).
pub async fn describe_families(
    aws: &Aws,
    families: &[String],
) -> Result<BTreeMap<String, Option<LiveTaskDef>>> {
    stream::iter(families.iter().cloned())
        .map(|family| async move {
            let live = ecs::describe(&aws.ecs, &family).await?;
            Ok::<_, crate::error::Error>((family, live))
        })
        .buffer_unordered(aws.concurrency)
        .try_collect::<BTreeMap<_, _>>()
        .await
}

/// The targets only, without describing the families: what the release commands need,
/// since they read revisions through [`crate::history::Reader`]. Rules and schedules are
/// read side by side.
pub async fn read_targets(
    aws: &Aws,
    config: &LoadedConfig,
    families: &[String],
) -> Result<LiveState> {
    read_targets_with(aws, config, families, None).await
}

/// [`read_targets`], telling `on_ours` of each target of ours as soon as its rule or
/// schedule is read (in the network's order), before the scan is over: what lets verify's
/// reads of a target's role and network start beside the rest of the scan.
pub async fn read_targets_tapped(
    aws: &Aws,
    config: &LoadedConfig,
    families: &[String],
    on_ours: &(dyn Fn(&LiveTarget) + Sync),
) -> Result<LiveState> {
    read_targets_with(aws, config, families, Some(on_ours)).await
}

async fn read_targets_with(
    aws: &Aws,
    config: &LoadedConfig,
    families: &[String],
    on_ours: Option<&(dyn Fn(&LiveTarget) + Sync)>,
) -> Result<LiveState> {
    let families: BTreeSet<String> = families.iter().cloned().collect();
    let cluster_arn = ecs::cluster_arn(&aws.ecs, &config.config.cluster).await?;
    let tap = |at: &Trigger, raw: &Value| {
        let Some(on_ours) = on_ours else {
            return;
        };
        if let Classified::Ours(task_definition) =
            classify(at.owner.target_of(raw), &cluster_arn, &families)
        {
            on_ours(&LiveTarget {
                at: at.clone(),
                task_definition,
                raw: raw.clone(),
            });
        }
    };
    let scope = Scope {
        buses: &config.config.rules.event_buses,
        groups: Some(&config.config.schedules.groups),
        rule_exclude: Some(&config.rule_exclude),
        schedule_exclude: Some(&config.schedule_exclude),
    };
    let mut skipped = Vec::new();
    let mut ours = Vec::new();
    // The rules' states come from ListRules, a page per 100 rules on a bus, read beside the
    // scan: no call per rule. A schedule's is in the GetSchedule the scan makes anyway.
    let (found, rule_states) = futures::future::try_join(
        scan_tapped(aws, Reach::Cluster(&cluster_arn), &scope, &tap),
        rule_states(aws, scope.buses),
    )
    .await?;
    let mut states = BTreeMap::new();
    let mut rule_expressions = BTreeMap::new();
    for (at, found) in found {
        let raw = match found {
            Found::Slot(raw) => raw,
            Found::Skipped(kind, reason) => {
                skipped.push(Skipped { at, kind, reason });
                continue;
            }
        };
        let state = match &at.owner {
            Owner::Rule { event_bus, rule } => {
                let summary = rule_states.get(&(event_bus.clone(), rule.clone()));
                if let Some(expression) = summary.and_then(|s| s.schedule_expression.clone()) {
                    rule_expressions.insert(at.owner.clone(), expression);
                }
                summary.map(|s| s.state.clone())
            }
            Owner::Schedule { .. } => raw.get("State").and_then(Value::as_str).map(str::to_string),
        };
        match classify(at.owner.target_of(&raw), &cluster_arn, &families) {
            Classified::Ours(task_definition) => {
                if let Some(state) = state {
                    states.insert(at.owner.clone(), state);
                }
                ours.push(LiveTarget {
                    at,
                    task_definition,
                    raw,
                });
            }
            Classified::NotOurs(kind, reason) => skipped.push(Skipped { at, kind, reason }),
        }
    }
    ours.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(LiveState {
        cluster_arn,
        families: BTreeMap::new(),
        targets: ours,
        skipped,
        states,
        rule_expressions,
    })
}

/// `(bus, rule) → (State, ScheduleExpression)` for every rule on the buses.
async fn rule_states(
    aws: &Aws,
    buses: &[String],
) -> Result<BTreeMap<(String, String), events::RuleSummary>> {
    let per_bus: Vec<Vec<events::RuleSummary>> = stream::iter(buses.iter())
        .map(|bus| events::rules(&aws.events, bus))
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    Ok(buses
        .iter()
        .zip(per_bus)
        .flat_map(|(bus, rules)| {
            rules
                .into_iter()
                .map(move |rule| ((bus.clone(), rule.name.clone()), rule))
        })
        .collect())
}

/// Where to look for triggers on the cluster, and which names to leave alone.
pub struct Scope<'a> {
    pub buses: &'a [String],
    /// Schedule groups; `None`: every group.
    pub groups: Option<&'a [String]>,
    pub rule_exclude: Option<&'a GlobSet>,
    pub schedule_exclude: Option<&'a GlobSet>,
}

impl<'a> Scope<'a> {
    /// Every rule on `buses` and every schedule in every group, none left alone.
    pub fn everywhere(buses: &'a [String]) -> Self {
        Self {
            buses,
            groups: None,
            rule_exclude: None,
            schedule_exclude: None,
        }
    }
}

/// Every trigger within `reach`, read whole: each target of the rules on `scope.buses` (with
/// a target on the cluster, for [`Reach::Cluster`]), and each schedule in `scope.groups`
/// (whose target is the cluster, for [`Reach::Cluster`]). Rules and schedules are read side
/// by side; excluded names are not read.
pub async fn scan(aws: &Aws, reach: Reach<'_>, scope: &Scope<'_>) -> Result<Vec<(Trigger, Found)>> {
    scan_tapped(aws, reach, scope, &|_, _| {}).await
}

/// What [`scan`] finds, each slot also given to `tap` as soon as it is read.
type Tap<'t> = &'t (dyn Fn(&Trigger, &Value) + Sync);

async fn scan_tapped(
    aws: &Aws,
    reach: Reach<'_>,
    scope: &Scope<'_>,
    tap: Tap<'_>,
) -> Result<Vec<(Trigger, Found)>> {
    let (rules, schedules) = futures::future::try_join(
        rule_slots(aws, scope, reach, tap),
        schedule_slots(aws, scope, reach, tap),
    )
    .await?;
    Ok(rules.into_iter().chain(schedules).collect())
}

/// Whose triggers [`scan`] reads. Every consumer (plan, status, init, prune) reads triggers
/// through `scan`, so a trigger kind added there is seen by all of them — prune above all,
/// which must never deregister a revision some trigger still runs.
#[derive(Debug, Clone, Copy)]
pub enum Reach<'a> {
    /// Triggers that may run a task on this cluster: rules with a target there (found by
    /// ListRuleNamesByTarget) and schedules whose target it is.
    Cluster(&'a str),
    /// Every rule on the scope's buses and every schedule in its groups, whatever they run.
    Account,
}

/// What was found at a trigger: its whole JSON, or why it was not even read.
pub enum Found {
    Slot(Value),
    Skipped(SkipKind, String),
}

/// Where a rule's slots go in [`rule_slots`]' result: excluded ones (`false`) first, then by
/// bus (its place in the config) and the rule's place in the bus's listing.
type RuleKey = (bool, usize, usize);

/// Every target of every rule on the scope's buses with a target on our cluster.
async fn rule_slots(
    aws: &Aws,
    scope: &Scope<'_>,
    reach: Reach<'_>,
    tap: Tap<'_>,
) -> Result<Vec<(Trigger, Found)>> {
    // Each bus's rule names arrive a page (100) at a time, the buses side by side; a page's
    // rules are read while the next page is asked for. Everything is keyed by (bus, position)
    // and put back in that order: the result does not depend on the network's.
    let per_bus = scope.buses.iter().enumerate().map(|(b, bus)| {
        let pages = match reach {
            Reach::Cluster(cluster_arn) => {
                events::rule_names_by_target(&aws.events, cluster_arn, bus).boxed()
            }
            Reach::Account => stream::once(events::list_rules(&aws.events, bus)).boxed(),
        };
        pages
            .scan(0usize, move |seen, page| {
                let first = *seen;
                *seen += page.as_ref().map_or(0, Vec::len);
                futures::future::ready(Some(page.map(|names| {
                    stream::iter(
                        names
                            .into_iter()
                            .enumerate()
                            .map(move |(i, rule)| Ok((b, first + i, bus.as_str(), rule))),
                    )
                })))
            })
            .try_flatten()
    });
    let mut found: Vec<(RuleKey, Trigger, Found)> = Vec::new();
    // The names are read ahead of the reads of their rules: the next page is asked for as
    // soon as the last is answered, not once its rules are nearly all read.
    let excluded = &mut found;
    let read_rules = move |names: futures::channel::mpsc::UnboundedReceiver<Result<_>>| {
        names
            .map_ok(move |(b, i, bus, rule)| read_rule(aws, scope, tap, (b, i), bus, rule))
            .try_buffer_unordered(aws.concurrency)
            .try_filter_map(move |(key, owner, slots)| {
                futures::future::ready(Ok(match slots {
                    Some(slots) => Some((key, slots)),
                    None => {
                        // Excluded: no read. Kept ahead of the rules read, as before.
                        excluded.push((
                            key,
                            Trigger {
                                owner,
                                target_id: None,
                            },
                            Found::Skipped(
                                SkipKind::Excluded,
                                "excluded by rules.exclude".to_string(),
                            ),
                        ));
                        None
                    }
                }))
            })
            .try_collect::<Vec<(RuleKey, Vec<(Trigger, Value)>)>>()
    };
    let mut listed = crate::aws::read_ahead(stream::select_all(per_bus), read_rules).await?;
    listed.sort_by_key(|(key, _)| *key);
    for (key, slots) in listed {
        found.extend(
            slots
                .into_iter()
                .map(|(at, raw)| (key, at, Found::Slot(raw))),
        );
    }
    found.sort_by_key(|(key, _, _)| *key);
    let found: Vec<(Trigger, Found)> = found.into_iter().map(|(_, at, f)| (at, f)).collect();
    Ok(found)
}

/// One rule's slots, each given to `tap` as it is read; `None` when the rule is excluded (not
/// read at all).
async fn read_rule(
    aws: &Aws,
    scope: &Scope<'_>,
    tap: Tap<'_>,
    (b, i): (usize, usize),
    bus: &str,
    rule: String,
) -> Result<(RuleKey, Owner, Option<Vec<(Trigger, Value)>>)> {
    let owner = Owner::Rule {
        event_bus: bus.to_string(),
        rule: rule.clone(),
    };
    if scope.rule_exclude.is_some_and(|g| g.is_match(&rule)) {
        return Ok(((false, b, i), owner, None));
    }
    let slots = crate::aws::owner::read(aws, &owner)
        .await?
        .into_iter()
        .map(|raw| {
            let at = Trigger {
                owner: owner.clone(),
                target_id: raw.get("Id").and_then(Value::as_str).map(str::to_string),
            };
            tap(&at, &raw);
            (at, raw)
        })
        .collect();
    Ok(((true, b, i), owner, Some(slots)))
}

/// Every schedule in the scope's groups whose target is our cluster, fetched whole.
/// ListSchedules names the target's ARN, so schedules of other clusters are not fetched.
async fn schedule_slots(
    aws: &Aws,
    scope: &Scope<'_>,
    reach: Reach<'_>,
    tap: Tap<'_>,
) -> Result<Vec<(Trigger, Found)>> {
    let per_group: Vec<Vec<scheduler::Summary>> = match scope.groups {
        Some(groups) => {
            stream::iter(groups.iter())
                .map(|group| scheduler::list(&aws.scheduler, Some(group)))
                .buffered(aws.concurrency)
                .try_collect()
                .await?
        }
        None => vec![scheduler::list(&aws.scheduler, None).await?],
    };
    let mut found = Vec::new();
    let mut fetch = Vec::new();
    for s in per_group.into_iter().flatten() {
        if let Reach::Cluster(cluster_arn) = reach
            && s.target_arn.as_deref() != Some(cluster_arn)
        {
            continue;
        }
        if scope.schedule_exclude.is_some_and(|g| g.is_match(&s.name)) {
            let reason = "excluded by schedules.exclude".to_string();
            let at = Trigger::schedule(&s.group, &s.name);
            found.push((at, Found::Skipped(SkipKind::Excluded, reason)));
        } else {
            fetch.push((s.group, s.name));
        }
    }
    let fetched: Vec<(Trigger, Found)> = stream::iter(fetch)
        .map(|(group, name)| async move {
            let raw = scheduler::get(&aws.scheduler, &group, &name).await?;
            let at = Trigger::schedule(&group, &name);
            tap(&at, &raw);
            Ok::<_, crate::error::Error>((at, Found::Slot(raw)))
        })
        .buffered(aws.concurrency)
        .try_collect()
        .await?;
    found.extend(fetched);
    Ok(found)
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
