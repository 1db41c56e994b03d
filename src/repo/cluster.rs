//! `clusters/<cluster>/cluster.toml`: one cluster, its nodes, variants and sources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A parsed `clusters/<cluster>/cluster.toml`: the cluster's AWS shape, its Nomad, and the
/// variants and sources its environments are made of. Parsing checks only types and unknown
/// keys; the rules (names, sizes, references) are checked when the repository is opened.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Cluster {
    /// The cluster's name (`name`): a DNS label equal to its folder `clusters/<name>/`; it
    /// names and tags (`Cluster`) the AWS resources and prefixes the state and secrets keys.
    pub name: String,
    /// The cluster's DNS domain (`domain`): node records (`core-N.`, `nomad.`, `*.` …) live under
    /// it, and it is the `{domain}` of job hostnames unless an environment sets its own.
    pub domain: String,
    /// `aws` is built in; any other name runs `opsctl-provider-<name>` from PATH.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// `[aws]`: account, region and images of the built-in `aws` provider; required when
    /// `provider = "aws"`, `None` for a cluster without AWS (local state backend).
    #[serde(default)]
    pub aws: Option<AwsSettings>,
    /// `[core]`: the Consul/Vault/Nomad servers.
    pub core: CoreSettings,
    /// `[monitoring]`: the monitoring node; `None` keeps the node, as a `t3a.large`
    /// (`DEFAULT_MONITORING_TYPE`).
    #[serde(default)]
    pub monitoring: Option<MonitoringSettings>,
    /// `[[clients]]`: the Nomad client autoscaling groups, in file order.
    #[serde(default)]
    pub clients: Vec<ClientGroup>,
    /// `[nomad]`: how opsctl reaches the cluster's Nomad API.
    pub nomad: NomadSettings,
    /// `[variants.<name>]`: the kinds of environment the cluster runs, by name.
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
    /// `[sources.<name>]`: the Git repositories whose commits environments pin, by name.
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

    // ---- the cluster's shape on AWS (network layout, named nodes, routing, rules) ----
    /// `[network]`: VPC CIDR per region.
    #[serde(default)]
    pub network: NetworkSettings,
    /// `[nodes.<name>]`: per named node (`core-1`…, `monitoring`, `routing`).
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeSettings>,
    /// `[routing]`: the Traefik node, the wildcard records and the certificate.
    #[serde(default)]
    pub routing: Option<RoutingSettings>,
    /// `[[rules]]`: extra ingress rules per role.
    #[serde(default)]
    pub rules: Vec<RuleSettings>,

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

/// `[ssh]`: how `opsctl ssh` and `opsctl rebuild` log in to nodes; every key is optional.
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
    /// Whether `rebuild` shares one connection per node between its ssh/scp calls (default
    /// true; a node whose ssh config sets ControlMaster/ControlPath is left to that config).
    #[serde(default)]
    pub reuse_connections: Option<bool>,
}

/// `[rebuild].strategy`: how `opsctl rebuild` changes a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RebuildStrategy {
    /// Build the node's flake attribute, copy the closure, `nixos-rebuild switch`.
    Nixos,
    /// Copy a file set and run a command (non-Nix hosts).
    Command,
}

/// `[rebuild]`: how `opsctl rebuild` rolls a configuration out node by node; `None` in
/// [`Cluster::rebuild`] means the cluster has no rebuild configured.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RebuildSettings {
    /// `nixos` or `command`; the keys documented as "nixos:" or "command:" belong to that
    /// strategy only (`validate` reports the other strategy's keys).
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

