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

/// A live status line on a terminal: a spinner, the time elapsed and what is awaited, redrawn
/// in place while lines printed through it scroll above. Only on a terminal outside GitHub
/// Actions and without `--quiet`: in a log file a redrawn line is noise, so there each change
/// is a printed line instead (the callers print those either way).
pub struct LiveLine {
    bar: indicatif::ProgressBar,
}

impl LiveLine {
    /// The line, when stderr is a terminal the user watches; `None` otherwise.
    pub fn start(progress: &Progress, message: &str) -> Option<LiveLine> {
        if progress.is_quiet()
            || crate::github::in_actions()
            || !std::io::IsTerminal::is_terminal(&std::io::stderr())
        {
            return None;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(LiveLine { bar })
    }

    /// What the line says now.
    pub fn set(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// A status line (stderr), printed above the live line.
    pub fn println(&self, text: impl AsRef<str>) {
        self.bar.println(text.as_ref());
    }

    /// Writes data to stdout with the live line cleared meanwhile, so the two never mix.
    pub fn print_data(&self, text: &str) {
        self.bar.suspend(|| print(text));
    }

    /// Clears the line (dropping it does the same, so no return path leaves it drawn).
    pub fn finish(self) {}
}

impl Drop for LiveLine {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A status line through the live line when there is one, else as [`Progress::line`].
pub fn status(progress: &Progress, live: Option<&LiveLine>, text: impl AsRef<str>) {
    match live {
        Some(live) => live.println(text),
        None => progress.line(text),
    }
}

/// Data on stdout, around the live line when there is one.
pub fn data(live: Option<&LiveLine>, text: &str) {
    match live {
        Some(live) => live.print_data(text),
        None => print(text),
    }
}
