//! Rolling configuration out to nodes: at most `max_unavailable` at a time, each one waited
//! for over SSH, drained from Nomad when it is a client, switched, checked for life and
//! health, and made eligible again; the roll stops at the first failure unless told not to.

mod dry_run;
mod plan;
pub mod strategy;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::consul::ConsulClient;
use crate::inventory::Node;
use crate::nomad::status::{
    AllocClientStatus, AllocDesiredStatus, NodeStatus as NomadNodeStatus, ServerStatus,
};
use crate::nomad::NomadClient;
use crate::process::Process;
use crate::remote::Ssh;
use crate::ui::{JobLine, Progress};
pub use dry_run::{DryRun, PlannedNode};
pub use plan::{plan, Action, NodePlan, Phase};
use strategy::Step;

/// Lines of output kept per node for the summary.
const TAIL: usize = 15;

/// How `opsctl rebuild` paces and checks a roll.
#[derive(Debug, Clone)]
pub struct RollOptions {
    /// Nodes rebuilt at once (bounded by `max_unavailable`).
    pub parallel: usize,
    /// Most nodes out of service at once; each batch is `min(parallel, max_unavailable)`, at
    /// least 1.
    pub max_unavailable: usize,
    /// Pause between batches; zero for none.
    pub delay: Duration,
    /// Go on with the next batches after a node failed (an unreachable node still stops the roll).
    pub keep_going: bool,
    /// Nomad drain deadline for a client node; opsctl waits 30 s beyond it for the drain to end.
    pub drain_deadline: Duration,
    /// How long to wait for a node's SSH port, before and after the switch.
    pub ssh_wait: Duration,
    /// Shell command run on the node over ssh after the switch; a non-zero exit fails the node.
    /// `None` skips the step.
    pub health_check: Option<String>,
    /// Consul, when reachable: every check of the node must pass after the switch.
    pub consul: Option<ConsulClient>,
}

/// How one node's rebuild ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Every phase passed.
    Done,
    /// A phase failed; [`NodeOutcome::phase`] and [`NodeOutcome::message`] say which and why.
    Failed,
    /// The node stopped answering SSH after the switch.
    Unreachable,
    /// Not attempted: the roll stopped before it.
    Skipped,
}

/// One node's result, in the `rebuild` report.
#[derive(Debug, Clone, Serialize)]
pub struct NodeOutcome {
    /// The node's name.
    pub node: String,
    /// How it ended.
    pub status: NodeStatus,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// The error, for a failed or unreachable node.
    pub message: Option<String>,
    /// Wall-clock seconds spent on the node (0 when skipped).
    pub seconds: f64,
    /// The last lines (at most 15) of the node's step output.
    pub tail: Vec<String>,
}

struct Rollout<'a> {
    ssh: &'a Ssh,
    nomad: Option<&'a NomadClient>,
    options: &'a RollOptions,
    progress: &'a Progress,
}

struct NodeRun {
    tail: VecDeque<String>,
}

impl NodeRun {
    fn keep(&mut self, text: &str) {
        for line in text.lines() {
            if self.tail.len() == TAIL {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_string());
        }
    }
}

/// A failed phase of one node's rebuild, with why.
#[derive(Debug)]
struct PhaseError {
    phase: Phase,
    error: StepError,
}

/// Why one step of a node's rebuild failed; the underlying error is kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The step's program could not be run.
    #[error("{0}")]
    Spawn(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The step's program ran and failed.
    #[error("`{command}` failed ({status})")]
    Exit {
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
    },
    /// Nomad refused a drain or answered with an error while draining.
    #[error(transparent)]
    Nomad(#[from] crate::nomad::NomadError),
    /// Allocations stayed on the node past the drain deadline.
    #[error("{left} allocation(s) still on {node} after the drain deadline")]
    DrainStuck {
        /// Allocations still running.
        left: usize,
        /// The node's name.
        node: String,
    },
    /// The node did not become healthy in time: the last reason given.
    #[error("{0}")]
    Unsettled(String),
    /// SSH did not answer before the switch.
    #[error("{node} does not answer ssh")]
    NoSsh {
        /// The node's name.
        node: String,
    },
    /// SSH stopped answering after the switch.
    #[error(
        "{node} STOPPED ANSWERING SSH after the switch: check its console; the roll is stopped"
    )]
    StoppedAnswering {
        /// The node's name.
        node: String,
    },
    /// The configured health check failed.
    #[error("health check failed: {0}")]
    HealthCheck(#[source] Box<StepError>),
}

