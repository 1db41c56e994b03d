//! `opsctl env`: ad hoc environments — parse, build the request, call `crate::env`, report.

use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand};

use crate::consul::ConsulClient;
use crate::context::Context;
use crate::deploy::Progress;
use crate::env::{self, ApplyRequest, DestroyRequest, GcRequest};
use crate::error::{Error, Exit, Result};
use crate::output::OutputFormat;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: EnvCommand,
}

#[derive(Debug, Subcommand)]
enum EnvCommand {
    /// Create or renew an ad hoc environment: files, namespace, every job deployed
    Apply(ApplyArgs),
    /// Every environment, from the files and from Nomad; orphans flagged
    List(ListArgs),
    /// One environment with its allocations
    Show(NameArg),
    /// Remove an ad hoc environment and verify nothing is left
    Destroy(DestroyArgs),
    /// Destroy every expired ad hoc environment (for a scheduled CI job)
    Gc(GcArgs),
}

#[derive(Debug, ClapArgs)]
struct ApplyArgs {
    /// Environment name (default: the current git branch), made into a valid name
    name: Option<String>,
    /// Environment to copy variant, ports kind and revisions from (default: staging)
    #[arg(long, value_name = "ENV", conflicts_with = "variant")]
    from: Option<String>,
    /// Variant to use without copying an environment (pin every source with --rev)
    #[arg(long, value_name = "V")]
    variant: Option<String>,
    /// Time to live (default 72h); every apply renews it
    #[arg(long, value_name = "DUR")]
    ttl: Option<String>,
    /// Follow a branch of a source: `opsctl deploy --source S --ref BRANCH` keeps it current
    #[arg(long, value_name = "SOURCE=BRANCH")]
    track: Vec<String>,
    /// Pin a source to a commit
    #[arg(long, value_name = "SOURCE=SHA")]
    rev: Vec<String>,
    /// Owner recorded in the file and namespace (default: $USER)
    #[arg(long, value_name = "WHO")]
    owner: Option<String>,
    /// Use --from's revisions (revisions_from) instead of a snapshot copy
    #[arg(long, requires = "from")]
    follow: bool,
    /// Show everything it would do and do nothing
    #[arg(long)]
    plan: bool,
    #[command(flatten)]
    git: GitArgs,
    /// How long the rollouts may take
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Return once the jobs (or ECS services) are submitted, without following the rollouts
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, ClapArgs)]
struct GitArgs {
    /// Commit the environment's files
    #[arg(long)]
    commit: bool,
    /// Push the commit (implies --commit); a rejected push is re-applied on the remote's tip
    #[arg(long)]
    push: bool,
    /// How long --push keeps re-applying on the remote's new tip
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = humantime::parse_duration)]
    push_timeout: std::time::Duration,
}

#[derive(Debug, ClapArgs)]
struct ListArgs {
    /// Only ad hoc environments past their expiry
    #[arg(long)]
    expired: bool,
}

#[derive(Debug, ClapArgs)]
struct NameArg {
    name: String,
}

#[derive(Debug, ClapArgs)]
struct DestroyArgs {
    name: String,
    /// Also a permanent environment, a namespace opsctl did not make, jobs it did not deploy
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    git: GitArgs,
    /// How long allocations may take to stop
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, ClapArgs)]
struct GcArgs {
    /// List what would be destroyed
    #[arg(long)]
    dry_run: bool,
    /// Also namespaces opsctl marked whose environment file is gone
    #[arg(long)]
    orphans: bool,
    #[command(flatten)]
    git: GitArgs,
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

fn consul(settings: &crate::settings::Settings) -> Result<Option<ConsulClient>> {
    ConsulClient::from_settings(settings)
}

pub async fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let root = ctx.repo_root()?;
    let cluster = ctx.cluster.as_deref();
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    let client = crate::clients::nomad(&settings)?;
    match args.command {
        EnvCommand::Apply(a) => {
            let pairs = |v: &[String]| -> Result<Vec<(String, String)>> {
                v.iter()
                    .map(|p| env::parse_pair(p).map_err(Error::from))
                    .collect()
            };
            let owner = a
                .owner
                .or_else(|| settings.user.clone())
                .unwrap_or_else(|| "unknown".into());
            let req = ApplyRequest {
                name: a.name,
                from: a.from,
                variant: a.variant,
                ttl: a.ttl,
                track: pairs(&a.track)?,
                revs: pairs(&a.rev)?,
                owner,
                follow: a.follow,
                commit: a.git.commit || a.git.push,
                push: a.git.push,
                push_timeout: a.git.push_timeout,
                timeout: a.timeout,
                wait: !a.no_wait,
                settings: settings.clone(),
            };
            let plan = env::prepare(&root, cluster, &req, &client).await?;
            if a.plan || ctx.output.format == OutputFormat::Text {
                ctx.output.emit(&plan)?;
            }
            if a.plan {
                return Ok(Exit::Success);
            }
            if plan.new {
                let question = format!("Create ad hoc environment `{}`?", plan.name.name);
                ctx.output.confirm(&question, ctx.yes)?;
            }
            let progress =
                Progress::detect(ctx.output.quiet, ctx.output.format == OutputFormat::Json);
            let report = env::apply(&root, cluster, &req, &client, plan, progress).await?;
            ctx.output.emit(&report)?;
            Ok(if report.failed > 0 {
                Exit::Failed
            } else {
                Exit::Success
            })
        }
        EnvCommand::List(a) => {
            let report = env::list(&repo, &client.with_max_attempts(2), a.expired).await;
            ctx.output.emit(&report)?;
            Ok(Exit::Success)
        }
        EnvCommand::Show(a) => {
            let report = env::show(&repo, &client.with_max_attempts(2), &a.name).await?;
            ctx.output.emit(&report)?;
            Ok(Exit::Success)
        }
        EnvCommand::Destroy(a) => {
            let question = format!("Destroy environment `{}` and everything it runs?", a.name);
            ctx.output.confirm(&question, ctx.yes)?;
            let req = DestroyRequest {
                name: a.name,
                force: a.force,
                commit: a.git.commit || a.git.push,
                push: a.git.push,
                push_timeout: a.git.push_timeout,
                timeout: a.timeout,
                settings: settings.clone(),
            };
            let consul = consul(&settings)?;
            let report = env::destroy(&root, cluster, &req, &client, consul.as_ref()).await?;
            ctx.output.emit(&report)?;
            Ok(if report.complete() {
                Exit::Success
            } else {
                Exit::Failed
            })
        }
        EnvCommand::Gc(a) => {
            let candidates = env::gc_candidates(&repo, &client, a.orphans).await?;
            if !a.dry_run && !candidates.is_empty() {
                let question = format!("Destroy {} environment(s)?", candidates.len());
                ctx.output.confirm(&question, ctx.yes)?;
            }
            let req = GcRequest {
                dry_run: a.dry_run,
                orphans: a.orphans,
                commit: a.git.commit || a.git.push,
                push: a.git.push,
                push_timeout: a.git.push_timeout,
                timeout: a.timeout,
                settings: settings.clone(),
            };
            let consul = consul(&settings)?;
            drop(repo);
            let report = env::gc(&root, cluster, &req, candidates, &client, consul.as_ref()).await;
            ctx.output.emit(&report)?;
            Ok(if report.ok() {
                Exit::Success
            } else {
                Exit::Failed
            })
        }
    }
}
