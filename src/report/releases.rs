//! Human, JSON and markdown forms of `history`, `status` and `prune`. JSON carries the same
//! facts as the human form, from the same structures.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Format, NO_TARGETS, Style, TRIGGER_HEADER, label_width, trigger_cells};
use crate::history::{Drift, HistoryReport, NO_RELEASE, ReleaseInfo, Slot, Status};
use crate::manifest::short;
use crate::prune::{PruneOutcome, Reason};

fn json<T: Serialize>(value: &T) -> String {
    super::to_json(value)
}

/// Why prune keeps or deregisters a revision, in words.
pub fn reasons(reasons: &[Reason]) -> String {
    let words: Vec<String> = reasons
        .iter()
        .map(|r| match r {
            Reason::InReleases { releases } => {
                format!("revision of release {}", releases.join(", "))
            }
            Reason::UsedBy { users } => format!("used by {}", users.join(", ")),
            Reason::Newest => "the family's newest revision".to_string(),
            Reason::FloatedTo { users } => format!("floated to by {}", users.join(", ")),
            Reason::NoRelease => "no jobdeploy release to measure age against".to_string(),
            Reason::NewerThanEveryKeptRelease => "newer than every kept release".to_string(),
            Reason::NewerThan { release } => format!("newer than release {release}"),
            Reason::OlderAndUnused { release } => {
                format!("older than release {release} and unused")
            }
        })
        .collect();
    words.join("; ")
}

/// A drift in words.
pub fn drift(d: &Drift) -> String {
    match d {
        Drift::Mixed { releases } => {
            let parts: Vec<String> = releases
                .iter()
                .map(|(release, at)| {
                    let labels: Vec<String> = at.iter().map(|t| t.label()).collect();
                    format!(
                        "{}: {}",
                        release.as_deref().unwrap_or(NO_RELEASE),
                        labels.join(", ")
                    )
                })
                .collect();
            format!("mixed releases: {}", parts.join("; "))
        }
        Drift::Floating { at, family } => format!(
            "{} floats on `{family}` (no revision): it runs whatever was registered last",
            at.label()
        ),
        Drift::Missing {
            at,
            task_definition,
        } => format!(
            "{} points at {task_definition}, which does not exist",
            at.label()
        ),
        Drift::Inactive {
            at,
            task_definition,
            state,
        } => format!(
            "{} points at {task_definition}, which is {state}",
            at.label()
        ),
        Drift::Untemplated { at, reason } => format!(
            "{}: {reason} on our cluster, never deployed by jobdeploy",
            at.label()
        ),
        Drift::K8sMismatch { source, live, k8s } => format!(
            "k8s mismatch: the batch jobs run {live}, {source} runs {}",
            if k8s.is_empty() {
                "no tag of the image".to_string()
            } else {
                k8s.join(", ")
            }
        ),
    }
}

/// The k8s block of `status`, one line per source.
fn k8s_lines(status: &Status) -> Vec<String> {
    status
        .k8s
        .iter()
        .flatten()
        .map(|s| match &s.error {
            Some(e) => format!("{}: cannot look: {e}", s.source),
            None => format!(
                "{}: {}",
                s.source,
                crate::report::k8s::state_text(&s.sync, &s.health, &s.revision, &s.images)
            ),
        })
        .collect()
}

fn revisions(release: &ReleaseInfo, code: bool) -> String {
    let quote = |s: String| if code { format!("`{s}`") } else { s };
    let parts: Vec<String> = release
        .revisions
        .iter()
        .map(|(family, slot)| match slot {
            Slot::Revision {
                revision, status, ..
            } => {
                let mut text = quote(format!("{family}:{revision}"));
                if release.registered.contains(family) {
                    text.push_str(" (new)");
                }
                if !status.is_active() {
                    let _ = write!(text, " ({status})");
                }
                text
            }
            Slot::Absent => format!("{} (none yet)", quote(family.clone())),
            Slot::Unknown => format!("{} (not read)", quote(family.clone())),
        })
        .collect();
    parts.join(if code { ", " } else { "  " })
}

