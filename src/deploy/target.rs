//! One rollout model for every deploy target. A target ([`Rollout`]) plans its environments,
//! submits one environment's changes and watches each submitted job; [`rollout`] drives any
//! target the same way (environments concurrently, each one's submits then its watches, every
//! watch bounded by `--timeout`, progress lines finished from the outcome), and plans and
//! outcomes are target-neutral ([`EnvironmentPlan`], [`JobOutcome`]). Nomad
//! ([`super::Deployer`]) and ECS ([`crate::ecs::EcsTarget`]) implement it; a new target is a
//! new implementation and one arm in [`super::run`]'s choice of targets.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;

use super::outcome::{JobOutcome, JobStatus};
use super::report::EnvironmentSummary;
use crate::error::Result;
use crate::output::Style;
use crate::repo::Repo;
use crate::ui::JobLine;

/// One environment's plan, as every target's plan answers it.
pub trait EnvironmentPlan: Send + Sync {
    /// Jobs (and other objects, such as a Nomad namespace) the plan would change.
    fn changes(&self) -> usize;
    /// Every job as planned: `Unchanged`, or `Planned` when it would change.
    fn outcomes(&self) -> Vec<JobOutcome>;
    /// The environment's line in the report (Nomad: its namespace); `None` when there is none.
    fn summary(&self) -> Option<EnvironmentSummary>;
    /// The changes as a person reads them before confirming (empty when none).
    fn preview(&self, style: &Style) -> String;
}

/// A job after the submit phase: finished (unchanged, stopped, failed), or submitted and to
/// be watched with what the submit returned.
pub enum Step<S> {
    /// Nothing more to do for this job.
    Done(JobOutcome),
    /// Submitted: `outcome` so far, what [`Rollout::watch`] needs, and the job's progress line.
    Submitted {
        /// The outcome so far (`Submitted`).
        outcome: JobOutcome,
        /// What the target's submit returned.
        submitted: S,
        /// The job's progress line.
        line: JobLine,
    },
}

/// A deploy target: where environments' jobs run and how a change rolls out there.
pub trait Rollout: Send + Sync {
    /// One environment's plan.
    type Plan: EnvironmentPlan;
    /// A submitted job, as [`Rollout::watch`] follows it.
    type Submitted: Send + Sync;

    /// Plans these environments (all of this target), in order. Nothing is changed.
    fn plan(
        &self,
        repo: &Repo,
        envs: &[String],
    ) -> impl Future<Output = Result<Vec<Self::Plan>>> + Send;

    /// Makes one environment's changes; one step per job of the plan, in plan order.
    fn submit(&self, plan: &Self::Plan) -> impl Future<Output = Vec<Step<Self::Submitted>>> + Send;

    /// Follows one submitted job of `plan` to where its rollout ends. [`rollout`] bounds it by
    /// the timeout.
    fn watch(
        &self,
        plan: &Self::Plan,
        submitted: &Self::Submitted,
        outcome: JobOutcome,
        line: &JobLine,
    ) -> impl Future<Output = JobOutcome> + Send;

    /// Called once every watch of a rollout ended (to close what the watches shared).
    fn finish(&self) {}
}

/// Whether and how long [`rollout`] follows what it submitted.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    /// Watch the rollouts (off with `--no-wait`).
    pub wait: bool,
    /// How long each job's watch may take (`--timeout`).
    pub timeout: Duration,
}

/// Applies `plans` with `target`: environments concurrently; in each, every submit, then
/// every submitted job watched (unless `follow.wait` is off) within `follow.timeout`. One
/// outcome per job, in plan order.
pub async fn rollout<T: Rollout>(target: &T, plans: &[T::Plan], follow: Follow) -> Vec<JobOutcome> {
    let per_env = plans.iter().map(|plan| async move {
        let steps = target.submit(plan).await;
        let watched = steps
            .into_iter()
            .map(|step| finish_step(target, plan, step, follow));
        futures::future::join_all(watched).await
    });
    let outcomes = futures::future::join_all(per_env).await;
    target.finish();
    outcomes.into_iter().flatten().collect()
}

async fn finish_step<T: Rollout>(
    target: &T,
    plan: &T::Plan,
    step: Step<T::Submitted>,
    follow: Follow,
) -> JobOutcome {
    let (outcome, submitted, line) = match step {
        Step::Done(outcome) => return outcome,
        Step::Submitted {
            outcome,
            submitted,
            line,
        } => (outcome, submitted, line),
    };
    if !follow.wait {
        line.finish(&match outcome.version_after {
            Some(version) => format!("submitted as version {version}"),
            None => "submitted".to_string(),
        });
        return outcome.with_status(JobStatus::Submitted);
    }
    let watched = tokio::time::timeout(
        follow.timeout,
        target.watch(plan, &submitted, outcome.clone(), &line),
    )
    .await;
    let outcome = match watched {
        Ok(outcome) => outcome,
        Err(_) => outcome.timed_out(follow.timeout),
    };
    if outcome.status.is_failure() {
        line.fail(&outcome.final_line());
    } else {
        line.finish(&outcome.final_line());
    }
    outcome
}

