//! ECS services and task definitions of ad hoc environments: named after the environment,
//! created by `env apply` with the launch settings of the `--from` environment's services,
//! removed by `env destroy` (scaled to 0, deleted, task definition revisions deregistered),
//! then looked for again.
//!
//! Everything opsctl creates for an environment carries the tag [`ENV_TAG`] with the
//! environment's name; a destroy touches only what carries it (or, with `--force`, the
//! services the environment file names).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{Service, ServiceField, Tag, TaskDefinitionField, TaskDefinitionStatus};
use aws_sdk_ecs::Client;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{aws_error, EcsError};
use crate::error::{Error, Result};
use crate::render::Renderer;
use crate::repo::{EcsSettings, Environment, Repo};

/// Tag on the services and task definition revisions opsctl made for an environment.
pub const ENV_TAG: &str = "opsctl:environment";

/// Longest ECS service name and task definition family (AWS: up to 255 letters, digits,
/// hyphens and underscores).
pub const NAME_LIMIT: usize = 255;

/// Whether `name` is a valid ECS service name or task definition family.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_LIMIT
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `name` as an ECS name: every other character becomes `-`, and a name longer than
/// [`NAME_LIMIT`] is cut and given a 6-hex suffix hashed from the whole name.
pub fn limited(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= NAME_LIMIT && !clean.is_empty() {
        return clean;
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let keep = NAME_LIMIT - 7;
    format!("{}-{}", &clean[..keep.min(clean.len())], &hash[..6])
}

/// The ECS service of job `job` in ad hoc environment `env`: `<job>-<env>`.
pub fn service_name(job: &str, env: &str) -> String {
    limited(&format!("{job}-{env}"))
}

/// The ECS settings of environment `env`, with its region resolved.
pub(crate) fn settings<'a>(repo: &Repo, env: &'a Environment) -> Result<(&'a EcsSettings, String)> {
    let settings = env.ecs.as_ref().ok_or_else(|| {
        Error::invalid(format!("environment `{}` has no [ecs] section", env.name))
    })?;
    let region = settings
        .region
        .clone()
        .or_else(|| repo.cluster.aws.as_ref().map(|a| a.region.clone()))
        .ok_or_else(|| Error::invalid(format!("environment `{}`: no region for ECS", env.name)))?;
    Ok((settings, region))
}

/// An ECS client for the environment's region.
pub(crate) async fn client(repo: &Repo, env: &Environment) -> Result<(Client, EcsSettings)> {
    let (settings, region) = settings(repo, env)?;
    let client = Client::new(&crate::aws::config(&region).await);
    Ok((client, settings.clone()))
}

fn failed(e: EcsError) -> Error {
    Error::failed(e.to_string())
}

/// The `family` of each job's rendered task definition.
pub fn families(repo: &Repo, env: &Environment) -> Result<BTreeMap<String, String>> {
    Ok(Renderer::new(repo)
        .render_env(env, &[])?
        .into_iter()
        .filter_map(|job| {
            let family = job.job.get("family")?.as_str()?.to_string();
            Some((job.name, family))
        })
        .collect())
}

/// The services of `from` (one per job), whose launch settings (launch type or capacity
/// providers, platform version, network configuration) an ad hoc environment's services
/// copy. Every one must exist.
pub async fn launch_templates(
    repo: &Repo,
    from: &Environment,
) -> Result<BTreeMap<String, Service>> {
    let (client, settings) = client(repo, from).await?;
    let mut templates = BTreeMap::new();
    for (job, service) in &settings.services {
        let found = describe(
            &client,
            &settings.cluster,
            std::slice::from_ref(service),
            false,
        )
        .await
        .map_err(failed)?
        .into_iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .ok_or_else(|| {
            Error::failed(EcsError::NoService {
                service: service.clone(),
                cluster: settings.cluster.clone(),
            })
        })?;
        templates.insert(job.clone(), found);
    }
    Ok(templates)
}

async fn describe(
    client: &Client,
    cluster: &str,
    services: &[String],
    tags: bool,
) -> std::result::Result<Vec<Service>, EcsError> {
    let mut found = Vec::new();
    // DescribeServices takes at most 10 names a call.
    for chunk in services.chunks(10) {
        let mut request = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()));
        if tags {
            request = request.include(ServiceField::Tags);
        }
        let described = request.send().await.map_err(aws_error(format!(
            "describing services in cluster {cluster}"
        )))?;
        found.extend(described.services().iter().cloned());
    }
    Ok(found)
}

