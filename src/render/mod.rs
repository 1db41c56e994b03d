//! Rendering of job templates per environment with minijinja.
//!
//! Only `jobs/<name>.json.tmpl` files are templates; `jobs/<name>.json` files are jobs as
//! written (inspect dumps, `nomad job run -output` files, renders of other tools) and are never
//! parsed for template syntax, so nothing in them can be mistaken for it. Templates use
//! `{= expr =}`, `{! statement !}` and `{!# comment #!}`: sequences that no job format uses
//! (log patterns `[%thread]`/`%{...}`, consul-template `{{ }}`, levant `[[ ]]`, Nomad and HCL
//! `${...}`, heredocs `<<EOF`), so consul-template and everything else in a template's strings
//! pass through untouched. Partials live in `jobs/_lib/` (any folder of `jobs/`) and are
//! imported by path relative to `jobs/`. Undefined names are errors naming the file and line.

mod context;
pub mod ecs;
mod filters;
pub mod job;
pub mod lint;
mod nomad_schema;

use std::collections::BTreeMap;
use std::path::{Component, Path};

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, UndefinedBehavior, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::repo::{Environment, Problem, Problems, Repo, Target};

/// One job rendered for one environment, checked and in bare Nomad API shape.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedJob {
    /// Template name (`jobs/<name>.json`).
    pub name: String,
    /// The job file, relative to the repository root (`jobs/<name>.json` or
    /// `jobs/<name>.json.tmpl`).
    pub file: String,
    /// The Nomad job ID.
    pub id: String,
    /// The checked document. Nomad: the job as its API takes it, bare (no `{"Job": …}`
    /// wrapper), server-managed fields dropped, `Namespace` the environment's. ECS: the task
    /// definition.
    pub job: serde_json::Value,
}

/// Compiled templates of a repository, reusable for every environment.
pub struct Renderer<'r> {
    repo: &'r Repo,
    engine: minijinja::Environment<'r>,
    /// Templates that failed to compile, with their problems.
    broken: BTreeMap<String, Problem>,
    /// Unknown keys are problems, not warnings (`validate --strict`, `strict_job_schema`).
    strict: bool,
    /// Schema warnings found so far (unknown keys), once per file and path.
    warnings: std::sync::Mutex<BTreeMap<(String, String), Problem>>,
}

