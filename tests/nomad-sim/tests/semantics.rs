//! The simulator's Nomad semantics, checked over real HTTP.

use std::time::{Duration, Instant};

use nomad_sim::{Sim, SimConfig};
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn job(id: &str, image: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Namespace": "default", "Type": "service", "Datacenters": ["dc1"],
        "Update": {"MaxParallel": 1, "AutoRevert": true},
        "TaskGroups": [{"Name": "web", "Count": 2, "Tasks": [{"Name": "server", "Driver": "docker",
            "Config": {"image": image}}]}]
    })
}

struct Api {
    http: Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(sim: &Sim) -> Self {
        Api {
            http: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: sim.address(),
            token: None,
        }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value, u64) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("X-Nomad-Token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let index = response
            .headers()
            .get("X-Nomad-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let text = response.text().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body, index)
    }

    fn get(&self, path: &str) -> (u16, Value, u64) {
        self.send(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value, u64) {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    fn register(&self, job: &Value, cas: Option<u64>) -> (u16, Value, u64) {
        let mut body = json!({"Job": job});
        if let Some(index) = cas {
            body["EnforceIndex"] = json!(true);
            body["JobModifyIndex"] = json!(index);
        }
        self.post(&format!("/v1/job/{}", job["ID"].as_str().unwrap()), body)
    }

    fn plan(&self, job: &Value) -> Value {
        let (status, body, _) = self.post(
            &format!("/v1/job/{}/plan", job["ID"].as_str().unwrap()),
            json!({"Job": job, "Diff": true}),
        );
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn versions_bump_only_when_the_spec_changes_and_indexes_grow() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    let (status, first, _) = api.register(&job("web", "web:1"), None);
    assert_eq!(status, 200, "{first}");
    let (_, stored, index1) = api.get("/v1/job/web");
    assert_eq!(stored["Version"], 0);
    assert_eq!(stored["Priority"], 50, "defaults are filled in");
    api.register(&job("web", "web:1"), None);
    let (_, stored, index2) = api.get("/v1/job/web");
    assert_eq!(stored["Version"], 0, "same spec, same version");
    assert!(index2 > index1);
    // Nomad commits a register only when the spec changed (`nomad/job_endpoint.go`).
    assert_eq!(stored["JobModifyIndex"], first["JobModifyIndex"]);
    api.register(&job("web", "web:2"), None);
    let (_, stored, _) = api.get("/v1/job/web");
    assert_eq!(stored["Version"], 1);
    let (_, versions, _) = api.get("/v1/job/web/versions");
    assert_eq!(versions["Versions"].as_array().unwrap().len(), 2);
}

#[test]
fn check_and_set_refuses_stale_indexes_with_nomads_message() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    let (status, _, _) = api.register(&job("web", "web:1"), Some(0));
    assert_eq!(status, 200);
    let (status, body, _) = api.register(&job("web", "web:2"), Some(0));
    assert_eq!(status, 500);
    assert!(
        body.as_str()
            .unwrap()
            .contains("Enforcing job modify index 0"),
        "{body}"
    );
    let plan = api.plan(&job("web", "web:2"));
    let index = plan["JobModifyIndex"].as_u64().unwrap();
    sim.put_job("default", job("web", "web:3"));
    let (status, body, _) = api.register(&job("web", "web:2"), Some(index));
    assert_eq!(status, 500);
    assert!(
        body.as_str()
            .unwrap()
            .contains("job exists with conflicting job modify index"),
        "{body}"
    );
    let (status, body, _) = api.register(&job("other", "web:1"), Some(5));
    assert_eq!(status, 500);
    assert!(
        body.as_str().unwrap().contains("job does not exist"),
        "{body}"
    );
}

#[test]
fn plan_diffs_say_added_edited_or_none_with_field_changes() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    let plan = api.plan(&job("web", "web:1"));
    assert_eq!(plan["Diff"]["Type"], "Added");
    assert_eq!(plan["JobModifyIndex"], 0);
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["web"]["Place"], 2);
    api.register(&job("web", "web:1"), None);
    assert_eq!(api.plan(&job("web", "web:1"))["Diff"]["Type"], "None");
    let plan = api.plan(&job("web", "web:2"));
    assert_eq!(plan["Diff"]["Type"], "Edited");
    let task = &plan["Diff"]["TaskGroups"][0]["Tasks"][0];
    assert_eq!(task["Type"], "Edited");
    let image = &task["Objects"][0]["Fields"][0];
    assert_eq!(
        (
            image["Name"].as_str(),
            image["Old"].as_str(),
            image["New"].as_str()
        ),
        (Some("image"), Some("web:1"), Some("web:2"))
    );
    assert_eq!(
        plan["Annotations"]["DesiredTGUpdates"]["web"]["DestructiveUpdate"],
        2
    );
    assert_eq!(sim.register_calls(), 1, "plans register nothing");
}

#[test]
fn blocking_queries_wake_on_change_and_time_out_otherwise() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    api.register(&job("web", "web:1"), None);
    let (_, _, index) = api.get("/v1/job/web");
    let started = Instant::now();
    let (_, _, same) = api.get(&format!("/v1/job/web?index={index}&wait=300ms"));
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "returned early"
    );
    assert_eq!(same, index);
    let sim_address = sim.address();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let client = Client::new();
        client
            .post(format!("{sim_address}/v1/job/web"))
            .json(&json!({"Job": job("web", "web:2")}))
            .send()
            .unwrap();
    });
    let started = Instant::now();
    let (_, stored, newer) = api.get(&format!("/v1/job/web?index={index}&wait=10s"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wake on the change"
    );
    assert!(newer > index);
    assert_eq!(stored["Version"], 1);
    writer.join().unwrap();
}

