//! Drives the real `terraform` (or `tofu`) binary in `.opsctl/<cluster>/<workspace>/`.
//!
//! `plan` saves `opsctl.tfplan` and, beside it, the SHA-256 of the `main.tf.json` it was made
//! from; `apply` runs the saved plan only while the configuration still hashes the same.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Document, Version, Workspace};
use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, write_generated};
use crate::process::{find_program, Process};
use crate::repo::Cluster;

/// The rendered configuration in each workspace directory.
pub const CONFIG_FILE: &str = "main.tf.json";
/// The plan `terraform plan -out` saves, which `apply` runs.
pub const PLAN_FILE: &str = "opsctl.tfplan";
/// Hex SHA-256 of the `main.tf.json` the saved plan was made from.
pub const PLAN_HASH_FILE: &str = "opsctl.tfplan.sha256";
/// Hash of the backend block terraform was last initialised with.
const INIT_HASH_FILE: &str = ".terraform/opsctl-backend.sha256";

/// A terraform-compatible binary and its version.
#[derive(Debug, Clone, Serialize)]
pub struct Binary {
    /// The binary: as named when the name has a `/`, else where it was found on `PATH`.
    pub path: PathBuf,
    /// Its version, from `terraform version -json`.
    pub version: Version,
}

impl Binary {
    /// `OPSCTL_TERRAFORM` (`from_env`), else `[terraform].binary`, else `terraform` or `tofu`
    /// on PATH; its version from `terraform version -json`.
    pub async fn find(cluster: &Cluster, from_env: Option<&str>) -> Result<Binary> {
        let path = Binary::locate(cluster, from_env)?;
        let version = Binary::probe(&path).await?;
        Ok(Binary { path, version })
    }

    /// Where the binary is, found without starting anything: `OPSCTL_TERRAFORM` (`from_env`),
    /// else `[terraform].binary`, else `terraform` or `tofu` on PATH.
    pub fn locate(cluster: &Cluster, from_env: Option<&str>) -> Result<PathBuf> {
        let (path, source) = if let Some(name) = from_env {
            (
                find_program(name),
                format!("OPSCTL_TERRAFORM names `{name}`"),
            )
        } else if let Some(name) = &cluster.terraform.binary {
            (
                find_program(name),
                format!("[terraform].binary names `{name}`"),
            )
        } else {
            (
                find_program("terraform").or_else(|| find_program("tofu")),
                "neither `terraform` nor `tofu` is on PATH".to_string(),
            )
        };
        path.ok_or_else(|| {
            Error::invalid(format!(
                "no terraform binary: {source} and no such program exists (install terraform or OpenTofu, or set OPSCTL_TERRAFORM)"
            ))
        })
    }

    /// The version `path` reports with `terraform version -json` (starts the binary).
    pub async fn probe(path: &Path) -> Result<Version> {
        let captured = Process::new(path, format!("{} version -json", path.display()))
            .args(["version", "-json"])
            .output()
            .await?;
        let version = serde_json::from_slice::<Value>(&captured.stdout)
            .ok()
            .and_then(|v| v["terraform_version"].as_str().and_then(Version::parse))
            .ok_or_else(|| {
                Error::failed(format!(
                    "{} version -json did not report a terraform_version",
                    path.display()
                ))
            })?;
        Ok(version)
    }
}

/// What a saved plan would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Resources to create (a replacement counts here and in `destroy`).
    pub add: usize,
    /// Resources to update in place.
    pub change: usize,
    /// Resources to delete.
    pub destroy: usize,
    /// Outputs whose value would change.
    pub outputs_changed: usize,
}

impl PlanSummary {
    /// Whether applying the plan would do anything, outputs included.
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.destroy + self.outputs_changed > 0
    }

    /// Counts from `terraform show -json <plan>`: a replacement adds and destroys.
    pub fn from_show_json(plan: &Value) -> PlanSummary {
        let mut summary = PlanSummary::default();
        for change in plan["resource_changes"].as_array().into_iter().flatten() {
            let actions: Vec<&str> = change["change"]["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for action in actions {
                match action {
                    "create" => summary.add += 1,
                    "update" => summary.change += 1,
                    "delete" => summary.destroy += 1,
                    _ => {}
                }
            }
        }
        if let Some(outputs) = plan["output_changes"].as_object() {
            summary.outputs_changed = outputs
                .values()
                .filter(|o| {
                    o["actions"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x != "no-op"))
                })
                .count();
        }
        summary
    }
}

/// The SHA-256 of a configuration, hex.
pub fn config_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Terraform in one workspace directory.
pub struct Runner {
    /// The terraform binary to run.
    pub binary: Binary,
    /// What messages call the workspace: `core`, or `env <NAME>`.
    pub label: String,
    /// The workspace's directory, where terraform runs and keeps its files.
    pub dir: PathBuf,
    /// Whether a person is at a terminal (otherwise `-input=false`).
    pub interactive: bool,
}

impl Runner {
    /// A runner for `workspace` in its directory under `workspaces_dir` (not created here).
    pub fn new(
        binary: Binary,
        workspaces_dir: &Path,
        workspace: Workspace,
        interactive: bool,
    ) -> Self {
        Runner {
            binary,
            label: workspace.to_string(),
            dir: workspaces_dir.join(workspace.as_str()),
            interactive,
        }
    }

    /// Terraform in environment `env`'s workspace, `<workspaces_dir>/envs/<env>/`.
    pub fn for_env(binary: Binary, workspaces_dir: &Path, env: &str, interactive: bool) -> Self {
        Runner {
            binary,
            label: format!("env {env}"),
            dir: workspaces_dir.join("envs").join(env),
            interactive,
        }
    }

