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

/// Inside Actions, tells the runner to mask `secret` in every log line from now on.
pub fn mask(secret: &str) {
    if in_actions() && !secret.is_empty() {
        // On stderr, like every workflow command here: stdout stays data (`--format json`).
        eprintln!("::add-mask::{}", escape(secret));
    }
}

/// Inside Actions, folds what is printed until [`Group`] is dropped into one log group.
pub struct Group {
    open: bool,
}

impl Group {
    pub fn start(title: &str) -> Self {
        let open = in_actions();
        if open {
            eprintln!("::group::{}", escape(title));
        }
        Self { open }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.open {
            eprintln!("::endgroup::");
        }
    }
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

/// Appends a markdown section to `$GITHUB_STEP_SUMMARY`, when running inside Actions.
pub fn summary(markdown: &str) -> crate::error::Result<()> {
    if !in_actions() {
        return Ok(());
    }
    append("GITHUB_STEP_SUMMARY", &format!("{markdown}\n"))
        .map_err(|e| crate::error::Error::new(format!("cannot write $GITHUB_STEP_SUMMARY: {e}")))
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
