//! The one place external programs run. Every exit status is checked; failures carry the
//! command, its exit code and the tail of its stderr. Nothing is fire-and-forget.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use tokio::io::AsyncWriteExt;

/// A program invocation with a human description for messages.
pub struct Process {
    command: tokio::process::Command,
    /// Shown in errors, e.g. `terraform plan`; never includes secrets.
    what: String,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

/// Captured result of a finished process.
#[derive(Debug)]
pub struct Captured {
    /// How the program ended.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

impl Captured {
    /// stdout as text, invalid UTF-8 replaced.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text, invalid UTF-8 replaced.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl Process {
    /// `program` (looked up on `PATH` unless it is a path) with no arguments; `what` names it in
    /// errors. The child is killed when the future running it is dropped.
    pub fn new(program: impl AsRef<OsStr>, what: impl Into<String>) -> Self {
        let mut command = tokio::process::Command::new(program);
        command.kill_on_drop(true);
        Process {
            command,
            what: what.into(),
            stdin: None,
            timeout: None,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Appends arguments in order.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets one environment variable for the child, on top of the inherited environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes one variable from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs the program in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Bytes written to the program's stdin by [`Process::capture`] and [`Process::output`],
    /// which then close it; without this, stdin is empty.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Makes [`Process::capture`] and [`Process::output`] fail (and kill the program) when it has
    /// not finished within `timeout`; other ways of running ignore it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts the program with stdout and stderr piped, and stdin piped or empty.
    fn spawn_piped(&mut self, stdin: bool) -> anyhow::Result<tokio::process::Child> {
        self.command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = &self.what;
        self.command
            .spawn()
            .with_context(|| format!("cannot start {what}"))
    }

    /// Runs to completion capturing output, without judging the exit status.
    pub async fn capture(mut self) -> anyhow::Result<Captured> {
        let what = self.what.clone();
        let mut child = self.spawn_piped(self.stdin.is_some())?;
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // A child that exits without reading its input is judged by its status, not here.
            let _ = pipe.write_all(&input).await;
            drop(pipe);
        }
        let wait = child.wait_with_output();
        let output = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, wait).await.map_err(|_| {
                anyhow!(
                    "{what} did not finish within {}",
                    humantime::format_duration(limit)
                )
            })?,
            None => wait.await,
        }
        .with_context(|| format!("waiting for {what}"))?;
        Ok(Captured {
            status: output.status,
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    /// Runs to completion; a non-zero exit is an error naming the command and its stderr.
    pub async fn output(self) -> anyhow::Result<Captured> {
        let what = self.what.clone();
        let captured = self.capture().await?;
        if captured.status.success() {
            Ok(captured)
        } else {
            Err(anyhow!(
                "{what} failed ({}){}",
                describe_status(captured.status),
                stderr_tail(&captured.stderr)
            ))
        }
    }

    /// Runs with the terminal handed over (interactive programs); returns the exit status.
    pub async fn interactive(mut self) -> anyhow::Result<ExitStatus> {
        self.command
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let what = self.what.clone();
        self.command
            .status()
            .await
            .with_context(|| format!("cannot start {what}"))
    }

    /// Runs to completion without input, handing every line of output to `line` as it
    /// comes (`true` for stderr); returns the exit status, without judging it.
    pub async fn stream(
        mut self,
        line: impl Fn(bool, String) + Sync,
    ) -> anyhow::Result<ExitStatus> {
        use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
        let what = self.what.clone();
        let mut child = self.spawn_piped(false)?;
        let line = &line;
        let pump = |reader: Option<Box<dyn AsyncRead + Unpin + Send>>, stderr: bool| async move {
            let Some(reader) = reader else { return };
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                line(stderr, text);
            }
        };
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>);
        let (_, _, status) = tokio::join!(pump(stdout, false), pump(stderr, true), child.wait());
        status.with_context(|| format!("waiting for {what}"))
    }
}

/// The file `name` names: itself when it holds a `/`, else the first match on PATH.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    if name.contains('/') {
        let path = std::path::PathBuf::from(name);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// "exit code 2" or "killed by signal 9".
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    "no exit code".to_string()
}

/// The last lines of stderr, indented, for error messages.
pub fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(15)..];
    format!(":\n    {}", tail.join("\n    "))
}
