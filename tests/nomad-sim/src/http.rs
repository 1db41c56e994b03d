//! The HTTP surface: routing, latency and fault injection, ACL checks, blocking queries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{json, Value};

use crate::schema::validate_job;
use crate::state::{ApiError, State};
use crate::{Request, Shared};

mod vars;

pub async fn serve(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let ticker_shared = shared.clone();
    let ticker = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(5));
        loop {
            interval.tick().await;
            if ticker_shared.state().tick(Instant::now()) {
                ticker_shared.changed.notify_waiters();
            }
        }
    });
    let app = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Bytes| {
            let shared = shared.clone();
            async move { handle(shared, peer, method, uri, headers, body).await }
        },
    );
    match tls {
        None => {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        }
        Some(config) => serve_tls(listener, app, config, stop).await,
    }
    ticker.abort();
}

/// HTTPS: each connection's handshake (a missing or foreign client certificate fails it),
/// then the same router over HTTP/1.1 or HTTP/2.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<rustls::ServerConfig>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
        });
    }
}

struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(uri: &Uri) -> Self {
        let pairs = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn namespace(&self) -> String {
        self.get("namespace").unwrap_or("default").to_string()
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Nomad's `wait` values: `5s`, `300ms`, `1m`; default 5 minutes, at most 10.
fn parse_wait(text: Option<&str>) -> Duration {
    let default = Duration::from_secs(300);
    let Some(text) = text else {
        return default;
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let Ok(n) = number.parse::<u64>() else {
        return default;
    };
    let wait = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => default,
    };
    wait.min(Duration::from_secs(600))
}

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.message).into_response()
}

fn json_response(body: Value, index: u64) -> Response {
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert("X-Nomad-Index", HeaderValue::from(index));
    headers.insert("X-Nomad-KnownLeader", HeaderValue::from_static("true"));
    headers.insert("X-Nomad-LastContact", HeaderValue::from_static("0"));
    response
}

