//! `opsctl rebuild [--on SELECTOR] [--parallel N] [--max-unavailable N] [--delay DUR]
//! [--dirty] [--keep-going] [--dry-run]`

use std::time::Duration;

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Exit};
use crate::inventory::{self, Inventory, Node, Selector};
use crate::output::{Report, Style};
use crate::rebuild::{self, strategy, NodeOutcome, NodeStatus, RollOptions};
use crate::remote::Ssh;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Nodes to rebuild (default: all): globs, ids, IPs, @role:R, @asg:G, @class:C, @az:Z, @alloc:…
    #[arg(long, value_name = "SELECTOR")]
    pub on: Option<String>,
    /// bitte's spelling of --on
    #[arg(long, value_name = "NAME", conflicts_with = "on")]
    pub only: Option<String>,
    /// Nodes rebuilt at once (never more than --max-unavailable)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub parallel: usize,
    /// Nodes allowed to be out of service at once
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_unavailable: usize,
    /// Pause between batches
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub delay: Option<Duration>,
    /// Allow uncommitted changes in the ops repository
    #[arg(long)]
    pub dirty: bool,
    /// Continue with the next nodes after a failure (never after a node stops answering)
    #[arg(long)]
    pub keep_going: bool,
    /// Print the exact commands per node, run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for a node's SSH before and after the switch
    #[arg(long, value_name = "DUR", default_value = "2m", value_parser = humantime::parse_duration)]
    pub ssh_wait: Duration,
    /// Do not drain Nomad clients (or ask Nomad anything)
    #[arg(long)]
    pub no_nomad: bool,
}

#[derive(Serialize)]
struct RollReport {
    nodes: Vec<NodeOutcome>,
    failed: usize,
}

impl Report for RollReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["NODE", "RESULT", "PHASE", "SECONDS"]);
        for n in &self.nodes {
            let status = match n.status {
                NodeStatus::Done => style.good("done"),
                NodeStatus::Failed => style.bad("failed"),
                NodeStatus::Unreachable => style.bad("UNREACHABLE"),
                NodeStatus::Skipped => style.dim("skipped"),
            };
            table.add_row(vec![
                n.node.clone(),
                status,
                n.phase.map(|p| p.to_string()).unwrap_or_default(),
                format!("{:.1}", n.seconds),
            ]);
        }
        let mut out = format!("{table}\n");
        for n in self
            .nodes
            .iter()
            .filter(|n| matches!(n.status, NodeStatus::Failed | NodeStatus::Unreachable))
        {
            out.push_str(&format!(
                "{} {}: {}\n",
                style.bad("✗"),
                n.node,
                n.message.as_deref().unwrap_or_default()
            ));
            for line in &n.tail {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out
    }
}

async fn refuse_dirty(root: &std::path::Path) -> crate::Result<()> {
    match crate::git::Git::new(root).dirty().await {
        Ok(files) if !files.is_empty() => Err(Error::invalid(format!(
            "the ops repository has uncommitted changes ({}): commit them, or pass --dirty",
            files.join(", ")
        ))),
        Ok(_) => Ok(()),
        Err(_) => {
            tracing::warn!(
                "the ops repository is not a git checkout: cannot tell whether it is clean"
            );
            Ok(())
        }
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let settings = repo.cluster.rebuild.clone().ok_or_else(|| {
        Error::invalid(
            "the cluster file has no [rebuild] section (strategy = \"nixos\" or \"command\")",
        )
    })?;
    if args.parallel == 0 || args.max_unavailable == 0 {
        return Err(Error::invalid(
            "--parallel and --max-unavailable must be at least 1",
        ));
    }
    if !args.dirty {
        refuse_dirty(&repo.root).await?;
    }
    let strategy = strategy::from_settings(&settings, &repo.root)?;
    let resolved = ctx.settings(&repo)?;
    let ssh = Ssh::from_repo(&repo, &resolved);
    let nomad = crate::clients::nomad_for_inventory(&resolved, args.no_nomad)?;
    let inventory = Inventory::load(&repo, nomad.as_ref()).await?;
    let nodes: Vec<&Node> = match args.on.as_ref().or(args.only.as_ref()) {
        Some(spec) => inventory::select(&inventory, &Selector::parse_list(spec)?)?,
        None => inventory.running(),
    };
    if nodes.is_empty() {
        return Err(Error::invalid(
            "no running instance is tagged with this cluster",
        ));
    }
    let nomad = nomad.filter(|_| inventory.nomad_error.is_none());
    let ssh = ssh.reusing_connections(&nodes).await?;
    let options = RollOptions {
        parallel: args.parallel,
        max_unavailable: args.max_unavailable,
        delay: args.delay.unwrap_or_default(),
        keep_going: args.keep_going,
        drain_deadline: resolved.drain_deadline,
        ssh_wait: args.ssh_wait,
        health_check: settings.health_check.clone(),
        consul: crate::consul::ConsulClient::from_settings(&resolved)?,
    };
    let plans = rebuild::plan(&nodes, strategy.as_ref(), &ssh, nomad.as_ref(), &options)?;
    if args.dry_run {
        ctx.output
            .emit(&rebuild::DryRun::new(&plans, nomad.as_ref(), &options))?;
        return Ok(Exit::Success);
    }
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    ctx.output.confirm(
        &format!("Rebuild {} node(s): {}?", nodes.len(), names.join(", ")),
        ctx.yes,
    )?;
    let events = ctx.events();
    let outcomes = rebuild::roll(&plans, &ssh, nomad.as_ref(), &options, &events).await;
    events.flush();
    let failed = outcomes
        .iter()
        .filter(|o| o.status != NodeStatus::Done)
        .count();
    ctx.output.emit(&RollReport {
        nodes: outcomes,
        failed,
    })?;
    Ok(if failed > 0 {
        Exit::Failed
    } else {
        Exit::Success
    })
}
