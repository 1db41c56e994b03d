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

/// A Nomad namespace, as `GET /v1/namespace/:name` and `GET /v1/namespaces` return it and
/// `POST /v1/namespace/:name` takes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Namespace {
    /// The namespace's `Name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `Description`; empty when unset.
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    /// `Meta`; `None` when the namespace has none (Nomad sends `null`).
    pub meta: Option<BTreeMap<String, String>>,
}

/// One entry of `GET /v1/jobs?meta=true` (Nomad's `JobListStub`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    /// Job `ID`, unique within its namespace.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Job `Name` (usually the same as the ID).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Namespace the job lives in.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// Job `Type`: `service`, `batch`, `system` or `sysbatch`.
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    /// `pending`, `running` or `dead`.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    /// `Stop`: the job was stopped (deregistered without purge).
    #[serde(deserialize_with = "null_as_default")]
    pub stop: bool,
    /// Raft index of the last change to the job's spec (the check-and-set index of a register).
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    /// Raft index of the last change to the entry, status changes included.
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
    /// Job `Meta` (sent because opsctl lists with `meta=true`); `None` when the job has none.
    pub meta: Option<BTreeMap<String, String>>,
}

/// Answer of `POST /v1/job/:id` (register).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterResponse {
    /// `EvalID` of the evaluation the registration created; empty when none was created (periodic
    /// and parameterized jobs).
    #[serde(rename = "EvalID")]
    #[serde(deserialize_with = "null_as_default")]
    pub eval_id: String,
    /// Raft index at which that evaluation was created.
    #[serde(deserialize_with = "null_as_default")]
    pub eval_create_index: u64,
    /// The job's new `JobModifyIndex`.
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    /// Nomad's validation warnings as one string; empty when none.
    #[serde(deserialize_with = "null_as_default")]
    pub warnings: String,
}

/// Answer of `POST /v1/job/:id/plan` with `Diff: true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanResponse {
    /// The job's current `JobModifyIndex` (0: the job does not exist): the check-and-set index to
    /// register with after this plan.
    #[serde(deserialize_with = "null_as_default")]
    pub job_modify_index: u64,
    /// What registering would change; `None` when Nomad sends no diff.
    pub diff: Option<JobDiff>,
    /// What the scheduler would do per task group; `None` when Nomad sends none.
    pub annotations: Option<PlanAnnotations>,
    /// Task groups that could not be placed, by group name; `None` when every group fits.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    /// RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`) when the job is not periodic.
    #[serde(deserialize_with = "null_as_default")]
    pub next_periodic_launch: String,
    /// Nomad's validation warnings as one string; empty when none.
    #[serde(deserialize_with = "null_as_default")]
    pub warnings: String,
}

/// A plan's `Annotations`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanAnnotations {
    /// `DesiredTGUpdates`: per task group name, counts by scheduler action (`Place`, `Stop`,
    /// `InPlaceUpdate`, `DestructiveUpdate`, `Canary`, `Ignore`, ...).
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: Option<BTreeMap<String, BTreeMap<String, u64>>>,
}

/// `Added`, `Deleted`, `Edited` or `None` at every level, as Nomad reports them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDiff {
    /// `Type`: `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    /// The job's ID.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Changed top-level job fields; `None` when there are none.
    pub fields: Option<Vec<FieldDiff>>,
    /// Changed nested job blocks (`Constraint`, `Meta`, ...); `None` when there are none.
    pub objects: Option<Vec<ObjectDiff>>,
    /// One entry per task group; `None` when there are none.
    pub task_groups: Option<Vec<TaskGroupDiff>>,
}

/// One field's change in a plan diff.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    /// `Type`: `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    /// Field name as Nomad spells it (e.g. `Count`).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Value before the change; empty when the field is added.
    #[serde(deserialize_with = "null_as_default")]
    pub old: String,
    /// Value after the change; empty when the field is deleted.
    #[serde(deserialize_with = "null_as_default")]
    pub new: String,
    /// Nomad's notes on the change (e.g. `forces create/destroy update`); `None` when none.
    pub annotations: Option<Vec<String>>,
}

/// A nested block's change in a plan diff (e.g. `Config`, `Resources`, `Constraint`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    /// `Type`: `Added`, `Deleted`, `Edited` or `None`.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    /// Block name as Nomad spells it.
    pub name: String,
    /// Changed fields of the block; `None` when there are none.
    pub fields: Option<Vec<FieldDiff>>,
    /// Changed nested blocks; `None` when there are none.
    pub objects: Option<Vec<ObjectDiff>>,
}

