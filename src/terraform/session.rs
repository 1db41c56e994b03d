//! One terraform use-case per action: a [`Session`] renders a cluster's workspaces, writes
//! each configuration before terraform reads it, and owns the guards (upstream state, the
//! saved plan's configuration hash).
//!
//! The terraform version only chooses the backend dialect. A session for commands that run
//! terraform asks the binary (`terraform version -json`) and caches the answer beside the
//! workspaces; an offline session (`config`) starts no process: it takes
//! `[terraform].version`, else that cache while the binary is unchanged, else 1.10.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::provider::{render_workspace, EnvRenderRequest};
use super::report::{
    visible_outputs, ApplyReport, ConfigReport, DestroyReport, InitReport, PlanReport,
};
use super::runner::{config_hash, Binary, PlanSummary, Runner, CONFIG_FILE, PLAN_FILE};
use super::{provider_for, Backend, Document, Provider, Version, Workspace};
use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, write_generated};
use crate::repo::Repo;
use crate::settings::Settings;

/// The dialect written when no version is known: current terraform.
pub const DEFAULT_VERSION: Version = Version::new(1, 10, 0);
/// The version cache, in `.opsctl/<cluster>/`.
pub const VERSION_CACHE_FILE: &str = "terraform-version.json";
/// Beside a workspace's `main.tf.json`: what it was last rendered from (the fingerprint of
/// the inputs) and the SHA-256 of what was written then.
pub const INPUTS_FILE: &str = "rendered-from.json";

/// The content of [`INPUTS_FILE`].
#[derive(Debug, Serialize, Deserialize)]
struct RenderedFrom {
    inputs: String,
    sha256: String,
}

