//! The system `git`, for committing and pushing revision updates from CI.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::process::{Captured, Process};

pub struct Git {
    root: PathBuf,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Accepted,
    /// The remote moved on (non-fast-forward): fetch, re-apply and push again.
    Rejected,
}

impl Git {
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

    pub async fn commit(&self, files: &[PathBuf], message: &str) -> Result<String> {
        let mut add = vec!["add", "--"];
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        add.extend(names.iter().map(String::as_str));
        self.run(&add).await?;
        self.run(&["commit", "--quiet", "-m", message]).await?;
        let out = self.run(&["rev-parse", "HEAD"]).await?;
        Ok(out.stdout_text().trim().to_string())
    }

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
        self.run(&["fetch", "--quiet", remote, branch]).await?;
        self.run(&["reset", "--quiet", "--hard", "FETCH_HEAD"])
            .await?;
        Ok(())
    }
}
