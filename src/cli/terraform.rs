//! `opsctl terraform <workspace> config|init|plan|apply|destroy|output|passthrough -- ARGS`

use std::io::IsTerminal;

use crate::context::Context;
use crate::error::{Error, Exit, Result};
use crate::output::OutputFormat;
use crate::terraform::all::{self, AllAction};
use crate::terraform::report::{visible_outputs, OutputReport};
use crate::terraform::{Session, Workspace};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workspace, in apply order: network, core, clients; or all of them
    #[arg(value_enum)]
    pub workspace: Target,
    #[command(subcommand)]
    pub action: Action,
}

/// One workspace, or `all` in dependency order (config, plan, apply, destroy only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// VPCs, subnets, gateways, routes, security groups, peering
    Network,
    /// Consul/Vault/Nomad servers and the monitoring node, IAM, DNS
    Core,
    /// Nomad client autoscaling groups
    Clients,
    /// Every workspace the provider offers: network → core → clients (destroy: reverse)
    All,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Write .opsctl/<cluster>/<workspace>/main.tf.json
    Config,
    /// Write the configuration and run `terraform init`
    Init,
    /// Save a plan and show what it would add, change and destroy
    Plan {
        /// Exit 3 when the plan has changes, 0 when it has none
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Apply the saved plan (asks unless --yes)
    Apply,
    /// Destroy everything in the workspace (asks unless --yes)
    Destroy,
    /// Show the workspace's outputs
    Output {
        /// Print terraform's JSON outputs (sensitive values included)
        #[arg(long)]
        json: bool,
    },
    /// Run any terraform command in the workspace directory
    Passthrough {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
}

pub async fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let workspace = match args.workspace {
        Target::Network => Workspace::Network,
        Target::Core => Workspace::Core,
        Target::Clients => Workspace::Clients,
        Target::All => return run_all(ctx, args.action).await,
    };
    match args.action {
        Action::Config => {
            let session = offline(ctx)?;
            ctx.output.emit(&session.config(workspace).await?)?;
            Ok(Exit::Success)
        }
        Action::Init => {
            let session = with_terraform(ctx).await?;
            ctx.output.emit(&session.init(workspace).await?)?;
            Ok(Exit::Success)
        }
        Action::Plan { detailed_exitcode } => {
            let session = with_terraform(ctx).await?;
            let report = session.plan(workspace).await?;
            ctx.output.emit(&report)?;
            Ok(if detailed_exitcode && report.changes {
                Exit::Changes
            } else {
                Exit::Success
            })
        }
        Action::Apply => {
            let session = with_terraform(ctx).await?;
            let pending = session.check_apply(workspace).await?;
            ctx.output
                .confirm(&pending.question(session.cluster()), ctx.yes)?;
            ctx.output.emit(&session.apply(pending).await?)?;
            Ok(Exit::Success)
        }
        Action::Destroy => {
            let session = with_terraform(ctx).await?;
            let pending = session.prepare_destroy(workspace).await?;
            ctx.output.confirm(
                &format!(
                    "Destroy everything in workspace {workspace} of cluster {}?",
                    session.cluster()
                ),
                ctx.yes,
            )?;
            ctx.output.emit(&session.destroy(pending).await?)?;
            Ok(Exit::Success)
        }
        Action::Output { json } => {
            let session = with_terraform(ctx).await?;
            let outputs = session.outputs(workspace).await?;
            if json {
                // Asked for explicitly, as `terraform output -json` does.
                ctx.output.raw_json(&outputs)?;
            } else {
                ctx.output.emit(&OutputReport {
                    workspace,
                    outputs: visible_outputs(outputs),
                })?;
            }
            Ok(Exit::Success)
        }
        Action::Passthrough { args } => {
            let session = with_terraform(ctx).await?;
            let status = session.passthrough(workspace, &args).await?;
            Ok(if status.success() {
                Exit::Success
            } else {
                Exit::Failed
            })
        }
    }
}

/// A session that runs terraform (found, version asked and cached).
async fn with_terraform(ctx: &Context) -> Result<Session> {
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    Session::with_terraform(repo, &settings, std::io::stdin().is_terminal()).await
}

/// A session that starts no process (the version from cluster.toml or the cache).
fn offline(ctx: &Context) -> Result<Session> {
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    Session::offline(repo, &settings)
}

/// `terraform all ACTION`: one report; the first failure's exit code.
async fn run_all(ctx: &Context, action: Action) -> Result<Exit> {
    let (action, detailed_exitcode) = match action {
        Action::Config => (AllAction::Config, false),
        Action::Plan { detailed_exitcode } => (AllAction::Plan, detailed_exitcode),
        Action::Apply => (AllAction::Apply, false),
        Action::Destroy => (AllAction::Destroy, false),
        Action::Init | Action::Output { .. } | Action::Passthrough { .. } => {
            return Err(Error::invalid(
                "`terraform all` runs config, plan, apply or destroy; init, output and passthrough take one workspace",
            ))
        }
    };
    let session = match action {
        AllAction::Config => offline(ctx)?,
        _ => with_terraform(ctx).await?,
    };
    let report = all::run(&session, action, |question| {
        ctx.output.confirm(question, ctx.yes)
    })
    .await?;
    ctx.output.emit(&report)?;
    if let Some(failure) = &report.failure {
        if ctx.output.format == OutputFormat::Text {
            ctx.output.error(failure);
        }
        return Ok(failure.exit());
    }
    Ok(if detailed_exitcode && report.changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
