//! CI revision updates: which environments track a source at a ref, and the atomic rewrite of
//! their `revisions/<env>/<source>.json` files.
//!
//! A branch mapping is an exact ref (`main`) or a glob (`v[0-9]*`). A glob follows only refs
//! that sort after the one pinned now (so a re-run of an old release tag's pipeline never
//! moves production backwards). An exact ref follows pushes forward only when the source's
//! checkout is at hand to tell commit order ([`order`]): a commit that is an ancestor of the
//! pinned one (an older pipeline finishing last) is kept out; without a checkout every push
//! is followed, with a warning.

pub mod order;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::Glob;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::git::{Git, PushBudget, PushError, Staged};
use crate::repo::{Repo, Revision};
use order::{Order, SourceCheckout};

/// One CI event: `source` was pushed at `git_ref` to commit `rev`.
#[derive(Debug, Clone)]
pub struct Bump {
    /// A name in the cluster's `[sources]`.
    pub source: String,
    /// The short ref (`main`, `v1`; `refs/heads/` and `refs/tags/` are stripped).
    pub git_ref: String,
    /// The full commit id, lowercase.
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

/// What a [`Bump`] does to one environment's revision file (`status` in `--output json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// The file was rewritten.
    Updated,
    /// Already pinned to this rev at this ref.
    Unchanged,
    /// Not moved backwards: a glob-tracked environment pinned to a newer ref, or a branch
    /// environment pinned to a commit that `rev` is an ancestor of.
    NotNewer,
    /// A branch environment whose pinned commit is not an ancestor of `rev` (the branch was
    /// force-pushed): the file was rewritten, with a warning.
    Diverged,
}

impl ChangeStatus {
    /// Whether the change rewrites the file.
    pub fn writes(self) -> bool {
        matches!(self, ChangeStatus::Updated | ChangeStatus::Diverged)
    }
}

/// The effect of a [`Bump`] on one environment that tracks the source at the ref.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionChange {
    /// The environment whose revision file this is.
    pub environment: String,
    /// The bumped source.
    pub source: String,
    /// The file, relative to the repository root: `revisions/<env>/<source>.json`.
    pub file: String,
    /// The environment's mapping that matched (`main`, `v*`).
    pub tracks: String,
    /// The ref pinned before; `None`: the environment had no revision of the source yet.
    pub old_ref: Option<String>,
    /// The commit pinned before; `None` as for `old_ref`.
    pub old_rev: Option<String>,
    /// The bump's ref.
    pub new_ref: String,
    /// The bump's commit (40 hex).
    pub new_rev: String,
    /// Whether the file is rewritten, and why not.
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

