//! `env list` / `env show`: every environment from the files, and from Nomad when it answers —
//! with orphans flagged both ways (marked namespaces without a file, ad hoc files without a
//! namespace).

use serde::Serialize;

use crate::nomad::types::{AllocationStub, Namespace};
use crate::nomad::NomadClient;
use crate::output::{Report, Style};
use crate::repo::{Environment, Repo, Target};

/// One environment in `env list`/`env show`: its file's fields and what Nomad (or ECS) has.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvRow {
    /// Environment name (the namespace's, for an orphaned namespace).
    pub name: String,
    /// Its Nomad namespace.
    pub namespace: String,
    /// An ad hoc environment (it has a `ttl`, or its namespace carries the ad hoc mark).
    pub ad_hoc: bool,
    /// The variant it deploys; `None` for an orphaned namespace (no file).
    pub variant: Option<String>,
    /// `nomad` or `ecs`; `None` for an orphaned namespace.
    pub target: Option<Target>,
    /// `1068..=1078`, or `dynamic`.
    pub ports: Option<String>,
    /// Owner from the file or namespace meta; `None` when unset.
    pub owner: Option<String>,
    /// Creation time (RFC 3339) from the file or namespace meta; `None` when unset.
    pub created: Option<String>,
    /// Expiry time (RFC 3339); `None` for a permanent environment.
    pub expires: Option<String>,
    /// The expiry has passed.
    pub expired: bool,
    /// How long ago it expired (`2h 5m`).
    pub expired_since: Option<String>,
    /// Whether the namespace exists (`None`: Nomad not asked or unreachable).
    pub namespace_exists: Option<bool>,
    /// Jobs in the namespace (ECS: active services); `None` when Nomad was not asked or failed.
    pub jobs: Option<usize>,
    /// Of those, jobs with status `running` (ECS: services with a running task).
    pub jobs_running: Option<usize>,
    /// Jobs that are `dead` without having been stopped (ECS: always 0).
    pub jobs_failed: Option<usize>,
    /// `https://<hostname>` of every job; empty for ad hoc ECS environments and orphans.
    pub urls: Vec<String>,
    /// Why this is an orphan, when it is one.
    pub orphan: Option<String>,
    /// ECS environments: their services as ECS reports them (ad hoc ones in `env list`,
    /// every one in `env show`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::ecs::lifecycle::ServiceLine>,
    /// Why ECS was not asked, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs_error: Option<String>,
}

/// The result of `env list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// Name of the cluster of the repository.
    pub cluster: String,
    /// Nomad address asked.
    pub nomad: String,
    /// Why Nomad's side is missing, when it is.
    pub nomad_error: Option<String>,
    /// Every environment from the files, then orphaned namespaces.
    pub environments: Vec<EnvRow>,
    /// Rows that are orphans.
    pub orphans: usize,
}

fn file_row(repo: &Repo, env: &Environment) -> EnvRow {
    let now = super::now();
    let expiry = super::expiry(env);
    let expired = expiry.is_some_and(|t| t <= now);
    EnvRow {
        name: env.name.clone(),
        namespace: env.namespace.clone(),
        ad_hoc: env.is_ad_hoc(),
        variant: Some(env.variant.clone()),
        target: Some(env.target),
        ports: (env.target == Target::Nomad).then(|| {
            env.port_range()
                .map_or("dynamic".into(), |r| format!("{}..={}", r.start, r.end - 1))
        }),
        owner: env.owner.clone(),
        created: env.created.clone(),
        expires: expiry.map(super::rfc3339),
        expired,
        expired_since: expiry.filter(|_| expired).map(|t| {
            let ago = (now - t).whole_seconds().max(0) as u64;
            humantime::format_duration(std::time::Duration::from_secs(ago)).to_string()
        }),
        urls: super::urls(repo, env),
        ..EnvRow::default()
    }
}

/// Fills the Nomad side of `row`.
async fn nomad_row(
    client: &NomadClient,
    row: &mut EnvRow,
    exists: bool,
) -> Result<(), crate::nomad::NomadError> {
    row.namespace_exists = Some(exists);
    if !exists {
        row.jobs = Some(0);
        row.jobs_running = Some(0);
        row.jobs_failed = Some(0);
        return Ok(());
    }
    let jobs = client.jobs(&row.namespace).await?;
    row.jobs = Some(jobs.len());
    row.jobs_running = Some(jobs.iter().filter(|j| j.status == "running").count());
    row.jobs_failed = Some(
        jobs.iter()
            .filter(|j| j.status == "dead" && !j.stop)
            .count(),
    );
    Ok(())
}

