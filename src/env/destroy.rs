//! `env destroy`: purge the jobs opsctl deployed, wait for their allocations to stop, delete
//! the namespace's variables and the namespace, remove the files — then look again and say
//! what is left. Each step skips what is already gone, so a re-run finishes an interrupted
//! destroy and a second destroy is a no-op.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::files;
use super::steps;
use super::EnvError;
use crate::consul::ConsulClient;
use crate::error::{Error, Result};
use crate::nomad::NomadClient;
use crate::output::{Report, Style};
use crate::repo::{Repo, Target};

/// What `env destroy` was asked to do (its command-line flags).
#[derive(Debug, Clone)]
pub struct DestroyRequest {
    /// Name of the environment (or of the namespace, for an orphan).
    pub name: String,
    /// `--force`: also destroy a permanent environment, a namespace opsctl did not make and jobs
    /// it did not deploy.
    pub force: bool,
    /// Commit the removal of the environment's files.
    pub commit: bool,
    /// Push the commit (implies commit); a rejected push is re-applied on the remote's tip.
    pub push: bool,
    /// How long `--push` keeps re-applying on the remote's new tip.
    pub push_timeout: Duration,
    /// Bound on the wait for allocations to stop.
    pub timeout: Duration,
    /// The resolved settings (terraform binary, AWS endpoints) for the environment's terraform
    /// workspace.
    pub settings: crate::settings::Settings,
}

/// What `env destroy` removed, and what is still left.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DestroyReport {
    /// Environment name.
    pub name: String,
    /// Its Nomad namespace.
    pub namespace: String,
    /// The environment file, when there was one.
    pub file: Option<String>,
    /// Nothing existed: a clean no-op.
    pub nothing_to_do: bool,
    /// IDs of the jobs purged from the namespace.
    pub purged_jobs: Vec<String>,
    /// Paths of the Nomad variables deleted from the namespace.
    pub deleted_variables: Vec<String>,
    /// The namespace was deleted.
    pub namespace_deleted: bool,
    /// ECS environments: services scaled to 0 and deleted (`<cluster>/<service>`).
    pub deleted_services: Vec<String>,
    /// ECS environments: task definition revisions deregistered (`family:revision`).
    pub deregistered_task_definitions: Vec<String>,
    /// The environment's terraform workspace, destroyed after the jobs (`infrastructure =
    /// true`); its `resources` are what the state still holds.
    pub terraform: Option<crate::terraform::session::EnvTerraformReport>,
    /// Files removed, relative to the repository.
    pub removed_files: Vec<String>,
    /// The commit made (and whether it was pushed); `None` without `--commit`/`--push` or when
    /// nothing was removed.
    pub git: Option<steps::Recorded>,
    /// What still exists after the destroy (empty: nothing is left).
    pub left: Vec<String>,
}

impl DestroyReport {
    /// True when nothing is left (`left` is empty).
    pub fn complete(&self) -> bool {
        self.left.is_empty()
    }
}

fn nomad_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::failed(format!("{what}: {e}"))
}

