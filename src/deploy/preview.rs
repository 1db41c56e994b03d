//! A Nomad environment's plan as every target's plan answers it: the changes as a person
//! reads them before confirming (in the layout of `nomad job plan`), and the outcomes of a
//! plan that stops there (`--plan`).

use super::diff::format_diff;
use super::outcome::{JobOutcome, JobStatus};
use super::plan::{Action, EnvPlan};
use super::report::EnvironmentSummary;
use super::target::EnvironmentPlan;
use crate::output::Style;

impl EnvironmentPlan for EnvPlan {
    fn changes(&self) -> usize {
        EnvPlan::changes(self)
    }

    fn outcomes(&self) -> Vec<JobOutcome> {
        self.jobs
            .iter()
            .map(|job| {
                let status = if job.action == Action::Unchanged {
                    JobStatus::Unchanged
                } else {
                    JobStatus::Planned
                };
                JobOutcome::from_plan(self, job).with_status(status)
            })
            .collect()
    }

    fn summary(&self) -> Option<EnvironmentSummary> {
        Some(EnvironmentSummary::of(self))
    }

    fn preview(&self, style: &Style) -> String {
        let mut out = String::new();
        if !self.namespace_exists {
            out.push_str(&format!(
                "{} Namespace: \"{}\" (environment {})\n",
                style.good("+"),
                self.namespace,
                self.environment
            ));
        }
        for job in self.jobs.iter().filter(|j| j.action != Action::Unchanged) {
            match (&job.action, &job.diff) {
                (Action::Stop, _) => out.push_str(&format!(
                    "{} Job: \"{}\" in {} (stop: no longer part of the environment)\n",
                    style.bad("-"),
                    job.id,
                    self.namespace
                )),
                (_, Some(diff)) => out.push_str(&format_diff(diff, &job.updates, style)),
                (_, None) => out.push_str(&format!(
                    "{} Job: \"{}\" in {}\n",
                    style.good("+"),
                    job.id,
                    self.namespace
                )),
            }
            if job.drift {
                out.push_str(
                    &style.warn("  drift: changed in Nomad outside opsctl since its last deploy\n"),
                );
            }
            if !job.warnings.is_empty() {
                out.push_str(&style.warn(&format!("  warnings: {}\n", job.warnings.trim())));
            }
            out.push('\n');
        }
        out
    }
}
