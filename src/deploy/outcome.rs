//! Where each job ended up, whatever its target: the fields every target fills (action,
//! status, versions, deployment, reason) and a [`TargetRef`] naming the job in its target
//! (a Nomad job in a namespace, an ECS service in a cluster) with what only that target
//! reports. `--output json` keeps one flat row per job for every target.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::plan::{Action, EnvPlan, JobPlan};
use super::submit::Submitted;
use super::system::Coverage;
use super::watch::Watched;
use crate::nomad::types::{AllocMetric, JobDiff};

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

/// A job as its target knows it, with what only that target reports.
#[derive(Debug, Clone)]
pub enum TargetRef {
    /// A Nomad job.
    Nomad(Box<NomadRef>),
    /// An ECS service.
    Ecs(EcsRef),
}

/// A Nomad job: where it is and what Nomad said of it.
#[derive(Debug, Clone, Default)]
pub struct NomadRef {
    /// Namespace of the environment.
    pub namespace: String,
    /// Job ID.
    pub id: String,
    /// `service`, `batch`, `system` or `sysbatch`.
    pub kind: String,
    /// With auto-revert: the version Nomad rolled back to.
    pub reverted_to: Option<u64>,
    /// The job changed between plan and submit (check-and-set) and was re-planned once.
    pub replanned: bool,
    /// Nomad's plan diff; `None` for jobs not planned with Nomad or unchanged.
    pub diff: Option<JobDiff>,
    /// Task groups Nomad could not place (`FailedTGAllocs`), with its metrics.
    pub placement_failures: BTreeMap<String, AllocMetric>,
    /// System and sysbatch jobs: the nodes with an allocation, and why others have none.
    pub coverage: Option<Coverage>,
    /// Periodic jobs: the next launch (RFC 3339, UTC), from the cron spec and time zone.
    pub next_launch: Option<String>,
}

/// An ECS service of a cluster; versions are task definition revisions.
#[derive(Debug, Clone)]
pub struct EcsRef {
    /// ECS cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
}

/// One job's result: what was planned, what its target did, and why it failed if it did.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// Environment name.
    pub environment: String,
    /// Template name (empty for pruned jobs).
    pub job: String,
    /// The job in its target.
    pub target: TargetRef,
    /// What the plan decided for the job.
    pub action: Action,
    /// Where the job ended up.
    pub status: JobStatus,
    /// The job's version before the deploy; `None` for a new job or when unknown.
    pub version_before: Option<u64>,
    /// The version after: the submitted one, the one running after a failed rollout, the same as
    /// before when unchanged; `None` when nothing was submitted.
    pub version_after: Option<u64>,
    /// ID of the deployment that was followed; `None` without one (not watched, batch, system,
    /// periodic jobs, or no deployment created).
    pub deployment_id: Option<String>,
    /// That deployment's last status (`successful`, `failed`, `running`, ...); `None` without one.
    pub deployment_status: Option<String>,
    /// Why the job failed, in its target's words when it gave them.
    pub reason: Option<String>,
    /// Changed outside opsctl since opsctl last deployed the environment (Nomad: its
    /// `JobModifyIndex` is newer than the environment's deploy record).
    pub drift: bool,
}

/// The JSON row of one outcome: the same keys for every target (`namespace`/`id`/`type` are
/// an ECS service's cluster, name and `ecs-service`), as documented in docs/deploy.md.
#[derive(Serialize)]
struct Row<'a> {
    environment: &'a str,
    namespace: &'a str,
    job: &'a str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    action: Action,
    status: JobStatus,
    version_before: Option<u64>,
    version_after: Option<u64>,
    deployment_id: Option<&'a str>,
    deployment_status: Option<&'a str>,
    reverted_to: Option<u64>,
    reason: Option<&'a str>,
    replanned: bool,
    drift: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<&'a JobDiff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    placement_failures: Option<&'a BTreeMap<String, AllocMetric>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a Coverage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_launch: Option<&'a str>,
}

impl Serialize for JobOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nomad = self.nomad();
        Row {
            environment: &self.environment,
            namespace: self.place(),
            job: &self.job,
            id: self.id(),
            kind: self.kind(),
            action: self.action,
            status: self.status,
            version_before: self.version_before,
            version_after: self.version_after,
            deployment_id: self.deployment_id.as_deref(),
            deployment_status: self.deployment_status.as_deref(),
            reverted_to: nomad.and_then(|n| n.reverted_to),
            reason: self.reason.as_deref(),
            replanned: nomad.is_some_and(|n| n.replanned),
            drift: self.drift,
            diff: nomad.and_then(|n| n.diff.as_ref()),
            placement_failures: nomad
                .map(|n| &n.placement_failures)
                .filter(|p| !p.is_empty()),
            coverage: nomad.and_then(|n| n.coverage.as_ref()),
            next_launch: nomad.and_then(|n| n.next_launch.as_deref()),
        }
        .serialize(serializer)
    }
}

