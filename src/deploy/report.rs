//! What happened to each job, for the summary table and `--output json`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::plan::{Action, EnvPlan, JobPlan};
use super::submit::Submitted;
use super::watch::Watched;
use crate::nomad::types::{AllocMetric, JobDiff};
use crate::output::{Report, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Nothing to do.
    Unchanged,
    /// `--plan`: would be submitted (or stopped).
    Planned,
    /// Submitted; not watched (`--no-wait`).
    Submitted,
    /// Rolled out and healthy.
    Healthy,
    /// Canaries healthy, waiting for `--promote` or `nomad deployment promote`.
    AwaitingPromotion,
    /// Stopped by `--prune`, or submitted with `Stop: true`.
    Stopped,
    /// A periodic or parameterized job Nomad accepted: it runs on its schedule or on dispatch.
    Registered,
    Failed,
    TimedOut,
}

impl JobStatus {
    pub fn is_failure(self) -> bool {
        matches!(self, JobStatus::Failed | JobStatus::TimedOut)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    pub environment: String,
    pub namespace: String,
    /// Template name (empty for pruned jobs).
    pub job: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub action: Action,
    pub status: JobStatus,
    pub version_before: Option<u64>,
    pub version_after: Option<u64>,
    pub deployment_id: Option<String>,
    pub deployment_status: Option<String>,
    /// With auto-revert: the version Nomad rolled back to.
    pub reverted_to: Option<u64>,
    /// Why the job failed, in Nomad's words when it gave them.
    pub reason: Option<String>,
    /// The job changed between plan and submit (check-and-set) and was re-planned once.
    pub replanned: bool,
    /// Changed in Nomad outside opsctl since opsctl last deployed the environment (its
    /// `JobModifyIndex` is newer than the environment's deploy record).
    pub drift: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<JobDiff>,
    /// Task groups Nomad could not place (`FailedTGAllocs`), with its metrics.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub placement_failures: BTreeMap<String, AllocMetric>,
    /// System and sysbatch jobs: the nodes with an allocation, and why others have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::system::Coverage>,
    /// Periodic jobs: the next launch (RFC 3339, UTC), from the cron spec and time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_launch: Option<String>,
}

impl JobOutcome {
    pub fn from_plan(env: &EnvPlan, job: &JobPlan) -> Self {
        JobOutcome {
            environment: env.environment.clone(),
            namespace: env.namespace.clone(),
            job: job.name.clone(),
            id: job.id.clone(),
            kind: job.kind.clone(),
            action: job.action,
            status: JobStatus::Planned,
            version_before: job.version_before,
            version_after: None,
            deployment_id: None,
            deployment_status: None,
            reverted_to: None,
            reason: None,
            replanned: false,
            drift: job.drift,
            diff: job.diff.clone(),
            placement_failures: job.placement_failures.clone(),
            coverage: None,
            next_launch: job
                .next_launch
                .clone()
                .or_else(|| super::schedule::next_launch_text(job.spec.as_ref())),
        }
    }

    pub fn with_status(mut self, status: JobStatus) -> Self {
        if status == JobStatus::Unchanged {
            self.version_after = self.version_before;
        }
        self.status = status;
        self
    }

    pub fn failed(mut self, reason: impl Into<String>) -> Self {
        self.status = JobStatus::Failed;
        self.reason = Some(reason.into());
        self
    }

    pub(super) fn submitted(mut self, submitted: &Submitted) -> Self {
        self.version_after = Some(submitted.version);
        self.replanned = submitted.replanned;
        self.status = JobStatus::Submitted;
        self
    }