/// Destroys environment `req.name` (or an orphaned namespace of that name).
pub async fn destroy(
    root: &std::path::Path,
    cluster: Option<&str>,
    req: &DestroyRequest,
    client: &NomadClient,
    consul: Option<&ConsulClient>,
) -> Result<DestroyReport> {
    let repo = Repo::open(root, cluster)?;
    let env = repo.envs.get(&req.name);
    if let Some(env) = env {
        if !env.is_ad_hoc() && !req.force {
            return Err(EnvError::DestroyPermanent {
                name: env.name.clone(),
                file: env.file.clone(),
            }
            .into());
        }
        let followers: Vec<&str> = repo
            .envs
            .values()
            .filter(|e| e.revisions_from.as_deref() == Some(env.name.as_str()))
            .map(|e| e.name.as_str())
            .collect();
        if !followers.is_empty() {
            return Err(EnvError::Input(format!(
                "environment{} {} follow{} the revisions of `{}`; destroy or change them first",
                if followers.len() == 1 { "" } else { "s" },
                followers.join(", "),
                if followers.len() == 1 { "s" } else { "" },
                env.name
            ))
            .into());
        }
    }
    if req.commit && req.push {
        steps::check_pushable(root).await?;
    }
    let ecs_env = env.filter(|e| e.target == Target::Ecs);
    let namespace = env.map_or_else(|| req.name.clone(), |e| e.namespace.clone());
    let mut report = DestroyReport {
        name: req.name.clone(),
        namespace: namespace.clone(),
        file: env.map(|e| e.file.clone()),
        ..DestroyReport::default()
    };
    if let Some(env) = ecs_env {
        // An ECS environment has no Nomad namespace: its services and task definitions go.
        let teardown = crate::ecs::lifecycle::teardown(&repo, env, req.force).await?;
        report.deleted_services = teardown.deleted_services;
        report.deregistered_task_definitions = teardown.deregistered_task_definitions;
    }
    let ns = match ecs_env {
        Some(_) => None,
        None => client
            .namespace(&namespace)
            .await
            .map_err(|e| nomad_error(&format!("reading namespace `{namespace}`"), e))?,
    };
    // The environment the namespace's jobs were deployed for: this one, or for an orphaned
    // namespace (no file), the one its meta names.
    let owner_env = ns
        .as_ref()
        .and_then(super::namespace_owner_env)
        .map(str::to_string);
    if let Some(ns) = &ns {
        let ours = match (env, owner_env.as_deref()) {
            (Some(env), Some(owner)) => owner == env.name,
            (None, Some(owner)) => owner == req.name || super::list::is_orphan(&repo, ns),
            (_, None) => false,
        };
        if !ours && !req.force {
            return Err(EnvError::NamespaceTaken {
                namespace: namespace.clone(),
                name: req.name.clone(),
                why: "opsctl did not create it; pass --force to delete it anyway".into(),
            }
            .into());
        }
    }
    let rev_dir = root.join("revisions").join(&req.name);
    if env.is_none() && ns.is_none() && !rev_dir.is_dir() {
        report.nothing_to_do = true;
        report.left = verify(root, &report, client, consul, None).await;
        return Ok(report);
    }

    if ns.is_some() {
        let jobs = client
            .jobs(&namespace)
            .await
            .map_err(|e| nomad_error(&format!("listing jobs in `{namespace}`"), e))?;
        let foreign: Vec<&str> = jobs
            .iter()
            .filter(|j| {
                j.meta
                    .as_ref()
                    .and_then(|m| m.get(crate::deploy::META_ENVIRONMENT))
                    .map(String::as_str)
                    != Some(owner_env.as_deref().unwrap_or(&req.name))
            })
            .map(|j| j.id.as_str())
            .collect();
        if !foreign.is_empty() && !req.force {
            return Err(EnvError::Input(format!(
                "namespace `{namespace}` runs job(s) opsctl did not deploy for `{}`: {}; nothing was touched (pass --force to purge them too)",
                req.name,
                foreign.join(", ")
            ))
            .into());
        }
        for job in &jobs {
            client
                .purge_job(&namespace, &job.id)
                .await
                .map_err(|e| nomad_error(&format!("purging job `{}`", job.id), e))?;
            report.purged_jobs.push(job.id.clone());
        }
        wait_terminal(client, &namespace, req.timeout).await?;
        for var in client
            .variables(&namespace)
            .await
            .map_err(|e| nomad_error(&format!("listing variables of `{namespace}`"), e))?
        {
            client
                .delete_variable(&namespace, &var.path)
                .await
                .map_err(|e| nomad_error(&format!("deleting variable `{}`", var.path), e))?;
            report.deleted_variables.push(var.path);
        }
        client
            .delete_namespace(&namespace)
            .await
            .map_err(|e| nomad_error(&format!("deleting namespace `{namespace}`"), e))?;
        report.namespace_deleted = true;
    }

    let infrastructure = env
        .and_then(|e| repo.variant(e))
        .is_some_and(|v| v.infrastructure);
    if infrastructure {
        report.terraform =
            Some(steps::env_terraform(root, cluster, &req.name, &req.settings, true).await?);
    }

    let env_file = env.map(|e| e.file.clone());
    let remove = || -> Result<Vec<String>> {
        let mut removed = Vec::new();
        if let Some(file) = &env_file {
            if files::remove(&root.join(file))? {
                removed.push(file.clone());
            }
        }
        if files::remove(&rev_dir)? {
            removed.push(format!("revisions/{}", req.name));
        }
        Ok(removed)
    };
    let message = format!("env destroy {}", req.name);
    if req.commit && req.push {
        // The files are removed on the remote's newest tip, again after each lost race, until
        // the removal lands or the push timeout is spent (the CI revision flow's loop).
        let (removed, pushed) = crate::git::Git::new(root)
            .push_until(crate::git::PushBudget::new(req.push_timeout), async |_| {
                let removed = remove()?;
                let commit = (!removed.is_empty())
                    .then(|| (removed.iter().map(PathBuf::from).collect(), message.clone()));
                Ok(crate::git::Staged {
                    value: removed,
                    commit,
                })
            })
            .await
            .map_err(crate::revisions::push_error)?;
        report.removed_files = removed;
        report.git = steps::Recorded::of_push(&pushed);
    } else {
        report.removed_files = remove()?;
        if req.commit && !report.removed_files.is_empty() {
            let paths: Vec<PathBuf> = report.removed_files.iter().map(PathBuf::from).collect();
            report.git = Some(steps::commit_in_git(root, &paths, &message).await?);
        }
    }
    let left = verify(root, &report, client, consul, ecs_env.map(|e| (&repo, e))).await;
    report.left.extend(left);
    Ok(report)
}

