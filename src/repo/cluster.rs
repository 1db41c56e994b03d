//! `clusters/<cluster>/cluster.toml`: one cluster, its nodes, variants and sources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Cluster {
    pub name: String,
    pub domain: String,
    /// `aws` is built in; any other name runs `opsctl-provider-<name>` from PATH.
    #[serde(default = "default_provider")]
    pub provider: String,
    #[serde(default)]
    pub aws: Option<AwsSettings>,
    pub core: CoreSettings,
    #[serde(default)]
    pub monitoring: Option<MonitoringSettings>,
    #[serde(default)]
    pub clients: Vec<ClientGroup>,
    pub nomad: NomadSettings,
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
}

fn default_provider() -> String {
    "aws".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AwsSettings {
    pub region: String,
    #[serde(default)]
    pub kms_key: Option<String>,
    pub state_bucket: String,
    #[serde(default)]
    pub hosted_zone: Option<String>,
    /// AMI id per region.
    #[serde(default)]
    pub amis: BTreeMap<String, String>,
    /// Operator user names (bitte's `admins`).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Networks allowed to reach SSH; never 0.0.0.0/0.
    #[serde(default)]
    pub admin_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CoreSettings {
    pub count: u32,
    pub instance_type: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MonitoringSettings {
    pub instance_type: String,
}

/// A Nomad client autoscaling group.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClientGroup {
    pub region: String,
    pub instance_type: String,
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    /// Nomad node class, for jobs that constrain on it.
    #[serde(default)]
    pub node_class: Option<String>,
    /// Distinguishes several groups in one region; defaults to the node class or "default".
    #[serde(default)]
    pub name: Option<String>,
}

impl ClientGroup {
    /// The ASG's name suffix: `client-<region>-<name>`.
    pub fn asg_name(&self) -> String {
        let name = self
            .name
            .as_deref()
            .or(self.node_class.as_deref())
            .unwrap_or("default");
        format!("client-{}-{}", self.region, name)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NomadSettings {
    pub address: String,
    pub datacenters: Vec<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Variant {
    pub jobs: Vec<String>,
    pub sources: Vec<String>,
    /// Ports each environment of this variant reserves (port_base .. port_base + port_block).
    #[serde(default = "default_port_block")]
    pub port_block: u32,
    /// Template variables shared by the variant's environments (`vars.*`).
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
}

fn default_port_block() -> u32 {
    11
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Source {
    pub repo: String,
    #[serde(default)]
    pub description: Option<String>,
}

impl Cluster {
    /// Every region the cluster uses: the main region first, then client regions.
    pub fn regions(&self) -> Vec<String> {
        let mut regions = Vec::new();
        if let Some(aws) = &self.aws {
            regions.push(aws.region.clone());
        }
        for client in &self.clients {
            if !regions.contains(&client.region) {
                regions.push(client.region.clone());
            }
        }
        regions
    }
}
