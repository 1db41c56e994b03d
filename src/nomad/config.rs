//! Where opsctl finds Nomad: the nomad CLI's variables over the cluster file's `[nomad]`.

use std::fmt;
use std::path::PathBuf;

use crate::repo::NomadSettings;

/// A value that never appears in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`; only [`Secret::expose`] gives it back.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (the `X-Nomad-Token` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to reach the Nomad HTTP API, resolved once per run by [`NomadConfig::resolve_with`].
#[derive(Debug, Clone)]
pub struct NomadConfig {
    /// Base URL of the API (`NOMAD_ADDR`, else `[nomad].address`, else `http://127.0.0.1:4646`).
    pub address: String,
    /// ACL token sent as `X-Nomad-Token` (`NOMAD_TOKEN`); `None` sends no token.
    pub token: Option<Secret>,
    /// Default namespace for calls that take one (`NOMAD_NAMESPACE`).
    pub namespace: Option<String>,
    /// Region added as `?region=` to every call (`NOMAD_REGION`, else `[nomad].region`);
    /// `None` lets the agent use its own.
    pub region: Option<String>,
    /// PEM file of an extra root CA to trust (`NOMAD_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (`NOMAD_CLIENT_CERT`); needs `client_key` too.
    pub client_cert: Option<PathBuf>,
    /// PEM key of `client_cert` (`NOMAD_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (`NOMAD_SKIP_VERIFY` set to `1` or `true`).
    pub skip_verify: bool,
}

impl NomadConfig {
    /// `NOMAD_*` variables (`var`) win over the cluster file, as with the nomad CLI; called
    /// by [`crate::settings::Settings::resolve`].
    pub fn resolve_with(
        settings: Option<&NomadSettings>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let var = |key: &str| var(key).filter(|v| !v.is_empty());
        NomadConfig {
            address: var("NOMAD_ADDR")
                .or_else(|| settings.map(|s| s.address.clone()))
                .unwrap_or_else(|| "http://127.0.0.1:4646".to_string()),
            token: var("NOMAD_TOKEN").map(Secret::new),
            namespace: var("NOMAD_NAMESPACE"),
            region: var("NOMAD_REGION").or_else(|| settings.and_then(|s| s.region.clone())),
            ca_cert: var("NOMAD_CACERT").map(PathBuf::from),
            client_cert: var("NOMAD_CLIENT_CERT").map(PathBuf::from),
            client_key: var("NOMAD_CLIENT_KEY").map(PathBuf::from),
            skip_verify: var("NOMAD_SKIP_VERIFY")
                .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_file_and_token_stays_hidden() {
        let settings = NomadSettings {
            address: "https://nomad.example.org".into(),
            datacenters: vec!["dc1".into()],
            region: Some("global".into()),
        };
        let config = NomadConfig::resolve_with(Some(&settings), |key| match key {
            "NOMAD_ADDR" => Some("http://127.0.0.1:1".into()),
            "NOMAD_TOKEN" => Some("s3cr3t".into()),
            _ => None,
        });
        assert_eq!(config.address, "http://127.0.0.1:1");
        assert_eq!(config.region.as_deref(), Some("global"));
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let config = NomadConfig::resolve_with(Some(&settings), |_| None);
        assert_eq!(config.address, "https://nomad.example.org");
    }
}