fn tagged(tags: &[Tag], env: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(ENV_TAG) && t.value() == Some(env))
}

/// Creates service `service` running `task_definition`, launched like `template`, with one
/// task, tagged with the environment.
pub(crate) async fn create_service(
    client: &Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
    template: &Service,
    env: &str,
) -> std::result::Result<Option<String>, EcsError> {
    let strategy = template.capacity_provider_strategy();
    let created = client
        .create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(task_definition)
        .desired_count(1)
        .set_launch_type(
            strategy
                .is_empty()
                .then(|| template.launch_type().cloned())
                .flatten(),
        )
        .set_capacity_provider_strategy((!strategy.is_empty()).then(|| strategy.to_vec()))
        .set_platform_version(template.platform_version().map(str::to_string))
        // An empty network configuration (no awsvpc part) is none.
        .set_network_configuration(
            template
                .network_configuration()
                .filter(|n| n.awsvpc_configuration().is_some())
                .cloned(),
        )
        .tags(Tag::builder().key(ENV_TAG).value(env).build())
        .send()
        .await
        .map_err(aws_error(format!(
            "creating service {service} in cluster {cluster}"
        )))?;
    Ok(created
        .service()
        .map(|s| s.deployments())
        .unwrap_or_default()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id().map(str::to_string)))
}

/// What `env destroy` removed from ECS.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Teardown {
    /// `<cluster>/<service>` of every service scaled to 0 and deleted.
    pub deleted_services: Vec<String>,
    /// `family:revision` of every task definition revision deregistered.
    pub deregistered_task_definitions: Vec<String>,
}

fn family_of(arn: &str) -> Option<&str> {
    let tail = arn.rsplit('/').next()?;
    tail.rsplit_once(':').map(|(family, _)| family)
}

/// Families the environment's services ran and its templates render.
fn known_families(repo: &Repo, env: &Environment, services: &[Service]) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = families(repo, env)
        .map(|f| f.into_values().collect())
        .unwrap_or_default();
    for service in services {
        let arns = service.task_definition().into_iter().chain(
            service
                .deployments()
                .iter()
                .filter_map(|d| d.task_definition()),
        );
        all.extend(arns.filter_map(family_of).map(str::to_string));
    }
    all
}

