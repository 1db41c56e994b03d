//! Infrastructure providers: what renders a cluster's workspaces to Terraform JSON.
//!
//! `aws` is built in; any other `provider = "<name>"` runs `opsctl-provider-<name>` from PATH
//! (see [`super::external`]). Whatever the provider, opsctl owns the backend block.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde::Serialize;

use super::{Backend, Document, RemoteState, Version, Workspace};
use crate::error::{Error, Result};
use crate::repo::Cluster;

/// What a provider is asked to render.
#[derive(Debug, Clone, Serialize)]
pub struct RenderRequest<'a> {
    /// The cluster as its file describes it (sent to external providers as `"cluster"`).
    pub cluster: &'a Cluster,
    /// The workspace to render.
    pub workspace: Workspace,
    /// How to read each upstream workspace's outputs (`terraform_remote_state`).
    pub upstream: BTreeMap<Workspace, RemoteState>,
    /// The terraform binary's version, when known (providers may adapt to it).
    pub terraform_version: Option<Version>,
}

/// What a provider is asked to render for an environment's own workspace (`env`).
#[derive(Debug, Clone, Serialize)]
pub struct EnvRenderRequest<'a> {
    /// The cluster the environment belongs to.
    pub cluster: &'a Cluster,
    /// The environment's name (also its Nomad namespace's, for ad hoc environments).
    pub environment: &'a str,
    /// How to read each cluster workspace's outputs (`terraform_remote_state`).
    pub upstream: BTreeMap<Workspace, RemoteState>,
    /// The terraform binary's version, when known.
    pub terraform_version: Option<Version>,
}

/// An infrastructure provider.
pub trait Provider: Send + Sync {
    /// Shown in messages: `aws`, or the external provider's name.
    fn name(&self) -> &str;

    /// The workspaces it offers, in dependency order.
    fn workspaces(&self) -> Vec<Workspace> {
        Workspace::ALL.to_vec()
    }

    /// Part of this opsctl: its render depends on nothing but the request and the opsctl
    /// executable, so an unchanged request need not be rendered again (`config`). External
    /// providers are programs of their own and are always asked.
    fn built_in(&self) -> bool {
        false
    }

    /// The workspace's Terraform JSON, without a backend (opsctl adds it).
    fn render<'a>(&'a self, request: &'a RenderRequest<'a>) -> BoxFuture<'a, Result<Document>>;

    /// An environment's own workspace (`env`), without a backend: what a variant with
    /// `infrastructure = true` needs per environment.
    fn render_env<'a>(
        &'a self,
        request: &'a EnvRenderRequest<'a>,
    ) -> BoxFuture<'a, Result<Document>>;
}

/// The provider `cluster` names.
pub fn provider_for(cluster: &Cluster) -> Result<Box<dyn Provider>> {
    match cluster.provider.as_str() {
        "aws" => Ok(Box::new(super::aws::AwsProvider)),
        name => Ok(Box::new(super::external::ExternalProvider::new(
            name,
            cluster.terraform.provider_timeout.as_deref(),
        )?)),
    }
}

/// Renders `workspace` of `cluster` with `provider` and sets `backend`'s block in it.
pub async fn render_workspace(
    provider: &dyn Provider,
    cluster: &Cluster,
    backend: &Backend,
    workspace: Workspace,
    terraform_version: Option<Version>,
) -> Result<Document> {
    if !provider.workspaces().contains(&workspace) {
        return Err(Error::invalid(format!(
            "provider `{}` does not offer workspace `{workspace}`",
            provider.name()
        )));
    }
    let request = RenderRequest {
        cluster,
        workspace,
        upstream: workspace
            .upstream()
            .into_iter()
            .map(|w| (w, backend.remote_state(w)))
            .collect(),
        terraform_version,
    };
    let mut document = provider.render(&request).await?;
    let (kind, config) = backend.block(workspace);
    document.set_backend(kind, config);
    Ok(document)
}
