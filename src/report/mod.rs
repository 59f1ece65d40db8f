//! Human, JSON and markdown forms of a plan and of a deploy's outcome. Secret values are
//! masked in every form by the caller-supplied [`Masker`].

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::apply::Outcome;
use crate::manifest::short;
use crate::model::{TaskDefRef, Trigger};
use crate::plan::{Destination, FamilyChange, Plan, PlanKind, TargetAction, TargetPlan};
use crate::secrets::Masker;

pub mod calls;
pub mod errors;
pub mod k8s;
pub mod releases;
pub mod verify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour on a terminal unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        Self {
            color: std::io::stdout().is_terminal() && no_color_unset(std::env::var_os("NO_COLOR")),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// An empty `NO_COLOR` does not turn colour off; any other value does.
fn no_color_unset(value: Option<std::ffi::OsString>) -> bool {
    value.is_none_or(|v| v.is_empty())
}

const NO_TARGETS: &str = "  (no rule on the configured buses and no schedule in the configured groups runs a templated family on this cluster)";

/// The width of the widest trigger label, to align columns.
fn label_width<'a>(triggers: impl Iterator<Item = &'a Trigger>) -> usize {
    triggers
        .map(|t| t.label().chars().count())
        .max()
        .unwrap_or(0)
}

/// The header of markdown tables of triggers, and a trigger's first two cells.
const TRIGGER_HEADER: &str = "| Rule or schedule | Target |";

fn trigger_cells(at: &Trigger) -> String {
    format!(
        "| `{}` | {} |",
        at.owner.label(),
        at.target_id
            .as_deref()
            .map_or("—".to_string(), |id| format!("`{id}`"))
    )
}

fn destination(target: &TargetPlan) -> String {
    match &target.to {
        Destination::Existing { revision, .. } => format!("{}:{revision}", target.family),
        Destination::New {
            expected_revision: Some(n),
        } => format!("{}:{n} (new)", target.family),
        Destination::New {
            expected_revision: None,
        } => format!("{} (new)", target.family),
    }
}

/// ` (DISABLED)` beside a target whose rule or schedule is disabled: it is repointed all
/// the same, but will not run until enabled.
fn disabled(target: &TargetPlan) -> &'static str {
    if target.state.as_deref() == Some("DISABLED") {
        " (DISABLED)"
    } else {
        ""
    }
}

/// First deploy: what happens to what the targets ran before it.
fn adoption_line(plan: &Plan) -> Option<String> {
    if !plan.adopt.is_empty() {
        let list: Vec<String> = plan
            .adopt
            .iter()
            .map(|(f, r)| format!("{f}:{}", r.revision))
            .collect();
        return Some(format!(
            "First release: what the targets run now ({}) is recorded as release `{}`; `jobdeploy rollback {}` goes back to it.",
            list.join(", "),
            crate::model::ADOPTED,
            crate::model::ADOPTED
        ));
    }
    plan.adopt_refused
        .as_ref()
        .map(|why| format!("First release: {why}; to go back, repoint the targets by hand."))
}

fn release_line(plan: &Plan) -> String {
    let r = &plan.release;
    let mut line = format!("Release {}  image {}", r.id, r.image.reference());
    if let (Some(digest), None) = (&r.digest, &r.image.digest) {
        let _ = write!(line, " ({digest})");
    }
    match &r.manifest_commit {
        Some(commit) => {
            let _ = write!(line, "\n  from {} (commit {})", r.origin, short(commit));
        }
        None => {
            let _ = write!(line, "\n  from {}", r.origin);
        }
    }
    line
}

