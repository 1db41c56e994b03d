//! Where each workspace keeps its state, and how a workspace reads another's outputs.
//!
//! S3: the cluster's state bucket, key `opsctl/<cluster>/<workspace>/terraform.tfstate`,
//! encrypted with the cluster's KMS key and locked (an S3 lock file from terraform 1.10 on,
//! the DynamoDB table before). Local: `.opsctl/<cluster>/<workspace>/terraform.tfstate`.
//!
//! Endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...) are read from the
//! environment when a workspace is rendered for init, and written in the binary's dialect.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Version, Workspace};
use crate::repo::{BackendKind, Cluster};

/// How a workspace reads an upstream workspace's state (`terraform_remote_state`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteState {
    /// The backend type: `s3` or `local`.
    pub backend: String,
    /// Its settings: bucket, key and region (plus endpoints) for S3; the state file's path,
    /// relative to the reading workspace's directory, for local.
    pub config: Map<String, Value>,
}

/// Locking for the S3 backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lock {
    /// `use_lockfile`: a `<key>.tflock` object beside the state (terraform >= 1.10).
    Lockfile,
    /// `dynamodb_table`: a table with a `LockID` string hash key (terraform < 1.10).
    DynamoDb(String),
}

/// AWS endpoint overrides, as the AWS SDKs read them from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// S3 endpoint (`AWS_ENDPOINT_URL_S3`).
    pub s3: Option<String>,
    /// DynamoDB endpoint, for the lock table (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub dynamodb: Option<String>,
    /// STS endpoint (`AWS_ENDPOINT_URL_STS`).
    pub sts: Option<String>,
    /// IAM endpoint (`AWS_ENDPOINT_URL_IAM`).
    pub iam: Option<String>,
}