    fn terraform(&self, args: &[&str]) -> Process {
        let what = format!(
            "terraform {} ({})",
            args.first().copied().unwrap_or(""),
            self.label
        );
        let mut process = Process::new(&self.binary.path, what)
            .current_dir(&self.dir)
            .arg(args[0]);
        if !self.interactive && matches!(args[0], "init" | "plan" | "apply" | "destroy") {
            process = process.arg("-input=false").env("TF_IN_AUTOMATION", "1");
        }
        process.args(&args[1..])
    }

    /// Writes `main.tf.json` atomically; returns its path and hash.
    pub fn write_config(&self, document: &Document) -> Result<(PathBuf, String)> {
        let bytes = document.to_bytes();
        let path = self.dir.join(CONFIG_FILE);
        write_generated(&path, &bytes, Some(0o644))?;
        Ok((path, config_hash(&bytes)))
    }

    fn backend_hash(document: &Document) -> String {
        config_hash(document.backend_json().as_bytes())
    }

    /// `terraform init`, remembering the backend it was made for.
    pub async fn init(&self, document: &Document) -> Result<String> {
        let out = self
            .terraform(&["init", "-reconfigure", "-no-color"])
            .output()
            .await?;
        write_atomic(
            &self.dir.join(INIT_HASH_FILE),
            Self::backend_hash(document).as_bytes(),
            Some(0o644),
        )?;
        Ok(out.stdout_text())
    }

    /// Initialises unless already done for this backend.
    pub async fn ensure_init(&self, document: &Document) -> Result<()> {
        let current = std::fs::read_to_string(self.dir.join(INIT_HASH_FILE)).unwrap_or_default();
        if current.trim() != Self::backend_hash(document) {
            self.init(document).await?;
        }
        Ok(())
    }

    /// Plans into the saved plan file; records the configuration hash only on success.
    pub async fn plan(&self, config_sha256: &str) -> Result<(PlanSummary, String)> {
        self.discard_plan()?;
        let out = self
            .terraform(&["plan", "-no-color", &format!("-out={PLAN_FILE}")])
            .output()
            .await?;
        let show = self
            .terraform(&["show", "-json", PLAN_FILE])
            .output()
            .await?;
        let plan: Value = serde_json::from_slice(&show.stdout)
            .context("terraform show -json printed something that is not JSON")?;
        write_atomic(
            &self.dir.join(PLAN_HASH_FILE),
            config_sha256.as_bytes(),
            Some(0o644),
        )?;
        Ok((PlanSummary::from_show_json(&plan), out.stdout_text()))
    }

    /// The configuration hash the saved plan was made from, if there is a saved plan.
    pub fn planned_hash(&self) -> Option<String> {
        if !self.dir.join(PLAN_FILE).is_file() {
            return None;
        }
        std::fs::read_to_string(self.dir.join(PLAN_HASH_FILE))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The summary of the saved plan.
    pub async fn saved_plan_summary(&self) -> Result<PlanSummary> {
        let show = self
            .terraform(&["show", "-json", PLAN_FILE])
            .output()
            .await?;
        let plan: Value = serde_json::from_slice(&show.stdout)
            .context("terraform show -json printed something that is not JSON")?;
        Ok(PlanSummary::from_show_json(&plan))
    }

    /// Applies the saved plan, then discards it (a saved plan applies once).
    pub async fn apply(&self) -> Result<String> {
        let out = self
            .terraform(&["apply", "-no-color", "-auto-approve", PLAN_FILE])
            .output()
            .await?;
        self.discard_plan()?;
        Ok(out.stdout_text())
    }

    /// `terraform state list`: the addresses of the resources the state holds.
    pub async fn state_list(&self) -> Result<Vec<String>> {
        let out = self.terraform(&["state", "list"]).output().await?;
        Ok(out
            .stdout_text()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// `terraform destroy -auto-approve` on the workspace's state, then discards any saved plan;
    /// returns terraform's output.
    pub async fn destroy(&self) -> Result<String> {
        let out = self
            .terraform(&["destroy", "-no-color", "-auto-approve"])
            .output()
            .await?;
        self.discard_plan()?;
        Ok(out.stdout_text())
    }

    /// `terraform output -json`: name → {value, type, sensitive}.
    pub async fn outputs(&self) -> Result<serde_json::Map<String, Value>> {
        let out = self.terraform(&["output", "-json"]).output().await?;
        match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Error::failed(
                "terraform output -json printed something that is not a JSON object",
            )),
        }
    }

    /// Any terraform command, with the terminal handed over.
    pub async fn passthrough(&self, args: &[String]) -> Result<ExitStatus> {
        let what = format!("terraform {}", args.first().map_or("", String::as_str));
        Ok(Process::new(&self.binary.path, what)
            .current_dir(&self.dir)
            .args(args)
            .interactive()
            .await?)
    }

    fn discard_plan(&self) -> Result<()> {
        for file in [PLAN_FILE, PLAN_HASH_FILE] {
            match std::fs::remove_file(self.dir.join(file)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_summaries_count_replacements_as_add_and_destroy() {
        let plan = serde_json::json!({
            "resource_changes": [
                {"change": {"actions": ["create"]}},
                {"change": {"actions": ["update"]}},
                {"change": {"actions": ["delete", "create"]}},
                {"change": {"actions": ["no-op"]}},
                {"change": {"actions": ["read"]}}
            ],
            "output_changes": {"a": {"actions": ["create"]}, "b": {"actions": ["no-op"]}}
        });
        let summary = PlanSummary::from_show_json(&plan);
        assert_eq!(
            summary,
            PlanSummary {
                add: 2,
                change: 1,
                destroy: 1,
                outputs_changed: 1
            }
        );
        assert!(summary.has_changes());
        assert!(!PlanSummary::from_show_json(&serde_json::json!({})).has_changes());
    }
}