/// Active revisions of `family` tagged with environment `env`.
async fn tagged_revisions(
    client: &Client,
    family: &str,
    env: &str,
) -> std::result::Result<Vec<String>, EcsError> {
    let mut arns = Vec::new();
    let mut token = None;
    // Bounded: 100 pages of 100 revisions.
    for _ in 0..100 {
        let page = client
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .set_next_token(token)
            .send()
            .await
            .map_err(aws_error(format!("listing task definitions of {family}")))?;
        arns.extend(
            page.task_definition_arns()
                .iter()
                .filter(|a| family_of(a) == Some(family))
                .cloned(),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut ours = Vec::new();
    for arn in arns {
        let described = client
            .describe_task_definition()
            .task_definition(&arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(aws_error(format!("describing task definition {arn}")))?;
        if tagged(described.tags(), env) {
            ours.push(arn);
        }
    }
    Ok(ours)
}

fn short(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// Scales every service of the environment to 0 and deletes it, then deregisters every task
/// definition revision registered for it. Services not tagged with the environment block the
/// destroy unless `force`. What is already gone is skipped.
pub async fn teardown(repo: &Repo, env: &Environment, force: bool) -> Result<Teardown> {
    let (client, settings) = client(repo, env).await?;
    let cluster = &settings.cluster;
    let names: Vec<String> = settings.services.values().cloned().collect();
    let services = describe(&client, cluster, &names, true)
        .await
        .map_err(failed)?;
    let live: Vec<&Service> = services
        .iter()
        .filter(|s| s.status() != Some("INACTIVE"))
        .collect();
    let foreign: Vec<&str> = live
        .iter()
        .filter(|s| !tagged(s.tags(), &env.name))
        .filter_map(|s| s.service_name())
        .collect();
    if !foreign.is_empty() && !force {
        return Err(Error::invalid(format!(
            "ECS service(s) {} in cluster `{cluster}` were not created for `{}` (no `{ENV_TAG}` tag); nothing was touched (pass --force to delete them too)",
            foreign.join(", "),
            env.name
        )));
    }
    let families = known_families(repo, env, &services);
    let mut report = Teardown::default();
    for service in live {
        let Some(name) = service.service_name() else {
            continue;
        };
        client
            .update_service()
            .cluster(cluster)
            .service(name)
            .desired_count(0)
            .send()
            .await
            .map_err(aws_error(format!("scaling service {name} to 0")))
            .map_err(failed)?;
        client
            .delete_service()
            .cluster(cluster)
            .service(name)
            .force(true)
            .send()
            .await
            .map_err(aws_error(format!("deleting service {name}")))
            .map_err(failed)?;
        report.deleted_services.push(format!("{cluster}/{name}"));
    }
    for family in &families {
        for arn in tagged_revisions(&client, family, &env.name)
            .await
            .map_err(failed)?
        {
            client
                .deregister_task_definition()
                .task_definition(&arn)
                .send()
                .await
                .map_err(aws_error(format!("deregistering task definition {arn}")))
                .map_err(failed)?;
            report.deregistered_task_definitions.push(short(&arn));
        }
    }
    Ok(report)
}

/// What ECS still has of the environment: services not `INACTIVE`, active revisions tagged
/// with it. An unanswered question is listed as `unknown: …`.
pub async fn leftovers(repo: &Repo, env: &Environment) -> Vec<String> {
    let (client, settings) = match client(repo, env).await {
        Ok(c) => c,
        Err(e) => return vec![format!("unknown: ECS services of `{}` ({e})", env.name)],
    };
    let cluster = &settings.cluster;
    let names: Vec<String> = settings.services.values().cloned().collect();
    let services = match describe(&client, cluster, &names, false).await {
        Ok(s) => s,
        Err(e) => return vec![format!("unknown: ECS services in `{cluster}` ({e})")],
    };
    let mut left: Vec<String> = services
        .iter()
        .filter(|s| s.status() != Some("INACTIVE"))
        .map(|s| {
            format!(
                "ECS service `{}` in cluster `{cluster}` ({})",
                s.service_name().unwrap_or_default(),
                s.status().unwrap_or("unknown status")
            )
        })
        .collect();
    for family in known_families(repo, env, &services) {
        match tagged_revisions(&client, &family, &env.name).await {
            Ok(arns) => left.extend(
                arns.iter()
                    .map(|a| format!("ECS task definition `{}`", short(a))),
            ),
            Err(e) => left.push(format!("unknown: task definitions of `{family}` ({e})")),
        }
    }
    left
}

/// One ECS service of an environment, as `env list`/`show` show it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLine {
    /// Job template the service stands in for.
    pub job: String,
    /// ECS service name (for an ad hoc environment's own services, [`service_name`]).
    pub service: String,
    /// ECS cluster the service runs in.
    pub cluster: String,
    /// `ACTIVE`, `DRAINING`, `INACTIVE`, or `MISSING` when ECS does not know it.
    pub status: String,
    /// `family:revision` the service runs.
    pub task_definition: Option<String>,
    /// `desiredCount` ECS reports; 0 when the service is missing.
    pub desired: i32,
    /// `runningCount` ECS reports; 0 when the service is missing.
    pub running: i32,
}

/// The environment's services as ECS reports them.
pub async fn service_lines(repo: &Repo, env: &Environment) -> Result<Vec<ServiceLine>> {
    let (client, settings) = client(repo, env).await?;
    let names: Vec<String> = settings.services.values().cloned().collect();
    let services = describe(&client, &settings.cluster, &names, false)
        .await
        .map_err(failed)?;
    Ok(settings
        .services
        .iter()
        .map(|(job, name)| {
            let found = services.iter().find(|s| s.service_name() == Some(name));
            ServiceLine {
                job: job.clone(),
                service: name.clone(),
                cluster: settings.cluster.clone(),
                status: found
                    .and_then(|s| s.status())
                    .unwrap_or("MISSING")
                    .to_string(),
                task_definition: found.and_then(|s| s.task_definition()).map(short),
                desired: found.map_or(0, |s| s.desired_count()),
                running: found.map_or(0, |s| s.running_count()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ecs_limits() {
        assert_eq!(
            service_name("marlowe-explorer", "feature-x"),
            "marlowe-explorer-feature-x"
        );
        let long = service_name("job", &"a".repeat(300));
        assert_eq!(long.len(), NAME_LIMIT);
        assert!(is_valid_name(&long), "{long}");
        assert_ne!(long, service_name("job", &format!("{}b", "a".repeat(299))));
        assert_eq!(limited("a.b/c"), "a-b-c");
        assert!(!is_valid_name("a.b") && !is_valid_name("") && is_valid_name("a_b-1"));
        assert_eq!(
            family_of("arn:aws:ecs:eu-central-1:123:task-definition/fam-x:12"),
            Some("fam-x")
        );
    }
}
