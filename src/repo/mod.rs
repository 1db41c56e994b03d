//! The ops repository: discovery, loading of every file into a typed model, and validation.
//!
//! Loading never stops at the first bad file: every syntax error, unknown key and rule
//! violation becomes a [`Problem`] so an operator fixes them all in one pass.

mod cluster;
mod environment;
pub mod names;
mod revision;
pub mod show;
pub mod source;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use crate::problem::{suggest, Problem, Problems};
pub use cluster::{
    public_subnet_of, subnet_cidrs, NamedNode, NetworkSettings, NodeSettings, RoutingSettings,
    RuleSettings, UnknownAzs, Volume, RULE_ROLES,
};
pub use cluster::{
    AwsSettings, BackendKind, ClientGroup, Cluster, CoreSettings, MonitoringSettings,
    NomadSettings, RebuildSettings, RebuildStrategy, Source, SshSettings, TerraformSettings,
    Variant,
};
pub use environment::{EcsSettings, Environment, EnvironmentFile, StaticPorts, Target};
pub use revision::Revision;
use source::{field_name, line_col, Seg, TomlSource};
pub use validate::MIN_AZS;

use crate::error::{Error, Result};

/// A job file under `jobs/`: `<name>.json` is a job as written (never a template),
/// `<name>.json.tmpl` a template rendered per environment.
#[derive(Debug, Clone)]
pub struct JobTemplate {
    /// Job name: the file name without `.json` / `.json.tmpl`; what variants list in `jobs`.
    pub name: String,
    /// Path relative to the repository root.
    pub file: String,
    /// The file's text as read (a template is rendered per environment, a `.json` file used as is).
    pub text: String,
    /// Whether the file is a template (`.json.tmpl`); plain `.json` files are used as written.
    pub template: bool,
}

/// Suffix of a job template; `.json` files are jobs as written.
pub const TEMPLATE_SUFFIX: &str = ".json.tmpl";

/// The selected cluster of an ops repository, fully loaded.
#[derive(Debug)]
pub struct Repo {
    /// The repository root: the folder holding `clusters/` (see [`discover`]).
    pub root: PathBuf,
    /// The selected cluster's `cluster.toml`.
    pub cluster: Cluster,
    /// Path of the cluster file relative to the root (`clusters/<cluster>/cluster.toml`).
    pub cluster_file: String,
    /// The cluster's environments by name (`clusters/<cluster>/envs/<name>.toml`).
    pub envs: BTreeMap<String, Environment>,
    /// Every job of the repository by name (`jobs/<name>.json` or `jobs/<name>.json.tmpl`).
    pub jobs: BTreeMap<String, JobTemplate>,
    /// Revisions per environment directory, then per source.
    pub revisions: BTreeMap<String, BTreeMap<String, Revision>>,
    /// Parsed TOML kept for locating fields in later checks.
    toml_sources: BTreeMap<String, TomlSource>,
    revision_texts: BTreeMap<String, String>,
}

impl Repo {
    /// Loads and validates; any problem is an error listing all of them.
    pub fn open(root: &Path, cluster: Option<&str>) -> Result<Repo> {
        let (repo, problems) = Repo::check(root, cluster)?;
        let problems = problems.into_vec();
        match repo {
            Some(repo) if problems.is_empty() => Ok(repo),
            _ => Err(Error::Problems(problems)),
        }
    }

    /// Loads and validates, returning the model (when the files could be read) and every problem.
    pub fn check(root: &Path, cluster: Option<&str>) -> Result<(Option<Repo>, Problems)> {
        let name = select_cluster(root, cluster)?;
        let mut problems = Problems::default();
        let repo = load(root, &name, &mut problems)?;
        if let Some(repo) = &repo {
            validate::validate(repo, &mut problems);
        }
        Ok((repo, problems))
    }

