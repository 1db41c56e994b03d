//! Rendering of job templates per environment with minijinja.
//!
//! Templates use `[[ expr ]]`, `[% block %]` and `[# comment #]` (levant's delimiters) so that
//! Nomad's own consul-template `{{ ... }}` inside job templates passes through untouched.
//! Undefined names are errors naming the template file and line.

mod context;
pub mod ecs;
pub mod job;

use std::collections::BTreeMap;

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
    pub file: String,
    /// The Nomad job ID.
    pub id: String,
    pub job: serde_json::Value,
}

/// Compiled templates of a repository, reusable for every environment.
pub struct Renderer<'r> {
    repo: &'r Repo,
    engine: minijinja::Environment<'r>,
    /// Templates that failed to compile, with their problems.
    broken: BTreeMap<String, Problem>,
}

impl<'r> Renderer<'r> {
    pub fn new(repo: &'r Repo) -> Self {
        let mut engine = minijinja::Environment::new();
        let syntax = SyntaxConfig::builder()
            .block_delimiters("[%", "%]")
            .variable_delimiters("[[", "]]")
            .comment_delimiters("[#", "#]")
            .build()
            .expect("static delimiters are valid");
        engine.set_syntax(syntax);
        engine.set_undefined_behavior(UndefinedBehavior::Strict);
        // The output is JSON assembled by the template itself; `tojson` escapes where needed.
        engine.set_auto_escape_callback(|_| AutoEscape::None);
        engine.set_keep_trailing_newline(true);
        let mut broken = BTreeMap::new();
        for template in repo.jobs.values() {
            if let Err(e) = engine.add_template(&template.file, &template.text) {
                broken.insert(
                    template.name.clone(),
                    template_problem(&template.file, &template.text, &e),
                );
            }
        }
        Renderer {
            repo,
            engine,
            broken,
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
                    format!("missing template for job `{name}`"),
                ));
                continue;
            };
            if let Some(problem) = self.broken.get(name) {
                problems.push(problem.clone());
                continue;
            }
            let text = match self
                .engine
                .get_template(&template.file)
                .and_then(|t| t.render(context.value(name)))
            {
                Ok(text) => text,
                Err(e) => {
                    let mut problem = template_problem(&template.file, &template.text, &e);
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
                        "job ID `{}` is also rendered by jobs/{other}.json in namespace `{}`",
                        job.id, env.namespace
                    ),
                ));
            }
        }
        Ok(rendered)
    }

    /// Renders every environment, collecting all problems (for `validate`).
    pub fn check_all(&self, problems: &mut Problems) {
        for env in self.repo.envs.values() {
            // Unknown variants are already reported by the model rules.
            let _ = self.render_env_collect(env, &[], problems);
        }
    }
}

fn template_problem(file: &str, text: &str, e: &minijinja::Error) -> Problem {
    let line = e.line();
    let mut message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(source_line) = line.and_then(|l| text.lines().nth(l.saturating_sub(1))) {
        message.push_str(&format!(" in `{}`", source_line.trim()));
    }
    Problem::new(file, message).at(line.map(|l| (l, 1)))
}

pub(crate) fn object<T: minijinja::value::Object + 'static>(value: T) -> Value {
    Value::from_object(value)
}
