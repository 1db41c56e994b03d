//! The files of an ad hoc environment: `clusters/<cluster>/envs/<NAME>.toml` (toml_edit, so a
//! renewal keeps comments and layout) and `revisions/<NAME>/`. Every write goes through a
//! temporary file and a rename; a new environment file is created exclusively, so of two
//! applies racing for one name only one creates it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use toml_edit::{value, DocumentMut, InlineTable};

use super::EnvError;
use crate::error::Result;
use crate::repo::{EcsSettings, Revision, Target};

/// What an environment file says, as `env apply` writes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EnvFields {
    pub variant: String,
    pub description: String,
    pub port_base: Option<u32>,
    pub revisions_from: Option<String>,
    pub branches: BTreeMap<String, String>,
    pub vars: BTreeMap<String, toml::Value>,
    pub ttl: String,
    pub created: String,
    pub expires: String,
    pub owner: String,
    pub from: Option<String>,
    pub target: Target,
    /// ECS environments: cluster, region and one service per job (named after the environment).
    pub ecs: Option<EcsSettings>,
}

/// The text of a new environment file.
pub fn render_new(fields: &EnvFields, name: &str) -> String {
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(format!(
        "# Ad hoc environment made by `opsctl env apply`; `opsctl env destroy {name}` removes it\n\
         # and everything it runs. `opsctl env gc` destroys it once it expires.\n"
    ));
    doc["variant"] = value(&fields.variant);
    doc["description"] = value(&fields.description);
    if let Some(ecs) = &fields.ecs {
        doc["target"] = value("ecs");
        let mut table = toml_edit::Table::new();
        table["cluster"] = value(&ecs.cluster);
        if let Some(region) = &ecs.region {
            table["region"] = value(region);
        }
        let mut services = InlineTable::new();
        for (job, service) in &ecs.services {
            services.insert(job, service.as_str().into());
        }
        table["services"] = value(services);
        doc["ecs"] = toml_edit::Item::Table(table);
    }
    update(&mut doc, fields);
    doc.to_string()
}

/// Sets every field `env apply` owns on `doc`, leaving others (and comments) alone.
pub fn update(doc: &mut DocumentMut, fields: &EnvFields) {
    match fields.port_base {
        Some(base) => doc["port_base"] = value(i64::from(base)),
        None => {
            doc.remove("port_base");
        }
    }
    match &fields.revisions_from {
        Some(from) => doc["revisions_from"] = value(from),
        None => {
            doc.remove("revisions_from");
        }
    }
    if fields.branches.is_empty() {
        doc.remove("branches");
    } else {
        let mut table = InlineTable::new();
        for (source, branch) in &fields.branches {
            table.insert(source, branch.as_str().into());
        }
        doc["branches"] = value(table);
    }
    if !fields.vars.is_empty() && !doc.contains_key("vars") {
        let mut table = InlineTable::new();
        for (key, v) in &fields.vars {
            if let Some(v) = toml_value(v) {
                table.insert(key, v);
            }
        }
        doc["vars"] = value(table);
    }
    doc["ttl"] = value(&fields.ttl);
    doc["created"] = value(&fields.created);
    doc["expires"] = value(&fields.expires);
    doc["owner"] = value(&fields.owner);
    if let Some(from) = &fields.from {
        doc["from"] = value(from);
    }
}

fn toml_value(v: &toml::Value) -> Option<toml_edit::Value> {
    Some(match v {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        other => other.to_string().parse::<toml_edit::Value>().ok()?,
    })
}

/// Creates `path` with `text` only if it does not exist (temp file + hard link: atomic and
/// exclusive). `Raced` when another writer created it first.
pub fn create_exclusive(path: &Path, text: &str, name: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".opsctl-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(EnvError::Raced(name.to_string()).into())
        }
        Err(e) => Err(anyhow::Error::from(e)
            .context(format!("creating {}", path.display()))
            .into()),
    }
}

