//! Terraform: providers render each workspace of a cluster to a Terraform JSON document,
//! and the runner drives the real `terraform` (or `tofu`) binary over it.
//!
//! Workspaces come in dependency order (`network` → `core` → `clients`); later ones read
//! earlier outputs through `terraform_remote_state` from the same backend.

pub mod all;
pub mod aws;
pub mod backend;
pub mod external;
pub mod provider;
pub mod report;
pub mod runner;
pub mod session;

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

pub use backend::{Backend, RemoteState};
pub use provider::{provider_for, Provider, RenderRequest};
pub use session::Session;

/// A unit of Terraform state, applied in the order of [`Workspace::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workspace {
    /// VPCs, subnets, gateways, routes, security groups, peering
    Network,
    /// Consul/Vault/Nomad servers and the monitoring node, IAM, DNS
    Core,
    /// Nomad client autoscaling groups
    Clients,
}

impl Workspace {
    /// Every workspace, in apply order (destroy goes in reverse).
    pub const ALL: [Workspace; 3] = [Workspace::Network, Workspace::Core, Workspace::Clients];

    /// The lowercase name, used for directories, state keys and `--workspace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Workspace::Network => "network",
            Workspace::Core => "core",
            Workspace::Clients => "clients",
        }
    }

    /// Workspaces that must have state before this one is applied.
    pub fn upstream(self) -> Vec<Workspace> {
        Workspace::ALL.into_iter().filter(|w| *w < self).collect()
    }
}

impl fmt::Display for Workspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Terraform JSON configuration (`main.tf.json`). Built through typed helpers; serialized
/// with every object's keys sorted, so the same input always gives the same bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    root: Map<String, Value>,
}

/// Why bytes are not a Terraform JSON document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON at all.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object (the kind it is).
    #[error("expected a JSON object, got {0}")]
    NotObject(&'static str),
}

impl Document {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a document produced elsewhere (an external provider); it must be a JSON object.
    pub fn from_json(bytes: &[u8]) -> Result<Document, DocumentError> {
        match serde_json::from_slice::<Value>(bytes)? {
            Value::Object(root) => Ok(Document { root }),
            other => Err(DocumentError::NotObject(json_kind(&other))),
        }
    }

    fn object(&mut self, path: &[&str]) -> &mut Map<String, Value> {
        let mut node = &mut self.root;
        for key in path {
            let entry = node
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made an object");
        }
        node
    }

    /// `terraform.required_providers.<name> = {source, version}`.
    pub fn require_provider(&mut self, name: &str, source: &str, version: &str) {
        self.object(&["terraform", "required_providers"]).insert(
            name.to_string(),
            serde_json::json!({ "source": source, "version": version }),
        );
    }

    /// `terraform.required_version`.
    pub fn require_terraform(&mut self, constraint: &str) {
        self.object(&["terraform"])
            .insert("required_version".into(), constraint.into());
    }

    /// Replaces any backend with `kind` configured by `config`.
    pub fn set_backend(&mut self, kind: &str, config: Map<String, Value>) {
        let mut backend = Map::new();
        backend.insert(kind.to_string(), Value::Object(config));
        self.object(&["terraform"])
            .insert("backend".into(), Value::Object(backend));
    }

    /// One `provider "<name>"` configuration; several (aliases) make a list.
    pub fn provider(&mut self, name: &str, config: Value) {
        let providers = self.object(&["provider"]);
        match providers.get_mut(name) {
            Some(Value::Array(list)) => list.push(config),
            _ => {
                providers.insert(name.to_string(), Value::Array(vec![config]));
            }
        }
    }

    /// Adds `resource.<kind>.<name>`; each resource may be defined only once per document.
    pub fn resource(&mut self, kind: &str, name: &str, body: Value) {
        let previous = self
            .object(&["resource", kind])
            .insert(name.to_string(), body);
        debug_assert!(previous.is_none(), "resource {kind}.{name} defined twice");
    }

    /// Adds `data.<kind>.<name>`; each data source may be defined only once per document.
    pub fn data(&mut self, kind: &str, name: &str, body: Value) {
        let previous = self.object(&["data", kind]).insert(name.to_string(), body);
        debug_assert!(previous.is_none(), "data {kind}.{name} defined twice");
    }

    /// Sets `locals.<name>`, replacing an earlier value.
    pub fn local(&mut self, name: &str, value: Value) {
        self.object(&["locals"]).insert(name.to_string(), value);
    }

    /// Sets `output.<name>` with its description, replacing an earlier one of that name.
    pub fn output(&mut self, name: &str, description: &str, value: Value) {
        self.object(&["output"]).insert(
            name.to_string(),
            serde_json::json!({ "description": description, "value": value }),
        );
    }

