//! `opsctl deploy <env>... [--job NAME] [--plan] [--yes] [--no-wait] [--timeout DUR]
//! [--promote] [--prune] [--refresh] [--detailed-exitcode]`

use std::time::Duration;

use crate::context::Context;
use crate::deploy::{self, DeployOptions, DeployReport, DeployRequest, Selection};
use crate::error::Exit;
use crate::output::{OutputFormat, Previewed};
use crate::repo::Target;
use crate::revisions::Applied;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environments to deploy
    #[arg(value_name = "ENV", required_unless_present_any = ["all", "source"])]
    pub envs: Vec<String>,
    /// Every environment of the cluster, whatever its target (Nomad and ECS); narrow with
    /// --target
    #[arg(long, conflicts_with = "envs")]
    pub all: bool,
    /// With --all: only the environments that deploy to this target
    #[arg(long, value_enum, requires = "all")]
    pub target: Option<TargetArg>,
    /// CI: the source that was pushed; updates the revision files of every environment
    /// tracking it at --ref, then deploys them
    #[arg(long, value_name = "SOURCE", requires_all = ["git_ref", "rev"], conflicts_with_all = ["envs", "all", "plan"])]
    pub source: Option<String>,
    /// CI: the pushed ref (`main`, `refs/heads/main`, `refs/tags/v2026-11-20`)
    #[arg(long = "ref", id = "git_ref", value_name = "REF", requires = "source")]
    pub git_ref: Option<String>,
    /// CI: the pushed commit (40 hex)
    #[arg(long, value_name = "SHA", requires = "source")]
    pub rev: Option<String>,
    /// Commit the updated revision files
    #[arg(long, requires = "source")]
    pub commit: bool,
    /// Push the commit; when the remote moved on, re-apply on its tip and push again
    #[arg(long, requires = "commit")]
    pub push: bool,
    /// With --push: keep re-applying and pushing while other pipelines push first, this long
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = humantime::parse_duration)]
    pub push_timeout: Duration,
    /// CI: the source's checkout, to move branch environments forward only (default: the
    /// checkout in GITHUB_WORKSPACE or CI_PROJECT_DIR when it holds the source)
    #[arg(long, value_name = "DIR", requires = "source")]
    pub source_dir: Option<std::path::PathBuf>,
    /// CI: exit 2 when no environment tracks --source at --ref
    #[arg(long, requires = "source")]
    pub require_match: bool,
    /// Update the revision files only
    #[arg(long, requires = "source")]
    pub no_deploy: bool,
    /// ECS: start a new deployment even when the task definition is unchanged
    #[arg(long)]
    pub force_new_deployment: bool,
    /// Only these jobs (repeatable)
    #[arg(long = "job", value_name = "NAME")]
    pub jobs: Vec<String>,
    /// Show what would change, change nothing
    #[arg(long)]
    pub plan: bool,
    /// Submit and return without watching the rollouts
    #[arg(long)]
    pub no_wait: bool,
    /// Give up watching after this long (e.g. 90s, 10m)
    #[arg(long, value_name = "DUR", default_value = "15m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Promote canaries once they are healthy
    #[arg(long)]
    pub promote: bool,
    /// Stop jobs opsctl deployed to the namespace that the environment no longer has
    #[arg(long, conflicts_with = "jobs")]
    pub prune: bool,
    /// With --plan: exit 3 when there are changes
    #[arg(long, requires = "plan")]
    pub detailed_exitcode: bool,
    /// Plan every job with Nomad instead of trusting the listing's fingerprints and the
    /// deploy records (one plan and one read per job, as before no-op detection)
    #[arg(long)]
    pub refresh: bool,
    /// At most this many Nomad requests at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// A deploy target as `--target` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    /// Nomad jobs
    Nomad,
    /// ECS services
    Ecs,
}

impl From<TargetArg> for Target {
    fn from(target: TargetArg) -> Self {
        match target {
            TargetArg::Nomad => Target::Nomad,
            TargetArg::Ecs => Target::Ecs,
        }
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let (repo, revisions) = match (&args.source, &args.git_ref, &args.rev) {
        (Some(source), Some(git_ref), Some(rev)) => {
            let (repo, applied) = crate::revisions::apply(
                &ctx.repo_root()?,
                ctx.cluster.as_deref(),
                (source, git_ref, rev),
                &crate::revisions::ApplyOptions {
                    commit: args.commit,
                    push: args.push,
                    push_timeout: args.push_timeout,
                    source_dir: args.source_dir.clone(),
                    checkouts: ctx.settings_without_repo()?.checkouts,
                },
            )
            .await?;
            (repo, Some(applied))
        }
        _ => (ctx.open_repo()?, None),
    };
    let selection = match &revisions {
        Some(applied) => {
            let envs = applied.affected_envs(&repo);
            if envs.is_empty() || args.no_deploy {
                return revisions_only(ctx, applied.clone(), args.require_match);
            }
            Selection::Envs(envs)
        }
        None if args.all => Selection::All(args.target.map(Target::from)),
        None => Selection::Envs(args.envs.clone()),
    };
    let request = DeployRequest {
        selection,
        options: DeployOptions {
            jobs: args.jobs.clone(),
            wait: !args.no_wait,
            timeout: args.timeout,
            promote: args.promote,
            prune: args.prune,
            concurrency: usize::from(args.concurrency),
            refresh: args.refresh,
        },
        force_new_deployment: args.force_new_deployment,
        plan_only: args.plan,
        revisions,
    };
    let client = crate::clients::nomad(&ctx.settings(&repo)?)?;
    let planned = deploy::plan(&repo, client, request, ctx.events()).await?;
    let changes = planned.changes();
    // The diff: part of the one document with --plan, a note before the question otherwise.
    let preview = if ctx.output.format == OutputFormat::Text && !ctx.output.quiet && changes > 0 {
        planned.preview(&ctx.output.style)
    } else {
        String::new()
    };
    if planned.is_final() {
        let report = planned.report();
        ctx.output.emit(&Previewed {
            preview,
            report: &report,
        })?;
        return Ok(if args.detailed_exitcode && changes > 0 {
            Exit::Changes
        } else if report.failed > 0 {
            Exit::Failed
        } else {
            Exit::Success
        });
    }
    ctx.output.note(&preview)?;
    ctx.output
        .confirm(&format!("Apply {changes} change(s)?"), ctx.yes)?;
    let report = planned.apply().await?;
    ctx.output.emit(&report)?;
    Ok(if report.failed > 0 {
        Exit::Failed
    } else {
        Exit::Success
    })
}

/// CI flow with nothing to deploy (no environment tracks the ref, or `--no-deploy`): the
/// revision report alone; `--require-match` exits 2 when nothing matched.
fn revisions_only(ctx: &Context, applied: Applied, require_match: bool) -> crate::Result<Exit> {
    let unmatched = (applied.matched == 0).then(|| applied.no_match_message());
    let mut report = DeployReport::new("", false, Vec::new(), 0, Vec::new());
    report.revisions = Some(applied);
    ctx.output.emit(&report)?;
    if let Some(message) = unmatched.filter(|_| require_match) {
        tracing::error!("--require-match: {message}");
        return Ok(Exit::Invalid);
    }
    Ok(Exit::Success)
}
