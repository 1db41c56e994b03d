//! Responses opsctl reads, open-world: statuses are strings, unknown fields are ignored and
//! missing ones default, so a newer Nomad never breaks decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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
    pub version: u64,
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
    pub failed_tg_allocs: Option<BTreeMap<String, Value>>,
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
    pub failed_tg_allocs: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "null_as_default")]
    pub blocked_eval: String,
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
    pub client_status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub desired_status: String,
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
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub scheduling_eligibility: String,
    #[serde(deserialize_with = "null_as_default")]
    pub drain: bool,
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
    pub status: String,
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
