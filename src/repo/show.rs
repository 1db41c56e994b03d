//! What `opsctl show` reports: the model itself, as typed reports.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Cluster, Environment, Repo, Revision};
use crate::output::{Report, Style};

/// `show cluster`.
pub fn cluster(repo: &Repo) -> ClusterReport<'_> {
    ClusterReport {
        cluster: &repo.cluster,
        environments: repo.envs.keys().cloned().collect(),
    }
}

/// `show envs`.
pub fn envs(repo: &Repo) -> EnvsReport {
    EnvsReport {
        environments: repo
            .envs
            .values()
            .map(|e| EnvSummary::new(repo, e))
            .collect(),
    }
}

/// `show env NAME`; an unknown name is an error naming the known ones.
pub fn env<'a>(repo: &'a Repo, name: &str) -> crate::Result<EnvReport<'a>> {
    let env = repo.env(name)?;
    let variant = repo.variant(env);
    Ok(EnvReport {
        summary: EnvSummary::new(repo, env),
        environment: env,
        jobs: variant.map(|v| v.jobs.clone()).unwrap_or_default(),
        hostnames: variant
            .map(|v| {
                v.jobs
                    .iter()
                    .map(|j| (j.clone(), env.hostname(j, &repo.cluster.domain)))
                    .collect()
            })
            .unwrap_or_default(),
        revisions: repo.revisions_of(env).cloned().unwrap_or_default(),
    })
}

/// `show cluster`: the cluster file and the names of its environments.
#[derive(Serialize)]
pub struct ClusterReport<'a> {
    cluster: &'a Cluster,
    environments: Vec<String>,
}

impl Report for ClusterReport<'_> {
    fn human(&self, style: &Style) -> String {
        let c = self.cluster;
        let mut out = format!(
            "{} {}  domain {}  provider {}\n",
            style.bold("cluster"),
            c.name,
            c.domain,
            c.provider
        );
        if let Some(aws) = &c.aws {
            out.push_str(&format!(
                "aws: region {}  state bucket {}  kms {}\n",
                aws.region,
                aws.state_bucket,
                aws.kms_key.as_deref().unwrap_or("(created by bootstrap)")
            ));
        }
        out.push_str(&format!(
            "core: {} x {}   nomad: {} ({})\n\n",
            c.core.count,
            c.core.instance_type,
            c.nomad.address,
            c.nomad.datacenters.join(", ")
        ));
        let mut table = style.table(&["CLIENT GROUP", "REGION", "TYPE", "MIN", "DESIRED", "MAX"]);
        for group in &c.clients {
            table.add_row(vec![
                group.asg_name(),
                group.region.clone(),
                group.instance_type.clone(),
                group.min.to_string(),
                group.desired.to_string(),
                group.max.to_string(),
            ]);
        }
        out.push_str(&format!("{table}\n\n"));
        let mut table = style.table(&["VARIANT", "JOBS", "SOURCES", "PORTS"]);
        for (name, variant) in &c.variants {
            table.add_row(vec![
                name.clone(),
                variant.jobs.join(", "),
                variant.sources.join(", "),
                variant.port_block.to_string(),
            ]);
        }
        out.push_str(&format!(
            "{table}\n\nenvironments: {}\n",
            self.environments.join(", ")
        ));
        out
    }
}

/// One environment in brief (a row of `show envs`, the head of `show env`).
#[derive(Serialize)]
pub struct EnvSummary {
    name: String,
    namespace: String,
    variant: String,
    target: crate::repo::Target,
    ports: Option<String>,
    revisions_from: Option<String>,
    branches: BTreeMap<String, String>,
    revisions: BTreeMap<String, String>,
}

impl EnvSummary {
    fn new(repo: &Repo, env: &Environment) -> Self {
        EnvSummary {
            name: env.name.clone(),
            namespace: env.namespace.clone(),
            variant: env.variant.clone(),
            target: env.target,
            ports: env
                .port_range()
                .map(|r| format!("{}-{}", r.start, r.end.saturating_sub(1))),
            revisions_from: env.revisions_from.clone(),
            branches: env.branches.clone(),
            revisions: repo
                .revisions_of(env)
                .map(|revs| {
                    revs.iter()
                        .map(|(source, r)| (source.clone(), r.short_rev().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// `show envs`: every environment in brief.
#[derive(Serialize)]
pub struct EnvsReport {
    environments: Vec<EnvSummary>,
}

impl Report for EnvsReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&[
            "ENV",
            "NAMESPACE",
            "VARIANT",
            "TARGET",
            "PORTS",
            "TRACKS",
            "REVISIONS",
        ]);
        for env in &self.environments {
            table.add_row(vec![
                env.name.clone(),
                env.namespace.clone(),
                env.variant.clone(),
                format!("{:?}", env.target).to_lowercase(),
                env.ports.clone().unwrap_or_else(|| "dynamic".into()),
                match &env.revisions_from {
                    Some(from) => format!("follows {from}"),
                    None => env
                        .branches
                        .iter()
                        .map(|(s, r)| format!("{s}@{r}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                },
                env.revisions
                    .iter()
                    .map(|(s, r)| format!("{s}@{r}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        format!("{table}\n")
    }
}

/// `show env NAME`: one environment with its jobs, hostnames and revisions.
#[derive(Serialize)]
pub struct EnvReport<'a> {
    #[serde(flatten)]
    summary: EnvSummary,
    #[serde(skip)]
    environment: &'a Environment,
    jobs: Vec<String>,
    hostnames: BTreeMap<String, String>,
    #[serde(rename = "pinned")]
    revisions: BTreeMap<String, Revision>,
}

impl Report for EnvReport<'_> {
    fn human(&self, style: &Style) -> String {
        let s = &self.summary;
        let env = self.environment;
        let mut out = format!(
            "{} {}  namespace {}  variant {}  target {}\nfile: {}\nports: {}\n",
            style.bold("environment"),
            s.name,
            s.namespace,
            s.variant,
            format!("{:?}", s.target).to_lowercase(),
            env.file,
            s.ports.clone().unwrap_or_else(|| "dynamic".into()),
        );
        if let Some(from) = &s.revisions_from {
            out.push_str(&format!("revisions: follows `{from}`\n"));
        }
        if let Some(owner) = &env.owner {
            out.push_str(&format!("owner: {owner}\n"));
        }
        let mut table = style.table(&["JOB", "HOSTNAME"]);
        for (job, host) in &self.hostnames {
            table.add_row(vec![job.clone(), host.clone()]);
        }
        out.push_str(&format!("\n{table}\n\n"));
        let mut table = style.table(&["SOURCE", "TRACKS", "REV", "UPDATED"]);
        for (source, revision) in &self.revisions {
            table.add_row(vec![
                source.clone(),
                s.branches
                    .get(source)
                    .cloned()
                    .unwrap_or_else(|| "-".into()),
                revision.short_rev().to_string(),
                revision.updated.clone(),
            ]);
        }
        out.push_str(&format!("{table}\n"));
        out
    }
}
