//! `rebuild --dry-run`: what `roll` would do to each node, spelled out as the calls and
//! commands it makes.

use serde::Serialize;

use super::strategy::Strategy;
use super::RollOptions;
use crate::inventory::Node;
use crate::output::{Report, Style};
use crate::remote::Ssh;

/// `rebuild --dry-run`: what would happen to every node.
#[derive(Serialize)]
pub struct DryRun {
    /// The nodes in roll order.
    pub nodes: Vec<PlannedNode>,
}

/// What a rebuild of one node would do, in order: Nomad calls before, the local commands of
/// the strategy, then the gates and Nomad calls after.
#[derive(Serialize)]
pub struct PlannedNode {
    /// The node's name.
    pub node: String,
    /// Whether it is drained first (a Nomad client known to Nomad).
    pub drain: bool,
    /// API calls before the switch (the drain and the wait for allocations to move).
    pub before: Vec<String>,
    /// The strategy's local commands, exactly as they would run.
    pub commands: Vec<String>,
    /// The health check run on the node after the switch.
    pub health_check: Option<String>,
    /// The gates after the switch and the calls that return the node to service.
    pub after: Vec<String>,
}

impl Report for DryRun {
    fn human(&self, style: &Style) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            out.push_str(&style.bold(&format!("{}:\n", node.node)));
            for line in node.before.iter().chain(&node.commands).chain(&node.after) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push_str("dry run: nothing was run\n");
        out
    }
}

/// The dry-run lines of one node: what `rebuild::roll` does, spelled out.
pub fn plan_node(
    node: &Node,
    strategy: &dyn Strategy,
    ssh: &Ssh,
    nomad: Option<&crate::nomad::NomadClient>,
    options: &RollOptions,
) -> crate::Result<PlannedNode> {
    let wait = humantime::format_duration(options.ssh_wait);
    let alive = format!(
        "ssh {} true   # until it answers, at most {wait}",
        node.name
    );
    let mut before = vec![alive.clone()];
    let mut after = vec![alive];
    let nomad_node = nomad.zip(node.nomad.as_ref());
    let drain = node.role == "client" && nomad_node.is_some();
    if let (true, Some((nomad, n))) = (drain, nomad_node) {
        let base = nomad.address();
        before.push(format!(
            "POST {base}/v1/node/{}/drain {{\"DrainSpec\":{{\"Deadline\":{}}},\"MarkEligible\":false}}",
            n.id,
            options.drain_deadline.as_nanos()
        ));
        before.push(format!(
            "GET {base}/v1/allocations?namespace=*   # until none runs on {}",
            n.id
        ));
    }
    if let Some(check) = &options.health_check {
        after.push(
            ssh.argv(node, std::slice::from_ref(check), false, true)?
                .join(" "),
        );
    }
    if let (Some(nomad), "core") = (nomad, node.role.as_str()) {
        after.push(format!(
            "GET {}/v1/agent/members   # until {} is alive",
            nomad.address(),
            node.name
        ));
    }
    if let Some(consul) = &options.consul {
        after.push(format!(
            "GET {}/v1/health/node/{}   # until every check passes",
            consul.address(),
            node.name
        ));
    }
    if let (true, Some((nomad, n))) = (drain, nomad_node) {
        let base = nomad.address();
        after.push(format!("GET {base}/v1/node/{}   # until ready", n.id));
        after.push(format!(
            "POST {base}/v1/node/{}/eligibility {{\"Eligibility\":\"eligible\"}}",
            n.id
        ));
    }
    Ok(PlannedNode {
        node: node.name.clone(),
        drain,
        before,
        commands: strategy
            .steps(node, ssh)?
            .iter()
            .map(|s| s.display())
            .collect(),
        health_check: options.health_check.clone(),
        after,
    })
}