/// What a request needs from the ACL system.
enum Need {
    AnyToken,
    Management,
    Capability(String, &'static str),
}

fn authorize(state: &State, headers: &HeaderMap, need: &Need) -> Result<(), ApiError> {
    let Some(tokens) = &state.acl else {
        return Ok(());
    };
    let denied = || ApiError::new(403, "Permission denied");
    let secret = headers
        .get("X-Nomad-Token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get("Authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .ok_or_else(denied)?;
    let token = tokens
        .get(secret)
        .ok_or_else(|| ApiError::new(403, "ACL token not found"))?;
    if token.management {
        return Ok(());
    }
    match need {
        Need::AnyToken => Ok(()),
        Need::Management => Err(denied()),
        Need::Capability(namespace, capability) => {
            let namespace_ok = token.namespace == "*" || token.namespace == *namespace;
            let has = token.capabilities.iter().any(|c| {
                c == capability
                    || (*capability == "read-job" && c == "submit-job")
                    || (*capability == "list-jobs" && (c == "read-job" || c == "submit-job"))
            });
            if namespace_ok && has {
                Ok(())
            } else {
                Err(denied())
            }
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = Query::parse(&uri);
    let path = uri.path().to_string();
    let registers = method != Method::GET && {
        let parts = segments(&path);
        matches!(
            parts
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["v1", "jobs"] | ["v1", "job", _]
        )
    };
    let (latency, fault, lose) = {
        let mut knobs = shared.knobs.lock().unwrap_or_else(|e| e.into_inner());
        let rate = knobs.fault_rate;
        let fault = rate > 0.0 && knobs.rng.gen::<f64>() < rate;
        let lost = knobs.lost_register_rate;
        let lose = registers && lost > 0.0 && knobs.rng.gen::<f64>() < lost;
        (knobs.latency, fault, lose)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let namespace = query.get("namespace").map(str::to_string);
    // Logged on arrival (status filled in when answered): a blocking query left behind by a
    // client that went away must not show up later among another command's requests.
    let entry = {
        let mut state = shared.state();
        state.requests.push(Request {
            method: method.to_string(),
            path: path.clone(),
            namespace,
            status: 0,
            body: String::from_utf8_lossy(&body).into_owned(),
            peer,
        });
        state.requests.len() - 1
    };
    let response = if fault {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "simulated fault: rpc error: EOF",
        )
            .into_response()
    } else {
        route(&shared, &method, &path, &query, &headers, &body).await
    };
    let wrote = method != Method::GET && response.status().is_success();
    let response = if lose && wrote {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "simulated fault: connection reset after the write was committed",
        )
            .into_response()
    } else {
        response
    };
    if let Some(request) = shared.state().requests.get_mut(entry) {
        request.status = response.status().as_u16();
    }
    if wrote {
        shared.changed.notify_waiters();
    }
    response
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect()
}

async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let parts = segments(path);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let ns = query.namespace();
    let body_json = || -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::new(400, format!("failed to decode request body: {e}")))
    };
    match (method.clone(), parts.as_slice()) {
        (Method::GET, ["v1", "status", "leader"]) => json_response(json!("127.0.0.1:4647"), 1),
        (Method::GET, ["v1", "namespaces"]) => {
            read(shared, query, headers, Need::AnyToken, |s| {
                Ok((
                    json!(s.namespaces.values().cloned().collect::<Vec<_>>()),
                    s.index,
                ))
            })
            .await
        }
        (Method::GET, ["v1", "namespace", name]) => {
            let name = name.to_string();
            read(shared, query, headers, Need::AnyToken, move |s| {
                let n = s
                    .namespaces
                    .get(&name)
                    .ok_or_else(|| ApiError::new(404, "namespace not found"))?;
                Ok((n.clone(), n["ModifyIndex"].as_u64().unwrap_or(1)))
            })
            .await
        }
        (Method::POST | Method::PUT, ["v1", "namespace", name])
        | (Method::POST | Method::PUT, ["v1", "namespace", name, ..]) => {
            let name = name.to_string();
            write(shared, headers, Need::Management, move |s| {
                let mut namespace = body_json()?;
                if namespace
                    .get("Name")
                    .and_then(Value::as_str)
                    .unwrap_or(&name)
                    != name
                {
                    return Err(ApiError::new(
                        400,
                        "namespace name in the body does not match the path",
                    ));
                }
                namespace["Name"] = json!(name);
                let index = s.upsert_namespace(namespace);
                Ok(json!({"Index": index}))
            })
        }
        (Method::DELETE, ["v1", "namespace", name]) => {
            let name = name.to_string();
            write(shared, headers, Need::Management, move |s| {
                let index = s.delete_namespace(&name)?;
                Ok(json!({"Index": index}))
            })
        }
        (Method::GET, ["v1", "jobs"]) => {
            let with_meta = query.get("meta") == Some("true");
            list_namespaced(shared, query, headers, &ns, "list-jobs", move |s| {
                // Job.List answers at the jobs table's index; the simulator's is its own.
                let list = s.jobs.values().map(|r| job_stub(&r.job, with_meta)).collect();
                (list, s.index)
            })
            .await
        }
        (Method::POST | Method::PUT, ["v1", "jobs"])
        | (Method::POST | Method::PUT, ["v1", "job", _]) => {
            let request = match body_json() {
                Ok(v) => v,
                Err(e) => return error(e),
            };
            let job = request.get("Job").cloned().unwrap_or(Value::Null);
            let job_ns = job
                .get("Namespace")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(ns.clone());
            if let [_, _, id] = parts.as_slice() {
                if job.get("ID").and_then(Value::as_str) != Some(*id) {
                    return error(ApiError::new(400, "Job ID does not match name"));
                }
            }
            let enforce = (request.get("EnforceIndex") == Some(&json!(true))).then(|| {
                request
                    .get("JobModifyIndex")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            });
            write(
                shared,
                headers,
                Need::Capability(job_ns.clone(), "submit-job"),
                move |s| {
                    check_schema(s, &job)?;
                    s.register_calls += 1;
                    s.register(&job_ns, job, enforce, false)
                },
            )
        }
        (Method::POST | Method::PUT, ["v1", "job", id, "plan"]) => {
            let request = match body_json() {
                Ok(v) => v,
                Err(e) => return error(e),
            };
            let job = request.get("Job").cloned().unwrap_or(Value::Null);
            if job.get("ID").and_then(Value::as_str) != Some(*id) {
                return error(ApiError::new(400, "Job ID does not match"));
            }
            let job_ns = job
                .get("Namespace")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(ns.clone());
            write(
                shared,
                headers,
                Need::Capability(job_ns.clone(), "submit-job"),
                move |s| {
                    check_schema(s, &job)?;
                    s.plan(&job_ns, job)
                },
            )
        }
        (Method::GET, ["v1", "job", id]) => {
            let key = (ns.clone(), id.to_string());
            read(
                shared,
                query,
                headers,
                Need::Capability(ns.clone(), "read-job"),
                move |s| {
                    let r = s
                        .jobs
                        .get(&key)
                        .ok_or_else(|| ApiError::new(404, "job not found"))?;
                    Ok((r.job.clone(), r.job["ModifyIndex"].as_u64().unwrap_or(1)))
                },
            )
            .await
        }
        (Method::DELETE, ["v1", "job", id]) => {
            let id = id.to_string();
            let purge = query.get("purge") == Some("true");
            write(
                shared,
                headers,
                Need::Capability(ns.clone(), "submit-job"),
                move |s| s.deregister(&ns, &id, purge),
            )
        }
        (Method::GET, ["v1", "job", id, "versions"]) => {
            let key = (ns.clone(), id.to_string());
            read(
                shared,
                query,
                headers,
                Need::Capability(ns.clone(), "read-job"),
                move |s| {
                    let r = s
                        .jobs
                        .get(&key)
                        .ok_or_else(|| ApiError::new(404, "job versions not found"))?;
                    let versions: Vec<Value> = r.versions.iter().rev().cloned().collect();
                    Ok((
                        json!({"Versions": versions, "Diffs": null}),
                        r.job["ModifyIndex"].as_u64().unwrap_or(1),
                    ))
                },
            )
            .await
        }
        (Method::GET, ["v1", "job", id, which @ ("deployment" | "deployments")]) => {
            let key = (ns.clone(), id.to_string());
            let latest = *which == "deployment";
            read(
                shared,
                query,
                headers,
                Need::Capability(ns.clone(), "read-job"),
                move |s| {
                    let all: Vec<Value> = s
                        .job_deployments
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .filter_map(|id| s.deployments.get(id).map(|d| d.value.clone()))
                        .collect();
                    let index = all
                        .iter()
                        .filter_map(|d| d["ModifyIndex"].as_u64())
                        .max()
                        .unwrap_or(1);
                    let body = if latest {
                        all.last().cloned().unwrap_or(Value::Null)
                    } else {
                        json!(all.into_iter().rev().collect::<Vec<_>>())
                    };
                    Ok((body, index))
                },
            )
            .await
        }
        (Method::GET, ["v1", "job", id, "allocations"]) => {
            let (ns2, id) = (ns.clone(), id.to_string());
            read(
                shared,
                query,
                headers,
                Need::Capability(ns.clone(), "read-job"),
                move |s| {
                    let allocs: Vec<Value> = s
                        .allocs
                        .values()
                        .filter(|a| {
                            a.value["Namespace"] == ns2.as_str() && a.value["JobID"] == id.as_str()
                        })
                        .map(|a| a.value.clone())
                        .collect();
                    let index = allocs
                        .iter()
                        .filter_map(|a| a["ModifyIndex"].as_u64())
                        .max()
                        .unwrap_or(1);
                    Ok((json!(allocs), index))
                },
            )
            .await
        }
        (Method::GET, ["v1", "deployments"]) => {
            // Nomad's Deployment.List: oldest first by CreateIndex, at the deployment table's
            // index.
            list_namespaced(shared, query, headers, &ns, "read-job", |s| {
                let mut list: Vec<Value> = s.deployments.values().map(|d| d.value.clone()).collect();
                list.sort_by_key(|d| d["CreateIndex"].as_u64().unwrap_or_default());
                let index = table_index(s.deployments.values().map(|d| &d.value));
                (list, index)
            })
            .await
        }
        (Method::GET, ["v1", "evaluations"]) => {
            // Nomad's Eval.List: oldest first by CreateIndex, at the evals table's index.
            list_namespaced(shared, query, headers, &ns, "read-job", |s| {
                let mut list: Vec<Value> = s.evals.values().cloned().collect();
                list.sort_by_key(|e| e["CreateIndex"].as_u64().unwrap_or_default());
                (list, table_index(s.evals.values()))
            })
            .await
        }
        (Method::GET, ["v1", "deployment", id]) => {
            read_object(shared, query, headers, id, "deployment", |s, id| {
                s.deployments.get(id).map(|d| d.value.clone())
            })
            .await
        }
        (Method::POST | Method::PUT, ["v1", "deployment", "promote", id]) => {
            let id = id.to_string();
            let need =
                match namespace_of(shared, |s| s.deployments.get(&id).map(|d| d.value.clone())) {
                    Need::Capability(ns, _) => Need::Capability(ns, "submit-job"),
                    other => other,
                };
            write(shared, headers, need, move |s| s.promote(&id))
        }
        (Method::GET, ["v1", "evaluation", id]) => {
            read_object(shared, query, headers, id, "eval", |s, id| {
                s.evals.get(id).cloned()
            })
            .await
        }
        (Method::GET, ["v1", "allocations"]) => {
            // Alloc.List answers at the allocs table's index.
            list_namespaced(shared, query, headers, &ns, "read-job", |s| {
                let list = s.allocs.values().map(|a| a.value.clone()).collect();
                (list, table_index(s.allocs.values().map(|a| &a.value)))
            })
            .await
        }
        (Method::GET, ["v1", "allocation", id]) => {
            read_object(shared, query, headers, id, "alloc", |s, id| {
                s.allocs.get(id).map(|a| a.value.clone())
            })
            .await
        }
        (Method::GET, ["v1", "agent", "members"]) => {
            read(
                shared,
                query,
                headers,
                Need::Capability("*".into(), "node-read"),
                |s| {
                    Ok((
                        json!({"ServerName": "sim", "ServerRegion": "global", "ServerDC": "dc1", "Members": s.servers.clone()}),
                        s.index,
                    ))
                },
            )
            .await
        }
        (Method::GET, ["v1", "nodes"]) => {
            read(
                shared,
                query,
                headers,
                Need::Capability("*".into(), "node-read"),
                |s| Ok((json!(s.nodes.clone()), s.index)),
            )
            .await
        }
        (Method::GET, ["v1", "node", id]) => {
            let id = id.to_string();
            read(
                shared,
                query,
                headers,
                Need::Capability("*".into(), "node-read"),
                move |s| {
                    let n = s
                        .nodes
                        .iter()
                        .find(|n| n["ID"] == id.as_str())
                        .ok_or_else(|| ApiError::new(404, "node not found"))?;
                    Ok((n.clone(), n["ModifyIndex"].as_u64().unwrap_or(1)))
                },
            )
            .await
        }
        (Method::POST | Method::PUT, ["v1", "node", id, "drain"]) => {
            let id = id.to_string();
            let request = match body_json() {
                Ok(v) => v,
                Err(e) => return error(e),
            };
            let enable = !request.get("DrainSpec").is_none_or(Value::is_null);
            write(
                shared,
                headers,
                Need::Capability("*".into(), "node-write"),
                move |s| s.drain(&id, enable),
            )
        }
        (Method::POST | Method::PUT, ["v1", "node", id, "eligibility"]) => {
            let id = id.to_string();
            let request = match body_json() {
                Ok(v) => v,
                Err(e) => return error(e),
            };
            let eligibility = request
                .get("Eligibility")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            write(
                shared,
                headers,
                Need::Capability("*".into(), "node-write"),
                move |s| s.set_eligibility(&id, &eligibility),
            )
        }
        _ => match vars::route(shared, method, &parts, query, headers, body).await {
            Some(response) => response,
            None => error(ApiError::new(
                404,
                format!("Invalid URL path: {method} {path}"),
            )),
        },
    }
}