#[test]
fn deployments_succeed_and_mark_the_version_stable() {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(50),
        ..SimConfig::default()
    });
    let api = Api::new(&sim);
    api.register(&job("web", "web:1"), None);
    wait_for("a successful deployment", || {
        api.get("/v1/job/web/deployment").1["Status"] == "successful"
    });
    let (_, deployment, _) = api.get("/v1/job/web/deployment");
    assert_eq!(
        deployment["StatusDescription"],
        "Deployment completed successfully"
    );
    assert_eq!(deployment["TaskGroups"]["web"]["HealthyAllocs"], 2);
    assert_eq!(api.get("/v1/job/web").1["Stable"], true);
    let (_, allocs, _) = api.get("/v1/job/web/allocations");
    let running = allocs
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ClientStatus"] == "running")
        .count();
    assert_eq!(running, 2);
}

#[test]
fn failed_deployments_auto_revert_to_the_last_stable_version() {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(50),
        ..SimConfig::default()
    });
    let api = Api::new(&sim);
    api.register(&job("web", "web:1"), None);
    wait_for("v0 stable", || api.get("/v1/job/web").1["Stable"] == true);
    sim.fail_job("default", "web");
    api.register(&job("web", "web:2"), None);
    wait_for("the failure", || {
        sim.deployments("default", "web")
            .iter()
            .any(|d| d["Status"] == "failed")
    });
    let failed = sim
        .deployments("default", "web")
        .into_iter()
        .find(|d| d["Status"] == "failed")
        .unwrap();
    assert_eq!(
        failed["StatusDescription"],
        "Failed due to unhealthy allocations - rolling back to job version 0"
    );
    let (_, stored, _) = api.get("/v1/job/web");
    assert_eq!(stored["Version"], 2);
    assert_eq!(
        stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"],
        "web:1"
    );
}

