//! CI revision updates: which environments track a source at a ref, and the atomic rewrite of
//! their `revisions/<env>/<source>.json` files.
//!
//! A branch mapping is an exact ref (`main`) or a glob (`v[0-9]*`). Exact refs follow every
//! push; a glob follows only refs that sort after the one pinned now (so a re-run of an old
//! release tag's pipeline never moves production backwards).

use std::cmp::Ordering;
use std::path::PathBuf;

use globset::Glob;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::repo::{Repo, Revision};

/// One CI event: `source` was pushed at `git_ref` to commit `rev`.
#[derive(Debug, Clone)]
pub struct Bump {
    pub source: String,
    pub git_ref: String,
    pub rev: String,
}

impl Bump {
    /// Checks the input before anything is written: a known source and a full commit id.
    pub fn new(repo: &Repo, source: &str, git_ref: &str, rev: &str) -> Result<Self> {
        if !repo.cluster.sources.contains_key(source) {
            return Err(Error::invalid(format!(
                "--source `{source}` is not a source of cluster `{}` (sources: {})",
                repo.cluster.name,
                repo.cluster
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if rev.len() != 40 || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "--rev `{rev}` is not a full 40-hex commit id"
            )));
        }
        let git_ref = short_ref(git_ref);
        if git_ref.is_empty() {
            return Err(Error::invalid("--ref is empty"));
        }
        Ok(Bump {
            source: source.to_string(),
            git_ref: git_ref.to_string(),
            rev: rev.to_ascii_lowercase(),
        })
    }
}

/// `refs/heads/main` → `main`, `refs/tags/v1` → `v1` (CI systems pass either form).
pub fn short_ref(git_ref: &str) -> &str {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// The file was rewritten.
    Updated,
    /// Already pinned to this rev at this ref.
    Unchanged,
    /// A glob-tracked environment pinned to a newer ref: not moved backwards.
    NotNewer,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionChange {
    pub environment: String,
    pub source: String,
    pub file: String,
    /// The environment's mapping that matched (`main`, `v*`).
    pub tracks: String,
    pub old_ref: Option<String>,
    pub old_rev: Option<String>,
    pub new_ref: String,
    pub new_rev: String,
    pub status: ChangeStatus,
}

/// Whether `pattern` (exact ref or glob) tracks `git_ref`; `Some(true)` for a glob.
fn tracks(pattern: &str, git_ref: &str) -> Option<bool> {
    if pattern == git_ref {
        return Some(false);
    }
    let is_glob = pattern.contains(['*', '?', '[', '{']);
    let matches = is_glob
        && Glob::new(pattern)
            .map(|g| g.compile_matcher().is_match(git_ref))
            .unwrap_or(false);
    matches.then_some(true)
}

/// Orders refs like versions: digit runs compare as numbers (`v2026-10-15` < `v2026-11-01`,
/// `v1.9` < `v1.10`).
pub fn compare_refs(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, xa), (db, xb)) in ca.iter().zip(&cb) {
        let order = if *da && *db {
            let (ta, tb) = (xa.trim_start_matches('0'), xb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            xa.cmp(xb)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    ca.len().cmp(&cb.len())
}

/// The changes `bump` makes: one per environment that tracks its source at its ref (and has
/// its own revision files). Nothing is written.
pub fn plan(repo: &Repo, bump: &Bump) -> Vec<RevisionChange> {
    let mut changes = Vec::new();
    for env in repo.envs.values() {
        if env.revisions_from.is_some() {
            continue;
        }
        let Some(pattern) = env.branches.get(&bump.source) else {
            continue;
        };
        let Some(is_glob) = tracks(pattern, &bump.git_ref) else {
            continue;
        };
        let current = repo
            .revisions
            .get(&env.name)
            .and_then(|r| r.get(&bump.source));
        let status = match current {
            Some(c) if c.rev == bump.rev && c.git_ref == bump.git_ref => ChangeStatus::Unchanged,
            Some(c) if is_glob && compare_refs(&bump.git_ref, &c.git_ref) == Ordering::Less => {
                ChangeStatus::NotNewer
            }
            _ => ChangeStatus::Updated,
        };
        changes.push(RevisionChange {
            environment: env.name.clone(),
            source: bump.source.clone(),
            file: format!("revisions/{}/{}.json", env.name, bump.source),
            tracks: pattern.clone(),
            old_ref: current.map(|c| c.git_ref.clone()),
            old_rev: current.map(|c| c.rev.clone()),
            new_ref: bump.git_ref.clone(),
            new_rev: bump.rev.clone(),
            status,
        });
    }
    changes
}

/// Writes the `Updated` changes' files (each atomically); returns their paths.
pub fn write(repo: &Repo, changes: &[RevisionChange]) -> Result<Vec<PathBuf>> {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::failed(format!("formatting the time: {e}")))?;
    let mut written = Vec::new();
    for change in changes.iter().filter(|c| c.status == ChangeStatus::Updated) {
        let repo_url = repo
            .cluster
            .sources
            .get(&change.source)
            .map(|s| s.repo.clone())
            .unwrap_or_default();
        let revision = Revision {
            source: change.source.clone(),
            repo: repo_url,
            git_ref: change.new_ref.clone(),
            rev: change.new_rev.clone(),
            updated: now.clone(),
        };
        let mut body = serde_json::to_vec_pretty(&revision).map_err(anyhow::Error::from)?;
        body.push(b'\n');
        let path = repo.root.join(&change.file);
        crate::fsutil::write_atomic(&path, &body, None)?;
        written.push(path);
    }
    Ok(written)
}

/// The commit message naming source, ref, short rev and environments.
pub fn commit_message(bump: &Bump, changes: &[RevisionChange]) -> String {
    let envs: Vec<&str> = changes
        .iter()
        .filter(|c| c.status == ChangeStatus::Updated)
        .map(|c| c.environment.as_str())
        .collect();
    format!(
        "revisions: {} {} at {} for {}",
        bump.source,
        bump.git_ref,
        &bump.rev[..8.min(bump.rev.len())],
        envs.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_order_like_versions() {
        assert_eq!(compare_refs("v2026-10-15", "v2026-11-01"), Ordering::Less);
        assert_eq!(compare_refs("v1.10", "v1.9"), Ordering::Greater);
        assert_eq!(compare_refs("v2026-11-01", "v2026-11-01"), Ordering::Equal);
        assert_eq!(compare_refs("v2", "v2.1"), Ordering::Less);
    }

    #[test]
    fn exact_refs_and_globs_track() {
        assert_eq!(tracks("main", "main"), Some(false));
        assert_eq!(tracks("main", "develop"), None);
        let dated = "v[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]";
        assert_eq!(tracks(dated, "v2026-11-20"), Some(true));
        assert_eq!(tracks(dated, "v2026-11"), None);
        assert_eq!(short_ref("refs/heads/main"), "main");
        assert_eq!(short_ref("refs/tags/v1"), "v1");
    }
}

/// How many times a rejected push is re-applied on the remote's new tip before giving up.
const MAX_PUSH_ATTEMPTS: u32 = 5;

/// What `deploy --source/--ref/--rev` did to the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub source: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub rev: String,
    pub changes: Vec<RevisionChange>,
    /// The commit made with `--commit`.
    pub commit: Option<String>,
    pub pushed: bool,
    /// Push attempts (more than one when another CI job pushed first).
    pub push_attempts: u32,
}

impl Applied {
    pub fn updated_envs(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.status == ChangeStatus::Updated)
            .map(|c| c.environment.clone())
            .collect()
    }

    /// The environments to deploy after this bump: those whose files were updated, and
    /// those that pin their revisions (`revisions_from`).
    pub fn affected_envs(&self, repo: &Repo) -> Vec<String> {
        let updated = self.updated_envs();
        repo.envs
            .values()
            .filter(|e| {
                updated.contains(&e.name)
                    || e.revisions_from
                        .as_ref()
                        .is_some_and(|f| updated.contains(f))
            })
            .map(|e| e.name.clone())
            .collect()
    }
}

