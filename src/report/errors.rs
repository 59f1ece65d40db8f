//! How a failure is printed on stderr: the message, then one `Hint:` line per hint; inside
//! GitHub Actions, first an `::error` annotation carrying the message.

use std::fmt::Write as _;

use crate::error::Error;

/// The lines `main` prints for `err`; `actions`: running inside GitHub Actions.
pub fn error(err: &Error, actions: bool) -> String {
    let mut out = String::new();
    if actions {
        let _ = writeln!(
            out,
            "::error title=jobdeploy::{}",
            crate::github::escape(err.message())
        );
    }
    let _ = writeln!(out, "Error: {}", err.message());
    for hint in err.hints() {
        let _ = writeln!(out, "Hint: {hint}");
    }
    out
}