    pub(super) fn watched(mut self, watched: Watched) -> Self {
        match watched {
            Watched::Healthy { deployment } => {
                if let Some(d) = deployment {
                    self.deployment_id = Some(d.id);
                    self.deployment_status = Some(d.status);
                }
                self.status = JobStatus::Healthy;
            }
            Watched::AwaitingPromotion { deployment } => {
                self.reason = Some(format!(
                    "canaries are healthy; promote with --promote or `nomad deployment promote {}`",
                    deployment.id
                ));
                self.deployment_id = Some(deployment.id);
                self.deployment_status = Some(deployment.status);
                self.status = JobStatus::AwaitingPromotion;
            }
            Watched::Registered {
                launches,
                next_launch,
            } => {
                self.reason = Some(format!("runs {launches}"));
                self.next_launch = next_launch;
                self.status = JobStatus::Registered;
            }
            Watched::Stopped => self.status = JobStatus::Stopped,
            Watched::Covered { coverage } => {
                self.status = JobStatus::Healthy;
                self.reason = Some(format!("allocations {}", coverage.summary()));
                self.coverage = Some(coverage);
            }
            Watched::Failed {
                reason,
                deployment,
                reverted_to,
                running_version,
                placement,
            } => {
                self.placement_failures = placement;
                if let Some(d) = deployment {
                    self.deployment_id = Some(d.id);
                    self.deployment_status = Some(d.status);
                }
                self.reverted_to = reverted_to;
                if let Some(version) = running_version {
                    self.version_after = Some(version);
                }
                self.status = JobStatus::Failed;
                self.reason = Some(reason);
            }
        }
        self
    }

    pub(super) fn timed_out(mut self, after: Duration) -> Self {
        self.status = JobStatus::TimedOut;
        self.reason = Some(format!(
            "no result after {}; the rollout may still be going on in Nomad",
            humantime::format_duration(after)
        ));
        self
    }

    /// The last progress line of the job: its status and, on failure, Nomad's reason, so a
    /// CI log says why even with `--output json`.
    pub fn final_line(&self) -> String {
        match (&self.reason, self.status.is_failure()) {
            (Some(reason), true) => format!("{}: {reason}", self.short_status()),
            _ => self.short_status(),
        }
    }

    /// One phrase for the progress line and the table.
    pub fn short_status(&self) -> String {
        match self.status {
            JobStatus::Unchanged => "unchanged".into(),
            JobStatus::Planned => "planned".into(),
            JobStatus::Submitted => "submitted".into(),
            JobStatus::Healthy => match &self.coverage {
                Some(c) => format!("healthy, {}", c.summary()),
                None => "healthy".into(),
            },
            JobStatus::AwaitingPromotion => "awaiting promotion".into(),
            JobStatus::Stopped => "stopped".into(),
            JobStatus::Registered => match &self.reason {
                Some(reason) => format!("registered, {reason}"),
                None => "registered".into(),
            },
            JobStatus::TimedOut => "timed out".into(),
            JobStatus::Failed => match self.reverted_to {
                Some(v) => format!("failed, reverted to v{v}"),
                None => "failed".into(),
            },
        }
    }
}

/// The result of `opsctl deploy`.
#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub nomad: String,
    /// `--plan`: nothing was changed.
    pub plan_only: bool,
    pub environments: Vec<EnvironmentSummary>,
    pub jobs: Vec<JobOutcome>,
    /// Jobs to submit or stop, plus namespaces to create.
    pub changes: usize,
    pub failed: usize,
    /// `--source/--ref/--rev`: the revision files updated before deploying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revisions: Option<crate::revisions::Applied>,
}

#[derive(Debug, Serialize)]
pub struct EnvironmentSummary {
    pub environment: String,
    pub namespace: String,
    /// The namespace did not exist (created unless `--plan`).
    pub namespace_created: bool,
}

impl DeployReport {
    pub fn new(nomad: &str, plan_only: bool, plans: &[EnvPlan], jobs: Vec<JobOutcome>) -> Self {
        DeployReport {
            nomad: nomad.to_string(),
            plan_only,
            environments: plans
                .iter()
                .map(|p| EnvironmentSummary {
                    environment: p.environment.clone(),
                    namespace: p.namespace.clone(),
                    namespace_created: !p.namespace_exists,
                })
                .collect(),
            changes: plans.iter().map(EnvPlan::changes).sum(),
            failed: jobs.iter().filter(|j| j.status.is_failure()).count(),
            jobs,
            revisions: None,
        }
    }
}