/// A list request: in one namespace it needs the capability there; with `namespace=*` any
/// token may ask and the answer holds only the namespaces it may list (Nomad's
/// `allowedNSes` filter), never a 403.
fn list_need(namespace: &str, capability: &'static str) -> Need {
    if namespace == "*" {
        Need::AnyToken
    } else {
        Need::Capability(namespace.to_string(), capability)
    }
}

/// The index of the last write to a table: its objects' highest `ModifyIndex` (the
/// simulator never deletes from the tables listed this way).
fn table_index<'a>(objects: impl Iterator<Item = &'a Value>) -> u64 {
    objects
        .filter_map(|v| v["ModifyIndex"].as_u64())
        .max()
        .unwrap_or(0)
}

/// `GET` of a list of objects that carry their `Namespace`: those of the namespace asked
/// for, or with `*` those of every namespace the token may read; answered at the index
/// `objects` gives (Nomad: the table's index, whatever the namespace), as a blocking query
/// that returns once that index passes `?index=` or `?wait=` elapsed.
async fn list_namespaced(
    shared: &Arc<Shared>,
    query: &Query,
    headers: &HeaderMap,
    namespace: &str,
    capability: &'static str,
    objects: impl Fn(&State) -> (Vec<Value>, u64),
) -> Response {
    let asked = namespace.to_string();
    let token = headers.clone();
    read(
        shared,
        query,
        headers,
        list_need(namespace, capability),
        move |s| {
            let (objects, index) = objects(s);
            let list: Vec<Value> = objects
                .into_iter()
                .filter(|v| {
                    let n = v["Namespace"].as_str().unwrap_or_default();
                    listable(s, &token, &asked, n, capability)
                })
                .collect();
            Ok((json!(list), index))
        },
    )
    .await
}