/// `[aws]`: the AWS account side of the cluster (built-in `aws` provider).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AwsSettings {
    /// The core region: the core, monitoring and routing nodes, the KMS key and the state bucket
    /// live here; the first of [`Cluster::regions`].
    pub region: String,
    /// ARN of the cluster's KMS key (in the core region); it encrypts state, secrets and the
    /// core region's root volumes. `None`: `opsctl bootstrap` finds or creates the key by its
    /// alias `alias/opsctl-<cluster>` (`--write` records the ARN here); `certs` needs it set.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// S3 bucket for Terraform state (`opsctl/<cluster>/<workspace>/terraform.tfstate`) and the
    /// cluster's secrets (`opsctl/<cluster>/secrets/`); not created by `opsctl terraform`.
    pub state_bucket: String,
    /// Public Route53 zone holding the node and wildcard records; `None`: the zone named after
    /// the cluster's `domain`.
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
    pub fn azs_of(&self, region: &str) -> Result<Vec<String>, UnknownAzs> {
        if let Some(azs) = self.azs.get(region) {
            return Ok(azs.clone());
        }
        known_azs(region)
            .map(|letters| letters.iter().map(|l| format!("{region}{l}")).collect())
            .ok_or_else(|| UnknownAzs {
                region: region.to_string(),
            })
    }
}

/// A region whose availability zones opsctl does not know and `[aws].azs` does not list.
#[derive(Debug, thiserror::Error)]
#[error("opsctl does not know the availability zones of {region}: list them in [aws].azs (`aws ec2 describe-availability-zones --region {region}`)")]
pub struct UnknownAzs {
    /// The region.
    pub region: String,
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
    /// The terraform version `config` writes for (backend dialect) without starting the
    /// binary; commands that run terraform use the binary's own version.
    #[serde(default)]
    pub version: Option<String>,
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

/// `[core]`: the Consul, Vault and Nomad servers `core-1` … `core-<count>`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CoreSettings {
    /// Number of servers: 3 or 5, for a Raft quorum (`validate` refuses others).
    pub count: u32,
    /// EC2 instance type of every server unless `[nodes.core-N].instance_type` overrides it.
    pub instance_type: String,
}

/// `[monitoring]`: the monitoring node (Prometheus, Grafana, Loki).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MonitoringSettings {
    /// EC2 instance type of the monitoring node (`[nodes.monitoring].instance_type` overrides it).
    pub instance_type: String,
}

/// A Nomad client autoscaling group.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClientGroup {
    /// AWS region of the group; its instances' `NomadDatacenter` tag is this region.
    pub region: String,
    /// EC2 instance type of the group's launch template.
    pub instance_type: String,
    /// Desired capacity of the autoscaling group; `min <= desired <= max`.
    pub desired: u32,
    /// Minimum size of the autoscaling group.
    pub min: u32,
    /// Maximum size of the autoscaling group.
    pub max: u32,
    /// Nomad node class, for jobs that constrain on it.
    #[serde(default)]
    pub node_class: Option<String>,
    /// Distinguishes several groups in one region; defaults to the node class or "default".
    #[serde(default)]
    pub name: Option<String>,
    /// Nomad node pool (Nomad's default pool `default` when unset).
    #[serde(default)]
    pub node_pool: Option<String>,
    /// Nomad client `meta`, for constraints and `${meta.<key>}` interpolation.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Nomad host volumes: name → path on the node (created, writable).
    #[serde(default)]
    pub host_volumes: BTreeMap<String, String>,
    /// Root volume (default 100 GiB gp3, as bitte's 100 GiB).
    #[serde(default)]
    pub volume_size: Option<u32>,
    /// EBS type of the root volume (default `gp3`).
    #[serde(default)]
    pub volume_type: Option<String>,
    /// Provisioned IOPS of the root volume (gp3, io1, io2); `None`: the type's default.
    #[serde(default)]
    pub volume_iops: Option<u32>,
    /// Throughput of the root volume, MiB/s (gp3); `None`: the type's default.
    #[serde(default)]
    pub volume_throughput: Option<u32>,
    /// Default true.
    #[serde(default)]
    pub ebs_optimized: Option<bool>,
    /// A public IP on each client (default false: clients sit in private subnets behind NAT).
    #[serde(default)]
    pub associate_public_ip: Option<bool>,
    /// Seconds after which the group replaces an instance: 0 (never, the default) or
    /// 604800 (7 days) to 31536000 (365 days).
    #[serde(default)]
    pub max_instance_lifetime: Option<u32>,
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

