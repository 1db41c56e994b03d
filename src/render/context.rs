//! What templates see: `env`, `cluster`, `vars`, `job`, and the `rev()`/`revision()` functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Error, ErrorKind, State};

use crate::repo::{Environment, Repo, Revision, Variant};

pub(super) struct TemplateContext {
    env: Value,
    cluster: Value,
    vars: Value,
    rev: Value,
    revision: Value,
}

impl TemplateContext {
    pub(super) fn new(repo: &Repo, env: &Environment, variant: &Variant) -> Self {
        let cluster = &repo.cluster;
        let env_object = EnvObject {
            env: env.clone(),
            domain: cluster.domain.clone(),
        };
        let revisions: Arc<BTreeMap<String, Revision>> =
            Arc::new(repo.revisions_of(env).cloned().unwrap_or_default());
        let sources: Arc<Vec<String>> = Arc::new(variant.sources.clone());
        let env_name = env.name.clone();

        let lookup = {
            let revisions = revisions.clone();
            move |source: &str| -> Result<Revision, Error> {
                if !sources.iter().any(|s| s == source) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "`{source}` is not a source of environment `{env_name}` ({})",
                            sources.join(", ")
                        ),
                    ));
                }
                revisions.get(source).cloned().ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("no pinned revision of `{source}` for `{env_name}`"),
                    )
                })
            }
        };
        let lookup = Arc::new(lookup);
        let rev = {
            let lookup = lookup.clone();
            Value::from_function(move |source: String| lookup(&source).map(|r| r.rev))
        };
        let revision = Value::from_function(move |source: String| {
            lookup(&source).map(|r| {
                Value::from_serialize(serde_json::json!({
                    "source": r.source, "repo": r.repo, "ref": r.git_ref,
                    "rev": r.rev, "short": r.short_rev(), "updated": r.updated,
                }))
            })
        });

        // Cluster vars, then the variant's, then the environment's.
        let mut vars = cluster.vars.clone();
        vars.extend(variant.vars.clone());
        vars.extend(env.vars.clone());

        TemplateContext {
            env: super::object(env_object),
            cluster: Value::from_serialize(serde_json::json!({
                "name": cluster.name,
                "domain": cluster.domain,
                "datacenters": cluster.nomad.datacenters,
                "region": cluster.aws.as_ref().map(|a| a.region.clone()),
                "nomad_region": cluster.nomad.region,
                "nodes": cluster.node_facts(),
            })),
            vars: Value::from_serialize(&vars),
            rev,
            revision,
        }
    }

    pub(super) fn value(&self, job: &str) -> Value {
        minijinja::context! {
            env => self.env.clone(),
            cluster => self.cluster.clone(),
            vars => self.vars.clone(),
            rev => self.rev.clone(),
            revision => self.revision.clone(),
            job => job,
        }
    }
}

/// `env` in templates: fields plus `port(n)` and `hostname(job)`.
#[derive(Debug)]
struct EnvObject {
    env: Environment,
    domain: String,
}

impl Object for EnvObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let env = &self.env;
        Some(match key.as_str()? {
            "name" => Value::from(env.name.clone()),
            "namespace" => Value::from(env.namespace.clone()),
            "variant" => Value::from(env.variant.clone()),
            "port_base" => Value::from_serialize(env.port_base),
            "port_block" => Value::from(env.port_block),
            "has_port_block" => Value::from(env.port_base.is_some()),
            "target" => Value::from_serialize(env.target),
            "description" => Value::from_serialize(&env.description),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let env = &self.env;
        match method {
            "port" => {
                let (offset,): (u32,) = minijinja::value::from_args(args)?;
                let Some(base) = env.port_base else {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "environment `{}` has no port block (dynamic ports): guard with `[% if env.has_port_block %]`",
                            env.name
                        ),
                    ));
                };
                if offset >= env.port_block {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "port offset {offset} is outside the block of {} ports of `{}`",
                            env.port_block, env.name
                        ),
                    ));
                }
                Ok(Value::from(base.saturating_add(offset)))
            }
            "hostname" => {
                let (job,): (String,) = minijinja::value::from_args(args)?;
                Ok(Value::from(env.hostname(&job, &self.domain)))
            }
            "hostnames" => {
                let (job,): (String,) = minijinja::value::from_args(args)?;
                Ok(Value::from(env.hostnames_of(&job, &self.domain)))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("env has no method `{method}` (methods: port, hostname, hostnames)"),
            )),
        }
    }
}
