//! What each terraform action reports, in text and JSON (`--output json`).

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use super::runner::PlanSummary;
use super::{Version, Workspace};
use crate::output::{Report, Style};

/// Outputs with sensitive values masked (value → "(sensitive)").
pub fn visible_outputs(outputs: Map<String, Value>) -> Map<String, Value> {
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

/// `opsctl terraform <workspace> config`: the configuration written.
#[derive(Debug, Serialize)]
pub struct ConfigReport {
    /// The workspace rendered.
    pub workspace: Workspace,
    /// Where `main.tf.json` was written.
    pub path: PathBuf,
    /// Hex SHA-256 of the written bytes (the hash a saved plan is checked against).
    pub sha256: String,
    /// Size of the file in bytes.
    pub bytes: usize,
    /// The file was (re)written; `false` when it already held exactly these bytes.
    pub written: bool,
    /// The workspace was rendered; `false` when nothing it is rendered from changed since
    /// the last write (same opsctl executable, cluster, backend, terraform version) and the
    /// file still holds what was written then.
    pub rendered: bool,
}

impl Report for ConfigReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{} {} ({} bytes, sha256 {})\n",
            if self.written {
                style.good("wrote")
            } else {
                style.dim("unchanged")
            },
            self.path.display(),
            self.bytes,
            &self.sha256[..12]
        )
    }
}

/// `opsctl terraform <workspace> init`.
#[derive(Debug, Serialize)]
pub struct InitReport {
    /// The workspace initialised.
    pub workspace: Workspace,
    /// Version of the terraform binary that ran.
    pub terraform: Version,
    /// The state backend it was initialised with.
    pub backend: crate::repo::BackendKind,
    /// terraform's own output (text only, not in JSON).
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

/// `opsctl terraform <workspace> plan`: what the saved plan would do.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// The workspace planned.
    pub workspace: Workspace,
    /// Whether applying would change anything, outputs included.
    pub changes: bool,
    /// Counts of the changes (flattened into the JSON report).
    #[serde(flatten)]
    pub summary: PlanSummary,
    /// Where the plan was saved, for `apply`.
    pub plan_file: PathBuf,
    /// terraform's own output (text only, not in JSON).
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

/// `opsctl terraform <workspace> apply` of the saved plan.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    /// The workspace applied.
    pub workspace: Workspace,
    /// What the applied plan did (flattened into the JSON report).
    #[serde(flatten)]
    pub summary: PlanSummary,
    /// The workspace's outputs afterwards, name → value, sensitive values as `(sensitive)`.
    pub outputs: Map<String, Value>,
    /// terraform's own output (text only, not in JSON).
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

/// `opsctl terraform <workspace> destroy`.
#[derive(Debug, Serialize)]
pub struct DestroyReport {
    /// The workspace whose resources were destroyed.
    pub workspace: Workspace,
    /// Always `true`: a destroy that fails is an error, not a report.
    pub destroyed: bool,
    /// terraform's own output (text only, not in JSON).
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

/// `opsctl terraform <workspace> output` as a table (`--output json` prints terraform's own
/// `output -json` instead).
#[derive(Debug, Serialize)]
pub struct OutputReport {
    /// The workspace read.
    pub workspace: Workspace,
    /// Name → value, sensitive values as `(sensitive)`.
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

/// How one workspace of `terraform all` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The action ran and succeeded.
    Done,
    /// The action failed: the run stopped here.
    Failed,
    /// An earlier workspace failed.
    NotRun,
}

/// One workspace's own report within `terraform all`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StepReport {
    /// `config`
    Config(ConfigReport),
    /// `plan`
    Plan(PlanReport),
    /// `apply`
    Apply(ApplyReport),
    /// `destroy`
    Destroy(DestroyReport),
}

impl StepReport {
    fn human(&self, style: &Style) -> String {
        match self {
            StepReport::Config(r) => r.human(style),
            StepReport::Plan(r) => r.human(style),
            StepReport::Apply(r) => r.human(style),
            StepReport::Destroy(r) => r.human(style),
        }
    }

    /// Whether a plan found changes.
    pub fn changes(&self) -> bool {
        matches!(self, StepReport::Plan(plan) if plan.changes)
    }
}

/// One workspace of `terraform all`.
#[derive(Debug, Serialize)]
pub struct Step {
    /// The workspace.
    pub workspace: Workspace,
    /// Done, failed, or not run.
    pub status: StepStatus,
    /// The workspace's report, when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<StepReport>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `terraform all`: every workspace's step, in the order they ran.
#[derive(Debug, Serialize)]
pub struct AllReport {
    /// The cluster.
    pub cluster: String,
    /// The action run over the workspaces.
    pub action: super::all::AllAction,
    /// Every workspace done.
    pub ok: bool,
    /// The exit status of the run: 0, or the first failure's (1 failed, 2 refused).
    pub exit_code: u8,
    /// The steps, in the order they ran (destroy: last workspace first).
    pub workspaces: Vec<Step>,
    /// The failure that stopped the run.
    #[serde(skip)]
    pub failure: Option<crate::error::Error>,
}

impl AllReport {
    /// Whether any plan found changes.
    pub fn changes(&self) -> bool {
        self.workspaces
            .iter()
            .any(|s| s.result.as_ref().is_some_and(StepReport::changes))
    }
}

impl Report for AllReport {
    /// Each workspace's report, a failed workspace named (its error goes to stderr).
    fn human(&self, style: &Style) -> String {
        let mut text = String::new();
        for step in &self.workspaces {
            match (&step.result, step.status) {
                (Some(report), _) => text.push_str(&report.human(style)),
                (None, StepStatus::NotRun) => text.push_str(&format!(
                    "{} workspace {} (an earlier workspace failed)\n",
                    style.warn("not run"),
                    step.workspace
                )),
                (None, _) => text.push_str(&format!(
                    "{} workspace {}\n",
                    style.bad("failed"),
                    step.workspace
                )),
            }
        }
        text
    }
}