/// Writes the files of the changes that rewrite them (each atomically); returns their paths.
pub fn write(repo: &Repo, changes: &[RevisionChange]) -> Result<Vec<PathBuf>> {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::failed(format!("formatting the time: {e}")))?;
    let mut written = Vec::new();
    for change in changes.iter().filter(|c| c.status.writes()) {
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
        .filter(|c| c.status.writes())
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

/// Forward-only for branches. Every change that would move an exact-ref environment from
/// one commit of the same ref to another is checked in the source's checkout: `rev` an
/// ancestor of the pinned commit → `NotNewer` (kept); neither an ancestor of the other →
/// `Diverged` (applied). Returns the warnings to show.
async fn order_branches(
    bump: &Bump,
    changes: &mut [RevisionChange],
    mut checkout: Option<&mut SourceCheckout>,
) -> Result<Vec<String>> {
    let short = |rev: &str| rev.get(..8).unwrap_or(rev).to_string();
    let mut warnings = Vec::new();
    let mut unchecked = 0;
    for change in changes.iter_mut() {
        let same_branch = change.tracks == change.new_ref
            && change.old_ref.as_deref() == Some(change.new_ref.as_str());
        let pinned = match &change.old_rev {
            Some(pinned) if same_branch && change.status == ChangeStatus::Updated => pinned.clone(),
            _ => continue,
        };
        if pinned.eq_ignore_ascii_case(&change.new_rev) {
            continue;
        }
        let Some(checkout) = checkout.as_deref_mut() else {
            unchecked += 1;
            continue;
        };
        match checkout.order(&change.new_rev, &pinned).await? {
            Order::Newer => {}
            Order::Older => change.status = ChangeStatus::NotNewer,
            Order::Unrelated => {
                change.status = ChangeStatus::Diverged;
                warnings.push(format!(
                    "{}: {} is not a descendant of the pinned {} ({} was force-pushed?); applied as diverged",
                    change.file,
                    short(&change.new_rev),
                    short(&pinned),
                    change.new_ref
                ));
            }
            Order::Unknown(reason) => warnings.push(format!(
                "{}: could not check that {} is newer than the pinned {}: {reason}; applied",
                change.file,
                short(&change.new_rev),
                short(&pinned)
            )),
        }
    }
    if unchecked > 0 {
        warnings.push(format!(
            "the order of {}'s commits could not be checked: no checkout of its repository (pass --source-dir, or run where {} holds one); {unchecked} branch environment(s) follow {} even if it is older than what they pin",
            bump.source,
            order::CHECKOUT_VARIABLES.join(" or "),
            short(&bump.rev)
        ));
    }
    Ok(warnings)
}

/// What `deploy --source/--ref/--rev` did to the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The source bumped (`--source`).
    pub source: String,
    /// The short ref bumped (`--ref`, without `refs/heads/` or `refs/tags/`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit (`--rev`, 40 hex, lowercase).
    pub rev: String,
    /// Environments tracking the source at the ref (0: nothing to do; see `tracked`).
    pub matched: usize,
    /// The refs environments track the source at (for a `matched` of 0: what would match).
    pub tracked: Vec<String>,
    /// One entry per environment tracking the source at the ref, including those not rewritten.
    pub changes: Vec<RevisionChange>,
    /// The checkout of the source that branch ordering was checked in, if any.
    pub source_checkout: Option<PathBuf>,
    /// Also logged (once) as warnings: unchecked ordering, diverged branches.
    pub warnings: Vec<String>,
    /// The commit made with `--commit`.
    pub commit: Option<String>,
    /// Whether a commit landed on the remote (`--push`).
    pub pushed: bool,
    /// Push attempts (more than one when another CI job pushed first).
    pub push_attempts: u32,
    /// Seconds from the first fetch until the push landed (0 without `--push`).
    pub push_seconds: f64,
}

impl Applied {
    /// The environments whose revision file was rewritten (updated or diverged).
    pub fn updated_envs(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.status.writes())
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

    /// `no environment tracks S at R (S is tracked at: main, production); nothing to do`.
    pub fn no_match_message(&self) -> String {
        let tracked = if self.tracked.is_empty() {
            format!("no environment tracks {} at any ref", self.source)
        } else {
            format!("{} is tracked at: {}", self.source, self.tracked.join(", "))
        };
        format!(
            "no environment tracks {} at {} ({tracked}); nothing to do",
            self.source, self.git_ref
        )
    }

    fn files(&self) -> Vec<PathBuf> {
        self.changes
            .iter()
            .filter(|c| c.status.writes())
            .map(|c| PathBuf::from(&c.file))
            .collect()
    }
}

/// How [`apply`] records and publishes a bump.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Commit the rewritten files.
    pub commit: bool,
    /// Push the commit (implies `commit`), re-applying on the remote's tip when it moved on.
    pub push: bool,
    /// How long to keep trying to push ([`Git::push_until`]).
    pub push_timeout: Duration,
    /// The source's checkout for branch ordering (`--source-dir`); without it the CI's
    /// checkout is looked for ([`order::CHECKOUT_VARIABLES`]).
    pub source_dir: Option<PathBuf>,
    /// The CI checkout directories set ([`crate::settings::Settings::checkouts`]).
    pub checkouts: Vec<(&'static str, String)>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            commit: false,
            push: false,
            push_timeout: Duration::from_secs(300),
            source_dir: None,
            checkouts: Vec::new(),
        }
    }
}