impl Endpoints {
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`; none when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true (`lookup` reads the variables).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Endpoints {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v == "true") {
            return Endpoints::default();
        }
        let global = get("AWS_ENDPOINT_URL");
        let service =
            |suffix: &str| get(&format!("AWS_ENDPOINT_URL_{suffix}")).or_else(|| global.clone());
        Endpoints {
            s3: service("S3"),
            dynamodb: service("DYNAMODB"),
            sts: service("STS"),
            iam: service("IAM"),
        }
    }

    fn any(&self) -> bool {
        self.s3.is_some() || self.dynamodb.is_some() || self.sts.is_some() || self.iam.is_some()
    }
}

/// The S3 state settings of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct S3State {
    /// The state bucket (`[aws].state_bucket`).
    pub bucket: String,
    /// The bucket's region (`[aws].region`).
    pub region: String,
    /// KMS key the state objects are encrypted with (`kms_key_id`); `None` uses S3's default
    /// server-side encryption.
    pub kms_key: Option<String>,
    /// How concurrent runs are kept apart.
    pub lock: Lock,
    /// Endpoint overrides from the environment; all `None` talks to AWS itself.
    pub endpoints: Endpoints,
    /// The binary takes `endpoints`/`use_path_style` (>= 1.6) rather than the older keys.
    pub endpoints_block: bool,
}

/// A cluster's state backend for one terraform version and environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backend {
    /// The cluster's name, part of every S3 state key.
    pub cluster: String,
    /// Where state lives: S3 when the cluster asks for it (`[terraform].backend`, by default
    /// when it has an `[aws]` section) and has `[aws]`; otherwise local.
    pub kind: BackendKind,
    /// The S3 settings; `None` for the local backend.
    pub s3: Option<S3State>,
}

/// File name of a workspace's state with the local backend, relative to its directory.
pub const LOCAL_STATE_FILE: &str = "terraform.tfstate";

impl Backend {
    /// The backend `cluster` asks for, written for `version` (locking and endpoint keys differ).
    pub fn new(cluster: &Cluster, version: Version, endpoints: Endpoints) -> Backend {
        let kind = cluster.backend_kind();
        let s3 = match (kind, &cluster.aws) {
            (BackendKind::S3, Some(aws)) => Some(S3State {
                bucket: aws.state_bucket.clone(),
                region: aws.region.clone(),
                kms_key: aws.kms_key.clone(),
                lock: if version.has_s3_lockfile() {
                    Lock::Lockfile
                } else {
                    Lock::DynamoDb(
                        cluster
                            .terraform
                            .lock_table
                            .clone()
                            .unwrap_or_else(|| format!("{}-lock", aws.state_bucket)),
                    )
                },
                endpoints,
                endpoints_block: version.has_s3_endpoints_block(),
            }),
            _ => None,
        };
        Backend {
            cluster: cluster.name.clone(),
            kind: if s3.is_some() {
                BackendKind::S3
            } else {
                BackendKind::Local
            },
            s3,
        }
    }

    /// `opsctl/<cluster>/<workspace>/terraform.tfstate`
    pub fn state_key(&self, workspace: Workspace) -> String {
        format!("opsctl/{}/{workspace}/terraform.tfstate", self.cluster)
    }

    /// `opsctl/<cluster>/envs/<env>/terraform.tfstate`: an environment's own workspace.
    pub fn env_state_key(&self, env: &str) -> String {
        format!("opsctl/{}/envs/{env}/terraform.tfstate", self.cluster)
    }

    /// The `terraform { backend "<kind>" { ... } }` block of `workspace`.
    pub fn block(&self, workspace: Workspace) -> (&'static str, Map<String, Value>) {
        self.block_at(self.state_key(workspace))
    }

    /// The backend block of environment `env`'s workspace.
    pub fn env_block(&self, env: &str) -> (&'static str, Map<String, Value>) {
        self.block_at(self.env_state_key(env))
    }

    fn block_at(&self, key: String) -> (&'static str, Map<String, Value>) {
        match &self.s3 {
            None => ("local", object(json!({ "path": LOCAL_STATE_FILE }))),
            Some(s3) => {
                let mut config = self.s3_location(s3, key);
                config.insert("encrypt".into(), true.into());
                if let Some(key) = &s3.kms_key {
                    config.insert("kms_key_id".into(), key.clone().into());
                }
                match &s3.lock {
                    Lock::Lockfile => config.insert("use_lockfile".into(), true.into()),
                    Lock::DynamoDb(table) => {
                        config.insert("dynamodb_table".into(), table.clone().into())
                    }
                };
                ("s3", config)
            }
        }
    }

    /// How another workspace reads `workspace`'s state. Local paths are relative to the
    /// reading workspace's directory, a sibling of `workspace`'s.
    pub fn remote_state(&self, workspace: Workspace) -> RemoteState {
        match &self.s3 {
            None => RemoteState {
                backend: "local".into(),
                config: object(json!({ "path": format!("../{workspace}/{LOCAL_STATE_FILE}") })),
            },
            Some(s3) => RemoteState {
                backend: "s3".into(),
                config: self.s3_location(s3, self.state_key(workspace)),
            },
        }
    }

    /// Bucket, key, region and endpoint settings shared by the backend and remote state.
    fn s3_location(&self, s3: &S3State, key: String) -> Map<String, Value> {
        let mut config = object(json!({
            "bucket": s3.bucket,
            "key": key,
            "region": s3.region,
        }));
        let e = &s3.endpoints;
        if !e.any() {
            return config;
        }
        if s3.endpoints_block {
            let mut endpoints = Map::new();
            for (name, url) in [
                ("s3", &e.s3),
                ("dynamodb", &e.dynamodb),
                ("sts", &e.sts),
                ("iam", &e.iam),
            ] {
                if let Some(url) = url {
                    endpoints.insert(name.into(), url.clone().into());
                }
            }
            config.insert("endpoints".into(), Value::Object(endpoints));
            config.insert("use_path_style".into(), true.into());
        } else {
            for (name, url) in [
                ("endpoint", &e.s3),
                ("dynamodb_endpoint", &e.dynamodb),
                ("sts_endpoint", &e.sts),
                ("iam_endpoint", &e.iam),
            ] {
                if let Some(url) = url {
                    config.insert(name.into(), url.clone().into());
                }
            }
            config.insert("force_path_style".into(), true.into());
        }
        // A local endpoint has no instance metadata service to ask for credentials.
        config.insert("skip_metadata_api_check".into(), true.into());
        config
    }

    /// Whether `workspace` has state yet (`workspaces_dir` holds one folder per workspace).
    pub async fn state_exists(
        &self,
        workspaces_dir: &Path,
        workspace: Workspace,
    ) -> anyhow::Result<bool> {
        let Some(s3) = &self.s3 else {
            return Ok(workspaces_dir
                .join(workspace.as_str())
                .join(LOCAL_STATE_FILE)
                .is_file());
        };
        let config = crate::aws::config(&s3.region).await;
        let client = crate::aws::s3(&config);
        let key = self.state_key(workspace);
        match client
            .head_object()
            .bucket(&s3.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e))
                .with_context(|| format!("checking s3://{}/{key}", s3.bucket)),
        }
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(extra: &str) -> Cluster {
        let text = format!(
            r#"name = "c"
domain = "c.example.org"
[aws]
region = "eu-west-1"
state_bucket = "c-state"
kms_key = "arn:aws:kms:eu-west-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f"
[core]
count = 3
instance_type = "t3.small"
[nomad]
address = "https://nomad.c.example.org"
datacenters = ["eu-west-1"]
{extra}"#
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn new_binaries_lock_with_a_lockfile_and_old_ones_with_dynamodb() {
        let c = cluster("");
        let (kind, new) =
            Backend::new(&c, Version::new(1, 11, 0), Endpoints::default()).block(Workspace::Core);
        assert_eq!(kind, "s3");
        assert_eq!(new["use_lockfile"], true);
        assert_eq!(new["key"], "opsctl/c/core/terraform.tfstate");
        assert_eq!(new["encrypt"], true);
        assert!(new["kms_key_id"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms"));
        let (_, old) =
            Backend::new(&c, Version::new(1, 0, 3), Endpoints::default()).block(Workspace::Core);
        assert_eq!(old["dynamodb_table"], "c-state-lock");
        assert!(old.get("use_lockfile").is_none());
    }

    #[test]
    fn endpoints_come_from_the_environment_in_the_binarys_dialect() {
        let env = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".to_string()),
            "AWS_ENDPOINT_URL_S3" => Some("http://127.0.0.1:5001".to_string()),
            _ => None,
        };
        let c = cluster("");
        let new = Backend::new(&c, Version::new(1, 11, 0), Endpoints::from_lookup(env));
        let (_, config) = new.block(Workspace::Network);
        assert_eq!(config["endpoints"]["s3"], "http://127.0.0.1:5001");
        assert_eq!(config["endpoints"]["sts"], "http://127.0.0.1:5000");
        assert_eq!(config["use_path_style"], true);
        let old = Backend::new(&c, Version::new(1, 0, 3), Endpoints::from_lookup(env));
        let remote = old.remote_state(Workspace::Network);
        assert_eq!(remote.config["endpoint"], "http://127.0.0.1:5001");
        assert_eq!(remote.config["force_path_style"], true);
        let plain = Backend::new(&c, Version::new(1, 11, 0), Endpoints::default());
        assert!(plain.block(Workspace::Network).1.get("endpoints").is_none());
    }

    #[test]
    fn the_local_backend_keeps_state_beside_each_workspace() {
        let c = cluster("[terraform]\nbackend = \"local\"\n");
        let backend = Backend::new(&c, Version::new(1, 11, 0), Endpoints::default());
        assert_eq!(backend.block(Workspace::Core).0, "local");
        let remote = backend.remote_state(Workspace::Network);
        assert_eq!(remote.config["path"], "../network/terraform.tfstate");
    }
}
