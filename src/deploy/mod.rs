//! `deploy`: render → ensure namespace → plan (concurrently) → submit what changed with
//! check-and-set → watch the rollouts → one report per job.
//!
//! The phases are separate functions so the CLI can show the plan and ask before submitting,
//! and so `--plan` stops after planning without a single write.

mod diff;
mod feed;
mod outcome;
mod plan;
mod preview;
mod progress;
mod record;
mod report;
mod run;
pub mod schedule;
mod submit;
pub mod system;
pub mod target;
mod watch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use crate::ui::{JobLine, Progress};
pub use diff::format_diff;
pub use outcome::{EcsRef, JobOutcome, JobStatus, NomadRef, TargetRef};
pub use plan::{plan_environments, Action, EnvPlan, JobPlan};
pub use record::{fingerprint, record_path, META_FINGERPRINT, RECORD_PREFIX};
pub use report::{DeployReport, EnvironmentSummary};
pub use run::{plan, DeployRequest, Planned, Selection};
pub use submit::SubmitError;
pub use target::{EnvironmentPlan, Follow, Rollout, Step};

use crate::error::Result;
use crate::nomad::NomadClient;
use submit::Submitted;

/// A Nomad job submitted by [`Deployer`]: which job of the environment's plan, and what
/// the register call answered.
pub struct Submission {
    index: usize,
    submitted: Submitted,
}

impl Rollout for Deployer {
    type Plan = EnvPlan;
    type Submitted = Submission;

    async fn plan(&self, repo: &crate::repo::Repo, envs: &[String]) -> Result<Vec<EnvPlan>> {
        plan_environments(self, repo, envs).await
    }

    async fn submit(&self, plan: &EnvPlan) -> Vec<Step<Submission>> {
        self.submit_env(plan).await
    }

    async fn watch(
        &self,
        plan: &EnvPlan,
        submission: &Submission,
        outcome: JobOutcome,
        line: &JobLine,
    ) -> JobOutcome {
        let job = &plan.jobs[submission.index];
        outcome.watched(self.watch_job(plan, job, &submission.submitted, line).await)
    }

    fn finish(&self) {
        self.feeds.stop();
    }
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

impl DeployOptions {
    /// Whether and how long a rollout with these options follows what it submitted.
    pub fn follow(&self) -> Follow {
        Follow {
            wait: self.wait,
            timeout: self.timeout,
        }
    }
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

    /// Submits every changed job of `plans` and follows the rollouts (the [`target::rollout`]
    /// of Nomad); one outcome per job, in plan order. Environments and jobs proceed
    /// concurrently (requests stay bounded).
    pub async fn apply(&self, plans: &[EnvPlan]) -> Vec<JobOutcome> {
        target::rollout(self, plans, self.options.follow()).await
    }

    /// Submits the environment's changes, then records the deploy (once every submit is
    /// done, so the record is newer than all of them).
    async fn submit_env(&self, env: &EnvPlan) -> Vec<Step<Submission>> {
        if let Err(error) = self.ensure_namespace(env).await {
            return env
                .jobs
                .iter()
                .map(|job| {
                    Step::Done(
                        JobOutcome::from_plan(env, job).failed(format!("namespace: {error}")),
                    )
                })
                .collect();
        }
        let steps = futures::future::join_all(
            env.jobs
                .iter()
                .enumerate()
                .map(|(index, job)| self.submit_job(env, index, job)),
        )
        .await;
        self.record(env, &steps).await;
        steps
    }

    /// Stops, submits or leaves one job; a submitted job is followed afterwards.
    async fn submit_job(&self, env: &EnvPlan, index: usize, job: &JobPlan) -> Step<Submission> {
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
            Ok(submitted) => Step::Submitted {
                outcome: outcome.submitted(&submitted),
                submitted: Submission { index, submitted },
                line,
            },
            Err(reason) => {
                line.fail(&format!("submit failed: {reason}"));
                Step::Done(outcome.failed(reason.to_string()))
            }
        }
    }

    /// Writes the environment's deploy record (see [`record`]) when this deploy asked Nomad
    /// about any of its jobs and every submit went through. A failed submit leaves the old
    /// record, so the next deploy plans the jobs registered since (shown as drift) rather
    /// than trusting a record that may hide someone else's change.
    async fn record(&self, env: &EnvPlan, steps: &[Step<Submission>]) {
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
                    Step::Submitted { submitted, .. } => submitted.submitted.job_modify_index,
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
