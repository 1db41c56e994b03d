//! One error type for the whole tool, carrying the exit code CI acts on.

use std::fmt;

use crate::problem::Problem;

/// Stable process exit codes (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Exit {
    /// Exit 0: the command did what was asked.
    Success,
    /// The operation failed (apply error, failed deployment, unreachable server).
    Failed,
    /// Invalid input: flags, files, names.
    Invalid,
    /// A plan has changes (only with `--detailed-exitcode`).
    Changes,
    /// A remote command's own exit status, passed through (`opsctl ssh NODE -- CMD`).
    Passthrough(u8),
    /// stdout was closed by its reader (`opsctl show envs | head -1`): the program stops
    /// quietly with 141, the status a shell reports for a tool ended by SIGPIPE (git, cat).
    ClosedPipe,
}

impl Exit {
    /// The numeric process exit status: 0, 1, 2, 3, the passed-through code, or 141.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::Changes => 3,
            Exit::Passthrough(code) => code,
            Exit::ClosedPipe => 141,
        }
    }
}

/// The error of every opsctl operation; its [`Error::exit`] is the process's exit code.
#[derive(Debug)]
pub enum Error {
    /// The user's input is wrong; nothing was changed.
    Invalid(String),
    /// Validation found problems in the ops repository.
    Problems(Vec<Problem>),
    /// The operation itself failed.
    Failed(anyhow::Error),
    /// The user answered no to a confirmation; nothing was changed (exit 1).
    Declined,
}

/// `Result` with opsctl's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] (exit 2) with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// An [`Error::Failed`] (exit 1) with `message`.
    pub fn failed(message: impl fmt::Display) -> Self {
        Error::Failed(anyhow::anyhow!("{message}"))
    }

    /// The exit code this error ends the process with: invalid input and problems 2, a closed
    /// stdout 141, any other failure 1.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Invalid(_) | Error::Problems(_) => Exit::Invalid,
            Error::Failed(_) if self.is_closed_pipe() => Exit::ClosedPipe,
            Error::Failed(_) | Error::Declined => Exit::Failed,
        }
    }

    /// Whether the failure is a write to a closed stdout (the reader of a pipe went away).
    pub fn is_closed_pipe(&self) -> bool {
        match self {
            Error::Failed(error) => error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(message) => f.write_str(message),
            Error::Problems(problems) => {
                let n = problems.len();
                write!(f, "{n} problem{} found", if n == 1 { "" } else { "s" })?;
                for problem in problems {
                    write!(f, "\n  {problem}")?;
                }
                Ok(())
            }
            // `{:#}` prints the whole anyhow context chain on one line.
            Error::Failed(error) => write!(f, "{error:#}"),
            Error::Declined => f.write_str("declined; nothing was changed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<Error>() {
            Ok(inner) => inner,
            Err(error) => Error::Failed(error),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Failed(error.into())
    }
}
