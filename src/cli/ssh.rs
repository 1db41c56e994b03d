//! `opsctl ssh TARGET [-- COMMAND...]`, `--job JOB GROUP INDEX`, and fan-out with `--all`,
//! `--parallel [N]` and `--on SELECTOR`.

use std::io::IsTerminal;
use std::time::Duration;

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Exit};
use crate::inventory::{self, Inventory, Node, Selector};
use crate::output::{OutputFormat, Report, Style};
use crate::remote::{self, FanOut, NodeResult, Ssh};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Node name, instance id, IP, or a unique name prefix
    #[arg(value_name = "TARGET", required_unless_present_any = ["job", "all", "parallel", "on"])]
    pub target: Option<String>,
    /// The node running this allocation; without a command, a shell in its directory
    #[arg(long, num_args = 3, value_names = ["JOB", "GROUP", "INDEX"], conflicts_with = "target")]
    pub job: Option<Vec<String>>,
    /// Namespace of --job (default: any namespace holding it)
    #[arg(long, requires = "job")]
    pub namespace: Option<String>,
    /// Run the command on every selected node, one after the other
    #[arg(long, conflicts_with_all = ["target", "job"])]
    pub all: bool,
    /// Run on every selected node, at most N at once (default 16)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "16", conflicts_with_all = ["target", "job"])]
    pub parallel: Option<usize>,
    /// Pause between nodes with --all (e.g. 5s)
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub delay: Option<Duration>,
    /// Select nodes: name globs, instance ids, IPs, @role:R, @asg:GLOB, @class:C, @az:Z, @alloc:JOB/GROUP[I]
    #[arg(long, value_name = "SELECTOR", conflicts_with_all = ["target", "job"])]
    pub on: Option<String>,
    /// Do not ask Nomad (EC2 inventory only)
    #[arg(long, conflicts_with = "job")]
    pub no_nomad: bool,
    /// The remote command
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Serialize)]
pub struct FanOutReport {
    pub command: String,
    pub nodes: Vec<NodeResult>,
    pub failed: usize,
}

impl Report for FanOutReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["NODE", "RESULT", "SECONDS"]);
        for r in &self.nodes {
            table.add_row(vec![
                r.node.clone(),
                if r.success {
                    style.good(&r.status)
                } else {
                    style.bad(&r.status)
                },
                format!("{:.1}", r.seconds),
            ]);
        }
        let mut out = format!("{table}\n");
        for r in self
            .nodes
            .iter()
            .filter(|r| !r.success && !r.tail.is_empty())
        {
            out.push_str(&format!("{} {} — last lines:\n", style.bad("✗"), r.node));
            for line in &r.tail {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out.push_str(&format!(
            "{} of {} node(s) failed\n",
            self.failed,
            self.nodes.len()
        ));
        out
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    let ssh = Ssh::from_repo(&repo, &settings);
    let nomad = crate::clients::nomad_for_inventory(&settings, args.no_nomad)?;
    let inventory = Inventory::load(&repo, nomad.as_ref()).await?;

    if args.all || args.parallel.is_some() || args.on.is_some() {
        if args.command.is_empty() {
            return Err(Error::invalid(
                "--all, --parallel and --on run a command on many nodes: add `-- COMMAND`",
            ));
        }
        let nodes: Vec<&Node> = match &args.on {
            Some(spec) => inventory::select(&inventory, &Selector::parse_list(spec)?)?,
            None => inventory.running(),
        };
        if nodes.is_empty() {
            return Err(Error::invalid(
                "no running instance is tagged with this cluster",
            ));
        }
        let fan = FanOut {
            concurrency: args.parallel.unwrap_or(1).max(1),
            delay: args.delay.unwrap_or_default(),
            stream: (ctx.output.format == OutputFormat::Text).then(|| ctx.events()),
        };
        let command = args.command.clone();
        let results = remote::run_on_nodes(
            &nodes,
            |node| {
                let argv = ssh.argv(node, &command, false, true)?;
                Ok(remote::process(&argv, &format!("ssh {}", node.name)))
            },
            &fan,
        )
        .await;
        if let Some(events) = &fan.stream {
            events.flush();
        }
        let failed = results.iter().filter(|r| !r.success).count();
        ctx.output.emit(&FanOutReport {
            command: command.join(" "),
            nodes: results,
            failed,
        })?;
        return Ok(if failed > 0 {
            Exit::Failed
        } else {
            Exit::Success
        });
    }

    let (node, remote_command) = match (&args.job, &args.target) {
        (Some(job), _) => {
            let (node, allocation) = inventory::selector::allocation_node(
                &inventory,
                &job[0],
                &job[1],
                &job[2],
                args.namespace.as_deref(),
            )?;
            let command = if args.command.is_empty() {
                let data_dir = settings.nomad_data_dir.trim_end_matches('/');
                vec![format!(
                    "cd {}/alloc/{allocation} && exec \"${{SHELL:-/bin/sh}}\" -l",
                    remote::shell_line(&[data_dir.to_string()])
                )]
            } else {
                args.command.clone()
            };
            (node, command)
        }
        (None, Some(target)) => (
            inventory::resolve_target(&inventory, target)?,
            args.command.clone(),
        ),
        (None, None) => {
            return Err(Error::invalid(
                "give a TARGET, --job, --all, --parallel or --on",
            ))
        }
    };
    let interactive = std::io::stdin().is_terminal();
    let tty = interactive && (args.command.is_empty());
    ctx.output.note(&format!(
        "→ {} ({}, {})",
        node.name,
        node.instance_id,
        node.address().unwrap_or("no address")
    ))?;
    let argv = ssh.argv(node, &remote_command, tty, !interactive)?;
    let status = remote::process(&argv, &format!("ssh {}", node.name))
        .interactive()
        .await?;
    // The remote command's status is the result (ssh itself exits 255 when it cannot connect).
    Ok(match status.code() {
        Some(0) => Exit::Success,
        Some(code) => Exit::Passthrough(u8::try_from(code).unwrap_or(1)),
        None => Exit::Failed,
    })
}
