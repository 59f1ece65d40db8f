//! The plan: pure code from (release, rendered templates, live state). No I/O, so every
//! decision about what a release changes is unit-tested here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use crate::history::{newest_release_of, next_release_id};
use crate::live::{LiveState, LiveTarget};
use crate::manifest::Release;
use crate::model::{ADOPTED, LiveTaskDef, Owner, TAG_RELEASE, TaskDefRef, Trigger, plural};
use crate::normalize::{canonical_text, normalize};
use crate::render::Rendered;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Register what changed and repoint at the release's revisions.
    Deploy,
    /// Repoint at the revisions an earlier release had; registers nothing.
    Rollback,
}

impl PlanKind {
    pub fn verb(self) -> &'static str {
        match self {
            PlanKind::Deploy => "deploy",
            PlanKind::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub kind: PlanKind,
    pub release: Release,
    pub families: Vec<FamilyPlan>,
    pub targets: Vec<TargetPlan>,
    pub summary: Summary,
    /// First deploy only: the revisions the targets run now, per family, tagged as release
    /// [`ADOPTED`] before anything is registered, so that this deploy can be rolled back.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub adopt: BTreeMap<String, Revision>,
    /// First deploy only, when the targets' revisions cannot be one release: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopt_refused: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub arn: String,
    pub revision: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyChange {
    Unchanged,
    Register,
    /// Rollback: the revision the release had (in `live`) is used again.
    Reuse,
}

#[derive(Debug, Clone, Serialize)]
pub struct FamilyPlan {
    pub family: String,
    pub file: String,
    /// The newest ACTIVE revision, when the family exists; for a rollback, the release's.
    pub live: Option<Revision>,
    pub change: FamilyChange,
    /// Unified diff of live vs rendered, both normalized; only when registering.
    pub diff: Option<String>,
    /// The rendered request body that will be registered.
    #[serde(skip)]
    pub body: Value,
    /// It registers, and differs from the live revision only in container images and
    /// environment values: the body ECS accepted, with new strings in it.
    #[serde(skip)]
    pub same_shape: bool,
}

/// Where a target should point after the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// An existing revision: the family did not change.
    Existing { arn: String, revision: i64 },
    /// The revision this deploy registers; its number is known only afterwards.
    New { expected_revision: Option<i64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetAction {
    Keep,
    Repoint,
    /// Family-only ARN floating to "latest": pinned to the release's revision.
    Pin,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    #[serde(flatten)]
    pub at: Trigger,
    pub family: String,
    pub from: TaskDefRef,
    pub to: Destination,
    pub action: TargetAction,
    /// The rule's or schedule's state as AWS spells it (`ENABLED`, `DISABLED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The target as read when planning; the deploy refuses to write if it changed since.
    #[serde(skip)]
    pub raw: Value,
}

impl TargetPlan {
    /// The ARN of the revision the target runs after the release: an existing one, or the
    /// one this deploy registers (its expected number; 1 for a new family), in the
    /// account and region of the revision it runs now.
    pub fn revision_arn(&self) -> Option<String> {
        match &self.to {
            Destination::Existing { arn, .. } => Some(arn.clone()),
            Destination::New { expected_revision } => {
                let (prefix, _) = self.from.arn.rsplit_once("task-definition/")?;
                Some(format!(
                    "{prefix}task-definition/{}:{}",
                    self.family,
                    expected_revision.unwrap_or(1)
                ))
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub families_to_register: usize,
    pub families_unchanged: usize,
    pub targets_to_repoint: usize,
    pub targets_unchanged: usize,
}

impl Plan {
    pub fn compute(release: &Release, rendered: &[Rendered], live: &LiveState) -> Self {
        let families: Vec<FamilyPlan> = rendered
            .iter()
            .map(|r| family_plan(r, live.families.get(&r.family).and_then(Option::as_ref)))
            .collect();
        let targets: Vec<TargetPlan> = live
            .targets
            .iter()
            .filter_map(|t| {
                families
                    .iter()
                    .find(|f| f.family == t.task_definition.family)
                    .map(|f| target_plan(t, destination(f), &live.states))
            })
            .collect();
        // The release ids jobdeploy put on the newest revision of each family: a template
        // change at a tag already released is a release of its own (`tag+N`).
        let seen: Vec<String> = live
            .families
            .values()
            .flatten()
            .filter_map(|td| td.tags().get(TAG_RELEASE).cloned())
            .collect();
        let mut release = release.clone();
        let registers = families.iter().any(|f| f.change == FamilyChange::Register);
        release.id = if registers {
            next_release_id(&release.tag, seen.iter().map(String::as_str))
        } else {
            newest_release_of(&release.tag, seen.iter().map(String::as_str))
                .map_or_else(|| release.tag.clone(), str::to_string)
        };
        let mut plan = Self::assemble(PlanKind::Deploy, &release, families, targets);
        // Adopted only until jobdeploy has released something; an adoption cut short (a
        // failed first deploy) is completed by the next attempt.
        let released = seen.iter().any(|id| id != ADOPTED);
        if !released && plan.has_changes() {
            match adoption(live) {
                Ok(adopt) => plan.adopt = adopt,
                Err(why) => plan.adopt_refused = Some(why),
            }
        }
        plan
    }

    /// A rollback: every target to the revision `revisions` names for its family. Families
    /// are `(family, template file)`; a target whose family has no revision is left out
    /// (the caller refuses such a release before planning).
    pub fn rollback(
        release: &Release,
        families: &[(String, String)],
        revisions: &BTreeMap<String, Revision>,
        targets: &[LiveTarget],
        states: &BTreeMap<Owner, String>,
    ) -> Self {
        let families: Vec<FamilyPlan> = families
            .iter()
            .map(|(family, file)| FamilyPlan {
                family: family.clone(),
                file: file.clone(),
                live: revisions.get(family).cloned(),
                change: FamilyChange::Reuse,
                diff: None,
                body: Value::Null,
                same_shape: false,
            })
            .collect();
        let targets: Vec<TargetPlan> = targets
            .iter()
            .filter_map(|t| {
                let r = revisions.get(&t.task_definition.family)?;
                Some(target_plan(
                    t,
                    Destination::Existing {
                        arn: r.arn.clone(),
                        revision: r.revision,
                    },
                    states,
                ))
            })
            .collect();
        Self::assemble(PlanKind::Rollback, release, families, targets)
    }

    /// A plan of these families and targets, with its summary counted from them.
    pub(crate) fn assemble(
        kind: PlanKind,
        release: &Release,
        families: Vec<FamilyPlan>,
        targets: Vec<TargetPlan>,
    ) -> Self {
        let summary = Summary {
            families_to_register: families
                .iter()
                .filter(|f| f.change == FamilyChange::Register)
                .count(),
            families_unchanged: families
                .iter()
                .filter(|f| f.change != FamilyChange::Register)
                .count(),
            targets_to_repoint: targets
                .iter()
                .filter(|t| t.action != TargetAction::Keep)
                .count(),
            targets_unchanged: targets
                .iter()
                .filter(|t| t.action == TargetAction::Keep)
                .count(),
        };
        Self {
            kind,
            release: release.clone(),
            families,
            targets,
            summary,
            adopt: BTreeMap::new(),
            adopt_refused: None,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.summary.families_to_register > 0 || self.summary.targets_to_repoint > 0
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        if self.kind == PlanKind::Rollback {
            if !self.has_changes() {
                return format!(
                    "No changes: every target is already on release {} ({}).",
                    self.release.id,
                    plural(s.targets_unchanged, "target", "targets")
                );
            }
            return format!(
                "Rollback to release {}: {} to repoint, {} already there; nothing to register.",
                self.release.id,
                plural(s.targets_to_repoint, "target", "targets"),
                s.targets_unchanged
            );
        }
        if !self.has_changes() {
            return format!(
                "No changes: release {} is live ({}, {}).",
                self.release.id,
                plural(s.families_unchanged, "family", "families"),
                plural(s.targets_unchanged, "target", "targets")
            );
        }
        format!(
            "Plan: release {}: {} to register, {} unchanged; {} to repoint, {} already current.",
            self.release.id,
            plural(s.families_to_register, "family", "families"),
            s.families_unchanged,
            plural(s.targets_to_repoint, "target", "targets"),
            s.targets_unchanged
        )
    }
}

/// Whether a deploy registers `rendered`: no live revision, or one that differs once both
/// are normalized. What the plan decides per family, known as soon as the family is read.
pub fn registers(rendered: &Rendered, live: Option<&LiveTaskDef>) -> bool {
    !live.is_some_and(|l| normalize(&l.body) == normalize(&rendered.body))
}

fn family_plan(rendered: &Rendered, live: Option<&LiveTaskDef>) -> FamilyPlan {
    let file = rendered.path.display().to_string();
    let live_revision = live.map(|l| Revision {
        arn: l.arn.clone(),
        revision: l.revision,
    });
    let unchanged = !registers(rendered, live);
    let diff = (!unchanged).then(|| {
        let old = live.map(|l| canonical_text(&l.body)).unwrap_or_default();
        let new = canonical_text(&rendered.body);
        let old_header = match live {
            Some(l) => format!("{}:{} (live)", l.family, l.revision),
            None => format!("{} (not registered yet)", rendered.family),
        };
        TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&old_header, &format!("{file} (rendered)"))
            .to_string()
    });
    FamilyPlan {
        family: rendered.family.clone(),
        file,
        live: live_revision,
        change: if unchanged {
            FamilyChange::Unchanged
        } else {
            FamilyChange::Register
        },
        diff,
        body: rendered.body.clone(),
        same_shape: !unchanged && same_shape(rendered, live),
    }
}

/// Whether `rendered` differs from `live` only in container images and environment values:
/// `live`, with each container's image and environment values set to those of the rendered
/// container of the same name (values by variable name), normalizes to the same body.
fn same_shape(rendered: &Rendered, live: Option<&LiveTaskDef>) -> bool {
    let Some(live) = live else {
        return false;
    };
    let new: BTreeMap<&str, &Value> = rendered
        .body
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("name")?.as_str()?, c)))
        .collect();
    let mut body = live.body.clone();
    let containers = body
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut);
    for container in containers.into_iter().flatten() {
        let Some(new) = container
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| new.get(n))
        else {
            continue;
        };
        let Some(container) = container.as_object_mut() else {
            continue;
        };
        if let Some(image) = new.get("image") {
            container.insert("image".to_string(), image.clone());
        }
        let values: BTreeMap<&str, &Value> = new
            .get("environment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e.get("name")?.as_str()?, e.get("value")?)))
            .collect();
        let environment = container
            .get_mut("environment")
            .and_then(Value::as_array_mut);
        for variable in environment.into_iter().flatten() {
            let value = variable
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| values.get(n))
                .map(|v| (*v).clone());
            if let (Some(value), Some(variable)) = (value, variable.as_object_mut()) {
                variable.insert("value".to_string(), value);
            }
        }
    }
    normalize(&body) == normalize(&rendered.body)
}

/// Where targets of a family go in a deploy.
fn destination(family: &FamilyPlan) -> Destination {
    match (&family.change, &family.live) {
        (FamilyChange::Unchanged | FamilyChange::Reuse, Some(live)) => Destination::Existing {
            arn: live.arn.clone(),
            revision: live.revision,
        },
        (_, live) => Destination::New {
            expected_revision: live.as_ref().map(|l| l.revision + 1),
        },
    }
}

/// What the targets run before jobdeploy's first release, as one release: per family, the
/// one revision its targets are on (a floating target counts as the newest ACTIVE one).
/// Refused, with the reason, when a family's targets are on different revisions.
fn adoption(live: &LiveState) -> Result<BTreeMap<String, Revision>, String> {
    let mut on: BTreeMap<&str, BTreeMap<i64, &str>> = BTreeMap::new();
    for t in &live.targets {
        let family = t.task_definition.family.as_str();
        let newest = live.families.get(family).and_then(Option::as_ref);
        let (revision, arn) = match (t.task_definition.revision, newest) {
            (Some(n), _) => (n, t.task_definition.arn.as_str()),
            (None, Some(td)) => (td.revision, td.arn.as_str()),
            (None, None) => continue,
        };
        on.entry(family).or_default().insert(revision, arn);
    }
    let mut adopt = BTreeMap::new();
    for (family, revisions) in on {
        if revisions.len() > 1 {
            let list: Vec<String> = revisions.keys().map(|r| format!("{family}:{r}")).collect();
            return Err(format!(
                "the targets run different revisions of {family} ({}), so what they run now is not one release and cannot be recorded as release `{ADOPTED}`",
                list.join(", ")
            ));
        }
        if let Some((revision, arn)) = revisions.into_iter().next() {
            adopt.insert(
                family.to_string(),
                Revision {
                    arn: arn.to_string(),
                    revision,
                },
            );
        }
    }
    Ok(adopt)
}

fn target_plan(
    target: &LiveTarget,
    to: Destination,
    states: &BTreeMap<Owner, String>,
) -> TargetPlan {
    let action = match (&to, target.task_definition.revision) {
        (_, None) => TargetAction::Pin,
        (Destination::Existing { arn, .. }, Some(_)) if *arn == target.task_definition.arn => {
            TargetAction::Keep
        }
        _ => TargetAction::Repoint,
    };
    TargetPlan {
        at: target.at.clone(),
        family: target.task_definition.family.clone(),
        from: target.task_definition.clone(),
        to,
        action,
        state: states.get(&target.at.owner).cloned(),
        raw: target.raw.clone(),
    }
}

#[cfg(test)]
mod tests;
