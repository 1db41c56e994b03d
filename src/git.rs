//! The system `git`, for committing and pushing revision updates from CI, and for asking an
//! upstream source checkout how two of its commits are related.
//!
//! [`Git::push_until`] is the race-safe commit-and-push loop every `--push` uses: it keeps
//! re-applying a change on the remote's newest tip until the push lands or a time budget is
//! spent.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use rand::Rng;

use crate::process::{Captured, Process};

/// The system `git` run in one checkout (`git -C <root>`, never prompting for credentials);
/// a git command that fails is an error carrying the tail of its stderr.
pub struct Git {
    root: PathBuf,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The remote took the push.
    Accepted,
    /// The remote moved on (non-fast-forward): fetch, re-apply and push again.
    Rejected,
}

impl Git {
    /// Git in the checkout at `root` (nothing is run until a method is called).
    pub fn new(root: &Path) -> Self {
        Git {
            root: root.to_path_buf(),
        }
    }

    fn git(&self, args: &[&str]) -> Process {
        Process::new(
            "git",
            format!("git {}", args.first().copied().unwrap_or_default()),
        )
        .arg("-C")
        .arg(&self.root)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
    }

    async fn run(&self, args: &[&str]) -> Result<Captured> {
        self.git(args).output().await
    }

    /// Paths with uncommitted changes (`git status --porcelain`).
    pub async fn dirty(&self) -> Result<Vec<String>> {
        let out = self
            .run(&["status", "--porcelain", "--untracked-files=no"])
            .await?;
        Ok(out
            .stdout_text()
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_string())
            .collect())
    }

    /// The current branch's upstream as (remote, branch).
    pub async fn upstream(&self) -> Result<(String, String)> {
        let out = self
            .run(&["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"])
            .await
            .map_err(|e| anyhow!("the current branch has no upstream to push to: {e}"))?;
        let text = out.stdout_text();
        let (remote, branch) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| anyhow!("unexpected upstream `{}`", text.trim()))?;
        Ok((remote.to_string(), branch.to_string()))
    }

    /// Commits on HEAD that the upstream does not have.
    pub async fn unpushed(&self) -> Result<u64> {
        let out = self.run(&["rev-list", "--count", "@{u}..HEAD"]).await?;
        out.stdout_text()
            .trim()
            .parse()
            .map_err(|e| anyhow!("git rev-list: {e}"))
    }

    /// Stages `files` (relative to the checkout), commits them with `message` and returns the new
    /// commit's full id.
    pub async fn commit(&self, files: &[PathBuf], message: &str) -> Result<String> {
        let mut add = vec!["add", "--"];
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        add.extend(names.iter().map(String::as_str));
        self.run(&add).await?;
        self.run(&["commit", "--quiet", "-m", message]).await?;
        let out = self.run(&["rev-parse", "HEAD"]).await?;
        Ok(out.stdout_text().trim().to_string())
    }

    /// Pushes HEAD to `branch` of `remote`: [`Pushed::Rejected`] when the remote moved on, an
    /// error for any other failure.
    pub async fn push(&self, remote: &str, branch: &str) -> Result<Pushed> {
        let refspec = format!("HEAD:refs/heads/{branch}");
        let out = self
            .git(&["push", "--porcelain", remote, &refspec])
            .capture()
            .await?;
        if out.status.success() {
            return Ok(Pushed::Accepted);
        }
        let text = format!("{}{}", out.stdout_text(), out.stderr_text());
        // A remote that moved on answers "rejected"/"non-fast-forward"; one that moved *during*
        // the push fails to lock the ref. Both mean: re-apply on the new tip.
        const MOVED: [&str; 5] = [
            "[rejected]",
            "non-fast-forward",
            "fetch first",
            "cannot lock ref",
            "failed to update ref",
        ];
        if MOVED.iter().any(|m| text.contains(m)) {
            return Ok(Pushed::Rejected);
        }
        Err(anyhow!(
            "git push {remote} {refspec} failed{}",
            crate::process::stderr_tail(&out.stderr)
        ))
    }

    /// Moves the branch to the remote's tip, dropping the local revision commit (re-applied by
    /// the caller on the fresh tree).
    pub async fn sync_to_remote(&self, remote: &str, branch: &str) -> Result<()> {
        self.git(&["fetch", "--quiet", "--no-tags", remote, branch])
            .timeout(NETWORK_TIMEOUT)
            .output()
            .await?;
        self.run(&["reset", "--quiet", "--hard", "FETCH_HEAD"])
            .await?;
        Ok(())
    }

    /// Whether this is a git checkout at all (`git rev-parse --git-dir`).
    pub async fn is_repository(&self) -> bool {
        self.root.is_dir()
            && self
                .git(&["rev-parse", "--git-dir"])
                .capture()
                .await
                .is_ok_and(|out| out.status.success())
    }

    /// The checkout's remotes as (name, URL), in `git config` order.
    pub async fn remotes(&self) -> Result<Vec<(String, String)>> {
        let out = self
            .git(&["config", "--get-regexp", r"^remote\..*\.url$"])
            .capture()
            .await?;
        // Exit 1: no remote at all.
        Ok(out
            .stdout_text()
            .lines()
            .filter_map(|line| {
                let (key, url) = line.split_once(' ')?;
                let name = key.strip_prefix("remote.")?.strip_suffix(".url")?;
                Some((name.to_string(), url.trim().to_string()))
            })
            .collect())
    }

    /// Whether the object database holds commit `rev`.
    pub async fn has_commit(&self, rev: &str) -> Result<bool> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.git(&["cat-file", "-e", &spec]).capture().await?;
        Ok(out.status.success())
    }

    /// Fetches one commit by id from `remote` (servers allow any reachable commit; GitHub and
    /// GitLab do). Updates no branch. Returns whether the commit is here afterwards.
    pub async fn fetch_commit(&self, remote: &str, rev: &str) -> Result<bool> {
        let out = self
            .git(&["fetch", "--quiet", "--no-tags", remote, rev])
            .timeout(NETWORK_TIMEOUT)
            .capture()
            .await?;
        if !out.status.success() {
            tracing::debug!(
                remote,
                rev,
                "git fetch of one commit failed{}",
                crate::process::stderr_tail(&out.stderr)
            );
        }
        self.has_commit(rev).await
    }

    /// `git merge-base --is-ancestor ancestor descendant`: whether `ancestor` is reachable
    /// from `descendant` (a commit is its own ancestor). Both must be present.
    pub async fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let out = self
            .git(&["merge-base", "--is-ancestor", ancestor, descendant])
            .capture()
            .await?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(anyhow!(
                "git merge-base --is-ancestor {ancestor} {descendant} failed{}",
                crate::process::stderr_tail(&out.stderr)
            )),
        }
    }

    /// Whether the checkout is shallow (history cut off, as CI checkouts often are).
    pub async fn is_shallow(&self) -> Result<bool> {
        let out = self.run(&["rev-parse", "--is-shallow-repository"]).await?;
        Ok(out.stdout_text().trim() == "true")
    }

    /// Applies a change to this checkout, commits it and pushes it to the current branch's
    /// upstream, until the push lands or `budget` is spent: the race-safe writer behind every
    /// `--push` (CI revision bumps, and any command that commits files of the ops repository).
    ///
    /// Each attempt:
    /// 1. fetches the upstream branch and resets this checkout hard to its tip (the checkout
    ///    must be clean and have no unpushed commits; that is checked first, so nothing of the
    ///    user's is lost);
    /// 2. calls `apply(attempt)`, which must (re-)apply the change to the files of this
    ///    checkout as it is now — re-reading and re-evaluating everything, since another
    ///    writer may have changed anything — and return [`Staged`]: a value for the caller,
    ///    and the files and message to commit, or `None` when there is nothing (left) to
    ///    commit, which ends the loop without pushing;
    /// 3. commits and pushes. Accepted: done. Rejected because the remote moved on (another
    ///    writer pushed first, or during this push): waits a jittered, exponentially growing
    ///    pause (from [`PushBudget::first_backoff`] up to [`PushBudget::max_backoff`]) and
    ///    starts over.
    ///
    /// There is no attempt count: the loop gives up with [`PushError::OutOfTime`] once the
    /// next attempt would start after `budget.timeout`. An error from `apply` or from git
    /// itself (not a rejection) ends it at once.
    pub async fn push_until<T, E>(
        &self,
        budget: PushBudget,
        mut apply: impl AsyncFnMut(u32) -> std::result::Result<Staged<T>, E>,
    ) -> std::result::Result<PushResult<T>, PushError<E>> {
        let started = Instant::now();
        let dirty = self.dirty().await?;
        if !dirty.is_empty() {
            return Err(PushError::NotClean(format!(
                "--push needs a clean working tree (it resets to the remote's tip); uncommitted: {}",
                dirty.join(", ")
            )));
        }
        let (remote, branch) = self.upstream().await?;
        if self.unpushed().await? > 0 {
            return Err(PushError::NotClean(
                "--push needs a branch without unpushed commits; push or drop them first".into(),
            ));
        }
        let mut backoff = budget.first_backoff;
        let mut pushes = 0;
        loop {
            self.sync_to_remote(&remote, &branch).await?;
            let staged = apply(pushes + 1).await.map_err(PushError::Apply)?;
            let outcome = |commit, pushed, pushes| PushOutcome {
                remote: remote.clone(),
                branch: branch.clone(),
                commit,
                pushed,
                attempts: pushes,
                elapsed: started.elapsed(),
            };
            let Some((files, message)) = staged.commit else {
                return Ok((staged.value, outcome(None, false, pushes)));
            };
            let commit = self.commit(&files, &message).await?;
            pushes += 1;
            if self.push(&remote, &branch).await? == Pushed::Accepted {
                return Ok((staged.value, outcome(Some(commit), true, pushes)));
            }
            let pause = rand::thread_rng().gen_range(Duration::ZERO..=backoff);
            if started.elapsed() + pause >= budget.timeout {
                return Err(PushError::OutOfTime {
                    remote,
                    branch,
                    attempts: pushes,
                    elapsed: started.elapsed(),
                    timeout: budget.timeout,
                });
            }
            tracing::info!(
                attempt = pushes,
                pause_ms = pause.as_millis() as u64,
                "push rejected (the remote moved on): re-applying on its new tip"
            );
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(budget.max_backoff);
        }
    }
}

