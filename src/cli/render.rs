//! `opsctl render <env> [--job NAME] [--out DIR]`

use std::path::PathBuf;

use serde::Serialize;

use crate::context::Context;
use crate::error::Exit;
use crate::output::{Part, Report, Style};
use crate::render::{RenderedJob, Renderer};
use crate::repo::Target;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment to render
    pub env: String,
    /// Only these jobs (repeatable)
    #[arg(long = "job", value_name = "NAME")]
    pub jobs: Vec<String>,
    /// Write `<job>.json` files (Nomad API shape, `{"Job": ...}`) into this folder
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct RenderReport {
    environment: String,
    namespace: String,
    jobs: Vec<RenderedJob>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    written: Vec<String>,
    #[serde(skip)]
    target: Target,
}

/// What a job file holds: Nomad jobs in the register API's wrapped shape, ECS task
/// definitions as `RegisterTaskDefinition` takes them.
fn file_body(target: Target, job: &serde_json::Value) -> serde_json::Value {
    match target {
        Target::Nomad => serde_json::json!({ "Job": job }),
        Target::Ecs => job.clone(),
    }
}

impl Report for RenderReport {
    fn human(&self, style: &Style) -> String {
        self.parts(style)
            .into_iter()
            .map(|(Part::Data(text) | Part::Note(text))| text)
            .collect()
    }

    /// Each job's header is a note (stderr); stdout holds only the jobs' JSON, so a single
    /// rendered job is exactly the register API body `jq` and `nomad job run -json` read.
    fn parts(&self, style: &Style) -> Vec<Part> {
        if !self.written.is_empty() {
            return vec![Part::Data(
                self.written
                    .iter()
                    .map(|path| format!("{} {path}\n", style.good("wrote")))
                    .collect(),
            )];
        }
        let mut parts = Vec::new();
        for job in &self.jobs {
            parts.push(Part::Note(
                style.dim(&format!("# {} → {}/{}\n", job.file, self.namespace, job.id)),
            ));
            let body = file_body(self.target, &job.job);
            parts.push(Part::Data(
                serde_json::to_string_pretty(&body).unwrap_or_default() + "\n",
            ));
        }
        parts
    }
}

pub fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let env = repo.env(&args.env)?;
    let jobs = Renderer::new(&repo).render_env(env, &args.jobs)?;
    let mut written = Vec::new();
    if let Some(dir) = &args.out {
        for job in &jobs {
            let path = dir.join(format!("{}.json", job.name));
            let mut body = serde_json::to_vec_pretty(&file_body(env.target, &job.job))
                .map_err(anyhow::Error::from)?;
            body.push(b'\n');
            crate::fsutil::write_atomic(&path, &body, None)?;
            written.push(path.display().to_string());
        }
    }
    ctx.output.emit(&RenderReport {
        environment: env.name.clone(),
        namespace: env.namespace.clone(),
        jobs,
        written,
        target: env.target,
    })?;
    Ok(Exit::Success)
}