/// Fills the ECS side of `row` (services, how many run); an ad hoc environment none of whose
/// services exists is an orphan.
async fn ecs_row(repo: &Repo, env: &Environment, row: &mut EnvRow) {
    match crate::ecs::lifecycle::service_lines(repo, env).await {
        Ok(services) => {
            let live = services.iter().filter(|s| s.status == "ACTIVE").count();
            row.jobs = Some(live);
            row.jobs_running = Some(services.iter().filter(|s| s.running > 0).count());
            row.jobs_failed = Some(0);
            if env.is_ad_hoc() && live == 0 {
                row.orphan = Some("ad hoc ECS environment file without its ECS services".into());
            }
            row.services = services;
        }
        Err(e) => row.ecs_error = Some(e.to_string()),
    }
}

/// Every environment; `expired`: only ad hoc ones past their expiry. ECS is asked about ad
/// hoc ECS environments only (permanent ones are terraform's).
pub async fn list(repo: &Repo, client: &NomadClient, expired: bool) -> ListReport {
    let mut rows: Vec<EnvRow> = repo.envs.values().map(|e| file_row(repo, e)).collect();
    for row in rows.iter_mut() {
        if let Some(env) = repo
            .envs
            .get(&row.name)
            .filter(|e| e.target == Target::Ecs && e.is_ad_hoc())
        {
            ecs_row(repo, env, row).await;
        }
    }
    let mut nomad_error = None;
    match client.namespaces().await {
        Ok(namespaces) => {
            for row in rows.iter_mut() {
                let exists = namespaces.iter().any(|n| n.name == row.namespace);
                if row.target == Some(Target::Ecs) {
                    continue;
                }
                if let Err(e) = nomad_row(client, row, exists).await {
                    nomad_error.get_or_insert_with(|| e.to_string());
                }
                if row.ad_hoc && !exists {
                    row.orphan = Some("ad hoc environment file without a Nomad namespace".into());
                }
            }
            for ns in namespaces.iter().filter(|n| is_orphan(repo, n)) {
                let mut row = orphan_row(ns);
                if let Err(e) = nomad_row(client, &mut row, true).await {
                    nomad_error.get_or_insert_with(|| e.to_string());
                }
                rows.push(row);
            }
        }
        Err(e) => nomad_error = Some(e.to_string()),
    }
    if expired {
        rows.retain(|r| r.expired);
    }
    ListReport {
        cluster: repo.cluster.name.clone(),
        nomad: client.address().to_string(),
        nomad_error,
        orphans: rows.iter().filter(|r| r.orphan.is_some()).count(),
        environments: rows,
    }
}

/// A namespace opsctl made for an environment of this cluster that has no file any more.
pub(crate) fn is_orphan(repo: &Repo, ns: &Namespace) -> bool {
    let Some(env) = super::namespace_owner_env(ns) else {
        return false;
    };
    let cluster = ns.meta.as_ref().and_then(|m| {
        m.get(super::META_CLUSTER)
            .or_else(|| m.get(crate::deploy::META_CLUSTER))
    });
    cluster.is_none_or(|c| *c == repo.cluster.name)
        && !repo.envs.contains_key(env)
        && !repo.envs.values().any(|e| e.namespace == ns.name)
}

fn orphan_row(ns: &Namespace) -> EnvRow {
    let meta = ns.meta.clone().unwrap_or_default();
    let expires = meta.get(super::META_EXPIRES).cloned();
    let now = super::now();
    let expiry = expires.as_deref().and_then(super::parse_time);
    EnvRow {
        name: ns.name.clone(),
        namespace: ns.name.clone(),
        ad_hoc: super::is_ad_hoc_namespace(ns),
        owner: meta.get(super::META_OWNER).cloned(),
        created: meta.get(super::META_CREATED).cloned(),
        expired: expiry.is_some_and(|t| t <= now),
        expires,
        orphan: Some("Nomad namespace marked by opsctl without an environment file".into()),
        ..EnvRow::default()
    }
}

/// One allocation of the namespace, as `env show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct AllocLine {
    /// First 8 characters of the allocation ID.
    pub id: String,
    /// Job ID.
    pub job: String,
    /// Task group.
    pub task_group: String,
    /// Name of the node it runs on.
    pub node: String,
    /// Client status (`running`, `complete`, `failed`, ...).
    pub client_status: String,
    /// Desired status (`run`, `stop`, `evict`).
    pub desired_status: String,
}

impl From<&AllocationStub> for AllocLine {
    fn from(a: &AllocationStub) -> Self {
        AllocLine {
            id: a.id.chars().take(8).collect(),
            job: a.job_id.clone(),
            task_group: a.task_group.clone(),
            node: a.node_name.clone(),
            client_status: a.client_status.to_string(),
            desired_status: a.desired_status.to_string(),
        }
    }
}

/// The result of `env show`: one environment with its allocations.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    #[serde(flatten)]
    /// The environment's row, as `env list` shows it.
    pub environment: EnvRow,
    /// Why Nomad's side is missing or incomplete, when it is.
    pub nomad_error: Option<String>,
    /// Every allocation of the namespace; empty when the namespace does not exist.
    pub allocations: Vec<AllocLine>,
}

