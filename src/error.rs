//! One error type for the whole tool: a message that says what failed and where, plus hints
//! that say what to run next. `main` prints it and picks the exit code.

use std::fmt;

#[derive(Debug)]
pub struct Error {
    message: String,
    hints: Vec<String>,
    split: bool,
}

/// The exit code of a failure.
pub const EXIT_FAILURE: u8 = 1;
/// The exit code when putting targets back after a failure failed too: targets may be
/// split across releases, and the message lists where each is.
pub const EXIT_SPLIT: u8 = 3;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hints: Vec::new(),
            split: false,
        }
    }

    /// Marks the failure as one that left targets split across releases (exit 3).
    pub fn split(mut self) -> Self {
        self.split = true;
        self
    }

    /// [`EXIT_SPLIT`] when targets were left split, else [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        if self.split { EXIT_SPLIT } else { EXIT_FAILURE }
    }

    /// Adds a line telling the user what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Prefixes the message with where it happened (a file, a rule, a family).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Adds a line to the message: what state things were left in.
    pub fn note(mut self, line: impl fmt::Display) -> Self {
        self.message = format!("{}\n{line}", self.message);
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Lets `?` add context to foreign errors in one call: `.ctx(|| format!("{path}"))?`.
pub trait ResultExt<T> {
    fn ctx<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: fmt::Display> ResultExt<T> for std::result::Result<T, E> {
    fn ctx<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e}", context())))
    }
}