    /// The environment called `name`; an error (naming the closest match and listing all
    /// environments) when there is none.
    pub fn env(&self, name: &str) -> Result<&Environment> {
        self.envs.get(name).ok_or_else(|| {
            let hint = suggest(name, self.envs.keys().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Error::invalid(format!(
                "no environment `{name}` in cluster `{}`{hint}; environments: {}",
                self.cluster.name,
                self.envs.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The environment's variant; `None` when the cluster defines no such variant (which
    /// validation reports, so a repository from [`Repo::open`] always has it).
    pub fn variant(&self, env: &Environment) -> Option<&Variant> {
        self.cluster.variants.get(&env.variant)
    }

    /// The revisions pinning `env`'s sources (its own or those it follows).
    pub fn revisions_of(&self, env: &Environment) -> Option<&BTreeMap<String, Revision>> {
        self.revisions.get(env.revisions_env())
    }

    /// Directory of the selected cluster.
    pub fn cluster_dir(&self) -> PathBuf {
        self.root.join("clusters").join(&self.cluster.name)
    }

    /// Working directory for generated files (`.opsctl/<cluster>`).
    pub fn work_dir(&self) -> PathBuf {
        self.root.join(".opsctl").join(&self.cluster.name)
    }

    pub(crate) fn locate(&self, file: &str, path: &[Seg]) -> Option<(usize, usize)> {
        self.toml_sources.get(file).and_then(|s| s.locate(path))
    }

    pub(crate) fn locate_json_key(&self, file: &str, key: &str) -> Option<(usize, usize)> {
        let text = self.revision_texts.get(file)?;
        let offset = text.find(&format!("\"{key}\""))?;
        Some(line_col(text, offset))
    }
}

/// Finds the repository root: `explicit` if given, else the nearest ancestor of `start`
/// holding a `clusters/` folder.
pub fn discover(explicit: Option<&Path>, start: &Path) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if dir.join("clusters").is_dir() {
            return Ok(dir.to_path_buf());
        }
        return Err(Error::invalid(format!(
            "{} is not an ops repository: it has no clusters/ folder",
            dir.display()
        )));
    }
    let mut dir = Some(start);
    while let Some(candidate) = dir {
        if candidate.join("clusters").is_dir() {
            return Ok(candidate.to_path_buf());
        }
        dir = candidate.parent();
    }
    Err(Error::invalid(format!(
        "no ops repository found: neither {} nor any parent has a clusters/ folder (use --repo DIR)",
        start.display()
    )))
}

/// Cluster names: folders of `clusters/` holding a `cluster.toml`.
pub fn cluster_names(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("clusters");
    let mut names = Vec::new();
    for entry in read_dir_sorted(&dir)? {
        if entry.join("cluster.toml").is_file() {
            if let Some(name) = entry.file_name().and_then(|n| n.to_str()) {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

/// `--cluster` / `OPSCTL_CLUSTER`, else the only cluster.
pub fn select_cluster(root: &Path, requested: Option<&str>) -> Result<String> {
    let names = cluster_names(root)?;
    match requested {
        Some(name) if names.iter().any(|n| n == name) => Ok(name.to_string()),
        Some(name) => {
            let hint = suggest(name, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Err(Error::invalid(format!(
                "no cluster `{name}`{hint}; clusters: {}",
                list_or_none(&names)
            )))
        }
        None => match names.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(Error::invalid(format!(
                "no cluster in {}: add clusters/<name>/cluster.toml",
                root.join("clusters").display()
            ))),
            _ => Err(Error::invalid(format!(
                "several clusters ({}): choose one with --cluster or OPSCTL_CLUSTER",
                names.join(", ")
            ))),
        },
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect())
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

fn load(root: &Path, cluster_name: &str, problems: &mut Problems) -> Result<Option<Repo>> {
    let rel = |p: &Path| crate::fsutil::display_relative(p, root);
    let mut toml_sources = BTreeMap::new();

    let cluster_path = root
        .join("clusters")
        .join(cluster_name)
        .join("cluster.toml");
    let cluster_file = rel(&cluster_path);
    let cluster: Option<Cluster> =
        read_text(&cluster_path, &cluster_file, problems).and_then(|text| {
            let source = TomlSource::new(text);
            let parsed = parse_toml(&source, &cluster_file, known_cluster_keys, problems);
            toml_sources.insert(cluster_file.clone(), source);
            parsed
        });

    let mut envs = BTreeMap::new();
    let envs_dir = root.join("clusters").join(cluster_name).join("envs");
    for path in files_with_extension(&envs_dir, "toml")? {
        let file = rel(&path);
        let Some(text) = read_text(&path, &file, problems) else {
            continue;
        };
        let source = TomlSource::new(text);
        let parsed: Option<EnvironmentFile> = parse_toml(&source, &file, known_env_keys, problems);
        toml_sources.insert(file.clone(), source);
        if let Some(env) = parsed {
            let name = file_stem(&path);
            let variant = cluster.as_ref().and_then(|c| c.variants.get(&env.variant));
            let port_block = variant.map_or(0, |v| v.port_block);
            let hostname_pattern = variant
                .and_then(|v| v.hostname.clone())
                .or_else(|| cluster.as_ref().and_then(|c| c.hostname.clone()));
            let labels = variant.map(|v| v.labels.clone()).unwrap_or_default();
            envs.insert(
                name.clone(),
                Environment {
                    namespace: env.namespace.unwrap_or_else(|| name.clone()),
                    name,
                    variant: env.variant,
                    port_base: env.port_base,
                    port_block,
                    target: env.target,
                    branches: env.branches,
                    hostnames: env.hostnames,
                    revisions_from: env.revisions_from,
                    vars: env.vars,
                    description: env.description,
                    ttl: env.ttl,
                    created: env.created,
                    owner: env.owner,
                    expires: env.expires,
                    from: env.from,
                    ecs: env.ecs,
                    static_ports: env.static_ports,
                    domain: env.domain,
                    aliases: env.aliases,
                    hostname_pattern,
                    labels,
                    file,
                },
            );
        }
    }

    let mut jobs: BTreeMap<String, JobTemplate> = BTreeMap::new();
    let job_dir = root.join("jobs");
    let job_files = files_with_extension(&job_dir, "json")?
        .into_iter()
        .map(|p| (p, false))
        .chain(
            files_with_extension(&job_dir, "tmpl")?
                .into_iter()
                .filter(|p| p.to_string_lossy().ends_with(TEMPLATE_SUFFIX))
                .map(|p| (p, true)),
        );
    for (path, template) in job_files {
        let file = rel(&path);
        let Some(text) = read_text(&path, &file, problems) else {
            continue;
        };
        let name = file_stem(&path).trim_end_matches(".json").to_string();
        if let Some(other) = jobs.get(&name) {
            problems.push(Problem::new(
                &file,
                format!(
                    "job `{name}` is also defined by {}: keep either the job (`.json`) or the template (`{TEMPLATE_SUFFIX}`)",
                    other.file
                ),
            ));
            continue;
        }
        jobs.insert(
            name.clone(),
            JobTemplate {
                name,
                file,
                text,
                template,
            },
        );
    }

    // Only the revision folders of this cluster's environments: others belong to other clusters.
    let mut revisions = BTreeMap::new();
    let mut revision_texts = BTreeMap::new();
    let revisions_root = root.join("revisions");
    for env_name in envs.keys() {
        let dir = revisions_root.join(env_name);
        let mut pinned = BTreeMap::new();
        for path in files_with_extension(&dir, "json")? {
            let file = rel(&path);
            let Some(text) = read_text(&path, &file, problems) else {
                continue;
            };
            match serde_json::from_str::<Revision>(&text) {
                Ok(revision) => {
                    pinned.insert(file_stem(&path), revision);
                }
                Err(e) => problems.push(json_problem(&file, &e)),
            }
            revision_texts.insert(file, text);
        }
        if dir.is_dir() {
            revisions.insert(env_name.clone(), pinned);
        }
    }

    Ok(cluster.map(|cluster| Repo {
        root: root.to_path_buf(),
        cluster,
        cluster_file,
        envs,
        jobs,
        revisions,
        toml_sources,
        revision_texts,
    }))
}

fn read_text(path: &Path, file: &str, problems: &mut Problems) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(&e.into_bytes()[..valid]).into_owned();
                problems.push(
                    Problem::new(file, "file is not valid UTF-8").at(Some(line_col(&text, valid))),
                );
                None
            }
        },
        Err(e) => {
            problems.push(Problem::new(file, format!("cannot read: {e}")));
            None
        }
    }
}

pub(crate) fn json_problem(file: &str, e: &serde_json::Error) -> Problem {
    // serde_json reports "... at line L column C"; keep the message without the position.
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_string();
    let position = (e.line() > 0).then(|| (e.line(), e.column()));
    Problem::new(file, message).at(position)
}

/// Deserializes a TOML file, reporting syntax/type errors and every unknown key.
fn parse_toml<T: DeserializeOwned>(
    source: &TomlSource,
    file: &str,
    known_keys: fn(&[Seg]) -> &'static [&'static str],
    problems: &mut Problems,
) -> Option<T> {
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let deserializer = toml::Deserializer::new(&source.text);
    let result: Result<T, toml::de::Error> =
        serde_ignored::deserialize(deserializer, |path| unknown.push(ignored_path(&path)));
    for path in &unknown {
        let (key, parent) = match path.split_last() {
            Some((Seg::Key(key), parent)) => (key.as_str(), parent),
            _ => continue,
        };
        let hint = suggest(key, known_keys(parent).iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        problems.push(
            Problem::new(file, format!("unknown key `{key}`{hint}"))
                .field(field_name(path))
                .at(source.locate(path)),
        );
    }
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            let position = e.span().map(|span| line_col(&source.text, span.start));
            problems.push(Problem::new(file, e.message().trim().to_string()).at(position));
            None
        }
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    use serde_ignored::Path as P;
    let mut segs = match path {
        P::Root => return Vec::new(),
        P::Seq { parent, .. }
        | P::Map { parent, .. }
        | P::Some { parent }
        | P::NewtypeStruct { parent }
        | P::NewtypeVariant { parent } => ignored_path(parent),
    };
    match path {
        P::Seq { index, .. } => segs.push(Seg::Index(*index)),
        P::Map { key, .. } => segs.push(Seg::Key(key.clone())),
        _ => {}
    }
    segs
}

fn known_cluster_keys(parent: &[Seg]) -> &'static [&'static str] {
    use serde_aux::serde_introspection::serde_introspect as fields;
    match parent {
        [] => fields::<Cluster>(),
        [Seg::Key(k)] if k == "aws" => fields::<AwsSettings>(),
        [Seg::Key(k)] if k == "core" => fields::<CoreSettings>(),
        [Seg::Key(k)] if k == "monitoring" => fields::<MonitoringSettings>(),
        [Seg::Key(k)] if k == "nomad" => fields::<NomadSettings>(),
        [Seg::Key(k)] if k == "terraform" => fields::<TerraformSettings>(),
        [Seg::Key(k)] if k == "ssh" => fields::<SshSettings>(),
        [Seg::Key(k)] if k == "rebuild" => fields::<RebuildSettings>(),
        [Seg::Key(k), Seg::Index(_)] if k == "clients" => fields::<ClientGroup>(),
        [Seg::Key(k)] if k == "network" => fields::<NetworkSettings>(),
        [Seg::Key(k), _] if k == "nodes" => fields::<NodeSettings>(),
        [Seg::Key(k)] if k == "routing" => fields::<RoutingSettings>(),
        [Seg::Key(k), Seg::Index(_)] if k == "rules" => fields::<RuleSettings>(),
        [Seg::Key(k), _] if k == "variants" => fields::<Variant>(),
        [Seg::Key(k), _] if k == "sources" => fields::<Source>(),
        _ => &[],
    }
}

fn known_env_keys(parent: &[Seg]) -> &'static [&'static str] {
    match parent {
        [] => serde_aux::serde_introspection::serde_introspect::<EnvironmentFile>(),
        [Seg::Key(k)] if k == "ecs" => {
            serde_aux::serde_introspection::serde_introspect::<environment::EcsSettings>()
        }
        _ => &[],
    }
}