/// Rewrites an existing environment file with `fields`, keeping everything else.
pub fn update_file(path: &Path, fields: &EnvFields) -> Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| crate::Error::invalid(format!("{}: not valid TOML: {e}", path.display())))?;
    update(&mut doc, fields);
    let new = doc.to_string();
    if new == text {
        return Ok(false);
    }
    crate::fsutil::write_atomic(path, new.as_bytes(), None)?;
    Ok(true)
}

/// Writes the revision files of `revisions` into `dir`; returns the files that changed.
pub fn write_revisions(dir: &Path, revisions: &BTreeMap<String, Revision>) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (source, revision) in revisions {
        let path = dir.join(format!("{source}.json"));
        let mut body = serde_json::to_vec_pretty(revision).map_err(anyhow::Error::from)?;
        body.push(b'\n');
        if std::fs::read(&path).ok().as_deref() == Some(&body[..]) {
            continue;
        }
        crate::fsutil::write_atomic(&path, &body, None)?;
        written.push(path);
    }
    Ok(written)
}

/// Removes a file or folder; absent is fine. Returns whether something was removed.
pub fn remove(path: &Path) -> Result<bool> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(anyhow::Error::from(e)
            .context(format!("removing {}", path.display()))
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EnvFields {
        EnvFields {
            variant: "marlowe".into(),
            description: "ad hoc".into(),
            port_base: Some(1068),
            revisions_from: None,
            branches: [("marlowe-cardano".to_string(), "feature/x".to_string())].into(),
            vars: [("run_instances".to_string(), toml::Value::Integer(1))].into(),
            ttl: "72h".into(),
            created: "2026-12-01T10:00:00Z".into(),
            expires: "2026-12-04T10:00:00Z".into(),
            owner: "ana".into(),
            from: Some("staging".into()),
            target: Target::Nomad,
            ecs: None,
        }
    }

    #[test]
    fn an_ecs_environment_file_names_its_services() {
        let mut f = fields();
        f.port_base = None;
        f.target = Target::Ecs;
        f.ecs = Some(EcsSettings {
            cluster: "plutus-ecs".into(),
            region: None,
            services: [("web".to_string(), "web-x".to_string())].into(),
        });
        let text = render_new(&f, "x");
        let parsed: crate::repo::EnvironmentFile = toml::from_str(&text).unwrap();
        assert_eq!(parsed.target, Target::Ecs);
        assert_eq!(parsed.ecs, f.ecs);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, &text).unwrap();
        assert!(
            !update_file(&path, &f).unwrap(),
            "a renewal keeps the [ecs] table"
        );
    }

    #[test]
    fn new_file_parses_back_and_a_renewal_keeps_comments() {
        let text = render_new(&fields(), "x");
        let parsed: crate::repo::EnvironmentFile = toml::from_str(&text).unwrap();
        assert_eq!(parsed.port_base, Some(1068));
        assert_eq!(parsed.expires.as_deref(), Some("2026-12-04T10:00:00Z"));
        assert_eq!(parsed.from.as_deref(), Some("staging"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, format!("{text}# kept\n")).unwrap();
        assert!(!update_file(&path, &fields()).unwrap(), "nothing changed");
        let mut renewed = fields();
        renewed.expires = "2026-12-05T10:00:00Z".into();
        assert!(update_file(&path, &renewed).unwrap());
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.contains("# kept") && after.contains("2026-12-05T10:00:00Z"));
        assert_eq!(after.lines().count(), text.lines().count() + 1);
    }

    #[test]
    fn exclusive_create_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("envs/x.toml");
        create_exclusive(&path, "a = 1\n", "x").unwrap();
        let second = create_exclusive(&path, "a = 2\n", "x").unwrap_err();
        assert!(second.to_string().contains("another apply"), "{second}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 1\n");
        let leftovers = std::fs::read_dir(dir.path().join("envs")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }
}