fn commit(c: Option<&String>) -> String {
    c.map_or("—".to_string(), |c| short(c).to_string())
}

pub fn history(report: &HistoryReport, format: Format, style: Style) -> String {
    match format {
        Format::Json => json(report),
        Format::Human => history_human(report, style),
        Format::Markdown => history_markdown(report),
    }
}

fn history_human(report: &HistoryReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Releases of {}, newest first\n",
        report.families.join(", ")
    );
    if report.releases.is_empty() {
        let _ = writeln!(
            out,
            "  (none: no revision of these families carries a jobdeploy:release tag)"
        );
    }
    let width = report
        .releases
        .iter()
        .map(|e| e.release.id.len())
        .max()
        .unwrap_or(0);
    for entry in &report.releases {
        let r = &entry.release;
        let mark = if entry.live {
            style.paint("32", "*")
        } else {
            " ".to_string()
        };
        let _ = writeln!(
            out,
            "{mark} {:width$}  {}  manifest {}  source {}{}",
            r.id,
            r.time_text.as_deref().unwrap_or("(time unknown)"),
            commit(r.manifest_commit.as_ref()),
            commit(r.source_commit.as_ref()),
            if entry.live {
                style.paint("32", "  ← live")
            } else {
                String::new()
            }
        );
        let digest = r
            .digest
            .as_deref()
            .map_or(String::new(), |d| format!("  image {d}"));
        let _ = writeln!(out, "  {:width$}  {}{digest}", "", revisions(r, false));
    }
    let _ = writeln!(out, "\nLive: {}", report.live.describe());
    out
}

fn history_markdown(report: &HistoryReport) -> String {
    let mut out = String::from("### jobdeploy history\n\n");
    let _ = writeln!(out, "Live: {}\n", report.live.describe());
    out.push_str("| Release | Time | Manifest commit | Source commit | Revisions |\n");
    out.push_str("|---|---|---|---|---|\n");
    for entry in &report.releases {
        let r = &entry.release;
        let id = if entry.live {
            format!("**`{}`** (live)", r.id)
        } else {
            format!("`{}`", r.id)
        };
        let _ = writeln!(
            out,
            "| {id} | {} | `{}` | `{}` | {} |",
            r.time_text.as_deref().unwrap_or("—"),
            commit(r.manifest_commit.as_ref()),
            commit(r.source_commit.as_ref()),
            revisions(r, true)
        );
    }
    out
}

pub fn status(status: &Status, cluster: &str, format: Format, style: Style) -> String {
    match format {
        Format::Json => json(status),
        Format::Human => status_human(status, cluster, style),
        Format::Markdown => status_markdown(status, cluster),
    }
}

fn revision_text(t: &crate::history::TargetStatus) -> String {
    match (t.revision, t.floating) {
        (Some(n), false) => format!("{}:{n}", t.family),
        (Some(n), true) => format!("{} (floating, now {n})", t.family),
        (None, _) => format!("{} (missing)", t.family),
    }
}

fn status_human(status: &Status, cluster: &str, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n",
        style.paint(
            "1",
            &format!("Cluster {cluster}: live is {}", status.live.describe())
        )
    );
    if let Some(wanted) = &status.manifest {
        let line = wanted.describe(&status.live);
        let painted = if wanted.behind {
            style.paint("33", &line)
        } else {
            line
        };
        let _ = writeln!(out, "{painted}\n");
    }
    if status.targets.is_empty() {
        let _ = writeln!(out, "{NO_TARGETS}");
    }
    let width = label_width(status.targets.iter().map(|t| &t.at));
    for t in &status.targets {
        let label = t.at.label();
        let _ = writeln!(
            out,
            "  {label:width$}  {}  {}  release {}",
            revision_text(t),
            t.state,
            t.release.as_deref().unwrap_or("—")
        );
    }
    if status.k8s.is_some() {
        let _ = writeln!(out, "\n{}", style.paint("1", "k8s"));
        for line in k8s_lines(status) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if status.drift.is_empty() {
        let _ = writeln!(out, "\nNo drift.");
    } else {
        let _ = writeln!(out, "\n{}", style.paint("33", "Drift"));
        for d in &status.drift {
            let _ = writeln!(out, "  ! {}", drift(d));
        }
    }
    out
}

