//! Nomad variables (`command/agent/variable_endpoint.go`): `GET /v1/vars?prefix=&namespace=`
//! lists metadata (never items, `[]` when none), `GET|PUT|DELETE /v1/var/:path`. A delete
//! answers 204 with no body, and deleting a path that does not exist succeeds.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{error, list_namespaced, read, write, Need, Query};
use crate::state::ApiError;
use crate::Shared;

fn metadata(variable: &Value) -> Value {
    let mut meta = variable.clone();
    if let Some(map) = meta.as_object_mut() {
        map.remove("Items");
    }
    meta
}

pub(super) async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    parts: &[&str],
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let ns = query.namespace();
    Some(match (method.clone(), parts) {
        (Method::GET, ["v1", "vars"]) => {
            let prefix = query.get("prefix").unwrap_or_default().to_string();
            list_namespaced(shared, query, headers, &ns, "list-jobs", move |s| {
                let list = s
                    .variables
                    .values()
                    .filter(|v| v["Path"].as_str().unwrap_or_default().starts_with(&prefix))
                    .map(metadata)
                    .collect();
                (list, s.index)
            })
            .await
        }
        (_, ["v1", "var", path @ ..]) if !path.is_empty() => {
            let path = path.join("/");
            let key = (ns.clone(), path.clone());
            match method.clone() {
                Method::GET => {
                    read(
                        shared,
                        query,
                        headers,
                        Need::Capability(ns.clone(), "read-job"),
                        move |s| {
                            let v = s
                                .variables
                                .get(&key)
                                .ok_or_else(|| ApiError::new(404, "variable not found"))?;
                            Ok((v.clone(), v["ModifyIndex"].as_u64().unwrap_or(1)))
                        },
                    )
                    .await
                }
                Method::PUT | Method::POST => {
                    let request: Value = match serde_json::from_slice(body) {
                        Ok(v) => v,
                        Err(e) => {
                            return Some(error(ApiError::new(
                                400,
                                format!("failed to decode request body: {e}"),
                            )))
                        }
                    };
                    let items = request.get("Items").cloned().unwrap_or(Value::Null);
                    if items.as_object().is_none_or(|m| m.is_empty()) {
                        return Some(error(ApiError::new(
                            400,
                            "variable missing required Items object",
                        )));
                    }
                    write(
                        shared,
                        headers,
                        Need::Capability(ns.clone(), "submit-job"),
                        move |s| {
                            if !s.namespaces.contains_key(&key.0) {
                                return Err(ApiError::new(
                                    500,
                                    format!("namespace \"{}\" does not exist", key.0),
                                ));
                            }
                            s.index += 1;
                            let index = s.index;
                            let now = now_nanos();
                            let created = s
                                .variables
                                .get(&key)
                                .map(|v| (v["CreateIndex"].clone(), v["CreateTime"].clone()));
                            let (create_index, create_time) =
                                created.unwrap_or((json!(index), json!(now)));
                            let variable = json!({
                                "Namespace": key.0, "Path": key.1,
                                "CreateIndex": create_index, "CreateTime": create_time,
                                "ModifyIndex": index, "ModifyTime": now,
                                "Items": items,
                            });
                            s.variables.insert(key, variable.clone());
                            Ok(variable)
                        },
                    )
                }
                Method::DELETE => {
                    let response = write(
                        shared,
                        headers,
                        Need::Capability(ns.clone(), "submit-job"),
                        move |s| {
                            if s.variables.remove(&key).is_some() {
                                s.index += 1;
                            }
                            Ok(Value::Null)
                        },
                    );
                    if response.status().is_success() {
                        let index = response.headers().get("X-Nomad-Index").cloned();
                        let mut empty = StatusCode::NO_CONTENT.into_response();
                        if let Some(index) = index {
                            empty.headers_mut().insert("X-Nomad-Index", index);
                        }
                        empty
                    } else {
                        response
                    }
                }
                _ => error(ApiError::new(400, "Invalid method")),
            }
        }
        _ => return None,
    })
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}
