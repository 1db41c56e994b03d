//! Following a submitted job to its real end: service jobs through their deployment (blocking
//! queries, canary promotion, auto-revert); batch, system and sysbatch jobs through their
//! evaluation and allocations (system jobs: one allocation on every eligible node); periodic
//! and parameterized jobs are done once Nomad accepts them (they run on their schedule or on
//! dispatch); a job submitted with `Stop: true` once its evaluation stopped it. A placement
//! failure (`FailedTGAllocs`, a blocked evaluation) ends the watch at once with Nomad's reasons.

use std::collections::BTreeMap;

use serde_json::Value;

use super::feed::{FeedError, Subscription, View};
use super::progress::JobLine;
use super::submit::Submitted;
use super::{Deployer, EnvPlan, JobPlan};
use crate::nomad::types::{placement_reasons, AllocMetric, AllocationStub, Deployment};
use crate::nomad::NomadError;

#[derive(Debug, Clone)]
pub enum Watched {
    Healthy {
        deployment: Option<Deployment>,
    },
    /// Canaries are healthy; promotion is left to the operator.
    AwaitingPromotion {
        deployment: Deployment,
    },
    /// A periodic or parameterized job: registered, it runs on its schedule or on dispatch.
    Registered {
        /// What launches it: `periodic "0 3 * * *" (UTC)`, `dispatch`.
        launches: String,
        /// Periodic jobs: the next launch (RFC 3339, UTC).
        next_launch: Option<String>,
    },
    /// Submitted with `Stop: true`: Nomad stopped its allocations.
    Stopped,
    /// A system or sysbatch job settled on every node it was placed on ([`super::system`]).
    Covered {
        coverage: super::system::Coverage,
    },
    Failed {
        reason: String,
        deployment: Option<Deployment>,
        /// The version Nomad rolled back to (auto-revert).
        reverted_to: Option<u64>,
        /// The version running now, when it differs from the submitted one.
        running_version: Option<u64>,
        /// `FailedTGAllocs` of the evaluation, when placement failed.
        placement: BTreeMap<String, AllocMetric>,
    },
}

/// Why a watch ended without a result.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Nomad(#[from] NomadError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("promoting deployment {id}: {source}")]
    Promote { id: String, source: NomadError },
    #[error("version {submitted} was superseded by version {newer} before it rolled out")]
    Superseded { submitted: u64, newer: u64 },
    #[error("{failed} of {total} allocations failed (first: {first} on {node})")]
    AllocationsFailed {
        failed: usize,
        total: usize,
        first: String,
        node: String,
    },
    #[error("Nomad could not place the job: {}", placement_reasons(.0))]
    Placement(BTreeMap<String, AllocMetric>),
    #[error("evaluation {id} {status}: {description}")]
    Evaluation {
        id: String,
        status: String,
        description: String,
    },
    #[error("the evaluation placed no allocation: no eligible node in datacenter(s) {0}")]
    NoEligibleNode(String),
}

/// What launches a periodic or parameterized job, when `spec` is one.
fn launches(spec: Option<&Value>) -> Option<String> {
    let spec = spec?;
    let periodic = spec
        .get("Periodic")
        .filter(|p| p.is_object() && p.get("Enabled").and_then(Value::as_bool) != Some(false));
    if let Some(periodic) = periodic {
        let cron = periodic
            .get("Spec")
            .or_else(|| periodic.get("Specs").and_then(|s| s.get(0)))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let zone = periodic
            .get("TimeZone")
            .and_then(Value::as_str)
            .filter(|z| !z.is_empty())
            .unwrap_or("UTC");
        return Some(format!("periodic \"{cron}\" ({zone})"));
    }
    spec.get("ParameterizedJob")
        .filter(|p| p.is_object())
        .map(|_| "on dispatch (parameterized)".to_string())
}

fn stops(spec: Option<&Value>) -> bool {
    spec.and_then(|s| s.get("Stop")).and_then(Value::as_bool) == Some(true)
}

impl Deployer {
    /// Follows one submitted job of `env` to where its rollout ends.
    pub(super) async fn watch_job(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
    ) -> Watched {
        let spec = job.spec.as_ref();
        let result = if let Some(mut launches) = launches(spec) {
            // Nomad's plan answers it for changed jobs; otherwise computed as Nomad's CLI does.
            let next_launch = job
                .next_launch
                .clone()
                .or_else(|| super::schedule::next_launch_text(spec));
            if let Some(next) = &next_launch {
                launches.push_str(&format!(", next launch {next}"));
            }
            Ok(Watched::Registered {
                launches,
                next_launch,
            })
        } else {
            let mut feed = self.feeds.subscribe(&self.client, &env.namespace);
            if stops(spec) {
                self.follow_stop(submitted, line, &mut feed).await
            } else if job.kind == "service" {
                match self
                    .find_deployment(env, job, submitted, line, &mut feed)
                    .await
                {
                    Ok(Some(deployment)) => {
                        self.follow_deployment(env, job, deployment, line, &mut feed)
                            .await
                    }
                    Ok(None) => {
                        self.follow_allocations(job, submitted, line, &mut feed)
                            .await
                    }
                    Err(reason) => Err(reason),
                }
            } else {
                self.follow_allocations(job, submitted, line, &mut feed)
                    .await
            }
        };
        result.unwrap_or_else(|error| Watched::Failed {
            reason: error.to_string(),
            deployment: None,
            reverted_to: None,
            running_version: None,
            placement: match error {
                WatchError::Placement(failed) => failed,
                _ => BTreeMap::new(),
            },
        })
    }

