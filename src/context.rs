//! Settings every command shares, resolved once: flag > environment variable > file > default.

use std::path::PathBuf;

use crate::error::Result;
use crate::output::Output;
use crate::repo::{self, Repo};

/// What every command gets from the global flags: where the repository is, which cluster, and
/// how to write output.
pub struct Context {
    /// `--repo`; otherwise discovered from the working directory.
    pub repo_dir: Option<PathBuf>,
    /// `--cluster` / `OPSCTL_CLUSTER`.
    pub cluster: Option<String>,
    /// `--yes`: confirmations are answered yes (required when stdin is not a terminal).
    pub yes: bool,
    /// Where and how results are written (`--output`, `--quiet`, colour).
    pub output: Output,
    /// The flags, for [`Context::settings`].
    pub global: crate::cli::GlobalArgs,
    /// The environment variables opsctl reads, captured once.
    pub env: crate::settings::Env,
}

impl Context {
    /// The repository root: `--repo` if given (it must hold `clusters/`), else the nearest
    /// ancestor of the working directory that holds `clusters/`; an input error when there is none.
    pub fn repo_root(&self) -> Result<PathBuf> {
        let cwd = std::env::current_dir()?;
        repo::discover(self.repo_dir.as_deref(), &cwd)
    }

    /// The progress event stream of this invocation, drawn as `--quiet`/`--output` say.
    pub fn events(&self) -> crate::ui::Events {
        crate::ui::Events::detect(
            self.output.quiet,
            self.output.format == crate::output::OutputFormat::Json,
        )
    }

    /// The settings of a command working on `repo`, resolved once.
    pub fn settings(&self, repo: &Repo) -> Result<crate::settings::Settings> {
        crate::settings::Settings::resolve(&self.global, &self.env, Some(&repo.cluster))
            .map_err(|e| crate::error::Error::invalid(e.to_string()))
    }

    /// The settings of a command before (or without) a repository: flags, environment,
    /// defaults.
    pub fn settings_without_repo(&self) -> Result<crate::settings::Settings> {
        crate::settings::Settings::resolve(&self.global, &self.env, None)
            .map_err(|e| crate::error::Error::invalid(e.to_string()))
    }

    /// Loads and validates the selected cluster of the repository.
    pub fn open_repo(&self) -> Result<Repo> {
        Repo::open(&self.repo_root()?, self.cluster.as_deref())
    }
}
