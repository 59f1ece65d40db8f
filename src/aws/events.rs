//! EventBridge rules and their targets, read and written as raw JSON.

use serde_json::{Map, Value};

use super::pace::{Group, Paced};
use super::raw::RawJson;
use super::{aws_error, failed, pages, paginate};
use crate::error::{Error, Result};

/// Names of the rules on `bus` with a target whose `Arn` is `target_arn` (our cluster).
pub fn rule_names_by_target<'a>(
    events: &'a Paced<aws_sdk_eventbridge::Client>,
    target_arn: &'a str,
    bus: &'a str,
) -> impl futures::Stream<Item = Result<Vec<String>>> + 'a {
    pages(move |token| async move {
        let out = events
            .call(Group::Eventbridge, "ListRuleNamesByTarget", || {
                events
                    .list_rule_names_by_target()
                    .target_arn(target_arn)
                    .event_bus_name(bus)
                    .limit(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(aws_error(
                "ListRuleNamesByTarget",
                format!("on bus `{bus}`"),
            ))?;
        Ok((
            out.rule_names().to_vec(),
            out.next_token().map(str::to_string),
        ))
    })
}

/// Every target of a rule, exactly as EventBridge returns it.
pub async fn list_targets(
    events: &Paced<aws_sdk_eventbridge::Client>,
    rule: &str,
    bus: &str,
) -> Result<Vec<Value>> {
    paginate(|token| async move {
        let raw = RawJson::capture();
        events
            .call(Group::Eventbridge, "ListTargetsByRule", || {
                events
                    .list_targets_by_rule()
                    .rule(rule)
                    .event_bus_name(bus)
                    .set_next_token(token.clone())
                    .customize()
                    .interceptor(raw.clone())
                    .send()
            })
            .await
            .map_err(aws_error(
                "ListTargetsByRule",
                format!("{rule} (bus {bus})"),
            ))?;
        let page = raw.response("ListTargetsByRule")?;
        let targets = match page.get("Targets") {
            Some(Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        };
        let next = page.get("NextToken").and_then(Value::as_str);
        Ok((targets, next.map(str::to_string)))
    })
    .await
}

/// A target EventBridge refused in a PutTargets that otherwise returned 200.
#[derive(Debug, Clone)]
pub struct FailedEntry {
    pub target_id: String,
    pub code: String,
    pub message: String,
}

/// Writes whole targets (PutTargets replaces a target by Id). At most 10 per call, so
/// larger lists go in several calls. `FailedEntryCount > 0` is an error.
pub async fn put_targets(
    events: &Paced<aws_sdk_eventbridge::Client>,
    rule: &str,
    bus: &str,
    targets: &[Value],
) -> Result<(), PutError> {
    for chunk in targets.chunks(10) {
        let mut body = Map::new();
        body.insert("Rule".into(), Value::String(rule.to_string()));
        body.insert("EventBusName".into(), Value::String(bus.to_string()));
        body.insert("Targets".into(), Value::Array(chunk.to_vec()));
        let raw = RawJson::send(&Value::Object(body));
        let out = events
            .call(Group::Eventbridge, "PutTargets", || {
                events
                    .put_targets()
                    .rule(rule)
                    .event_bus_name(bus)
                    .customize()
                    .interceptor(raw.clone())
                    .send()
            })
            .await
            .map_err(|e| PutError::Call(failed("PutTargets", "", &e)))?;
        if out.failed_entry_count() > 0 || !out.failed_entries().is_empty() {
            let entries = out
                .failed_entries()
                .iter()
                .map(|f| FailedEntry {
                    target_id: f.target_id().unwrap_or("?").to_string(),
                    code: f.error_code().unwrap_or("?").to_string(),
                    message: f.error_message().unwrap_or_default().to_string(),
                })
                .collect();
            return Err(PutError::Failed(out.failed_entry_count(), entries));
        }
    }
    Ok(())
}

#[derive(Debug)]
pub enum PutError {
    /// The call failed: the error says `PutTargets: …` and keeps its hints.
    Call(Error),
    Failed(i32, Vec<FailedEntry>),
}

/// The call's own error, hints and all; refused entries in one message.
impl From<PutError> for Error {
    fn from(e: PutError) -> Self {
        match e {
            PutError::Call(e) => e,
            failed @ PutError::Failed(..) => Error::new(failed.to_string()),
        }
    }
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Call(e) => f.write_str(e.message()),
            Self::Failed(count, entries) => {
                write!(f, "PutTargets: FailedEntryCount {count}")?;
                for e in entries {
                    write!(f, "; target {}: {} {}", e.target_id, e.code, e.message)?;
                }
                Ok(())
            }
        }
    }
}

/// Every event bus in the account and region.
pub async fn list_buses(events: &Paced<aws_sdk_eventbridge::Client>) -> Result<Vec<String>> {
    paginate(|token| async move {
        let out = events
            .call(Group::Eventbridge, "ListEventBuses", || {
                events
                    .list_event_buses()
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(aws_error("ListEventBuses", ""))?;
        let buses = out
            .event_buses()
            .iter()
            .filter_map(|b| b.name())
            .map(str::to_string)
            .collect();
        Ok((buses, out.next_token().map(str::to_string)))
    })
    .await
}

/// Every rule name on `bus`.
pub async fn list_rules(
    events: &Paced<aws_sdk_eventbridge::Client>,
    bus: &str,
) -> Result<Vec<String>> {
    Ok(rule_states(events, bus)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// The tags of the rule `arn`; `Denied` when the caller may not read them.
pub async fn rule_tags(
    events: &Paced<aws_sdk_eventbridge::Client>,
    arn: &str,
) -> Result<super::Lookup<Vec<(String, String)>>> {
    let out = events
        .call(Group::Eventbridge, "ListTagsForResource", || {
            events.list_tags_for_resource().resource_arn(arn).send()
        })
        .await;
    match out {
        Ok(out) => Ok(super::Lookup::Found(
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) if super::is_denied(&e) => Ok(super::Lookup::Denied("events:ListTagsForResource")),
        Err(e) => Err(aws_error("ListTagsForResource", arn)(e)),
    }
}

/// `(name, State)` of every rule on `bus`, 100 a page.
pub async fn rule_states(
    events: &Paced<aws_sdk_eventbridge::Client>,
    bus: &str,
) -> Result<Vec<(String, String)>> {
    Ok(rules(events, bus)
        .await?
        .into_iter()
        .map(|r| (r.name, r.state))
        .collect())
}

/// A rule as ListRules summarises it.
#[derive(Debug, Clone)]
pub struct RuleSummary {
    pub name: String,
    /// `ENABLED` or `DISABLED`, as AWS spells it.
    pub state: String,
    /// `rate(…)` or `cron(…)`; `None` for a rule driven by an event pattern.
    pub schedule_expression: Option<String>,
}

/// Every rule on `bus`, 100 a page.
pub async fn rules(
    events: &Paced<aws_sdk_eventbridge::Client>,
    bus: &str,
) -> Result<Vec<RuleSummary>> {
    paginate(|token| async move {
        let out = events
            .call(Group::Eventbridge, "ListRules", || {
                events
                    .list_rules()
                    .event_bus_name(bus)
                    .limit(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(aws_error("ListRules", format!("on bus `{bus}`")))?;
        let rules = out
            .rules()
            .iter()
            .filter_map(|r| {
                Some(RuleSummary {
                    name: r.name()?.to_string(),
                    state: r.state().map_or("ENABLED", |s| s.as_str()).to_string(),
                    schedule_expression: r
                        .schedule_expression()
                        .filter(|e| !e.is_empty())
                        .map(str::to_string),
                })
            })
            .collect();
        Ok((rules, out.next_token().map(str::to_string)))
    })
    .await
}

/// What `run` needs to know of a rule: its ARN and whether a schedule drives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    pub arn: String,
    pub schedule_expression: Option<String>,
}

/// The rule `rule` on `bus`, read with ListRules (its name as the prefix) so that `run`
/// needs no permission beyond the ones every command has. `None`: no such rule.
pub async fn rule_info(
    events: &Paced<aws_sdk_eventbridge::Client>,
    bus: &str,
    rule: &str,
) -> Result<Option<RuleInfo>> {
    let found: Vec<RuleInfo> = paginate(|token| async move {
        let out = events
            .call(Group::Eventbridge, "ListRules", || {
                events
                    .list_rules()
                    .event_bus_name(bus)
                    .name_prefix(rule)
                    .limit(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(aws_error(
                "ListRules",
                format!("rule `{rule}` on bus `{bus}`"),
            ))?;
        let rules = out
            .rules()
            .iter()
            .filter(|r| r.name() == Some(rule))
            .map(|r| RuleInfo {
                arn: r.arn().unwrap_or_default().to_string(),
                schedule_expression: r
                    .schedule_expression()
                    .filter(|e| !e.is_empty())
                    .map(str::to_string),
            })
            .collect();
        Ok((rules, out.next_token().map(str::to_string)))
    })
    .await?;
    Ok(found.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_put_targets_keeps_its_hints() {
        let call =
            PutError::Call(Error::new("PutTargets: AccessDeniedException: no").hint("grant it"));
        assert_eq!(call.to_string(), "PutTargets: AccessDeniedException: no");
        let err = Error::from(call);
        assert_eq!(err.message(), "PutTargets: AccessDeniedException: no");
        assert_eq!(err.hints(), ["grant it"]);

        let entry = FailedEntry {
            target_id: "t".into(),
            code: "ConcurrentModificationException".into(),
            message: "busy".into(),
        };
        let err = Error::from(PutError::Failed(1, vec![entry]));
        assert_eq!(
            err.message(),
            "PutTargets: FailedEntryCount 1; target t: ConcurrentModificationException busy"
        );
    }
}
