//! `env gc`: destroys every expired ad hoc environment (and with `orphans`, every namespace
//! opsctl marked whose environment file is gone), for a scheduled CI job. One report.

use serde::Serialize;

use super::destroy::{destroy, DestroyReport, DestroyRequest};
use crate::consul::ConsulClient;
use crate::nomad::NomadClient;
use crate::output::{Report, Style};
use crate::repo::Repo;

/// What `env gc` was asked to do (its command-line flags).
#[derive(Debug, Clone)]
pub struct GcRequest {
    /// `--dry-run`: list the candidates, destroy nothing.
    pub dry_run: bool,
    /// `--orphans`: also namespaces opsctl marked whose environment file is gone.
    pub orphans: bool,
    /// Commit each destroy's file removals.
    pub commit: bool,
    /// Push each commit (implies commit).
    pub push: bool,
    /// How long each `--push` keeps re-applying on the remote's new tip.
    pub push_timeout: std::time::Duration,
    /// How long each destroy waits for allocations to stop.
    pub timeout: std::time::Duration,
    /// The resolved settings, for environments with their own terraform workspace.
    pub settings: crate::settings::Settings,
}

/// An environment `env gc` destroys.
#[derive(Debug, Clone, Serialize)]
pub struct GcCandidate {
    /// Environment name (the namespace's, for an orphan).
    pub name: String,
    /// `expired` or `orphan`.
    pub reason: String,
    /// Expiry time (RFC 3339) from the file or the namespace meta; `None` when unknown.
    pub expires: Option<String>,
    /// Owner from the file or the namespace meta; `None` when unknown.
    pub owner: Option<String>,
}

/// An environment gc could not destroy.
#[derive(Debug, Clone, Serialize)]
pub struct GcFailure {
    /// Environment name.
    pub name: String,
    /// Why its destroy failed.
    pub error: String,
}

/// What `env gc` found and did.
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    /// Nothing was destroyed (`--dry-run`).
    pub dry_run: bool,
    /// Every environment to destroy.
    pub candidates: Vec<GcCandidate>,
    /// One report per destroy that ran (empty with `--dry-run`).
    pub destroyed: Vec<DestroyReport>,
    /// Destroys that failed.
    pub failed: Vec<GcFailure>,
}

impl GcReport {
    /// True when no destroy failed and none left anything behind.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.destroyed.iter().all(DestroyReport::complete)
    }
}

/// What gc would destroy: expired ad hoc environments, and orphans when asked.
pub async fn candidates(
    repo: &Repo,
    client: &NomadClient,
    orphans: bool,
) -> crate::Result<Vec<GcCandidate>> {
    let listed = super::list(repo, client, false).await;
    if let Some(e) = &listed.nomad_error {
        return Err(crate::Error::failed(format!(
            "Nomad at {}: {e}",
            listed.nomad
        )));
    }
    Ok(listed
        .environments
        .into_iter()
        .filter_map(|row| {
            let from_file = repo.envs.contains_key(&row.name);
            let reason = if from_file && row.ad_hoc && row.expired {
                "expired"
            } else if !from_file && orphans && row.orphan.is_some() {
                "orphan"
            } else {
                return None;
            };
            Some(GcCandidate {
                name: row.name,
                reason: reason.into(),
                expires: row.expires,
                owner: row.owner,
            })
        })
        .collect())
}

/// Destroys `candidates` one after the other; failures are collected, never fatal.
pub async fn gc(
    root: &std::path::Path,
    cluster: Option<&str>,
    req: &GcRequest,
    candidates: Vec<GcCandidate>,
    client: &NomadClient,
    consul: Option<&ConsulClient>,
) -> GcReport {
    let mut report = GcReport {
        dry_run: req.dry_run,
        candidates: candidates.clone(),
        destroyed: Vec::new(),
        failed: Vec::new(),
    };
    if req.dry_run {
        return report;
    }
    for candidate in candidates {
        let request = DestroyRequest {
            name: candidate.name.clone(),
            // Orphans have no file that says ad hoc; their namespace meta does.
            force: false,
            commit: req.commit,
            push: req.push,
            push_timeout: req.push_timeout,
            timeout: req.timeout,
            settings: req.settings.clone(),
        };
        match destroy(root, cluster, &request, client, consul).await {
            Ok(destroyed) => report.destroyed.push(destroyed),
            Err(e) => report.failed.push(GcFailure {
                name: candidate.name,
                error: e.to_string(),
            }),
        }
    }
    report
}

impl Report for GcReport {
    fn human(&self, style: &Style) -> String {
        if self.candidates.is_empty() {
            return "nothing to collect: no expired ad hoc environment\n".into();
        }
        let mut out = String::new();
        for c in &self.candidates {
            let verb = if self.dry_run {
                "would destroy"
            } else {
                "destroy"
            };
            out.push_str(&format!(
                "{verb} {} ({}{}{})\n",
                style.bold(&c.name),
                c.reason,
                c.expires
                    .as_ref()
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_default(),
                c.owner
                    .as_ref()
                    .map(|o| format!(", owner {o}"))
                    .unwrap_or_default()
            ));
        }
        for d in &self.destroyed {
            out.push_str(&d.human(style));
        }
        for f in &self.failed {
            out.push_str(&style.bad(&format!("{}: {}\n", f.name, f.error)));
        }
        out
    }
}
