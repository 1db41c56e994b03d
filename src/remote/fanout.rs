//! One command on many nodes: at most N at once (or one by one with a delay), each output
//! line prefixed with the node's name, and a result per node.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::inventory::Node;
use crate::process::Process;

/// Lines of each node's output kept for the summary of a failure.
const TAIL: usize = 10;

/// How the command went on one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeResult {
    /// The node's name.
    pub node: String,
    /// The command ran and exited with 0.
    pub success: bool,
    /// Its exit code; `None` when it was killed by a signal or could not be run.
    pub exit_code: Option<i32>,
    /// `exit code N`, `killed by signal N`, or the error that kept it from running.
    pub status: String,
    /// Wall-clock seconds the command took on the node.
    pub seconds: f64,
    /// The last lines of output (for failures).
    pub tail: Vec<String>,
}

/// How [`run_on_nodes`] spreads the command over the nodes.
pub struct FanOut {
    /// At most this many nodes at once (1: one after the other).
    pub concurrency: usize,
    /// Pause between nodes when running one by one.
    pub delay: Duration,
    /// Send output lines as they come, prefixed with the node's name, to this event stream
    /// (the UI writes them); `None` keeps them for the tails only.
    pub stream: Option<crate::ui::Events>,
}

async fn run_one(
    name: &str,
    width: usize,
    process: Process,
    stream: Option<&crate::ui::Events>,
) -> NodeResult {
    let started = Instant::now();
    let prefix = format!("{name:<width$} | ");
    let tail = std::sync::Mutex::new(VecDeque::new());
    let status = process
        .stream(|to_stderr, line| {
            if let Some(events) = stream {
                events.output(&prefix, to_stderr, &line);
            }
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        })
        .await;
    let tail: Vec<String> = tail
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .collect();
    match status {
        Ok(status) => NodeResult {
            node: name.to_string(),
            success: status.success(),
            exit_code: status.code(),
            status: crate::process::describe_status(status),
            seconds: started.elapsed().as_secs_f64(),
            tail,
        },
        Err(e) => NodeResult {
            node: name.to_string(),
            success: false,
            exit_code: None,
            status: format!("{e:#}"),
            seconds: started.elapsed().as_secs_f64(),
            tail: Vec::new(),
        },
    }
}

/// Runs `make(node)` for every node; results in node order.
pub async fn run_on_nodes(
    nodes: &[&Node],
    make: impl Fn(&Node) -> crate::error::Result<Process>,
    fan: &FanOut,
) -> Vec<NodeResult> {
    let width = nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
    if fan.concurrency <= 1 {
        let mut results = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 && !fan.delay.is_zero() {
                tokio::time::sleep(fan.delay).await;
            }
            results.push(match make(node) {
                Ok(process) => run_one(&node.name, width, process, fan.stream.as_ref()).await,
                Err(e) => error_result(node, e),
            });
        }
        return results;
    }
    let permits = Arc::new(Semaphore::new(fan.concurrency));
    let work = nodes.iter().map(|node| {
        let permits = permits.clone();
        let process = make(node);
        async move {
            let _permit = permits.acquire().await.ok();
            match process {
                Ok(process) => run_one(&node.name, width, process, fan.stream.as_ref()).await,
                Err(e) => error_result(node, e),
            }
        }
    });
    futures::future::join_all(work).await
}

fn error_result(node: &Node, error: crate::error::Error) -> NodeResult {
    NodeResult {
        node: node.name.clone(),
        success: false,
        exit_code: None,
        status: error.to_string(),
        seconds: 0.0,
        tail: Vec::new(),
    }
}
