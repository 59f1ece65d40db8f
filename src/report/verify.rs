//! `verify`'s report: one line per check per family or target — `ok`, `FAIL` with the fix,
//! `warn`, or `skipped` with why — in human, JSON and markdown forms.

use std::fmt::Write as _;

use super::{Format, Style};
use crate::model::plural;
use crate::verify::{Finding, Outcome, Report};

pub fn verify(report: &Report, format: Format, style: Style) -> String {
    match format {
        Format::Human => human(report, style),
        Format::Json => super::to_json(report),
        Format::Markdown => markdown(report),
    }
}

/// `Verify: 12 ok, 1 failed, 1 warning, 2 skipped.`
pub fn summary_line(report: &Report) -> String {
    let t = &report.totals;
    format!(
        "Verify: {} ok, {} failed, {}, {} skipped.",
        t.ok,
        t.failed,
        plural(t.warnings, "warning", "warnings"),
        t.skipped
    )
}

fn detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Ok => None,
        Outcome::Fail { problem, .. } => Some(problem.clone()),
        Outcome::Warn { problem } => Some(problem.clone()),
        Outcome::Skipped { why } => Some(why.clone()),
    }
}

/// Findings grouped by subject, in report order.
fn by_subject(report: &Report) -> Vec<(&str, Vec<&Finding>)> {
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        match groups.last_mut() {
            Some((subject, list)) if *subject == f.subject => list.push(f),
            _ => groups.push((&f.subject, vec![f])),
        }
    }
    groups
}

pub fn human(report: &Report, style: Style) -> String {
    let mut out = String::new();
    if report.findings.is_empty() {
        let _ = writeln!(out, "Nothing to verify: no task definition and no target.");
    }
    for (subject, findings) in by_subject(report) {
        let _ = writeln!(out, "{}", style.paint("1", subject));
        for f in findings {
            let word = f.outcome.word();
            let painted = match f.outcome {
                Outcome::Ok => style.paint("32", &format!("{word:<7}")),
                Outcome::Fail { .. } => style.paint("31", &format!("{word:<7}")),
                Outcome::Warn { .. } => style.paint("33", &format!("{word:<7}")),
                Outcome::Skipped { .. } => format!("{word:<7}"),
            };
            let mut line = format!("  {painted} {:<8} {}", f.area.word(), f.check);
            if let Some(d) = detail(&f.outcome) {
                let _ = write!(line, ": {d}");
            }
            let _ = writeln!(out, "{line}");
            if let Outcome::Fail { fix, .. } = &f.outcome {
                let _ = writeln!(out, "{:19}fix: {fix}", "");
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### jobdeploy verify\n");
    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "| Family or target | Check | Result | Details |\n|---|---|---|---|"
        );
        for f in &report.findings {
            let result = match f.outcome {
                Outcome::Ok => "ok",
                Outcome::Fail { .. } => "**FAIL**",
                Outcome::Warn { .. } => "warn",
                Outcome::Skipped { .. } => "skipped",
            };
            let details = match &f.outcome {
                Outcome::Fail { problem, fix } => format!("{} — fix: {}", cell(problem), cell(fix)),
                other => detail(other).map(|d| cell(&d)).unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} {} | {result} | {details} |",
                cell(&f.subject),
                f.area.word(),
                cell(&f.check)
            );
        }
    }
    let _ = writeln!(out, "\n**{}**", summary_line(report));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Area;

    fn finding(subject: &str, area: Area, check: &str, outcome: Outcome) -> Finding {
        Finding {
            subject: subject.into(),
            area,
            check: check.into(),
            outcome,
        }
    }

    /// One of each outcome, on a family and on a target.
    fn fixed() -> Report {
        Report::new(vec![
            finding("web-batch", Area::Roles, "execution role ecs-task-execution", Outcome::Ok),
            finding(
                "web-batch",
                Area::Secrets,
                "container app secret DATABASE_URL",
                Outcome::Fail {
                    problem: "SSM parameter /web/database-url does not exist in us-east-1 (or that version or label)".into(),
                    fix: "aws ssm put-parameter --region us-east-1 --type SecureString --name /web/database-url --value …".into(),
                },
            ),
            finding(
                "web-batch",
                Area::Image,
                "container sidecar image datadog/agent:7",
                Outcome::Skipped { why: "not in ECR: not checked".into() },
            ),
            finding(
                "default/hourly target batch",
                Area::Network,
                "subnets subnet-1",
                Outcome::Warn {
                    problem: "not checked: no permission for ec2:DescribeSubnets (add it: `jobdeploy iam-policy` lists it)".into(),
                },
            ),
        ])
    }

    #[test]
    fn human_form() {
        insta::assert_snapshot!(human(&fixed(), Style { color: false }));
    }

    #[test]
    fn json_form() {
        insta::assert_snapshot!(super::super::to_json(&fixed()));
    }

    #[test]
    fn markdown_form() {
        insta::assert_snapshot!(markdown(&fixed()));
    }

    #[test]
    fn the_summary_counts_each_outcome() {
        assert_eq!(
            summary_line(&fixed()),
            "Verify: 1 ok, 1 failed, 1 warning, 1 skipped."
        );
        assert!(fixed().failed());
        assert!(!Report::new(vec![finding("w", Area::Roles, "r", Outcome::Ok)]).failed());
    }
}
