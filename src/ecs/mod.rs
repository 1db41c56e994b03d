//! The ECS target: an environment's jobs are task definitions deployed to ECS services.
//!
//! A task definition revision is registered only when the rendered definition differs from
//! the one the service runs (compared by a fingerprint tag opsctl puts on every revision it
//! registers); the service is then updated to it and, unless told not to wait, followed until
//! its primary deployment completes.

pub mod lifecycle;
mod task;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::types::{DeploymentRolloutState, Service, TaskDefinitionField};
use aws_sdk_ecs::Client;
use serde_json::Value;

use crate::deploy::{
    Action, EcsRef, EnvironmentPlan, EnvironmentSummary, JobOutcome, JobStatus, Rollout, Step,
    TargetRef,
};
use crate::error::Result;
use crate::output::Style;
use crate::render::Renderer;
use crate::repo::{Environment, Repo};
use crate::ui::{JobLine, Progress};

/// Tag holding the SHA-256 of the rendered task definition a revision was registered from.
pub const FINGERPRINT_TAG: &str = "opsctl:fingerprint";

/// How ECS environments deploy (`opsctl deploy` flags).
#[derive(Debug, Clone, Default)]
pub struct EcsOptions {
    /// Only these jobs of the environment (`--job`); empty: all of its variant's jobs.
    pub jobs: Vec<String>,
    /// Roll the service even when the task definition is unchanged (new secrets, new image
    /// behind the same tag).
    pub force_new_deployment: bool,
}

/// The ECS target of the deploy model ([`crate::deploy::Rollout`]): each job of an
/// environment is a task definition deployed to an ECS service.
pub struct EcsTarget {
    options: EcsOptions,
    templates: BTreeMap<String, Service>,
    progress: Progress,
}

impl EcsTarget {
    /// Deploys the services the environments name; a missing service is an error.
    pub fn new(options: EcsOptions, progress: Progress) -> Self {
        EcsTarget {
            options,
            templates: BTreeMap::new(),
            progress,
        }
    }

    /// Like [`EcsTarget::new`]; a job's service that does not exist yet is created (one
    /// task, launched like the job's `templates` service, tagged with the environment) when
    /// `templates` has the job — how `env apply` gives an ad hoc environment its own services.
    pub fn creating(mut self, templates: BTreeMap<String, Service>) -> Self {
        self.templates = templates;
        self
    }
}

/// One ECS environment's plan: per job, its outcome as planned and what applying does.
pub struct EcsPlan {
    client: Client,
    cluster: String,
    environment: String,
    force_new_deployment: bool,
    services: Vec<ServicePlan>,
}

/// One job's service as planned: its outcome so far and what applying does, if anything
/// (nothing when unchanged without `--force-new-deployment`, or when the plan failed).
struct ServicePlan {
    outcome: JobOutcome,
    work: Option<Work>,
}

/// What applying does to one service.
enum Work {
    /// Update the service: to a new revision of `task` (when `register`), or to
    /// `current_arn` again with a forced new deployment.
    Update {
        task: Value,
        fingerprint: String,
        current_arn: String,
        register: bool,
    },
    /// Create the service like `template` on a new revision of `task`.
    Create {
        task: Value,
        fingerprint: String,
        template: Box<Service>,
    },
}

/// An ECS service updated or created, to follow: the task definition it now deploys.
pub struct Rolling {
    task_definition: String,
}

impl EnvironmentPlan for EcsPlan {
    fn changes(&self) -> usize {
        self.services
            .iter()
            .filter(|s| s.outcome.action != Action::Unchanged || self.force_new_deployment)
            .count()
    }

    fn outcomes(&self) -> Vec<JobOutcome> {
        self.services.iter().map(|s| s.outcome.clone()).collect()
    }

    fn summary(&self) -> Option<EnvironmentSummary> {
        None
    }