/// `[nomad]`: the cluster's Nomad API; `NOMAD_*` environment variables override it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NomadSettings {
    /// Base URL of the Nomad HTTP API, `http://` or `https://` (`NOMAD_ADDR` overrides).
    pub address: String,
    /// Nomad datacenters of the cluster (at least one); job templates see them as
    /// `cluster.datacenters`.
    pub datacenters: Vec<String>,
    /// Nomad region sent with every request (`NOMAD_REGION` overrides); `None`: the agent's own
    /// region. Templates see it as `cluster.nomad_region`.
    #[serde(default)]
    pub region: Option<String>,
}

/// `[variants.<name>]`: a kind of environment: the jobs it runs and the sources it pins.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Variant {
    /// Names of the jobs every environment of the variant runs: `jobs/<job>.json` or
    /// `jobs/<job>.json.tmpl` must exist.
    pub jobs: Vec<String>,
    /// Names of the `[sources]` each environment of the variant pins a revision of.
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
    /// Each environment of the variant has its own terraform workspace (the provider's `env`
    /// workspace, state `opsctl/<cluster>/envs/<NAME>/terraform.tfstate`): `env apply` applies
    /// it before the jobs, `env destroy` destroys it after them.
    #[serde(default)]
    pub infrastructure: bool,
}

fn default_port_block() -> u32 {
    11
}

/// `[sources.<name>]`: a Git repository whose commits environments pin.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Source {
    /// URL of the Git repository; recorded in every revision file of the source and used to
    /// find a checkout of the pinned commit.
    pub repo: String,
    /// Free text for readers of the file; opsctl does not use it.
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

// ---- the cluster's shape on AWS ----

/// `[network]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NetworkSettings {
    /// VPC CIDR (a /16) per region; a region not listed gets `10.<n>.0.0/16`, n its position
    /// among the regions in use.
    #[serde(default)]
    pub vpc_cidrs: BTreeMap<String, String>,
}

/// `[nodes.<name>]`: one named node's placement and size.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NodeSettings {
    /// Fixed private IP; the node goes into the public subnet holding it.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// EC2 instance type; `None`: the role's type (`[core]`, `[monitoring]` or `[routing]`).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Root volume, GiB (default 50).
    #[serde(default)]
    pub volume_size: Option<u32>,
    /// gp3 (default), gp2, io1, io2, st1, sc1, standard.
    #[serde(default)]
    pub volume_type: Option<String>,
    /// Provisioned IOPS (gp3, io1, io2).
    #[serde(default)]
    pub volume_iops: Option<u32>,
    /// Throughput MiB/s (gp3).
    #[serde(default)]
    pub volume_throughput: Option<u32>,
    /// Default true.
    #[serde(default)]
    pub ebs_optimized: Option<bool>,
}

/// `[routing]`: a node running Traefik for every job hostname.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RoutingSettings {
    /// Default `t3a.small` (bitte's routing node).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// More names on the certificate; each gets a DNS record pointing at the routing node
    /// unless it lies under the cluster domain (the wildcard covers it).
    #[serde(default)]
    pub extra_sans: Vec<String>,
    /// Hosted zones (besides the cluster's) holding `extra_sans`: validation records and the
    /// extra names' records go there.
    #[serde(default)]
    pub extra_zones: Vec<String>,
}

/// `[[rules]]`: an ingress rule on the security group of a role.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleSettings {
    /// `core`, `monitoring`, `routing` or `client`.
    pub role: String,
    /// One port, or `from_port`..=`to_port`.
    #[serde(default)]
    pub port: Option<u16>,
    /// First port of a range (with `to_port`; alone, the one port).
    #[serde(default)]
    pub from_port: Option<u16>,
    /// Last port of a range, inclusive (`None`: `from_port`).
    #[serde(default)]
    pub to_port: Option<u16>,
    /// `tcp` (default), `udp`, `icmp` or `-1` (all).
    #[serde(default = "default_protocols")]
    pub protocols: Vec<String>,
    /// IPv4 source ranges allowed in; ranges opening SSH may not cover the whole IPv4 space.
    #[serde(default)]
    pub cidrs: Vec<String>,
    /// Roles whose nodes may connect (their security groups, same region).
    #[serde(default)]
    pub source_roles: Vec<String>,
    /// Description of the AWS security group rule.
    #[serde(default)]
    pub description: Option<String>,
}

