//! The ECS target: an environment's jobs are task definitions deployed to ECS services.
//!
//! A task definition revision is registered only when the rendered definition differs from
//! the one the service runs (compared by a fingerprint tag opsctl puts on every revision it
//! registers); the service is then updated to it and, unless told not to wait, followed until
//! its primary deployment completes.

pub mod lifecycle;
mod task;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{DeploymentRolloutState, Service, TaskDefinitionField};
use aws_sdk_ecs::Client;
use serde_json::Value;

use crate::deploy::{Action, JobOutcome, JobStatus};
use crate::error::Result;
use crate::render::Renderer;
use crate::repo::{Environment, Repo};

/// Tag holding the SHA-256 of the rendered task definition a revision was registered from.
pub const FINGERPRINT_TAG: &str = "opsctl:fingerprint";

/// How [`deploy_env`] treats an ECS environment (`opsctl deploy` flags).
#[derive(Debug, Clone)]
pub struct EcsOptions {
    /// Only these jobs of the environment (`--job`); empty: all of its variant's jobs.
    pub jobs: Vec<String>,
    /// Compare and report only: nothing is registered and no service is updated.
    pub plan_only: bool,
    /// Follow each updated service until its primary deployment completes (off with
    /// `--no-wait`).
    pub wait: bool,
    /// How long following one service's rollout may take (`--timeout`).
    pub timeout: Duration,
    /// Roll the service even when the task definition is unchanged (new secrets, new image
    /// behind the same tag).
    pub force_new_deployment: bool,
}

/// Deploys (or with `plan_only`, plans) one ECS environment; one outcome per job.
pub async fn deploy_env(
    repo: &Repo,
    env: &Environment,
    options: &EcsOptions,
) -> Result<Vec<JobOutcome>> {
    deploy_env_creating(repo, env, options, &BTreeMap::new()).await
}

/// Like [`deploy_env`]; a job's service that does not exist yet is created (one task,
/// launched like the job's `templates` service, tagged with the environment) when
/// `templates` has the job — how `env apply` gives an ad hoc environment its own services.
pub async fn deploy_env_creating(
    repo: &Repo,
    env: &Environment,
    options: &EcsOptions,
    templates: &BTreeMap<String, Service>,
) -> Result<Vec<JobOutcome>> {
    let (settings, region) = lifecycle::settings(repo, env)?;
    let jobs = Renderer::new(repo).render_env(env, &options.jobs)?;
    let client = Client::new(&crate::aws::config(&region).await);
    let mut work = Vec::new();
    for job in jobs {
        let service = settings
            .services
            .get(&job.name)
            .cloned()
            .unwrap_or_default();
        let client = client.clone();
        let cluster = settings.cluster.clone();
        let options = options.clone();
        let outcome = JobOutcome {
            environment: env.name.clone(),
            namespace: cluster.clone(),
            job: job.name.clone(),
            id: service.clone(),
            kind: "ecs-service".into(),
            action: Action::Unchanged,
            status: JobStatus::Planned,
            version_before: None,
            version_after: None,
            deployment_id: None,
            deployment_status: None,
            reverted_to: None,
            reason: None,
            replanned: false,
            drift: false,
            diff: None,
            placement_failures: Default::default(),
            coverage: None,
            next_launch: None,
        };
        let target = Target {
            cluster,
            service,
            env: env.name.clone(),
            create_like: templates.get(&job.name).cloned(),
        };
        work.push(async move {
            let result =
                deploy_service(&client, &target, &job.job, &options, outcome.clone()).await;
            result.unwrap_or_else(|reason| outcome.failed(reason.to_string()))
        });
    }
    Ok(futures::future::join_all(work).await)
}

fn revision_of(arn: &str) -> Option<u64> {
    arn.rsplit(':').next()?.parse().ok()
}

/// Where one job goes: its service, and how to create it when it does not exist.
struct Target {
    cluster: String,
    service: String,
    env: String,
    create_like: Option<Service>,
}