fn status_markdown(status: &Status, cluster: &str) -> String {
    let mut out = format!("### jobdeploy status: cluster `{cluster}`\n\n");
    let _ = writeln!(out, "Live: {}\n", status.live.describe());
    if let Some(wanted) = &status.manifest {
        let _ = writeln!(out, "{}\n", wanted.describe(&status.live));
    }
    let _ = writeln!(out, "{TRIGGER_HEADER} Revision | State | Release |");
    out.push_str("|---|---|---|---|---|\n");
    for t in &status.targets {
        let _ = writeln!(
            out,
            "{} `{}` | {} | {} |",
            trigger_cells(&t.at),
            revision_text(t),
            t.state,
            t.release
                .as_deref()
                .map_or("—".into(), |r| format!("`{r}`"))
        );
    }
    if status.k8s.is_some() {
        out.push_str("\n**k8s**\n\n");
        for line in k8s_lines(status) {
            let _ = writeln!(out, "- {line}");
        }
    }
    if status.drift.is_empty() {
        out.push_str("\nNo drift.\n");
    } else {
        out.push_str("\n**Drift**\n\n");
        for d in &status.drift {
            let _ = writeln!(out, "- {}", drift(d));
        }
    }
    out
}

pub fn prune(outcome: &PruneOutcome, format: Format, style: Style) -> String {
    match format {
        Format::Json => json(outcome),
        Format::Human => prune_human(outcome, style),
        Format::Markdown => prune_markdown(outcome),
    }
}

fn prune_summary(outcome: &PruneOutcome) -> String {
    let n = outcome.plan.deregister.len() - outcome.failed.len();
    let what = crate::model::plural(n, "revision", "revisions");
    match (outcome.dry_run, n) {
        (true, _) => format!(
            "Would deregister {} (--dry-run); keeping {}.",
            crate::model::plural(outcome.plan.deregister.len(), "revision", "revisions"),
            outcome.plan.keep.len()
        ),
        (false, 0) if outcome.failed.is_empty() => format!(
            "Nothing to deregister; keeping {}.",
            outcome.plan.keep.len()
        ),
        (false, _) => format!("Deregistered {what}; kept {}.", outcome.plan.keep.len()),
    }
}

fn prune_human(outcome: &PruneOutcome, style: Style) -> String {
    let mut out = String::new();
    let plan = &outcome.plan;
    if plan.kept_releases.is_empty() {
        let _ = writeln!(
            out,
            "No jobdeploy release found: revisions are only pruned once they are older than a release.\n"
        );
    } else {
        let last = match plan.kept_releases.len() {
            1 => "the last release".to_string(),
            n => format!("the last {n} releases"),
        };
        let _ = writeln!(
            out,
            "Keeping the revisions of {last}: {}\n",
            plan.kept_releases.join(", ")
        );
    }
    let width = plan
        .keep
        .iter()
        .chain(&plan.deregister)
        .map(|e| e.label().len())
        .max()
        .unwrap_or(0);
    // Every verb padded to the widest, `deregistered`, so the labels line up.
    for e in &plan.keep {
        let _ = writeln!(
            out,
            "  {:12} {:width$}  {}",
            "keep",
            e.label(),
            reasons(&e.reasons)
        );
    }
    for e in &plan.deregister {
        let label = e.label();
        let verb = match (
            outcome.dry_run,
            outcome.failed.iter().any(|(l, _)| *l == label),
        ) {
            (true, _) => "would drop",
            (false, true) => "FAILED",
            (false, false) => "deregistered",
        };
        let _ = writeln!(
            out,
            "  {} {label:width$}  {}",
            style.paint("31", &format!("{verb:12}")),
            reasons(&e.reasons)
        );
    }
    let _ = writeln!(out, "\n{}", style.paint("1", &prune_summary(outcome)));
    out
}

