//! The plan as a person reads it before confirming: every change with its diff, in the
//! layout of `nomad job plan`; and the outcomes of a plan that stops there (`--plan`).

use serde::Serialize;

use super::diff::format_diff;
use super::plan::{Action, EnvPlan};
use super::report::{JobOutcome, JobStatus};
use crate::output::{Report, Style};

/// The plan as shown before asking: every change with its diff.
#[derive(Serialize)]
pub struct PlanView<'a> {
    /// The Nomad environments' plans.
    pub plans: &'a [EnvPlan],
    /// ECS services planned (`plan_only`): what a confirmation would change there.
    pub ecs: &'a [JobOutcome],
    /// `--force-new-deployment`: unchanged ECS services are redeployed too.
    pub force_new_deployment: bool,
}

impl Report for PlanView<'_> {
    fn human(&self, style: &Style) -> String {
        let mut out = String::new();
        for env in self.plans {
            if !env.namespace_exists {
                out.push_str(&format!(
                    "{} Namespace: \"{}\" (environment {})\n",
                    style.good("+"),
                    env.namespace,
                    env.environment
                ));
            }
            for job in env.jobs.iter().filter(|j| j.action != Action::Unchanged) {
                match (&job.action, &job.diff) {
                    (Action::Stop, _) => out.push_str(&format!(
                        "{} Job: \"{}\" in {} (stop: no longer part of the environment)\n",
                        style.bad("-"),
                        job.id,
                        env.namespace
                    )),
                    (_, Some(diff)) => out.push_str(&format_diff(diff, &job.updates, style)),
                    (_, None) => out.push_str(&format!(
                        "{} Job: \"{}\" in {}\n",
                        style.good("+"),
                        job.id,
                        env.namespace
                    )),
                }
                if job.drift {
                    out.push_str(
                        &style.warn(
                            "  drift: changed in Nomad outside opsctl since its last deploy\n",
                        ),
                    );
                }
                if !job.warnings.is_empty() {
                    out.push_str(&style.warn(&format!("  warnings: {}\n", job.warnings.trim())));
                }
                out.push('\n');
            }
        }
        for service in self.ecs {
            let what = match (service.action, self.force_new_deployment) {
                (Action::Unchanged, false) => continue,
                (Action::Unchanged, true) => "new deployment of task definition revision",
                _ => "new task definition revision after",
            };
            out.push_str(&format!(
                "{} ECS service: \"{}\" in {} ({what} {})\n",
                style.warn("~"),
                service.id,
                service.namespace,
                service.version_before.map_or("?".into(), |v| v.to_string())
            ));
        }
        out
    }
}

/// The outcomes of a plan that is not applied: every job `unchanged` or `planned`.
pub fn planned_outcomes(plans: &[EnvPlan]) -> Vec<JobOutcome> {
    plans
        .iter()
        .flat_map(|env| {
            env.jobs.iter().map(move |job| {
                let status = if job.action == Action::Unchanged {
                    JobStatus::Unchanged
                } else {
                    JobStatus::Planned
                };
                JobOutcome::from_plan(env, job).with_status(status)
            })
        })
        .collect()
}
