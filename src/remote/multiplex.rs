//! SSH connection reuse for a run that makes several ssh/scp calls per node (`rebuild`):
//! OpenSSH's own multiplexing (`ControlMaster=auto`, a `ControlPath` per node in a private
//! directory made for this run, a short `ControlPersist`), each master closed with
//! `ssh -O exit` when opsctl is done with the node and the directory removed at the end.
//!
//! The user's ssh configuration wins: for a node whose `ssh -G` shows a `ControlMaster` or a
//! `ControlPath` of its own, opsctl adds nothing (their master, if any, is used as they set it).
//! `[ssh] reuse_connections = false` turns opsctl's reuse off (`ssh -G` cannot tell an
//! explicit `ControlMaster no` from the default, so that is the way to say it).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;

use crate::error::{Error, Result};
use crate::inventory::Node;

/// How long an idle master stays up (between one step and the next of a node).
pub const PERSIST: &str = "60s";

/// Unix socket paths are limited to about 104 bytes; a longer temp directory turns reuse off
/// rather than making every ssh fail.
const MAX_SOCKET_PATH: usize = 100;

/// The per-run control directory and the addresses opsctl multiplexes itself.
#[derive(Debug)]
pub struct Multiplex {
    dir: tempfile::TempDir,
    ours: HashSet<String>,
}

impl Multiplex {
    /// A private (0700) directory for this run's control sockets, and the nodes among `nodes`
    /// whose ssh configuration leaves multiplexing to opsctl (asked with `ssh -G`, which
    /// connects nowhere). `None` when the directory's path is too long for a socket.
    pub async fn prepare(options: &[String], nodes: &[(String, String)]) -> Result<Option<Self>> {
        let dir = tempfile::Builder::new()
            .prefix("opsctl-ssh-")
            .tempdir()
            .map_err(|e| Error::failed(format!("creating a directory for ssh sockets: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::failed(format!("{}: {e}", dir.path().display())))?;
        }
        let longest = nodes.iter().map(|(address, _)| address.len()).max();
        if dir.path().as_os_str().len() + 1 + longest.unwrap_or(0) > MAX_SOCKET_PATH {
            tracing::warn!(
                "{} is too long for ssh control sockets: each ssh call opens its own connection",
                dir.path().display()
            );
            return Ok(None);
        }
        let ours = futures::stream::iter(nodes.iter().cloned())
            .map(|(address, destination)| async move {
                (!user_multiplexes(options, &destination).await).then_some(address)
            })
            .buffer_unordered(8)
            .filter_map(|address| async move { address })
            .collect()
            .await;
        Ok(Some(Multiplex { dir, ours }))
    }

    /// The control socket of a node's address, when opsctl multiplexes it.
    pub fn socket(&self, address: &str) -> Option<PathBuf> {
        self.ours
            .contains(address)
            .then(|| self.dir.path().join(address))
    }

    /// `-o ControlMaster=auto -o ControlPath=… -o ControlPersist=…` for a node, or nothing.
    pub fn options(&self, node: &Node) -> Vec<String> {
        let Some(socket) = node.address().and_then(|a| self.socket(a)) else {
            return Vec::new();
        };
        [
            "ControlMaster=auto".to_string(),
            format!("ControlPath={}", socket.display()),
            format!("ControlPersist={PERSIST}"),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }
}

/// Whether the user's ssh configuration sets a `ControlMaster` or `ControlPath` of its own
/// for `destination`. When `ssh -G` cannot tell, opsctl leaves multiplexing off for it.
async fn user_multiplexes(options: &[String], destination: &str) -> bool {
    let captured = crate::process::Process::new("ssh", "ssh -G")
        .arg("-G")
        .args(options)
        .arg(destination)
        .timeout(Duration::from_secs(10))
        .capture()
        .await;
    match captured {
        Ok(c) if c.status.success() => sets_control(&c.stdout_text()),
        _ => true,
    }
}

/// Reads `ssh -G` output: `controlmaster false` and no `controlpath` line are the defaults.
fn sets_control(config: &str) -> bool {
    config.lines().any(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("controlmaster"), Some(value)) => value != "false",
            (Some("controlpath"), Some(value)) => value != "none",
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::sets_control;

    #[test]
    fn only_a_control_setting_of_the_users_own_counts() {
        assert!(!sets_control(
            "user root\ncontrolmaster false\ncontrolpersist no\n"
        ));
        assert!(sets_control("controlmaster auto\ncontrolpersist no\n"));
        assert!(sets_control(
            "controlmaster false\ncontrolpath /home/u/.ssh/cm-%C\n"
        ));
        assert!(!sets_control("controlpath none\n"));
    }
}
