//! The `opsctl deploy` use-case: which environments, their Nomad and ECS plans, then (after
//! the command's confirmation) the rollouts and one report. The command file only parses,
//! asks and prints.

use crate::ecs::EcsOptions;
use crate::error::Result;
use crate::nomad::NomadClient;
use crate::repo::{Repo, Target};
use crate::revisions::Applied;

use super::{
    plan_environments, planned_outcomes, Action, DeployOptions, DeployReport, Deployer, EnvPlan,
    JobOutcome, PlanView, Progress,
};

/// Which environments a deploy covers.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These environments, by name (duplicates next to each other dropped).
    Envs(Vec<String>),
    /// Every environment of the cluster, or only those deploying to one target.
    All(Option<Target>),
}

/// What `opsctl deploy` was asked to do, once the revision files (CI flow) are applied.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The environments.
    pub selection: Selection,
    /// Nomad options (jobs, wait, timeout, promote, prune, concurrency, refresh).
    pub options: DeployOptions,
    /// ECS: start a new deployment even when the task definition is unchanged.
    pub force_new_deployment: bool,
    /// `--plan`: plan only, never apply.
    pub plan_only: bool,
    /// The CI flow's revision update, carried into the report.
    pub revisions: Option<Applied>,
}

/// A planned deploy: every environment's Nomad plan and the ECS services' planned changes.
/// Nothing has been changed yet; [`Planned::apply`] does it.
pub struct Planned<'r> {
    repo: &'r Repo,
    deployer: Deployer,
    plans: Vec<EnvPlan>,
    ecs_envs: Vec<String>,
    ecs_options: EcsOptions,
    ecs_planned: Vec<JobOutcome>,
    ecs_changes: usize,
    plan_only: bool,
    revisions: Option<Applied>,
}

/// Plans `request` against Nomad (through `client`) and ECS; progress goes to `progress`.
pub async fn plan<'r>(
    repo: &'r Repo,
    client: NomadClient,
    request: DeployRequest,
    progress: Progress,
) -> Result<Planned<'r>> {
    let names: Vec<String> = match request.selection {
        Selection::All(target) => repo
            .envs
            .values()
            .filter(|env| target.is_none_or(|t| env.target == t))
            .map(|env| env.name.clone())
            .collect(),
        Selection::Envs(mut names) => {
            names.dedup();
            names
        }
    };
    let mut nomad_envs = Vec::new();
    let mut ecs_envs = Vec::new();
    for name in names {
        match repo.env(&name)?.target {
            Target::Nomad => nomad_envs.push(name),
            Target::Ecs => ecs_envs.push(name),
        }
    }
    let ecs_options = EcsOptions {
        jobs: request.options.jobs.clone(),
        plan_only: true,
        wait: request.options.wait,
        timeout: request.options.timeout,
        force_new_deployment: request.force_new_deployment,
    };
    let deployer = Deployer::new(client, request.options, progress);
    let plans = if nomad_envs.is_empty() {
        Vec::new()
    } else {
        plan_environments(&deployer, repo, &nomad_envs).await?
    };
    let ecs_planned = deploy_ecs(repo, &ecs_envs, &ecs_options).await?;
    let ecs_changes = ecs_planned
        .iter()
        .filter(|o| o.action != Action::Unchanged || request.force_new_deployment)
        .count();
    Ok(Planned {
        repo,
        deployer,
        plans,
        ecs_envs,
        ecs_options,
        ecs_planned,
        ecs_changes,
        plan_only: request.plan_only,
        revisions: request.revisions,
    })
}

impl Planned<'_> {
    /// Jobs and services that would change.
    pub fn changes(&self) -> usize {
        self.plans.iter().map(EnvPlan::changes).sum::<usize>() + self.ecs_changes
    }

    /// True when there is nothing to apply: `--plan`, or no change anywhere.
    pub fn is_final(&self) -> bool {
        self.plan_only || self.changes() == 0
    }

    /// The diff of every change, for the preview before the question or with `--plan`.
    pub fn view(&self) -> PlanView<'_> {
        PlanView {
            plans: &self.plans,
            ecs: &self.ecs_planned,
            force_new_deployment: self.ecs_options.force_new_deployment,
        }
    }

    /// The report of the plan itself (`--plan`, or a deploy with nothing to change).
    pub fn report(&self) -> DeployReport {
        let mut outcomes = planned_outcomes(&self.plans);
        outcomes.extend(self.ecs_planned.iter().cloned());
        let mut report = DeployReport::new(
            self.deployer.client.address(),
            self.plan_only,
            &self.plans,
            outcomes,
        );
        report.changes += self.ecs_changes;
        report.revisions = self.revisions.clone();
        report
    }

    /// Applies the plan: Nomad's check-and-set submits and ECS updates at once, each
    /// watched to its end (unless `--no-wait`); one report.
    pub async fn apply(self) -> Result<DeployReport> {
        let mut ecs_options = self.ecs_options.clone();
        ecs_options.plan_only = false;
        let (mut outcomes, ecs_outcomes) = tokio::join!(
            self.deployer.apply(&self.plans),
            deploy_ecs(self.repo, &self.ecs_envs, &ecs_options)
        );
        outcomes.extend(ecs_outcomes?);
        self.deployer.progress.flush();
        let mut report =
            DeployReport::new(self.deployer.client.address(), false, &self.plans, outcomes);
        report.changes += self.ecs_changes;
        report.revisions = self.revisions;
        Ok(report)
    }
}

/// Every ECS environment of `envs`, one after the other.
async fn deploy_ecs(repo: &Repo, envs: &[String], options: &EcsOptions) -> Result<Vec<JobOutcome>> {
    let mut outcomes = Vec::new();
    for name in envs {
        outcomes.extend(crate::ecs::deploy_env(repo, repo.env(name)?, options).await?);
    }
    Ok(outcomes)
}