    /// `data.terraform_remote_state.<workspace>` reading an upstream workspace's outputs.
    pub fn remote_state(&mut self, workspace: Workspace, state: &RemoteState) {
        self.data(
            "terraform_remote_state",
            workspace.as_str(),
            serde_json::json!({ "backend": state.backend, "config": state.config }),
        );
    }

    /// The document as a JSON value with sorted keys.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(SortedMap(&self.root)).expect("JSON values convert")
    }

    /// The backend block (`terraform.backend`) as compact JSON with sorted keys (`null`
    /// without one): what `terraform init` was run for.
    pub fn backend_json(&self) -> String {
        let backend = self
            .root
            .get("terraform")
            .and_then(|t| t.get("backend"))
            .unwrap_or(&Value::Null);
        serde_json::to_string(&Sorted(backend)).expect("JSON values serialize")
    }

    /// Pretty JSON with sorted keys and a final newline: byte-identical for equal documents.
    /// Serialized in sorted order straight from the document, without a sorted copy.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(256 * 1024);
        serde_json::to_writer_pretty(&mut bytes, &SortedMap(&self.root))
            .expect("JSON values serialize");
        bytes.push(b'\n');
        bytes
    }
}

/// A JSON value serialized with every object's keys in sorted order.
struct Sorted<'a>(&'a Value);

/// A JSON object serialized with its keys in sorted order.
struct SortedMap<'a>(&'a Map<String, Value>);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            Value::Object(map) => SortedMap(map).serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

impl Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &Sorted(value))?;
        }
        map.end()
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A terraform/tofu version as `terraform version -json` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version; the backend's locking and endpoint keys depend on it.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses `1.11.4`, `v1.0.3` or `1.10.0-beta1`.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        Some(Version::new(major, minor, patch))
    }

    /// S3 lock files (`use_lockfile`) arrived in 1.10; older binaries lock with DynamoDB.
    pub fn has_s3_lockfile(self) -> bool {
        self >= Version::new(1, 10, 0)
    }

    /// The S3 backend took `endpoints = {...}` and `use_path_style` in 1.6.
    pub fn has_s3_endpoints_block(self) -> bool {
        self >= Version::new(1, 6, 0)
    }

    /// `terraform_data` resources arrived in 1.4.
    pub fn has_terraform_data(self) -> bool {
        self >= Version::new(1, 4, 0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_choose_features() {
        let old = Version::parse("1.0.3").unwrap();
        let new = Version::parse("v1.11.4").unwrap();
        assert!(!old.has_s3_lockfile() && !old.has_s3_endpoints_block());
        assert!(new.has_s3_lockfile() && new.has_s3_endpoints_block());
        assert_eq!(Version::parse("1.10.0-beta1"), Some(Version::new(1, 10, 0)));
        assert_eq!(Version::parse("one"), None);
    }

    #[test]
    fn documents_serialize_with_sorted_keys() {
        let mut a = Document::new();
        a.output("z", "", "1".into());
        a.output("a", "", serde_json::json!({"y": 1, "b": 2}));
        let text = String::from_utf8(a.to_bytes()).unwrap();
        assert!(text.find("\"a\"").unwrap() < text.find("\"z\"").unwrap());
        assert!(text.find("\"b\"").unwrap() < text.find("\"y\"").unwrap());
        assert!(Document::from_json(b"[]")
            .unwrap_err()
            .to_string()
            .contains("an array"));
    }

    /// A copy of `value` with every object's keys in sorted order: the reference the
    /// serialization without a copy is checked against.
    fn sorted_copy(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted_copy(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted_copy).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn sorted_serialization_is_the_bytes_of_the_sorted_copy() {
        let mut doc = Document::new();
        doc.require_provider("aws", "hashicorp/aws", "~> 6.0");
        for name in ["zeta", "alpha", "mid"] {
            doc.resource(
                "aws_instance",
                name,
                serde_json::json!({"tags": {"Z": "1", "A": [{"y": null, "b": true}, 2.5]}, "ami": name}),
            );
        }
        let copy = sorted_copy(&Value::Object(doc.root.clone()));
        let mut expected = serde_json::to_vec_pretty(&copy).unwrap();
        expected.push(b'\n');
        assert_eq!(doc.to_bytes(), expected);
        assert_eq!(doc.to_value(), copy);
        assert_eq!(doc.backend_json(), "null");
        doc.set_backend(
            "s3",
            serde_json::json!({"z": 1, "a": {"y": 2, "b": 3}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let copy = sorted_copy(&Value::Object(doc.root.clone()));
        assert_eq!(doc.backend_json(), copy["terraform"]["backend"].to_string());
    }
}
