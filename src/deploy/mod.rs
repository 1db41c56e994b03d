//! `deploy`: render → ensure namespace → plan (concurrently) → submit what changed with
//! check-and-set → watch the rollouts → one report per job.
//!
//! The phases are separate functions so the CLI can show the plan and ask before submitting,
//! and so `--plan` stops after planning without a single write.

mod diff;
mod feed;
mod plan;
mod preview;
mod progress;
mod record;
mod report;
mod run;
pub mod schedule;
mod submit;
pub mod system;
mod watch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use crate::ui::{JobLine, Progress};
pub use diff::format_diff;
pub use plan::{plan_environments, Action, EnvPlan, JobPlan};
pub use preview::{planned_outcomes, PlanView};
pub use record::{fingerprint, record_path, META_FINGERPRINT, RECORD_PREFIX};
pub use report::{DeployReport, JobOutcome, JobStatus};
pub use run::{plan, DeployRequest, Planned, Selection};
pub use submit::SubmitError;

use crate::nomad::NomadClient;
use submit::Submitted;

/// A job after the submit phase: done (unchanged, stopped, failed) or submitted and to follow.
enum Step {
    Done(JobOutcome),
    Submitted(JobOutcome, Submitted, JobLine),
}

/// Meta keys opsctl adds to every job it submits: they mark the job as managed (for `--prune`).
pub const META_ENVIRONMENT: &str = "opsctl_environment";
/// Meta key holding the name of the cluster the environment belongs to; also set on the
/// namespace opsctl creates.
pub const META_CLUSTER: &str = "opsctl_cluster";

/// How `opsctl deploy` runs: which jobs, whether to wait, promote and prune, and its bounds.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Only these job templates (empty: all of each environment's jobs).
    pub jobs: Vec<String>,
    /// Wait for deployments (and batch/system evaluations) to finish.
    pub wait: bool,
    /// How long to follow each submitted job's rollout before reporting it as timed out
    /// (default 15 minutes).
    pub timeout: Duration,
    /// Promote canaries once healthy even when the job does not say `auto_promote`.
    pub promote: bool,
    /// Stop managed jobs of the namespace that are no longer part of the environment.
    pub prune: bool,
    /// Bound on concurrent Nomad requests (plans, submits, namespace calls).
    pub concurrency: usize,
    /// Plan every job with Nomad, even those the listing shows unchanged (`--refresh`).
    pub refresh: bool,
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
            refresh: false,
        }
    }
}

/// What every phase shares: the client, the request bound and the display.
#[derive(Clone)]
pub struct Deployer {
    /// Nomad client every phase calls.
    pub client: NomadClient,
    /// The options of this run.
    pub options: DeployOptions,
    /// Per-job progress display.
    pub progress: Progress,
    permits: Arc<Semaphore>,
    /// The blocking-query feeds the watch shares per namespace ([`feed`]).
    feeds: Arc<feed::Feeds>,
}

impl Deployer {
    /// A deployer allowing at most `options.concurrency` (at least 1) Nomad requests at a time.
    pub fn new(client: NomadClient, options: DeployOptions, progress: Progress) -> Self {
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Deployer {
            client,
            options,
            progress,
            permits,
            feeds: Arc::default(),
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
        let outcomes = futures::future::join_all(per_env).await;
        self.feeds.stop();
        outcomes.into_iter().flatten().collect()
    }

    /// Submits the environment's changes, records the deploy (once every submit is done, so
    /// the record is newer than all of them), then follows the rollouts.
    async fn apply_env(&self, env: &EnvPlan) -> Vec<JobOutcome> {
        if let Err(error) = self.ensure_namespace(env).await {
            return env
                .jobs
                .iter()
                .map(|job| JobOutcome::from_plan(env, job).failed(format!("namespace: {error}")))
                .collect();
        }
        let steps =
            futures::future::join_all(env.jobs.iter().map(|job| self.submit_job(env, job))).await;
        self.record(env, &steps).await;
        let finished = steps
            .into_iter()
            .zip(&env.jobs)
            .map(|(step, job)| async move {
                match step {
                    Step::Done(outcome) => outcome,
                    Step::Submitted(outcome, submitted, line) => {
                        self.follow(env, job, outcome, &submitted, &line).await
                    }
                }
            });
        futures::future::join_all(finished).await
    }

    /// Stops, submits or leaves one job; a submitted job is followed afterwards.
    async fn submit_job(&self, env: &EnvPlan, job: &JobPlan) -> Step {
        let outcome = JobOutcome::from_plan(env, job);
        if job.action == Action::Unchanged {
            return Step::Done(outcome.with_status(JobStatus::Unchanged));
        }
        let line = self.progress.job(&env.environment, &job.id);
        if job.action == Action::Stop {
            line.set("stopping");
            let result = self
                .bounded(self.client.deregister(&env.namespace, &job.id, false))
                .await;
            return Step::Done(match result {
                Ok(_) => {
                    line.finish("stopped");
                    outcome.with_status(JobStatus::Stopped)
                }
                Err(e) => {
                    line.fail(&format!("stop failed: {e}"));
                    outcome.failed(e.to_string())
                }
            });
        }
        line.set("submitting");
        match self.submit(env, job).await {
            Ok(submitted) => Step::Submitted(outcome.submitted(&submitted), submitted, line),
            Err(reason) => {
                line.fail(&format!("submit failed: {reason}"));
                Step::Done(outcome.failed(reason.to_string()))
            }
        }
    }

    /// Follows a submitted job's rollout (unless `--no-wait`) to its outcome.
    async fn follow(
        &self,
        env: &EnvPlan,
        job: &JobPlan,
        outcome: JobOutcome,
        submitted: &Submitted,
        line: &JobLine,
    ) -> JobOutcome {
        if !self.options.wait {
            line.finish(&format!("submitted as version {}", submitted.version));
            return outcome.with_status(JobStatus::Submitted);
        }
        let watched =
            tokio::time::timeout(self.options.timeout, self.watch(env, job, submitted, line)).await;
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

    /// Writes the environment's deploy record (see [`record`]) when this deploy asked Nomad
    /// about any of its jobs and every submit went through. A failed submit leaves the old
    /// record, so the next deploy plans the jobs registered since (shown as drift) rather
    /// than trusting a record that may hide someone else's change.
    async fn record(&self, env: &EnvPlan, steps: &[Step]) {
        let asked = env
            .jobs
            .iter()
            .any(|j| j.planned || j.action != Action::Unchanged);
        let failed = steps
            .iter()
            .any(|s| matches!(s, Step::Done(o) if o.status.is_failure()));
        if !asked || failed || env.jobs.is_empty() {
            return;
        }
        let items: BTreeMap<String, String> = steps
            .iter()
            .zip(&env.jobs)
            .filter(|(_, job)| job.action != Action::Stop)
            .map(|(step, job)| {
                let index = match step {
                    Step::Submitted(_, submitted, _) => submitted.job_modify_index,
                    Step::Done(_) => job.job_modify_index,
                };
                (job.id.clone(), index.to_string())
            })
            .collect();
        if items.is_empty() {
            return;
        }
        let path = record_path(&env.environment);
        let written = self
            .bounded(self.client.put_variable(&env.namespace, &path, &items))
            .await;
        if let Err(error) = written {
            tracing::warn!(
                environment = %env.environment, %error,
                "could not write the deploy record; the next deploy plans every job of the environment"
            );
        }
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
