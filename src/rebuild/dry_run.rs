//! `rebuild --dry-run`: the roll's plan ([`super::plan`]) spelled out as the calls and
//! commands it makes.

use serde::Serialize;

use super::plan::{Action, NodePlan};
use super::RollOptions;
use crate::nomad::NomadClient;
use crate::output::{Report, Style};

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

impl DryRun {
    /// The dry run of `plans`: exactly the actions `rebuild::roll` would take.
    pub fn new(plans: &[NodePlan], nomad: Option<&NomadClient>, options: &RollOptions) -> Self {
        DryRun {
            nodes: plans
                .iter()
                .map(|plan| planned(plan, nomad, options))
                .collect(),
        }
    }
}

fn planned(plan: &NodePlan, nomad: Option<&NomadClient>, options: &RollOptions) -> PlannedNode {
    let node = &plan.node.name;
    let base = nomad.map(NomadClient::address).unwrap_or_default();
    let wait = humantime::format_duration(options.ssh_wait);
    let mut before = Vec::new();
    let mut commands = Vec::new();
    let mut after = Vec::new();
    for action in &plan.actions {
        match action {
            Action::WaitForSsh(_) => before.push(format!(
                "ssh {node} true   # until it answers, at most {wait}"
            )),
            Action::Drain(id) => {
                before.push(format!(
                    "POST {base}/v1/node/{id}/drain {{\"DrainSpec\":{{\"Deadline\":{}}},\"MarkEligible\":false}}",
                    options.drain_deadline.as_nanos()
                ));
                before.push(format!(
                    "GET {base}/v1/allocations?namespace=*   # until none runs on {id}"
                ));
            }
            Action::Run(step) => commands.push(step.display()),
            Action::WaitAlive(_) => after.push(format!(
                "ssh {node} true   # until it answers, at most {wait}"
            )),
            Action::HealthCheck(step) => after.push(step.argv.join(" ")),
            Action::ServerRejoined => after.push(format!(
                "GET {base}/v1/agent/members   # until {node} is alive"
            )),
            Action::ConsulPasses => {
                let consul = options.consul.as_ref().map(|c| c.address());
                after.push(format!(
                    "GET {}/v1/health/node/{node}   # until every check passes",
                    consul.unwrap_or_default()
                ))
            }
            Action::MarkEligible(id) => {
                after.push(format!("GET {base}/v1/node/{id}   # until ready"));
                after.push(format!(
                    "POST {base}/v1/node/{id}/eligibility {{\"Eligibility\":\"eligible\"}}"
                ));
            }
        }
    }
    PlannedNode {
        node: node.clone(),
        drain: plan.drains(),
        before,
        commands,
        health_check: options.health_check.clone(),
        after,
    }
}