/// A fetch or push that hangs (an unreachable remote) fails after this long.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long [`Git::push_until`] keeps trying, and how it spaces its attempts.
#[derive(Debug, Clone, Copy)]
pub struct PushBudget {
    /// No attempt starts after this much time has passed since the first.
    pub timeout: Duration,
    /// The pause after the first rejection is a random duration up to this; it doubles after
    /// every further rejection...
    pub first_backoff: Duration,
    /// ...up to this.
    pub max_backoff: Duration,
}

impl PushBudget {
    /// The default spacing (20 ms, doubling up to 8 s: under heavy contention the attempt rate
    /// must fall, or every window overlaps another pipeline's) within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        PushBudget {
            timeout,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// What one application of a change produced, for [`Git::push_until`].
pub struct Staged<T> {
    /// Handed back to the caller with the outcome of the last attempt.
    pub value: T,
    /// The files to commit (relative to the checkout) and the commit message; `None` when
    /// there is nothing to commit.
    pub commit: Option<(Vec<PathBuf>, String)>,
}

/// How [`Git::push_until`] ended (with the last attempt's [`Staged::value`]).
pub type PushResult<T> = (T, PushOutcome);

/// The push part of a [`PushResult`].
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The remote pushed to (the branch's upstream).
    pub remote: String,
    /// The branch pushed to on `remote`.
    pub branch: String,
    /// The commit made by the last attempt (`None`: there was nothing to commit).
    pub commit: Option<String>,
    /// Whether a commit was pushed (false: nothing to commit).
    pub pushed: bool,
    /// Pushes tried (each rejected one was followed by a re-apply on the new tip).
    pub attempts: u32,
    /// From the start until the push landed (or there was nothing to push).
    pub elapsed: Duration,
}

/// Why [`Git::push_until`] gave up; `E` is the error type of its `apply` step.
#[derive(Debug, thiserror::Error)]
pub enum PushError<E> {
    /// The checkout has work of its own that a reset to the remote's tip would destroy.
    #[error("{0}")]
    NotClean(String),
    /// The push was still rejected when the time budget ran out.
    #[error(
        "git push to {remote}/{branch} was rejected {attempts} time(s) in {elapsed:.1?}: other writers kept pushing first and the --push-timeout of {} is spent",
        humantime::format_duration(*timeout)
    )]
    OutOfTime {
        /// The remote pushed to.
        remote: String,
        /// The branch pushed to.
        branch: String,
        /// Pushes tried, all rejected.
        attempts: u32,
        /// Time from the start until giving up.
        elapsed: Duration,
        /// The budget ([`PushBudget::timeout`]).
        timeout: Duration,
    },
    /// Git itself failed (not a rejection): fetch, reset, commit, or a push error.
    #[error(transparent)]
    Git(#[from] anyhow::Error),
    /// The error `apply` returned.
    #[error(transparent)]
    Apply(E),
}
