//! A Nomad HTTP API simulator for opsctl's tests (never part of the product).
//!
//! It follows `tests/fixtures/nomad-openapi-v1.yaml` and Nomad's semantics: one raft-like index
//! with `X-Nomad-Index`, blocking queries, job versions that bump only on a spec change,
//! check-and-set registration, plan diffs, deployments (canaries, promotion, auto-revert),
//! evaluations and allocations, namespaces, ACL tokens, and injected latency and faults.
//! Every job it receives is validated against the spec's `Job` schema.

mod diff;
mod http;
pub mod schema;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;
use tokio::sync::Notify;

pub use diff::job_diff;

/// Knobs of a simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How long a healthy rollout takes (placement at half, health at the end).
    pub deploy_time: Duration,
    /// Added to every request.
    pub latency: Duration,
    /// Fraction of requests answered 500 before any processing.
    pub fault_rate: f64,
    /// Seed of the fault generator (deterministic runs).
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            deploy_time: Duration::from_millis(150),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: 1,
        }
    }
}

/// The server side of TLS: certificate and key (DER, PKCS#8), and the CA whose client
/// certificates are required (mutual TLS, as Nomad's `verify_https_client`).
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
    pub client_ca_der: Option<Vec<u8>>,
}

impl TlsIdentity {
    fn server_config(&self) -> rustls::ServerConfig {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = match &self.client_ca_der {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from(ca.clone()))
                    .expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        builder
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .expect("server certificate")
    }
}

/// One request as the simulator saw it (the token is never recorded).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub namespace: Option<String>,
    pub status: u16,
    /// The request body as sent (empty for reads).
    pub body: String,
    /// The client end of the connection it came on: requests of one client process share
    /// its connections, never another's.
    pub peer: std::net::SocketAddr,
}

pub(crate) struct Shared {
    pub state: Mutex<state::State>,
    /// Woken on every state change, for blocking queries.
    pub changed: Notify,
    pub knobs: Mutex<Knobs>,
}

pub(crate) struct Knobs {
    pub latency: Duration,
    pub fault_rate: f64,
    /// Fraction of job registrations that are committed and then answered 500, as when the
    /// connection drops after the server applied the write.
    pub lost_register_rate: f64,
    pub rng: StdRng,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running simulator on `127.0.0.1:<ephemeral>`; stopped when dropped.
pub struct Sim {
    shared: Arc<Shared>,
    address: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(SimConfig::default())
    }

    /// Serves HTTPS with `tls` (and demands a client certificate when it names a CA).
    pub fn start_tls(config: SimConfig, tls: TlsIdentity) -> Sim {
        Sim::start_serving(config, Some(tls))
    }

    pub fn start_with(config: SimConfig) -> Sim {
        Sim::start_serving(config, None)
    }

