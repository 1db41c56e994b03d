//! `opsctl terraform <workspace> config|init|plan|apply|destroy|output|passthrough -- ARGS`

use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Style};
use crate::repo::Repo;
use crate::terraform::provider::render_workspace;
use crate::terraform::runner::{Binary, PlanSummary, Runner};
use crate::terraform::{provider_for, Backend, Document, Version, Workspace};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workspace, in apply order: network, core, clients
    #[arg(value_enum)]
    pub workspace: Workspace,
    #[command(subcommand)]
    pub action: Action,
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

/// The workspace, its provider's rendering and the backend, ready for terraform.
struct Prepared {
    repo: Repo,
    workspace: Workspace,
    backend: Backend,
    document: Document,
    binary: Option<Binary>,
}

impl Prepared {
    async fn new(ctx: &Context, workspace: Workspace, need_binary: bool) -> Result<Prepared> {
        let repo = ctx.open_repo()?;
        let settings = ctx.settings(&repo)?;
        let binary = match Binary::find(&repo.cluster, settings.terraform_binary.as_deref()).await {
            Ok(binary) => Some(binary),
            Err(e) if need_binary => return Err(e),
            Err(_) => None,
        };
        // Without a binary (config only) write for current terraform.
        let version = binary
            .as_ref()
            .map_or(Version::new(1, 10, 0), |b| b.version);
        let backend = Backend::new(&repo.cluster, version, settings.endpoints.clone());
        let provider = provider_for(&repo.cluster)?;
        let document = render_workspace(
            provider.as_ref(),
            &repo.cluster,
            &backend,
            workspace,
            binary.as_ref().map(|b| b.version),
        )
        .await?;
        Ok(Prepared {
            repo,
            workspace,
            backend,
            document,
            binary,
        })
    }

    fn runner(&self) -> Runner {
        let binary = self
            .binary
            .clone()
            .expect("binary found for terraform commands");
        Runner::new(
            binary,
            &self.repo.work_dir(),
            self.workspace,
            std::io::stdin().is_terminal(),
        )
    }

    /// Refuses when an upstream workspace has no state yet.
    async fn require_upstream_state(&self) -> Result<()> {
        for upstream in self.workspace.upstream() {
            if !self
                .backend
                .state_exists(&self.repo.work_dir(), upstream)
                .await?
            {
                return Err(Error::invalid(format!(
                    "workspace `{upstream}` has no state yet: run `opsctl terraform {upstream} apply` before `{}`",
                    self.workspace
                )));
            }
        }
        Ok(())
    }
}

pub async fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let workspace = args.workspace;
    match args.action {
        Action::Config => {
            let prepared = Prepared::new(ctx, workspace, false).await?;
            let dir = prepared.repo.work_dir().join(workspace.as_str());
            let bytes = prepared.document.to_bytes();
            let path = dir.join(crate::terraform::runner::CONFIG_FILE);
            crate::fsutil::write_atomic(&path, &bytes, Some(0o644))?;
            ctx.output.emit(&ConfigReport {
                workspace,
                path,
                sha256: crate::terraform::runner::config_hash(&bytes),
                bytes: bytes.len(),
            })?;
            Ok(Exit::Success)
        }
        Action::Init => {
            let prepared = Prepared::new(ctx, workspace, true).await?;
            let runner = prepared.runner();
            runner.write_config(&prepared.document)?;
            let text = runner.init(&prepared.document).await?;
            ctx.output.emit(&InitReport {
                workspace,
                terraform: runner.binary.version,
                backend: prepared.backend.kind,
                text,
            })?;
            Ok(Exit::Success)
        }
        Action::Plan { detailed_exitcode } => {
            let prepared = Prepared::new(ctx, workspace, true).await?;
            prepared.require_upstream_state().await?;
            let runner = prepared.runner();
            let (_, sha256) = runner.write_config(&prepared.document)?;
            runner.ensure_init(&prepared.document).await?;
            let (summary, text) = runner.plan(&sha256).await?;
            let changes = summary.has_changes();
            ctx.output.emit(&PlanReport {
                workspace,
                changes,
                summary,
                plan_file: runner.dir.join(crate::terraform::runner::PLAN_FILE),
                text,
            })?;
            Ok(if detailed_exitcode && changes {
                Exit::Changes
            } else {
                Exit::Success
            })
        }
        Action::Apply => {
            let prepared = Prepared::new(ctx, workspace, true).await?;
            prepared.require_upstream_state().await?;
            let runner = prepared.runner();
            let current = crate::terraform::runner::config_hash(&prepared.document.to_bytes());
            match runner.planned_hash() {
                None => {
                    return Err(Error::invalid(format!(
                        "no saved plan for workspace `{workspace}`: run `opsctl terraform {workspace} plan` first"
                    )))
                }
                Some(planned) if planned != current => {
                    return Err(Error::invalid(format!(
                        "the configuration of workspace `{workspace}` changed since it was planned: run `opsctl terraform {workspace} plan` again"
                    )))
                }
                Some(_) => {}
            }
            let summary = runner.saved_plan_summary().await?;
            ctx.output.confirm(
                &format!(
                    "Apply to {workspace} of cluster {}: {} to add, {} to change, {} to destroy?",
                    prepared.repo.cluster.name, summary.add, summary.change, summary.destroy
                ),
                ctx.yes,
            )?;
            let text = runner.apply().await?;
            let outputs = visible_outputs(runner.outputs().await?);
            ctx.output.emit(&ApplyReport {
                workspace,
                summary,
                outputs,
                text,
            })?;
            Ok(Exit::Success)
        }
        Action::Destroy => {
            let prepared = Prepared::new(ctx, workspace, true).await?;
            let runner = prepared.runner();
            runner.write_config(&prepared.document)?;
            ctx.output.confirm(
                &format!(
                    "Destroy everything in workspace {workspace} of cluster {}?",
                    prepared.repo.cluster.name
                ),
                ctx.yes,
            )?;
            runner.ensure_init(&prepared.document).await?;
            let text = runner.destroy().await?;
            ctx.output.emit(&DestroyReport {
                workspace,
                destroyed: true,
                text,
            })?;
            Ok(Exit::Success)
        }
        Action::Output { json } => {
            let prepared = Prepared::new(ctx, workspace, true).await?;
            let runner = prepared.runner();
            runner.write_config(&prepared.document)?;
            runner.ensure_init(&prepared.document).await?;
            let outputs = runner.outputs().await?;
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
            let prepared = Prepared::new(ctx, workspace, true).await?;
            let runner = prepared.runner();
            runner.write_config(&prepared.document)?;
            let status = runner.passthrough(&args).await?;
            Ok(if status.success() {
                Exit::Success
            } else {
                Exit::Failed
            })
        }
    }
}

