//! `env apply`: everything an ad hoc environment needs, computed first ([`prepare`], no
//! writes), then done ([`apply`]): files, git, namespace, deploy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::files::{self, EnvFields};
use super::naming::{self, EnvName};
use super::steps;
use super::{EnvError, META_CLUSTER, META_CREATED, META_ENV, META_EXPIRES, META_OWNER};
use crate::deploy::{Action, DeployReport, Progress};
use crate::error::{Error, Result};
use crate::nomad::types::Namespace;
use crate::nomad::NomadClient;
use crate::output::{Report, Style};
use crate::repo::{EcsSettings, Environment, Repo, Revision, Target};

/// What `env apply` was asked to do (its command-line flags).
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// Requested name; `None`: the current git branch.
    pub name: Option<String>,
    /// `--from`: environment to copy the variant, target and revisions from; `None`: the
    /// existing environment's, else `staging` (when it exists) for a new environment without
    /// `--variant`.
    pub from: Option<String>,
    /// `--variant`: variant to use without copying an environment; `None`: the existing
    /// environment's or `--from`'s.
    pub variant: Option<String>,
    /// `--ttl` as typed (e.g. `72h`); `None`: the default, [`super::DEFAULT_TTL`].
    pub ttl: Option<String>,
    /// `--track SOURCE=BRANCH` pairs: sources that follow a branch.
    pub track: Vec<(String, String)>,
    /// `--rev SOURCE=SHA` pairs: sources pinned to a commit.
    pub revs: Vec<(String, String)>,
    /// Owner recorded in the file and namespace (`--owner`, else `$USER`).
    pub owner: String,
    /// `--follow`: use `--from`'s revisions instead of a snapshot copy.
    pub follow: bool,
    /// Commit the environment's files.
    pub commit: bool,
    /// Push the commit (implies commit); a rejected push is re-applied on the remote's tip.
    pub push: bool,
    /// How long `--push` keeps re-applying on the remote's new tip ([`crate::git::Git::push_until`]).
    pub push_timeout: Duration,
    /// How long the rollouts (Nomad deployments or ECS services) may take.
    pub timeout: Duration,
    /// Wait for the rollouts (`--no-wait`: return once they are submitted).
    pub wait: bool,
    /// The resolved settings: the terraform binary and AWS endpoints of the environment's
    /// terraform workspace (variants with `infrastructure = true`).
    pub settings: crate::settings::Settings,
}

/// One job of the environment and what applying does to it.
#[derive(Debug, Clone, Serialize)]
pub struct JobLine {
    /// Job ID in Nomad (or the job an ECS service stands for).
    pub id: String,
    /// What applying does to the job.
    pub action: Action,
}

/// Everything `env apply` would do; nothing done yet.
#[derive(Debug, Serialize)]
pub struct ApplyPlan {
    /// The environment name and how it was made from the requested one.
    pub name: EnvName,
    /// Cluster the environment belongs to.
    pub cluster: String,
    /// The environment does not exist yet.
    pub new: bool,
    /// Environment file, relative to the repository.
    pub file: String,
    /// The fields written to the environment file.
    pub fields: EnvFields,
    /// Revision files written to `revisions/<NAME>/` (none with `--follow`).
    pub revisions: BTreeMap<String, Revision>,
    /// `nomad`, or `ecs` for an environment made from an ECS environment.
    pub target: Target,
    /// Nomad namespace of the environment (its name).
    pub namespace: String,
    /// The namespace exists in Nomad already.
    pub namespace_exists: bool,
    /// The namespace's description or meta change (created, or the expiry renewed).
    pub namespace_changes: bool,
    /// Every job of the variant and what applying does to it.
    pub jobs: Vec<JobLine>,
    /// `https://<hostname>` of every job; empty for an environment made from an ECS one.
    pub urls: Vec<String>,
    /// The variant declares `infrastructure = true`: the environment's terraform workspace is
    /// applied before the jobs; its state key.
    pub terraform_state: Option<String>,
    #[serde(skip)]
    repo: Repo,
    #[serde(skip)]
    old_text: Option<String>,
    /// ECS: the `--from` environment's service per job, whose launch settings new services copy.
    #[serde(skip)]
    launch_templates: BTreeMap<String, aws_sdk_ecs::types::Service>,
}