fn prune_markdown(outcome: &PruneOutcome) -> String {
    let mut out = String::from("### jobdeploy prune\n\n");
    let _ = writeln!(
        out,
        "Kept releases: {}\n",
        if outcome.plan.kept_releases.is_empty() {
            "none".to_string()
        } else {
            outcome.plan.kept_releases.join(", ")
        }
    );
    out.push_str("| Revision | Action | Why |\n|---|---|---|\n");
    for e in &outcome.plan.keep {
        let _ = writeln!(out, "| `{}` | keep | {} |", e.label(), reasons(&e.reasons));
    }
    for e in &outcome.plan.deregister {
        let action = if outcome.dry_run {
            "would deregister"
        } else if outcome.failed.iter().any(|(l, _)| *l == e.label()) {
            "**failed**"
        } else {
            "deregistered"
        };
        let _ = writeln!(
            out,
            "| `{}` | {action} | {} |",
            e.label(),
            reasons(&e.reasons)
        );
    }
    let _ = writeln!(out, "\n**{}**", prune_summary(outcome));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Trigger;

    #[test]
    fn every_drift_code_has_its_words() {
        let hourly = Trigger::rule_target("default", "hourly", "job");
        let export = Trigger::schedule("jobs", "export");
        let cases = [
            (
                Drift::Mixed {
                    releases: vec![
                        (None, vec![hourly.clone()]),
                        (Some("v2".into()), vec![export.clone()]),
                    ],
                },
                "mixed releases: no release: default/hourly target job; v2: schedule jobs/export",
            ),
            (
                Drift::Floating {
                    at: hourly.clone(),
                    family: "web".into(),
                },
                "default/hourly target job floats on `web` (no revision): it runs whatever was registered last",
            ),
            (
                Drift::Missing {
                    at: hourly.clone(),
                    task_definition: "web:9".into(),
                },
                "default/hourly target job points at web:9, which does not exist",
            ),
            (
                Drift::Inactive {
                    at: export.clone(),
                    task_definition: "web:3".into(),
                    state: "INACTIVE".into(),
                },
                "schedule jobs/export points at web:3, which is INACTIVE",
            ),
            (
                Drift::Untemplated {
                    at: export,
                    reason: "family `api` has no template".into(),
                },
                "schedule jobs/export: family `api` has no template on our cluster, never deployed by jobdeploy",
            ),
            (
                Drift::K8sMismatch {
                    source: "argocd app web-production".into(),
                    live: "v1.4.2".into(),
                    k8s: vec!["v1.4.3".into()],
                },
                "k8s mismatch: the batch jobs run v1.4.2, argocd app web-production runs v1.4.3",
            ),
        ];
        for (d, words) in cases {
            assert_eq!(drift(&d), words);
        }
    }

    #[test]
    fn prune_reasons_are_worded_in_order() {
        let all = [
            Reason::InReleases {
                releases: vec!["v3".into(), "v2".into()],
            },
            Reason::UsedBy {
                users: vec!["rule default/a target t".into()],
            },
            Reason::Newest,
            Reason::FloatedTo {
                users: vec!["rule default/b target t".into()],
            },
            Reason::NoRelease,
            Reason::NewerThanEveryKeptRelease,
            Reason::NewerThan {
                release: "v2".into(),
            },
            Reason::OlderAndUnused {
                release: "v2".into(),
            },
        ];
        assert_eq!(
            reasons(&all),
            "revision of release v3, v2; used by rule default/a target t; the family's newest revision; \
             floated to by rule default/b target t; no jobdeploy release to measure age against; \
             newer than every kept release; newer than release v2; older than release v2 and unused"
        );
        let codes: Vec<String> = all
            .iter()
            .map(|r| serde_json::to_value(r).expect("json")["reason"].to_string())
            .collect();
        assert_eq!(
            codes.join(" "),
            "\"in_releases\" \"used_by\" \"newest\" \"floated_to\" \"no_release\" \
             \"newer_than_every_kept_release\" \"newer_than\" \"older_and_unused\""
        );
    }
}
