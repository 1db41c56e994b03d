//! The cluster's nodes: EC2 instances (by the tags the `aws` provider puts on them) and, when
//! Nomad answers, its nodes and allocations.

mod ec2;
pub mod selector;

use std::time::Duration;

use serde::Serialize;

pub use ec2::AutoScalingGroup;
pub use selector::{resolve_target, select, Selector};

use crate::error::Result;
use crate::nomad::types::{AllocationStub, NodeStub};
use crate::nomad::NomadClient;
use crate::repo::Repo;

/// One EC2 instance tagged `Cluster = <cluster>` (pending, running, stopping or stopped), with
/// the Nomad node on it when Nomad answered.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// The `Name` tag (`core-1`, `monitoring`, `client-<region>-<name>`), else the instance id.
    pub name: String,
    /// EC2 instance id (`i-…`).
    pub instance_id: String,
    /// The `Role` tag: `core`, `monitoring`, `routing` or `client` (`unknown` when untagged).
    pub role: Role,
    /// The autoscaling group the instance belongs to (`opsctl:asg` tag, else AWS's
    /// `aws:autoscaling:groupName`); `None` for named nodes.
    pub asg: Option<String>,
    /// Private IPv4 address; `None` when EC2 reports none.
    pub private_ip: Option<String>,
    /// Public IPv4 address; `None` for instances without one (clients in private subnets).
    pub public_ip: Option<String>,
    /// AWS region the instance runs in.
    pub region: String,
    /// Availability zone (`eu-central-1a`).
    pub az: String,
    /// EC2 instance type (`t3a.medium`).
    pub instance_type: String,
    /// EC2 instance state: `pending`, `running`, `stopping` or `stopped`.
    pub state: InstanceState,
    /// The Nomad node on this instance, when Nomad is reachable.
    pub nomad: Option<NomadNode>,
}

/// The Nomad node matched to an instance (by name, private address or instance id).
#[derive(Debug, Clone, Serialize)]
pub struct NomadNode {
    /// Nomad node id (a UUID), what allocations refer to.
    pub id: String,
    /// Nomad node status: `ready`, `down`, `initializing` or `disconnected`.
    pub status: crate::nomad::status::NodeStatus,
    /// Scheduling eligibility: `eligible` or `ineligible`.
    pub eligibility: String,
    /// Whether the node is draining.
    pub drain: bool,
    /// Nomad node class (empty when the client has none).
    pub class: String,
}

crate::nomad::status::status_words! {
    /// A node's role in the cluster, from its `Role` tag.
    Role {
        /// A Nomad/Consul/Vault server.
        Core = "core",
        /// A Nomad client.
        Client = "client",
        /// The monitoring node.
        Monitoring = "monitoring",
        /// A routing (ingress) node.
        Routing = "routing",
    }
}

crate::nomad::status::status_words! {
    /// An EC2 instance's state (`InstanceStateName`).
    InstanceState {
        /// Starting.
        Pending = "pending",
        /// Running.
        Running = "running",
        /// Being terminated.
        ShuttingDown = "shutting-down",
        /// Terminated.
        Terminated = "terminated",
        /// Being stopped.
        Stopping = "stopping",
        /// Stopped.
        Stopped = "stopped",
    }
}

impl Node {
    /// The address SSH connects to: the public IP, else the private one.
    pub fn address(&self) -> Option<&str> {
        self.public_ip.as_deref().or(self.private_ip.as_deref())
    }
}

/// What `opsctl info` lists and `--on` selects from: the cluster's instances and autoscaling
/// groups in every region it uses, with Nomad's view when it was asked and answered.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// Instances, sorted by name, then instance id.
    pub nodes: Vec<Node>,
    /// The cluster's autoscaling groups (tagged `Cluster`), region by region.
    pub asgs: Vec<AutoScalingGroup>,
    /// Why Nomad's view is missing, when it is.
    pub nomad_error: Option<String>,
    /// Nomad's allocations of every namespace (empty without Nomad), for `@alloc:` selectors and
    /// `ssh --job`; not part of the JSON output.
    #[serde(skip)]
    pub allocations: Vec<AllocationStub>,
}

/// Regions the cluster uses: the core region, then client regions.
pub fn regions(repo: &Repo) -> Vec<String> {
    let mut regions: Vec<String> = repo.cluster.aws.iter().map(|a| a.region.clone()).collect();
    for group in &repo.cluster.clients {
        if !regions.contains(&group.region) {
            regions.push(group.region.clone());
        }
    }
    regions
}

impl Inventory {
    /// EC2 and autoscaling of every region concurrently; Nomad when `nomad` is given and
    /// answers within a few seconds (an unreachable Nomad is noted, not fatal).
    pub async fn load(repo: &Repo, nomad: Option<&NomadClient>) -> Result<Inventory> {
        let regions = regions(repo);
        let cluster = repo.cluster.name.as_str();
        let (ec2, nomad_view) = tokio::join!(ec2::load(cluster, &regions), async {
            match nomad {
                Some(client) => Some(
                    tokio::time::timeout(Duration::from_secs(5), async {
                        let (nodes, allocations) =
                            tokio::join!(client.nodes(), client.allocations("*"));
                        Ok::<_, crate::nomad::NomadError>((nodes?, allocations?))
                    })
                    .await,
                ),
                None => None,
            }
        });
        let (mut nodes, asgs) = ec2?;
        let mut inventory = Inventory {
            nodes: Vec::new(),
            asgs,
            nomad_error: None,
            allocations: Vec::new(),
        };
        match nomad_view {
            Some(Ok(Ok((nomad_nodes, allocations)))) => {
                for node in &mut nodes {
                    node.nomad = match_nomad(node, &nomad_nodes);
                }
                inventory.allocations = allocations;
            }
            Some(Ok(Err(e))) => inventory.nomad_error = Some(e.to_string()),
            Some(Err(_)) => inventory.nomad_error = Some("Nomad did not answer within 5s".into()),
            None => {}
        }
        nodes.sort_by(|a, b| a.name.cmp(&b.name).then(a.instance_id.cmp(&b.instance_id)));
        inventory.nodes = nodes;
        Ok(inventory)
    }

    /// The nodes a fan-out reaches by default: running instances (stopped ones are listed by
    /// `info`, and still reachable by naming them).
    pub fn running(&self) -> Vec<&Node> {
        self.nodes
            .iter()
            .filter(|n| n.state == InstanceState::Running)
            .collect()
    }

    /// The node an allocation runs on.
    pub fn node_of_allocation(&self, allocation: &AllocationStub) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.nomad.as_ref().is_some_and(|m| m.id == allocation.node_id))
    }
}

/// A Nomad node is the instance with its name or its private address.
fn match_nomad(node: &Node, nomad_nodes: &[NodeStub]) -> Option<NomadNode> {
    nomad_nodes
        .iter()
        .find(|n| {
            n.name == node.name
                || node.private_ip.as_deref() == Some(n.address.as_str())
                || n.name == node.instance_id
        })
        .map(|n| NomadNode {
            id: n.id.clone(),
            status: n.status.clone(),
            eligibility: n.scheduling_eligibility.clone(),
            drain: n.drain,
            class: n.node_class.clone(),
        })
}
