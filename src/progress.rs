//! Status lines on stderr (data goes to stdout). Quiet mode drops them, warnings included:
//! `--quiet` leaves errors and the one-line result. [`print`] writes the data.

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn line(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        if crate::github::in_actions() {
            eprintln!("::warning::{}", crate::github::escape(text.as_ref()));
        } else {
            eprintln!("warning: {}", text.as_ref());
        }
    }
}

/// Writes data to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
