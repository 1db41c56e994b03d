//! Following a submitted job to its end: service jobs through their deployment (blocking
//! queries, canary promotion, auto-revert), batch and system jobs through their evaluation and
//! allocations.

use std::time::Duration;

use super::progress::JobLine;
use super::submit::Submitted;
use super::{Deployer, EnvPlan, JobPlan};
use crate::nomad::types::{AllocationStub, Deployment};

/// How long one blocking query may wait before it is renewed.
const BLOCKING_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub enum Watched {
    Healthy {
        deployment: Option<Deployment>,
    },
    /// Canaries are healthy; promotion is left to the operator.
    AwaitingPromotion {
        deployment: Deployment,
    },
    Failed {
        reason: String,
        deployment: Option<Deployment>,
        /// The version Nomad rolled back to (auto-revert).
        reverted_to: Option<u64>,
        /// The version running now, when it differs from the submitted one.
        running_version: Option<u64>,
    },
}

impl Deployer {
    pub(super) async fn watch(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
    ) -> Watched {
        let result = if job.kind == "service" {
            match self.find_deployment(env, job, submitted, line).await {
                Ok(Some(deployment)) => self.follow_deployment(env, job, deployment, line).await,
                Ok(None) => self.follow_allocations(env, job, submitted, line).await,
                Err(reason) => Err(reason),
            }
        } else {
            self.follow_allocations(env, job, submitted, line).await
        };
        result.unwrap_or_else(|reason| Watched::Failed {
            reason,
            deployment: None,
            reverted_to: None,
            running_version: None,
        })
    }

