//! How configuration reaches a node: the exact local commands per node.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inventory::Node;
use crate::remote::Ssh;
use crate::repo::{RebuildSettings, RebuildStrategy};

/// One step of a rebuild: a local program with its arguments and extra environment.
#[derive(Debug, Clone)]
pub struct Step {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Variables added to the environment (e.g. `NIX_SSHOPTS`).
    pub env: Vec<(String, String)>,
}

impl Step {
    fn new(argv: Vec<String>) -> Self {
        Step {
            argv,
            env: Vec::new(),
        }
    }

    /// The command as a shell line, for `--dry-run`.
    pub fn display(&self) -> String {
        let env: String = self
            .env
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={} ",
                    crate::remote::shell_line(std::slice::from_ref(v))
                )
            })
            .collect();
        format!("{env}{}", crate::remote::shell_line(&self.argv))
    }
}

/// A way of rolling configuration out to a node, chosen by `[rebuild].strategy`.
pub trait Strategy: Send + Sync {
    /// The local commands that roll the configuration out to `node`, in order.
    fn steps(&self, node: &Node, ssh: &Ssh) -> Result<Vec<Step>>;
}

/// bitte's way: build the node's system from the flake, copy the closure, switch.
pub struct Nixos {
    /// The flake whose `nixosConfigurations.<node>` is built (`[rebuild].flake`, default `.`).
    pub flake: String,
    /// Where the `--out-link` per node goes (`.opsctl/rebuild` in the repository).
    pub out_dir: PathBuf,
}

impl Strategy for Nixos {
    fn steps(&self, node: &Node, ssh: &Ssh) -> Result<Vec<Step>> {
        let destination = ssh.destination(node)?;
        let link = self.out_dir.join(&node.name).display().to_string();
        // nix and nixos-rebuild open their own ssh connections; NIX_SSHOPTS carries ours.
        let sshopts = (
            "NIX_SSHOPTS".to_string(),
            ssh.node_options(node, true).join(" "),
        );
        let attribute = format!(
            "{}#nixosConfigurations.{}.config.system.build.toplevel",
            self.flake, node.name
        );
        let mut copy = Step::new(
            ["nix", "copy", "--substitute-on-destination", "--to"]
                .map(String::from)
                .into_iter()
                .chain([format!("ssh://{destination}"), link.clone()])
                .collect(),
        );
        copy.env.push(sshopts.clone());
        let mut switch = Step::new(
            ["nixos-rebuild", "switch", "--flake"]
                .map(String::from)
                .into_iter()
                .chain([
                    format!("{}#{}", self.flake, node.name),
                    "--target-host".into(),
                    destination,
                ])
                .collect(),
        );
        switch.env.push(sshopts);
        Ok(vec![
            Step::new(
                ["nix", "build"]
                    .map(String::from)
                    .into_iter()
                    .chain([attribute, "--out-link".into(), link])
                    .collect(),
            ),
            copy,
            switch,
        ])
    }
}

/// For hosts without Nix: copy a file set, run a command.
pub struct Command {
    /// Local files copied with scp into `remote_dir` (`[rebuild].files`); may be empty.
    pub files: Vec<PathBuf>,
    /// Directory on the node, created first (`[rebuild].remote_dir`, default `/etc/opsctl`).
    pub remote_dir: String,
    /// Shell command then run on the node over ssh (`[rebuild].command`).
    pub command: String,
}

impl Strategy for Command {
    fn steps(&self, node: &Node, ssh: &Ssh) -> Result<Vec<Step>> {
        let mut steps = vec![Step::new(ssh.argv(
            node,
            &[format!(
                "mkdir -p {}",
                crate::remote::shell_line(std::slice::from_ref(&self.remote_dir))
            )],
            false,
            true,
        )?)];
        if !self.files.is_empty() {
            steps.push(Step::new(ssh.scp_argv(
                node,
                &self.files,
                &self.remote_dir,
            )?));
        }
        steps.push(Step::new(ssh.argv(
            node,
            std::slice::from_ref(&self.command),
            false,
            true,
        )?));
        Ok(steps)
    }
}

/// The strategy the cluster file configures.
pub fn from_settings(settings: &RebuildSettings, repo_root: &Path) -> Result<Box<dyn Strategy>> {
    Ok(match settings.strategy {
        RebuildStrategy::Nixos => Box::new(Nixos {
            flake: settings.flake.clone().unwrap_or_else(|| ".".into()),
            out_dir: repo_root.join(".opsctl").join("rebuild"),
        }),
        RebuildStrategy::Command => {
            let command = settings
                .command
                .clone()
                .ok_or_else(|| Error::invalid("[rebuild] strategy `command` needs `command`"))?;
            let files = settings
                .files
                .iter()
                .map(|f| {
                    let path = repo_root.join(f);
                    if path.exists() {
                        Ok(path)
                    } else {
                        Err(Error::invalid(format!(
                            "[rebuild].files: `{f}` does not exist"
                        )))
                    }
                })
                .collect::<Result<_>>()?;
            Box::new(Command {
                files,
                remote_dir: settings
                    .remote_dir
                    .clone()
                    .unwrap_or_else(|| "/etc/opsctl".into()),
                command,
            })
        }
    })
}
