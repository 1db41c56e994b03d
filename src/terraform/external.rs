//! External providers: `provider = "<name>"` runs `opsctl-provider-<name>` from PATH.
//!
//! Protocol 1 (docs/terraform.md): opsctl writes one JSON object to the program's stdin,
//! `{"protocol": 1, "cluster": {...}, "workspace": "core", "upstream": {"network":
//! {"backend": "s3", "config": {...}}}, "terraform_version": "1.11.4"}`, and reads the
//! workspace's Terraform JSON from its stdout. Exit status 3 means "I do not offer this
//! workspace"; any other non-zero status is a failure whose stderr is shown.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;

use super::provider::EnvRenderRequest;
use super::{Document, Provider, RenderRequest};
use crate::error::{Error, Result};
use crate::process::{describe_status, find_program, stderr_tail, Process};

/// The protocol version sent as `"protocol"` in every request.
pub const PROTOCOL: u32 = 1;
/// The exit status by which a provider says it does not offer the requested workspace.
pub const EXIT_UNKNOWN_WORKSPACE: i32 = 3;
/// How long a provider program may run per workspace unless `[terraform].provider_timeout`
/// says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A provider implemented by the program `opsctl-provider-<name>` on PATH.
pub struct ExternalProvider {
    name: String,
    program: String,
    timeout: Duration,
}

impl ExternalProvider {
    /// The provider `name`, killed after `timeout` (a humantime duration such as `90s`, default
    /// [`DEFAULT_TIMEOUT`]); an invalid duration is an error naming `[terraform].provider_timeout`.
    /// The program is looked up on PATH only when it renders.
    pub fn new(name: &str, timeout: Option<&str>) -> Result<Self> {
        let timeout = match timeout {
            None => DEFAULT_TIMEOUT,
            Some(text) => humantime::parse_duration(text).map_err(|e| {
                Error::invalid(format!("[terraform].provider_timeout `{text}`: {e}"))
            })?,
        };
        Ok(ExternalProvider {
            name: name.to_string(),
            program: format!("opsctl-provider-{name}"),
            timeout,
        })
    }

    fn locate(&self) -> Result<PathBuf> {
        find_program(&self.program).ok_or_else(|| {
            Error::invalid(format!(
                "the cluster's provider `{}` needs the program `{}` on PATH, and there is none",
                self.name, self.program
            ))
        })
    }

    async fn run(&self, request: &RenderRequest<'_>) -> Result<Document> {
        let input = json!({
            "protocol": PROTOCOL,
            "cluster": request.cluster,
            "workspace": request.workspace,
            "upstream": request.upstream,
            "terraform_version": request.terraform_version.map(|v| v.to_string()),
        });
        self.ask(input, request.workspace.as_str()).await
    }

    /// The `env` workspace: the request names the environment (`"environment": "<NAME>"`).
    async fn run_env(&self, request: &EnvRenderRequest<'_>) -> Result<Document> {
        let input = json!({
            "protocol": PROTOCOL,
            "cluster": request.cluster,
            "workspace": "env",
            "environment": request.environment,
            "upstream": request.upstream,
            "terraform_version": request.terraform_version.map(|v| v.to_string()),
        });
        self.ask(input, "env").await
    }

    async fn ask(&self, input: serde_json::Value, workspace: &str) -> Result<Document> {
        let program = self.locate()?;
        let what = format!("{} (workspace {workspace})", self.program);
        let captured = Process::new(&program, &what)
            .stdin(input.to_string())
            .timeout(self.timeout)
            .capture()
            .await?;
        if captured.status.code() == Some(EXIT_UNKNOWN_WORKSPACE) {
            return Err(Error::invalid(format!(
                "provider `{}` does not offer workspace `{workspace}`{}",
                self.name,
                stderr_tail(&captured.stderr)
            )));
        }
        if !captured.status.success() {
            return Err(Error::failed(format!(
                "{what} failed ({}){}",
                describe_status(captured.status),
                stderr_tail(&captured.stderr)
            )));
        }
        Document::from_json(&captured.stdout)
            .map_err(|why| Error::failed(format!("{what} printed invalid Terraform JSON: {why}")))
    }
}

impl Provider for ExternalProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn render<'a>(&'a self, request: &'a RenderRequest<'a>) -> BoxFuture<'a, Result<Document>> {
        Box::pin(self.run(request))
    }

    fn render_env<'a>(
        &'a self,
        request: &'a EnvRenderRequest<'a>,
    ) -> BoxFuture<'a, Result<Document>> {
        Box::pin(self.run_env(request))
    }
}
