//! GitHub Actions integration: step summary, outputs, annotations.

use std::io::Write;

pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Workflow-command escaping for `::error::` and friends.
pub fn escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn append(var: &str, text: &str) -> std::io::Result<()> {
    let Some(path) = std::env::var_os(var) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Appends the markdown report to `$GITHUB_STEP_SUMMARY` and writes `release`/`changed` to
/// `$GITHUB_OUTPUT`, when running inside Actions.
pub fn publish(markdown: &str, release: &str, changed: bool) -> crate::error::Result<()> {
    if !in_actions() {
        return Ok(());
    }
    let fail = |var: &str, e: std::io::Error| {
        crate::error::Error::new(format!("cannot write ${var}: {e}"))
    };
    append("GITHUB_STEP_SUMMARY", &format!("{markdown}\n"))
        .map_err(|e| fail("GITHUB_STEP_SUMMARY", e))?;
    append(
        "GITHUB_OUTPUT",
        &format!("release={release}\nchanged={changed}\n"),
    )
    .map_err(|e| fail("GITHUB_OUTPUT", e))
}