/// One environment (or orphaned namespace) with its allocations.
pub async fn show(repo: &Repo, client: &NomadClient, name: &str) -> crate::Result<ShowReport> {
    let listed = list(repo, client, false).await;
    let mut row = listed
        .environments
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| {
            repo.env(name)
                .err()
                .unwrap_or_else(|| crate::Error::invalid(name))
        })?;
    if let Some(env) = repo
        .envs
        .get(&row.name)
        .filter(|e| e.target == Target::Ecs && row.services.is_empty())
    {
        ecs_row(repo, env, &mut row).await;
    }
    let mut allocations = Vec::new();
    let mut nomad_error = listed.nomad_error;
    if row.namespace_exists == Some(true) {
        match client.allocations(&row.namespace).await {
            Ok(allocs) => allocations = allocs.iter().map(AllocLine::from).collect(),
            Err(e) => nomad_error = Some(e.to_string()),
        }
    }
    Ok(ShowReport {
        environment: row,
        nomad_error,
        allocations,
    })
}

fn opt(v: &Option<impl ToString>) -> String {
    v.as_ref().map_or("-".into(), ToString::to_string)
}

fn jobs_cell(row: &EnvRow) -> String {
    match (row.jobs_running, row.jobs_failed) {
        (Some(r), Some(0)) => format!("{r} running"),
        (Some(r), Some(f)) => format!("{r} running, {f} failed"),
        _ => "-".into(),
    }
}

fn expires_cell(row: &EnvRow, style: &Style) -> String {
    match (&row.expired_since, &row.expires) {
        (Some(since), _) => style.bad(&format!("expired {since} ago")),
        (None, Some(at)) => at.clone(),
        (None, None) => "never".into(),
    }
}

impl Report for ListReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&[
            "Name",
            "Namespace",
            "Variant",
            "Ports",
            "Owner",
            "Expires",
            "Jobs",
            "Note",
        ]);
        for row in &self.environments {
            table.add_row(vec![
                row.name.clone(),
                row.namespace.clone(),
                opt(&row.variant),
                opt(&row.ports),
                opt(&row.owner),
                expires_cell(row, style),
                jobs_cell(row),
                row.orphan
                    .as_ref()
                    .map_or(String::new(), |o| style.warn(&format!("orphan: {o}"))),
            ]);
        }
        let mut out = format!("{table}\n");
        if let Some(e) = &self.nomad_error {
            out.push_str(&style.warn(&format!("Nomad at {} not asked: {e}\n", self.nomad)));
        }
        out
    }
}

impl Report for ShowReport {
    fn human(&self, style: &Style) -> String {
        let r = &self.environment;
        let mut out = format!(
            "{} ({})\n",
            style.bold(&r.name),
            if r.ad_hoc { "ad hoc" } else { "permanent" }
        );
        let lines = [
            ("namespace", r.namespace.clone()),
            ("variant", opt(&r.variant)),
            ("ports", opt(&r.ports)),
            ("owner", opt(&r.owner)),
            ("created", opt(&r.created)),
            ("expires", expires_cell(r, style)),
            ("jobs", jobs_cell(r)),
        ];
        for (k, v) in lines {
            out.push_str(&format!("  {k:<10} {v}\n"));
        }
        if let Some(orphan) = &r.orphan {
            out.push_str(&style.warn(&format!("  orphan:    {orphan}\n")));
        }
        for url in &r.urls {
            out.push_str(&format!("  url        {url}\n"));
        }
        if !r.services.is_empty() {
            let mut table = style.table(&[
                "Job",
                "ECS service",
                "Cluster",
                "Status",
                "Task definition",
                "Tasks",
            ]);
            for s in &r.services {
                table.add_row(vec![
                    s.job.clone(),
                    s.service.clone(),
                    s.cluster.clone(),
                    s.status.clone(),
                    opt(&s.task_definition),
                    format!("{}/{}", s.running, s.desired),
                ]);
            }
            out.push_str(&format!("{table}\n"));
        }
        if let Some(e) = &r.ecs_error {
            out.push_str(&style.warn(&format!("ECS not asked: {e}\n")));
        }
        if !self.allocations.is_empty() {
            let mut table = style.table(&["Alloc", "Job", "Group", "Node", "Status", "Desired"]);
            for a in &self.allocations {
                table.add_row(vec![
                    a.id.clone(),
                    a.job.clone(),
                    a.task_group.clone(),
                    a.node.clone(),
                    a.client_status.clone(),
                    a.desired_status.clone(),
                ]);
            }
            out.push_str(&format!("{table}\n"));
        }
        if let Some(e) = &self.nomad_error {
            out.push_str(&style.warn(&format!("Nomad not asked: {e}\n")));
        }
        out
    }
}