/// Applies a CI bump to the repository at `root`: writes the revision files, and with
/// `commit`/`push` commits and pushes them, re-applying on the remote's tip when another
/// writer pushed first. Returns the repository as it is afterwards.
pub async fn apply(
    root: &std::path::Path,
    cluster: Option<&str>,
    (source, git_ref, rev): (&str, &str, &str),
    commit: bool,
    push: bool,
) -> Result<(Repo, Applied)> {
    let mut repo = Repo::open(root, cluster)?;
    let bump = Bump::new(&repo, source, git_ref, rev)?;
    let git = crate::git::Git::new(root);
    let upstream = if push {
        let dirty = git.dirty().await?;
        if !dirty.is_empty() {
            return Err(Error::invalid(format!(
                "--push needs a clean working tree (it may reset to the remote's tip); uncommitted: {}",
                dirty.join(", ")
            )));
        }
        if git.unpushed().await? > 0 {
            return Err(Error::invalid(
                "--push needs a branch without unpushed commits; push or drop them first",
            ));
        }
        Some(git.upstream().await?)
    } else {
        None
    };
    let mut attempts = 0;
    loop {
        let changes = plan(&repo, &bump);
        let written = write(&repo, &changes)?;
        let mut applied = Applied {
            source: bump.source.clone(),
            git_ref: bump.git_ref.clone(),
            rev: bump.rev.clone(),
            changes,
            commit: None,
            pushed: false,
            push_attempts: attempts,
        };
        if written.is_empty() || !commit {
            return Ok((Repo::open(root, cluster)?, applied));
        }
        let files: Vec<PathBuf> = applied
            .changes
            .iter()
            .filter(|c| c.status == ChangeStatus::Updated)
            .map(|c| PathBuf::from(&c.file))
            .collect();
        applied.commit = Some(
            git.commit(&files, &commit_message(&bump, &applied.changes))
                .await?,
        );
        let Some((remote, branch)) = &upstream else {
            return Ok((Repo::open(root, cluster)?, applied));
        };
        attempts += 1;
        applied.push_attempts = attempts;
        match git.push(remote, branch).await? {
            crate::git::Pushed::Accepted => {
                applied.pushed = true;
                return Ok((Repo::open(root, cluster)?, applied));
            }
            crate::git::Pushed::Rejected if attempts < MAX_PUSH_ATTEMPTS => {
                tracing::info!(attempts, "push rejected: re-applying on the remote's tip");
                git.sync_to_remote(remote, branch).await?;
                repo = Repo::open(root, cluster)?;
            }
            crate::git::Pushed::Rejected => {
                return Err(Error::failed(format!(
                    "git push to {remote}/{branch} was rejected {attempts} times; giving up"
                )))
            }
        }
    }
}
