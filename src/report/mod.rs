//! Human, JSON and markdown forms of a plan and of a deploy's outcome. Secret values are
//! masked in every form by the caller-supplied [`Masker`].

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::apply::Outcome;
use crate::live::{RuleRef, TaskDefRef};
use crate::manifest::short;
use crate::plan::{Destination, FamilyChange, Plan, PlanKind, TargetAction, TargetPlan};
use crate::secrets::Masker;

pub mod releases;

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
    /// Colour on a terminal unless `NO_COLOR` is set.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        Self {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
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

const NO_TARGETS: &str =
    "  (no rule on the configured buses runs a templated family on this cluster)";

/// `bus/rule`, as human reports show a rule.
fn rule_label(rule: &RuleRef) -> String {
    format!("{}/{}", rule.event_bus, rule.rule)
}

/// The width of the widest `bus/rule`, to align columns.
fn rule_width<'a>(rules: impl Iterator<Item = &'a RuleRef>) -> usize {
    rules
        .map(|r| r.event_bus.len() + r.rule.len() + 1)
        .max()
        .unwrap_or(0)
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

fn release_line(plan: &Plan) -> String {
    let r = &plan.release;
    let mut line = format!("Release {}  image {}", r.id, r.image.reference());
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
    let rule_width = rule_width(plan.targets.iter().map(|t| &t.rule));
    for t in &plan.targets {
        let rule = rule_label(&t.rule);
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
        let _ = writeln!(
            out,
            "  {mark} {rule:rule_width$}  target {}  {text}",
            t.target_id
        );
    }
    let _ = writeln!(out, "\n{}", style.paint("1", &plan.summary_line()));
    masker.mask(&out)
}

pub fn plan_json(plan: &Plan, masker: &Masker) -> String {
    let text = serde_json::to_string_pretty(plan).unwrap_or_default();
    masker.mask(&text) + "\n"
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
        let _ = writeln!(
            out,
            "\n| Bus | Rule | Target | From | To |\n|---|---|---|---|---|"
        );
        for t in &plan.targets {
            let to = match t.action {
                TargetAction::Keep => "(current)".to_string(),
                TargetAction::Repoint => format!("`{}`", destination(t)),
                TargetAction::Pin => format!("`{}` (pinned)", destination(t)),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | `{}` | {to} |",
                t.rule.event_bus,
                t.rule.rule,
                t.target_id,
                t.from.label()
            );
        }
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
                crate::plan::plural(outcome.repointed.len(), "target", "targets")
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
        crate::plan::plural(outcome.repointed.len(), "target", "targets")
    )
}

pub fn outcome_human(outcome: &Outcome) -> String {
    let mut out = String::new();
    for r in &outcome.repointed {
        let _ = writeln!(
            out,
            "  {}/{} target {}: {} → {}",
            r.rule.event_bus,
            r.rule.rule,
            r.target_id,
            TaskDefRef::parse(&r.from).label(),
            TaskDefRef::parse(&r.to).label()
        );
    }
    let _ = writeln!(out, "{}", outcome_line(outcome));
    out
}

pub fn outcome_markdown(outcome: &Outcome) -> String {
    let mut out = format!(
        "### jobdeploy {}: release `{}`\n\n",
        outcome.kind.verb(),
        outcome.release
    );
    if !outcome.repointed.is_empty() {
        out.push_str("| Bus | Rule | Target | From | To |\n|---|---|---|---|---|\n");
        for r in &outcome.repointed {
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | `{}` | `{}` |",
                r.rule.event_bus,
                r.rule.rule,
                r.target_id,
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
        Format::Json => serde_json::to_string_pretty(outcome).unwrap_or_default() + "\n",
        Format::Markdown => outcome_markdown(outcome),
    }
}
