//! Transport: TLS, token, retries, blocking queries, and errors that say what to do.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::NomadConfig;

/// Why a Nomad API call failed; each message names the request and what to check.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NomadError {
    /// No HTTP answer (connection refused, TLS failure, timeout) or the body could not be read.
    #[error("cannot reach Nomad at {address}: {message} (set NOMAD_ADDR or [nomad].address)")]
    Unreachable {
        /// The Nomad address that was called.
        address: String,
        /// The error with its whole cause chain.
        message: String,
    },
    /// 403: the token (`NOMAD_TOKEN`) may not do this, or no token is set.
    #[error("Nomad denied {method} {path}: permission denied; check that NOMAD_TOKEN holds a token allowed to do this{hint}")]
    Forbidden {
        /// HTTP method of the refused request.
        method: String,
        /// Request path (without the query).
        path: String,
        /// ` (NOMAD_TOKEN is not set)` when no token was sent, else empty.
        hint: String,
    },
    /// Any other non-2xx answer.
    #[error("Nomad answered {status} to {method} {path}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// HTTP method of the request.
        method: String,
        /// Request path (without the query).
        path: String,
        /// Nomad's answer body, trimmed and cut to about 500 bytes.
        body: String,
    },
    /// A 2xx answer whose body is not the JSON opsctl expects.
    #[error("Nomad sent an unexpected answer to {method} {path}: {message}")]
    Decode {
        /// HTTP method of the request.
        method: String,
        /// Request path (without the query).
        path: String,
        /// The JSON decoder's error.
        message: String,
    },
    /// The client cannot be built: unreadable CA or client certificate/key, only one of
    /// `NOMAD_CLIENT_CERT`/`NOMAD_CLIENT_KEY` set, or an address that is not http(s).
    #[error("invalid Nomad client settings: {0}")]
    Config(String),
}

impl NomadError {
    /// The HTTP status the error stands for (403 for [`NomadError::Forbidden`]); `None` when no
    /// status was received or the body did not decode.
    pub fn status(&self) -> Option<u16> {
        match self {
            NomadError::Status { status, .. } => Some(*status),
            NomadError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// The server's message, for matching known failures such as check-and-set conflicts.
    pub fn body(&self) -> &str {
        match self {
            NomadError::Status { body, .. } => body,
            _ => "",
        }
    }

    /// Whether a retry may help (the one policy, [`super::retry::is_transient`]).
    fn retryable(&self) -> bool {
        super::retry::is_transient(self)
    }
}

/// Index metadata of a read (`X-Nomad-Index`), for blocking queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryMeta {
    /// `X-Nomad-Index` of the answer; 0 when the header is missing.
    pub index: u64,
}

/// An HTTP client for one Nomad region: address, TLS, token and retry policy from a
/// [`NomadConfig`]. Clones share one connection pool.
#[derive(Clone)]
pub struct NomadClient {
    http: reqwest::Client,
    config: NomadConfig,
    base: String,
    max_attempts: u32,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl NomadClient {
    /// Builds the client: TLS roots and client identity from `config`, 10 s connect and 30 s
    /// request timeouts, up to 6 attempts for retried calls.
    ///
    /// Errors with [`NomadError::Config`] when a certificate file cannot be read or parsed, only
    /// one of client certificate and key is set, or the address is not `http://`/`https://`.
    pub fn new(config: NomadConfig) -> Result<Self, NomadError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("opsctl/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(config.skip_verify);
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| NomadError::Config(format!("NOMAD_CACERT {}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| NomadError::Config(format!("NOMAD_CACERT {}: {e}", path.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        match (&config.client_cert, &config.client_key) {
            (Some(cert), Some(key)) => {
                let mut pem = std::fs::read(cert).map_err(|e| {
                    NomadError::Config(format!("NOMAD_CLIENT_CERT {}: {e}", cert.display()))
                })?;
                pem.extend(std::fs::read(key).map_err(|e| {
                    NomadError::Config(format!("NOMAD_CLIENT_KEY {}: {e}", key.display()))
                })?);
                let identity = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| NomadError::Config(format!("client certificate: {e}")))?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(NomadError::Config(
                    "NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY must be set together".into(),
                ))
            }
        }
        let http = builder
            .build()
            .map_err(|e| NomadError::Config(e.to_string()))?;
        let base = config.address.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(NomadError::Config(format!(
                "Nomad address `{base}` must start with http:// or https://"
            )));
        }
        Ok(NomadClient {
            http,
            config,
            base,
            max_attempts: 6,
        })
    }

