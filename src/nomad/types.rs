//! Responses opsctl reads, open-world: statuses are strings, unknown fields are ignored and
//! missing ones default, so a newer Nomad never breaks decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Namespace {
    pub name: String,
    pub description: String,
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub status: String,
    pub stop: bool,
    pub version: u64,
    pub job_modify_index: u64,
    pub modify_index: u64,
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_modify_index: u64,
    pub warnings: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanResponse {
    pub job_modify_index: u64,
    pub diff: Option<JobDiff>,
    pub annotations: Option<PlanAnnotations>,
    pub failed_tg_allocs: Option<BTreeMap<String, Value>>,
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
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
    pub task_groups: Option<Vec<TaskGroupDiff>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub old: String,
    pub new: String,
    pub annotations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    pub kind: String,
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
    pub kind: String,
    pub name: String,
    pub fields: Option<Vec<FieldDiff>>,
    pub objects: Option<Vec<ObjectDiff>>,
    pub annotations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    #[serde(rename = "ID")]
    pub id: String,
    pub namespace: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job_version: u64,
    pub status: String,
    pub status_description: String,
    pub task_groups: BTreeMap<String, DeploymentState>,
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
    pub auto_revert: bool,
    pub auto_promote: bool,
    pub promoted: bool,
    pub desired_canaries: u64,
    pub desired_total: u64,
    pub placed_allocs: u64,
    pub healthy_allocs: u64,
    pub unhealthy_allocs: u64,
    pub placed_canaries: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    #[serde(rename = "ID")]
    pub id: String,
    pub status: String,
    pub status_description: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    pub failed_tg_allocs: Option<BTreeMap<String, Value>>,
    pub blocked_eval: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocationStub {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_name: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job_version: u64,
    pub task_group: String,
    pub client_status: String,
    pub desired_status: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    pub deployment_status: Option<AllocDeploymentStatus>,
    pub create_index: u64,
    pub modify_index: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    pub healthy: Option<bool>,
    pub canary: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeStub {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub address: String,
    pub datacenter: String,
    pub node_class: String,
    pub status: String,
    pub scheduling_eligibility: String,
    pub drain: bool,
}
