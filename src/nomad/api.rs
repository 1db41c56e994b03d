//! Typed calls of the Nomad HTTP API v1 used by opsctl.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{NomadClient, NomadError, QueryMeta};
use super::types::*;

fn ns(namespace: &str) -> Vec<(&'static str, String)> {
    vec![("namespace", namespace.to_string())]
}

/// Path segment encoding for IDs (job IDs may contain `/` in parameterized jobs).
fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// 404 means "no such object" for reads.
fn optional<T>(result: Result<T, NomadError>) -> Result<Option<T>, NomadError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

impl NomadClient {
    /// `GET /v1/status/leader`: the RPC address (`ip:port`) of the region's leader; a quick
    /// reachability check.
    pub async fn leader(&self) -> Result<String, NomadError> {
        self.get("/v1/status/leader", &[]).await.map(|(l, _)| l)
    }

    /// `GET /v1/namespace/:name`; `None` when it does not exist.
    pub async fn namespace(&self, name: &str) -> Result<Option<Namespace>, NomadError> {
        let path = format!("/v1/namespace/{}", seg(name));
        optional(self.get::<Option<Namespace>>(&path, &[]).await).map(|o| o.and_then(|(n, _)| n))
    }

    /// Creates or updates a namespace (an idempotent upsert).
    pub async fn upsert_namespace(&self, namespace: &Namespace) -> Result<(), NomadError> {
        let path = format!("/v1/namespace/{}", seg(&namespace.name));
        self.write::<_, Value>(Method::POST, &path, &[], Some(namespace), true)
            .await
            .map(|_| ())
    }

    /// `DELETE /v1/namespace/:name`. Nomad refuses (an error status) while the namespace still
    /// has non-terminal jobs, allocations or variables.
    pub async fn delete_namespace(&self, name: &str) -> Result<(), NomadError> {
        let path = format!("/v1/namespace/{}", seg(name));
        self.write::<(), Value>(Method::DELETE, &path, &[], None, true)
            .await
            .map(|_| ())
    }

    /// `GET /v1/jobs?meta=true`: every job in `namespace` (`*` for all), with its `Meta`.
    pub async fn jobs(&self, namespace: &str) -> Result<Vec<JobListStub>, NomadError> {
        let mut query = ns(namespace);
        query.push(("meta", "true".into()));
        self.get("/v1/jobs", &query).await.map(|(jobs, _)| jobs)
    }

    /// The job as Nomad stores it, or `None` when it does not exist.
    pub async fn job(&self, namespace: &str, id: &str) -> Result<Option<Value>, NomadError> {
        let path = format!("/v1/job/{}", seg(id));
        optional(self.get(&path, &ns(namespace)).await).map(|o| o.map(|(job, _)| job))
    }

    /// Plans `job` (read-only on the server, so retried like a read).
    pub async fn plan(&self, job: &Value) -> Result<PlanResponse, NomadError> {
        let (id, namespace) = id_and_namespace(job);
        let path = format!("/v1/job/{}/plan", seg(&id));
        let body = json!({ "Job": job, "Diff": true, "PolicyOverride": false });
        self.write(Method::POST, &path, &ns(&namespace), Some(&body), true)
            .await
    }

    /// Registers `job` with check-and-set on `job_modify_index` (0: the job must not exist).
    /// Sent once: a failed submit is re-planned by the caller, never blindly repeated.
    pub async fn register(
        &self,
        job: &Value,
        job_modify_index: u64,
    ) -> Result<RegisterResponse, NomadError> {
        let (id, namespace) = id_and_namespace(job);
        let path = format!("/v1/job/{}", seg(&id));
        let body = json!({
            "Job": job,
            "EnforceIndex": true,
            "JobModifyIndex": job_modify_index,
            "PolicyOverride": false,
        });
        self.write(Method::POST, &path, &ns(&namespace), Some(&body), false)
            .await
    }

    /// Stops a job (`purge` removes it entirely).
    pub async fn deregister(
        &self,
        namespace: &str,
        id: &str,
        purge: bool,
    ) -> Result<Value, NomadError> {
        let path = format!("/v1/job/{}", seg(id));
        let mut query = ns(namespace);
        query.push(("purge", purge.to_string()));
        self.write::<(), Value>(Method::DELETE, &path, &query, None, false)
            .await
    }

    /// `GET /v1/job/:id/versions`: Nomad's answer as is (`Versions`, `Diffs`).
    pub async fn job_versions(&self, namespace: &str, id: &str) -> Result<Value, NomadError> {
        let path = format!("/v1/job/{}/versions", seg(id));
        self.get(&path, &ns(namespace)).await.map(|(v, _)| v)
    }