#[test]
fn canaries_wait_for_promotion() {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(50),
        ..SimConfig::default()
    });
    let api = Api::new(&sim);
    api.register(&job("web", "web:1"), None);
    wait_for("v0", || {
        api.get("/v1/job/web/deployment").1["Status"] == "successful"
    });
    let mut canary = job("web", "web:2");
    canary["Update"]["Canary"] = json!(1);
    api.register(&canary, None);
    wait_for("healthy canary", || {
        api.get("/v1/job/web/deployment").1["StatusDescription"]
            == "Deployment is running but requires manual promotion"
    });
    let (_, deployment, _) = api.get("/v1/job/web/deployment");
    assert_eq!(
        deployment["TaskGroups"]["web"]["PlacedCanaries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let id = deployment["ID"].as_str().unwrap().to_string();
    let (status, body, _) = api.post(
        &format!("/v1/deployment/promote/{id}"),
        json!({"DeploymentID": id, "All": true}),
    );
    assert_eq!(status, 200, "{body}");
    wait_for("promotion to finish", || {
        api.get(&format!("/v1/deployment/{id}")).1["Status"] == "successful"
    });
}

#[test]
fn acl_tokens_gate_every_call() {
    let sim = Sim::start();
    let management = sim.enable_acl();
    let reader = sim.create_token("default", &["read-job"]);
    let mut api = Api::new(&sim);
    let (status, body, _) = api.get("/v1/jobs");
    assert_eq!((status, body.as_str()), (403, Some("Permission denied")));
    api.token = Some(reader);
    assert_eq!(api.get("/v1/jobs").0, 200);
    assert_eq!(api.register(&job("web", "web:1"), None).0, 403);
    api.token = Some(management);
    assert_eq!(api.register(&job("web", "web:1"), None).0, 200);
}

#[test]
fn namespaces_with_live_jobs_cannot_be_deleted() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    sim.create_namespace("staging");
    let mut staged = job("web", "web:1");
    staged["Namespace"] = json!("staging");
    assert_eq!(api.register(&staged, None).0, 200);
    let (status, body, _) = api.send(reqwest::Method::DELETE, "/v1/namespace/staging", None);
    assert_eq!(status, 500);
    assert!(
        body.as_str().unwrap().contains("has non-terminal jobs"),
        "{body}"
    );
    api.send(
        reqwest::Method::DELETE,
        "/v1/job/web?namespace=staging",
        None,
    );
    let (status, _, _) = api.send(reqwest::Method::DELETE, "/v1/namespace/staging", None);
    assert_eq!(status, 200);
    let mut lost = job("web", "web:1");
    lost["Namespace"] = json!("nowhere");
    let (status, body, _) = api.register(&lost, None);
    assert_eq!(status, 400);
    assert!(
        body.as_str().unwrap().contains("nonexistent namespace"),
        "{body}"
    );
}

#[test]
fn unknown_fields_are_ignored_and_mistyped_ones_refused_both_recorded() {
    let sim = Sim::start();
    let api = Api::new(&sim);
    let mut bad = job("web", "web:1");
    bad["TaskGroups"][0]["Tasks"][0]["Drivr"] = json!("docker");
    bad["TaskGroups"][0]["Count"] = json!("two");
    let (status, body, _) = api.register(&bad, None);
    assert_eq!(status, 400);
    let text = body.as_str().unwrap();
    assert!(
        text.contains("Job.TaskGroups[0].Count: expected integer, got string"),
        "{text}"
    );
    assert_eq!(sim.take_schema_violations().len(), 2);
    assert_eq!(sim.register_calls(), 0);
    // Go's decoder ignores a key it does not know: the job registers, the key is recorded.
    bad["TaskGroups"][0]["Count"] = json!(1);
    let (status, _, _) = api.register(&bad, None);
    assert_eq!(status, 200);
    assert_eq!(
        sim.take_schema_violations(),
        ["Job.TaskGroups[0].Tasks[0].Drivr: unknown field"]
    );
}

#[test]
fn injected_faults_answer_500_without_processing() {
    let sim = Sim::start_with(SimConfig {
        fault_rate: 0.2,
        seed: 42,
        ..SimConfig::default()
    });
    let api = Api::new(&sim);
    let statuses: Vec<u16> = (0..500).map(|_| api.get("/v1/jobs").0).collect();
    let faults = statuses.iter().filter(|s| **s == 500).count();
    assert!(
        (60..=140).contains(&faults),
        "{faults} faults in 500 requests at 20%"
    );
    let before = sim.register_calls();
    let results: Vec<u16> = (0..50)
        .map(|i| api.register(&job(&format!("j{i}"), "x"), None).0)
        .collect();
    let accepted = results.iter().filter(|s| **s == 200).count();
    assert_eq!(
        sim.register_calls() - before,
        accepted,
        "faulted registers were not processed"
    );
    assert_eq!(sim.job_ids("default").len(), accepted);
}

#[test]
fn batch_jobs_complete_through_allocations_without_a_deployment() {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(50),
        ..SimConfig::default()
    });
    let api = Api::new(&sim);
    let mut batch = job("migrate", "migrate:1");
    batch["Type"] = json!("batch");
    batch["Update"] = Value::Null;
    let (_, response, _) = api.register(&batch, None);
    let (_, eval, _) = api.get(&format!(
        "/v1/evaluation/{}",
        response["EvalID"].as_str().unwrap()
    ));
    assert_eq!(eval["Status"], "complete");
    wait_for("completion", || {
        let (_, allocs, _) = api.get("/v1/job/migrate/allocations");
        allocs
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["ClientStatus"] == "complete")
    });
    assert!(sim.deployments("default", "migrate").is_empty());
}