impl Rollout<'_> {
    /// Whether `ssh … true` succeeds within `wait`, trying every 2 s.
    async fn ssh_alive(&self, argv: &[String], wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let ok = crate::remote::process(argv, "ssh")
                .timeout(Duration::from_secs(15))
                .capture()
                .await
                .is_ok_and(|c| c.status.success());
            if ok {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_secs(2).min(wait)).await;
        }
    }

    async fn run_step(&self, step: &Step, run: &mut NodeRun) -> Result<(), StepError> {
        let mut process = Process::new(&step.argv[0], step.argv[0].clone()).args(&step.argv[1..]);
        for (k, v) in &step.env {
            process = process.env(k, v);
        }
        let captured = process
            .capture()
            .await
            .map_err(|e| StepError::Spawn(e.into()))?;
        run.keep(&captured.stdout_text());
        run.keep(&captured.stderr_text());
        if captured.status.success() {
            Ok(())
        } else {
            Err(StepError::Exit {
                command: step.argv.join(" "),
                status: crate::process::describe_status(captured.status),
            })
        }
    }

    /// Drains a Nomad client and waits until nothing of it runs there any more.
    async fn drain(&self, node: &Node, nomad: &NomadClient, id: &str) -> Result<(), StepError> {
        nomad.drain_node(id, self.options.drain_deadline).await?;
        let deadline = Instant::now() + self.options.drain_deadline + Duration::from_secs(30);
        loop {
            let allocations = nomad.allocations("*").await?;
            let left = allocations
                .iter()
                .filter(|a| {
                    a.node_id == id
                        && a.desired_status == AllocDesiredStatus::Run
                        && a.client_status == AllocClientStatus::Running
                })
                .count();
            if left == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StepError::DrainStuck {
                    left,
                    node: node.name.clone(),
                });
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Waits until `check` says the node is healthy (`None`) or `wait` runs out; the error is
    /// the last reason `check` gave.
    async fn settle<F, Fut>(&self, wait: Duration, mut check: F) -> Result<(), StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<String>>,
    {
        let deadline = Instant::now() + wait;
        loop {
            let Some(reason) = check().await else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(StepError::Unsettled(reason));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Runs one action of the plan.
    async fn act(
        &self,
        node: &Node,
        action: &Action,
        run: &mut NodeRun,
        line: &JobLine,
    ) -> Result<(), StepError> {
        let wait = self.options.ssh_wait;
        match action {
            Action::WaitForSsh(argv) => {
                line.set("waiting for ssh");
                self.ssh_alive(argv, wait)
                    .await
                    .then_some(())
                    .ok_or_else(|| StepError::NoSsh {
                        node: node.name.clone(),
                    })?;
            }
            Action::Drain(id) => {
                line.set("draining");
                if let Some(nomad) = self.nomad {
                    self.drain(node, nomad, id).await?;
                }
            }
            Action::Run(step) => {
                line.set("switching");
                self.run_step(step, run).await?;
            }
            Action::WaitAlive(argv) => {
                // A new connection: the shared one may outlive an sshd the switch stopped.
                self.ssh.close(node).await;
                line.set("checking it is alive");
                self.ssh_alive(argv, wait)
                    .await
                    .then_some(())
                    .ok_or_else(|| StepError::StoppedAnswering {
                        node: node.name.clone(),
                    })?;
            }
            Action::HealthCheck(step) => {
                line.set("health check");
                self.run_step(step, run)
                    .await
                    .map_err(|e| StepError::HealthCheck(Box::new(e)))?;
            }
            Action::ServerRejoined => {
                if let Some(nomad) = self.nomad {
                    line.set("waiting for the Nomad server");
                    self.settle(wait, || server_status(nomad, node)).await?;
                }
            }
            Action::ConsulPasses => {
                if let Some(consul) = &self.options.consul {
                    line.set("waiting for Consul checks");
                    self.settle(wait, || async {
                        match consul.node_health(&node.name).await {
                            Ok(checks) => crate::consul::unhealthy(&node.name, &checks),
                            Err(e) => Some(e.to_string()),
                        }
                    })
                    .await?;
                }
            }
            Action::MarkEligible(id) => {
                if let Some(nomad) = self.nomad {
                    line.set("marking eligible");
                    self.settle(Duration::from_secs(120), || async {
                        match nomad.node(id).await {
                            Ok(n) if n.status == NomadNodeStatus::Ready => None,
                            _ => Some(format!("Nomad node {} is not ready", node.name)),
                        }
                    })
                    .await?;
                    nomad.set_eligibility(id, true).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs a node's plan in order, stopping at the first failed action.
    async fn rebuild(
        &self,
        plan: &NodePlan<'_>,
        run: &mut NodeRun,
        line: &JobLine,
    ) -> Result<(), PhaseError> {
        for action in &plan.actions {
            self.act(plan.node, action, run, line)
                .await
                .map_err(|error| PhaseError {
                    phase: action.phase(),
                    error,
                })?;
        }
        Ok(())
    }

    async fn node(&self, plan: &NodePlan<'_>) -> NodeOutcome {
        let node = plan.node;
        let started = Instant::now();
        let mut run = NodeRun {
            tail: VecDeque::new(),
        };
        let line = self.progress.line(&node.name);
        let result = self.rebuild(plan, &mut run, &line).await;
        self.ssh.close(node).await;
        let (status, phase, message) = match result {
            Ok(()) => (NodeStatus::Done, None, None),
            Err(PhaseError { phase, error }) => {
                let status = match error {
                    StepError::StoppedAnswering { .. } => NodeStatus::Unreachable,
                    _ => NodeStatus::Failed,
                };
                (status, Some(phase), Some(error.to_string()))
            }
        };
        match status {
            NodeStatus::Done => line.finish("done"),
            NodeStatus::Unreachable => line.fail("UNREACHABLE after the switch"),
            _ => line.fail("failed"),
        }
        NodeOutcome {
            node: node.name.clone(),
            status,
            phase,
            message,
            seconds: started.elapsed().as_secs_f64(),
            tail: run.tail.into_iter().collect(),
        }
    }
}

/// Why the Nomad server on `node` is not an alive member of the server pool, if it is not.
async fn server_status(nomad: &NomadClient, node: &Node) -> Option<String> {
    let members = match nomad.server_members().await {
        Ok(members) => members,
        Err(e) => return Some(format!("reading Nomad's server members: {e}")),
    };
    let own = members.iter().find(|m| {
        m.name.split('.').next() == Some(node.name.as_str())
            || Some(m.addr.as_str()) == node.private_ip.as_deref()
    });
    match own {
        Some(m) if m.status == ServerStatus::Alive => None,
        Some(m) => Some(format!(
            "Nomad server {} is {} after the switch",
            m.name, m.status
        )),
        None => Some(format!(
            "{} has not rejoined the Nomad server pool",
            node.name
        )),
    }
}

/// Rolls the plan (from [`plan`]) out, in order, in batches.
pub async fn roll(
    plans: &[NodePlan<'_>],
    ssh: &Ssh,
    nomad: Option<&NomadClient>,
    options: &RollOptions,
    progress: &Progress,
) -> Vec<NodeOutcome> {
    let rollout = Rollout {
        ssh,
        nomad,
        options,
        progress,
    };
    let batch = options.parallel.min(options.max_unavailable).max(1);
    let mut outcomes = Vec::new();
    let mut stop = false;
    for (i, chunk) in plans.chunks(batch).enumerate() {
        if stop {
            outcomes.extend(chunk.iter().map(|p| NodeOutcome {
                node: p.node.name.clone(),
                status: NodeStatus::Skipped,
                phase: None,
                message: None,
                seconds: 0.0,
                tail: Vec::new(),
            }));
            continue;
        }
        if i > 0 && !options.delay.is_zero() {
            tokio::time::sleep(options.delay).await;
        }
        let results = futures::future::join_all(chunk.iter().map(|n| rollout.node(n))).await;
        let unreachable = results.iter().any(|r| r.status == NodeStatus::Unreachable);
        let failed = results.iter().any(|r| r.status != NodeStatus::Done);
        stop = unreachable || (failed && !options.keep_going);
        outcomes.extend(results);
    }
    outcomes
}
