//! Planning: render and check every job locally, then ask Nomad what each would change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::record::{self, Check, Listing};
use super::{Deployer, META_CLUSTER, META_ENVIRONMENT};
use crate::error::{Error, Result};
use crate::nomad::types::{placement_reasons, AllocMetric, JobDiff, JobListStub};
use crate::render::Renderer;
use crate::repo::{Repo, Target};

/// What a deploy does to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Nomad's plan shows no change (or the listing and deploy record show none).
    Unchanged,
    /// The job does not exist in the namespace yet.
    New,
    /// The job exists and the plan shows a change.
    Edited,
    /// A managed job no longer part of the environment (`--prune`).
    Stop,
}

/// What submitting one job would do.
#[derive(Debug, Clone, Serialize)]
pub struct JobPlan {
    /// Template name (empty for a pruned job, which has none).
    pub name: String,
    /// Job ID in Nomad (the rendered job's `ID`).
    pub id: String,
    /// `service`, `batch`, `system` or `sysbatch`.
    pub kind: String,
    /// What submitting does to the job.
    pub action: Action,
    /// The job to submit (none for `Stop`).
    #[serde(skip)]
    pub spec: Option<Value>,
    /// Check-and-set index from the plan: the register call must see exactly this one.
    pub job_modify_index: u64,
    /// The job's version in Nomad before this deploy; `None` for a new job or when unknown.
    pub version_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Nomad's plan diff; `None` for jobs not planned with Nomad or unchanged.
    pub diff: Option<JobDiff>,
    /// Per task group: what the scheduler would do (`create`, `in-place update`, `create/destroy update`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub updates: BTreeMap<String, BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    /// Nomad's validation warnings from the plan; empty when none.
    pub warnings: String,
    /// The plan's `FailedTGAllocs`: task groups Nomad could not place, with its reasons.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub placement_failures: BTreeMap<String, AllocMetric>,
    /// Periodic jobs: the next launch Nomad's plan reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_launch: Option<String>,
    /// Changed in Nomad by someone else since opsctl's last deploy of the environment.
    pub drift: bool,
    /// Asked of Nomad's planner (false: decided from the listing, or new in a new namespace).
    #[serde(skip)]
    pub planned: bool,
}

impl JobPlan {
    /// A job decided without asking Nomad's planner (new, or pruned): no diff, no updates.
    fn unplanned(
        name: String,
        id: String,
        kind: String,
        action: Action,
        spec: Option<Value>,
        job_modify_index: u64,
    ) -> Self {
        JobPlan {
            name,
            id,
            kind,
            action,
            spec,
            job_modify_index,
            version_before: None,
            diff: None,
            updates: BTreeMap::new(),
            warnings: String::new(),
            placement_failures: BTreeMap::new(),
            next_launch: None,
            drift: false,
            planned: false,
        }
    }
}

/// What deploying one environment would do: its namespace and every job's plan.
#[derive(Debug, Clone, Serialize)]
pub struct EnvPlan {
    /// Environment name.
    pub environment: String,
    /// Nomad namespace the environment deploys into.
    pub namespace: String,
    /// Name of the cluster (from the repository) the environment belongs to.
    pub cluster: String,
    /// Namespace description: the environment's own, or `opsctl environment <name>`.
    pub description: String,
    /// When false, the namespace is created before submitting (and every job is new).
    pub namespace_exists: bool,
    /// The environment's deploy record existed when it was planned.
    #[serde(skip)]
    pub recorded: bool,
    /// One plan per job: the environment's own jobs, then the jobs `--prune` stops.
    pub jobs: Vec<JobPlan>,
}

impl EnvPlan {
    /// Number of changes: jobs not unchanged, plus one when the namespace must be created.
    pub fn changes(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.action != Action::Unchanged)
            .count()
            + usize::from(!self.namespace_exists)
    }
}

/// A job rendered for an environment, marked as managed and fingerprinted, ready to plan.
struct Candidate {
    name: String,
    id: String,
    kind: String,
    spec: Value,
    fingerprint: String,
}

