//! The k8s gate's words: the line a finished wait leaves (also in the step summary), the
//! superseded warning, and the k8s block of `plan` and `status`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::GateMode;
use crate::k8s::Observed;
use crate::k8s::gate::{GateRun, Look};
use crate::model::short_duration;

/// `waited 4m12s for argocd app web-production: Synced, Healthy at 23bdcf5`.
pub fn waited_line(waited: Duration, sources: &[(String, String)]) -> String {
    let what: Vec<String> = sources
        .iter()
        .map(|(label, summary)| format!("{label}: {summary}"))
        .collect();
    format!(
        "waited {} for {}",
        short_duration(Duration::from_secs(waited.as_secs())),
        what.join("; ")
    )
}

/// deploy's warning (and one-line result) when a newer commit runs another tag.
pub fn superseded_line(release: &str, sources: &[(String, String)]) -> String {
    let by: Vec<String> = sources
        .iter()
        .map(|(label, by)| format!("{label} runs {by}"))
        .collect();
    format!(
        "release {release} was superseded in k8s ({}): nothing written; deploy the newer release instead",
        by.join("; ")
    )
}

/// What `plan` says about k8s: what deploy will wait for, and what each source runs now.
pub fn plan_block(
    gate: Option<GateRun>,
    release: &str,
    commit: Option<&str>,
    looks: &[(String, Result<Look, crate::error::Error>)],
    markdown: bool,
) -> String {
    let at = commit.map_or(String::new(), |c| {
        format!(" at manifest commit {}", crate::k8s::verdict::short_commit(c))
    });
    let head = match gate {
        Some(GateRun {
            mode: GateMode::Check,
            ..
        }) => format!("k8s gate (check): deploy goes on only if k8s already runs {release}{at}"),
        Some(run) => format!(
            "k8s gate (wait, up to {}): deploy waits until k8s runs {release}{at}",
            short_duration(run.timeout)
        ),
        None => "k8s gate off: deploy does not wait for k8s".to_string(),
    };
    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "\n**{head}**\n");
    } else {
        let _ = writeln!(out, "\n{head}");
    }
    for (label, look) in looks {
        let line = match look {
            Ok(look) => format!("{label}: now {}{}", observed_text(&look.observed), verdict_text(&look.verdict)),
            Err(e) => format!("{label}: cannot look: {}", e.message()),
        };
        if markdown {
            let _ = writeln!(out, "- {line}");
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn verdict_text(v: &crate::k8s::Verdict) -> String {
    use crate::k8s::Verdict;
    match v {
        Verdict::Done { .. } => " — runs the release".to_string(),
        Verdict::Wait { unmet } => format!(" — waiting for: {}", unmet.join("; ")),
        Verdict::Fail { why, .. } => format!(" — will fail: {why}"),
        Verdict::Superseded { by } => format!(" — superseded by {by}"),
    }
}

/// `Synced, Healthy at 23bdcf5, runs web:v1.4.2`.
pub fn observed_text(o: &Observed) -> String {
    let mut parts = Vec::new();
    match (&o.sync, &o.health) {
        (Some(s), Some(h)) => parts.push(format!("{s}, {h}")),
        (Some(x), None) | (None, Some(x)) => parts.push(x.clone()),
        (None, None) => {}
    }
    let mut text = parts.join("");
    if let Some(rev) = &o.revision {
        let _ = write!(text, " at {}", crate::k8s::verdict::short_commit(rev));
    }
    if !o.images.is_empty() {
        let _ = write!(text, ", runs {}", o.images.join(", "));
    }
    text.trim().to_string()
}