async fn deploy_service(
    client: &Client,
    target: &Target,
    task: &Value,
    options: &EcsOptions,
    mut outcome: JobOutcome,
) -> std::result::Result<JobOutcome, EcsError> {
    let (cluster, service) = (target.cluster.as_str(), target.service.as_str());
    let described = client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(aws_error(format!(
            "describing service {service} in cluster {cluster}"
        )))?;
    let current = described
        .services()
        .iter()
        .find(|s| s.service_name() == Some(service) && s.status() != Some("INACTIVE"));
    let current = match (current, &target.create_like) {
        (Some(current), _) => current,
        (None, Some(template)) => {
            return create_service(client, target, template, task, options, outcome).await
        }
        (None, None) => {
            return Err(EcsError::NoService {
                service: service.to_string(),
                cluster: cluster.to_string(),
            })
        }
    };
    let current_arn = current.task_definition().unwrap_or_default().to_string();
    outcome.version_before = revision_of(&current_arn);
    let fingerprint = task::fingerprint(task);
    let running = client
        .describe_task_definition()
        .task_definition(&current_arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(aws_error(format!(
            "describing task definition {current_arn}"
        )))?;
    let unchanged = running
        .tags()
        .iter()
        .any(|t| t.key() == Some(FINGERPRINT_TAG) && t.value() == Some(fingerprint.as_str()));
    outcome.action = if unchanged {
        Action::Unchanged
    } else {
        Action::Edited
    };
    if unchanged && !options.force_new_deployment {
        outcome.version_after = outcome.version_before;
        outcome.status = JobStatus::Unchanged;
        return Ok(outcome);
    }
    if options.plan_only {
        return Ok(outcome);
    }
    let target_arn = if unchanged {
        current_arn
    } else {
        let registered = task::register(client, task, &fingerprint, &target.env).await?;
        outcome.version_after = revision_of(&registered);
        registered
    };
    let updated = client
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(&target_arn)
        .force_new_deployment(options.force_new_deployment)
        .send()
        .await
        .map_err(aws_error(format!("updating service {service}")))?;
    let primary = updated
        .service()
        .map(|s| s.deployments())
        .unwrap_or_default()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id().map(str::to_string));
    outcome.version_after = revision_of(&target_arn);
    outcome.deployment_id = primary;
    outcome.status = JobStatus::Submitted;
    if !options.wait {
        return Ok(outcome);
    }
    wait_for_rollout(
        client,
        cluster,
        service,
        &target_arn,
        options.timeout,
        outcome,
    )
    .await
}

/// A job whose service does not exist yet: its task definition registered and the service
/// created on it.
async fn create_service(
    client: &Client,
    target: &Target,
    template: &Service,
    task: &Value,
    options: &EcsOptions,
    mut outcome: JobOutcome,
) -> std::result::Result<JobOutcome, EcsError> {
    outcome.action = Action::New;
    if options.plan_only {
        return Ok(outcome);
    }
    let fingerprint = task::fingerprint(task);
    let arn = task::register(client, task, &fingerprint, &target.env).await?;
    outcome.version_after = revision_of(&arn);
    outcome.deployment_id = lifecycle::create_service(
        client,
        &target.cluster,
        &target.service,
        &arn,
        template,
        &target.env,
    )
    .await?;
    outcome.status = JobStatus::Submitted;
    if !options.wait {
        return Ok(outcome);
    }
    wait_for_rollout(
        client,
        &target.cluster,
        &target.service,
        &arn,
        options.timeout,
        outcome,
    )
    .await
}

/// Polls the service until its primary deployment runs `target_arn` and completed.
async fn wait_for_rollout(
    client: &Client,
    cluster: &str,
    service: &str,
    target_arn: &str,
    timeout: Duration,
    mut outcome: JobOutcome,
) -> std::result::Result<JobOutcome, EcsError> {
    let deadline = Instant::now() + timeout;
    loop {
        let described = client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(aws_error(format!("describing service {service}")))?;
        let primary = described.services().first().and_then(|s| {
            s.deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
        });
        if let Some(d) = primary.filter(|d| d.task_definition() == Some(target_arn)) {
            outcome.deployment_id = d.id().map(str::to_string);
            outcome.deployment_status = d.rollout_state().map(|r| r.as_str().to_lowercase());
            match d.rollout_state() {
                Some(DeploymentRolloutState::Completed) => {
                    outcome.status = JobStatus::Healthy;
                    return Ok(outcome);
                }
                Some(DeploymentRolloutState::Failed) => {
                    return Ok(outcome.failed(format!(
                        "ECS deployment failed: {}",
                        d.rollout_state_reason().unwrap_or("no reason given")
                    )));
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            outcome.status = JobStatus::TimedOut;
            outcome.reason = Some(format!(
                "service {service} did not complete its deployment within {}",
                humantime::format_duration(timeout)
            ));
            return Ok(outcome);
        }
        tokio::time::sleep(Duration::from_secs(2).min(deadline - Instant::now())).await;
    }
}

/// Why deploying one ECS service failed; the AWS SDK's error is kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    /// An ECS request failed.
    #[error("{doing}: {}", crate::aws::error_text(source.as_ref()))]
    Aws {
        /// What opsctl was doing, e.g. `updating service web`.
        doing: String,
        /// The SDK's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The service named by the environment is not in the cluster.
    #[error("service `{service}` does not exist in ECS cluster `{cluster}`")]
    NoService {
        /// Service name.
        service: String,
        /// ECS cluster name.
        cluster: String,
    },
    /// ECS answered a registration without the new revision's ARN.
    #[error("ECS registered the task definition without returning its ARN")]
    NoArn,
}

/// Wraps an SDK error with what opsctl was doing.
fn aws_error<E: std::error::Error + Send + Sync + 'static>(
    doing: impl Into<String>,
) -> impl FnOnce(E) -> EcsError {
    let doing = doing.into();
    move |error| EcsError::Aws {
        doing,
        source: Box::new(error),
    }
}
