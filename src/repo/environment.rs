//! `clusters/<cluster>/envs/<env>.toml`: one environment of a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EnvironmentFile {
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
    #[serde(default)]
    pub description: Option<String>,
    /// Ad hoc environments: time to live (`72h`), creation time and owner.
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    #[default]
    Nomad,
    Ecs,
}

/// An environment with its name and defaults resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    pub namespace: String,
    pub variant: String,
    pub port_base: Option<u32>,
    pub port_block: u32,
    pub target: Target,
    pub branches: BTreeMap<String, String>,
    pub hostnames: BTreeMap<String, String>,
    pub revisions_from: Option<String>,
    pub vars: BTreeMap<String, toml::Value>,
    pub description: Option<String>,
    pub ttl: Option<String>,
    pub created: Option<String>,
    pub owner: Option<String>,
    pub expires: Option<String>,
    pub from: Option<String>,
    pub ecs: Option<EcsSettings>,
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

    pub fn hostname(&self, job: &str, domain: &str) -> String {
        match self.hostnames.get(job) {
            Some(host) => host.clone(),
            None => format!("{job}-{}.{domain}", self.namespace),
        }
    }
}
