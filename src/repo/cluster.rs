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
    /// How `opsctl terraform` runs: binary, state backend, locking.
    #[serde(default)]
    pub terraform: TerraformSettings,
    /// How `opsctl ssh` and `opsctl rebuild` reach nodes.
    #[serde(default)]
    pub ssh: SshSettings,
    /// How `opsctl rebuild` rolls configuration out.
    #[serde(default)]
    pub rebuild: Option<RebuildSettings>,
    // --- job templates: cluster-wide template variables (owned by the template rules) ---
    /// Template variables of every environment (`vars.*`), under the variant's and the
    /// environment's.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    /// Keys of a rendered job that are not Nomad fields are errors, not warnings.
    #[serde(default)]
    pub strict_job_schema: bool,
    /// Public hostname pattern of every job: `{job}`, `{label}` (the variant's `labels`, else
    /// the job), `{namespace}`, `{env}`, `{domain}` (the environment's `domain`, else the
    /// cluster's). Default `{job}-{namespace}.{domain}`; a variant's `hostname` overrides it.
    #[serde(default)]
    pub hostname: Option<String>,
    // --- end of job templates ---
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SshSettings {
    /// Remote user (default `root`).
    #[serde(default)]
    pub user: Option<String>,
    /// Private key (default `secrets/ssh-<cluster>` when it exists), relative to the repository.
    #[serde(default)]
    pub key_file: Option<String>,
    /// An ssh_config passed with `-F` (`OPSCTL_SSH_CONFIG` overrides).
    #[serde(default)]
    pub config_file: Option<String>,
    /// The Nomad clients' `data_dir` (default `/var/lib/nomad`, as bitte sets it): `ssh --job`
    /// opens its shell in `<data_dir>/alloc/<allocation id>`.
    #[serde(default)]
    pub nomad_data_dir: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RebuildStrategy {
    /// Build the node's flake attribute, copy the closure, `nixos-rebuild switch`.
    Nixos,
    /// Copy a file set and run a command (non-Nix hosts).
    Command,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RebuildSettings {
    pub strategy: RebuildStrategy,
    /// nixos: the flake holding `nixosConfigurations.<node name>` (default `.`).
    #[serde(default)]
    pub flake: Option<String>,
    /// command: files or folders (relative to the repository) copied to `remote_dir`.
    #[serde(default)]
    pub files: Vec<String>,
    /// command: where the files go (default `/etc/opsctl`).
    #[serde(default)]
    pub remote_dir: Option<String>,
    /// command: what to run on the node after copying.
    #[serde(default)]
    pub command: Option<String>,
    /// Run on the node after the switch; a non-zero exit fails the node and stops the roll.
    #[serde(default)]
    pub health_check: Option<String>,
    /// How long draining a Nomad client may take (default `10m`).
    #[serde(default)]
    pub drain_deadline: Option<String>,
    /// Consul's HTTP address for the health gate (`CONSUL_HTTP_ADDR` overrides it): after the
    /// switch every check of the node must pass.
    #[serde(default)]
    pub consul: Option<String>,
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
    /// Availability zones per region (at least 3). Rendering works offline, so AZs are
    /// declared rather than queried; a region not listed uses opsctl's table of the zones
    /// every account has there ([`known_azs`]).
    #[serde(default)]
    pub azs: BTreeMap<String, Vec<String>>,
}

/// Zone letters that every account has in a region, three at most (opsctl spreads over
/// three). Names are per account, but these exist in all of them: `ap-northeast-1b` and
/// `ca-central-1c` are closed to new accounts, and `us-west-1` and `cn-north-1` offer two.
pub fn known_azs(region: &str) -> Option<&'static [&'static str]> {
    const ABC: &[&str] = &["a", "b", "c"];
    Some(match region {
        "ap-northeast-1" => &["a", "c", "d"],
        "ca-central-1" => &["a", "b", "d"],
        "us-west-1" | "cn-north-1" => &["a", "b"],
        "us-east-1" | "us-east-2" | "us-west-2" | "ca-west-1" | "mx-central-1" | "sa-east-1"
        | "eu-central-1" | "eu-central-2" | "eu-west-1" | "eu-west-2" | "eu-west-3"
        | "eu-north-1" | "eu-south-1" | "eu-south-2" | "ap-east-1" | "ap-south-1"
        | "ap-south-2" | "ap-southeast-1" | "ap-southeast-2" | "ap-southeast-3"
        | "ap-southeast-4" | "ap-southeast-5" | "ap-southeast-7" | "ap-northeast-2"
        | "ap-northeast-3" | "me-south-1" | "me-central-1" | "il-central-1" | "af-south-1"
        | "cn-northwest-1" | "us-gov-west-1" | "us-gov-east-1" => ABC,
        _ => return None,
    })
}

impl AwsSettings {
    /// The availability zones opsctl spreads over in `region`: `[aws].azs`, else the
    /// known zones of the region; a region opsctl does not know must be listed.
    pub fn azs_of(&self, region: &str) -> Result<Vec<String>, String> {
        if let Some(azs) = self.azs.get(region) {
            return Ok(azs.clone());
        }
        known_azs(region)
            .map(|letters| letters.iter().map(|l| format!("{region}{l}")).collect())
            .ok_or_else(|| {
                format!(
                    "opsctl does not know the availability zones of {region}: list them in [aws].azs (`aws ec2 describe-availability-zones --region {region}`)"
                )
            })
    }
}

/// Where Terraform keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The cluster's state bucket (`[aws].state_bucket`), encrypted and locked.
    S3,
    /// Files under `.opsctl/<cluster>/<workspace>/`: for trying opsctl without a cloud account.
    Local,
}

/// `[terraform]`: how `opsctl terraform` runs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TerraformSettings {
    /// `terraform` or `tofu` binary (name on PATH or a path); `OPSCTL_TERRAFORM` overrides.
    #[serde(default)]
    pub binary: Option<String>,
    /// `s3` (default when there is an [aws] section) or `local`.
    #[serde(default)]
    pub backend: Option<BackendKind>,
    /// DynamoDB lock table for terraform < 1.10 (default `<state_bucket>-lock`); newer
    /// binaries lock with an S3 lock file instead.
    #[serde(default)]
    pub lock_table: Option<String>,
    /// Time an external provider may take to render a workspace (default 60s).
    #[serde(default)]
    pub provider_timeout: Option<String>,
}

impl Cluster {
    /// The state backend: as configured, else S3 when the cluster has an [aws] section.
    pub fn backend_kind(&self) -> BackendKind {
        self.terraform.backend.unwrap_or(if self.aws.is_some() {
            BackendKind::S3
        } else {
            BackendKind::Local
        })
    }
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
    /// Hostname pattern of the variant's jobs (over the cluster's `hostname`).
    #[serde(default)]
    pub hostname: Option<String>,
    /// `{label}` of the hostname pattern per job (default: the job name).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
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