/// Renders and checks every job of `envs` (nothing is sent when any of them is invalid), then
/// lists the cluster once ([`Listing`]: namespaces, jobs with meta, deploy records, in one
/// round trip) and plans with Nomad only the jobs the listing cannot vouch for (see
/// [`record::check`]); `--refresh` plans them all. Plans run concurrently within the bound.
pub async fn plan_environments(
    deployer: &Deployer,
    repo: &Repo,
    envs: &[String],
) -> Result<Vec<EnvPlan>> {
    let renderer = Renderer::new(repo);
    let mut problems = Vec::new();
    let mut rendered = Vec::new();
    for name in envs {
        let env = repo.env(name)?;
        if env.target != Target::Nomad {
            return Err(Error::invalid(format!(
                "environment `{name}` deploys to {:?}, not Nomad",
                env.target
            )));
        }
        match renderer.render_env(env, &deployer.options.jobs) {
            Ok(jobs) => {
                let candidates = jobs
                    .into_iter()
                    .map(|job| {
                        let spec =
                            record::stamp(mark_managed(job.job, &env.name, &repo.cluster.name));
                        Candidate {
                            kind: job_kind(&spec),
                            fingerprint: spec["Meta"][record::META_FINGERPRINT]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            spec,
                            name: job.name,
                            id: job.id,
                        }
                    })
                    .collect::<Vec<_>>();
                rendered.push((env, candidates));
            }
            Err(Error::Problems(found)) => problems.extend(found),
            Err(other) => return Err(other),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Problems(problems));
    }
    if rendered.is_empty() {
        return Ok(Vec::new());
    }
    let listing = Listing::fetch(deployer)
        .await
        .map_err(|e| Error::failed(format!("listing the cluster: {e}")))?;
    let listing = &listing;
    let no_jobs = BTreeMap::new();
    let plans = rendered.into_iter().map(|(env, candidates)| {
        let no_jobs = &no_jobs;
        async move {
            let namespace = env.namespace.as_str();
            let namespace_exists = listing.namespaces.contains(namespace);
            let mut plan = EnvPlan {
                environment: env.name.clone(),
                namespace: namespace.to_string(),
                cluster: repo.cluster.name.clone(),
                description: env
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("opsctl environment {}", env.name)),
                namespace_exists,
                recorded: listing.record(namespace, &env.name).is_some(),
                jobs: Vec::new(),
            };
            if !namespace_exists {
                // Nomad cannot plan in a namespace that does not exist yet: every job is new.
                plan.jobs = candidates.into_iter().map(new_job).collect();
                return Ok(plan);
            }
            let running = listing.jobs.get(namespace).unwrap_or(no_jobs);
            let record = listing.record(namespace, &env.name);
            let wanted: BTreeSet<String> = candidates.iter().map(|c| c.id.clone()).collect();
            let planned = futures::future::join_all(candidates.into_iter().map(|candidate| {
                let stub = running.get(&candidate.id);
                let refresh = deployer.options.refresh;
                match record::check(stub, &candidate.fingerprint, record, refresh) {
                    Check::Unchanged => {
                        let index = stub.map_or(0, |s| s.job_modify_index);
                        let version = stub.and_then(record::stamped_version);
                        futures::future::Either::Left(async move {
                            let mut job = JobPlan::unplanned(
                                candidate.name,
                                candidate.id,
                                candidate.kind,
                                Action::Unchanged,
                                Some(candidate.spec),
                                index,
                            );
                            job.version_before = version;
                            Ok::<_, Error>(job)
                        })
                    }
                    check => futures::future::Either::Right(async move {
                        let known = stub.is_some();
                        let mut candidate = candidate;
                        // Planned with the stored stamp, so only a real change shows a diff.
                        record::stamp_version(
                            &mut candidate.spec,
                            stub.and_then(record::stamped_version),
                        );
                        let mut job = plan_job(deployer, &env.name, candidate).await?;
                        job.drift = check == Check::Drift;
                        job.planned = true;
                        if known {
                            // `/v1/jobs` entries carry no version (Nomad's JobListStub).
                            job.version_before = deployer
                                .bounded(deployer.client.job(namespace, &job.id))
                                .await
                                .map_err(|e| {
                                    Error::failed(format!("environment `{}`: {e}", env.name))
                                })?
                                .as_ref()
                                .and_then(|j| j.get("Version"))
                                .and_then(Value::as_u64);
                        }
                        if job.action != Action::Unchanged {
                            if let Some(spec) = job.spec.as_mut() {
                                let next = job.version_before.map_or(0, |v| v + 1);
                                record::stamp_version(spec, Some(next));
                            }
                        }
                        Ok::<_, Error>(job)
                    }),
                }
            }))
            .await;
            for job in planned {
                plan.jobs.push(job?);
            }
            if deployer.options.prune {
                let stubs: Vec<JobListStub> = running.values().cloned().collect();
                plan.jobs
                    .extend(prunable(&stubs, &env.name, &wanted).map(|stub| {
                        JobPlan::unplanned(
                            String::new(),
                            stub.id.clone(),
                            stub.kind.clone(),
                            Action::Stop,
                            None,
                            stub.job_modify_index,
                        )
                    }));
            }
            Ok::<_, Error>(plan)
        }
    });
    futures::future::join_all(plans).await.into_iter().collect()
}

