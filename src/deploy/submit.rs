//! Submitting with check-and-set. A register call is never blindly repeated: after any failure
//! opsctl re-plans, which tells whether the job already holds our spec (the answer was lost) or
//! still needs it, and with which index.

use serde_json::Value;

use super::{Deployer, EnvPlan, JobPlan};
use crate::nomad::NomadError;

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
    pub(super) async fn submit(&self, env: &EnvPlan, job: &JobPlan) -> Result<Submitted, String> {
        let Some(spec) = &job.spec else {
            return Err("no job specification to submit".into());
        };
        let mut index = job.job_modify_index;
        let mut replanned = false;
        let mut transient = 0;
        loop {
            let error = match self.bounded(self.client.register(spec, index)).await {
                Ok(response) => {
                    let version = self.current_version(env, job).await?;
                    return Ok(Submitted {
                        eval_id: Some(response.eval_id).filter(|id| !id.is_empty()),
                        version,
                        replanned,
                    });
                }
                Err(error) => error,
            };
            if is_cas_conflict(&error) {
                if replanned {
                    return Err(format!(
                        "check-and-set failed again: the job keeps changing under opsctl \
                         (another deploy or operator?); nothing was overwritten ({})",
                        error.body().trim()
                    ));
                }
                replanned = true;
                tracing::warn!(job = %job.id, "job changed since it was planned; re-planning");
            } else if is_transient(&error) {
                transient += 1;
                if transient >= MAX_SUBMIT_ATTEMPTS {
                    return Err(format!("giving up after {transient} attempts: {error}"));
                }
                tracing::info!(job = %job.id, %error, "submit failed; re-planning before a retry");
                tokio::time::sleep(crate::nomad::retry::backoff(transient)).await;
            } else {
                return Err(error.to_string());
            }
            match self.replan(spec).await? {
                Replanned::AlreadyApplied => {
                    let version = self.current_version(env, job).await?;
                    return Ok(Submitted {
                        eval_id: None,
                        version,
                        replanned,
                    });
                }
                Replanned::Index(new_index) => index = new_index,
            }
        }
    }

    async fn replan(&self, spec: &Value) -> Result<Replanned, String> {
        let plan = self
            .bounded(self.client.plan(spec))
            .await
            .map_err(|e| format!("re-planning: {e}"))?;
        Ok(match plan.diff.as_ref().map(|d| d.kind.as_str()) {
            Some("None") => Replanned::AlreadyApplied,
            _ => Replanned::Index(plan.job_modify_index),
        })
    }

    /// The job's version as Nomad stores it now.
    pub(super) async fn current_version(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
    ) -> Result<u64, String> {
        let stored = self
            .bounded(self.client.job(&env.namespace, &job.id))
            .await
            .map_err(|e| format!("reading the job back: {e}"))?
            .ok_or_else(|| "the job vanished right after it was submitted".to_string())?;
        stored
            .get("Version")
            .and_then(Value::as_u64)
            .ok_or_else(|| "Nomad's job has no numeric `Version`".to_string())
    }
}

enum Replanned {
    AlreadyApplied,
    Index(u64),
}
