//! `clusters/<cluster>/envs/<env>.toml`: one environment of a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A parsed `clusters/<cluster>/envs/<env>.toml` as written; [`Environment`] is the same with
/// its name and defaults resolved.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EnvironmentFile {
    /// Name of the cluster's `[variants.<name>]` the environment is an instance of (its jobs and
    /// sources).
    pub variant: String,
    /// Nomad namespace; defaults to the environment's name.
    #[serde(default)]
    pub namespace: Option<String>,
    /// First port of the environment's static block; none means jobs use dynamic ports.
    #[serde(default)]
    pub port_base: Option<u32>,
    /// Which ref of each source this environment tracks (exact ref or glob such as `v*`).
    #[serde(default)]
    pub branches: BTreeMap<String, String>,
    /// `target`: where the jobs run, `nomad` (default) or `ecs` (with `[ecs]`).
    #[serde(default)]
    pub target: Target,
    /// Hostname per job overriding the derived `<job>-<namespace>.<domain>`.
    #[serde(default)]
    pub hostnames: BTreeMap<String, String>,
    /// Use another environment's revisions instead of `revisions/<env>/`.
    #[serde(default)]
    pub revisions_from: Option<String>,
    /// Template variables (`vars.*`), over the variant's.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    /// Description of the environment's Nomad namespace (default `opsctl environment <env>`);
    /// templates see it as `env.description`.
    #[serde(default)]
    pub description: Option<String>,
    /// Ad hoc environments: time to live (`72h`), creation time and owner.
    #[serde(default)]
    pub ttl: Option<String>,
    /// Ad hoc environments: when it was first made (RFC 3339, kept by later `env apply`).
    #[serde(default)]
    pub created: Option<String>,
    /// Ad hoc environments: who made it (`env apply --owner`, else `$USER`); another owner's
    /// `env apply` is refused.
    #[serde(default)]
    pub owner: Option<String>,
    /// Ad hoc environments: when `opsctl env gc` destroys it (RFC 3339; renewed by `env apply`).
    #[serde(default)]
    pub expires: Option<String>,
    /// Ad hoc environments: the environment it was made from (`env apply --from`).
    #[serde(default)]
    pub from: Option<String>,
    /// `target = "ecs"`: where the environment's jobs run as ECS services.
    #[serde(default)]
    pub ecs: Option<EcsSettings>,
    /// Static ports the environment's jobs may bind outside its block (or without one):
    /// `[123, 9022]`, or `"any"`. Without it, static ports must lie in the block.
    #[serde(default)]
    pub static_ports: Option<StaticPorts>,
    /// `{domain}` of the hostname pattern for this environment (default: the cluster's).
    #[serde(default)]
    pub domain: Option<String>,
    /// More hostnames per job (`env.hostnames(job)` lists the main one, then these).
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
}

/// `static_ports` of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StaticPorts {
    /// `"any"`: every static port is allowed.
    Any,
    /// These ports are allowed besides the block.
    Ports(Vec<u32>),
}

impl<'de> Deserialize<'de> for StaticPorts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Ports(Vec<u32>),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "`static_ports` must be a list of port numbers such as [123, 9022] or \"any\"",
            )
        })? {
            Raw::Word(word) if word == "any" => Ok(StaticPorts::Any),
            Raw::Word(word) => Err(serde::de::Error::custom(format!(
                "`static_ports = \"{word}\"`: the only word allowed is \"any\" (or a list of ports)"
            ))),
            Raw::Ports(ports) => Ok(StaticPorts::Ports(ports)),
        }
    }
}

/// The ECS side of an environment: each job's template is a task definition, deployed to the
/// named service of the cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct EcsSettings {
    /// ECS cluster name.
    pub cluster: String,
    /// AWS region of the ECS cluster (default: the cluster file's `[aws].region`).
    #[serde(default)]
    pub region: Option<String>,
    /// Service name per job.
    #[serde(default)]
    pub services: BTreeMap<String, String>,
}

/// `target` of an environment: which orchestrator runs its jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Nomad jobs in the environment's namespace (the default).
    #[default]
    Nomad,
    /// ECS services, per the environment's `[ecs]` settings.
    Ecs,
}

