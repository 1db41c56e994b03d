//! Progress as events: domain code (deploy, rebuild, ssh fan-out) sends typed events down a
//! channel; one UI thread draws them — spinners on a terminal, prefixed plain lines
//! otherwise, nothing with `--quiet` or `--output json` — and keeps each key's last lines for
//! the final summary. Part of the output layer: the only other place that writes to stderr.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Lines kept per key for the summary of a failure.
const TAIL: usize = 10;

/// Where a key (a job, a node, a workspace) is in its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Working; the message says on what.
    Running,
    /// Finished; the message is the outcome.
    Done,
    /// Finished and failed; the message says why (shown in every mode but `--quiet`).
    Failed,
}

/// One thing that happened to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What the event is about: `env/job`, a node's name.
    pub key: String,
    /// Where the key is now.
    pub phase: Phase,
    /// A short phrase (`deploying 2/3 healthy`, `draining`).
    pub message: String,
}

/// How the UI thread draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One spinner line per key (stderr is a terminal).
    Bars,
    /// `key: message` lines when a key's message changes.
    Lines,
    /// Only failures, one `key: message` line each (`--output json`: stdout is the report,
    /// and a person reading a CI log still sees what failed).
    Failures,
    /// Nothing (`--quiet`); tails are still kept.
    Silent,
}

enum Message {
    Event(Event),
    /// A line of a remote command's output, passed through with the key as prefix.
    Output {
        prefix: String,
        stderr: bool,
        line: String,
    },
    Flush(Sender<()>),
}

type Tails = Arc<Mutex<BTreeMap<String, VecDeque<String>>>>;

/// The sending end of the event stream; cheap to clone, one per piece of concurrent work.
#[derive(Clone)]
pub struct Events {
    tx: Sender<Message>,
    tails: Tails,
}

impl Events {
    /// Bars when stderr is a terminal, lines otherwise; only failures with `json`; nothing
    /// when `quiet`.
    pub fn detect(quiet: bool, json: bool) -> Self {
        use std::io::IsTerminal;
        Events::start(if quiet {
            Mode::Silent
        } else if json {
            Mode::Failures
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        })
    }

    /// An event stream that draws nothing (benchmarks, library callers).
    pub fn silent() -> Self {
        Events::start(Mode::Silent)
    }

    /// Starts the UI thread drawing in `mode`; it ends when the last `Events` is dropped.
    pub fn start(mode: Mode) -> Self {
        let (tx, rx) = channel::<Message>();
        let tails: Tails = Arc::default();
        let kept = tails.clone();
        std::thread::spawn(move || {
            let mut ui = Ui {
                mode,
                multi: MultiProgress::new(),
                bars: BTreeMap::new(),
                last: BTreeMap::new(),
            };
            for message in rx {
                match message {
                    Message::Event(event) => {
                        keep(&kept, &event.key, &event.message);
                        ui.draw(&event);
                    }
                    Message::Output {
                        prefix,
                        stderr,
                        line,
                    } => {
                        keep(&kept, prefix.trim_end_matches([' ', '|']), &line);
                        ui.output(&prefix, stderr, &line);
                    }
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Events { tx, tails }
    }

    /// Sends one event; a UI that went away is not the sender's problem.
    pub fn send(&self, key: &str, phase: Phase, message: &str) {
        let _ = self.tx.send(Message::Event(Event {
            key: key.to_string(),
            phase,
            message: message.to_string(),
        }));
    }

    /// A line of a remote command's output, written as `prefix` + `line` to stdout or stderr
    /// (in every mode: the user asked for the output), and kept in the key's tail.
    pub fn output(&self, prefix: &str, stderr: bool, line: &str) {
        let _ = self.tx.send(Message::Output {
            prefix: prefix.to_string(),
            stderr,
            line: line.to_string(),
        });
    }

    /// The progress of one key, as a handle that remembers the key.
    pub fn line(&self, key: &str) -> JobLine {
        JobLine {
            key: key.to_string(),
            events: self.clone(),
        }
    }

    /// The progress of one job of an environment (`env/job`).
    pub fn job(&self, env: &str, job: &str) -> JobLine {
        self.line(&format!("{env}/{job}"))
    }

    /// Waits until everything sent so far is drawn (before the final report is written).
    pub fn flush(&self) {
        let (done, wait) = channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(5));
        }
    }

    /// The last lines (messages and output) seen for `key`, oldest first.
    pub fn tail(&self, key: &str) -> Vec<String> {
        self.flush();
        self.tails
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The old name of the event stream, kept for the deploy watcher and rebuild.
pub type Progress = Events;

/// The progress handle of one key.
pub struct JobLine {
    key: String,
    events: Events,
}

impl JobLine {
    /// The key is working on `message`.
    pub fn set(&self, message: &str) {
        self.events.send(&self.key, Phase::Running, message);
    }

    /// The key is done: `message` is its outcome.
    pub fn finish(&self, message: &str) {
        self.events.send(&self.key, Phase::Done, message);
    }

    /// The key failed: `message` says why.
    pub fn fail(&self, message: &str) {
        self.events.send(&self.key, Phase::Failed, message);
    }
}

fn keep(tails: &Tails, key: &str, line: &str) {
    let mut tails = tails.lock().unwrap_or_else(|e| e.into_inner());
    let tail = tails.entry(key.to_string()).or_default();
    if tail.back().map(String::as_str) == Some(line) {
        return;
    }
    if tail.len() == TAIL {
        tail.pop_front();
    }
    tail.push_back(line.to_string());
}

/// The drawing state, owned by the UI thread.
struct Ui {
    mode: Mode,
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
    last: BTreeMap<String, String>,
}

impl Ui {
    fn draw(&mut self, event: &Event) {
        match self.mode {
            Mode::Silent => {}
            Mode::Failures if event.phase != Phase::Failed => {}
            Mode::Lines | Mode::Failures => {
                if self.last.get(&event.key) != Some(&event.message) {
                    let _ = writeln!(std::io::stderr().lock(), "{}: {}", event.key, event.message);
                    self.last.insert(event.key.clone(), event.message.clone());
                }
            }
            Mode::Bars => {
                let multi = &self.multi;
                let bar = self.bars.entry(event.key.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(event.key.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                match event.phase {
                    Phase::Running => bar.set_message(event.message.clone()),
                    Phase::Done | Phase::Failed => bar.finish_with_message(event.message.clone()),
                }
            }
        }
    }

    fn output(&self, prefix: &str, stderr: bool, line: &str) {
        let text = format!("{prefix}{line}");
        if self.mode == Mode::Bars && !self.bars.is_empty() {
            let _ = self.multi.println(text);
        } else if stderr {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_last_distinct_lines_of_each_key() {
        let events = Events::start(Mode::Silent);
        let line = events.job("staging", "web");
        for i in 0..15 {
            line.set(&format!("step {i}"));
            line.set(&format!("step {i}"));
        }
        line.fail("done");
        events.output("node-1 | ", false, "hello");
        let tail = events.tail("staging/web");
        assert_eq!(tail.len(), TAIL);
        assert_eq!(tail.first().map(String::as_str), Some("step 6"));
        assert_eq!(tail.last().map(String::as_str), Some("done"));
        assert_eq!(events.tail("node-1"), ["hello"]);
    }
}