/// The report of a `config` with nothing to render: the recorded inputs are `inputs` and
/// the file at `path` still holds what was written from them.
fn unchanged_config(
    workspace: Workspace,
    path: &Path,
    recorded: &Path,
    inputs: &str,
) -> Option<ConfigReport> {
    let record: RenderedFrom = serde_json::from_slice(&std::fs::read(recorded).ok()?).ok()?;
    if record.inputs != inputs {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let sha256 = config_hash(&bytes);
    (sha256 == record.sha256).then(|| ConfigReport {
        workspace,
        path: path.to_path_buf(),
        sha256,
        bytes: bytes.len(),
        written: false,
        rendered: false,
    })
}

/// A cluster's workspaces, ready to render and, with a binary, to run terraform over.
pub struct Session {
    repo: Repo,
    provider: Box<dyn Provider>,
    backend: Backend,
    /// The version given to the provider, when known.
    version: Option<Version>,
    binary: Option<Binary>,
    interactive: bool,
    /// What every workspace's render depends on, hashed once ([`Session::inputs`]).
    inputs: std::sync::OnceLock<Option<Vec<u8>>>,
}

/// A saved plan that passed the guards, waiting for confirmation.
pub struct PendingApply {
    runner: Runner,
    workspace: Workspace,
    /// What the saved plan does.
    pub summary: PlanSummary,
}

/// A workspace whose configuration is written, waiting for confirmation to destroy it.
pub struct PendingDestroy {
    runner: Runner,
    workspace: Workspace,
    document: Document,
}

impl PendingApply {
    /// The confirmation question: what the plan does to which workspace of `cluster`.
    pub fn question(&self, cluster: &str) -> String {
        format!(
            "Apply to {} of cluster {cluster}: {} to add, {} to change, {} to destroy?",
            self.runner.label, self.summary.add, self.summary.change, self.summary.destroy
        )
    }
}

impl Session {
    /// A session that starts no process: for `config` and anything else offline.
    pub fn offline(repo: Repo, settings: &Settings) -> Result<Session> {
        let version = repo
            .cluster
            .terraform
            .version
            .as_deref()
            .and_then(Version::parse)
            .or_else(|| {
                let path =
                    Binary::locate(&repo.cluster, settings.terraform_binary.as_deref()).ok()?;
                read_cached_version(&repo.work_dir(), &path)
            });
        Session::new(repo, settings, version, None, false)
    }

    /// A session for commands that run terraform: finds the binary, asks its version and
    /// caches it for later offline sessions. `interactive`: a person is at the terminal.
    pub async fn with_terraform(
        repo: Repo,
        settings: &Settings,
        interactive: bool,
    ) -> Result<Session> {
        let binary = Binary::find(&repo.cluster, settings.terraform_binary.as_deref()).await?;
        if let Err(e) = write_cached_version(&repo.work_dir(), &binary) {
            tracing::warn!("could not cache the terraform version: {e}");
        }
        Session::new(
            repo,
            settings,
            Some(binary.version),
            Some(binary),
            interactive,
        )
    }

    fn new(
        repo: Repo,
        settings: &Settings,
        version: Option<Version>,
        binary: Option<Binary>,
        interactive: bool,
    ) -> Result<Session> {
        let backend = Backend::new(
            &repo.cluster,
            version.unwrap_or(DEFAULT_VERSION),
            settings.endpoints.clone(),
        );
        let provider = provider_for(&repo.cluster)?;
        Ok(Session {
            repo,
            provider,
            backend,
            version,
            binary,
            interactive,
            inputs: std::sync::OnceLock::new(),
        })
    }

    /// The repository the session works on.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.repo.cluster.name
    }

    /// The workspaces the provider offers, in dependency order.
    pub fn workspaces(&self) -> Vec<Workspace> {
        let offered = self.provider.workspaces();
        Workspace::ALL
            .into_iter()
            .filter(|w| offered.contains(w))
            .collect()
    }

    /// The workspace's Terraform JSON, backend included.
    pub async fn document(&self, workspace: Workspace) -> Result<Document> {
        render_workspace(
            self.provider.as_ref(),
            &self.repo.cluster,
            &self.backend,
            workspace,
            self.version,
        )
        .await
    }

    fn runner(&self, workspace: Workspace) -> Result<Runner> {
        let binary = self.binary.clone().ok_or_else(|| {
            Error::failed(format!(
                "workspace `{workspace}`: this session was opened without a terraform binary"
            ))
        })?;
        Ok(Runner::new(
            binary,
            &self.repo.work_dir(),
            workspace,
            self.interactive,
        ))
    }

    /// Renders the workspace and writes its configuration (the runner's directory).
    async fn prepare(&self, workspace: Workspace) -> Result<(Runner, Document, String)> {
        let document = self.document(workspace).await?;
        let runner = self.runner(workspace)?;
        let (_, sha256) = runner.write_config(&document)?;
        Ok((runner, document, sha256))
    }

    /// Refuses when an upstream workspace has no state yet.
    pub async fn require_upstream_state(&self, workspace: Workspace) -> Result<()> {
        for upstream in workspace.upstream() {
            if !self
                .backend
                .state_exists(&self.repo.work_dir(), upstream)
                .await?
            {
                return Err(Error::invalid(format!(
                    "workspace `{upstream}` has no state yet: run `opsctl terraform {upstream} apply` before `{workspace}`"
                )));
            }
        }
        Ok(())
    }

    /// `config`: writes `.opsctl/<cluster>/<workspace>/main.tf.json`; starts no process
    /// for the built-in provider. Nothing is rendered when the workspace's inputs are those
    /// of the last write and the file still holds what was written ([`INPUTS_FILE`]).
    pub async fn config(&self, workspace: Workspace) -> Result<ConfigReport> {
        let dir = self.repo.work_dir().join(workspace.as_str());
        let path = dir.join(CONFIG_FILE);
        let inputs = self.inputs(workspace);
        let recorded = dir.join(INPUTS_FILE);
        if let Some(report) = inputs
            .as_deref()
            .and_then(|inputs| unchanged_config(workspace, &path, &recorded, inputs))
        {
            return Ok(report);
        }
        let document = self.document(workspace).await?;
        let bytes = document.to_bytes();
        let written = write_generated(&path, &bytes, Some(0o644))?;
        let sha256 = config_hash(&bytes);
        if let Some(inputs) = inputs {
            let record = RenderedFrom {
                inputs,
                sha256: sha256.clone(),
            };
            let text = serde_json::to_vec(&record).unwrap_or_default();
            if let Err(e) = write_generated(&recorded, &text, Some(0o644)) {
                tracing::warn!("could not record what {workspace} was rendered from: {e}");
            }
        }
        Ok(ConfigReport {
            workspace,
            path,
            sha256,
            bytes: bytes.len(),
            written,
            rendered: true,
        })
    }

    /// The fingerprint of everything a built-in provider renders `workspace` from: this
    /// opsctl executable (path, size, modification time), the cluster model, the backend,
    /// the workspace and the terraform version. `None` for external providers, or when the
    /// executable cannot be identified.
    fn inputs(&self, workspace: Workspace) -> Option<String> {
        use sha2::{Digest, Sha256};
        let shared = self
            .inputs
            .get_or_init(|| {
                if !self.provider.built_in() {
                    return None;
                }
                let exe = std::env::current_exe().ok()?;
                let meta = std::fs::metadata(&exe).ok()?;
                let modified = meta
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_nanos();
                let request = (
                    env!("CARGO_PKG_VERSION"),
                    exe,
                    meta.len(),
                    modified,
                    self.provider.name(),
                    &self.repo.cluster,
                    &self.backend,
                    self.version.map(|v| v.to_string()),
                );
                serde_json::to_vec(&request).ok()
            })
            .as_deref()?;
        let mut hasher = Sha256::new();
        hasher.update(shared);
        hasher.update(workspace.as_str().as_bytes());
        Some(hex::encode(hasher.finalize()))
    }

    /// `init`: writes the configuration and runs `terraform init -reconfigure`.
    pub async fn init(&self, workspace: Workspace) -> Result<InitReport> {
        let (runner, document, _) = self.prepare(workspace).await?;
        let text = runner.init(&document).await?;
        Ok(InitReport {
            workspace,
            terraform: runner.binary.version,
            backend: self.backend.kind,
            text,
        })
    }

    /// `plan`: upstream state required; saves the plan with the configuration's hash.
    pub async fn plan(&self, workspace: Workspace) -> Result<PlanReport> {
        self.require_upstream_state(workspace).await?;
        let (runner, document, sha256) = self.prepare(workspace).await?;
        runner.ensure_init(&document).await?;
        let (summary, text) = runner.plan(&sha256).await?;
        Ok(PlanReport {
            workspace,
            changes: summary.has_changes(),
            summary,
            plan_file: runner.dir.join(PLAN_FILE),
            text,
        })
    }

    /// The guards of `apply`: upstream state, a saved plan made from the configuration as
    /// it renders now. Returns what the plan would do, for the confirmation.
    pub async fn check_apply(&self, workspace: Workspace) -> Result<PendingApply> {
        self.require_upstream_state(workspace).await?;
        self.check_saved_plan(workspace).await
    }

    /// The saved-plan guard of `apply` alone (a saved plan was made with upstream state).
    pub async fn check_saved_plan(&self, workspace: Workspace) -> Result<PendingApply> {
        let document = self.document(workspace).await?;
        let runner = self.runner(workspace)?;
        let current = config_hash(&document.to_bytes());
        match runner.planned_hash() {
            None => {
                return Err(Error::invalid(format!(
                    "no saved plan for workspace `{workspace}`: run `opsctl terraform {workspace} plan` first"
                )))
            }
            Some(planned) if planned != current => {
                return Err(Error::invalid(format!(
                    "the configuration of workspace `{workspace}` changed since it was planned: run `opsctl terraform {workspace} plan` again"
                )))
            }
            Some(_) => {}
        }
        let summary = runner.saved_plan_summary().await?;
        Ok(PendingApply {
            runner,
            workspace,
            summary,
        })
    }

    /// `apply` of a checked saved plan; reports the outputs (sensitive ones masked).
    pub async fn apply(&self, pending: PendingApply) -> Result<ApplyReport> {
        let PendingApply {
            runner,
            workspace,
            summary,
        } = pending;
        let text = runner.apply().await?;
        let outputs = visible_outputs(runner.outputs().await?);
        Ok(ApplyReport {
            workspace,
            summary,
            outputs,
            text,
        })
    }

    /// Writes the configuration `destroy` will run with.
    pub async fn prepare_destroy(&self, workspace: Workspace) -> Result<PendingDestroy> {
        let (runner, document, _) = self.prepare(workspace).await?;
        Ok(PendingDestroy {
            runner,
            workspace,
            document,
        })
    }

    /// `destroy`: everything in the workspace.
    pub async fn destroy(&self, pending: PendingDestroy) -> Result<DestroyReport> {
        let PendingDestroy {
            runner,
            workspace,
            document,
        } = pending;
        runner.ensure_init(&document).await?;
        let text = runner.destroy().await?;
        Ok(DestroyReport {
            workspace,
            destroyed: true,
            text,
        })
    }

    /// `terraform output -json` of the workspace: name → {value, type, sensitive}.
    pub async fn outputs(&self, workspace: Workspace) -> Result<Map<String, Value>> {
        let (runner, document, _) = self.prepare(workspace).await?;
        runner.ensure_init(&document).await?;
        runner.outputs().await
    }

    /// Environment `env`'s Terraform JSON (the provider's `env` workspace), backend included:
    /// state at `opsctl/<cluster>/envs/<env>/terraform.tfstate`.
    pub async fn env_document(&self, env: &str) -> Result<Document> {
        let request = EnvRenderRequest {
            cluster: &self.repo.cluster,
            environment: env,
            upstream: Workspace::ALL
                .into_iter()
                .filter(|w| self.provider.workspaces().contains(w))
                .map(|w| (w, self.backend.remote_state(w)))
                .collect(),
            terraform_version: self.version,
        };
        let mut document = self.provider.render_env(&request).await?;
        let (kind, config) = self.backend.env_block(env);
        document.set_backend(kind, config);
        Ok(document)
    }

    /// Writes environment `env`'s configuration to `.opsctl/<cluster>/envs/<env>/` and inits.
    async fn prepare_env(&self, env: &str) -> Result<(Runner, String)> {
        let document = self.env_document(env).await?;
        let binary = self.binary.clone().ok_or_else(|| {
            Error::failed(format!(
                "environment `{env}`: this session was opened without a terraform binary"
            ))
        })?;
        let runner = Runner::for_env(binary, &self.repo.work_dir(), env, self.interactive);
        let (_, sha256) = runner.write_config(&document)?;
        runner.ensure_init(&document).await?;
        Ok((runner, sha256))
    }

    /// `env apply`'s terraform step: plans environment `env`'s workspace and applies that
    /// plan (the environment's apply is the confirmation).
    pub async fn env_apply(&self, env: &str) -> Result<EnvTerraformReport> {
        let (runner, sha256) = self.prepare_env(env).await?;
        let (summary, _) = runner.plan(&sha256).await?;
        if summary.has_changes() {
            runner.apply().await?;
        }
        Ok(EnvTerraformReport {
            state_key: self.backend.env_state_key(env),
            summary,
            resources: runner.state_list().await?,
        })
    }

    /// `env destroy`'s terraform step: destroys everything in environment `env`'s workspace
    /// and reports what its state still holds (nothing, when it worked).
    pub async fn env_destroy(&self, env: &str) -> Result<EnvTerraformReport> {
        let (runner, _) = self.prepare_env(env).await?;
        runner.destroy().await?;
        Ok(EnvTerraformReport {
            state_key: self.backend.env_state_key(env),
            summary: PlanSummary::default(),
            resources: runner.state_list().await?,
        })
    }

    /// Any terraform command in the workspace directory, with the terminal.
    pub async fn passthrough(&self, workspace: Workspace, args: &[String]) -> Result<ExitStatus> {
        let (runner, _, _) = self.prepare(workspace).await?;
        runner.passthrough(args).await
    }
}