impl ApplyPlan {
    /// Job submits and namespace writes the apply makes.
    pub fn changes(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.action != Action::Unchanged)
            .count()
            + usize::from(!self.namespace_exists && self.target == Target::Nomad)
    }

    fn namespace(&self) -> Namespace {
        let f = &self.fields;
        let meta = [
            (META_ENV, self.name.name.as_str()),
            (META_CLUSTER, self.cluster.as_str()),
            (META_OWNER, f.owner.as_str()),
            (META_CREATED, f.created.as_str()),
            (META_EXPIRES, f.expires.as_str()),
            (crate::deploy::META_ENVIRONMENT, self.name.name.as_str()),
            (crate::deploy::META_CLUSTER, self.cluster.as_str()),
        ];
        Namespace {
            name: self.namespace.clone(),
            description: f.description.clone(),
            meta: Some(
                meta.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }
    }
}

/// What `env apply` did.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    /// Everything the apply planned.
    #[serde(flatten)]
    pub plan: ApplyPlan,
    /// Files written (relative to the repository).
    pub written: Vec<String>,
    /// The namespace was created or updated.
    pub namespace_written: bool,
    /// The deploy's report: Nomad jobs, or ECS services for an environment made from an ECS
    /// one.
    pub deploy: Option<DeployReport>,
    /// The commit made (and whether it was pushed); `None` without `--commit`/`--push` or when
    /// nothing changed.
    pub git: Option<steps::Recorded>,
    /// The environment's terraform workspace, applied before the jobs (`infrastructure = true`).
    pub terraform: Option<crate::terraform::session::EnvTerraformReport>,
    /// Rounds of `--push` (re-applied on the remote's newer tip after a rejection); 0 without it.
    pub push_attempts: u32,
    /// Jobs or services whose rollout failed or timed out.
    pub failed: usize,
}

fn pairs_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

