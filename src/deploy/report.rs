//! What happened to each job, for the summary table and `--output json`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::plan::{Action, EnvPlan, JobPlan};
use super::submit::Submitted;
use super::watch::Watched;
use crate::nomad::types::{AllocMetric, JobDiff};
use crate::output::{Report, Style};

/// Where one job ended up after `opsctl deploy`; `snake_case` in `--output json`.
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
    /// Submitting, the rollout or the evaluation failed (see the outcome's `reason`).
    Failed,
    /// The rollout did not finish within `--timeout`.
    TimedOut,
}

impl JobStatus {
    /// `Failed` or `TimedOut`: the deploy exits non-zero.
    pub fn is_failure(self) -> bool {
        matches!(self, JobStatus::Failed | JobStatus::TimedOut)
    }
}

/// One job's result: what was planned, what Nomad did, and why it failed if it did.
#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    /// Environment name.
    pub environment: String,
    /// Nomad namespace of the environment.
    pub namespace: String,
    /// Template name (empty for pruned jobs).
    pub job: String,
    /// Job ID in Nomad.
    pub id: String,
    #[serde(rename = "type")]
    /// `service`, `batch`, `system` or `sysbatch` (`type` in JSON).
    pub kind: String,
    /// What the plan decided for the job.
    pub action: Action,
    /// Where the job ended up.
    pub status: JobStatus,
    /// The job's version in Nomad before the deploy; `None` for a new job or when unknown.
    pub version_before: Option<u64>,
    /// The version after: the submitted one, the one running after a failed rollout, the same as
    /// before when unchanged; `None` when nothing was submitted.
    pub version_after: Option<u64>,
    /// ID of the deployment that was followed; `None` without one (not watched, batch, system,
    /// periodic jobs, or no deployment created).
    pub deployment_id: Option<String>,
    /// That deployment's last status (`successful`, `failed`, `running`, ...); `None` without one.
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
    /// Nomad's plan diff; `None` for jobs not planned with Nomad or unchanged.
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
    /// The outcome as planned (`Planned`), before anything is submitted.
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

    /// Sets the status; `Unchanged` also sets `version_after` to `version_before`.
    pub fn with_status(mut self, status: JobStatus) -> Self {
        if status == JobStatus::Unchanged {
            self.version_after = self.version_before;
        }
        self.status = status;
        self
    }

    /// Marks the job `Failed` with `reason`.
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
    /// Nomad address the deploy talked to.
    pub nomad: String,
    /// `--plan`: nothing was changed.
    pub plan_only: bool,
    /// One entry per environment, in plan order.
    pub environments: Vec<EnvironmentSummary>,
    /// One outcome per job, in plan order.
    pub jobs: Vec<JobOutcome>,
    /// Jobs to submit or stop, plus namespaces to create.
    pub changes: usize,
    /// Jobs that ended `Failed` or `TimedOut`.
    pub failed: usize,
    /// `--source/--ref/--rev`: the revision files updated before deploying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revisions: Option<crate::revisions::Applied>,
}

/// One environment of a deploy report.
#[derive(Debug, Serialize)]
pub struct EnvironmentSummary {
    /// Environment name.
    pub environment: String,
    /// Its Nomad namespace.
    pub namespace: String,
    /// The namespace did not exist (created unless `--plan`).
    pub namespace_created: bool,
}

impl DeployReport {
    /// The report of a run from its plans and job outcomes (`revisions` unset).
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