/// What an environment's terraform step did.
#[derive(Debug, Clone, Serialize)]
pub struct EnvTerraformReport {
    /// Where the state lives (S3 key; with the local backend, the same path under
    /// `.opsctl/<cluster>/`).
    pub state_key: String,
    /// What the plan did (all zero for destroy).
    pub summary: PlanSummary,
    /// Resource addresses the state holds afterwards (`terraform state list`).
    pub resources: Vec<String>,
}

/// What the cache remembers: the binary as it was when its version was asked.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CachedVersion {
    binary: PathBuf,
    size: u64,
    modified_ns: u128,
    version: String,
}

/// The binary's size and modification time (nanoseconds since the epoch).
fn fingerprint(binary: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(binary).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((meta.len(), modified.as_nanos()))
}

/// The cached version of `binary`, while the binary is the one it was cached for.
fn read_cached_version(work_dir: &Path, binary: &Path) -> Option<Version> {
    let text = std::fs::read(work_dir.join(VERSION_CACHE_FILE)).ok()?;
    let cached: CachedVersion = serde_json::from_slice(&text).ok()?;
    let (size, modified_ns) = fingerprint(binary)?;
    if cached.binary == binary && cached.size == size && cached.modified_ns == modified_ns {
        Version::parse(&cached.version)
    } else {
        None
    }
}