/// One task group's change in a plan diff.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    /// `Type`: `Added`, `Deleted`, `Edited` or `None`.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    /// Task group name.
    pub name: String,
    /// Changed group fields; `None` when there are none.
    pub fields: Option<Vec<FieldDiff>>,
    /// Changed group blocks; `None` when there are none.
    pub objects: Option<Vec<ObjectDiff>>,
    /// One entry per task; `None` when there are none.
    pub tasks: Option<Vec<TaskDiff>>,
    /// `Updates`: allocation counts by scheduler action (`create`, `destroy`, `in-place update`,
    /// `create/destroy update`, `canary`, `ignore`, ...); `None` when Nomad sends none.
    pub updates: Option<BTreeMap<String, u64>>,
}

/// One task's change in a plan diff.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskDiff {
    #[serde(rename = "Type")]
    /// `Type`: `Added`, `Deleted`, `Edited` or `None`.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    /// Task name.
    pub name: String,
    /// Changed task fields; `None` when there are none.
    pub fields: Option<Vec<FieldDiff>>,
    /// Changed task blocks (`Config`, `Resources`, ...); `None` when there are none.
    pub objects: Option<Vec<ObjectDiff>>,
    /// Nomad's notes (e.g. `forces create/destroy update`); `None` when none.
    pub annotations: Option<Vec<String>>,
}

/// A deployment, as `GET /v1/deployment/:id` and `GET /v1/job/:id/deployment` return it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    /// Deployment `ID`.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Namespace of the job.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// `JobID` of the job being rolled out.
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    /// Version of the job this deployment rolls out.
    #[serde(deserialize_with = "null_as_default")]
    pub job_version: u64,
    /// `running`, `paused`, `successful`, `failed`, `cancelled`, `pending`, `blocked`, ...
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    /// Nomad's explanation of the status (e.g. `Deployment completed successfully`).
    #[serde(deserialize_with = "null_as_default")]
    pub status_description: String,
    /// Progress per task group, by group name.
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// Raft index at which the deployment was created.
    #[serde(deserialize_with = "null_as_default")]
    pub create_index: u64,
    /// Raft index of its last change (the index to block on for the next one).
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

impl Deployment {
    /// True once the deployment can no longer change: any status other than `running`, `paused`,
    /// `pending`, `blocked`, `unblocking` or `initializing`.
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

/// One task group's progress in a deployment (Nomad's `DeploymentState`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentState {
    /// The job goes back to its last stable version if this deployment fails.
    #[serde(deserialize_with = "null_as_default")]
    pub auto_revert: bool,
    /// Canaries are promoted without an explicit promotion once healthy.
    #[serde(deserialize_with = "null_as_default")]
    pub auto_promote: bool,
    /// The group's canaries have been promoted.
    #[serde(deserialize_with = "null_as_default")]
    pub promoted: bool,
    /// Canaries the group's `update` block asks for; 0 without canaries.
    #[serde(deserialize_with = "null_as_default")]
    pub desired_canaries: u64,
    /// Allocations the group should have when the deployment is done.
    #[serde(deserialize_with = "null_as_default")]
    pub desired_total: u64,
    /// Allocations this deployment has placed so far.
    #[serde(deserialize_with = "null_as_default")]
    pub placed_allocs: u64,
    /// Placed allocations reported healthy.
    #[serde(deserialize_with = "null_as_default")]
    pub healthy_allocs: u64,
    /// Placed allocations reported unhealthy.
    #[serde(deserialize_with = "null_as_default")]
    pub unhealthy_allocs: u64,
    /// IDs of the canary allocations placed; `None` when none were.
    pub placed_canaries: Option<Vec<String>>,
}

/// An evaluation, as `GET /v1/evaluation/:id` returns it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    /// Evaluation `ID`.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// `pending`, `complete`, `failed`, `blocked` or `canceled`.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    /// Nomad's explanation of the status; often empty.
    #[serde(deserialize_with = "null_as_default")]
    pub status_description: String,
    /// Job the evaluation is for.
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    /// Deployment the evaluation created or updated; empty when none.
    #[serde(rename = "DeploymentID")]
    #[serde(deserialize_with = "null_as_default")]
    pub deployment_id: String,
    /// Task groups the scheduler could not place, by group name; `None` when all were placed.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    /// ID of the blocked evaluation created to place the rest later; empty when none.
    #[serde(deserialize_with = "null_as_default")]
    pub blocked_eval: String,
    /// Raft index of the evaluation's last change.
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