/// Whether an object of namespace `object_ns` belongs in a list asked for `asked`.
fn listable(
    state: &State,
    headers: &HeaderMap,
    asked: &str,
    object_ns: &str,
    capability: &'static str,
) -> bool {
    if asked != "*" {
        return asked == object_ns;
    }
    authorize(
        state,
        headers,
        &Need::Capability(object_ns.to_string(), capability),
    )
    .is_ok()
}

/// `GET /v1/<kind>/:id` of an object that carries its namespace.
async fn read_object(
    shared: &Arc<Shared>,
    query: &Query,
    headers: &HeaderMap,
    id: &str,
    what: &'static str,
    lookup: fn(&State, &str) -> Option<Value>,
) -> Response {
    let need = namespace_of(shared, |s| lookup(s, id));
    read(shared, query, headers, need, move |s| {
        let value = lookup(s, id).ok_or_else(|| ApiError::new(404, format!("{what} not found")))?;
        let index = value["ModifyIndex"].as_u64().unwrap_or(1);
        Ok((value, index))
    })
    .await
}

/// Reads need `read-job` in the namespace of the object they return.
fn namespace_of(shared: &Arc<Shared>, find: impl FnOnce(&State) -> Option<Value>) -> Need {
    let state = shared.state();
    match find(&state) {
        Some(v) => Need::Capability(
            v.get("Namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
            "read-job",
        ),
        None => Need::AnyToken,
    }
}

fn check_schema(state: &mut State, job: &Value) -> Result<(), ApiError> {
    if !job.is_object() {
        return Err(ApiError::new(400, "request has no Job"));
    }
    let violations = validate_job(job);
    // Go's decoder ignores keys it does not know (recorded, so tests see them) and refuses
    // values of the wrong type.
    let refused: Vec<&String> = violations
        .iter()
        .filter(|v| !v.ends_with(": unknown field"))
        .collect();
    let message = refused
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let refuse = !refused.is_empty();
    state.violations.extend(violations);
    if !refuse {
        return Ok(());
    }
    Err(ApiError::new(
        400,
        format!("failed to decode job: {message}"),
    ))
}

/// A `/v1/jobs` entry: exactly the fields of Nomad's `structs.JobListStub` (no `Version`;
/// `Meta` only when asked for with `meta=true` and present, `Namespace` omitted when empty).
fn job_stub(job: &Value, with_meta: bool) -> Value {
    let mut stub = json!({
        "ID": job["ID"], "ParentID": job.get("ParentID").cloned().unwrap_or(json!("")),
        "Name": job["Name"], "Namespace": job["Namespace"],
        "Datacenters": job["Datacenters"],
        "NodePool": job.get("NodePool").cloned().unwrap_or(json!("default")),
        "Multiregion": job.get("Multiregion").cloned().unwrap_or(Value::Null),
        "Type": job["Type"], "Priority": job["Priority"],
        "Periodic": job.get("Periodic").is_some_and(|p| !p.is_null()),
        "ParameterizedJob": job.get("ParameterizedJob").is_some_and(|p| !p.is_null()),
        "Stop": job["Stop"], "Status": job["Status"],
        "StatusDescription": job.get("StatusDescription").cloned().unwrap_or(json!("")),
        "JobSummary": null,
        "CreateIndex": job["CreateIndex"], "ModifyIndex": job["ModifyIndex"],
        "JobModifyIndex": job["JobModifyIndex"], "SubmitTime": job["SubmitTime"],
    });
    if with_meta {
        if let Some(meta) = job
            .get("Meta")
            .filter(|m| m.as_object().is_some_and(|m| !m.is_empty()))
        {
            stub["Meta"] = meta.clone();
        }
    }
    stub
}

fn write(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    need: Need,
    apply: impl FnOnce(&mut State) -> Result<Value, ApiError>,
) -> Response {
    let mut state = shared.state();
    if let Err(e) = authorize(&state, headers, &need) {
        return error(e);
    }
    match apply(&mut state) {
        Ok(body) => {
            let index = state.index;
            json_response(body, index)
        }
        Err(e) => error(e),
    }
}

/// A read, blocking while the result's index is not above `?index=` (until `?wait=`).
async fn read(
    shared: &Arc<Shared>,
    query: &Query,
    headers: &HeaderMap,
    need: Need,
    answer: impl Fn(&State) -> Result<(Value, u64), ApiError>,
) -> Response {
    let min_index: u64 = query.get("index").and_then(|i| i.parse().ok()).unwrap_or(0);
    let deadline = Instant::now() + parse_wait(query.get("wait"));
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let state = shared.state();
            if let Err(e) = authorize(&state, headers, &need) {
                return error(e);
            }
            match answer(&state) {
                Ok((body, index))
                    if index > min_index || min_index == 0 || Instant::now() >= deadline =>
                {
                    return json_response(body, index.max(1))
                }
                Ok(_) => {}
                Err(e) => return error(e),
            }
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(remaining, notified).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_parse_like_nomad() {
        assert_eq!(parse_wait(Some("5s")), Duration::from_secs(5));
        assert_eq!(parse_wait(Some("300ms")), Duration::from_millis(300));
        assert_eq!(parse_wait(Some("2m")), Duration::from_secs(120));
        assert_eq!(parse_wait(None), Duration::from_secs(300));
        assert_eq!(parse_wait(Some("1h")), Duration::from_secs(600));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%2Fb"), "a/b");
        assert_eq!(decode("100%"), "100%");
    }
}
