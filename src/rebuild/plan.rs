//! What a roll does to each node, as data: `rebuild::roll` runs these actions and
//! `rebuild --dry-run` prints them, so the two cannot drift apart.

use std::fmt;

use serde::Serialize;

use super::strategy::{Step, Strategy};
use super::RollOptions;
use crate::inventory::{Node, Role};
use crate::nomad::NomadClient;
use crate::remote::Ssh;

/// A phase of a node's rebuild: the one named when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for SSH before anything else.
    Ssh,
    /// Draining the Nomad client.
    Drain,
    /// The strategy's commands.
    Switch,
    /// Waiting for SSH again after the switch.
    Alive,
    /// The health check and the Nomad and Consul gates.
    Health,
    /// Waiting for the Nomad node to be ready and marking it eligible.
    Eligible,
}

impl Phase {
    /// The phase's name, as reports show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Ssh => "ssh",
            Phase::Drain => "drain",
            Phase::Switch => "switch",
            Phase::Alive => "alive",
            Phase::Health => "health",
            Phase::Eligible => "eligible",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the roll does to a node, in the order it does them.
#[derive(Debug, Clone)]
pub enum Action {
    /// Wait until `ssh … true` succeeds, at most `RollOptions::ssh_wait`.
    WaitForSsh(Vec<String>),
    /// Drain the Nomad client (this Nomad node id) and wait until none of its allocations runs.
    Drain(String),
    /// One local command of the strategy.
    Run(Step),
    /// After the switch: close the shared connection, then wait for `ssh … true` on a new one.
    WaitAlive(Vec<String>),
    /// The configured health check, over SSH.
    HealthCheck(Step),
    /// Wait until the node is an alive member of Nomad's server pool.
    ServerRejoined,
    /// Wait until every Consul check of the node passes.
    ConsulPasses,
    /// Wait until the Nomad node (this id) is ready, then mark it eligible.
    MarkEligible(String),
}

impl Action {
    /// The phase a failure of this action is reported in.
    pub fn phase(&self) -> Phase {
        match self {
            Action::WaitForSsh(_) => Phase::Ssh,
            Action::Drain(_) => Phase::Drain,
            Action::Run(_) => Phase::Switch,
            Action::WaitAlive(_) => Phase::Alive,
            Action::HealthCheck(_) | Action::ServerRejoined | Action::ConsulPasses => Phase::Health,
            Action::MarkEligible(_) => Phase::Eligible,
        }
    }
}

/// Everything the roll does to one node.
#[derive(Debug, Clone)]
pub struct NodePlan<'a> {
    /// The node.
    pub node: &'a Node,
    /// What is done to it, in order.
    pub actions: Vec<Action>,
}

impl NodePlan<'_> {
    /// Whether the node is drained first (a Nomad client known to Nomad).
    pub fn drains(&self) -> bool {
        self.actions.iter().any(|a| matches!(a, Action::Drain(_)))
    }
}

/// The plan of every node, in roll order: what `roll` runs and `--dry-run` prints.
pub fn plan<'a>(
    nodes: &[&'a Node],
    strategy: &dyn Strategy,
    ssh: &Ssh,
    nomad: Option<&NomadClient>,
    options: &RollOptions,
) -> crate::Result<Vec<NodePlan<'a>>> {
    nodes
        .iter()
        .map(|node| plan_node(node, strategy, ssh, nomad, options))
        .collect()
}

fn plan_node<'a>(
    node: &'a Node,
    strategy: &dyn Strategy,
    ssh: &Ssh,
    nomad: Option<&NomadClient>,
    options: &RollOptions,
) -> crate::Result<NodePlan<'a>> {
    let alive = ssh.argv(node, &["true".into()], false, true)?;
    let mut actions = vec![Action::WaitForSsh(alive.clone())];
    let drained = match (nomad, &node.nomad) {
        (Some(_), Some(n)) if node.role == Role::Client => Some(n.id.clone()),
        _ => None,
    };
    if let Some(id) = &drained {
        actions.push(Action::Drain(id.clone()));
    }
    actions.extend(strategy.steps(node, ssh)?.into_iter().map(Action::Run));
    actions.push(Action::WaitAlive(alive));
    if let Some(check) = &options.health_check {
        actions.push(Action::HealthCheck(Step {
            argv: ssh.argv(node, std::slice::from_ref(check), false, true)?,
            env: Vec::new(),
        }));
    }
    if nomad.is_some() && node.role == Role::Core {
        actions.push(Action::ServerRejoined);
    }
    if options.consul.is_some() {
        actions.push(Action::ConsulPasses);
    }
    if let Some(id) = drained {
        actions.push(Action::MarkEligible(id));
    }
    Ok(NodePlan { node, actions })
}
