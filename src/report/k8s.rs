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
        format!(
            " at manifest commit {}",
            crate::k8s::verdict::short_commit(c)
        )
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
            Ok(look) => format!(
                "{label}: now {}{}",
                observed_text(&look.observed),
                verdict_text(&look.verdict)
            ),
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
    state_text(&o.sync, &o.health, &o.revision, &o.images)
}

/// The same from the parts (`status`'s k8s block).
pub fn state_text(
    sync: &Option<String>,
    health: &Option<String>,
    revision: &Option<String>,
    images: &[String],
) -> String {
    let mut text = match (sync, health) {
        (Some(s), Some(h)) => format!("{s}, {h}"),
        (Some(x), None) | (None, Some(x)) => x.clone(),
        (None, None) => String::new(),
    };
    if let Some(rev) = revision {
        let _ = write!(text, " at {}", crate::k8s::verdict::short_commit(rev));
    }
    if !images.is_empty() {
        let _ = write!(text, ", runs {}", images.join(", "));
    }
    text.trim_start_matches([' ', ',']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::Verdict;

    fn looks() -> Vec<(String, Result<Look, crate::error::Error>)> {
        vec![
            (
                "argocd app web-production".to_string(),
                Ok(Look {
                    verdict: Verdict::Wait {
                        unmet: vec!["operation Succeeded for 0a1b2c3, want one for 23bdcf5".into()],
                    },
                    observed: Observed {
                        source: "argocd app web-production".into(),
                        revision: Some("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567".into()),
                        sync: Some("OutOfSync".into()),
                        health: Some("Healthy".into()),
                        images: vec!["r.example/web:v1.4.1".into()],
                    },
                    revisions: Vec::new(),
                }),
            ),
            (
                "argocd app api".to_string(),
                Err(crate::error::Error::new(
                    "Argo CD app api: https://argocd.example/api/v1/applications/api: 403 Forbidden: permission denied",
                )),
            ),
        ]
    }

    #[test]
    fn plan_block_forms() {
        let wait = GateRun {
            mode: GateMode::Wait,
            timeout: Duration::from_secs(900),
            poll: Duration::from_secs(10),
        };
        let commit = Some("23bdcf5a1e0c4d2b8f7e6a5b4c3d2e1f0a9b8c7d");
        let human = plan_block(Some(wait), "v1.4.2", commit, &looks(), false);
        let markdown = plan_block(
            Some(GateRun {
                mode: GateMode::Check,
                ..wait
            }),
            "v1.4.2",
            commit,
            &looks(),
            true,
        );
        let off = plan_block(None, "v1.4.2", None, &[], false);
        insta::assert_snapshot!(format!("{human}---{markdown}---{off}"));
    }

    #[test]
    fn the_lines_a_gate_leaves() {
        let sources = vec![(
            "argocd app web-production".to_string(),
            "Synced, Healthy at 23bdcf5".to_string(),
        )];
        assert_eq!(
            waited_line(Duration::from_millis(252_400), &sources),
            "waited 4m12s for argocd app web-production: Synced, Healthy at 23bdcf5"
        );
        let by = vec![(
            "argocd app web-production".to_string(),
            "r.example/web:v1.4.3 at 9f8e7d6".to_string(),
        )];
        assert_eq!(
            superseded_line("v1.4.2", &by),
            "release v1.4.2 was superseded in k8s (argocd app web-production runs r.example/web:v1.4.3 at 9f8e7d6): nothing written; deploy the newer release instead"
        );
    }
}
