//! Which trigger `jobdeploy run NAME` means: `[bus/]rule` or `[group/]schedule`, among the
//! ECS targets on the cluster that [`crate::live::scan`] found. Pure.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Owner, Trigger};

/// A rule target or schedule that runs a task on the cluster.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub at: Trigger,
    pub slot: Value,
}

fn matches(at: &Trigger, name: &str) -> bool {
    let (scope, bare) = match name.split_once('/') {
        Some((scope, bare)) => (Some(scope), bare),
        None => (None, name),
    };
    match &at.owner {
        Owner::Rule { event_bus, rule } => rule == bare && scope.is_none_or(|s| s == event_bus),
        Owner::Schedule { group, schedule } => schedule == bare && scope.is_none_or(|s| s == group),
    }
}

/// How a choice is named on the command line.
fn spelled(at: &Trigger) -> String {
    match (&at.owner, &at.target_id) {
        (Owner::Rule { event_bus, rule }, Some(id)) => {
            format!("{event_bus}/{rule} --target {id}  (rule)")
        }
        (Owner::Rule { event_bus, rule }, None) => format!("{event_bus}/{rule}  (rule)"),
        (Owner::Schedule { group, schedule }, _) => format!("{group}/{schedule}  (schedule)"),
    }
}

fn bare_name(at: &Trigger) -> &str {
    match &at.owner {
        Owner::Rule { rule, .. } => rule,
        Owner::Schedule { schedule, .. } => schedule,
    }
}

/// The one candidate `name` (and `--target ID`) names. Several: an error listing them; none:
/// an error naming the nearest names.
pub fn resolve<'a>(
    name: &str,
    target_id: Option<&str>,
    candidates: &'a [Candidate],
    cluster: &str,
) -> Result<&'a Candidate> {
    let named: Vec<&Candidate> = candidates.iter().filter(|c| matches(&c.at, name)).collect();
    let chosen: Vec<&Candidate> = match target_id {
        Some(id) => named
            .iter()
            .copied()
            .filter(|c| c.at.target_id.as_deref() == Some(id))
            .collect(),
        None => named.clone(),
    };
    match chosen.as_slice() {
        [one] => Ok(one),
        [] if !named.is_empty() => {
            let ids: Vec<String> = named.iter().map(|c| spelled(&c.at)).collect();
            Err(Error::new(format!(
                "`{name}` has no ECS target `{}` on cluster {cluster}; it has:\n  {}",
                target_id.unwrap_or_default(),
                ids.join("\n  ")
            )))
        }
        [] => {
            let names = || candidates.iter().map(|c| bare_name(&c.at));
            let bare = name.rsplit('/').next().unwrap_or(name);
            let mut near: Vec<String> = candidates
                .iter()
                .filter(|c| {
                    let n = bare_name(&c.at);
                    n.contains(bare)
                        || bare.contains(n)
                        || crate::render::schema::nearest(bare, names()) == Some(n)
                })
                .map(|c| spelled(&c.at))
                .collect();
            near.dedup();
            let err = Error::new(format!(
                "no rule or schedule named `{name}` runs a task on cluster {cluster}"
            ));
            Err(if near.is_empty() {
                err.hint("`jobdeploy status` lists every rule and schedule of ours")
            } else {
                err.hint(format!("did you mean: {}", near.join(", ")))
            })
        }
        several => {
            let list: Vec<String> = several.iter().map(|c| spelled(&c.at)).collect();
            Err(Error::new(format!(
                "`{name}` is ambiguous on cluster {cluster}; it could be:\n  {}",
                list.join("\n  ")
            ))
            .hint("name one as listed: `bus/rule` (with `--target ID` for one of a rule's targets) or `group/schedule`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all() -> Vec<Candidate> {
        [
            Trigger::rule_target("default", "nightly", "app"),
            Trigger::rule_target("default", "nightly", "report"),
            Trigger::rule_target("default", "hourly", "app"),
            Trigger::rule_target("batch", "hourly", "app"),
            Trigger::schedule("jobs", "export"),
            Trigger::schedule("default", "hourly"),
        ]
        .into_iter()
        .map(|at| Candidate {
            at,
            slot: json!({}),
        })
        .collect()
    }

    #[test]
    fn a_unique_name_or_a_qualified_one_is_found() {
        let c = all();
        assert_eq!(
            resolve("export", None, &c, "batch").unwrap().at,
            Trigger::schedule("jobs", "export")
        );
        assert_eq!(
            resolve("jobs/export", None, &c, "batch").unwrap().at,
            Trigger::schedule("jobs", "export")
        );
        assert_eq!(
            resolve("batch/hourly", None, &c, "batch").unwrap().at,
            Trigger::rule_target("batch", "hourly", "app")
        );
        assert_eq!(
            resolve("nightly", Some("report"), &c, "batch").unwrap().at,
            Trigger::rule_target("default", "nightly", "report")
        );
    }

    #[test]
    fn ambiguity_lists_the_choices() {
        let c = all();
        let err = resolve("hourly", None, &c, "batch").unwrap_err();
        let m = err.message();
        assert!(m.contains("ambiguous"), "{m}");
        for choice in [
            "default/hourly --target app  (rule)",
            "batch/hourly --target app  (rule)",
            "default/hourly  (schedule)",
        ] {
            assert!(m.contains(choice), "{m}");
        }
        // `default/hourly` is a rule on bus default and a schedule in group default.
        assert!(resolve("default/hourly", None, &c, "batch").is_err());
        let err = resolve("nightly", None, &c, "batch").unwrap_err();
        assert!(
            err.message().contains("--target report"),
            "{}",
            err.message()
        );
        let err = resolve("nightly", Some("nope"), &c, "batch").unwrap_err();
        assert!(
            err.message().contains("no ECS target `nope`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn not_found_names_the_near_ones() {
        let c = all();
        let err = resolve("nightyl", None, &c, "batch").unwrap_err();
        assert!(
            err.message()
                .contains("no rule or schedule named `nightyl`")
        );
        assert!(
            err.hints()[0].contains("default/nightly"),
            "{:?}",
            err.hints()
        );
        let err = resolve("zzz", None, &c, "batch").unwrap_err();
        assert!(
            err.hints()[0].contains("jobdeploy status"),
            "{:?}",
            err.hints()
        );
    }
}
