//! `env gc`: destroys every expired ad hoc environment (and with `orphans`, every namespace
//! opsctl marked whose environment file is gone), for a scheduled CI job. One report.

use serde::Serialize;

use super::destroy::{destroy, DestroyReport, DestroyRequest};
use crate::consul::ConsulClient;
use crate::nomad::NomadClient;
use crate::output::{Report, Style};
use crate::repo::Repo;

#[derive(Debug, Clone)]
pub struct GcRequest {
    pub dry_run: bool,
    pub orphans: bool,
    pub commit: bool,
    pub push: bool,
    /// How long each `--push` keeps re-applying on the remote's new tip.
    pub push_timeout: std::time::Duration,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct GcCandidate {
    pub name: String,
    /// `expired` or `orphan`.
    pub reason: String,
    pub expires: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GcFailure {
    pub name: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub candidates: Vec<GcCandidate>,
    pub destroyed: Vec<DestroyReport>,
    pub failed: Vec<GcFailure>,
}

impl GcReport {
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