/// Outputs with sensitive values masked (value → "(sensitive)").
fn visible_outputs(outputs: Map<String, Value>) -> Map<String, Value> {
    outputs
        .into_iter()
        .map(|(name, output)| {
            let value = if output["sensitive"] == true {
                Value::String("(sensitive)".into())
            } else {
                output["value"].clone()
            };
            (name, value)
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct ConfigReport {
    pub workspace: Workspace,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: usize,
}

impl Report for ConfigReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{} {} ({} bytes, sha256 {})\n",
            style.good("wrote"),
            self.path.display(),
            self.bytes,
            &self.sha256[..12]
        )
    }
}

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub workspace: Workspace,
    pub terraform: Version,
    pub backend: crate::repo::BackendKind,
    #[serde(skip)]
    pub text: String,
}

impl Report for InitReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{}{} workspace {} initialised (terraform {}, {:?} backend)\n",
            self.text,
            style.good("ok"),
            self.workspace,
            self.terraform,
            self.backend
        )
    }
}

fn summary_line(summary: &PlanSummary) -> String {
    format!(
        "{} to add, {} to change, {} to destroy, {} output change{}",
        summary.add,
        summary.change,
        summary.destroy,
        summary.outputs_changed,
        if summary.outputs_changed == 1 {
            ""
        } else {
            "s"
        }
    )
}

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub workspace: Workspace,
    pub changes: bool,
    #[serde(flatten)]
    pub summary: PlanSummary,
    pub plan_file: PathBuf,
    #[serde(skip)]
    pub text: String,
}

impl Report for PlanReport {
    fn human(&self, style: &Style) -> String {
        let verdict = if self.changes {
            style.warn("changes")
        } else {
            style.good("no changes")
        };
        format!(
            "{}\n{verdict} in workspace {}: {}\nsaved plan: {} (apply with `opsctl terraform {} apply`)\n",
            self.text.trim_end(),
            self.workspace,
            summary_line(&self.summary),
            self.plan_file.display(),
            self.workspace
        )
    }
}

#[derive(Debug, Serialize)]
pub struct ApplyReport {
    pub workspace: Workspace,
    #[serde(flatten)]
    pub summary: PlanSummary,
    pub outputs: Map<String, Value>,
    #[serde(skip)]
    pub text: String,
}

impl Report for ApplyReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{}\n{} workspace {}: {}\n",
            self.text.trim_end(),
            style.good("applied"),
            self.workspace,
            summary_line(&self.summary)
        )
    }
}

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub workspace: Workspace,
    pub destroyed: bool,
    #[serde(skip)]
    pub text: String,
}

impl Report for DestroyReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{}\n{} workspace {}\n",
            self.text.trim_end(),
            style.good("destroyed"),
            self.workspace
        )
    }
}

#[derive(Debug, Serialize)]
pub struct OutputReport {
    pub workspace: Workspace,
    pub outputs: Map<String, Value>,
}

impl Report for OutputReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["Output", "Value"]);
        for (name, value) in &self.outputs {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            table.add_row(vec![name.clone(), shown]);
        }
        format!("{table}\n")
    }
}
