//! Live progress while deploying: one spinner line per job on a terminal, plain prefixed
//! lines (printed when a job's phase changes) otherwise, nothing with `--quiet`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(Clone)]
pub enum Progress {
    Bars(MultiProgress),
    Lines,
    Silent,
}

impl Progress {
    /// Bars when stderr is a terminal, lines otherwise; nothing when `quiet`.
    pub fn detect(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            Progress::Silent
        } else if std::io::stderr().is_terminal() {
            Progress::Bars(MultiProgress::new())
        } else {
            Progress::Lines
        }
    }

    pub fn job(&self, env: &str, job: &str) -> JobLine {
        self.line(&format!("{env}/{job}"))
    }

    /// A progress line for anything (a node being rebuilt).
    pub fn line(&self, prefix: &str) -> JobLine {
        let prefix = prefix.to_string();
        let bar = match self {
            Progress::Bars(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(prefix.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            _ => None,
        };
        JobLine {
            prefix,
            bar,
            lines: matches!(self, Progress::Lines),
            last: Arc::new(Mutex::new(String::new())),
        }
    }
}

/// The progress display of one job.
pub struct JobLine {
    prefix: String,
    bar: Option<ProgressBar>,
    lines: bool,
    last: Arc<Mutex<String>>,
}

impl JobLine {
    pub fn set(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        } else if self.lines {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if *last != message {
                eprintln!("{}: {message}", self.prefix);
                *last = message.to_string();
            }
        }
    }

    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_string()),
            None => self.set(message),
        }
    }
}
