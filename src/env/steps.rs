//! The two seams to other parts of opsctl, each one small function so they can be swapped:
//! deploying an environment with the deploy flow, and recording files in git.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::deploy::{self, DeployOptions, DeployReport, Deployer, EnvPlan, JobOutcome, Progress};
use crate::error::{Error, Result};
use crate::nomad::NomadClient;
use crate::repo::Repo;

/// Plans `env` with the deploy flow (render → plan); nothing is written to Nomad.
pub async fn plan_env(repo: &Repo, env: &str, client: &NomadClient) -> Result<Vec<EnvPlan>> {
    let deployer = Deployer::new(client.clone(), DeployOptions::default(), Progress::silent());
    deploy::plan_environments(&deployer, repo, &[env.to_string()]).await
}

/// Deploys every job of `env` with the deploy flow: plan, check-and-set submit of what
/// changed, watch the rollouts. The one call into the deploy flow (adapt it here when the
/// flow's entry point changes).
pub async fn deploy_env(
    repo: &Repo,
    env: &str,
    client: &NomadClient,
    timeout: Duration,
    wait: bool,
    progress: Progress,
) -> Result<DeployReport> {
    let options = DeployOptions {
        timeout,
        wait,
        ..DeployOptions::default()
    };
    let deployer = Deployer::new(client.clone(), options, progress);
    let plans = deploy::plan_environments(&deployer, repo, &[env.to_string()]).await?;
    let outcomes: Vec<JobOutcome> = deployer.apply(&plans).await;
    Ok(DeployReport::of_nomad(
        client.address(),
        false,
        &plans,
        outcomes,
    ))
}

/// Plans (`run: None`) or deploys (`run: Some((timeout, wait))`) every job of an ECS
/// environment with the ECS deploy path, creating services that do not exist yet like their
/// `templates` service.
pub async fn deploy_ecs(
    repo: &Repo,
    env: &crate::repo::Environment,
    templates: &std::collections::BTreeMap<String, aws_sdk_ecs::types::Service>,
    run: Option<(Duration, bool)>,
) -> Result<Vec<JobOutcome>> {
    use crate::deploy::{EnvironmentPlan, Rollout};
    let target = crate::ecs::EcsTarget::new(crate::ecs::EcsOptions::default(), Progress::silent())
        .creating(templates.clone());
    let plans = target.plan(repo, std::slice::from_ref(&env.name)).await?;
    Ok(match run {
        None => plans.iter().flat_map(EnvironmentPlan::outcomes).collect(),
        Some((timeout, wait)) => {
            deploy::target::rollout(&target, &plans, deploy::Follow { wait, timeout }).await
        }
    })
}

/// Applies (`destroy: false`) or destroys environment `env`'s terraform workspace (its
/// variant has `infrastructure = true`): the provider's `env` workspace, run with a
/// [`crate::terraform::Session`]. The report lists what the state holds afterwards.
pub async fn env_terraform(
    root: &Path,
    cluster: Option<&str>,
    env: &str,
    settings: &crate::settings::Settings,
    destroy: bool,
) -> Result<crate::terraform::session::EnvTerraformReport> {
    let repo = Repo::open(root, cluster)?;
    let session = crate::terraform::Session::with_terraform(repo, settings, false).await?;
    if destroy {
        session.env_destroy(env).await
    } else {
        session.env_apply(env).await
    }
}

/// What recording files in git did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Recorded {
    pub commit: Option<String>,
    pub pushed: bool,
}

impl Recorded {
    /// The record of a [`crate::git::Git::push_until`] that committed something.
    pub fn of_push(outcome: &crate::git::PushOutcome) -> Option<Self> {
        outcome.commit.clone().map(|commit| Recorded {
            commit: Some(commit),
            pushed: outcome.pushed,
        })
    }
}

/// Commits `files` (paths relative to `root`; removed files are recorded as removals) without
/// pushing (`--push` goes through [`crate::git::Git::push_until`]).
pub async fn commit_in_git(root: &Path, files: &[PathBuf], message: &str) -> Result<Recorded> {
    let commit = crate::git::Git::new(root).commit(files, message).await?;
    Ok(Recorded {
        commit: Some(commit),
        pushed: false,
    })
}

/// Refuses `--push` from a tree whose sync to the remote could lose someone's work.
pub async fn check_pushable(root: &Path) -> Result<()> {
    let git = crate::git::Git::new(root);
    let dirty = git.dirty().await?;
    if !dirty.is_empty() {
        return Err(Error::invalid(format!(
            "--push needs a clean working tree (a rejected push resets to the remote's tip); uncommitted: {}",
            dirty.join(", ")
        )));
    }
    if git.unpushed().await? > 0 {
        return Err(Error::invalid(
            "--push needs a branch without unpushed commits; push or drop them first",
        ));
    }
    git.upstream().await?;
    Ok(())
}

/// The checked-out branch of the repository at `root` (the default environment name).
pub async fn current_branch(root: &Path) -> Result<String> {
    let out = crate::process::Process::new("git", "git rev-parse")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .output()
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "no NAME given and the current git branch is unknown ({e}); pass NAME"
            ))
        })?;
    let branch = out.stdout_text().trim().to_string();
    if branch.is_empty() || branch == "HEAD" {
        return Err(Error::invalid(
            "no NAME given and HEAD is detached (no branch to name the environment after); pass NAME",
        ));
    }
    Ok(branch)
}