    fn preview(&self, style: &Style) -> String {
        let mut out = String::new();
        for service in &self.services {
            let outcome = &service.outcome;
            let what = match (outcome.action, self.force_new_deployment) {
                (Action::Unchanged, false) => continue,
                (Action::Unchanged, true) => "new deployment of task definition revision",
                _ => "new task definition revision after",
            };
            out.push_str(&format!(
                "{} ECS service: \"{}\" in {} ({what} {})\n",
                style.warn("~"),
                outcome.id(),
                outcome.place(),
                outcome.version_before.map_or("?".into(), |v| v.to_string())
            ));
        }
        out
    }
}

impl Rollout for EcsTarget {
    type Plan = EcsPlan;
    type Submitted = Rolling;

    async fn plan(&self, repo: &Repo, envs: &[String]) -> Result<Vec<EcsPlan>> {
        let mut plans = Vec::new();
        for name in envs {
            plans.push(self.plan_env(repo, repo.env(name)?).await?);
        }
        Ok(plans)
    }

    async fn submit(&self, plan: &EcsPlan) -> Vec<Step<Rolling>> {
        let work = plan
            .services
            .iter()
            .map(|service| self.submit_service(plan, service));
        futures::future::join_all(work).await
    }

    async fn watch(
        &self,
        plan: &EcsPlan,
        rolling: &Rolling,
        outcome: JobOutcome,
        line: &JobLine,
    ) -> JobOutcome {
        line.set("rolling out");
        let service = outcome.id().to_string();
        let watched = wait_for_rollout(
            &plan.client,
            &plan.cluster,
            &service,
            &rolling.task_definition,
            outcome.clone(),
        )
        .await;
        watched.unwrap_or_else(|error| outcome.failed(error.to_string()))
    }
}

impl EcsTarget {
    /// Renders the environment's jobs and compares each with what its service runs.
    async fn plan_env(&self, repo: &Repo, env: &Environment) -> Result<EcsPlan> {
        let (settings, region) = lifecycle::settings(repo, env)?;
        let jobs = Renderer::new(repo).render_env(env, &self.options.jobs)?;
        let client = Client::new(&crate::aws::config(&region).await);
        let cluster = settings.cluster.clone();
        let work = jobs.into_iter().map(|job| {
            let service = settings
                .services
                .get(&job.name)
                .cloned()
                .unwrap_or_default();
            let target = TargetRef::Ecs(EcsRef {
                cluster: cluster.clone(),
                service,
            });
            let outcome = JobOutcome::new(&env.name, &job.name, target, Action::Unchanged);
            let template = self.templates.get(&job.name);
            let client = &client;
            async move {
                match plan_service(client, outcome.clone(), job.job, template, &self.options).await
                {
                    Ok(planned) => planned,
                    Err(error) => ServicePlan {
                        outcome: outcome.failed(error.to_string()),
                        work: None,
                    },
                }
            }
        });
        let services = futures::future::join_all(work).await;
        Ok(EcsPlan {
            client,
            cluster,
            environment: env.name.clone(),
            force_new_deployment: self.options.force_new_deployment,
            services,
        })
    }

    /// Registers the new revision (when the definition changed) and updates or creates the
    /// service.
    async fn submit_service(&self, plan: &EcsPlan, service: &ServicePlan) -> Step<Rolling> {
        let outcome = service.outcome.clone();
        let Some(work) = &service.work else {
            return Step::Done(outcome);
        };
        let line = self.progress.job(&plan.environment, outcome.id());
        match apply_service(plan, outcome.clone(), work, &line).await {
            Ok((outcome, task_definition)) => Step::Submitted {
                outcome,
                submitted: Rolling { task_definition },
                line,
            },
            Err(error) => {
                line.fail(&format!("submit failed: {error}"));
                Step::Done(outcome.failed(error.to_string()))
            }
        }
    }
}

fn revision_of(arn: &str) -> Option<u64> {
    arn.rsplit(':').next()?.parse().ok()
}

