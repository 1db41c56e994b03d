//! Submitting with check-and-set. A register call is never blindly repeated: after any failure
//! opsctl re-plans, which tells whether the job already holds our spec (the answer was lost) or
//! still needs it, and with which index.

use serde_json::Value;

use super::{Deployer, EnvPlan, JobPlan};
use crate::nomad::NomadError;

/// Why a job could not be submitted; Nomad's own error is kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The plan carries no job specification.
    #[error("no job specification to submit")]
    NoSpec,
    /// A check-and-set conflict happened again after a re-plan.
    #[error(
        "check-and-set failed again: the job keeps changing under opsctl \
         (another deploy or operator?); nothing was overwritten ({})",
        .0.body().trim()
    )]
    KeepsChanging(#[source] NomadError),
    /// Transient failures went on for too long.
    #[error("giving up after {attempts} attempts: {source}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        source: NomadError,
    },
    /// Nomad refused the job.
    #[error(transparent)]
    Nomad(#[from] NomadError),
    /// The re-plan after a failure failed.
    #[error("re-planning: {0}")]
    Replan(#[source] NomadError),
    /// Reading the job back after the submit failed.
    #[error("reading the job back: {0}")]
    ReadBack(#[source] NomadError),
    /// The job was gone right after the submit.
    #[error("the job vanished right after it was submitted")]
    Vanished,
    /// The stored job has no numeric version.
    #[error("Nomad's job has no numeric `Version`")]
    NoVersion,
}

/// Transient failures (unreachable, 5xx) tolerated per job before giving up.
const MAX_SUBMIT_ATTEMPTS: u32 = 6;

/// What Nomad accepted.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Evaluation created by the register call (none when a re-plan found our spec in place).
    pub eval_id: Option<String>,
    pub version: u64,
    /// A check-and-set conflict happened and the job was re-planned.
    pub replanned: bool,
    /// The job's `JobModifyIndex` after the submit (what the register answered, or the
    /// re-plan's when our spec was found in place).
    pub job_modify_index: u64,
}

/// Nomad's answer when `EnforceIndex` does not match.
fn is_cas_conflict(error: &NomadError) -> bool {
    error.body().contains("Enforcing job modify index")
}

/// Nomad's one retry policy, except that a check-and-set conflict is re-planned, not retried.
fn is_transient(error: &NomadError) -> bool {
    crate::nomad::retry::is_transient(error) && !is_cas_conflict(error)
}

impl Deployer {
    pub(super) async fn submit(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
    ) -> Result<Submitted, SubmitError> {
        let Some(spec) = &job.spec else {
            return Err(SubmitError::NoSpec);
        };
        let mut spec = spec.clone();
        let mut index = job.job_modify_index;
        let mut replanned = false;
        let mut transient = 0;
        loop {
            let error = match self.bounded(self.client.register(&spec, index)).await {
                Ok(response) => {
                    let version = self.current_version(env, job).await?;
                    return Ok(Submitted {
                        eval_id: Some(response.eval_id).filter(|id| !id.is_empty()),
                        version,
                        replanned,
                        job_modify_index: response.job_modify_index,
                    });
                }
                Err(error) => error,
            };
            if is_cas_conflict(&error) {
                if replanned {
                    return Err(SubmitError::KeepsChanging(error));
                }
                replanned = true;
                tracing::warn!(job = %job.id, "job changed since it was planned; re-planning");
            } else if is_transient(&error) {
                transient += 1;
                if transient >= MAX_SUBMIT_ATTEMPTS {
                    return Err(SubmitError::GaveUp {
                        attempts: transient,
                        source: error,
                    });
                }
                tracing::info!(job = %job.id, %error, "submit failed; re-planning before a retry");
                tokio::time::sleep(crate::nomad::retry::backoff(transient)).await;
            } else {
                return Err(SubmitError::Nomad(error));
            }
            match self.replan(&spec).await? {
                Replanned::AlreadyApplied(job_modify_index) => {
                    let version = self.current_version(env, job).await?;
                    return Ok(Submitted {
                        eval_id: None,
                        version,
                        replanned,
                        job_modify_index,
                    });
                }
                Replanned::Index(new_index) => {
                    // Someone else's version came in between: stamp the one ours will get.
                    let stored = self
                        .bounded(self.client.job(&env.namespace, &job.id))
                        .await
                        .map_err(SubmitError::ReadBack)?;
                    let next = stored
                        .as_ref()
                        .and_then(|j| j.get("Version"))
                        .and_then(Value::as_u64)
                        .map_or(0, |v| v + 1);
                    super::record::stamp_version(&mut spec, Some(next));
                    index = new_index;
                }
            }
        }
    }

    async fn replan(&self, spec: &Value) -> Result<Replanned, SubmitError> {
        let plan = self
            .bounded(self.client.plan(spec))
            .await
            .map_err(SubmitError::Replan)?;
        Ok(match plan.diff.as_ref().map(|d| d.kind.as_str()) {
            Some("None") => Replanned::AlreadyApplied(plan.job_modify_index),
            _ => Replanned::Index(plan.job_modify_index),
        })
    }

    /// The job's version as Nomad stores it now.
    pub(super) async fn current_version(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
    ) -> Result<u64, SubmitError> {
        let stored = self
            .bounded(self.client.job(&env.namespace, &job.id))
            .await
            .map_err(SubmitError::ReadBack)?
            .ok_or(SubmitError::Vanished)?;
        stored
            .get("Version")
            .and_then(Value::as_u64)
            .ok_or(SubmitError::NoVersion)
    }
}

enum Replanned {
    /// Nomad holds our spec already, at this `JobModifyIndex`.
    AlreadyApplied(u64),
    Index(u64),
}