    /// `Stop: true`: the evaluation stops the job's allocations.
    async fn follow_stop(
        &self,
        submitted: &Submitted,
        line: &JobLine,
        feed: &mut Subscription,
    ) -> Result<Watched, WatchError> {
        line.set("stopping");
        if submitted.eval_id.is_none() {
            return Ok(Watched::Stopped);
        }
        loop {
            let view = feed.next().await?;
            if let EvalOutcome::Done = evaluation_outcome(&view, submitted)? {
                return Ok(Watched::Stopped);
            }
        }
    }

    /// The deployment Nomad creates for the submitted version; `None` when the evaluation
    /// finished without one (a job without an update strategy, or no allocation change).
    async fn find_deployment(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
        feed: &mut Subscription,
    ) -> Result<Option<Deployment>, WatchError> {
        line.set("waiting for the scheduler");
        loop {
            let view = feed.next().await?;
            let latest = view
                .deployments()
                .iter()
                .filter(|d| d.job_id == job.id)
                .max_by_key(|d| d.create_index)
                .cloned();
            if let Some(found) = self.matching(latest, submitted)? {
                return Ok(Some(found));
            }
            if let EvalOutcome::Done = evaluation_outcome(&view, submitted)? {
                // The evaluation creates the deployment before it completes, but the
                // deployments feed may answer a moment after the evaluations feed: one look
                // at the job's own deployment decides (only for jobs without one in view).
                let latest = self
                    .bounded(self.client.latest_deployment(&env.namespace, &job.id))
                    .await?;
                return self.matching(latest, submitted);
            }
        }
    }

    /// `latest` when it is the submitted version's deployment; an error when a newer
    /// version superseded it.
    fn matching(
        &self,
        latest: Option<Deployment>,
        submitted: &Submitted,
    ) -> Result<Option<Deployment>, WatchError> {
        match latest {
            Some(d) if d.job_version == submitted.version => Ok(Some(d)),
            Some(d) if d.job_version > submitted.version => Err(WatchError::Superseded {
                submitted: submitted.version,
                newer: d.job_version,
            }),
            _ => Ok(None),
        }
    }

    async fn follow_deployment(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        mut deployment: Deployment,
        line: &JobLine,
        feed: &mut Subscription,
    ) -> Result<Watched, WatchError> {
        let mut promoted = false;
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
                            placement: BTreeMap::new(),
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
                        .map_err(|source| WatchError::Promote {
                            id: deployment.id.clone(),
                            source,
                        })?;
                    promoted = true;
                } else if !auto {
                    return Ok(Watched::AwaitingPromotion { deployment });
                }
            }
            // The namespace's deployments feed: on to the deployment's next change.
            deployment = loop {
                let view = feed.next().await?;
                let changed = view
                    .deployments()
                    .iter()
                    .find(|d| d.id == deployment.id && d.modify_index != deployment.modify_index);
                if let Some(changed) = changed {
                    break changed.clone();
                }
            };
        }
    }

    /// Batch and system jobs (and service jobs without a deployment): the allocations of the
    /// submitted version until they are all complete (batch) or running (others).
    async fn follow_allocations(
        &self,
        job: &JobPlan,
        submitted: &Submitted,
        line: &JobLine,
        feed: &mut Subscription,
    ) -> Result<Watched, WatchError> {
        let batch = matches!(job.kind.as_str(), "batch" | "sysbatch");
        let system = matches!(job.kind.as_str(), "system" | "sysbatch");
        loop {
            let view = feed.next().await?;
            let ours: Vec<&AllocationStub> = view
                .allocations()
                .iter()
                .filter(|a| {
                    a.job_id == job.id
                        && a.job_version == submitted.version
                        && a.desired_status != "stop"
                })
                .collect();
            let failed: Vec<&&AllocationStub> = ours
                .iter()
                .filter(|a| matches!(a.client_status.as_str(), "failed" | "lost"))
                .collect();
            if let Some(first) = failed.first() {
                return Err(WatchError::AllocationsFailed {
                    failed: failed.len(),
                    total: ours.len(),
                    first: first.name.clone(),
                    node: if first.node_name.is_empty() {
                        first.node_id.clone()
                    } else {
                        first.node_name.clone()
                    },
                });
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
                if system {
                    return Ok(
                        super::system::settled(&self.client, job.spec.as_ref(), &ours).await,
                    );
                }
                return Ok(Watched::Healthy { deployment: None });
            }
            // A system job's evaluation that placed nothing never will.
            if let EvalOutcome::Done = evaluation_outcome(&view, submitted)? {
                if system && ours.is_empty() {
                    let why = super::system::nothing_placed(&self.client, job.spec.as_ref()).await;
                    return Err(WatchError::NoEligibleNode(why));
                }
            }
        }
    }
}

/// The submitted evaluation's state in the namespace's evaluations feed (pending until it
/// shows up there); its placement failures end the watch.
fn evaluation_outcome(view: &View, submitted: &Submitted) -> Result<EvalOutcome, WatchError> {
    let Some(id) = &submitted.eval_id else {
        return Ok(EvalOutcome::Done);
    };
    let Some(evaluation) = view.evaluation(id) else {
        return Ok(EvalOutcome::Pending);
    };
    if let Some(failed) = evaluation
        .failed_tg_allocs
        .as_ref()
        .filter(|f| !f.is_empty())
    {
        return Err(WatchError::Placement(failed.clone()));
    }
    Ok(match evaluation.status.as_str() {
        "complete" => EvalOutcome::Done,
        "failed" | "canceled" => {
            return Err(WatchError::Evaluation {
                id: evaluation.id.clone(),
                status: evaluation.status.clone(),
                description: evaluation.status_description.clone(),
            })
        }
        _ => EvalOutcome::Pending,
    })
}

enum EvalOutcome {
    Pending,
    Done,
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