/// Computes everything `env apply` would do, reading the repository and Nomad only.
pub async fn prepare(
    root: &std::path::Path,
    cluster: Option<&str>,
    req: &ApplyRequest,
    client: &NomadClient,
) -> Result<ApplyPlan> {
    let mut repo = Repo::open(root, cluster)?;
    let requested = match &req.name {
        Some(name) => name.clone(),
        None => steps::current_branch(root).await?,
    };
    // The limit covers every job of the cluster, so a name does not depend on the flags.
    let all_jobs = repo.cluster.variants.values().flat_map(|v| v.jobs.iter());
    let max = naming::max_name_len(all_jobs.map(String::as_str)).map_err(EnvError::from)?;
    let name = naming::env_name(&requested, max).map_err(EnvError::from)?;
    let existing = repo.envs.get(&name.name).cloned();
    if let Some(existing) = &existing {
        if !existing.is_ad_hoc() {
            return Err(EnvError::Permanent(existing.name.clone()).into());
        }
        if let Some(owner) = existing.owner.as_ref().filter(|o| **o != req.owner) {
            return Err(EnvError::Owned {
                name: name.name.clone(),
                owner: owner.clone(),
            }
            .into());
        }
    }
    let from_name = req
        .from
        .clone()
        .or_else(|| existing.as_ref().and_then(|e| e.from.clone()))
        .or_else(|| {
            (req.variant.is_none() && existing.is_none() && repo.envs.contains_key("staging"))
                .then(|| "staging".to_string())
        });
    let from = match &from_name {
        Some(f) => Some(repo.env(f)?.clone()),
        None => None,
    };
    if let Some(from) = &from {
        if from.name == name.name {
            return Err(EnvError::Input(format!(
                "--from {}: env apply copies environments other than itself",
                from.name
            ))
            .into());
        }
    }
    let target = existing
        .as_ref()
        .or(from.as_ref())
        .map_or(Target::Nomad, |e| e.target);
    let variant_name = req
        .variant
        .clone()
        .or_else(|| existing.as_ref().map(|e| e.variant.clone()))
        .or_else(|| from.as_ref().map(|f| f.variant.clone()))
        .ok_or_else(|| EnvError::Input("pass --from ENV or --variant V".into()))?;
    let variant = repo.cluster.variants.get(&variant_name).ok_or_else(|| {
        EnvError::Input(format!(
            "no variant `{variant_name}` in {} (variants: {})",
            repo.cluster_file,
            repo.cluster
                .variants
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    for (source, _) in req.track.iter().chain(&req.revs) {
        if !variant.sources.contains(source) {
            return Err(EnvError::Input(format!(
                "`{source}` is not a source of variant `{variant_name}` ({})",
                variant.sources.join(", ")
            ))
            .into());
        }
    }
    let ttl = req
        .ttl
        .clone()
        .or_else(|| existing.as_ref().and_then(|e| e.ttl.clone()))
        .unwrap_or_else(|| super::DEFAULT_TTL.to_string());
    let ttl_duration = super::parse_ttl(&ttl)?;
    let now = super::now();
    let created = existing
        .as_ref()
        .and_then(|e| e.created.clone())
        .unwrap_or_else(|| super::rfc3339(now));
    let port_base = match &existing {
        Some(e) => e.port_base,
        None if from.as_ref().is_none_or(|f| f.port_base.is_some()) => {
            let taken = super::ports::taken(&repo, &name.name);
            Some(super::ports::lowest_free(&taken, variant.port_block).ok_or(
                EnvError::NoPorts {
                    size: variant.port_block,
                    first: super::ports::FIRST_PORT,
                    last: super::ports::LAST_PORT,
                },
            )?)
        }
        None => None,
    };
    let revisions_from = match (&existing, &from) {
        (Some(e), _) if !req.follow => e.revisions_from.clone(),
        (_, Some(f)) if req.follow => Some(f.revisions_env().to_string()),
        (_, None) if req.follow => {
            return Err(EnvError::Input("--follow needs --from ENV".into()).into())
        }
        _ => None,
    };
    if revisions_from.is_some() && !req.revs.is_empty() {
        return Err(EnvError::Input(
            "--rev pins a source in revisions/<NAME>/, but this environment follows another's revisions (--follow)".into(),
        )
        .into());
    }
    let mut branches = existing
        .as_ref()
        .map(|e| e.branches.clone())
        .unwrap_or_default();
    branches.extend(pairs_map(&req.track));
    let mut revisions = BTreeMap::new();
    if revisions_from.is_none() {
        let base = repo
            .revisions
            .get(&name.name)
            .or_else(|| from.as_ref().and_then(|f| repo.revisions_of(f)))
            .cloned()
            .unwrap_or_default();
        revisions = base
            .into_iter()
            .filter(|(s, _)| variant.sources.contains(s))
            .collect();
        for (source, rev) in &req.revs {
            let rev = rev.to_ascii_lowercase();
            if !crate::repo::names::is_commit(&rev) {
                return Err(EnvError::Input(format!(
                    "--rev {source}={rev}: not a full 40-hex commit id"
                ))
                .into());
            }
            let git_ref = branches
                .get(source)
                .cloned()
                .or_else(|| revisions.get(source).map(|r: &Revision| r.git_ref.clone()))
                .unwrap_or_else(|| "pinned".to_string());
            let unchanged = revisions
                .get(source)
                .is_some_and(|r| r.rev == rev && r.git_ref == git_ref);
            if !unchanged {
                let repo_url = repo
                    .cluster
                    .sources
                    .get(source)
                    .map(|s| s.repo.clone())
                    .unwrap_or_default();
                revisions.insert(
                    source.clone(),
                    Revision {
                        source: source.clone(),
                        repo: repo_url,
                        git_ref,
                        rev,
                        updated: super::rfc3339(now),
                    },
                );
            }
        }
        let missing: Vec<&String> = variant
            .sources
            .iter()
            .filter(|s| !revisions.contains_key(*s))
            .collect();
        if !missing.is_empty() {
            return Err(EnvError::Input(format!(
                "no revision for {}: pass --rev SOURCE=SHA or --from an environment that pins them",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    let fields = EnvFields {
        variant: variant_name.clone(),
        description: existing
            .as_ref()
            .and_then(|e| e.description.clone())
            .unwrap_or_else(|| match &from_name {
                Some(f) => format!("Ad hoc environment from {f} for {}", req.owner),
                None => format!("Ad hoc environment for {}", req.owner),
            }),
        port_base,
        revisions_from: revisions_from.clone(),
        branches: branches.clone(),
        vars: from.as_ref().map(|f| f.vars.clone()).unwrap_or_default(),
        ttl: ttl.clone(),
        created: created.clone(),
        expires: super::rfc3339(now + ttl_duration),
        owner: req.owner.clone(),
        from: from_name.clone(),
        target,
        ecs: match (target, &existing, &from) {
            (Target::Nomad, _, _) => None,
            (Target::Ecs, Some(e), _) => e.ecs.clone(),
            (Target::Ecs, None, from) => Some(ecs_settings(
                from.as_ref().and_then(|f| f.ecs.as_ref()),
                &variant.jobs,
                &name.name,
            )?),
        },
    };
    let file = format!("clusters/{}/envs/{}.toml", repo.cluster.name, name.name);
    let old_text = existing
        .as_ref()
        .and_then(|_| std::fs::read_to_string(root.join(&file)).ok());
    // The environment as it will be, in memory: rendering and planning need no files.
    let env = Environment {
        name: name.name.clone(),
        namespace: existing
            .as_ref()
            .map_or_else(|| name.name.clone(), |e| e.namespace.clone()),
        variant: variant_name,
        port_base,
        port_block: variant.port_block,
        target,
        branches,
        hostnames: existing
            .as_ref()
            .map(|e| e.hostnames.clone())
            .unwrap_or_default(),
        revisions_from,
        vars: existing
            .as_ref()
            .map_or_else(|| fields.vars.clone(), |e| e.vars.clone()),
        description: Some(fields.description.clone()),
        ttl: Some(ttl),
        created: Some(created),
        owner: Some(req.owner.clone()),
        expires: Some(fields.expires.clone()),
        from: from_name,
        ecs: fields.ecs.clone(),
        // Static ports and aliases are claims on shared addresses: an ad hoc environment makes
        // none (two environments claiming one would be refused by validate).
        static_ports: None,
        domain: existing.as_ref().and_then(|e| e.domain.clone()),
        aliases: Default::default(),
        hostname_pattern: variant
            .hostname
            .clone()
            .or_else(|| repo.cluster.hostname.clone()),
        labels: variant.labels.clone(),
        file: file.clone(),
    };
    if env.revisions_from.is_none() {
        repo.revisions.insert(env.name.clone(), revisions.clone());
    }
    let namespace = env.namespace.clone();
    let urls = super::urls(&repo, &env);
    repo.envs.insert(env.name.clone(), env);

    let mut launch_templates = BTreeMap::new();
    let (current, jobs) = if target == Target::Ecs {
        let env = &repo.envs[&name.name];
        check_families(&repo, env)?;
        let from = from.as_ref().ok_or_else(|| {
            EnvError::Input(format!(
                "ECS environment `{}` has no `from`: its services copy the launch settings of the environment it was made from",
                name.name
            ))
        })?;
        launch_templates = crate::ecs::lifecycle::launch_templates(&repo, from).await?;
        let planned = steps::deploy_ecs(&repo, env, &launch_templates, None).await?;
        let jobs: Vec<JobLine> = planned
            .iter()
            .map(|o| JobLine {
                id: o.id().to_string(),
                action: o.action,
            })
            .collect();
        (None, jobs)
    } else {
        let current = client
            .namespace(&namespace)
            .await
            .map_err(|e| Error::failed(format!("reading namespace `{namespace}`: {e}")))?;
        if let Some(ns) = &current {
            check_namespace(ns, &name.name, &req.owner)?;
        }
        let plans = steps::plan_env(&repo, &name.name, client).await?;
        let jobs = plans
            .iter()
            .flat_map(|p| p.jobs.iter())
            .map(|j| JobLine {
                id: j.id.clone(),
                action: j.action,
            })
            .collect();
        (current, jobs)
    };
    let terraform_state = repo.cluster.variants[&fields.variant]
        .infrastructure
        .then(|| {
            format!(
                "opsctl/{}/envs/{}/terraform.tfstate",
                repo.cluster.name, name.name
            )
        });
    let mut plan = ApplyPlan {
        terraform_state,
        name,
        cluster: repo.cluster.name.clone(),
        new: existing.is_none(),
        file,
        fields,
        revisions,
        target,
        namespace,
        namespace_exists: current.is_some(),
        namespace_changes: true,
        jobs,
        urls,
        repo,
        old_text,
        launch_templates,
    };
    plan.namespace_changes = target == Target::Nomad
        && current.as_ref().is_none_or(|ns| {
            let want = plan.namespace();
            ns.description != want.description || ns.meta != want.meta
        });
    Ok(plan)
}

/// The `[ecs]` section of a new ECS environment: `from`'s cluster and region, and a service
/// per job named after the environment.
fn ecs_settings(
    from: Option<&EcsSettings>,
    jobs: &[String],
    name: &str,
) -> std::result::Result<EcsSettings, EnvError> {
    let from = from.ok_or_else(|| {
        EnvError::Input("an ECS environment is made --from an ECS environment".into())
    })?;
    Ok(EcsSettings {
        cluster: from.cluster.clone(),
        region: from.region.clone(),
        services: jobs
            .iter()
            .map(|job| (job.clone(), crate::ecs::lifecycle::service_name(job, name)))
            .collect(),
    })
}

/// Refuses task definition families that are not valid ECS names, or that another
/// environment renders too (its revisions would be this environment's, and destroy would
/// deregister them): a job's `family` must depend on `env.name`.
fn check_families(repo: &Repo, env: &Environment) -> Result<()> {
    use crate::ecs::lifecycle::{families, is_valid_name, NAME_LIMIT};
    let ours = families(repo, env)?;
    for (job, family) in &ours {
        if !is_valid_name(family) {
            return Err(EnvError::Input(format!(
                "job `{job}`: task definition family `{family}` is not an ECS name (at most {NAME_LIMIT} letters, digits, `-` and `_`)"
            ))
            .into());
        }
    }
    for other in repo
        .envs
        .values()
        .filter(|e| e.target == Target::Ecs && e.name != env.name)
    {
        // An environment that does not render (say, a revision missing) claims nothing.
        let Ok(theirs) = families(repo, other) else {
            continue;
        };
        for (job, family) in &ours {
            if theirs.values().any(|f| f == family) {
                return Err(EnvError::Input(format!(
                    "job `{job}`: task definition family `{family}` is also environment `{}`'s; make the template's `family` depend on `env.name`",
                    other.name
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// Refuses a namespace that is not this environment's (by opsctl's meta) or has another owner.
fn check_namespace(ns: &Namespace, name: &str, owner: &str) -> Result<()> {
    let taken = |why: String| EnvError::NamespaceTaken {
        namespace: ns.name.clone(),
        name: name.to_string(),
        why,
    };
    match super::namespace_owner_env(ns) {
        None => return Err(taken("it carries no opsctl meta".into()).into()),
        Some(other) if other != name => {
            return Err(taken(format!("it belongs to environment `{other}`")).into())
        }
        Some(_) => {}
    }
    let meta_owner = ns.meta.as_ref().and_then(|m| m.get(META_OWNER));
    if let Some(other) = meta_owner.filter(|o| *o != owner) {
        return Err(EnvError::Owned {
            name: name.to_string(),
            owner: other.clone(),
        }
        .into());
    }
    Ok(())
}

/// The commit message of an apply.
fn commit_message(plan: &ApplyPlan) -> String {
    format!(
        "env apply {}: {} until {}",
        plan.name.name,
        if plan.new { "created" } else { "renewed" },
        plan.fields.expires
    )
}

/// Writes the files (a new environment file exclusively), checks the repository with them,
/// records them in git, then creates or renews the namespace and deploys every job.
pub async fn apply(
    root: &std::path::Path,
    cluster: Option<&str>,
    req: &ApplyRequest,
    client: &NomadClient,
    plan: ApplyPlan,
    progress: Progress,
) -> Result<ApplyReport> {
    let (plan, written, git, attempts) = if req.push {
        steps::check_pushable(root).await?;
        // The same loop as the CI revision flow: on the remote's newest tip, prepared again
        // from the files there (the name or the port block may have been taken meanwhile),
        // until it lands or the push timeout is spent.
        let ((plan, written), pushed) = crate::git::Git::new(root)
            .push_until(crate::git::PushBudget::new(req.push_timeout), async |_| {
                let plan = prepare(root, cluster, req, client).await?;
                let written = write_files(root, cluster, &plan)?;
                let commit = (!written.is_empty()).then(|| {
                    (
                        written.iter().map(PathBuf::from).collect(),
                        commit_message(&plan),
                    )
                });
                Ok(crate::git::Staged {
                    value: (plan, written),
                    commit,
                })
            })
            .await
            .map_err(crate::revisions::push_error)?;
        let recorded = steps::Recorded::of_push(&pushed);
        (plan, written, recorded, pushed.attempts)
    } else {
        let written = write_files(root, cluster, &plan)?;
        let recorded = if req.commit && !written.is_empty() {
            let paths: Vec<PathBuf> = written.iter().map(PathBuf::from).collect();
            Some(steps::commit_in_git(root, &paths, &commit_message(&plan)).await?)
        } else {
            None
        };
        (plan, written, recorded, 0)
    };
    let mut namespace_written = false;
    if plan.namespace_changes {
        if let Some(ns) = client
            .namespace(&plan.namespace)
            .await
            .map_err(|e| Error::failed(format!("reading namespace `{}`: {e}", plan.namespace)))?
        {
            check_namespace(&ns, &plan.name.name, &req.owner)?;
        }
        client
            .upsert_namespace(&plan.namespace())
            .await
            .map_err(|e| Error::failed(format!("writing namespace `{}`: {e}", plan.namespace)))?;
        namespace_written = true;
    }
    let terraform = match &plan.terraform_state {
        None => None,
        Some(_) => {
            Some(steps::env_terraform(root, cluster, &plan.name.name, &req.settings, false).await?)
        }
    };
    let deploy = if plan.target == Target::Ecs {
        let env = &plan.repo.envs[&plan.name.name];
        let outcomes = steps::deploy_ecs(
            &plan.repo,
            env,
            &plan.launch_templates,
            Some((req.timeout, req.wait)),
        )
        .await?;
        let changes = outcomes
            .iter()
            .filter(|o| o.action != Action::Unchanged)
            .count();
        DeployReport::new(client.address(), false, Vec::new(), changes, outcomes)
    } else {
        steps::deploy_env(
            &plan.repo,
            &plan.name.name,
            client,
            req.timeout,
            req.wait,
            progress,
        )
        .await?
    };
    let failed = deploy.failed;
    Ok(ApplyReport {
        plan,
        written,
        namespace_written,
        deploy: Some(deploy),
        git,
        terraform,
        push_attempts: attempts,
        failed,
    })
}

/// Writes the environment file and revisions; on a repository that no longer validates, puts
/// everything back and fails. Returns the paths written, relative to the repository.
fn write_files(
    root: &std::path::Path,
    cluster: Option<&str>,
    plan: &ApplyPlan,
) -> Result<Vec<String>> {
    let path = root.join(&plan.file);
    let rev_dir = root.join("revisions").join(&plan.name.name);
    let rev_dir_existed = rev_dir.is_dir();
    let mut written = Vec::new();
    if plan.new {
        files::create_exclusive(
            &path,
            &files::render_new(&plan.fields, &plan.name.name),
            &plan.name.name,
        )?;
        written.push(plan.file.clone());
    } else if files::update_file(&path, &plan.fields)? {
        written.push(plan.file.clone());
    }
    let undo = |written: &[String]| {
        if plan.new {
            let _ = files::remove(&path);
        } else if let Some(old) = &plan.old_text {
            let _ = crate::fsutil::write_atomic(&path, old.as_bytes(), None);
        }
        if !rev_dir_existed {
            let _ = files::remove(&rev_dir);
        }
        written.len()
    };
    let revisions = match files::write_revisions(&rev_dir, &plan.revisions) {
        Ok(revisions) => revisions,
        Err(e) => {
            undo(&written);
            return Err(e);
        }
    };
    written.extend(
        revisions
            .iter()
            .map(|p| crate::fsutil::display_relative(p, root)),
    );
    if let Err(e) = Repo::open(root, cluster) {
        undo(&written);
        return Err(Error::failed(format!(
            "the environment's files would make the repository invalid; nothing was written: {e}"
        )));
    }
    Ok(written)
}

fn plan_text(plan: &ApplyPlan, style: &Style) -> String {
    let f = &plan.fields;
    let mut out = String::new();
    let verb = if plan.new { "create" } else { "renew" };
    out.push_str(&format!(
        "{} ad hoc environment {} (namespace {}, cluster {})\n",
        style.bold(verb),
        style.bold(&plan.name.name),
        plan.namespace,
        plan.cluster
    ));
    if plan.name.requested != plan.name.name {
        out.push_str(&format!(
            "  name:      from `{}`{}\n",
            plan.name.requested,
            if plan.name.shortened {
                format!(" (shortened to fit {} characters)", plan.name.max_len)
            } else {
                String::new()
            }
        ));
    }
    out.push_str(&format!("  file:      {}\n", plan.file));
    out.push_str(&format!(
        "  variant:   {}{}\n",
        f.variant,
        f.from
            .as_ref()
            .map(|from| format!(" (from {from})"))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "  ports:     {}\n",
        f.port_base.map_or("dynamic".to_string(), |b| format!(
            "{b}..={}",
            b + plan
                .repo
                .cluster
                .variants
                .get(&f.variant)
                .map_or(1, |v| v.port_block)
                - 1
        ))
    ));
    out.push_str(&format!(
        "  owner:     {}, ttl {}, expires {}\n",
        f.owner, f.ttl, f.expires
    ));
    match &f.revisions_from {
        Some(from) => out.push_str(&format!("  revisions: follows {from}\n")),
        None => {
            for r in plan.revisions.values() {
                out.push_str(&format!(
                    "  revision:  {} {} ({})\n",
                    r.source,
                    r.short_rev(),
                    r.git_ref
                ));
            }
        }
    }
    for (source, branch) in &f.branches {
        out.push_str(&format!("  tracks:    {source} = {branch}\n"));
    }
    if let Some(ecs) = &f.ecs {
        out.push_str(&format!("  ecs:       cluster {}\n", ecs.cluster));
    }
    let ns = if plan.target == Target::Ecs {
        "none (ECS)"
    } else if !plan.namespace_exists {
        "create"
    } else if plan.namespace_changes {
        "update meta"
    } else {
        "unchanged"
    };
    out.push_str(&format!("  namespace: {ns}\n"));
    if let Some(key) = &plan.terraform_state {
        out.push_str(&format!(
            "  terraform: plan and apply the environment's workspace (state {key})\n"
        ));
    }
    for job in &plan.jobs {
        let action = match job.action {
            Action::Unchanged => style.dim("unchanged"),
            Action::New => style.good("new"),
            Action::Edited => style.warn("edited"),
            Action::Stop => style.bad("stop"),
        };
        out.push_str(&format!("  job:       {} {action}\n", job.id));
    }
    out
}

impl Report for ApplyPlan {
    fn human(&self, style: &Style) -> String {
        plan_text(self, style)
    }
}

impl Report for ApplyReport {
    fn human(&self, style: &Style) -> String {
        let mut out = String::new();
        if let Some(deploy) = &self.deploy {
            out.push_str(&deploy.human(style));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        if let Some(tf) = &self.terraform {
            out.push_str(&format!(
                "terraform: {} to add, {} to change, {} to destroy; {} resource(s) in {}\n",
                tf.summary.add,
                tf.summary.change,
                tf.summary.destroy,
                tf.resources.len(),
                tf.state_key
            ));
        }
        if let Some(git) = &self.git {
            if let Some(commit) = &git.commit {
                out.push_str(&format!(
                    "committed {}{}\n",
                    commit.get(..12).unwrap_or(commit),
                    if git.pushed { " and pushed" } else { "" }
                ));
            }
        }
        let state = if self.failed > 0 {
            style.bad(&format!("{} job(s) failed", self.failed))
        } else {
            style.good("ready")
        };
        out.push_str(&format!(
            "environment {} {state}; expires {} (`opsctl env destroy {}` removes it)\n",
            style.bold(&self.plan.name.name),
            self.plan.fields.expires,
            self.plan.name.name
        ));
        for url in &self.plan.urls {
            out.push_str(&format!("  {url}\n"));
        }
        out
    }
}
