//! The simulated cluster state and Nomad's rules for changing it: one raft-like index, job
//! versions, check-and-set, evaluations, deployments with canaries and auto-revert, allocations.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::diff::{job_diff, SERVER_FIELDS};
use crate::Request;

/// An error answered over HTTP with Nomad's status code and text.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

type Key = (String, String);
pub type PlanHook = Box<dyn FnOnce(&mut Value) + Send>;

pub struct JobRecord {
    /// The job as `GET /v1/job/:id` returns it.
    pub job: Value,
    /// Every version, oldest first.
    pub versions: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Place,
    Health,
    AwaitPromotion,
    Done,
}

pub struct DeploymentRecord {
    pub value: Value,
    key: Key,
    stage: Stage,
    next_at: Instant,
    fails: bool,
}

pub struct AllocRecord {
    pub value: Value,
    /// When a non-deployment allocation reaches `settle_to`.
    settle_at: Option<(Instant, &'static str)>,
}

#[derive(Clone)]
pub struct Token {
    pub management: bool,
    pub namespace: String,
    pub capabilities: Vec<String>,
}

pub struct State {
    pub deploy_time: Duration,
    pub index: u64,
    pub namespaces: BTreeMap<String, Value>,
    pub jobs: BTreeMap<Key, JobRecord>,
    pub evals: BTreeMap<String, Value>,
    pub deployments: BTreeMap<String, DeploymentRecord>,
    /// Deployment IDs per job, oldest first.
    pub job_deployments: BTreeMap<Key, Vec<String>>,
    pub allocs: BTreeMap<String, AllocRecord>,
    pub nodes: Vec<Value>,
    /// Server gossip members (`/v1/agent/members`).
    pub servers: Vec<Value>,
    pub failing: HashSet<Key>,
    pub plan_hooks: Vec<(Key, PlanHook)>,
    pub register_calls: usize,
    pub requests: Vec<Request>,
    pub violations: Vec<String>,
    pub acl: Option<BTreeMap<String, Token>>,
    /// Nomad variables by (namespace, path) (`/v1/var/:path`).
    pub variables: BTreeMap<Key, Value>,
    next_node: usize,
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The job's spec without server-managed fields: what versions are compared on.
fn spec_of(job: &Value) -> Value {
    let mut spec = job.clone();
    if let Some(map) = spec.as_object_mut() {
        for field in SERVER_FIELDS {
            map.remove(*field);
        }
    }
    spec
}

/// Defaults Nomad fills in on register, so a resubmitted job compares equal.
pub fn canonicalize(job: &mut Value, namespace: &str) {
    let Some(map) = job.as_object_mut() else {
        return;
    };
    let id = map.get("ID").cloned().unwrap_or(Value::Null);
    map.entry("Name").or_insert(id);
    map.insert("Namespace".into(), Value::from(namespace));
    for (key, default) in [
        ("Region", json!("global")),
        ("Type", json!("service")),
        ("Priority", json!(50)),
        ("Stop", json!(false)),
        ("AllAtOnce", json!(false)),
    ] {
        match map.get(key) {
            Some(v) if !v.is_null() => {}
            _ => {
                map.insert(key.into(), default);
            }
        }
    }
    if let Some(Value::Array(groups)) = map.get_mut("TaskGroups") {
        for group in groups {
            if let Some(group) = group.as_object_mut() {
                match group.get("Count") {
                    Some(v) if !v.is_null() => {}
                    _ => {
                        group.insert("Count".into(), json!(1));
                    }
                }
            }
        }
    }
}

fn is_periodic(job: &Value) -> bool {
    job.get("Periodic")
        .is_some_and(|p| p.is_object() && p.get("Enabled") != Some(&json!(false)))
}

fn is_parameterized(job: &Value) -> bool {
    job.get("ParameterizedJob").is_some_and(Value::is_object)
}

/// Nomad's datacenter match: exact, or a glob with `*`.
fn dc_matches(pattern: &str, dc: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == dc,
        Some((prefix, suffix)) => {
            dc.len() >= prefix.len() + suffix.len()
                && dc.starts_with(prefix)
                && dc.ends_with(suffix)
        }
    }
}

/// Whether `node` satisfies an equality constraint on `${node.*}`/`${attr.*}`; constraints
/// the simulator does not model (other operands, unknown attributes) hold.
fn constraint_holds(constraint: &Value, node: &Value) -> bool {
    let target = str_of(constraint, "LTarget");
    let operand = str_of(constraint, "Operand");
    let want = str_of(constraint, "RTarget");
    let have = match target {
        "${node.datacenter}" => Some(str_of(node, "Datacenter").to_string()),
        "${node.class}" => Some(str_of(node, "NodeClass").to_string()),
        "${node.unique.name}" => Some(str_of(node, "Name").to_string()),
        "${node.unique.id}" => Some(str_of(node, "ID").to_string()),
        t => t
            .strip_prefix("${attr.")
            .and_then(|a| a.strip_suffix('}'))
            .and_then(|a| node["Attributes"].get(a))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    match (operand, have) {
        ("=" | "==" | "is", Some(have)) => have == want,
        ("!=" | "not", Some(have)) => have != want,
        _ => true,
    }
}

/// The job's constraints, then the group's.
fn constraints_of<'a>(job: &'a Value, group: &'a Value) -> Vec<&'a Value> {
    let of = |v: &'a Value| {
        v.get("Constraints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    };
    of(job).chain(of(group)).collect()
}

/// Whether `node` is in the job's node pool (`NodePool` absent or empty: `default`; `all`:
/// every pool).
fn in_pool(job: &Value, node: &Value) -> bool {
    let want = job
        .get("NodePool")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or("default");
    want == "all"
        || node
            .get("NodePool")
            .and_then(Value::as_str)
            .unwrap_or("default")
            == want
}

/// A group's update strategy: the group's own, else the job's.
fn update_of<'a>(job: &'a Value, group: &'a Value) -> Option<&'a Value> {
    group
        .get("Update")
        .filter(|u| !u.is_null())
        .or_else(|| job.get("Update").filter(|u| !u.is_null()))
}

fn groups(job: &Value) -> Vec<Value> {
    job.get("TaskGroups")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn count(group: &Value) -> u64 {
    group.get("Count").and_then(Value::as_u64).unwrap_or(1)
}

impl State {
    pub fn new(deploy_time: Duration) -> Self {
        let mut state = State {
            deploy_time,
            index: 1,
            namespaces: BTreeMap::new(),
            jobs: BTreeMap::new(),
            evals: BTreeMap::new(),
            deployments: BTreeMap::new(),
            job_deployments: BTreeMap::new(),
            allocs: BTreeMap::new(),
            nodes: Vec::new(),
            servers: Vec::new(),
            failing: HashSet::new(),
            plan_hooks: Vec::new(),
            register_calls: 0,
            requests: Vec::new(),
            violations: Vec::new(),
            acl: None,
            variables: BTreeMap::new(),
            next_node: 0,
        };
        state.upsert_namespace(
            json!({"Name": "default", "Description": "Default shared namespace"}),
        );
        state.add_node("client-0", "127.0.0.1", "dc1");
        state
    }

    fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    pub fn upsert_namespace(&mut self, mut namespace: Value) -> u64 {
        let index = self.bump();
        let name = str_of(&namespace, "Name").to_string();
        let create = self
            .namespaces
            .get(&name)
            .and_then(|n| n.get("CreateIndex").cloned())
            .unwrap_or(json!(index));
        if let Some(map) = namespace.as_object_mut() {
            map.insert("CreateIndex".into(), create);
            map.insert("ModifyIndex".into(), json!(index));
            map.entry("Description").or_insert(json!(""));
        }
        self.namespaces.insert(name, namespace);
        index
    }

    pub fn delete_namespace(&mut self, name: &str) -> Result<u64, ApiError> {
        if name == "default" {
            return Err(ApiError::new(400, "default namespace can not be deleted"));
        }
        if !self.namespaces.contains_key(name) {
            return Err(ApiError::new(
                404,
                format!("namespace \"{name}\" not found"),
            ));
        }
        let live = self
            .jobs
            .iter()
            .any(|((ns, _), r)| ns == name && str_of(&r.job, "Status") != "dead");
        if live {
            return Err(ApiError::new(
                500,
                format!("namespace \"{name}\" has non-terminal jobs in regions: [global]"),
            ));
        }
        // As Nomad (nomad/namespace_endpoint.go): allocations still running on a client and
        // variables also keep a namespace from being deleted.
        let live_allocs = self.allocs.values().any(|a| {
            a.value["Namespace"] == name
                && !matches!(
                    a.value["ClientStatus"].as_str(),
                    Some("complete" | "failed" | "lost")
                )
        });
        if live_allocs {
            return Err(ApiError::new(
                500,
                format!("namespace \"{name}\" has non-terminal allocations in regions: [global]"),
            ));
        }
        if self.variables.keys().any(|(ns, _)| ns == name) {
            return Err(ApiError::new(
                500,
                format!(
                    "namespace \"{name}\" has variables associated with it in regions: [global]"
                ),
            ));
        }
        self.jobs.retain(|(ns, _), _| ns != name);
        self.namespaces.remove(name);
        Ok(self.bump())
    }

    pub fn add_node(&mut self, name: &str, address: &str, datacenter: &str) -> String {
        let index = self.bump();
        let id = uuid();
        self.nodes.push(json!({
            "ID": id, "Name": name, "Address": address, "Datacenter": datacenter,
            "NodeClass": "", "NodePool": "default", "Status": "ready", "SchedulingEligibility": "eligible",
            "Drain": false, "DrainStrategy": null, "Attributes": {"unique.network.ip-address": address},
            "CreateIndex": index, "ModifyIndex": index,
        }));
        id
    }

    /// Sets `field` of node `name` (node pool, eligibility, status, attributes).
    pub fn set_node_field(&mut self, name: &str, field: &str, value: Value) {
        let index = self.bump();
        if let Some(node) = self.nodes.iter_mut().find(|n| n["Name"] == name) {
            node[field] = value;
            node["ModifyIndex"] = json!(index);
        }
    }

    /// The nodes a system or sysbatch group runs on, as Nomad's system scheduler picks them:
    /// ready and eligible nodes of the job's datacenters and node pool (`all`: every pool)
    /// whose job and group constraints hold; one allocation each.
    fn system_nodes(&self, job: &Value, group: &Value) -> Vec<(String, String)> {
        let constraints = constraints_of(job, group);
        self.nodes_in_datacenters(job)
            .into_iter()
            .filter(|n| n["SchedulingEligibility"] == "eligible" && n["Status"] == "ready")
            .filter(|n| in_pool(job, n))
            .filter(|n| constraints.iter().all(|c| constraint_holds(c, n)))
            .map(|n| (str_of(n, "ID").to_string(), str_of(n, "Name").to_string()))
            .collect()
    }

    fn next_node(&mut self) -> (String, String) {
        let eligible: Vec<&Value> = self
            .nodes
            .iter()
            .filter(|n| n["SchedulingEligibility"] == "eligible" && n["Status"] == "ready")
            .collect();
        let pool = if eligible.is_empty() {
            self.nodes.iter().collect()
        } else {
            eligible
        };
        let node = pool[self.next_node % pool.len()];
        self.next_node += 1;
        (
            str_of(node, "ID").to_string(),
            str_of(node, "Name").to_string(),
        )
    }

    pub fn check_namespace(&self, namespace: &str, id: &str) -> Result<(), ApiError> {
        if self.namespaces.contains_key(namespace) {
            Ok(())
        } else {
            Err(ApiError::new(
                400,
                format!("job \"{id}\" is in nonexistent namespace \"{namespace}\""),
            ))
        }
    }

    /// `POST /v1/job/:id/plan`: the diff against the stored job, and the index to CAS on.
    pub fn plan(&mut self, namespace: &str, mut job: Value) -> Result<Value, ApiError> {
        let id = str_of(&job, "ID").to_string();
        self.check_namespace(namespace, &id)?;
        canonicalize(&mut job, namespace);
        let key = (namespace.to_string(), id.clone());
        let current = self.jobs.get(&key);
        let old_spec = current.map(|r| spec_of(&r.job));
        let diff = job_diff(old_spec.as_ref(), &spec_of(&job));
        let mut updates = Map::new();
        for group in groups(&job) {
            let name = str_of(&group, "Name").to_string();
            let old_group = old_spec
                .as_ref()
                .and_then(|j| groups(j).into_iter().find(|g| g["Name"] == group["Name"]));
            let n = count(&group);
            let entry = match (old_group, diff["Type"].as_str()) {
                (None, _) => json!({"Place": n}),
                (Some(_), Some("None")) => json!({"Ignore": n}),
                (Some(old), _) => {
                    let group_changed = diff["TaskGroups"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g["Name"] == group["Name"] && g["Type"] != "None");
                    let canary = update_of(&job, &group)
                        .and_then(|u| u.get("Canary"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    if group_changed && canary > 0 {
                        json!({"Canary": canary, "Ignore": count(&old)})
                    } else if group_changed {
                        json!({"DestructiveUpdate": n.min(count(&old)), "Place": n.saturating_sub(count(&old))})
                    } else {
                        json!({"InPlaceUpdate": n})
                    }
                }
            };
            updates.insert(name, entry);
        }
        let failed = if job["Stop"] == true || is_periodic(&job) || is_parameterized(&job) {
            Map::new()
        } else {
            self.placement_failures(&job)
        };
        let response = json!({
            "Index": self.index,
            "JobModifyIndex": current.map(|r| r.job["JobModifyIndex"].clone()).unwrap_or(json!(0)),
            "Diff": diff,
            "Annotations": {"DesiredTGUpdates": updates, "PreemptedAllocs": null},
            "FailedTGAllocs": if failed.is_empty() { Value::Null } else { Value::Object(failed) },
            "CreatedEvals": null,
            "NextPeriodicLaunch": "0001-01-01T00:00:00Z",
            "Warnings": "",
        });
        // Another writer changes the job right after this plan answered (a CAS race).
        if let Some(pos) = self.plan_hooks.iter().position(|(k, _)| *k == key) {
            let (_, hook) = self.plan_hooks.remove(pos);
            if let Some(record) = self.jobs.get(&key) {
                let mut changed = spec_of(&record.job);
                hook(&mut changed);
                self.register(namespace, changed, None, false)?;
            }
        }
        Ok(response)
    }

    /// `POST /v1/job/:id`: check-and-set, version bump only on a spec change, evaluation,
    /// deployment or allocations.
    pub fn register(
        &mut self,
        namespace: &str,
        mut job: Value,
        enforce_index: Option<u64>,
        revert: bool,
    ) -> Result<Value, ApiError> {
        let id = str_of(&job, "ID").to_string();
        if id.is_empty() {
            return Err(ApiError::new(400, "Job ID is required"));
        }
        self.check_namespace(namespace, &id)?;
        let key = (namespace.to_string(), id.clone());
        let current_index = self
            .jobs
            .get(&key)
            .and_then(|r| r.job["JobModifyIndex"].as_u64());
        if let Some(expected) = enforce_index {
            match (expected, current_index) {
                (0, Some(_)) => {
                    return Err(ApiError::new(500, "Enforcing job modify index 0: job already exists"))
                }
                (e, None) if e > 0 => {
                    return Err(ApiError::new(
                        500,
                        format!("Enforcing job modify index {e}: job does not exist"),
                    ))
                }
                (e, Some(actual)) if e != actual => {
                    return Err(ApiError::new(
                        500,
                        format!(
                            "Enforcing job modify index {e}: job exists with conflicting job modify index: {actual}"
                        ),
                    ))
                }
                _ => {}
            }
        }
        canonicalize(&mut job, namespace);
        let index = self.bump();
        let previous = self.jobs.get(&key);
        let spec_changed = previous.is_none_or(|r| spec_of(&r.job) != spec_of(&job));
        let version = match previous {
            None => 0,
            Some(r) if spec_changed => r.job["Version"].as_u64().unwrap_or(0) + 1,
            Some(r) => r.job["Version"].as_u64().unwrap_or(0),
        };
        let create_index = previous
            .map(|r| r.job["CreateIndex"].clone())
            .unwrap_or(json!(index));
        // Nomad commits the job only when its spec changed: re-registering the same spec keeps
        // its JobModifyIndex (and answers it), like `nomad/job_endpoint.go` Register.
        let job_modify_index = previous
            .filter(|_| !spec_changed)
            .and_then(|r| r.job["JobModifyIndex"].as_u64())
            .unwrap_or(index);
        let stable = previous
            .filter(|_| !spec_changed)
            .map(|r| r.job["Stable"].clone())
            .unwrap_or(json!(false));
        if let Some(map) = job.as_object_mut() {
            map.insert("Version".into(), json!(version));
            map.insert("Stable".into(), stable);
            map.insert("Status".into(), json!("pending"));
            map.insert("SubmitTime".into(), json!(now_nanos()));
            map.insert("CreateIndex".into(), create_index);
            map.insert("ModifyIndex".into(), json!(index));
            map.insert("JobModifyIndex".into(), json!(job_modify_index));
        }
        let record = self.jobs.entry(key.clone()).or_insert(JobRecord {
            job: Value::Null,
            versions: Vec::new(),
        });
        if spec_changed {
            record.versions.push(job.clone());
        } else if let Some(last) = record.versions.last_mut() {
            *last = job.clone();
        }
        record.job = job.clone();
        let fails = !revert && self.failing.contains(&key);
        // Nomad creates no evaluation for a periodic or parameterized job: it runs when its
        // schedule fires or on dispatch (`EvalID` is empty).
        if is_periodic(&job) || is_parameterized(&job) {
            if let Some(record) = self.jobs.get_mut(&key) {
                record.job["Status"] = json!("running");
            }
            return Ok(json!({
                "EvalID": "", "EvalCreateIndex": 0, "JobModifyIndex": job_modify_index,
                "Warnings": "", "Index": index, "LastContact": 0, "KnownLeader": true,
            }));
        }
        let eval_id = uuid();
        let failed = if spec_changed && job["Stop"] != true {
            self.placement_failures(&job)
        } else {
            Map::new()
        };
        let mut deployment_id = Value::Null;
        let mut blocked_eval = String::new();
        if !failed.is_empty() {
            // The scheduler places nothing and parks a blocked evaluation until capacity
            // appears; the job stays pending.
            blocked_eval = uuid();
            let blocked_index = self.bump();
            self.evals.insert(
                blocked_eval.clone(),
                json!({
                    "ID": blocked_eval, "Namespace": namespace, "Priority": job["Priority"],
                    "Type": job["Type"], "TriggeredBy": "queued-allocs", "JobID": id,
                    "JobModifyIndex": index, "Status": "blocked", "StatusDescription":
                    "created to place remaining allocations", "DeploymentID": "",
                    "FailedTGAllocs": null, "ClassEligibility": {}, "EscapedComputedClass": false,
                    "BlockedEval": "", "PreviousEval": eval_id, "QueuedAllocations": null,
                    "CreateIndex": blocked_index, "ModifyIndex": blocked_index,
                }),
            );
        } else if spec_changed {
            deployment_id = self.schedule(&key, &job, &eval_id, fails);
        }
        let queued: Map<String, Value> = groups(&job)
            .iter()
            .map(|g| {
                let name = str_of(g, "Name").to_string();
                let n = if failed.contains_key(&name) {
                    count(g)
                } else {
                    0
                };
                (name, json!(n))
            })
            .collect();
        self.evals.insert(
            eval_id.clone(),
            json!({
                "ID": eval_id, "Namespace": namespace, "Priority": job["Priority"], "Type": job["Type"],
                "TriggeredBy": "job-register", "JobID": id, "JobModifyIndex": index,
                "Status": "complete", "StatusDescription": "", "DeploymentID": deployment_id,
                "FailedTGAllocs": if failed.is_empty() { Value::Null } else { Value::Object(failed) },
                "BlockedEval": blocked_eval, "QueuedAllocations": queued,
                "CreateIndex": index, "ModifyIndex": index,
            }),
        );
        Ok(json!({
            "EvalID": eval_id, "EvalCreateIndex": index, "JobModifyIndex": job_modify_index,
            "Warnings": "", "Index": index, "LastContact": 0, "KnownLeader": true,
        }))
    }

    /// Nodes of the job's datacenters (`*` and `prefix*` globs as Nomad matches them).
    fn nodes_in_datacenters(&self, job: &Value) -> Vec<&Value> {
        let dcs: Vec<&str> = job
            .get("Datacenters")
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.nodes
            .iter()
            .filter(|n| {
                let dc = str_of(n, "Datacenter");
                dcs.iter().any(|want| dc_matches(want, dc))
            })
            .collect()
    }

    /// `FailedTGAllocs` as Nomad's scheduler computes them (an `AllocMetric` per task group)
    /// for the feasibility checks the simulator models: datacenters, node class and
    /// `${node.*}`/`${attr.*}` equality constraints. Empty when every group can be placed,
    /// and when the simulator has no nodes at all (tests that model none).
    pub fn placement_failures(&self, job: &Value) -> Map<String, Value> {
        let mut failed = Map::new();
        if self.nodes.is_empty() {
            return failed;
        }
        let ready: Vec<&Value> = self
            .nodes_in_datacenters(job)
            .into_iter()
            .filter(|n| n["SchedulingEligibility"] == "eligible" && n["Status"] == "ready")
            .filter(|n| in_pool(job, n))
            .collect();
        let dcs: Vec<&str> = job
            .get("Datacenters")
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut available = Map::new();
        for dc in &dcs {
            let n = ready
                .iter()
                .filter(|node| dc_matches(dc, str_of(node, "Datacenter")))
                .count();
            available.insert((*dc).to_string(), json!(n));
        }
        for group in groups(job) {
            let constraints = constraints_of(job, &group);
            let mut constraint_filtered: Map<String, Value> = Map::new();
            let mut feasible = 0;
            for node in &ready {
                match constraints.iter().find(|c| !constraint_holds(c, node)) {
                    Some(c) => {
                        let text = format!(
                            "{} {} {}",
                            str_of(c, "LTarget"),
                            str_of(c, "Operand"),
                            str_of(c, "RTarget")
                        );
                        let entry = constraint_filtered.entry(text).or_insert(json!(0));
                        *entry = json!(entry.as_u64().unwrap_or(0) + 1);
                    }
                    None => feasible += 1,
                }
            }
            if feasible > 0 {
                continue;
            }
            let filtered: u64 = constraint_filtered.values().filter_map(Value::as_u64).sum();
            failed.insert(
                str_of(&group, "Name").to_string(),
                json!({
                    "NodesEvaluated": ready.len(), "NodesFiltered": filtered,
                    "NodesInPool": self.nodes.len(), "NodesAvailable": available.clone(),
                    "ClassFiltered": null,
                    "ConstraintFiltered": if constraint_filtered.is_empty() { Value::Null } else { Value::Object(constraint_filtered) },
                    "NodesExhausted": 0, "ClassExhausted": null, "DimensionExhausted": null,
                    "QuotaExhausted": null, "ResourcesExhausted": null, "Scores": null,
                    "ScoreMetaData": null, "AllocationTime": 21000,
                    "CoalescedFailures": count(&group).saturating_sub(1),
                }),
            );
        }
        failed
    }

    /// Places the new version: a deployment for service jobs with an update strategy,
    /// otherwise allocations that settle on their own. Returns the deployment ID (or null).
    fn schedule(&mut self, key: &Key, job: &Value, eval_id: &str, fails: bool) -> Value {
        let kind = str_of(job, "Type").to_string();
        let version = job["Version"].as_u64().unwrap_or(0);
        let now = Instant::now();
        // Newer versions cancel running deployments.
        for id in self.job_deployments.get(key).cloned().unwrap_or_default() {
            if let Some(d) = self.deployments.get_mut(&id) {
                if d.stage != Stage::Done {
                    d.stage = Stage::Done;
                    d.value["Status"] = json!("cancelled");
                    d.value["StatusDescription"] = json!("Cancelled due to newer version of job");
                    d.value["ModifyIndex"] = json!(self.index);
                }
            }
        }
        if job["Stop"] == true {
            self.stop_allocs(key, None);
            return Value::Null;
        }
        let has_update = groups(job).iter().any(|g| update_of(job, g).is_some());
        if kind == "service" && has_update {
            let id = uuid();
            let mut task_groups = Map::new();
            for group in groups(job) {
                let update = update_of(job, &group).cloned().unwrap_or(Value::Null);
                task_groups.insert(
                    str_of(&group, "Name").to_string(),
                    json!({
                        "AutoRevert": update.get("AutoRevert").cloned().unwrap_or(json!(false)),
                        "AutoPromote": update.get("AutoPromote").cloned().unwrap_or(json!(false)),
                        "Promoted": false,
                        "PlacedCanaries": null,
                        "DesiredCanaries": update.get("Canary").cloned().unwrap_or(json!(0)),
                        "DesiredTotal": count(&group),
                        "PlacedAllocs": 0, "HealthyAllocs": 0, "UnhealthyAllocs": 0,
                        "ProgressDeadline": update.get("ProgressDeadline").cloned().unwrap_or(json!(600_000_000_000u64)),
                        "RequireProgressBy": "0001-01-01T00:00:00Z",
                    }),
                );
            }
            let index = self.index;
            let value = json!({
                "ID": id, "Namespace": key.0, "JobID": key.1, "JobVersion": version,
                "JobModifyIndex": job["JobModifyIndex"], "JobSpecModifyIndex": job["JobModifyIndex"],
                "JobCreateIndex": job["CreateIndex"], "IsMultiregion": false,
                "Status": "running", "StatusDescription": "Deployment is running",
                "TaskGroups": task_groups, "EvalPriority": job["Priority"],
                "CreateIndex": index, "ModifyIndex": index,
            });
            self.deployments.insert(
                id.clone(),
                DeploymentRecord {
                    value,
                    key: key.clone(),
                    stage: Stage::Place,
                    next_at: now + self.deploy_time / 2,
                    fails,
                },
            );
            self.job_deployments
                .entry(key.clone())
                .or_default()
                .push(id.clone());
            return json!(id);
        }
        // Batch, system, and service jobs without an update strategy.
        let settle = match (kind.as_str(), fails) {
            (_, true) => "failed",
            ("batch" | "sysbatch", false) => "complete",
            _ => "running",
        };
        self.stop_allocs(key, None);
        for group in groups(job) {
            let mut ids = Vec::new();
            if kind == "system" || kind == "sysbatch" {
                // One allocation on every feasible node, named `<job>.<group>[0]` on each.
                for node in self.system_nodes(job, &group) {
                    ids.push(self.place_at(node, key, job, &group, 0, eval_id, None, false));
                }
            } else {
                for i in 0..count(&group) {
                    ids.push(self.place(key, job, &group, i, eval_id, None, false));
                }
            }
            for id in ids {
                if let Some(alloc) = self.allocs.get_mut(&id) {
                    alloc.settle_at = Some((now + self.deploy_time, settle));
                }
            }
        }
        Value::Null
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        key: &Key,
        job: &Value,
        group: &Value,
        i: u64,
        eval_id: &str,
        deployment: Option<&str>,
        canary: bool,
    ) -> String {
        let node = self.next_node();
        self.place_at(node, key, job, group, i, eval_id, deployment, canary)
    }

    #[allow(clippy::too_many_arguments)]
    fn place_at(
        &mut self,
        (node_id, node_name): (String, String),
        key: &Key,
        job: &Value,
        group: &Value,
        i: u64,
        eval_id: &str,
        deployment: Option<&str>,
        canary: bool,
    ) -> String {
        let index = self.bump();
        let id = uuid();
        let group_name = str_of(group, "Name");
        let value = json!({
            "ID": id, "EvalID": eval_id, "Name": format!("{}.{group_name}[{i}]", key.1),
            "Namespace": key.0, "NodeID": node_id, "NodeName": node_name, "JobID": key.1,
            "JobType": job["Type"], "JobVersion": job["Version"], "TaskGroup": group_name,
            "DesiredStatus": "run", "DesiredDescription": "", "ClientStatus": "pending",
            "ClientDescription": "", "DeploymentID": deployment.unwrap_or_default(),
            "DeploymentStatus": deployment.map(|_| json!({"Healthy": null, "Canary": canary})),
            "CreateIndex": index, "ModifyIndex": index, "AllocModifyIndex": index,
            "CreateTime": now_nanos(), "ModifyTime": now_nanos(),
        });
        self.allocs.insert(
            id.clone(),
            AllocRecord {
                value,
                settle_at: None,
            },
        );
        id
    }

    /// Stops the job's allocations except those of `keep_version`.
    fn stop_allocs(&mut self, key: &Key, keep_version: Option<u64>) {
        let index = self.bump();
        for alloc in self.allocs.values_mut() {
            let v = &mut alloc.value;
            if v["Namespace"] == key.0.as_str()
                && v["JobID"] == key.1.as_str()
                && v["DesiredStatus"] == "run"
                && keep_version.is_none_or(|keep| v["JobVersion"].as_u64() != Some(keep))
            {
                v["DesiredStatus"] = json!("stop");
                if matches!(v["ClientStatus"].as_str(), Some("running" | "pending")) {
                    v["ClientStatus"] = json!("complete");
                }
                v["ModifyIndex"] = json!(index);
                alloc.settle_at = None;
            }
        }
    }

    pub fn promote(&mut self, id: &str) -> Result<Value, ApiError> {
        let deploy_time = self.deploy_time;
        let Some(d) = self.deployments.get_mut(id) else {
            return Err(ApiError::new(404, "deployment not found"));
        };
        if d.value["Status"] != "running" {
            return Err(ApiError::new(
                500,
                format!(
                    "can't promote terminal deployment with status \"{}\"",
                    str_of(&d.value, "Status")
                ),
            ));
        }
        let has_canaries = d.value["TaskGroups"].as_object().is_some_and(|g| {
            g.values()
                .any(|g| g["DesiredCanaries"].as_u64().unwrap_or(0) > 0)
        });
        if !has_canaries {
            return Err(ApiError::new(400, "no canaries to promote"));
        }
        if d.stage != Stage::AwaitPromotion {
            return Err(ApiError::new(
                500,
                "Task group has 0/1 healthy allocations: canaries are not yet healthy",
            ));
        }
        self.index += 1;
        let index = self.index;
        if let Some(groups) = d.value["TaskGroups"].as_object_mut() {
            for group in groups.values_mut() {
                group["Promoted"] = json!(true);
            }
        }
        d.value["StatusDescription"] = json!("Deployment is running");
        d.value["ModifyIndex"] = json!(index);
        d.stage = Stage::Place;
        d.next_at = Instant::now() + deploy_time / 2;
        Ok(
            json!({"DeploymentModifyIndex": index, "EvalID": uuid(), "EvalCreateIndex": index, "Index": index}),
        )
    }

    pub fn deregister(
        &mut self,
        namespace: &str,
        id: &str,
        purge: bool,
    ) -> Result<Value, ApiError> {
        let key = (namespace.to_string(), id.to_string());
        let Some(record) = self.jobs.get(&key) else {
            return Err(ApiError::new(404, "job not found"));
        };
        let eval_id = uuid();
        if purge {
            self.stop_allocs(&key, None);
            self.jobs.remove(&key);
            let index = self.bump();
            return Ok(
                json!({"EvalID": eval_id, "EvalCreateIndex": index, "JobModifyIndex": index, "Index": index}),
            );
        }
        let mut stopped = spec_of(&record.job);
        stopped["Stop"] = json!(true);
        let response = self.register(namespace, stopped, None, true)?;
        if let Some(record) = self.jobs.get_mut(&key) {
            record.job["Status"] = json!("dead");
        }
        Ok(response)
    }

    /// Advances deployments and allocations whose time has come. Returns whether anything
    /// changed (so blocking queries wake up).
    pub fn tick(&mut self, now: Instant) -> bool {
        let mut changed = false;
        let due: Vec<String> = self
            .deployments
            .iter()
            .filter(|(_, d)| matches!(d.stage, Stage::Place | Stage::Health) && d.next_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            changed = true;
            self.advance_deployment(&id, now);
        }
        let mut settled = Vec::new();
        for (id, alloc) in &self.allocs {
            if let Some((at, _)) = alloc.settle_at {
                if at <= now {
                    settled.push(id.clone());
                }
            }
        }
        if !settled.is_empty() {
            changed = true;
            let index = self.bump();
            let mut jobs = HashSet::new();
            for id in settled {
                if let Some(alloc) = self.allocs.get_mut(&id) {
                    if let Some((_, to)) = alloc.settle_at.take() {
                        alloc.value["ClientStatus"] = json!(to);
                        alloc.value["ModifyIndex"] = json!(index);
                        jobs.insert((
                            str_of(&alloc.value, "Namespace").to_string(),
                            str_of(&alloc.value, "JobID").to_string(),
                        ));
                    }
                }
            }
            for key in jobs {
                self.refresh_job_status(&key);
            }
        }
        changed
    }

    fn refresh_job_status(&mut self, key: &Key) {
        let Some(record) = self.jobs.get(key) else {
            return;
        };
        if record.job["Stop"] == true {
            return;
        }
        let version = record.job["Version"].as_u64();
        let statuses: Vec<String> = self
            .allocs
            .values()
            .filter(|a| {
                a.value["Namespace"] == key.0.as_str()
                    && a.value["JobID"] == key.1.as_str()
                    && a.value["JobVersion"].as_u64() == version
            })
            .map(|a| str_of(&a.value, "ClientStatus").to_string())
            .collect();
        let status = if statuses.iter().any(|s| s == "running" || s == "pending") {
            "running"
        } else if statuses.is_empty() {
            "pending"
        } else {
            "dead"
        };
        let index = self.bump();
        if let Some(record) = self.jobs.get_mut(key) {
            if record.job["Status"] != status {
                record.job["Status"] = json!(status);
                record.job["ModifyIndex"] = json!(index);
            }
        }
    }

    fn advance_deployment(&mut self, id: &str, now: Instant) {
        let Some(d) = self.deployments.get(id) else {
            return;
        };
        let key = d.key.clone();
        let stage = d.stage;
        let fails = d.fails;
        let version = d.value["JobVersion"].as_u64().unwrap_or(0);
        let Some(job) = self
            .jobs
            .get(&key)
            .and_then(|r| {
                r.versions
                    .iter()
                    .find(|v| v["Version"].as_u64() == Some(version))
            })
            .cloned()
        else {
            return;
        };
        let half = self.deploy_time / 2;
        match stage {
            Stage::Place => {
                for group in groups(&job) {
                    let name = str_of(&group, "Name").to_string();
                    let state = self.deployments[id].value["TaskGroups"][&name].clone();
                    let canaries = state["DesiredCanaries"].as_u64().unwrap_or(0);
                    let promoted = state["Promoted"] == true;
                    let placed = state["PlacedAllocs"].as_u64().unwrap_or(0);
                    let (target, canary) = if canaries > 0 && !promoted {
                        (canaries, true)
                    } else {
                        (count(&group), false)
                    };
                    let mut new_ids = Vec::new();
                    let start = if promoted { placed } else { 0 };
                    for i in start..target.max(start) {
                        new_ids.push(self.place(&key, &job, &group, i, "", Some(id), canary));
                    }
                    for alloc_id in &new_ids {
                        if let Some(a) = self.allocs.get_mut(alloc_id) {
                            a.value["ClientStatus"] = json!("running");
                        }
                    }
                    let d = self.deployments.get_mut(id).expect("deployment exists");
                    let g = &mut d.value["TaskGroups"][&name];
                    g["PlacedAllocs"] = json!(target.max(placed));
                    if canary {
                        g["PlacedCanaries"] = json!(new_ids);
                    }
                }
                let index = self.bump();
                let d = self.deployments.get_mut(id).expect("deployment exists");
                d.stage = Stage::Health;
                d.next_at = now + half;
                d.value["ModifyIndex"] = json!(index);
            }
            Stage::Health => self.settle_health(id, &key, &job, fails, now),
            _ => {}
        }
    }

    fn settle_health(&mut self, id: &str, key: &Key, job: &Value, fails: bool, now: Instant) {
        let index = self.bump();
        let half = self.deploy_time / 2;
        // Health of this deployment's allocations.
        for alloc in self.allocs.values_mut() {
            if alloc.value["DeploymentID"] == id && alloc.value["DesiredStatus"] == "run" {
                alloc.value["DeploymentStatus"]["Healthy"] = json!(!fails);
                if fails {
                    alloc.value["ClientStatus"] = json!("failed");
                }
                alloc.value["ModifyIndex"] = json!(index);
            }
        }
        let d = self.deployments.get_mut(id).expect("deployment exists");
        d.value["ModifyIndex"] = json!(index);
        let mut awaiting = false;
        let mut auto_revert = false;
        let mut auto_promote = true;
        if let Some(groups) = d.value["TaskGroups"].as_object_mut() {
            for g in groups.values_mut() {
                let placed = g["PlacedAllocs"].clone();
                if fails {
                    g["UnhealthyAllocs"] = placed;
                } else {
                    g["HealthyAllocs"] = placed;
                }
                auto_revert |= g["AutoRevert"] == true;
                if g["DesiredCanaries"].as_u64().unwrap_or(0) > 0 && g["Promoted"] != true {
                    awaiting = true;
                    auto_promote &= g["AutoPromote"] == true;
                }
            }
        }
        if fails {
            d.stage = Stage::Done;
            d.value["Status"] = json!("failed");
            let stable = self.jobs.get(key).and_then(|r| {
                r.versions
                    .iter()
                    .rev()
                    .find(|v| v["Stable"] == true && v["Version"] != job["Version"])
                    .cloned()
            });
            let d = self.deployments.get_mut(id).expect("deployment exists");
            match (auto_revert, stable) {
                (true, Some(stable)) => {
                    d.value["StatusDescription"] = json!(format!(
                        "Failed due to unhealthy allocations - rolling back to job version {}",
                        stable["Version"]
                    ));
                    let _ = self.register(&key.0, spec_of(&stable), None, true);
                }
                _ => {
                    d.value["StatusDescription"] = json!("Failed due to unhealthy allocations");
                    if let Some(record) = self.jobs.get_mut(key) {
                        record.job["Status"] = json!("dead");
                    }
                }
            }
            return;
        }
        if awaiting {
            if auto_promote {
                if let Some(groups) = d.value["TaskGroups"].as_object_mut() {
                    for g in groups.values_mut() {
                        g["Promoted"] = json!(true);
                    }
                }
                d.stage = Stage::Place;
                d.next_at = now + half;
            } else {
                d.stage = Stage::AwaitPromotion;
                d.value["StatusDescription"] =
                    json!("Deployment is running but requires manual promotion");
            }
            return;
        }
        d.stage = Stage::Done;
        d.value["Status"] = json!("successful");
        d.value["StatusDescription"] = json!("Deployment completed successfully");
        let version = job["Version"].as_u64();
        self.stop_allocs(key, version);
        if let Some(record) = self.jobs.get_mut(key) {
            for v in record
                .versions
                .iter_mut()
                .filter(|v| v["Version"].as_u64() == version)
            {
                v["Stable"] = json!(true);
            }
            if record.job["Version"].as_u64() == version {
                record.job["Stable"] = json!(true);
                record.job["Status"] = json!("running");
            }
        }
    }

    pub fn drain(&mut self, node_id: &str, enable: bool) -> Result<Value, ApiError> {
        let index = self.bump();
        let Some(node) = self.nodes.iter_mut().find(|n| n["ID"] == node_id) else {
            return Err(ApiError::new(404, "node not found"));
        };
        node["Drain"] = json!(enable);
        node["SchedulingEligibility"] = json!(if enable { "ineligible" } else { "eligible" });
        node["ModifyIndex"] = json!(index);
        if enable {
            // Allocations move off the node: stopped here, replaced elsewhere.
            let moving: Vec<(String, Value)> = self
                .allocs
                .iter()
                .filter(|(_, a)| a.value["NodeID"] == node_id && a.value["DesiredStatus"] == "run")
                .map(|(id, a)| (id.clone(), a.value.clone()))
                .collect();
            for (id, old) in moving {
                let (new_node, new_name) = self.next_node();
                let new_id = uuid();
                let mut moved = old.clone();
                moved["ID"] = json!(new_id);
                moved["NodeID"] = json!(new_node);
                moved["NodeName"] = json!(new_name);
                moved["ModifyIndex"] = json!(index);
                self.allocs.insert(
                    new_id,
                    AllocRecord {
                        value: moved,
                        settle_at: None,
                    },
                );
                if let Some(a) = self.allocs.get_mut(&id) {
                    a.value["DesiredStatus"] = json!("stop");
                    a.value["ClientStatus"] = json!("complete");
                    a.value["ModifyIndex"] = json!(index);
                }
            }
            // The drain completes at once: nothing is left on the node.
            if let Some(node) = self.nodes.iter_mut().find(|n| n["ID"] == node_id) {
                node["Drain"] = json!(false);
            }
        }
        Ok(
            json!({"EvalIDs": [], "EvalCreateIndex": index, "NodeModifyIndex": index, "Index": index}),
        )
    }

    pub fn set_eligibility(&mut self, node_id: &str, eligibility: &str) -> Result<Value, ApiError> {
        if !matches!(eligibility, "eligible" | "ineligible") {
            return Err(ApiError::new(
                400,
                format!("invalid scheduling eligibility \"{eligibility}\""),
            ));
        }
        let index = self.bump();
        let Some(node) = self.nodes.iter_mut().find(|n| n["ID"] == node_id) else {
            return Err(ApiError::new(404, "node not found"));
        };
        node["SchedulingEligibility"] = json!(eligibility);
        node["ModifyIndex"] = json!(index);
        Ok(
            json!({"EvalIDs": [], "EvalCreateIndex": index, "NodeModifyIndex": index, "Index": index}),
        )
    }
}