pub fn plan_human(plan: &Plan, style: Style, masker: &Masker) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", style.paint("1", &release_line(plan)));
    let _ = writeln!(out, "Task definitions");
    let width = plan
        .families
        .iter()
        .map(|f| f.family.len())
        .max()
        .unwrap_or(0);
    for f in &plan.families {
        match (f.change, &f.live) {
            (FamilyChange::Reuse, live) => {
                let revision = live.as_ref().map_or("no revision".to_string(), |l| {
                    format!("{}:{}", f.family, l.revision)
                });
                let _ = writeln!(
                    out,
                    "  {} {:width$}  back to {revision}",
                    style.paint("33", "↺"),
                    f.family
                );
            }
            (FamilyChange::Unchanged, Some(live)) => {
                let _ = writeln!(
                    out,
                    "  = {:width$}  unchanged, keeps {}:{}",
                    f.family, f.family, live.revision
                );
            }
            (_, live) => {
                let from = live.as_ref().map_or("not registered yet".to_string(), |l| {
                    format!("{}:{}", f.family, l.revision)
                });
                let _ = writeln!(
                    out,
                    "  {} {:width$}  {from} → new revision",
                    style.paint("33", "~"),
                    f.family
                );
                for line in f.diff.as_deref().unwrap_or_default().lines() {
                    let painted = if line.starts_with("+++") || line.starts_with("---") {
                        style.paint("1", line)
                    } else if line.starts_with('+') {
                        style.paint("32", line)
                    } else if line.starts_with('-') {
                        style.paint("31", line)
                    } else if line.starts_with("@@") {
                        style.paint("36", line)
                    } else {
                        line.to_string()
                    };
                    let _ = writeln!(out, "      {painted}");
                }
            }
        }
    }
    let _ = writeln!(out, "\nTargets");
    if plan.targets.is_empty() {
        let _ = writeln!(out, "{NO_TARGETS}");
    }
    let width = label_width(plan.targets.iter().map(|t| &t.at));
    for t in &plan.targets {
        let label = t.at.label();
        let (mark, text) = match t.action {
            TargetAction::Keep => ("=".to_string(), format!("{} (current)", t.from.label())),
            TargetAction::Repoint => (
                style.paint("33", "~"),
                format!("{} → {}", t.from.label(), destination(t)),
            ),
            TargetAction::Pin => (
                style.paint("33", "~"),
                format!("{} → {}, pinned", t.from.label(), destination(t)),
            ),
        };
        let _ = writeln!(out, "  {mark} {label:width$}  {text}{}", disabled(t));
    }
    if let Some(line) = adoption_line(plan) {
        let _ = writeln!(out, "\n{line}");
    }
    let _ = writeln!(out, "\n{}", style.paint("1", &plan.summary_line()));
    masker.mask(&out)
}

/// The JSON reports' shape: bumped when a field is renamed or removed or changes meaning
/// (adding a field does not bump it). Documented in README, "JSON reports".
pub const JSON_VERSION: u32 = 1;

/// A report as JSON, `{"version": JSON_VERSION, …the report's fields}`, pretty printed.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    let body = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => {
            let mut out = serde_json::Map::with_capacity(fields.len() + 1);
            out.insert("version".into(), JSON_VERSION.into());
            out.extend(fields);
            serde_json::Value::Object(out)
        }
        Ok(other) => other,
        Err(_) => serde_json::Value::Null,
    };
    serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"
}

pub fn plan_json(plan: &Plan, masker: &Masker) -> String {
    masker.mask(&to_json(plan))
}