async fn plan_job(deployer: &Deployer, env: &str, candidate: Candidate) -> Result<JobPlan> {
    let response = deployer
        .bounded(deployer.client.plan(&candidate.spec))
        .await
        .map_err(|e| Error::failed(format!("planning {env}/{}: {e}", candidate.id)))?;
    let action = match response.diff.as_ref().map(|d| d.kind.as_str()) {
        Some("None") => Action::Unchanged,
        Some("Added") => Action::New,
        Some("Edited") | Some("Deleted") => Action::Edited,
        Some(other) => {
            return Err(Error::failed(format!(
                "planning {env}/{}: Nomad answered an unknown diff type `{other}`",
                candidate.id
            )))
        }
        None => {
            return Err(Error::failed(format!(
                "planning {env}/{}: Nomad's plan has no diff",
                candidate.id
            )))
        }
    };
    let placement_failures = response.failed_tg_allocs.unwrap_or_default();
    let mut warnings = response.warnings;
    if !placement_failures.is_empty() {
        if !warnings.trim().is_empty() {
            warnings.push('\n');
        }
        warnings.push_str(&format!(
            "Nomad cannot place this job: {}",
            placement_reasons(&placement_failures)
        ));
    }
    Ok(JobPlan {
        name: candidate.name,
        id: candidate.id,
        kind: candidate.kind,
        action,
        spec: Some(candidate.spec),
        job_modify_index: response.job_modify_index,
        version_before: None,
        diff: response.diff.filter(|_| action != Action::Unchanged),
        updates: response
            .annotations
            .and_then(|a| a.desired_tg_updates)
            .unwrap_or_default(),
        warnings,
        placement_failures,
        next_launch: Some(response.next_periodic_launch)
            .filter(|t| !t.is_empty() && !t.starts_with("0001-01-01")),
        drift: false,
        planned: true,
    })
}

fn new_job(mut candidate: Candidate) -> JobPlan {
    record::stamp_version(&mut candidate.spec, Some(0));
    JobPlan::unplanned(
        candidate.name,
        candidate.id,
        candidate.kind,
        Action::New,
        Some(candidate.spec),
        0,
    )
}

/// Jobs opsctl submitted for `env` (by their meta mark) that the environment no longer has.
fn prunable<'a>(
    running: &'a [JobListStub],
    env: &'a str,
    wanted: &'a BTreeSet<String>,
) -> impl Iterator<Item = &'a JobListStub> {
    running.iter().filter(move |job| {
        !job.stop
            && job.status != "dead"
            && !wanted.contains(&job.id)
            && job
                .meta
                .as_ref()
                .and_then(|m| m.get(META_ENVIRONMENT))
                .is_some_and(|e| e == env)
    })
}

fn job_kind(job: &Value) -> String {
    job.get("Type")
        .and_then(Value::as_str)
        .unwrap_or("service")
        .to_string()
}

/// Adds the meta keys that mark the job as submitted by opsctl for this environment.
pub(super) fn mark_managed(mut job: Value, env: &str, cluster: &str) -> Value {
    if let Some(object) = job.as_object_mut() {
        let meta = object
            .entry("Meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if !meta.is_object() {
            *meta = Value::Object(Default::default());
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(META_ENVIRONMENT.into(), Value::from(env));
            meta.insert(META_CLUSTER.into(), Value::from(cluster));
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_mark_is_added_without_losing_meta() {
        let job = serde_json::json!({"ID": "web", "Meta": {"team": "marlowe"}});
        let job = mark_managed(job, "staging", "plutus");
        assert_eq!(job["Meta"]["team"], "marlowe");
        assert_eq!(job["Meta"][META_ENVIRONMENT], "staging");
        assert_eq!(job["Meta"][META_CLUSTER], "plutus");
        let job = mark_managed(serde_json::json!({"ID": "web", "Meta": null}), "a", "b");
        assert_eq!(job["Meta"][META_ENVIRONMENT], "a");
    }

    #[test]
    fn only_this_environments_live_managed_jobs_are_pruned() {
        let stub = |id: &str, env: Option<&str>, stop: bool| JobListStub {
            id: id.into(),
            stop,
            status: "running".into(),
            meta: env.map(|e| [(META_ENVIRONMENT.to_string(), e.to_string())].into()),
            ..Default::default()
        };
        let running = vec![
            stub("kept", Some("staging"), false),
            stub("gone", Some("staging"), false),
            stub("stopped", Some("staging"), true),
            stub("other-env", Some("production"), false),
            stub("hand-made", None, false),
        ];
        let wanted: BTreeSet<String> = ["kept".to_string()].into();
        let ids: Vec<_> = prunable(&running, "staging", &wanted)
            .map(|j| j.id.as_str())
            .collect();
        assert_eq!(ids, ["gone"]);
    }
}