fn default_protocols() -> Vec<String> {
    vec!["tcp".to_string()]
}

impl RuleSettings {
    /// The port range, `(0, 0)` for all ports.
    pub fn ports(&self) -> (u16, u16) {
        match (self.port, self.from_port, self.to_port) {
            (Some(p), _, _) => (p, p),
            (None, Some(from), to) => (from, to.unwrap_or(from)),
            (None, None, Some(to)) => (to, to),
            (None, None, None) => (0, 0),
        }
    }
}

/// Roles a `[[rules]]` entry may name.
pub const RULE_ROLES: &[&str] = &["core", "monitoring", "routing", "client"];

/// Root volume settings after defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Size, GiB.
    pub size: u32,
    /// EBS volume type (`gp3`, `gp2`, `io1`, …).
    pub kind: String,
    /// Provisioned IOPS; `None`: the type's default.
    pub iops: Option<u32>,
    /// Throughput, MiB/s; `None`: the type's default.
    pub throughput: Option<u32>,
}

/// A named node of the core region (`core-1`…, `monitoring`, `routing`) with its settings.
#[derive(Debug, Clone)]
pub struct NamedNode {
    /// Node name and `Name` tag: `core-<n>`, `monitoring` or `routing`.
    pub name: String,
    /// `core`, `monitoring` or `routing` (the `Role` tag; one of [`RULE_ROLES`]).
    pub role: &'static str,
    /// EC2 instance type after defaults (`[nodes.<name>]`, else the role's section).
    pub instance_type: String,
    /// The node's `[nodes.<name>]` section, default when absent.
    pub settings: NodeSettings,
}

/// Root volume of named nodes, GiB.
pub const NODE_VOLUME_GB: u32 = 50;
/// Root volume of clients, GiB (bitte's `volumeSize` of autoscaling groups).
pub const CLIENT_VOLUME_GB: u32 = 100;
/// Instance type of the monitoring node when `[monitoring]` names none.
pub const DEFAULT_MONITORING_TYPE: &str = "t3a.large";
/// Instance type of the routing node when `[routing].instance_type` is unset.
pub const DEFAULT_ROUTING_TYPE: &str = "t3a.small";

impl NamedNode {
    /// The node's root volume: `[nodes.<name>]` settings over 50 GiB gp3 (`NODE_VOLUME_GB`).
    pub fn volume(&self) -> Volume {
        let s = &self.settings;
        Volume {
            size: s.volume_size.unwrap_or(NODE_VOLUME_GB),
            kind: s.volume_type.clone().unwrap_or_else(|| "gp3".into()),
            iops: s.volume_iops,
            throughput: s.volume_throughput,
        }
    }
}

impl ClientGroup {
    /// The group's root volume: its settings over 100 GiB gp3 (`CLIENT_VOLUME_GB`).
    pub fn volume(&self) -> Volume {
        Volume {
            size: self.volume_size.unwrap_or(CLIENT_VOLUME_GB),
            kind: self.volume_type.clone().unwrap_or_else(|| "gp3".into()),
            iops: self.volume_iops,
            throughput: self.volume_throughput,
        }
    }
}