pub fn plan_markdown(plan: &Plan, masker: &Masker) -> String {
    let r = &plan.release;
    let mut out = String::new();
    let title = match plan.kind {
        PlanKind::Deploy => "plan",
        PlanKind::Rollback => "rollback plan",
    };
    let _ = writeln!(out, "### jobdeploy {title}: release `{}`\n", r.id);
    let _ = write!(out, "Image `{}`", r.image.reference());
    if let Some(commit) = &r.manifest_commit {
        let _ = write!(out, " · manifest commit `{}`", short(commit));
    }
    let _ = writeln!(
        out,
        "\n\n| Task definition | Live | Change |\n|---|---|---|"
    );
    for f in &plan.families {
        let live = f
            .live
            .as_ref()
            .map_or("—".to_string(), |l| l.revision.to_string());
        let change = match f.change {
            FamilyChange::Unchanged => "unchanged",
            FamilyChange::Register => "**new revision**",
            FamilyChange::Reuse => "**rolled back**",
        };
        let _ = writeln!(out, "| `{}` | {live} | {change} |", f.family);
    }
    for f in plan.families.iter().filter(|f| f.diff.is_some()) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> diff</summary>\n\n```diff\n{}```\n</details>",
            f.family,
            f.diff.as_deref().unwrap_or_default()
        );
    }
    if !plan.targets.is_empty() {
        let _ = writeln!(out, "\n{TRIGGER_HEADER} From | To |\n|---|---|---|---|");
        for t in &plan.targets {
            let to = match t.action {
                TargetAction::Keep => "(current)".to_string(),
                TargetAction::Repoint => format!("`{}`", destination(t)),
                TargetAction::Pin => format!("`{}` (pinned)", destination(t)),
            };
            let _ = writeln!(
                out,
                "{} `{}` | {to}{} |",
                trigger_cells(&t.at),
                t.from.label(),
                disabled(t)
            );
        }
    }
    if let Some(line) = adoption_line(plan) {
        let _ = writeln!(out, "\n{line}");
    }
    let _ = writeln!(out, "\n**{}**", plan.summary_line());
    masker.mask(&out)
}

pub fn plan(plan: &Plan, format: Format, style: Style, masker: &Masker) -> String {
    match format {
        Format::Human => plan_human(plan, style, masker),
        Format::Json => plan_json(plan, masker),
        Format::Markdown => plan_markdown(plan, masker),
    }
}

pub fn outcome_line(outcome: &Outcome) -> String {
    if outcome.kind == PlanKind::Rollback {
        return if outcome.repointed.is_empty() {
            format!(
                "Every target was already on release {}; nothing changed.",
                outcome.release
            )
        } else {
            format!(
                "Rolled back to release {}: repointed {}; registered nothing.",
                outcome.release,
                crate::model::plural(outcome.repointed.len(), "target", "targets")
            )
        };
    }
    if outcome.registered.is_empty() && outcome.repointed.is_empty() {
        return format!(
            "Release {} was already live; nothing changed.",
            outcome.release
        );
    }
    let registered: Vec<String> = outcome
        .registered
        .iter()
        .map(|r| format!("{}:{}", r.family, r.revision))
        .collect();
    format!(
        "Deployed release {}: registered {}; repointed {}.",
        outcome.release,
        if registered.is_empty() {
            "nothing".to_string()
        } else {
            registered.join(", ")
        },
        crate::model::plural(outcome.repointed.len(), "target", "targets")
    )
}

/// The one-line result. Each target's move is already in the plan printed before it and
/// in the `repointed …` progress lines, so it is not listed a third time.
pub fn outcome_human(outcome: &Outcome) -> String {
    format!("{}\n", outcome_line(outcome))
}

pub fn outcome_markdown(outcome: &Outcome) -> String {
    let mut out = format!(
        "### jobdeploy {}: release `{}`\n\n",
        outcome.kind.verb(),
        outcome.release
    );
    if !outcome.repointed.is_empty() {
        let _ = writeln!(out, "{TRIGGER_HEADER} From | To |\n|---|---|---|---|");
        for r in &outcome.repointed {
            let _ = writeln!(
                out,
                "{} `{}` | `{}` |",
                trigger_cells(&r.at),
                TaskDefRef::parse(&r.from).label(),
                TaskDefRef::parse(&r.to).label()
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**", outcome_line(outcome));
    out
}

pub fn outcome(outcome: &Outcome, format: Format) -> String {
    match format {
        Format::Human => outcome_human(outcome),
        Format::Json => to_json(outcome),
        Format::Markdown => outcome_markdown(outcome),
    }
}

#[cfg(test)]
mod tests;
