//! `opsctl validate`: every problem of the repository at once.

use serde::Serialize;

use crate::context::Context;
use crate::error::Exit;
use crate::output::{Report, Style};
use crate::render::Renderer;
use crate::repo::{Problem, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keys of rendered jobs that are not Nomad fields are errors, not warnings.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub cluster: String,
    pub ok: bool,
    pub environments: usize,
    pub jobs: usize,
    pub problems: Vec<Problem>,
    /// Keys of rendered jobs that Nomad ignores (not fields of its job API).
    pub warnings: Vec<Problem>,
}

impl Report for ValidateReport {
    fn human(&self, style: &Style) -> String {
        let mut warnings = String::new();
        for warning in &self.warnings {
            warnings.push_str(&format!("{} {warning}\n", style.warn("warning:")));
        }
        if self.ok {
            return warnings
                + &format!(
                    "{} cluster `{}`: {} environments, {} job templates, no problems\n",
                    style.good("ok"),
                    self.cluster,
                    self.environments,
                    self.jobs
                );
        }
        let mut out = warnings;
        for problem in &self.problems {
            out.push_str(&format!("{} {problem}\n", style.bad("error:")));
        }
        let n = self.problems.len();
        out.push_str(&format!(
            "{n} problem{} in cluster `{}`\n",
            if n == 1 { "" } else { "s" },
            self.cluster
        ));
        out
    }
}

pub fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let root = ctx.repo_root()?;
    let cluster = crate::repo::select_cluster(&root, ctx.cluster.as_deref())?;
    let report = check_with(&root, &cluster, args.strict)?;
    ctx.output.emit(&report)?;
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

/// Model rules plus a render of every environment; unknown job keys are errors when `strict`.
pub fn check_with(
    root: &std::path::Path,
    cluster: &str,
    strict: bool,
) -> crate::Result<ValidateReport> {
    let (repo, mut problems) = Repo::check(root, Some(cluster))?;
    let mut warnings = Vec::new();
    let (environments, jobs) = match &repo {
        Some(repo) => {
            let renderer = Renderer::new(repo).strict(strict);
            renderer.check_all(&mut problems);
            warnings = renderer.warnings();
            (repo.envs.len(), repo.jobs.len())
        }
        None => (0, 0),
    };
    let problems = problems.into_vec();
    Ok(ValidateReport {
        cluster: cluster.to_string(),
        ok: problems.is_empty(),
        environments,
        jobs,
        problems,
        warnings,
    })
}
