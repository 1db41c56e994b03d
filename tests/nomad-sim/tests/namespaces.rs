//! Namespaces and variables as Nomad answers them: a namespace with live jobs, running
//! allocations or variables cannot be deleted; variable lists carry metadata only; a
//! variable delete answers 204 with no body.

use std::time::Duration;

use nomad_sim::{Sim, SimConfig};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

fn send(sim: &Sim, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut request = client.request(method, format!("{}{path}", sim.address()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn job(namespace: &str) -> Value {
    json!({"Job": {
        "ID": "web", "Name": "web", "Namespace": namespace, "Type": "service",
        "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "server",
            "Driver": "docker", "Config": {"image": "nginx"}}]}]
    }})
}

#[test]
fn a_namespace_is_deleted_only_once_empty() {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(40),
        ..SimConfig::default()
    });
    let (status, _) = send(
        &sim,
        Method::PUT,
        "/v1/namespace/review",
        Some(json!({"Name": "review", "Description": "d", "Meta": {"opsctl-env": "review"}})),
    );
    assert_eq!(status, 200);
    let (_, text) = send(&sim, Method::GET, "/v1/namespace/review", None);
    let ns: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ns["Meta"]["opsctl-env"], "review");

    assert_eq!(
        send(
            &sim,
            Method::POST,
            "/v1/job/web?namespace=review",
            Some(job("review"))
        )
        .0,
        200
    );
    let (status, text) = send(&sim, Method::DELETE, "/v1/namespace/review", None);
    assert_eq!(status, 500);
    assert!(text.contains("has non-terminal jobs"), "{text}");

    // Variables: metadata in lists, 400 without items, 204 on delete.
    let (status, text) = send(
        &sim,
        Method::PUT,
        "/v1/var/app/db?namespace=review",
        Some(json!({"Items": {}})),
    );
    assert_eq!(status, 400, "{text}");
    let (status, _) = send(
        &sim,
        Method::PUT,
        "/v1/var/app/db?namespace=review",
        Some(json!({"Path": "app/db", "Items": {"password": "x"}})),
    );
    assert_eq!(status, 200);
    let (_, text) = send(&sim, Method::GET, "/v1/vars?prefix=&namespace=review", None);
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list[0]["Path"], "app/db");
    assert!(list[0].get("Items").is_none(), "{list}");
    let (_, text) = send(
        &sim,
        Method::GET,
        "/v1/vars?prefix=&namespace=default",
        None,
    );
    assert_eq!(text.trim(), "[]");

    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            "/v1/job/web?namespace=review&purge=true",
            None
        )
        .0,
        200
    );
    let (status, text) = send(&sim, Method::DELETE, "/v1/namespace/review", None);
    assert_eq!(status, 500);
    assert!(text.contains("has variables associated with it"), "{text}");

    let (status, text) = send(
        &sim,
        Method::DELETE,
        "/v1/var/app/db?namespace=review",
        None,
    );
    assert_eq!((status, text.as_str()), (204, ""));
    // Deleting what is gone succeeds, as in Nomad.
    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            "/v1/var/app/db?namespace=review",
            None
        )
        .0,
        204
    );
    assert_eq!(
        send(&sim, Method::DELETE, "/v1/namespace/review", None).0,
        200
    );
    assert!(sim.namespace("review").is_none());
}
