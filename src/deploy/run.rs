//! The `opsctl deploy` use-case: which environments, their Nomad and ECS plans, then (after
//! the command's confirmation) the rollouts and one report. The command file only parses,
//! asks and prints.

use std::collections::BTreeMap;

use crate::ecs::{EcsOptions, EcsTarget};
use crate::error::Result;
use crate::nomad::NomadClient;
use crate::output::Style;
use crate::repo::{Repo, Target};
use crate::revisions::Applied;

use super::target::{self, Follow, PlannedTarget, Rollout};
use super::{DeployOptions, DeployReport, Deployer, JobOutcome, Progress};

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

/// A planned deploy: every target's plans of its environments (Nomad, then ECS). Nothing
/// has been changed yet; [`Planned::apply`] does it.
pub struct Planned {
    nomad: String,
    targets: Vec<Box<dyn PlannedTarget>>,
    follow: Follow,
    progress: Progress,
    plan_only: bool,
    revisions: Option<Applied>,
}

/// Plans `request` with each target that has environments in it (Nomad through `client`);
/// progress goes to `progress`.
pub async fn plan(
    repo: &Repo,
    client: NomadClient,
    request: DeployRequest,
    progress: Progress,
) -> Result<Planned> {
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
    // Targets in their declared order (Nomad, then ECS), environments in the asked order.
    let mut by_target: BTreeMap<Target, Vec<String>> = BTreeMap::new();
    for name in names {
        by_target
            .entry(repo.env(&name)?.target)
            .or_default()
            .push(name);
    }
    let nomad = client.address().to_string();
    let follow = request.options.follow();
    let mut targets: Vec<Box<dyn PlannedTarget>> = Vec::new();
    for (target, envs) in by_target {
        targets.push(match target {
            Target::Nomad => {
                let deployer =
                    Deployer::new(client.clone(), request.options.clone(), progress.clone());
                planned(deployer, repo, &envs).await?
            }
            Target::Ecs => {
                let options = EcsOptions {
                    jobs: request.options.jobs.clone(),
                    force_new_deployment: request.force_new_deployment,
                };
                planned(EcsTarget::new(options, progress.clone()), repo, &envs).await?
            }
        });
    }
    Ok(Planned {
        nomad,
        targets,
        follow,
        progress,
        plan_only: request.plan_only,
        revisions: request.revisions,
    })
}

/// `target`'s plans of `envs`.
async fn planned<T: Rollout + 'static>(
    target: T,
    repo: &Repo,
    envs: &[String],
) -> Result<Box<dyn PlannedTarget>> {
    let plans = target.plan(repo, envs).await?;
    Ok(Box::new(target::Planned { target, plans }))
}

impl Planned {
    /// Jobs and services that would change.
    pub fn changes(&self) -> usize {
        self.targets.iter().map(|t| t.changes()).sum()
    }

    /// True when there is nothing to apply: `--plan`, or no change anywhere.
    pub fn is_final(&self) -> bool {
        self.plan_only || self.changes() == 0
    }

    /// The diff of every change, for the preview before the question or with `--plan`.
    pub fn preview(&self, style: &Style) -> String {
        self.targets.iter().map(|t| t.preview(style)).collect()
    }

    fn report_of(&self, plan_only: bool, jobs: Vec<JobOutcome>) -> DeployReport {
        let environments = self.targets.iter().flat_map(|t| t.summaries()).collect();
        let mut report =
            DeployReport::new(&self.nomad, plan_only, environments, self.changes(), jobs);
        report.revisions = self.revisions.clone();
        report
    }

    /// The report of the plan itself (`--plan`, or a deploy with nothing to change).
    pub fn report(&self) -> DeployReport {
        let outcomes = self.targets.iter().flat_map(|t| t.outcomes()).collect();
        self.report_of(self.plan_only, outcomes)
    }

    /// Applies the plan: every target's rollout at once (Nomad's check-and-set submits, ECS
    /// service updates), each job watched to its end (unless `--no-wait`); one report.
    pub async fn apply(self) -> Result<DeployReport> {
        let rollouts = self.targets.iter().map(|t| t.apply(self.follow));
        let outcomes = futures::future::join_all(rollouts)
            .await
            .into_iter()
            .flatten()
            .collect();
        self.progress.flush();
        Ok(self.report_of(false, outcomes))
    }
}