fn version(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("v{v}"))
}

fn revisions_text(applied: &crate::revisions::Applied, style: &Style) -> String {
    use crate::revisions::ChangeStatus;
    let short = |rev: &str| rev.get(..8).unwrap_or(rev).to_string();
    if applied.changes.is_empty() {
        return format!("{}\n", applied.no_match_message());
    }
    let mut out = String::new();
    for change in &applied.changes {
        let old = match (&change.old_ref, &change.old_rev) {
            (Some(r), Some(rev)) => format!("{r}@{}", short(rev)),
            _ => "-".into(),
        };
        let new = format!("{}@{}", change.new_ref, short(&change.new_rev));
        let what = match change.status {
            ChangeStatus::Updated => style.good("updated"),
            ChangeStatus::Unchanged => style.dim("unchanged"),
            ChangeStatus::NotNewer => style.warn("kept (not newer)"),
            ChangeStatus::Diverged => style.warn("updated (diverged)"),
        };
        out.push_str(&format!(
            "{}: {what} {} → {} (tracks {})\n",
            change.file, old, new, change.tracks
        ));
    }
    if let Some(commit) = &applied.commit {
        out.push_str(&format!(
            "committed {}{}\n",
            short(commit),
            if applied.pushed {
                format!(", pushed after {} attempt(s)", applied.push_attempts)
            } else {
                String::new()
            }
        ));
    }
    out
}

impl Report for DeployReport {
    fn human(&self, style: &Style) -> String {
        let revisions = self
            .revisions
            .as_ref()
            .map(|r| revisions_text(r, style))
            .unwrap_or_default();
        if self.jobs.is_empty() && self.revisions.is_some() {
            return revisions;
        }
        let mut table = style.table(&[
            "ENVIRONMENT",
            "JOB",
            "ACTION",
            "VERSION",
            "STATUS",
            "DEPLOYMENT",
        ]);
        for job in &self.jobs {
            let status = job.short_status();
            let status = if job.status.is_failure() {
                style.bad(&status)
            } else if job.status == JobStatus::AwaitingPromotion {
                style.warn(&status)
            } else if job.status == JobStatus::Unchanged {
                style.dim(&status)
            } else {
                style.good(&status)
            };
            let versions = match (job.version_before, job.version_after) {
                (before, after) if before == after => version(before),
                (before, after) => format!("{} → {}", version(before), version(after)),
            };
            let deployment = job
                .deployment_id
                .as_deref()
                .map(|id| id.get(..8).unwrap_or(id).to_string())
                .unwrap_or_default();
            table.add_row(vec![
                job.environment.clone(),
                job.id.clone(),
                if job.drift {
                    format!("{:?} (drift)", job.action).to_lowercase()
                } else {
                    format!("{:?}", job.action).to_lowercase()
                },
                versions,
                status,
                deployment,
            ]);
        }
        let mut out = format!("{revisions}{table}\n");
        for job in self.jobs.iter().filter(|j| j.reason.is_some()) {
            let label = if job.status.is_failure() {
                style.bad("✗")
            } else {
                style.warn("!")
            };
            out.push_str(&format!(
                "{label} {}/{}: {}\n",
                job.environment,
                job.id,
                job.reason.as_deref().unwrap_or_default()
            ));
        }
        let (unchanged, total) = (
            self.jobs
                .iter()
                .filter(|j| j.action == Action::Unchanged)
                .count(),
            self.jobs.len(),
        );
        out.push_str(&if self.plan_only {
            format!(
                "{} change(s) planned, {unchanged} of {total} job(s) unchanged; nothing was submitted (--plan)\n",
                self.changes
            )
        } else if self.failed > 0 {
            style.bad(&format!("{} of {total} job(s) failed\n", self.failed))
        } else {
            format!("{} change(s) applied, {unchanged} of {total} job(s) unchanged\n", self.changes)
        });
        out
    }
}