impl<'r> Renderer<'r> {
    /// Compiles every job template of `repo` once; a template that fails to compile is reported
    /// when an environment renders it, not here. Strict schema when `strict_job_schema` is set.
    pub fn new(repo: &'r Repo) -> Self {
        let mut engine = minijinja::Environment::new();
        engine.set_syntax(syntax());
        engine.set_undefined_behavior(UndefinedBehavior::Strict);
        // The output is JSON assembled by the template itself; `tojson` escapes where needed.
        engine.set_auto_escape_callback(|_| AutoEscape::None);
        engine.set_keep_trailing_newline(true);
        filters::register(&mut engine);
        engine.set_path_join_callback(|name, _parent| join_template_path(name).into());
        let root = repo.root.clone();
        engine.set_loader(move |name| Ok(load_partial(&root, name)));
        let mut broken = BTreeMap::new();
        for template in repo.jobs.values().filter(|t| t.template) {
            if let Err(e) = engine.add_template(&template.file, &template.text) {
                broken.insert(
                    template.name.clone(),
                    template_problem(repo, &template.file, &e),
                );
            }
        }
        Renderer {
            repo,
            engine,
            broken,
            strict: repo.cluster.strict_job_schema,
            warnings: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Unknown keys become problems (`validate --strict`).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = self.strict || strict;
        self
    }

    /// The schema warnings found by the renders so far (unknown keys), in file order.
    pub fn warnings(&self) -> Vec<Problem> {
        self.warnings
            .lock()
            .map(|w| w.values().cloned().collect())
            .unwrap_or_default()
    }

    fn lint(
        &self,
        file: &str,
        job: &serde_json::Value,
        env: &Environment,
        problems: &mut Problems,
    ) {
        for finding in lint::lint(job) {
            if finding.error || self.strict {
                problems.push(
                    Problem::new(
                        file,
                        format!("for environment `{}`: {}", env.name, finding.message),
                    )
                    .field(finding.path),
                );
            } else if let Ok(mut warnings) = self.warnings.lock() {
                warnings
                    .entry((file.to_string(), finding.path.clone()))
                    .or_insert_with(|| Problem::new(file, finding.message).field(finding.path));
            }
        }
    }

    /// Renders and checks the jobs of `env` (all of its variant's jobs, or `only` those).
    pub fn render_env(&self, env: &Environment, only: &[String]) -> Result<Vec<RenderedJob>> {
        let mut problems = Problems::default();
        let jobs = self.render_env_collect(env, only, &mut problems)?;
        if problems.is_empty() {
            Ok(jobs)
        } else {
            Err(Error::Problems(problems.into_vec()))
        }
    }

    /// Like [`Self::render_env`] but adds problems to `problems` and keeps the jobs that rendered.
    pub fn render_env_collect(
        &self,
        env: &Environment,
        only: &[String],
        problems: &mut Problems,
    ) -> Result<Vec<RenderedJob>> {
        let variant = self.repo.variant(env).ok_or_else(|| {
            Error::invalid(format!(
                "environment `{}` names unknown variant `{}`",
                env.name, env.variant
            ))
        })?;
        for name in only {
            if !variant.jobs.contains(name) {
                return Err(Error::invalid(format!(
                    "job `{name}` is not part of environment `{}` (jobs: {})",
                    env.name,
                    variant.jobs.join(", ")
                )));
            }
        }
        let context = context::TemplateContext::new(self.repo, env, variant);
        let mut rendered = Vec::new();
        for name in variant
            .jobs
            .iter()
            .filter(|j| only.is_empty() || only.contains(j))
        {
            let Some(template) = self.repo.jobs.get(name) else {
                problems.push(Problem::new(
                    format!("jobs/{name}.json"),
                    format!(
                        "missing job file for job `{name}` (jobs/{name}.json or jobs/{name}{})",
                        crate::repo::TEMPLATE_SUFFIX
                    ),
                ));
                continue;
            };
            if let Some(problem) = self.broken.get(name) {
                problems.push(problem.clone());
                continue;
            }
            let rendered_text = if template.template {
                self.engine
                    .get_template(&template.file)
                    .and_then(|t| t.render(context.value(name)))
            } else {
                Ok(template.text.clone())
            };
            let text = match rendered_text {
                Ok(text) => text,
                Err(e) => {
                    let mut problem = template_problem(self.repo, &template.file, &e);
                    problem.message =
                        format!("for environment `{}`: {}", env.name, problem.message);
                    problems.push(problem);
                    continue;
                }
            };
            let checked = match env.target {
                Target::Nomad => job::check_rendered(&template.file, &text, env),
                Target::Ecs => ecs::check_rendered(&template.file, &text, env),
            };
            if let (Ok(job), Target::Nomad) = (&checked, env.target) {
                self.lint(&template.file, job, env, problems);
            }
            match checked {
                Ok(job) => rendered.push(RenderedJob {
                    name: name.clone(),
                    file: template.file.clone(),
                    id: job::job_id(&job)
                        .or_else(|| job.get("family").and_then(serde_json::Value::as_str))
                        .unwrap_or_default()
                        .to_string(),
                    job,
                }),
                Err(found) => {
                    for problem in found {
                        problems.push(problem);
                    }
                }
            }
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for job in &rendered {
            if let Some(other) = seen.insert(&job.id, &job.name) {
                problems.push(Problem::new(
                    &job.file,
                    format!(
                        "job ID `{}` is also rendered by {} in namespace `{}`",
                        job.id,
                        self.repo
                            .jobs
                            .get(other)
                            .map_or_else(|| other.to_string(), |t| t.file.clone()),
                        env.namespace
                    ),
                ));
            }
        }
        Ok(rendered)
    }

    /// Renders every environment, collecting all problems (for `validate`).
    pub fn check_all(&self, problems: &mut Problems) {
        let mut claims: BTreeMap<u32, Vec<PortClaim<'_>>> = BTreeMap::new();
        for env in self.repo.envs.values() {
            // Unknown variants are already reported by the model rules.
            let Ok(jobs) = self.render_env_collect(env, &[], problems) else {
                continue;
            };
            if env.target != Target::Nomad {
                continue;
            }
            for job in jobs {
                let datacenters: Vec<String> = job
                    .job
                    .get("Datacenters")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect();
                for (field, port) in job::static_ports(&job.job) {
                    claims.entry(port).or_default().push(PortClaim {
                        env: &env.name,
                        file: job.file.clone(),
                        id: job.id.clone(),
                        field,
                        datacenters: datacenters.clone(),
                    });
                }
            }
        }
        for (port, claims) in &claims {
            for (i, claim) in claims.iter().enumerate() {
                let earlier = claims[..i].iter().find(|other| {
                    (other.env != claim.env || other.id != claim.id)
                        && other.datacenters.iter().any(|d| {
                            d == "*" || claim.datacenters.iter().any(|c| c == d || c == "*")
                        })
                });
                if let Some(other) = earlier {
                    problems.push(
                        Problem::new(
                            &claim.file,
                            format!(
                                "for environment `{}`: static port {port} of job `{}` is also claimed by job `{}` of environment `{}` on the same datacenters; Nomad cannot place both on one node",
                                claim.env, claim.id, other.id, other.env
                            ),
                        )
                        .field(&claim.field),
                    );
                }
            }
        }
    }
}

/// A static port bound by a rendered job (for the clash check of `validate`).
struct PortClaim<'e> {
    env: &'e str,
    file: String,
    id: String,
    field: String,
    datacenters: Vec<String>,
}

/// The template syntax: see the module documentation.
pub fn syntax() -> SyntaxConfig {
    SyntaxConfig::builder()
        .block_delimiters("{!", "!}")
        .variable_delimiters("{=", "=}")
        .comment_delimiters("{!#", "#!}")
        .build()
        .expect("static delimiters are valid")
}

/// Template names are paths from the repository root; imports are written relative to `jobs/`.
fn join_template_path(name: &str) -> String {
    if name.starts_with("jobs/") {
        name.to_string()
    } else {
        format!("jobs/{name}")
    }
}

/// Reads a partial under `jobs/` (never outside it); `None` is "template not found".
fn load_partial(root: &Path, name: &str) -> Option<String> {
    let path = Path::new(name);
    let inside =
        path.starts_with("jobs") && path.components().all(|c| matches!(c, Component::Normal(_)));
    if !inside {
        return None;
    }
    std::fs::read_to_string(root.join(path)).ok()
}

fn source_text(repo: &Repo, name: &str) -> Option<String> {
    match repo.jobs.values().find(|t| t.file == name) {
        Some(template) => Some(template.text.clone()),
        None => load_partial(&repo.root, name),
    }
}

/// A problem at the innermost template error (the imported or included file where it
/// happened), with its cause and the chain of files that led there.
fn template_problem(repo: &Repo, default_file: &str, e: &minijinja::Error) -> Problem {
    let mut chain = vec![e];
    let mut current: &dyn std::error::Error = e;
    while let Some(next) = current.source() {
        match next.downcast_ref::<minijinja::Error>() {
            Some(inner) => chain.push(inner),
            None => break,
        }
        current = next;
    }
    let innermost = chain.last().copied().unwrap_or(e);
    let file = innermost.name().unwrap_or(default_file).to_string();
    let line = innermost.line();
    let mut message = match innermost.detail() {
        Some(detail) => format!("{}: {detail}", innermost.kind()),
        None => innermost.kind().to_string(),
    };
    if let Some(source_line) = line.and_then(|l| {
        source_text(repo, &file)
            .and_then(|t| t.lines().nth(l.saturating_sub(1)).map(str::to_string))
    }) {
        message.push_str(&format!(" in `{}`", source_line.trim()));
    }
    let mut via = Vec::new();
    for outer in chain.iter().rev().skip(1) {
        if let (Some(name), Some(l)) = (outer.name(), outer.line()) {
            if name != file || Some(l) != line {
                via.push(format!("{name}:{l}"));
            }
        }
    }
    // A macro of an imported file fails in that file; say which job was being rendered.
    if file != default_file && !via.iter().any(|v| v.starts_with(default_file)) {
        via.push(default_file.to_string());
    }
    for v in via {
        message.push_str(&format!(" (from {v})"));
    }
    Problem::new(file, message).at(line.map(|l| (l, 1)))
}

pub(crate) fn object<T: minijinja::value::Object + 'static>(value: T) -> Value {
    Value::from_object(value)
}
