//! The little of Consul's HTTP API that opsctl reads: a node's health checks, for the health
//! gate of `opsctl rebuild`. Address and token follow the consul CLI's conventions
//! (`CONSUL_HTTP_ADDR`, `CONSUL_HTTP_TOKEN`) over the cluster file.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// A client of one Consul agent's HTTP API (connect timeout 5 s, request timeout 15 s), sending
/// `CONSUL_HTTP_TOKEN` as `X-Consul-Token` when set; its `Debug` never shows the token.
#[derive(Clone)]
pub struct ConsulClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for ConsulClient {
    // The token stays out of every debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// One health check of a node, as `/v1/health/node/:node` lists them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Check {
    /// The check's name (`Name`), e.g. `Serf Health Status`.
    pub name: String,
    /// The check's id (`CheckID`), e.g. `serfHealth` or `service:<id>`.
    #[serde(rename = "CheckID")]
    pub check_id: String,
    /// `passing`, `warning` or `critical`.
    pub status: String,
    /// The check's last output (`Output`): command output or HTTP response of the check.
    pub output: String,
}

impl ConsulClient {
    /// The client for the resolved address (`CONSUL_HTTP_ADDR` over `[rebuild].consul`);
    /// `None` when neither names one.
    pub fn from_settings(settings: &crate::settings::Settings) -> Result<Option<Self>> {
        let Some(address) = settings.consul_address.clone() else {
            return Ok(None);
        };
        // The consul CLI accepts a bare host:port.
        let base = if address.contains("://") {
            address.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", address.trim_end_matches('/'))
        };
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "Consul address `{address}` must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("opsctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failed(format!("Consul client: {e}")))?;
        let token = settings
            .consul_token
            .as_ref()
            .map(|t| t.expose().to_string());
        Ok(Some(ConsulClient { http, base, token }))
    }

    /// The base URL requests go to (`http://` added to a bare `host:port`, no trailing `/`).
    pub fn address(&self) -> &str {
        &self.base
    }

    /// Sends `GET <base><path>` with the token, if any.
    async fn get(&self, path: &str) -> Result<reqwest::Response> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("X-Consul-Token", token);
        }
        request
            .send()
            .await
            .map_err(|e| Error::failed(format!("Consul at {}: {e}", self.base)))
    }

    /// Every service of the catalog with its tags (`/v1/catalog/services`).
    pub async fn services(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let response = self.get("/v1/catalog/services").await?;
        if !response.status().is_success() {
            return Err(Error::failed(format!(
                "Consul at {} answered {} for the service catalog",
                self.base,
                response.status()
            )));
        }
        response.json().await.map_err(|e| {
            Error::failed(format!(
                "Consul at {}: unreadable service catalog: {e}",
                self.base
            ))
        })
    }

    /// The node's health checks; an empty list means Consul does not know the node.
    pub async fn node_health(&self, node: &str) -> Result<Vec<Check>> {
        let response = self.get(&format!("/v1/health/node/{node}")).await?;
        let status = response.status();
        if status.as_u16() == 403 {
            return Err(Error::failed(format!(
                "Consul at {} refused the health query (403): set CONSUL_HTTP_TOKEN to a token with node:read",
                self.base
            )));
        }
        if !status.is_success() {
            return Err(Error::failed(format!(
                "Consul at {} answered {status} for the health of {node}",
                self.base
            )));
        }
        response.json().await.map_err(|e| {
            Error::failed(format!(
                "Consul at {}: unreadable health of {node}: {e}",
                self.base
            ))
        })
    }
}

/// Why `checks` do not make a healthy node, or `None` when they do.
pub fn unhealthy(node: &str, checks: &[Check]) -> Option<String> {
    if checks.is_empty() {
        return Some(format!("{node} is not registered in Consul"));
    }
    let failing: Vec<String> = checks
        .iter()
        .filter(|c| c.status != "passing")
        .map(|c| format!("{} is {}", c.name, c.status))
        .collect();
    (!failing.is_empty()).then(|| format!("Consul on {node}: {}", failing.join(", ")))
}
