//! `opsctl validate`: every problem of the repository at once.

use serde::Serialize;

use crate::context::Context;
use crate::error::Exit;
use crate::output::{Report, Style};
use crate::render::Renderer;
use crate::repo::{Problem, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {}

#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub cluster: String,
    pub ok: bool,
    pub environments: usize,
    pub jobs: usize,
    pub problems: Vec<Problem>,
}

impl Report for ValidateReport {
    fn human(&self, style: &Style) -> String {
        if self.ok {
            return format!(
                "{} cluster `{}`: {} environments, {} job templates, no problems\n",
                style.good("ok"),
                self.cluster,
                self.environments,
                self.jobs
            );
        }
        let mut out = String::new();
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

pub fn run(ctx: &Context, _args: Args) -> crate::Result<Exit> {
    let root = ctx.repo_root()?;
    let cluster = crate::repo::select_cluster(&root, ctx.cluster.as_deref())?;
    let report = check(&root, &cluster)?;
    ctx.output.emit(&report)?;
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

/// Model rules plus a render of every environment.
pub fn check(root: &std::path::Path, cluster: &str) -> crate::Result<ValidateReport> {
    let (repo, mut problems) = Repo::check(root, Some(cluster))?;
    let (environments, jobs) = match &repo {
        Some(repo) => {
            Renderer::new(repo).check_all(&mut problems);
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
    })
}
