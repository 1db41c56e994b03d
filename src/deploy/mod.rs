//! `deploy`: render → ensure namespace → plan (concurrently) → submit what changed with
//! check-and-set → watch the rollouts → one report per job.
//!
//! The phases are separate functions so the CLI can show the plan and ask before submitting,
//! and so `--plan` stops after planning without a single write.

mod diff;
mod plan;
mod preview;
mod progress;
mod report;
pub mod schedule;
mod submit;
pub mod system;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use crate::ui::{JobLine, Progress};
pub use diff::format_diff;
pub use plan::{plan_environments, Action, EnvPlan, JobPlan};
pub use preview::{planned_outcomes, PlanView};
pub use report::{DeployReport, JobOutcome, JobStatus};
pub use submit::SubmitError;

use crate::nomad::NomadClient;

/// Meta keys opsctl adds to every job it submits: they mark the job as managed (for `--prune`).
pub const META_ENVIRONMENT: &str = "opsctl_environment";
pub const META_CLUSTER: &str = "opsctl_cluster";

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Only these job templates (empty: all of each environment's jobs).
    pub jobs: Vec<String>,
    /// Wait for deployments (and batch/system evaluations) to finish.
    pub wait: bool,
    pub timeout: Duration,
    /// Promote canaries once healthy even when the job does not say `auto_promote`.
    pub promote: bool,
    /// Stop managed jobs of the namespace that are no longer part of the environment.
    pub prune: bool,
    /// Bound on concurrent Nomad requests (plans, submits, namespace calls).
    pub concurrency: usize,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            jobs: Vec::new(),
            wait: true,
            timeout: Duration::from_secs(15 * 60),
            promote: false,
            prune: false,
            concurrency: 16,
        }
    }
}

/// What every phase shares: the client, the request bound and the display.
#[derive(Clone)]
pub struct Deployer {
    pub client: NomadClient,
    pub options: DeployOptions,
    pub progress: Progress,
    permits: Arc<Semaphore>,
}

impl Deployer {
    pub fn new(client: NomadClient, options: DeployOptions, progress: Progress) -> Self {
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Deployer {
            client,
            options,
            progress,
            permits,
        }
    }

    /// Runs `call` while holding one of the request permits.
    async fn bounded<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.ok();
        call.await
    }

    /// Submits every changed job of `plans` and follows the rollouts; one outcome per job,
    /// in plan order. Environments and jobs proceed concurrently (requests stay bounded).
    pub async fn apply(&self, plans: &[EnvPlan]) -> Vec<JobOutcome> {
        let per_env = plans.iter().map(|env| self.apply_env(env));
        futures::future::join_all(per_env)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn apply_env(&self, env: &EnvPlan) -> Vec<JobOutcome> {
        if let Err(error) = self.ensure_namespace(env).await {
            return env
                .jobs
                .iter()
                .map(|job| JobOutcome::from_plan(env, job).failed(format!("namespace: {error}")))
                .collect();
        }
        let jobs = env.jobs.iter().map(|job| async move {
            if job.action == Action::Unchanged {
                JobOutcome::from_plan(env, job).with_status(JobStatus::Unchanged)
            } else {
                self.apply_job(env, job).await
            }
        });
        futures::future::join_all(jobs).await
    }

    async fn apply_job(&self, env: &EnvPlan, job: &JobPlan) -> JobOutcome {
        let outcome = JobOutcome::from_plan(env, job);
        let line = self.progress.job(&env.environment, &job.id);
        if job.action == Action::Stop {
            line.set("stopping");
            let result = self
                .bounded(self.client.deregister(&env.namespace, &job.id, false))
                .await;
            return match result {
                Ok(_) => {
                    line.finish("stopped");
                    outcome.with_status(JobStatus::Stopped)
                }
                Err(e) => {
                    line.fail(&format!("stop failed: {e}"));
                    outcome.failed(e.to_string())
                }
            };
        }
        line.set("submitting");
        let submitted = match self.submit(env, job).await {
            Ok(submitted) => submitted,
            Err(reason) => {
                line.fail(&format!("submit failed: {reason}"));
                return outcome.failed(reason.to_string());
            }
        };
        let outcome = outcome.submitted(&submitted);
        if !self.options.wait {
            line.finish(&format!("submitted as version {}", submitted.version));
            return outcome.with_status(JobStatus::Submitted);
        }
        let watched = tokio::time::timeout(
            self.options.timeout,
            self.watch(env, job, &submitted, &line),
        )
        .await;
        let outcome = match watched {
            Ok(result) => outcome.watched(result),
            Err(_) => outcome.timed_out(self.options.timeout),
        };
        if outcome.status.is_failure() {
            line.fail(&outcome.final_line());
        } else {
            line.finish(&outcome.final_line());
        }
        outcome
    }

    async fn ensure_namespace(&self, env: &EnvPlan) -> Result<(), crate::nomad::NomadError> {
        if env.namespace_exists {
            return Ok(());
        }
        let namespace = crate::nomad::types::Namespace {
            name: env.namespace.clone(),
            description: env.description.clone(),
            meta: Some(
                [
                    (META_ENVIRONMENT.to_string(), env.environment.clone()),
                    (META_CLUSTER.to_string(), env.cluster.clone()),
                ]
                .into(),
            ),
        };
        self.bounded(self.client.upsert_namespace(&namespace)).await
    }
}
