//! `jobdeploy runs`: what the release's jobs did, as a table, JSON (version 1) or markdown.

use std::fmt::Write as _;

use super::{Format, Style, TRIGGER_HEADER, label_width, trigger_cells};
use crate::model::plural;
use crate::runs::{MetricsScope, Outcome, RunsReport, TaskRun, TriggerRuns};

pub fn runs(report: &RunsReport, format: Format, style: Style) -> String {
    match format {
        Format::Json => super::to_json(report),
        Format::Human => human(report, style),
        Format::Markdown => markdown(report),
    }
}

const GROUP_NOTE: &str =
    "Scheduler meters invocations per schedule group only: a schedule's numbers are its group's.";

fn headline(report: &RunsReport) -> String {
    let failures = match report.failures {
        0 => "no failures".to_string(),
        n => plural(n as usize, "failure", "failures"),
    };
    format!("Runs from {} to {}: {failures}", report.since, report.until)
}

fn short_task(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn seconds(s: f64) -> String {
    if s >= 7200.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

fn next_firing(t: &TriggerRuns) -> String {
    match (&t.next_firing, &t.next_firing_error) {
        (_, Some(error)) => format!("unknown ({error})"),
        (None, _) if t.expression.is_none() => "— (event pattern)".to_string(),
        (None, _) if t.state.as_deref() == Some("DISABLED") => "— (disabled)".to_string(),
        (None, _) => "never again".to_string(),
        (Some(at), _) => {
            let mut text = if t.next_firing_exact {
                at.clone()
            } else {
                format!("by {at} (a rate: AWS does not say when it started)")
            };
            if let Some(local) = &t.next_firing_local {
                let _ = write!(text, " ({local})");
            }
            text
        }
    }
}

fn count(n: Option<u64>) -> String {
    n.map_or("?".to_string(), |n| n.to_string())
}

fn metrics_line(t: &TriggerRuns) -> String {
    let mut line = format!(
        "invocations {}, failed {}",
        count(t.invocations),
        count(t.failed_invocations)
    );
    if t.target_errors.is_some() {
        let _ = write!(line, ", target errors {}", count(t.target_errors));
    }
    if t.throttled.is_some() {
        let _ = write!(line, ", throttled {}", count(t.throttled));
    }
    if t.metrics_scope == MetricsScope::ScheduleGroup {
        let group = match &t.at.owner {
            crate::model::Owner::Schedule { group, .. } => group.as_str(),
            crate::model::Owner::Rule { .. } => "",
        };
        let _ = write!(line, " (whole schedule group {group})");
    }
    line
}

fn task_line(task: &TaskRun) -> String {
    let mark = match task.outcome {
        Outcome::Running => "…",
        Outcome::Succeeded => "✓",
        Outcome::Failed => "✗",
    };
    let mut line = format!("{mark} {} {}", short_task(&task.task_arn), task.last_status);
    if let Some(rev) = task.revision {
        let _ = write!(line, " rev {rev}");
    }
    if let Some(release) = &task.release {
        let _ = write!(line, " ({release})");
    }
    match (task.exit_code, &task.container) {
        (Some(code), Some(c)) => {
            let _ = write!(line, ", exit {code} ({c})");
        }
        (None, Some(c)) => {
            let _ = write!(line, ", no exit code ({c})");
        }
        _ => {}
    }
    if task.outcome != Outcome::Running
        && let Some(reason) = &task.stopped_reason
    {
        let code = task.stop_code.as_deref().unwrap_or("stopped");
        let _ = write!(line, ", {code}: {reason}");
    }
    if let Some(at) = &task.created_at {
        let _ = write!(line, ", created {at}");
    }
    if let Some(s) = task.startup_seconds {
        let _ = write!(line, ", start-up {}", seconds(s));
        if let Some(p) = task.pull_seconds {
            let _ = write!(line, " (pull {})", seconds(p));
        }
    }
    if let Some(s) = task.run_seconds {
        let verb = if task.outcome == Outcome::Running {
            "running for"
        } else {
            "ran"
        };
        let _ = write!(line, ", {verb} {}", seconds(s));
    }
    if task.older_revision {
        line.push_str(" — still running a revision from before the release");
    }
    line
}

fn dead_letter_text(t: &TriggerRuns) -> Option<String> {
    let dl = t.dead_letter.as_ref()?;
    Some(match dl.messages {
        Some(n) => format!(
            "dead-letter queue {}: {}",
            dl.queue,
            plural(n as usize, "message", "messages")
        ),
        None => format!("dead-letter queue {}: unknown (see warnings)", dl.queue),
    })
}

fn human(report: &RunsReport, style: Style) -> String {
    let mut out = String::new();
    let head = headline(report);
    let head = if report.failures > 0 {
        style.paint("31;1", &head)
    } else {
        style.paint("1", &head)
    };
    let _ = writeln!(out, "{head}\n");
    if report.triggers.is_empty() {
        let _ = writeln!(out, "{}", super::NO_TARGETS);
    }
    let width = label_width(report.triggers.iter().map(|t| &t.at));
    for t in &report.triggers {
        let revision = t.revision.map_or(format!("{} (floating)", t.family), |r| {
            format!("{}:{r}", t.family)
        });
        let release = t.release.as_deref().unwrap_or("no release");
        let _ = writeln!(
            out,
            "{:width$}  {}  {}  {revision} ({release})",
            t.at.label(),
            t.state.as_deref().unwrap_or("?"),
            t.expression.as_deref().unwrap_or("event pattern"),
        );
        let _ = writeln!(out, "  next firing   {}", next_firing(t));
        let _ = writeln!(out, "  {}", metrics_line(t));
        if let Some(dl) = dead_letter_text(t) {
            let painted = match t.dead_letter.as_ref().and_then(|d| d.messages) {
                Some(n) if n > 0 => style.paint("31", &dl),
                _ => dl,
            };
            let _ = writeln!(out, "  {painted}");
        }
        if t.tasks.is_empty() {
            let _ = writeln!(
                out,
                "  no task in the window (ECS shows stopped tasks for about an hour)"
            );
        }
        for task in &t.tasks {
            let line = task_line(task);
            let line = if task.outcome == Outcome::Failed {
                style.paint("31", &line)
            } else {
                line
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    if !report.other_tasks.is_empty() {
        let _ = writeln!(
            out,
            "\nOther tasks of our families (started by hand, by `jobdeploy run`, or by no trigger of ours):"
        );
        for task in &report.other_tasks {
            let _ = writeln!(out, "  {}", task_line(task));
        }
    }
    if report
        .triggers
        .iter()
        .any(|t| t.metrics_scope == MetricsScope::ScheduleGroup)
    {
        let _ = writeln!(out, "\n{GROUP_NOTE}");
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint("33", "Warnings"));
        for w in &report.warnings {
            let _ = writeln!(out, "  ! {w}");
        }
    }
    out
}

fn task_counts(t: &TriggerRuns) -> String {
    let n = |o| t.tasks.iter().filter(|x| x.outcome == o).count();
    format!(
        "{} ok, {} failed, {} running",
        n(Outcome::Succeeded),
        n(Outcome::Failed),
        n(Outcome::Running)
    )
}

fn markdown(report: &RunsReport) -> String {
    let mut out = format!("### jobdeploy runs\n\n{}\n\n", headline(report));
    let _ = writeln!(
        out,
        "{TRIGGER_HEADER} State | Schedule | Next firing | Invocations | Failed | Tasks | Dead letters |"
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for t in &report.triggers {
        let failed = match t.failed_invocations {
            Some(n) if n > 0 => format!("**{n}**"),
            other => count(other),
        };
        let scope = if t.metrics_scope == MetricsScope::ScheduleGroup {
            " (group)"
        } else {
            ""
        };
        let dead = t
            .dead_letter
            .as_ref()
            .map_or("—".to_string(), |d| match d.messages {
                Some(n) if n > 0 => format!("**{n}** in `{}`", d.queue),
                Some(n) => format!("{n} in `{}`", d.queue),
                None => format!("? in `{}`", d.queue),
            });
        let _ = writeln!(
            out,
            "{} {} | {} | {} | {}{scope} | {failed}{scope} | {} | {dead} |",
            trigger_cells(&t.at),
            t.state.as_deref().unwrap_or("?"),
            t.expression
                .as_deref()
                .map_or("—".to_string(), |e| format!("`{e}`")),
            next_firing(t),
            count(t.invocations),
            task_counts(t),
        );
    }
    let failed: Vec<(&TriggerRuns, &TaskRun)> = report
        .triggers
        .iter()
        .flat_map(|t| t.tasks.iter().map(move |task| (t, task)))
        .filter(|(_, task)| task.outcome == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        out.push_str("\n**Failed tasks**\n\n");
        for (t, task) in failed {
            let _ = writeln!(out, "- `{}`: {}", t.at.label(), task_line(task));
        }
    }
    // Other tasks count in the failures too: the summary must show the failed ones.
    let other_failed: Vec<&TaskRun> = report
        .other_tasks
        .iter()
        .filter(|task| task.outcome == Outcome::Failed)
        .collect();
    if !other_failed.is_empty() {
        out.push_str("\n**Failed tasks of our families no trigger of ours started** (by hand, by `jobdeploy run`)\n\n");
        for task in other_failed {
            let _ = writeln!(out, "- {}", task_line(task));
        }
    }
    let older: Vec<(&TriggerRuns, &TaskRun)> = report
        .triggers
        .iter()
        .flat_map(|t| t.tasks.iter().map(move |task| (t, task)))
        .filter(|(_, task)| task.older_revision)
        .collect();
    if !older.is_empty() {
        out.push_str("\n**Still running from before the release**\n\n");
        for (t, task) in older {
            let _ = writeln!(out, "- `{}`: {}", t.at.label(), task_line(task));
        }
    }
    if report
        .triggers
        .iter()
        .any(|t| t.metrics_scope == MetricsScope::ScheduleGroup)
    {
        let _ = writeln!(out, "\n{GROUP_NOTE}");
    }
    if !report.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in &report.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}