    /// The job's most recent deployment, if any.
    pub async fn latest_deployment(
        &self,
        namespace: &str,
        id: &str,
    ) -> Result<Option<Deployment>, NomadError> {
        let path = format!("/v1/job/{}/deployment", seg(id));
        self.get::<Option<Deployment>>(&path, &ns(namespace))
            .await
            .map(|(d, _)| d)
    }

    /// A deployment; with `index` > 0, blocks until it changes past `index` or `wait` passes.
    pub async fn deployment(
        &self,
        id: &str,
        index: u64,
        wait: Duration,
    ) -> Result<(Deployment, QueryMeta), NomadError> {
        let path = format!("/v1/deployment/{}", seg(id));
        if index == 0 {
            self.get(&path, &[]).await
        } else {
            self.get_blocking(&path, &[], index, wait).await
        }
    }

    /// `POST /v1/deployment/promote/:id` with `All: true`: promotes every task group's canaries.
    pub async fn promote_deployment(&self, id: &str) -> Result<Value, NomadError> {
        let path = format!("/v1/deployment/promote/{}", seg(id));
        let body = json!({ "DeploymentID": id, "All": true });
        self.write(Method::POST, &path, &[], Some(&body), true)
            .await
    }

    /// `GET /v1/evaluation/:id`; a missing evaluation is a 404 [`NomadError::Status`].
    pub async fn evaluation(&self, id: &str) -> Result<Evaluation, NomadError> {
        let path = format!("/v1/evaluation/{}", seg(id));
        self.get(&path, &[]).await.map(|(e, _)| e)
    }

    /// `GET /v1/job/:id/allocations`, every allocation of the job (old versions included); with
    /// `index` > 0 a blocking query that returns once the list changes past `index` or `wait`
    /// passes.
    pub async fn job_allocations(
        &self,
        namespace: &str,
        id: &str,
        index: u64,
        wait: Duration,
    ) -> Result<(Vec<AllocationStub>, QueryMeta), NomadError> {
        let path = format!("/v1/job/{}/allocations", seg(id));
        if index == 0 {
            self.get(&path, &ns(namespace)).await
        } else {
            self.get_blocking(&path, &ns(namespace), index, wait).await
        }
    }

    /// Every allocation in `namespace` (`*` for all namespaces).
    pub async fn allocations(&self, namespace: &str) -> Result<Vec<AllocationStub>, NomadError> {
        self.get("/v1/allocations", &ns(namespace))
            .await
            .map(|(a, _)| a)
    }

    /// `GET /v1/agent/members`: the servers of the gossip pool, with their status.
    pub async fn server_members(&self) -> Result<Vec<ServerMember>, NomadError> {
        self.get::<ServerMembers>("/v1/agent/members", &[])
            .await
            .map(|(m, _)| m.members)
    }

    /// `GET /v1/nodes`: every client node of the region.
    pub async fn nodes(&self) -> Result<Vec<NodeStub>, NomadError> {
        self.get("/v1/nodes", &[]).await.map(|(n, _)| n)
    }

    /// `GET /v1/node/:id`; a missing node is a 404 [`NomadError::Status`].
    pub async fn node(&self, id: &str) -> Result<NodeStub, NomadError> {
        let path = format!("/v1/node/{}", seg(id));
        self.get(&path, &[]).await.map(|(n, _)| n)
    }

    /// Starts draining a node (its allocations move elsewhere within `deadline`); the node
    /// stays ineligible until [`Self::set_eligibility`].
    pub async fn drain_node(&self, id: &str, deadline: Duration) -> Result<Value, NomadError> {
        let path = format!("/v1/node/{}/drain", seg(id));
        let body = json!({
            "DrainSpec": { "Deadline": deadline.as_nanos() as u64, "IgnoreSystemJobs": false },
            "MarkEligible": false,
        });
        self.write(Method::POST, &path, &[], Some(&body), true)
            .await
    }

    /// `POST /v1/node/:id/eligibility`: marks the node eligible or ineligible for new
    /// placements (running allocations stay).
    pub async fn set_eligibility(&self, id: &str, eligible: bool) -> Result<Value, NomadError> {
        let path = format!("/v1/node/{}/eligibility", seg(id));
        let body = json!({
            "NodeID": id,
            "Eligibility": if eligible { "eligible" } else { "ineligible" },
        });
        self.write(Method::POST, &path, &[], Some(&body), true)
            .await
    }
}

fn id_and_namespace(job: &Value) -> (String, String) {
    let id = job.get("ID").and_then(Value::as_str).unwrap_or_default();
    let namespace = job
        .get("Namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    (id.to_string(), namespace.to_string())
}
