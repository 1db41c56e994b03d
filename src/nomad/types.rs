//! Responses opsctl reads, open-world: statuses are strings, unknown fields are ignored and
//! missing ones default, so a newer Nomad never breaks decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Go servers send `null` for empty values in places; read it as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Namespace {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub stop: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterResponse {
    #[serde(rename = "EvalID")]
    #[serde(deserialize_with = "null_as_default")]
    pub eval_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub eval_create_index: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub warnings: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    pub diff: Option<JobDiff>,
    pub annotations: Option<PlanAnnotations>,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    /// RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`) when the job is not periodic.
    #[serde(deserialize_with = "null_as_default")]
    pub next_periodic_launch: String,
    #[serde(deserialize_with = "null_as_default")]
    pub warnings: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanAnnotations {
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: Option<BTreeMap<String, BTreeMap<String, u64>>>,
}

/// `Added`, `Deleted`, `Edited` or `None` at every level, as Nomad reports them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDiff {
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
    pub task_groups: Option<Vec<TaskGroupDiff>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub old: String,
    #[serde(deserialize_with = "null_as_default")]
    pub new: String,
    pub annotations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
    pub tasks: Option<Vec<TaskDiff>>,
    pub updates: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskDiff {
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
    pub annotations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub job_version: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status_description: String,
    pub task_groups: BTreeMap<String, DeploymentState>,
    #[serde(deserialize_with = "null_as_default")]
    pub create_index: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

impl Deployment {
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "running" | "paused" | "pending" | "blocked" | "unblocking" | "initializing"
        )
    }

    /// Canaries placed and healthy but not promoted: the deployment waits for a promotion.
    pub fn awaits_promotion(&self) -> bool {
        self.status == "running"
            && self.task_groups.values().any(|g| {
                g.desired_canaries > 0
                    && !g.promoted
                    && g.placed_canaries.as_ref().map_or(0, Vec::len) as u64 >= g.desired_canaries
                    && g.healthy_allocs >= g.desired_canaries
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentState {
    #[serde(deserialize_with = "null_as_default")]
    pub auto_revert: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub auto_promote: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub promoted: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub desired_canaries: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub desired_total: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub placed_allocs: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub healthy_allocs: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub unhealthy_allocs: u64,
    pub placed_canaries: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status_description: String,
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(rename = "DeploymentID")]
    #[serde(deserialize_with = "null_as_default")]
    pub deployment_id: String,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    #[serde(deserialize_with = "null_as_default")]
    pub blocked_eval: String,
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocationStub {
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    #[serde(rename = "NodeID")]
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_name: String,
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub job_version: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub task_group: String,
    #[serde(deserialize_with = "null_as_default")]
    pub client_status: super::status::AllocClientStatus,
    #[serde(deserialize_with = "null_as_default")]
    pub desired_status: super::status::AllocDesiredStatus,
    #[serde(rename = "EvalID")]
    #[serde(deserialize_with = "null_as_default")]
    pub eval_id: String,
    #[serde(rename = "DeploymentID")]
    #[serde(deserialize_with = "null_as_default")]
    pub deployment_id: String,
    pub deployment_status: Option<AllocDeploymentStatus>,
    #[serde(deserialize_with = "null_as_default")]
    pub create_index: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    pub healthy: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    pub canary: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeStub {
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub address: String,
    #[serde(deserialize_with = "null_as_default")]
    pub datacenter: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_class: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: super::status::NodeStatus,
    #[serde(deserialize_with = "null_as_default")]
    pub scheduling_eligibility: String,
    #[serde(deserialize_with = "null_as_default")]
    pub drain: bool,
    /// Nomad 1.6+; empty from older servers (`default`).
    #[serde(deserialize_with = "null_as_default")]
    pub node_pool: String,
}

/// `GET /v1/agent/members`: the gossip pool of Nomad servers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMembers {
    #[serde(deserialize_with = "null_as_default")]
    pub members: Vec<ServerMember>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMember {
    /// `<node name>.<region>`, as Nomad names servers.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub addr: String,
    /// `alive`, `leaving`, `left`, `failed`, ...
    #[serde(deserialize_with = "null_as_default")]
    pub status: super::status::ServerStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_read_as_defaults() {
        let stub: AllocationStub = serde_json::from_value(serde_json::json!({
            "ID": "a", "DeploymentID": null, "JobVersion": null, "NodeName": "n1", "Unknown": 1
        }))
        .unwrap();
        assert_eq!(stub.deployment_id, "");
        assert_eq!(stub.job_version, 0);
        assert_eq!(stub.node_name, "n1");
    }
}

/// Nomad's `AllocMetric`: why a task group could not be placed (an evaluation's or a plan's
/// `FailedTGAllocs` entry).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocMetric {
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_evaluated: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_filtered: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_in_pool: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_available: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub class_filtered: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub constraint_filtered: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_exhausted: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub class_exhausted: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub dimension_exhausted: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub quota_exhausted: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub coalesced_failures: u64,
}

impl AllocMetric {
    /// Nomad's reasons in its own words (as `nomad job status` prints them), joined by `; `.
    pub fn reasons(&self) -> String {
        let mut out = Vec::new();
        if self.nodes_evaluated == 0 {
            out.push("no nodes were eligible for evaluation".to_string());
        }
        for (dc, available) in &self.nodes_available {
            if *available == 0 {
                out.push(format!("no nodes are available in datacenter \"{dc}\""));
            }
        }
        for (class, n) in &self.class_filtered {
            out.push(format!("class \"{class}\": {n} nodes excluded by filter"));
        }
        for (constraint, n) in &self.constraint_filtered {
            out.push(format!(
                "constraint \"{constraint}\": {n} nodes excluded by filter"
            ));
        }
        if self.nodes_exhausted > 0 {
            out.push(format!(
                "resources exhausted on {} nodes",
                self.nodes_exhausted
            ));
        }
        for (class, n) in &self.class_exhausted {
            out.push(format!("class \"{class}\" exhausted on {n} nodes"));
        }
        for (dimension, n) in &self.dimension_exhausted {
            out.push(format!("dimension \"{dimension}\" exhausted on {n} nodes"));
        }
        for quota in &self.quota_exhausted {
            out.push(format!("quota limit hit \"{quota}\""));
        }
        let mut text = format!(
            "{} nodes evaluated, {} filtered, {} exhausted",
            self.nodes_evaluated, self.nodes_filtered, self.nodes_exhausted
        );
        if !out.is_empty() {
            text.push_str(": ");
            text.push_str(&out.join("; "));
        }
        if self.coalesced_failures > 0 {
            text.push_str(&format!(
                " ({} more allocations unplaced)",
                self.coalesced_failures
            ));
        }
        text
    }
}

/// `FailedTGAllocs` as one line: `group web: 0 nodes evaluated, ...`.
pub fn placement_reasons(failed: &BTreeMap<String, AllocMetric>) -> String {
    failed
        .iter()
        .map(|(group, metric)| format!("task group `{group}`: {}", metric.reasons()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod alloc_metric_tests {
    use super::*;

    #[test]
    fn reasons_read_like_nomads() {
        let metric: AllocMetric = serde_json::from_value(serde_json::json!({
            "NodesEvaluated": 3, "NodesFiltered": 3, "NodesInPool": 3,
            "NodesAvailable": {"dc1": 3}, "ClassFiltered": null,
            "ConstraintFiltered": {"${attr.kernel.name} = windows": 3},
            "NodesExhausted": 0, "ClassExhausted": null, "DimensionExhausted": null,
            "QuotaExhausted": null, "ResourcesExhausted": null, "Scores": null,
            "AllocationTime": 12000, "CoalescedFailures": 1
        }))
        .unwrap();
        assert_eq!(
            metric.reasons(),
            "3 nodes evaluated, 3 filtered, 0 exhausted: constraint \"${attr.kernel.name} = windows\": 3 nodes excluded by filter (1 more allocations unplaced)"
        );
    }
}