    /// Fewer retries, for optional lookups that must not hold a command up.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The settings the client was built from.
    pub fn config(&self) -> &NomadConfig {
        &self.config
    }

    /// The Nomad address without a trailing `/` (e.g. `https://nomad.example:4646`).
    pub fn address(&self) -> &str {
        &self.base
    }

    /// GET with retries; returns the body and `X-Nomad-Index`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(T, QueryMeta), NomadError> {
        self.send(Method::GET, path, query, None::<&()>, true, None)
            .await
    }

    /// A blocking query: returns when the index passes `index` or after `wait`.
    pub async fn get_blocking<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        index: u64,
        wait: Duration,
    ) -> Result<(T, QueryMeta), NomadError> {
        let mut query = query.to_vec();
        query.push(("index", index.to_string()));
        query.push(("wait", format!("{}ms", wait.as_millis())));
        // Nomad adds up to wait/16 of jitter; leave room for it.
        let timeout = wait + wait / 8 + Duration::from_secs(10);
        self.send(Method::GET, path, &query, None::<&()>, true, Some(timeout))
            .await
    }

    /// A write. `idempotent` writes (upserts, plans) are retried on 5xx and connection errors;
    /// others are sent once so nothing is submitted twice.
    pub async fn write<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<T, NomadError> {
        self.send(method, path, query, body, idempotent, None)
            .await
            .map(|(body, _)| body)
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        retry: bool,
        timeout: Option<Duration>,
    ) -> Result<(T, QueryMeta), NomadError> {
        let attempts = if retry { self.max_attempts } else { 1 };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(&method, path, query, body, timeout).await {
                Err(e) if e.retryable() && attempt < attempts => {
                    let delay = super::retry::backoff(attempt);
                    tracing::debug!(%method, path, attempt, ?delay, error = %e, "retrying Nomad call");
                    tokio::time::sleep(delay).await;
                }
                result => return result,
            }
        }
    }

    async fn send_once<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        timeout: Option<Duration>,
    ) -> Result<(T, QueryMeta), NomadError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .timeout(timeout.unwrap_or(REQUEST_TIMEOUT))
            .query(query);
        if let Some(region) = &self.config.region {
            request = request.query(&[("region", region)]);
        }
        if let Some(token) = &self.config.token {
            request = request.header("X-Nomad-Token", token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        tracing::trace!(%method, path, "nomad request");
        let response = request.send().await.map_err(|e| NomadError::Unreachable {
            address: self.base.clone(),
            message: error_chain(&e),
        })?;
        let status = response.status();
        let index = response
            .headers()
            .get("X-Nomad-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| NomadError::Unreachable {
                address: self.base.clone(),
                message: error_chain(&e),
            })?;
        if status == StatusCode::FORBIDDEN {
            return Err(NomadError::Forbidden {
                method: method.to_string(),
                path: path.to_string(),
                hint: if self.config.token.is_none() {
                    " (NOMAD_TOKEN is not set)".into()
                } else {
                    String::new()
                },
            });
        }
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes).trim().to_string();
            return Err(NomadError::Status {
                status: status.as_u16(),
                method: method.to_string(),
                path: path.to_string(),
                body: truncate(&body, 500),
            });
        }
        // Some endpoints answer an empty body; let `()`/Option targets accept it.
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        let value = serde_json::from_slice(bytes).map_err(|e| NomadError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        })?;
        Ok((value, QueryMeta { index }))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