/// A target with its plans, whatever the target: what [`super::Planned`] holds, one per
/// target with environments in the deploy.
pub(super) trait PlannedTarget: Send + Sync {
    /// Every plan's changes.
    fn changes(&self) -> usize;
    /// Every job as planned.
    fn outcomes(&self) -> Vec<JobOutcome>;
    /// The report's environment lines.
    fn summaries(&self) -> Vec<EnvironmentSummary>;
    /// The changes as a person reads them.
    fn preview(&self, style: &Style) -> String;
    /// Applies the plans ([`rollout`]).
    fn apply(&self, follow: Follow) -> BoxFuture<'_, Vec<JobOutcome>>;
}

/// A target and its plans.
pub(super) struct Planned<T: Rollout> {
    /// The target.
    pub target: T,
    /// Its environments' plans.
    pub plans: Vec<T::Plan>,
}

impl<T: Rollout> PlannedTarget for Planned<T> {
    fn changes(&self) -> usize {
        self.plans.iter().map(EnvironmentPlan::changes).sum()
    }

    fn outcomes(&self) -> Vec<JobOutcome> {
        self.plans
            .iter()
            .flat_map(EnvironmentPlan::outcomes)
            .collect()
    }

    fn summaries(&self) -> Vec<EnvironmentSummary> {
        self.plans
            .iter()
            .filter_map(EnvironmentPlan::summary)
            .collect()
    }

    fn preview(&self, style: &Style) -> String {
        self.plans.iter().map(|p| p.preview(style)).collect()
    }

    fn apply(&self, follow: Follow) -> BoxFuture<'_, Vec<JobOutcome>> {
        Box::pin(rollout(&self.target, &self.plans, follow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{Action, EcsRef, TargetRef};
    use crate::ui::Progress;

    /// A target whose jobs take as long to roll out as their name says (`slow`: forever).
    struct Toy {
        progress: Progress,
    }

    struct ToyPlan {
        env: String,
        jobs: Vec<(&'static str, Action)>,
    }

    fn outcome(env: &str, job: &str, action: Action) -> JobOutcome {
        let target = TargetRef::Ecs(EcsRef {
            cluster: "toy".into(),
            service: job.into(),
        });
        JobOutcome::new(env, job, target, action)
    }

    impl EnvironmentPlan for ToyPlan {
        fn changes(&self) -> usize {
            self.jobs
                .iter()
                .filter(|(_, a)| *a != Action::Unchanged)
                .count()
        }
        fn outcomes(&self) -> Vec<JobOutcome> {
            self.jobs
                .iter()
                .map(|(j, a)| outcome(&self.env, j, *a))
                .collect()
        }
        fn summary(&self) -> Option<EnvironmentSummary> {
            None
        }
        fn preview(&self, _: &Style) -> String {
            String::new()
        }
    }

    impl Rollout for Toy {
        type Plan = ToyPlan;
        type Submitted = u64;

        async fn plan(&self, _: &Repo, envs: &[String]) -> Result<Vec<ToyPlan>> {
            Ok(envs
                .iter()
                .map(|env| ToyPlan {
                    env: env.clone(),
                    jobs: vec![
                        ("same", Action::Unchanged),
                        ("quick", Action::Edited),
                        ("slow", Action::New),
                    ],
                })
                .collect())
        }

        async fn submit(&self, plan: &ToyPlan) -> Vec<Step<u64>> {
            plan.jobs
                .iter()
                .map(|(job, action)| {
                    let outcome = outcome(&plan.env, job, *action);
                    if *action == Action::Unchanged {
                        return Step::Done(outcome.with_status(JobStatus::Unchanged));
                    }
                    let mut outcome = outcome;
                    outcome.version_after = Some(7);
                    Step::Submitted {
                        outcome,
                        submitted: if *job == "slow" { u64::MAX } else { 1 },
                        line: self.progress.job(&plan.env, job),
                    }
                })
                .collect()
        }

        async fn watch(&self, _: &ToyPlan, ms: &u64, mut o: JobOutcome, _: &JobLine) -> JobOutcome {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            o.status = JobStatus::Healthy;
            o
        }
    }

    fn statuses(outcomes: &[JobOutcome]) -> Vec<(String, JobStatus)> {
        outcomes
            .iter()
            .map(|o| (format!("{}/{}", o.environment, o.job), o.status))
            .collect()
    }

    #[tokio::test]
    async fn any_target_rolls_out_alike_in_plan_order_within_the_timeout() {
        let toy = Toy {
            progress: Progress::silent(),
        };
        let repo = crate::repo::Repo::open(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            Some("plutus"),
        )
        .expect("the worked example opens");
        let envs = ["a".to_string(), "b".to_string()];
        let plans = toy.plan(&repo, &envs).await.unwrap();
        let follow = Follow {
            wait: true,
            timeout: Duration::from_millis(200),
        };
        let outcomes = rollout(&toy, &plans, follow).await;
        use JobStatus::*;
        // Plan order; unchanged jobs pass through; `slow` never ends, so the timeout does.
        let want = |quick, slow| {
            ["a", "b"]
                .iter()
                .flat_map(|env| {
                    [("same", Unchanged), ("quick", quick), ("slow", slow)]
                        .map(|(job, status)| (format!("{env}/{job}"), status))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(statuses(&outcomes), want(Healthy, TimedOut));
        assert!(outcomes[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("within 200ms"));
        assert_eq!(
            outcomes[0].version_after, None,
            "unchanged keeps its versions"
        );

        let no_wait = Follow {
            wait: false,
            ..follow
        };
        let outcomes = rollout(&toy, &plans, no_wait).await;
        assert_eq!(statuses(&outcomes), want(Submitted, Submitted));
        assert_eq!(outcomes[1].version_after, Some(7));
    }
}
