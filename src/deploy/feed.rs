//! Blocking-query feeds shared per namespace: while a deploy follows its jobs, each watched
//! namespace has one `GET /v1/deployments`, one `GET /v1/allocations` and one
//! `GET /v1/evaluations` blocking query in flight (Nomad answers each at its table's index and
//! holds it until that index passes `?index=` or `?wait=` elapses). Every job watched in the
//! namespace reads the latest lists from here, so the watch costs a constant number of
//! requests per namespace and per change instead of a few per job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::nomad::types::{AllocationStub, Deployment, Evaluation};
use crate::nomad::{NomadClient, NomadError};

/// How long one blocking query may wait before it is renewed.
const BLOCKING_WAIT: Duration = Duration::from_secs(5);

/// The latest lists of one namespace; `None` until the first answer.
#[derive(Clone, Default)]
pub(super) struct View {
    pub deployments: Option<Arc<Vec<Deployment>>>,
    pub allocations: Option<Arc<Vec<AllocationStub>>>,
    pub evaluations: Option<Arc<Vec<Evaluation>>>,
    /// A feed failed for good (after the client's retries): every watcher of the namespace
    /// ends with it.
    pub error: Option<NomadError>,
}

impl View {
    fn complete(&self) -> bool {
        self.deployments.is_some() && self.allocations.is_some() && self.evaluations.is_some()
    }

    pub fn deployments(&self) -> &[Deployment] {
        self.deployments.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn allocations(&self) -> &[AllocationStub] {
        self.allocations.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn evaluation(&self, id: &str) -> Option<&Evaluation> {
        self.evaluations.as_deref()?.iter().find(|e| e.id == id)
    }
}

/// Why a subscription ended without a view.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Nomad(#[from] NomadError),
    #[error("the deploy stopped watching namespace {0}")]
    Ended(String),
}

struct Namespace {
    sender: Arc<watch::Sender<View>>,
    tasks: Vec<JoinHandle<()>>,
}

/// The feeds of one deploy, started on first use, stopped by [`Feeds::stop`].
#[derive(Default)]
pub(super) struct Feeds {
    namespaces: Mutex<HashMap<String, Namespace>>,
}

impl Feeds {
    /// A subscription to `namespace`'s lists (starting its feeds on first use).
    pub fn subscribe(&self, client: &NomadClient, namespace: &str) -> Subscription {
        let mut namespaces = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = namespaces
            .entry(namespace.to_string())
            .or_insert_with(|| start(client, namespace));
        Subscription {
            namespace: namespace.to_string(),
            receiver: entry.sender.subscribe(),
            fresh: true,
        }
    }

    /// Ends every feed (their subscriptions then end with [`FeedError::Ended`]).
    pub fn stop(&self) {
        let drained: Vec<Namespace> = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, n)| n)
            .collect();
        for namespace in drained {
            for task in namespace.tasks {
                task.abort();
            }
        }
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start(client: &NomadClient, namespace: &str) -> Namespace {
    let sender = Arc::new(watch::Sender::new(View::default()));
    let tasks = vec![
        tokio::spawn(follow(
            client.clone(),
            "/v1/deployments",
            namespace.to_string(),
            sender.clone(),
            |view: &mut View, list| view.deployments = Some(list),
        )),
        tokio::spawn(follow(
            client.clone(),
            "/v1/allocations",
            namespace.to_string(),
            sender.clone(),
            |view: &mut View, list| view.allocations = Some(list),
        )),
        tokio::spawn(follow(
            client.clone(),
            "/v1/evaluations",
            namespace.to_string(),
            sender.clone(),
            |view: &mut View, list| view.evaluations = Some(list),
        )),
    ];
    Namespace { sender, tasks }
}

/// One list as a blocking query, published whenever its index moves.
async fn follow<T: DeserializeOwned>(
    client: NomadClient,
    path: &'static str,
    namespace: String,
    sender: Arc<watch::Sender<View>>,
    store: fn(&mut View, Arc<Vec<T>>),
) {
    let query = [("namespace", namespace)];
    let mut index = 0;
    loop {
        let asked = tokio::time::Instant::now();
        let answer = if index == 0 {
            client.get::<Vec<T>>(path, &query).await
        } else {
            client
                .get_blocking::<Vec<T>>(path, &query, index, BLOCKING_WAIT)
                .await
        };
        match answer {
            Ok((list, meta)) => {
                if index > 0 && meta.index <= index {
                    // The wait elapsed with nothing new. An early answer without news is a
                    // server ignoring blocking queries: that must not become a busy loop.
                    if asked.elapsed() < BLOCKING_WAIT / 2 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    continue;
                }
                index = meta.index.max(1);
                sender.send_modify(|view| store(view, Arc::new(list)));
            }
            Err(error) => {
                sender.send_modify(|view| view.error = Some(error));
                return;
            }
        }
    }
}

/// One watcher's view of a namespace's lists.
pub(super) struct Subscription {
    namespace: String,
    receiver: watch::Receiver<View>,
    fresh: bool,
}

impl Subscription {
    /// The current lists the first time, then the lists after the next change.
    pub async fn next(&mut self) -> Result<View, FeedError> {
        loop {
            if !self.fresh {
                self.receiver
                    .changed()
                    .await
                    .map_err(|_| FeedError::Ended(self.namespace.clone()))?;
            }
            self.fresh = false;
            let view = self.receiver.borrow_and_update().clone();
            if let Some(error) = view.error {
                return Err(error.into());
            }
            if view.complete() {
                return Ok(view);
            }
        }
    }
}
