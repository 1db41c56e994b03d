//! Forward-only for branches: whether a bumped commit is newer than the one pinned, asked of
//! the upstream source's own checkout (`--source-dir`, or the CI's checkout found through
//! `GITHUB_WORKSPACE` / `CI_PROJECT_DIR`) with `git merge-base --is-ancestor`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::Git;

/// The CI variables that name the directory holding the pipeline's checkout (GitHub Actions,
/// GitLab CI), tried in this order.
pub const CHECKOUT_VARIABLES: [&str; 2] = ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"];

/// How the bumped commit relates to the pinned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// The pinned commit is an ancestor of the bumped one: moving forward.
    Newer,
    /// The bumped commit is an ancestor of the pinned one: an older pipeline finished late.
    Older,
    /// Neither is an ancestor of the other: the branch was force-pushed (history rewritten).
    Unrelated,
    /// Could not be decided; the reason says why.
    Unknown(String),
}

/// A checkout of the upstream source's repository.
pub struct SourceCheckout {
    dir: PathBuf,
    git: Git,
    /// The remote to fetch missing commits from (the one whose URL is the source's, else
    /// `origin`, else the first).
    remote: Option<String>,
    shallow: bool,
    known: HashMap<(String, String), Order>,
}

/// `https://user:token@github.com/org/repo.git`, `git@github.com:org/repo`,
/// `ssh://git@github.com/org/repo/` → `github.com/org/repo`.
fn normalize_url(url: &str) -> String {
    let url = url.trim();
    let scp_like = !url.contains("://");
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // Credentials and users end at the last `@` before the path.
    let path_start = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..path_start].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let rest = if scp_like {
        rest.replacen(':', "/", 1)
    } else {
        rest.to_string()
    };
    let rest = rest.trim_end_matches('/');
    rest.strip_suffix(".git")
        .unwrap_or(rest)
        .to_ascii_lowercase()
}

impl SourceCheckout {
    /// The source checkout to ask: `explicit` (`--source-dir`, which must be a git checkout
    /// holding the source's repository: one of its remotes is `repo_url`, or it has commit
    /// `rev`), else the first CI checkout directory (`vars`) that is such a checkout. `None`
    /// when there is none; an explicit directory that does not qualify is an input error.
    pub async fn find(
        explicit: Option<&Path>,
        vars: impl Fn(&str) -> Option<String>,
        repo_url: &str,
        rev: &str,
    ) -> Result<Option<SourceCheckout>> {
        if let Some(dir) = explicit {
            return match Self::open(dir, repo_url, rev).await? {
                Some(checkout) => Ok(Some(checkout)),
                None => Err(Error::invalid(format!(
                    "--source-dir {} holds neither {repo_url} (none of its remotes is) nor commit {rev}",
                    dir.display()
                ))),
            };
        }
        for var in CHECKOUT_VARIABLES {
            let Some(dir) = vars(var).filter(|d| !d.is_empty()) else {
                continue;
            };
            if let Some(checkout) = Self::open(Path::new(&dir), repo_url, rev).await? {
                tracing::info!(
                    dir,
                    var,
                    "checking commit order in the CI's checkout of the source"
                );
                return Ok(Some(checkout));
            }
            tracing::debug!(dir, var, "not a checkout of the source");
        }
        Ok(None)
    }

    async fn open(dir: &Path, repo_url: &str, rev: &str) -> Result<Option<SourceCheckout>> {
        let git = Git::new(dir);
        if !git.is_repository().await {
            return Ok(None);
        }
        let remotes = git.remotes().await.map_err(Error::Failed)?;
        let wanted = normalize_url(repo_url);
        let matching = remotes
            .iter()
            .find(|(_, url)| normalize_url(url) == wanted)
            .map(|(name, _)| name.clone());
        if matching.is_none() && !git.has_commit(rev).await.map_err(Error::Failed)? {
            return Ok(None);
        }
        let remote = matching.or_else(|| {
            remotes
                .iter()
                .find(|(name, _)| name == "origin")
                .or(remotes.first())
                .map(|(name, _)| name.clone())
        });
        let shallow = git.is_shallow().await.map_err(Error::Failed)?;
        Ok(Some(SourceCheckout {
            dir: dir.to_path_buf(),
            git,
            remote,
            shallow,
            known: HashMap::new(),
        }))
    }

    /// The directory of the checkout.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the commit is here, fetching it from the remote when it is not.
    async fn ensure(&self, rev: &str) -> Result<bool> {
        if self.git.has_commit(rev).await.map_err(Error::Failed)? {
            return Ok(true);
        }
        match &self.remote {
            Some(remote) => self
                .git
                .fetch_commit(remote, rev)
                .await
                .map_err(Error::Failed),
            None => Ok(false),
        }
    }

    /// How `rev` relates to `pinned` (remembered: a retried bump asks again for each new
    /// pinned commit only).
    pub async fn order(&mut self, rev: &str, pinned: &str) -> Result<Order> {
        let key = (rev.to_string(), pinned.to_string());
        if let Some(order) = self.known.get(&key) {
            return Ok(order.clone());
        }
        let order = self.decide(rev, pinned).await?;
        self.known.insert(key, order.clone());
        Ok(order)
    }

    async fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        self.git
            .is_ancestor(ancestor, descendant)
            .await
            .map_err(|e| Error::Failed(e.context(format!("in {}", self.dir.display()))))
    }

    async fn decide(&self, rev: &str, pinned: &str) -> Result<Order> {
        for commit in [rev, pinned] {
            if !self.ensure(commit).await? {
                return Ok(Order::Unknown(format!(
                    "commit {commit} is not in {} and could not be fetched",
                    self.dir.display()
                )));
            }
        }
        if self.is_ancestor(rev, pinned).await? {
            return Ok(Order::Older);
        }
        if self.is_ancestor(pinned, rev).await? {
            return Ok(Order::Newer);
        }
        if self.shallow {
            return Ok(Order::Unknown(format!(
                "{} is a shallow clone, so unrelated-looking commits may share history beyond its depth (check out with full history, e.g. fetch-depth: 0)",
                self.dir.display()
            )));
        }
        Ok(Order::Unrelated)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn remote_urls_compare_without_scheme_credentials_or_suffix() {
        let want = "github.com/input-output-hk/marlowe-cardano";
        for url in [
            "https://github.com/input-output-hk/marlowe-cardano",
            "https://github.com/input-output-hk/marlowe-cardano.git",
            "https://x-access-token:secret@github.com/input-output-hk/marlowe-cardano/",
            "git@github.com:input-output-hk/marlowe-cardano.git",
            "ssh://git@github.com/Input-Output-HK/marlowe-cardano",
        ] {
            assert_eq!(normalize_url(url), want, "{url}");
        }
        assert_ne!(
            normalize_url("https://github.com/input-output-hk/marlowe-website"),
            want
        );
    }
}