impl JobOutcome {
    /// A job of `environment` in `target`, as planned (`Planned`, no versions yet).
    pub fn new(environment: &str, job: &str, target: TargetRef, action: Action) -> Self {
        JobOutcome {
            environment: environment.to_string(),
            job: job.to_string(),
            target,
            action,
            status: JobStatus::Planned,
            version_before: None,
            version_after: None,
            deployment_id: None,
            deployment_status: None,
            reason: None,
            drift: false,
        }
    }

    /// The outcome of a Nomad job as planned (`Planned`), before anything is submitted.
    pub fn from_plan(env: &EnvPlan, job: &JobPlan) -> Self {
        let target = TargetRef::Nomad(Box::new(NomadRef {
            namespace: env.namespace.clone(),
            id: job.id.clone(),
            kind: job.kind.clone(),
            diff: job.diff.clone(),
            placement_failures: job.placement_failures.clone(),
            next_launch: job
                .next_launch
                .clone()
                .or_else(|| super::schedule::next_launch_text(job.spec.as_ref())),
            ..NomadRef::default()
        }));
        let mut outcome = JobOutcome::new(&env.environment, &job.name, target, job.action);
        outcome.version_before = job.version_before;
        outcome.drift = job.drift;
        outcome
    }

    /// Where the job lives in its target: the Nomad namespace, the ECS cluster.
    pub fn place(&self) -> &str {
        match &self.target {
            TargetRef::Nomad(n) => &n.namespace,
            TargetRef::Ecs(e) => &e.cluster,
        }
    }

    /// The job's name in its target: the Nomad job ID, the ECS service.
    pub fn id(&self) -> &str {
        match &self.target {
            TargetRef::Nomad(n) => &n.id,
            TargetRef::Ecs(e) => &e.service,
        }
    }

    /// The job's kind: Nomad's job type, or `ecs-service`.
    pub fn kind(&self) -> &str {
        match &self.target {
            TargetRef::Nomad(n) => &n.kind,
            TargetRef::Ecs(_) => "ecs-service",
        }
    }

    /// What Nomad said of the job, for a Nomad job.
    pub fn nomad(&self) -> Option<&NomadRef> {
        match &self.target {
            TargetRef::Nomad(n) => Some(n.as_ref()),
            TargetRef::Ecs(_) => None,
        }
    }

    fn nomad_mut(&mut self) -> Option<&mut NomadRef> {
        match &mut self.target {
            TargetRef::Nomad(n) => Some(n.as_mut()),
            TargetRef::Ecs(_) => None,
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
        if let Some(nomad) = self.nomad_mut() {
            nomad.replanned = submitted.replanned;
        }
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
                if let Some(nomad) = self.nomad_mut() {
                    nomad.next_launch = next_launch;
                }
                self.status = JobStatus::Registered;
            }
            Watched::Stopped => self.status = JobStatus::Stopped,
            Watched::Covered { coverage } => {
                self.status = JobStatus::Healthy;
                self.reason = Some(format!("allocations {}", coverage.summary()));
                if let Some(nomad) = self.nomad_mut() {
                    nomad.coverage = Some(coverage);
                }
            }
            Watched::Failed {
                reason,
                deployment,
                reverted_to,
                running_version,
                placement,
            } => {
                if let Some(d) = deployment {
                    self.deployment_id = Some(d.id);
                    self.deployment_status = Some(d.status);
                }
                if let Some(nomad) = self.nomad_mut() {
                    nomad.placement_failures = placement;
                    nomad.reverted_to = reverted_to;
                }
                if let Some(version) = running_version {
                    self.version_after = Some(version);
                }
                self.status = JobStatus::Failed;
                self.reason = Some(reason);
            }
        }
        self
    }

    /// Marks the job `TimedOut`: its rollout gave no result within `after`.
    pub fn timed_out(mut self, after: Duration) -> Self {
        let after = humantime::format_duration(after);
        self.status = JobStatus::TimedOut;
        self.reason = Some(match &self.target {
            TargetRef::Nomad(_) => {
                format!("no result after {after}; the rollout may still be going on in Nomad")
            }
            TargetRef::Ecs(e) => format!(
                "service {} did not complete its deployment within {after}",
                e.service
            ),
        });
        self
    }

    /// The last progress line of the job: its status and, on failure, its target's reason, so
    /// a CI log says why even with `--output json`.
    pub fn final_line(&self) -> String {
        match (&self.reason, self.status.is_failure()) {
            (Some(reason), true) => format!("{}: {reason}", self.short_status()),
            _ => self.short_status(),
        }
    }

    /// One phrase for the progress line and the table.
    pub fn short_status(&self) -> String {
        let nomad = self.nomad();
        match self.status {
            JobStatus::Unchanged => "unchanged".into(),
            JobStatus::Planned => "planned".into(),
            JobStatus::Submitted => "submitted".into(),
            JobStatus::Healthy => match nomad.and_then(|n| n.coverage.as_ref()) {
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
            JobStatus::Failed => match nomad.and_then(|n| n.reverted_to) {
                Some(v) => format!("failed, reverted to v{v}"),
                None => "failed".into(),
            },
        }
    }
}