fn write_cached_version(work_dir: &Path, binary: &Binary) -> anyhow::Result<()> {
    let Some((size, modified_ns)) = fingerprint(&binary.path) else {
        return Ok(());
    };
    let cached = CachedVersion {
        binary: binary.path.clone(),
        size,
        modified_ns,
        version: binary.version.to_string(),
    };
    let path = work_dir.join(VERSION_CACHE_FILE);
    if read_cached_version(work_dir, &binary.path) == Some(binary.version) {
        return Ok(());
    }
    let mut bytes = serde_json::to_vec_pretty(&cached)?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes, Some(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_version_holds_only_for_the_same_binary() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("terraform");
        std::fs::write(&binary, "#!/bin/sh\n").unwrap();
        let found = Binary {
            path: binary.clone(),
            version: Version::new(1, 0, 3),
        };
        assert_eq!(read_cached_version(dir.path(), &binary), None);
        write_cached_version(dir.path(), &found).unwrap();
        assert_eq!(
            read_cached_version(dir.path(), &binary),
            Some(Version::new(1, 0, 3))
        );
        assert_eq!(
            read_cached_version(dir.path(), &dir.path().join("tofu")),
            None
        );
        // Replaced by another build: the size differs, the cache no longer holds.
        std::fs::write(&binary, "#!/bin/sh\n# newer\n").unwrap();
        assert_eq!(read_cached_version(dir.path(), &binary), None);
    }
}