/// Compares the job's task definition with the one its service runs (by the fingerprint
/// tag); a service that does not exist is to be created like `template`, if given.
async fn plan_service(
    client: &Client,
    mut outcome: JobOutcome,
    task: Value,
    template: Option<&Service>,
    options: &EcsOptions,
) -> std::result::Result<ServicePlan, EcsError> {
    let (cluster, service) = (outcome.place().to_string(), outcome.id().to_string());
    let described = client
        .describe_services()
        .cluster(&cluster)
        .services(&service)
        .send()
        .await
        .map_err(aws_error(format!(
            "describing service {service} in cluster {cluster}"
        )))?;
    let current = described
        .services()
        .iter()
        .find(|s| s.service_name() == Some(service.as_str()) && s.status() != Some("INACTIVE"));
    let fingerprint = task::fingerprint(&task);
    let current = match (current, template) {
        (Some(current), _) => current,
        (None, Some(template)) => {
            outcome.action = Action::New;
            return Ok(ServicePlan {
                outcome,
                work: Some(Work::Create {
                    task,
                    fingerprint,
                    template: Box::new(template.clone()),
                }),
            });
        }
        (None, None) => return Err(EcsError::NoService { service, cluster }),
    };
    let current_arn = current.task_definition().unwrap_or_default().to_string();
    outcome.version_before = revision_of(&current_arn);
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
    if unchanged && !options.force_new_deployment {
        return Ok(ServicePlan {
            outcome: outcome.with_status(JobStatus::Unchanged),
            work: None,
        });
    }
    if !unchanged {
        outcome.action = Action::Edited;
    }
    Ok(ServicePlan {
        outcome,
        work: Some(Work::Update {
            task,
            fingerprint,
            current_arn,
            register: !unchanged,
        }),
    })
}

/// Makes one service's change; the outcome (`Submitted`) and the task definition it rolls
/// out.
async fn apply_service(
    plan: &EcsPlan,
    mut outcome: JobOutcome,
    work: &Work,
    line: &JobLine,
) -> std::result::Result<(JobOutcome, String), EcsError> {
    let client = &plan.client;
    let name = outcome.id().to_string();
    let cluster = plan.cluster.as_str();
    let target_arn = match work {
        Work::Create {
            task,
            fingerprint,
            template,
        } => {
            line.set("registering task definition");
            let arn = task::register(client, task, fingerprint, &plan.environment).await?;
            line.set("creating service");
            outcome.deployment_id = lifecycle::create_service(
                client,
                cluster,
                &name,
                &arn,
                template,
                &plan.environment,
            )
            .await?;
            arn
        }
        Work::Update {
            task,
            fingerprint,
            current_arn,
            register,
        } => {
            let arn = if *register {
                line.set("registering task definition");
                task::register(client, task, fingerprint, &plan.environment).await?
            } else {
                current_arn.clone()
            };
            line.set("updating service");
            let updated = client
                .update_service()
                .cluster(cluster)
                .service(&name)
                .task_definition(&arn)
                .force_new_deployment(plan.force_new_deployment)
                .send()
                .await
                .map_err(aws_error(format!("updating service {name}")))?;
            outcome.deployment_id = updated
                .service()
                .map(|s| s.deployments())
                .unwrap_or_default()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
                .and_then(|d| d.id().map(str::to_string));
            arn
        }
    };
    outcome.version_after = revision_of(&target_arn);
    outcome.status = JobStatus::Submitted;
    Ok((outcome, target_arn))
}

/// Polls the service until its primary deployment runs `target_arn` and completed (the
/// rollout's timeout bounds it).
async fn wait_for_rollout(
    client: &Client,
    cluster: &str,
    service: &str,
    target_arn: &str,
    mut outcome: JobOutcome,
) -> std::result::Result<JobOutcome, EcsError> {
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
        tokio::time::sleep(Duration::from_secs(2)).await;
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