impl Cluster {
    /// The named nodes in placement order: core-1…core-N, monitoring, then routing.
    pub fn named_nodes(&self) -> Vec<NamedNode> {
        let settings = |name: &str| self.nodes.get(name).cloned().unwrap_or_default();
        let node = |name: String, role: &'static str, default_type: String| {
            let settings = settings(&name);
            NamedNode {
                instance_type: settings.instance_type.clone().unwrap_or(default_type),
                name,
                role,
                settings,
            }
        };
        let mut nodes: Vec<NamedNode> = (1..=self.core.count)
            .map(|n| node(format!("core-{n}"), "core", self.core.instance_type.clone()))
            .collect();
        let monitoring_type = self
            .monitoring
            .as_ref()
            .map_or(DEFAULT_MONITORING_TYPE.to_string(), |m| {
                m.instance_type.clone()
            });
        nodes.push(node("monitoring".into(), "monitoring", monitoring_type));
        if let Some(routing) = &self.routing {
            let routing_type = routing
                .instance_type
                .clone()
                .unwrap_or_else(|| DEFAULT_ROUTING_TYPE.into());
            nodes.push(node("routing".into(), "routing", routing_type));
        }
        nodes
    }

    /// What job templates see as `cluster.nodes`: per named node its `name`, `role`,
    /// `hostname` (`<name>.<domain>`), `instance_type` and `private_ip` (null unless fixed in
    /// `[nodes.<name>]`).
    pub fn node_facts(&self) -> serde_json::Value {
        let nodes: serde_json::Map<String, serde_json::Value> = self
            .named_nodes()
            .into_iter()
            .map(|n| {
                let facts = serde_json::json!({
                    "name": n.name,
                    "role": n.role,
                    "hostname": format!("{}.{}", n.name, self.domain),
                    "instance_type": n.instance_type,
                    "private_ip": n.settings.private_ip,
                });
                (n.name, facts)
            })
            .collect();
        serde_json::Value::Object(nodes)
    }

    /// The VPC CIDR of `region`: `[network].vpc_cidrs`, else `10.<n>.0.0/16`, n the region's
    /// position among the regions in use.
    pub fn vpc_cidr(&self, region: &str) -> String {
        if let Some(cidr) = self.network.vpc_cidrs.get(region) {
            return cidr.clone();
        }
        let n = self.regions().iter().position(|r| r == region).unwrap_or(0);
        format!("10.{n}.0.0/16")
    }

    /// The roles with nodes in `region`.
    pub fn roles_in(&self, region: &str) -> Vec<&'static str> {
        let mut roles = Vec::new();
        if self.aws.as_ref().is_some_and(|a| a.region == region) {
            roles.extend(["core", "monitoring"]);
            if self.routing.is_some() {
                roles.push("routing");
            }
        }
        if self.clients.iter().any(|c| c.region == region) {
            roles.push("client");
        }
        roles
    }
}

/// The first two octets of a /16 VPC CIDR.
fn vpc_prefix(vpc_cidr: &str) -> Option<[u8; 2]> {
    let (addr, len) = vpc_cidr.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let [a, b, c, d] = addr.octets();
    (len == "16" && c == 0 && d == 0).then_some([a, b])
}

/// Public subnet `a.b.<az>.0/24` and private subnet `a.b.<16·(az+1)>.0/20` of AZ number `az`
/// in a /16 VPC.
pub fn subnet_cidrs(vpc_cidr: &str, az: usize) -> Option<(String, String)> {
    let [a, b] = vpc_prefix(vpc_cidr)?;
    let private = u8::try_from(16 * (az + 1)).ok()?;
    let public = u8::try_from(az).ok()?;
    Some((
        format!("{a}.{b}.{public}.0/24"),
        format!("{a}.{b}.{private}.0/20"),
    ))
}

/// The AZ number of the public subnet of a /16 VPC that holds `ip` as a usable host
/// address (AWS reserves .0–.3 and .255 of each subnet), if any of `az_count` does.
pub fn public_subnet_of(vpc_cidr: &str, az_count: usize, ip: &str) -> Option<usize> {
    let [a, b] = vpc_prefix(vpc_cidr)?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let [x, y, z, host] = ip.octets();
    ((x, y) == (a, b) && usize::from(z) < az_count && (4..=254).contains(&host))
        .then_some(usize::from(z))
}