/// The refs environments track `source` at, sorted.
fn tracked_refs(repo: &Repo, source: &str) -> Vec<String> {
    let mut refs: Vec<String> = repo
        .envs
        .values()
        .filter(|e| e.revisions_from.is_none())
        .filter_map(|e| e.branches.get(source).cloned())
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

/// Plans, orders and writes `bump` on the repository as it is on disk now.
async fn stage(repo: &Repo, bump: &Bump, checkout: Option<&mut SourceCheckout>) -> Result<Applied> {
    let mut changes = plan(repo, bump);
    let source_checkout = checkout.as_ref().map(|c| c.dir().to_path_buf());
    let warnings = order_branches(bump, &mut changes, checkout).await?;
    write(repo, &changes)?;
    Ok(Applied {
        source: bump.source.clone(),
        git_ref: bump.git_ref.clone(),
        rev: bump.rev.clone(),
        matched: changes.len(),
        tracked: tracked_refs(repo, &bump.source),
        changes,
        source_checkout,
        warnings,
        commit: None,
        pushed: false,
        push_attempts: 0,
        push_seconds: 0.0,
    })
}

/// The error of a failed [`Git::push_until`] as the tool's error (shared with `env --push`).
pub(crate) fn push_error(error: PushError<Error>) -> Error {
    match error {
        PushError::NotClean(message) => Error::Invalid(message),
        PushError::Apply(error) => error,
        PushError::Git(error) => Error::Failed(error),
        out_of_time @ PushError::OutOfTime { .. } => Error::failed(out_of_time),
    }
}

/// Applies a CI bump to the repository at `root`: writes the revision files, and with
/// `commit`/`push` commits and pushes them ([`Git::push_until`]: on the remote's newest tip,
/// re-applied until it lands or the push timeout is spent). Returns the repository as it is
/// afterwards.
pub async fn apply(
    root: &Path,
    cluster: Option<&str>,
    (source, git_ref, rev): (&str, &str, &str),
    options: &ApplyOptions,
) -> Result<(Repo, Applied)> {
    let repo = Repo::open(root, cluster)?;
    let bump = Bump::new(&repo, source, git_ref, rev)?;
    let repo_url = repo
        .cluster
        .sources
        .get(&bump.source)
        .map(|s| s.repo.clone())
        .unwrap_or_default();
    let mut checkout = SourceCheckout::find(
        options.source_dir.as_deref(),
        |var| {
            options
                .checkouts
                .iter()
                .find(|(name, _)| *name == var)
                .map(|(_, dir)| dir.clone())
        },
        &repo_url,
        &bump.rev,
    )
    .await?;
    let git = Git::new(root);
    let applied = if options.push {
        let (mut applied, pushed) = git
            .push_until(PushBudget::new(options.push_timeout), async |_| {
                // Everything is re-read: another writer may have changed any file.
                let repo = Repo::open(root, cluster)?;
                let bump = Bump::new(&repo, source, git_ref, rev)?;
                let applied = stage(&repo, &bump, checkout.as_mut()).await?;
                let files = applied.files();
                let commit =
                    (!files.is_empty()).then(|| (files, commit_message(&bump, &applied.changes)));
                Ok(Staged {
                    value: applied,
                    commit,
                })
            })
            .await
            .map_err(push_error)?;
        applied.commit = pushed.commit;
        applied.pushed = pushed.pushed;
        applied.push_attempts = pushed.attempts;
        applied.push_seconds = (pushed.elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
        applied
    } else {
        let mut applied = stage(&repo, &bump, checkout.as_mut()).await?;
        let files = applied.files();
        if options.commit && !files.is_empty() {
            let message = commit_message(&bump, &applied.changes);
            applied.commit = Some(git.commit(&files, &message).await.map_err(Error::Failed)?);
        }
        applied
    };
    for warning in &applied.warnings {
        tracing::warn!("{warning}");
    }
    Ok((Repo::open(root, cluster)?, applied))
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