    fn start_serving(config: SimConfig, tls: Option<TlsIdentity>) -> Sim {
        let shared = Arc::new(Shared {
            state: Mutex::new(state::State::new(config.deploy_time)),
            changed: Notify::new(),
            knobs: Mutex::new(Knobs {
                latency: config.latency,
                fault_rate: config.fault_rate,
                lost_register_rate: 0.0,
                rng: StdRng::seed_from_u64(config.seed),
            }),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let address = format!(
            "{scheme}://{}",
            listener.local_addr().expect("local address")
        );
        let tls = tls.map(|t| Arc::new(t.server_config()));
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let server_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("simulator runtime");
            runtime.block_on(http::serve(server_shared, listener, tls, stop));
        });
        Sim {
            shared,
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> String {
        self.address.clone()
    }

    fn changed(&self) {
        self.shared.changed.notify_waiters();
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.knobs.lock().unwrap().latency = latency;
    }

    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.knobs.lock().unwrap().fault_rate = rate;
    }

    /// Commits this fraction of job registrations but answers them 500 (a lost response).
    pub fn set_lost_register_rate(&self, rate: f64) {
        self.shared.knobs.lock().unwrap().lost_register_rate = rate;
    }

    /// Turns ACLs on; returns a management token's secret.
    pub fn enable_acl(&self) -> String {
        let secret = uuid::Uuid::new_v4().to_string();
        let mut state = self.shared.state();
        let tokens = state.acl.get_or_insert_with(Default::default);
        tokens.insert(
            secret.clone(),
            state::Token {
                management: true,
                namespace: String::new(),
                capabilities: Vec::new(),
            },
        );
        secret
    }

    /// A client token with `capabilities` (`list-jobs`, `read-job`, `submit-job`, ...) in
    /// `namespace` (`*` for every namespace). ACLs must be enabled.
    pub fn create_token(&self, namespace: &str, capabilities: &[&str]) -> String {
        let secret = uuid::Uuid::new_v4().to_string();
        let mut state = self.shared.state();
        let tokens = state.acl.get_or_insert_with(Default::default);
        tokens.insert(
            secret.clone(),
            state::Token {
                management: false,
                namespace: namespace.to_string(),
                capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
            },
        );
        secret
    }

    pub fn create_namespace(&self, name: &str) {
        self.shared
            .state()
            .upsert_namespace(serde_json::json!({"Name": name, "Description": ""}));
        self.changed();
    }

    pub fn namespaces(&self) -> Vec<String> {
        self.shared.state().namespaces.keys().cloned().collect()
    }

    pub fn add_node(&self, name: &str, address: &str, datacenter: &str) -> String {
        let id = self.shared.state().add_node(name, address, datacenter);
        self.changed();
        id
    }

    /// A Nomad server in the gossip pool, named `<name>.global` as Nomad names them; a status
    /// other than `alive` models a server that did not rejoin.
    pub fn add_server(&self, name: &str, address: &str, status: &str) {
        self.shared.state().servers.push(serde_json::json!({
            "Name": format!("{name}.global"), "Addr": address, "Port": 4648, "Status": status,
            "Tags": {"role": "nomad", "region": "global", "dc": "dc1"},
        }));
        self.changed();
    }

    /// Future versions of this job get unhealthy allocations (their deployments fail).
    pub fn fail_job(&self, namespace: &str, job_id: &str) {
        self.shared
            .state()
            .failing
            .insert((namespace.to_string(), job_id.to_string()));
    }

    /// Registers `job` as another writer would (no check-and-set); returns its JobModifyIndex.
    pub fn put_job(&self, namespace: &str, job: Value) -> u64 {
        let response = self
            .shared
            .state()
            .register(namespace, job, None, false)
            .expect("put_job: the simulator refused the job");
        self.changed();
        response["JobModifyIndex"].as_u64().unwrap_or_default()
    }

    /// Right after the next plan of this job answers, `mutate` changes and re-registers the
    /// stored job, as a concurrent writer would.
    pub fn after_next_plan(
        &self,
        namespace: &str,
        job_id: &str,
        mutate: impl FnOnce(&mut Value) + Send + 'static,
    ) {
        self.shared.state().plan_hooks.push((
            (namespace.to_string(), job_id.to_string()),
            Box::new(mutate),
        ));
    }

    pub fn job(&self, namespace: &str, id: &str) -> Option<Value> {
        self.shared
            .state()
            .jobs
            .get(&(namespace.to_string(), id.to_string()))
            .map(|r| r.job.clone())
    }

    pub fn job_ids(&self, namespace: &str) -> Vec<String> {
        self.shared
            .state()
            .jobs
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Register calls the simulator processed (including check-and-set rejections; not
    /// requests lost to injected faults).
    pub fn register_calls(&self) -> usize {
        self.shared.state().register_calls
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.state().requests.clone()
    }

    pub fn schema_violations(&self) -> Vec<String> {
        self.shared.state().violations.clone()
    }

    /// The violations so far, cleared (for tests that send invalid jobs on purpose).
    pub fn take_schema_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.shared.state().violations)
    }

    /// The job's deployments, oldest first.
    pub fn deployments(&self, namespace: &str, job_id: &str) -> Vec<Value> {
        let state = self.shared.state();
        state
            .job_deployments
            .get(&(namespace.to_string(), job_id.to_string()))
            .into_iter()
            .flatten()
            .filter_map(|id| state.deployments.get(id).map(|d| d.value.clone()))
            .collect()
    }

    /// Allocations of a job (all versions).
    pub fn allocations(&self, namespace: &str, job_id: &str) -> Vec<Value> {
        self.shared
            .state()
            .allocs
            .values()
            .filter(|a| a.value["Namespace"] == namespace && a.value["JobID"] == job_id)
            .map(|a| a.value.clone())
            .collect()
    }

    pub fn nodes(&self) -> Vec<Value> {
        self.shared.state().nodes.clone()
    }

    /// Sets `field` of node `name` (`NodePool`, `SchedulingEligibility`, `Status`, `Attributes`).
    pub fn set_node_field(&self, name: &str, field: &str, value: Value) {
        self.shared.state().set_node_field(name, field, value);
        self.changed();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let violations = self.schema_violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "the Nomad simulator received jobs that violate the API schema:\n{}",
                violations.join("\n")
            );
        }
    }
}

/// Namespaces and variables, for the tests of `opsctl env`.
impl Sim {
    /// The namespace as `GET /v1/namespace/:name` returns it.
    pub fn namespace(&self, name: &str) -> Option<Value> {
        self.shared.state().namespaces.get(name).cloned()
    }

    /// Writes a variable as `nomad var put` would.
    pub fn put_variable(&self, namespace: &str, path: &str) {
        {
            let mut state = self.shared.state();
            state.index += 1;
            let index = state.index;
            state.variables.insert(
                (namespace.to_string(), path.to_string()),
                serde_json::json!({
                    "Namespace": namespace, "Path": path, "CreateIndex": index,
                    "CreateTime": 0, "ModifyIndex": index, "ModifyTime": 0,
                    "Items": {"k": "v"},
                }),
            );
        }
        self.changed();
    }

    /// Paths of the variables in `namespace`.
    pub fn variable_paths(&self, namespace: &str) -> Vec<String> {
        self.shared
            .state()
            .variables
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, path)| path.clone())
            .collect()
    }
}