/// Waits (bounded) until every allocation of `namespace` has stopped on its client.
async fn wait_terminal(client: &NomadClient, namespace: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let allocs = client
            .allocations(namespace)
            .await
            .map_err(|e| nomad_error(&format!("listing allocations of `{namespace}`"), e))?;
        let running: Vec<&str> = allocs
            .iter()
            .filter(|a| !matches!(a.client_status.as_str(), "complete" | "failed" | "lost"))
            .map(|a| a.id.as_str())
            .collect();
        if running.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::failed(format!(
                "{} allocation(s) of `{namespace}` still not stopped after {}: {}; run env destroy again",
                running.len(),
                humantime::format_duration(timeout),
                running.join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Looks again: namespace, jobs, variables, Consul services, files; for an ECS environment
/// (`ecs`), its ECS services and task definitions instead of Nomad and Consul.
async fn verify(
    root: &std::path::Path,
    report: &DestroyReport,
    client: &NomadClient,
    consul: Option<&ConsulClient>,
    ecs: Option<(&Repo, &crate::repo::Environment)>,
) -> Vec<String> {
    let ns = &report.namespace;
    let mut left = Vec::new();
    if let Some(tf) = &report.terraform {
        left.extend(
            tf.resources
                .iter()
                .map(|r| format!("terraform resource `{r}` in {}", tf.state_key)),
        );
    }
    if let Some((repo, env)) = ecs {
        left.extend(crate::ecs::lifecycle::leftovers(repo, env).await);
        left.extend(file_leftovers(root, report));
        return left;
    }
    match client.namespace(ns).await {
        Ok(Some(_)) => left.push(format!("Nomad namespace `{ns}`")),
        Ok(None) => {}
        Err(e) => left.push(format!("unknown: Nomad namespace `{ns}` ({e})")),
    }
    match client.jobs(ns).await {
        Ok(jobs) => left.extend(
            jobs.iter()
                .map(|j| format!("Nomad job `{}` in `{ns}`", j.id)),
        ),
        Err(e) => left.push(format!("unknown: jobs in `{ns}` ({e})")),
    }
    if let Some(consul) = consul {
        match consul.services().await {
            Ok(services) => {
                let suffix = format!("-{ns}");
                left.extend(
                    services
                        .iter()
                        .filter(|(name, tags)| name.ends_with(&suffix) || tags.contains(ns))
                        .map(|(name, _)| format!("Consul service `{name}`")),
                );
            }
            Err(e) => left.push(format!("unknown: Consul services ({e})")),
        }
    }
    left.extend(file_leftovers(root, report));
    left
}

fn file_leftovers(root: &std::path::Path, report: &DestroyReport) -> Vec<String> {
    let mut left = Vec::new();
    if let Some(file) = &report.file {
        if root.join(file).exists() {
            left.push(format!("file {file}"));
        }
    }
    if root.join("revisions").join(&report.name).exists() {
        left.push(format!("folder revisions/{}", report.name));
    }
    left
}

impl Report for DestroyReport {
    fn human(&self, style: &Style) -> String {
        let mut out = String::new();
        if self.nothing_to_do && self.left.is_empty() {
            return format!(
                "nothing to destroy: no environment, namespace or files named `{}`\n",
                self.name
            );
        }
        for job in &self.purged_jobs {
            out.push_str(&format!("purged job {job}\n"));
        }
        for var in &self.deleted_variables {
            out.push_str(&format!("deleted variable {var}\n"));
        }
        for service in &self.deleted_services {
            out.push_str(&format!("deleted ECS service {service}\n"));
        }
        for task in &self.deregistered_task_definitions {
            out.push_str(&format!("deregistered task definition {task}\n"));
        }
        if self.namespace_deleted {
            out.push_str(&format!("deleted namespace {}\n", self.namespace));
        }
        if let Some(tf) = &self.terraform {
            out.push_str(&format!("destroyed terraform workspace {}\n", tf.state_key));
        }
        for file in &self.removed_files {
            out.push_str(&format!("removed {file}\n"));
        }
        if let Some(commit) = self.git.as_ref().and_then(|g| g.commit.as_ref()) {
            out.push_str(&format!(
                "committed {}\n",
                commit.get(..12).unwrap_or(commit)
            ));
        }
        if self.left.is_empty() {
            out.push_str(&style.good(&format!(
                "environment {} destroyed: nothing is left\n",
                self.name
            )));
        } else {
            out.push_str(&style.bad(&format!("{} is not fully destroyed; left:\n", self.name)));
            for item in &self.left {
                out.push_str(&format!("  {item}\n"));
            }
        }
        out
    }
}
