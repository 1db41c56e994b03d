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

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub instance_id: String,
    /// `core`, `client` or `monitoring` (the instance's `Role` tag).
    pub role: Role,
    pub asg: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub region: String,
    pub az: String,
    pub instance_type: String,
    pub state: InstanceState,
    /// The Nomad node on this instance, when Nomad is reachable.
    pub nomad: Option<NomadNode>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NomadNode {
    pub id: String,
    pub status: crate::nomad::status::NodeStatus,
    pub eligibility: String,
    pub drain: bool,
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

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub nodes: Vec<Node>,
    pub asgs: Vec<AutoScalingGroup>,
    /// Why Nomad's view is missing, when it is.
    pub nomad_error: Option<String>,
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