    /// The deployment Nomad creates for the submitted version; `None` when the evaluation
    /// finished without one (a job without an update strategy, or no allocation change).
    async fn find_deployment(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
    ) -> Result<Option<Deployment>, String> {
        line.set("waiting for the scheduler");
        let mut pause = Duration::from_millis(50);
        let mut evaluation_done = false;
        loop {
            let latest = self
                .bounded(self.client.latest_deployment(&env.namespace, &job.id))
                .await
                .map_err(|e| e.to_string())?;
            match latest {
                Some(d) if d.job_version == submitted.version => return Ok(Some(d)),
                Some(d) if d.job_version > submitted.version => {
                    return Err(format!(
                        "version {} was superseded by version {} before it rolled out",
                        submitted.version, d.job_version
                    ))
                }
                _ => {}
            }
            // One more look after the evaluation completed: the deployment is created by it.
            if evaluation_done {
                return Ok(None);
            }
            evaluation_done = match &submitted.eval_id {
                Some(id) => {
                    let evaluation = self
                        .bounded(self.client.evaluation(id))
                        .await
                        .map_err(|e| e.to_string())?;
                    matches!(
                        evaluation.status.as_str(),
                        "complete" | "failed" | "canceled"
                    )
                }
                None => true,
            };
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn follow_deployment(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        mut deployment: Deployment,
        line: &JobLine,
    ) -> Result<Watched, String> {
        let mut promoted = false;
        let mut index = deployment.modify_index.max(1);
        loop {
            line.set(&describe(&deployment));
            if deployment.is_terminal() {
                return Ok(match deployment.status.as_str() {
                    "successful" => Watched::Healthy {
                        deployment: Some(deployment),
                    },
                    _ => {
                        let reverted_to = reverted_version(&deployment.status_description);
                        let running_version = match reverted_to {
                            Some(_) => self.current_version(env, job).await.ok(),
                            None => None,
                        };
                        Watched::Failed {
                            reason: format!(
                                "deployment {}: {}",
                                deployment.status, deployment.status_description
                            ),
                            deployment: Some(deployment),
                            reverted_to,
                            running_version,
                        }
                    }
                });
            }
            if deployment.awaits_promotion() && !promoted {
                let auto = deployment.task_groups.values().any(|g| g.auto_promote);
                if self.options.promote && !auto {
                    line.set("promoting canaries");
                    self.bounded(self.client.promote_deployment(&deployment.id))
                        .await
                        .map_err(|e| format!("promoting deployment {}: {e}", deployment.id))?;
                    promoted = true;
                } else if !auto {
                    return Ok(Watched::AwaitingPromotion { deployment });
                }
            }
            let (next, meta) = self
                .client
                .deployment(&deployment.id, index, BLOCKING_WAIT)
                .await
                .map_err(|e| e.to_string())?;
            if meta.index <= index {
                // A server that ignores blocking queries must not turn this into a busy loop.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            index = meta.index.max(index);
            deployment = next;
        }
    }

    /// Batch and system jobs (and service jobs without a deployment): the allocations of the
    /// submitted version until they are all complete (batch) or running (others).
    async fn follow_allocations(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
    ) -> Result<Watched, String> {
        let batch = matches!(job.kind.as_str(), "batch" | "sysbatch");
        let mut index = 0;
        let mut evaluation_checked = false;
        loop {
            let (allocations, meta) = self
                .client
                .job_allocations(&env.namespace, &job.id, index, BLOCKING_WAIT)
                .await
                .map_err(|e| e.to_string())?;
            if index > 0 && meta.index <= index {
                // A server that ignores blocking queries must not turn this into a busy loop.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            index = meta.index.max(index).max(1);
            let ours: Vec<&AllocationStub> = allocations
                .iter()
                .filter(|a| a.job_version == submitted.version && a.desired_status != "stop")
                .collect();
            let failed: Vec<&&AllocationStub> = ours
                .iter()
                .filter(|a| matches!(a.client_status.as_str(), "failed" | "lost"))
                .collect();
            if let Some(first) = failed.first() {
                return Err(format!(
                    "{} of {} allocations failed (first: {} on {})",
                    failed.len(),
                    ours.len(),
                    first.name,
                    if first.node_name.is_empty() {
                        &first.node_id
                    } else {
                        &first.node_name
                    }
                ));
            }
            let settled = |a: &&AllocationStub| {
                if batch {
                    a.client_status == "complete"
                } else {
                    a.client_status == "running"
                }
            };
            let done = ours.iter().filter(|a| settled(a)).count();
            line.set(&format!(
                "{done}/{} allocations {}",
                ours.len(),
                if batch { "complete" } else { "running" }
            ));
            if !ours.is_empty() && done == ours.len() {
                return Ok(Watched::Healthy { deployment: None });
            }
            if ours.is_empty() && !evaluation_checked {
                if let Some(reason) = self.placement_failure(submitted).await? {
                    return Err(reason);
                }
                evaluation_checked = true;
            }
        }
    }

    /// Why the evaluation could not place anything, when it says so.
    async fn placement_failure(&self, submitted: &Submitted) -> Result<Option<String>, String> {
        let Some(id) = &submitted.eval_id else {
            return Ok(None);
        };
        let evaluation = self
            .bounded(self.client.evaluation(id))
            .await
            .map_err(|e| e.to_string())?;
        let groups: Vec<String> = evaluation
            .failed_tg_allocs
            .unwrap_or_default()
            .into_keys()
            .collect();
        Ok((!groups.is_empty())
            .then(|| format!("Nomad could not place task group(s) {}", groups.join(", "))))
    }
}

fn describe(deployment: &Deployment) -> String {
    let (healthy, desired) = deployment.task_groups.values().fold((0, 0), |(h, d), g| {
        (h + g.healthy_allocs, d + g.desired_total)
    });
    let id = deployment.id.get(..8).unwrap_or(&deployment.id);
    format!(
        "deployment {id} {}: {healthy}/{desired} healthy",
        deployment.status
    )
}

/// Nomad says "... - rolling back to job version N" when auto-revert kicks in.
fn reverted_version(description: &str) -> Option<u64> {
    let (_, tail) = description.split_once("rolling back to job version ")?;
    tail.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverted_version_is_read_from_nomads_description() {
        assert_eq!(
            reverted_version("Failed due to unhealthy allocations - rolling back to job version 4"),
            Some(4)
        );
        assert_eq!(
            reverted_version("Failed due to unhealthy allocations"),
            None
        );
    }
}
