//! System and sysbatch jobs: which nodes got an allocation, and why the others did not.
//!
//! Nomad's system scheduler places one allocation of each group on every node that is ready
//! and eligible, in one of the job's datacenters and in its node pool (`all`: every pool),
//! and passes the job's constraints (a node filtered by constraints is no failure unless no
//! node at all fits; then the evaluation carries `FailedTGAllocs`). The watch ends when every
//! placed allocation runs (system) or completed (sysbatch), and says how many nodes are
//! covered and why each other node of the job's datacenters has none.

use serde::Serialize;
use serde_json::Value;

use crate::nomad::types::{AllocationStub, NodeStub};
use crate::nomad::{NomadClient, NomadError};

/// How a system job covers the nodes of its datacenters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Nodes with an allocation of the submitted version.
    pub placed: usize,
    /// Nodes of the job's datacenters and node pool that are ready and eligible.
    pub eligible: usize,
    /// Nodes of the job's datacenters without an allocation, with the reason.
    pub uncovered: Vec<Uncovered>,
}

/// A node of the job's datacenters that has no allocation of the system job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncovered {
    /// Node name (its ID when the name is empty).
    pub node: String,
    /// Why it has none, e.g. `node is down`, `draining`, `filtered by the job's constraints`.
    pub reason: String,
}

impl Coverage {
    /// `on 2 of 3 eligible nodes; node-c: down`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "on {} of {} eligible node{}",
            self.placed,
            self.eligible,
            if self.eligible == 1 { "" } else { "s" }
        );
        for u in &self.uncovered {
            text.push_str(&format!("; {}: {}", u.node, u.reason));
        }
        text
    }
}

/// Nomad's datacenter globs: `*` and `prefix*`.
fn dc_matches(pattern: &str, dc: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => dc.starts_with(prefix),
        None => pattern == dc,
    }
}

/// The coverage of `allocations` (the submitted version's) over `nodes`, for job `spec`.
pub fn coverage(
    spec: Option<&Value>,
    nodes: &[NodeStub],
    allocations: &[&AllocationStub],
) -> Coverage {
    let dcs: Vec<&str> = spec
        .and_then(|s| s.get("Datacenters"))
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pool = spec
        .and_then(|s| s.get("NodePool"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or("default");
    let mut result = Coverage::default();
    for node in nodes
        .iter()
        .filter(|n| dcs.iter().any(|dc| dc_matches(dc, &n.datacenter)))
    {
        let node_pool = if node.node_pool.is_empty() {
            "default"
        } else {
            node.node_pool.as_str()
        };
        let in_pool = pool == "all" || node_pool == pool;
        let ready = node.status == "ready" && node.scheduling_eligibility == "eligible";
        if in_pool && ready {
            result.eligible += 1;
        }
        if allocations.iter().any(|a| a.node_id == node.id) {
            result.placed += 1;
            continue;
        }
        let reason = if !in_pool {
            format!("in node pool `{node_pool}`, not `{pool}`")
        } else if node.status != "ready" {
            format!("node is {}", node.status)
        } else if node.drain {
            "draining".to_string()
        } else if node.scheduling_eligibility != "eligible" {
            "ineligible for scheduling".to_string()
        } else {
            "filtered by the job's constraints".to_string()
        };
        let name = if node.name.is_empty() {
            node.id.clone()
        } else {
            node.name.clone()
        };
        result.uncovered.push(Uncovered { node: name, reason });
    }
    result
}

/// The end of a system job's watch: healthy, with its coverage when Nomad lists its nodes
/// (a token without `node:read` gets no coverage, not a failure).
pub async fn settled(
    client: &NomadClient,
    spec: Option<&Value>,
    allocations: &[&AllocationStub],
) -> super::watch::Watched {
    match coverage_now(client, spec, allocations).await {
        Ok(coverage) => super::watch::Watched::Covered { coverage },
        Err(_) => super::watch::Watched::Healthy { deployment: None },
    }
}

/// Why a system job's evaluation placed nothing: the job's datacenters and each of their
/// nodes' reason.
pub async fn nothing_placed(client: &NomadClient, spec: Option<&Value>) -> String {
    let dcs = spec
        .and_then(|s| s.get("Datacenters"))
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    match coverage_now(client, spec, &[]).await {
        Ok(c) if !c.uncovered.is_empty() => format!(
            "{dcs} ({})",
            c.uncovered
                .iter()
                .map(|u| format!("{}: {}", u.node, u.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Ok(_) => format!("{dcs} (no node there)"),
        Err(_) => dcs,
    }
}

/// [`coverage`] with the cluster's nodes as Nomad lists them now.
pub async fn coverage_now(
    client: &NomadClient,
    spec: Option<&Value>,
    allocations: &[&AllocationStub],
) -> Result<Coverage, NomadError> {
    let nodes = client.nodes().await?;
    Ok(coverage(spec, &nodes, allocations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, dc: &str, status: &str, eligibility: &str, pool: &str) -> NodeStub {
        NodeStub {
            id: format!("id-{name}"),
            name: name.into(),
            datacenter: dc.into(),
            status: status.into(),
            scheduling_eligibility: eligibility.into(),
            node_pool: pool.into(),
            ..NodeStub::default()
        }
    }

    #[test]
    fn every_node_of_the_datacenters_is_covered_or_explained() {
        let nodes = [
            node("a", "dc1", "ready", "eligible", ""),
            node("b", "dc1", "ready", "eligible", "default"),
            node("c", "dc1", "down", "eligible", "default"),
            node("d", "dc1", "ready", "ineligible", "default"),
            node("e", "dc1", "ready", "eligible", "gpu"),
            node("f", "dc2", "ready", "eligible", "default"),
        ];
        let alloc = AllocationStub {
            node_id: "id-a".into(),
            ..AllocationStub::default()
        };
        let spec = json!({"Datacenters": ["dc*1"], "Type": "system"});
        // `dc*1` is no glob Nomad knows (only a trailing `*`): nothing matches.
        assert_eq!(coverage(Some(&spec), &nodes, &[&alloc]).eligible, 0);
        let spec = json!({"Datacenters": ["dc1"], "Type": "system"});
        let c = coverage(Some(&spec), &nodes, &[&alloc]);
        assert_eq!((c.placed, c.eligible), (1, 2));
        assert_eq!(
            c.summary(),
            "on 1 of 2 eligible nodes; b: filtered by the job's constraints; c: node is down; \
             d: ineligible for scheduling; e: in node pool `gpu`, not `default`"
        );
        let spec = json!({"Datacenters": ["*"], "NodePool": "all"});
        assert_eq!(coverage(Some(&spec), &nodes, &[&alloc]).eligible, 4);
    }
}