/// An environment with its name and defaults resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// The environment's name: the file stem of `envs/<name>.toml`.
    pub name: String,
    /// Nomad namespace: `namespace`, else the name.
    pub namespace: String,
    /// Name of the `[variants.<name>]` the environment instantiates.
    pub variant: String,
    /// First port of the static block; `None`: no block, jobs use dynamic ports.
    pub port_base: Option<u32>,
    /// Size of the port block: the variant's `port_block` (0 when the variant is unknown).
    pub port_block: u32,
    /// Where the jobs run (`target`, default Nomad).
    pub target: Target,
    /// Ref (exact or glob such as `v*`) tracked per source name.
    pub branches: BTreeMap<String, String>,
    /// Hostname per job, overriding the hostname pattern.
    pub hostnames: BTreeMap<String, String>,
    /// Another environment whose revisions pin this one's sources; `None`: its own
    /// `revisions/<env>/`.
    pub revisions_from: Option<String>,
    /// The environment's template variables (`vars.*`), over the variant's and the cluster's.
    pub vars: BTreeMap<String, toml::Value>,
    /// Nomad namespace description; `None`: `opsctl environment <env>`.
    pub description: Option<String>,
    /// Ad hoc environments: time to live (`72h`); `None` marks a permanent environment.
    pub ttl: Option<String>,
    /// Ad hoc environments: creation time (RFC 3339); `None` for permanent ones.
    pub created: Option<String>,
    /// Ad hoc environments: who made it (`env apply --owner`, else `$USER`).
    pub owner: Option<String>,
    /// Ad hoc environments: when `opsctl env gc` destroys it (RFC 3339).
    pub expires: Option<String>,
    /// Ad hoc environments: the environment it was made from (`env apply --from`).
    pub from: Option<String>,
    /// ECS settings, for `target = "ecs"`.
    pub ecs: Option<EcsSettings>,
    /// Static ports allowed outside the block; `None`: static ports must lie in the block.
    pub static_ports: Option<StaticPorts>,
    /// `{domain}` of this environment's hostnames; `None`: the cluster's domain.
    pub domain: Option<String>,
    /// More hostnames per job, after the main one.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// The hostname pattern in force: the variant's, else the cluster's.
    pub hostname_pattern: Option<String>,
    /// `{label}` per job, from the variant.
    pub labels: BTreeMap<String, String>,
    /// Path of the file relative to the repository root.
    pub file: String,
}

impl Environment {
    /// The environment whose revision files pin this one's sources.
    pub fn revisions_env(&self) -> &str {
        self.revisions_from.as_deref().unwrap_or(&self.name)
    }

    /// Static port range `[start, end)`, when the environment has a block.
    pub fn port_range(&self) -> Option<std::ops::Range<u32>> {
        // Saturating: a huge `port_base` is reported by validation, never an overflow.
        self.port_base
            .map(|base| base..base.saturating_add(self.port_block))
    }

    /// An ad hoc environment has a time to live; permanent ones have none.
    pub fn is_ad_hoc(&self) -> bool {
        self.ttl.is_some()
    }

    /// Whether a job of this environment may bind `port` statically: inside the block, or
    /// allowed by `static_ports`.
    pub fn allows_static_port(&self, port: u32) -> bool {
        self.port_range().is_some_and(|r| r.contains(&port))
            || match &self.static_ports {
                Some(StaticPorts::Any) => true,
                Some(StaticPorts::Ports(ports)) => ports.contains(&port),
                None => false,
            }
    }

    /// The job's public hostname: the `hostnames` override, else the hostname pattern (see
    /// [`crate::repo::Cluster::hostname`]) with `domain` (the cluster's) unless the
    /// environment has its own.
    pub fn hostname(&self, job: &str, domain: &str) -> String {
        if let Some(host) = self.hostnames.get(job) {
            return host.clone();
        }
        let pattern = self
            .hostname_pattern
            .as_deref()
            .unwrap_or(DEFAULT_HOSTNAME_PATTERN);
        expand_hostname(
            pattern,
            job,
            self.labels.get(job).map_or(job, String::as_str),
            &self.namespace,
            &self.name,
            self.domain.as_deref().unwrap_or(domain),
        )
    }

    /// The main hostname, then the job's `aliases`.
    pub fn hostnames_of(&self, job: &str, domain: &str) -> Vec<String> {
        let mut all = vec![self.hostname(job, domain)];
        all.extend(self.aliases.get(job).cloned().unwrap_or_default());
        all
    }
}

/// `{job}-{namespace}.{domain}`: the hostname without a pattern or override.
pub const DEFAULT_HOSTNAME_PATTERN: &str = "{job}-{namespace}.{domain}";

/// Placeholders a hostname pattern may use.
pub const HOSTNAME_PLACEHOLDERS: &[&str] = &["job", "label", "namespace", "env", "domain"];

fn expand_hostname(
    pattern: &str,
    job: &str,
    label: &str,
    namespace: &str,
    env: &str,
    domain: &str,
) -> String {
    pattern
        .replace("{job}", job)
        .replace("{label}", label)
        .replace("{namespace}", namespace)
        .replace("{env}", env)
        .replace("{domain}", domain)
}

/// The placeholders of `pattern` that are not [`HOSTNAME_PLACEHOLDERS`].
pub fn unknown_placeholders(pattern: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            unknown.push(rest[start..].to_string());
            break;
        };
        let name = &rest[start + 1..start + len];
        if !HOSTNAME_PLACEHOLDERS.contains(&name) {
            unknown.push(format!("{{{name}}}"));
        }
        rest = &rest[start + len + 1..];
    }
    unknown
}
