//! `opsctl terraform all config|plan|apply|destroy`: one action over every workspace the
//! provider offers, in dependency order (destroy in reverse), in one process, stopping at the
//! first failure, with one report.

use serde::Serialize;

use super::report::{AllReport, Step, StepReport, StepStatus};
use super::{Session, Workspace};
use crate::error::{Error, Exit, Result};

/// The actions `all` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AllAction {
    /// Write every configuration (starts no process for the built-in provider).
    Config,
    /// Plan every workspace.
    Plan,
    /// Plan and apply each workspace in turn (a later plan reads the earlier state).
    Apply,
    /// Destroy every workspace, last one first.
    Destroy,
}

/// Runs `action` over the session's workspaces. `confirm` is asked before each workspace's
/// plan with changes is applied, and once before anything is destroyed. A destroy declined
/// is returned as the error; a failure in a workspace (a declined apply among them) ends the
/// run and is reported in its step, the later workspaces marked as not run.
pub async fn run(
    session: &Session,
    action: AllAction,
    mut confirm: impl FnMut(&str) -> Result<()>,
) -> Result<AllReport> {
    let mut order = session.workspaces();
    if action == AllAction::Destroy {
        order.reverse();
    }
    let mut steps = Vec::new();
    let mut failure = None;
    match action {
        AllAction::Config | AllAction::Plan => {
            for workspace in order {
                let result = match action {
                    _ if failure.is_some() => Err(Error::invalid("not run")),
                    AllAction::Config => session.config(workspace).await.map(StepReport::Config),
                    _ => session.plan(workspace).await.map(StepReport::Plan),
                };
                record(&mut steps, &mut failure, workspace, result);
            }
        }
        AllAction::Apply => {
            for workspace in order {
                let result = if failure.is_some() {
                    Err(Error::invalid("not run"))
                } else {
                    plan_and_apply(session, workspace, &mut confirm).await
                };
                record(&mut steps, &mut failure, workspace, result);
            }
        }
        AllAction::Destroy => {
            let mut pending = Vec::new();
            for workspace in &order {
                pending.push((*workspace, session.prepare_destroy(*workspace).await?));
            }
            let names: Vec<&str> = order.iter().map(|w| w.as_str()).collect();
            confirm(&format!(
                "Destroy everything in workspaces {} of cluster {}?",
                names.join(", "),
                session.cluster()
            ))?;
            for (workspace, pending) in pending {
                let result = if failure.is_some() {
                    Err(Error::invalid("not run"))
                } else {
                    session.destroy(pending).await.map(StepReport::Destroy)
                };
                record(&mut steps, &mut failure, workspace, result);
            }
        }
    }
    let exit = failure.as_ref().map_or(Exit::Success, Error::exit);
    Ok(AllReport {
        cluster: session.cluster().to_string(),
        action,
        ok: exit == Exit::Success,
        exit_code: exit.code(),
        workspaces: steps,
        failure,
    })
}

/// Plans `workspace`, asks when the plan has changes, and applies it.
async fn plan_and_apply(
    session: &Session,
    workspace: Workspace,
    confirm: &mut impl FnMut(&str) -> Result<()>,
) -> Result<StepReport> {
    session.plan(workspace).await?;
    let pending = session.check_apply(workspace).await?;
    if pending.summary.has_changes() {
        confirm(&pending.question(session.cluster()))?;
    }
    session.apply(pending).await.map(StepReport::Apply)
}

/// Records one workspace's result; after the first failure, later ones are not run.
fn record(
    steps: &mut Vec<Step>,
    failure: &mut Option<Error>,
    workspace: Workspace,
    result: Result<StepReport>,
) {
    if failure.is_some() {
        steps.push(Step {
            workspace,
            status: StepStatus::NotRun,
            result: None,
            error: None,
        });
        return;
    }
    match result {
        Ok(report) => steps.push(Step {
            workspace,
            status: StepStatus::Done,
            result: Some(report),
            error: None,
        }),
        Err(error) => {
            steps.push(Step {
                workspace,
                status: StepStatus::Failed,
                result: None,
                error: Some(error.to_string()),
            });
            *failure = Some(error);
        }
    }
}
