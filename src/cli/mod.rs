//! Command-line interface: typed clap definitions and dispatch. Each command lives in its own
//! file with its own `Args` and a `run(ctx, args)` returning the exit status.

mod bootstrap;
mod certs;
mod completions;
mod deploy;
mod env;
mod info;
mod rebuild;
mod render;
mod secrets;
mod show;
mod ssh;
mod terraform;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::context::Context;
use crate::error::{Error, Exit};
use crate::output::{Output, OutputFormat, Style};

/// The whole command line: global flags, then one subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "opsctl",
    version,
    about = "Run Nomad-on-AWS clusters and their environments from one ops repository",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Flags every subcommand accepts (`--repo`, `--cluster`, `--output`, …).
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The global flags, valid before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Ops repository (default: the nearest parent folder holding clusters/)
    #[arg(long, global = true, env = "OPSCTL_REPO", value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Cluster to act on (default: the only one)
    #[arg(long, global = true, env = "OPSCTL_CLUSTER", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Output format
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text, env = "OPSCTL_OUTPUT")]
    pub output: OutputFormat,
    /// More logging (-v info, -vv debug, -vvv trace)
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Answer yes to confirmations (required without a terminal)
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
}

/// Every `opsctl` subcommand, with its own arguments.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the ops repository: every file, rule and rendered job
    Validate(validate::Args),
    /// Show the cluster, its environments, or one environment
    Show(show::Args),
    /// Render an environment's Nomad jobs
    Render(render::Args),
    /// Prepare the AWS account: KMS key, state bucket, lock table, hosted zone, AMIs
    Bootstrap(bootstrap::Args),
    /// Build the cluster PKI and gossip/ACL secrets, KMS-encrypted under encrypted/<cluster>/
    Certs(certs::Args),
    /// Read the encrypted secrets back: list, show, decrypt
    Secrets(secrets::Args),
    /// Deploy environments to Nomad: plan, submit what changed, watch the rollouts
    Deploy(deploy::Args),
    /// Ad hoc environments: apply, list, show, destroy, gc — with a TTL, nothing left behind
    Env(env::Args),
    /// Terraform per workspace: config, init, plan, apply, destroy, output, passthrough
    Terraform(terraform::Args),
    /// The cluster's instances, autoscaling groups and Nomad nodes
    Info(info::Args),
    /// Reach nodes by name or by the allocation they run; run commands on many
    Ssh(ssh::Args),
    /// Roll configuration out to nodes: drain, switch, check, one batch at a time
    Rebuild(rebuild::Args),
    /// Print shell completions
    Completions(completions::Args),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Colour is decided first: logging follows `--no-color` too.
    let env = crate::settings::Env::capture();
    let style = Style::detect(crate::settings::Settings::no_color(&cli.global, &env));
    init_logging(&cli.global);
    let output = Output {
        format: cli.global.output,
        style,
        quiet: cli.global.quiet,
    };
    let ctx = Context {
        repo_dir: cli.global.repo.clone(),
        cluster: cli.global.cluster.clone(),
        yes: cli.global.yes,
        output,
        global: cli.global.clone(),
        env,
    };
    // Commands that work on the files alone, or one terraform child at a time, run on the
    // calling thread: starting and stopping worker threads would cost them more than they
    // do (README, Performance). The others talk to many endpoints at once.
    let mut builder = if cli.command.is_sequential() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            let error = Error::failed(format!("cannot start the async runtime: {e}"));
            ctx.output.error(&error);
            return ExitCode::from(error.exit().code());
        }
    };
    let exit = match runtime.block_on(run(&ctx, cli.command)) {
        Ok(exit) => exit,
        Err(error) => {
            ctx.output.error(&error);
            error.exit()
        }
    };
    ExitCode::from(exit.code())
}

impl Command {
    /// Whether the command does one thing at a time (the files alone, or one terraform child
    /// after another), so needs no worker threads.
    pub fn is_sequential(&self) -> bool {
        matches!(
            self,
            Command::Validate(_)
                | Command::Show(_)
                | Command::Render(_)
                | Command::Terraform(_)
                | Command::Completions(_)
        )
    }
}

/// Runs one parsed subcommand; the `Ok` exit is what the process ends with (0, 3 for a plan
/// with changes under `--detailed-exitcode`, a passed-through ssh status, …).
pub async fn run(ctx: &Context, command: Command) -> crate::Result<Exit> {
    match command {
        Command::Validate(args) => validate::run(ctx, args),
        Command::Show(args) => show::run(ctx, args),
        Command::Render(args) => render::run(ctx, args),
        Command::Bootstrap(args) => bootstrap::run(ctx, args).await,
        Command::Certs(args) => certs::run(ctx, args).await,
        Command::Secrets(args) => secrets::run(ctx, args).await,
        Command::Deploy(args) => deploy::run(ctx, args).await,
        Command::Env(args) => env::run(ctx, args).await,
        Command::Terraform(args) => terraform::run(ctx, args).await,
        Command::Info(args) => info::run(ctx, args).await,
        Command::Ssh(args) => ssh::run(ctx, args).await,
        Command::Rebuild(args) => rebuild::run(ctx, args).await,
        Command::Completions(args) => completions::run(ctx, args),
    }
}

fn init_logging(global: &GlobalArgs) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // Dependencies stay at `info` at most: the AWS SDK's and hyper's traces carry request
    // headers (session tokens among them). `OPSCTL_LOG` or `RUST_LOG` open them up explicitly.
    let dependencies = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSCTL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("opsctl={level},{dependencies}"))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(console::colors_enabled_stderr())
        .with_target(false)
        .without_time()
        .try_init();
}