/// One allocation, as `GET /v1/job/:id/allocations` and `GET /v1/allocations` list it (Nomad's
/// `AllocListStub`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocationStub {
    /// Allocation `ID`.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// `<job>.<group>[<index>]`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Namespace of the job.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// `NodeID` of the client node running it.
    #[serde(rename = "NodeID")]
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    /// Name of that node.
    #[serde(deserialize_with = "null_as_default")]
    pub node_name: String,
    /// `JobID` of its job.
    #[serde(rename = "JobID")]
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    /// Version of the job the allocation runs.
    #[serde(deserialize_with = "null_as_default")]
    pub job_version: u64,
    /// Task group the allocation belongs to.
    #[serde(deserialize_with = "null_as_default")]
    pub task_group: String,
    /// What the client reports (`pending`, `running`, `complete`, `failed`, `lost`, ...).
    #[serde(deserialize_with = "null_as_default")]
    pub client_status: super::status::AllocClientStatus,
    /// What the scheduler wants (`run`, `stop`, `evict`).
    #[serde(deserialize_with = "null_as_default")]
    pub desired_status: super::status::AllocDesiredStatus,
    /// Evaluation that placed the allocation.
    #[serde(rename = "EvalID")]
    #[serde(deserialize_with = "null_as_default")]
    pub eval_id: String,
    /// Deployment that placed it; empty when none.
    #[serde(rename = "DeploymentID")]
    #[serde(deserialize_with = "null_as_default")]
    pub deployment_id: String,
    /// Its health in that deployment; `None` when Nomad has not set it.
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// Raft index at which the allocation was created.
    #[serde(deserialize_with = "null_as_default")]
    pub create_index: u64,
    /// Raft index of its last change.
    #[serde(deserialize_with = "null_as_default")]
    pub modify_index: u64,
}

/// An allocation's `DeploymentStatus`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    /// `None` while health is not decided yet.
    pub healthy: Option<bool>,
    /// The allocation is a canary of its deployment.
    #[serde(deserialize_with = "null_as_default")]
    pub canary: bool,
}

/// A client node, as `GET /v1/nodes` lists it and `GET /v1/node/:id` returns it (opsctl reads
/// only the list-stub fields).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeStub {
    /// Node `ID`.
    #[serde(rename = "ID")]
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Node name (usually the host name).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// The IP address the node advertises.
    #[serde(deserialize_with = "null_as_default")]
    pub address: String,
    /// Datacenter the node is in.
    #[serde(deserialize_with = "null_as_default")]
    pub datacenter: String,
    /// `NodeClass`; empty when unset.
    #[serde(deserialize_with = "null_as_default")]
    pub node_class: String,
    /// `initializing`, `ready`, `down`, `disconnected`, ...
    #[serde(deserialize_with = "null_as_default")]
    pub status: super::status::NodeStatus,
    /// `eligible` or `ineligible` for new placements.
    #[serde(deserialize_with = "null_as_default")]
    pub scheduling_eligibility: String,
    /// The node is draining.
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
    /// Every server the gossip pool knows, failed and left ones included.
    #[serde(deserialize_with = "null_as_default")]
    pub members: Vec<ServerMember>,
}

/// One server of the gossip pool (an entry of `GET /v1/agent/members`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMember {
    /// `<node name>.<region>`, as Nomad names servers.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Its gossip IP address.
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
    /// Nodes the scheduler looked at.
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_evaluated: u64,
    /// Nodes excluded by constraints, classes or datacenters.
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_filtered: u64,
    /// Nodes in the job's node pool.
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_in_pool: u64,
    /// Ready nodes per datacenter.
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_available: BTreeMap<String, u64>,
    /// Nodes filtered out, per node class.
    #[serde(deserialize_with = "null_as_default")]
    pub class_filtered: BTreeMap<String, u64>,
    /// Nodes filtered out, per constraint as Nomad prints it.
    #[serde(deserialize_with = "null_as_default")]
    pub constraint_filtered: BTreeMap<String, u64>,
    /// Nodes that passed the filters but lacked resources.
    #[serde(deserialize_with = "null_as_default")]
    pub nodes_exhausted: u64,
    /// Exhausted nodes, per node class.
    #[serde(deserialize_with = "null_as_default")]
    pub class_exhausted: BTreeMap<String, u64>,
    /// Exhausted nodes, per resource dimension (e.g. `memory`).
    #[serde(deserialize_with = "null_as_default")]
    pub dimension_exhausted: BTreeMap<String, u64>,
    /// Quota limits that were hit (Nomad Enterprise).
    #[serde(deserialize_with = "null_as_default")]
    pub quota_exhausted: Vec<String>,
    /// Further allocations of the group that failed the same way and were not evaluated again.
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
