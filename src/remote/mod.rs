//! Reaching nodes with the system `ssh` (so `~/.ssh/config`, agents and ProxyJump work), and
//! running a command on many of them with bounded concurrency and node-prefixed output.

mod fanout;
mod multiplex;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use fanout::{run_on_nodes, FanOut, NodeResult};
pub use multiplex::Multiplex;

use crate::error::{Error, Result};
use crate::inventory::Node;
use crate::process::Process;
use crate::repo::Repo;

/// How to ssh into the cluster's nodes.
#[derive(Debug, Clone)]
pub struct Ssh {
    /// Login user (`[ssh].user`, default `root`).
    pub user: String,
    /// Identity passed as `ssh -i`; `None` leaves keys to the agent and ssh config.
    pub key_file: Option<PathBuf>,
    /// Config file passed as `ssh -F`; `None` uses ssh's own (`~/.ssh/config`).
    pub config_file: Option<PathBuf>,
    /// Whether [`Ssh::reusing_connections`] may multiplex (`[ssh] reuse_connections`).
    pub reuse: bool,
    /// This run's shared connections, once set up.
    multiplex: Option<Arc<Multiplex>>,
}

impl Ssh {
    /// From the cluster file's `[ssh]` and the resolved config file (`OPSCTL_SSH_CONFIG` over
    /// `[ssh].config_file`); the key defaults to `secrets/ssh-<cluster>` when that file exists.
    pub fn from_repo(repo: &Repo, resolved: &crate::settings::Settings) -> Ssh {
        let settings = &repo.cluster.ssh;
        let key_file = match &settings.key_file {
            Some(path) => Some(repo.root.join(path)),
            None => {
                let default = repo
                    .root
                    .join("secrets")
                    .join(format!("ssh-{}", repo.cluster.name));
                default.is_file().then_some(default)
            }
        };
        let config_file = resolved.ssh_config.as_ref().map(|p| repo.root.join(p));
        Ssh {
            user: settings.user.clone().unwrap_or_else(|| "root".into()),
            key_file,
            config_file,
            reuse: settings.reuse_connections.unwrap_or(true),
            multiplex: None,
        }
    }

    /// The same, with the ssh/scp calls to each of `nodes` sharing one connection per node
    /// (see [`Multiplex`]); unchanged when reuse is off.
    pub async fn reusing_connections(mut self, nodes: &[&Node]) -> Result<Ssh> {
        if !self.reuse {
            return Ok(self);
        }
        let targets = nodes
            .iter()
            .filter_map(|node| {
                let address = node.address()?.to_string();
                Some((address, self.destination(node).ok()?))
            })
            .collect::<Vec<_>>();
        self.multiplex = Multiplex::prepare(&self.options(true), &targets)
            .await?
            .map(Arc::new);
        Ok(self)
    }

    /// Whether the calls to `node` share one connection.
    pub fn reuses(&self, node: &Node) -> bool {
        self.multiplex
            .as_ref()
            .zip(node.address())
            .is_some_and(|(m, a)| m.socket(a).is_some())
    }

    /// Closes `node`'s shared connection, if one is open (`ssh -O exit`); the next call opens
    /// a new one. Closing a connection that is not there is not an error.
    pub async fn close(&self, node: &Node) {
        if !self.reuses(node) {
            return;
        }
        let Ok(mut argv) = self.argv(node, &[], false, true) else {
            return;
        };
        let destination = argv.pop().unwrap_or_default();
        argv.extend(["-O".into(), "exit".into(), destination]);
        let _ = process(&argv, "ssh -O exit")
            .timeout(Duration::from_secs(10))
            .capture()
            .await;
    }

    /// The options for one node: [`Ssh::options`] and, when reused, the control options.
    pub fn node_options(&self, node: &Node, batch: bool) -> Vec<String> {
        let mut options = self.options(batch);
        if let Some(multiplex) = &self.multiplex {
            options.extend(multiplex.options(node));
        }
        options
    }

    /// Options every invocation gets; `batch` for non-interactive fan-out (no prompts).
    pub fn options(&self, batch: bool) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(config) = &self.config_file {
            args.extend(["-F".into(), config.display().to_string()]);
        }
        if let Some(key) = &self.key_file {
            args.extend(["-i".into(), key.display().to_string()]);
        }
        args.extend(["-o".into(), "StrictHostKeyChecking=accept-new".into()]);
        if batch {
            args.extend([
                "-o".into(),
                "BatchMode=yes".into(),
                "-o".into(),
                "ConnectTimeout=10".into(),
            ]);
        }
        args
    }

    /// `user@address` for `node`, its public IP before its private one; an error when it has
    /// neither.
    pub fn destination(&self, node: &Node) -> Result<String> {
        let address = node.address().ok_or_else(|| {
            Error::failed(format!(
                "node {} ({}) has no IP address",
                node.name, node.instance_id
            ))
        })?;
        Ok(format!("{}@{address}", self.user))
    }

    /// `ssh [options] user@address [-- command]`, as arguments (for running and for printing).
    pub fn argv(
        &self,
        node: &Node,
        remote: &[String],
        tty: bool,
        batch: bool,
    ) -> Result<Vec<String>> {
        let mut argv = vec!["ssh".to_string()];
        argv.extend(self.node_options(node, batch));
        if tty {
            argv.push("-t".into());
        }
        argv.push(self.destination(node)?);
        if !remote.is_empty() {
            argv.push("--".into());
            argv.extend(remote.iter().cloned());
        }
        Ok(argv)
    }

    /// `scp -r [options] FILES user@address:DIR`.
    pub fn scp_argv(
        &self,
        node: &Node,
        files: &[PathBuf],
        remote_dir: &str,
    ) -> Result<Vec<String>> {
        let mut argv = vec!["scp".to_string(), "-r".into(), "-q".into()];
        argv.extend(self.node_options(node, true));
        argv.extend(files.iter().map(|f| f.display().to_string()));
        argv.push(format!("{}:{remote_dir}", self.destination(node)?));
        Ok(argv)
    }
}

/// A process from an argv built above.
pub fn process(argv: &[String], what: &str) -> Process {
    Process::new(&argv[0], what).args(&argv[1..])
}

/// Shell quoting for printing commands (`--dry-run`).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:@=,+%".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
