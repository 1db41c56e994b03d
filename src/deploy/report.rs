//! What happened to each job, for the summary table and `--output json`.

use serde::Serialize;

use super::outcome::{JobOutcome, JobStatus};
use super::plan::{Action, EnvPlan};
use crate::output::{Report, Style};

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
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentSummary {
    /// Environment name.
    pub environment: String,
    /// Its Nomad namespace.
    pub namespace: String,
    /// The namespace did not exist (created unless `--plan`).
    pub namespace_created: bool,
}

impl EnvironmentSummary {
    /// The summary of a Nomad environment's plan.
    pub fn of(plan: &EnvPlan) -> Self {
        EnvironmentSummary {
            environment: plan.environment.clone(),
            namespace: plan.namespace.clone(),
            namespace_created: !plan.namespace_exists,
        }
    }
}

impl DeployReport {
    /// The report of a run: its environments, how many changes it planned and the job
    /// outcomes (`revisions` unset).
    pub fn new(
        nomad: &str,
        plan_only: bool,
        environments: Vec<EnvironmentSummary>,
        changes: usize,
        jobs: Vec<JobOutcome>,
    ) -> Self {
        DeployReport {
            nomad: nomad.to_string(),
            plan_only,
            environments,
            changes,
            failed: jobs.iter().filter(|j| j.status.is_failure()).count(),
            jobs,
            revisions: None,
        }
    }

    /// The report of Nomad environments' run from their plans and job outcomes.
    pub fn of_nomad(
        nomad: &str,
        plan_only: bool,
        plans: &[EnvPlan],
        jobs: Vec<JobOutcome>,
    ) -> Self {
        let environments = plans.iter().map(EnvironmentSummary::of).collect();
        let changes = plans.iter().map(EnvPlan::changes).sum();
        DeployReport::new(nomad, plan_only, environments, changes, jobs)
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
                job.id().to_string(),
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
                job.id(),
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
