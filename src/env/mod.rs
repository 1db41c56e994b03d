//! Ad hoc environments, one command each way: `env apply` writes the environment file and its
//! revision snapshot, creates the marked Nomad namespace and deploys every job with the deploy
//! flow; `env destroy` removes every trace and verifies nothing is left; `env list`/`show`
//! read files and Nomad side by side (orphans flagged); `env gc` destroys what expired.
//!
//! Each operation takes a request and returns a typed report ([`crate::output::Report`]).

mod apply;
mod destroy;
mod files;
mod gc;
mod list;
pub mod naming;
pub mod ports;
mod steps;

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use apply::{apply, prepare, ApplyPlan, ApplyReport, ApplyRequest};
pub use destroy::{destroy, DestroyReport, DestroyRequest};
pub use gc::{candidates as gc_candidates, gc, GcCandidate, GcReport, GcRequest};
pub use list::{list, show, EnvRow, ListReport, ShowReport};

use crate::nomad::types::Namespace;

/// Namespace meta opsctl sets on the namespaces of ad hoc environments: the environment's name
/// (what marks the namespace as opsctl's), its owner, creation and expiry times.
pub const META_ENV: &str = "opsctl-env";
/// Namespace meta key: name of the cluster the environment belongs to (orphans are only
/// reported for namespaces of this cluster).
pub const META_CLUSTER: &str = "opsctl-cluster";
/// Namespace meta key: the environment's owner.
pub const META_OWNER: &str = "owner";
/// Namespace meta key: when the environment was created (RFC 3339).
pub const META_CREATED: &str = "created";
/// Namespace meta key: when the environment expires (RFC 3339); every apply renews it.
pub const META_EXPIRES: &str = "expires";

/// Default time to live of an ad hoc environment.
pub const DEFAULT_TTL: &str = "72h";

/// Why an `env` command refuses its input or cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// No valid environment name can be made from the request.
    #[error(transparent)]
    Name(#[from] naming::NameError),
    /// `env apply` was pointed at a permanent environment (one without `ttl`).
    #[error("`{0}` is a permanent environment (it has no `ttl`); env apply only manages ad hoc environments")]
    Permanent(String),
    /// `env destroy` of a permanent environment without `--force`.
    #[error("`{name}` is a permanent environment (no `ttl` in {file}); pass --force to destroy it anyway")]
    DestroyPermanent {
        /// Environment name.
        name: String,
        /// Its environment file.
        file: String,
    },
    /// The environment exists and belongs to someone else.
    #[error("environment `{name}` belongs to {owner}; choose another name (or ask {owner} to destroy it)")]
    Owned {
        /// Environment name.
        name: String,
        /// The owner recorded in its file or namespace.
        owner: String,
    },
    /// A Nomad namespace of that name exists but is not this environment's.
    #[error("Nomad namespace `{namespace}` exists and is not environment `{name}`'s ({why}); choose another name")]
    NamespaceTaken {
        /// The namespace.
        namespace: String,
        /// Environment name.
        name: String,
        /// Why it is not this environment's (e.g. opsctl did not create it).
        why: String,
    },
    /// Another apply created the environment file while this one was writing it.
    #[error("environment `{0}` was created by another apply meanwhile; run the command again to see who owns it")]
    Raced(String),
    /// No free block of static ports of the variant's size is left in the port range.
    #[error("no free block of {size} static ports between {first} and {last}")]
    NoPorts {
        /// Static ports the variant needs.
        size: u32,
        /// Lowest port a block may use.
        first: u32,
        /// Highest port a block may use.
        last: u32,
    },
    /// `--ttl` is not a duration.
    #[error("`--ttl {0}` is not a duration such as `72h` or `7days`")]
    Ttl(String),
    /// A `--track`/`--rev` argument is not `SOURCE=VALUE`.
    #[error("`{0}`: expected SOURCE=VALUE")]
    Pair(String),
    /// Any other invalid input (flag combinations, unknown variant or source, ...), with
    /// its message.
    #[error("{0}")]
    Input(String),
}

impl From<EnvError> for crate::Error {
    fn from(error: EnvError) -> Self {
        match error {
            EnvError::Raced(_) => crate::Error::failed(error),
            other => crate::Error::invalid(other.to_string()),
        }
    }
}

/// Splits `SOURCE=VALUE` (`--track`, `--rev`).
pub fn parse_pair(text: &str) -> Result<(String, String), EnvError> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(EnvError::Pair(text.to_string())),
    }
}

/// Parses a time to live such as `72h` or `7days`; [`EnvError::Ttl`] when it is not one.
pub fn parse_ttl(text: &str) -> Result<Duration, EnvError> {
    humantime::parse_duration(text).map_err(|_| EnvError::Ttl(text.to_string()))
}

pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// When an environment expires: `expires`, else `created + ttl`; `None` for permanent ones.
pub(crate) fn expiry(env: &crate::repo::Environment) -> Option<OffsetDateTime> {
    if let Some(expires) = env.expires.as_deref().and_then(parse_time) {
        return Some(expires);
    }
    let created = env.created.as_deref().and_then(parse_time)?;
    let ttl = parse_ttl(env.ttl.as_deref()?).ok()?;
    Some(created + ttl)
}

/// The environment a namespace belongs to, by opsctl's marks (ad hoc meta, or the meta the
/// deploy flow puts on namespaces it creates).
pub(crate) fn namespace_owner_env(namespace: &Namespace) -> Option<&str> {
    let meta = namespace.meta.as_ref()?;
    meta.get(META_ENV)
        .or_else(|| meta.get(crate::deploy::META_ENVIRONMENT))
        .map(String::as_str)
}

/// Whether a namespace was made for an ad hoc environment.
pub(crate) fn is_ad_hoc_namespace(namespace: &Namespace) -> bool {
    namespace
        .meta
        .as_ref()
        .is_some_and(|m| m.contains_key(META_ENV))
}

/// `https://<hostname>` of every job of the environment's variant; none for an ad hoc ECS
/// environment (its services are made without a load balancer).
pub(crate) fn urls(repo: &crate::repo::Repo, env: &crate::repo::Environment) -> Vec<String> {
    if env.target == crate::repo::Target::Ecs && env.is_ad_hoc() {
        return Vec::new();
    }
    repo.variant(env)
        .map(|variant| {
            variant
                .jobs
                .iter()
                .map(|job| format!("https://{}", env.hostname(job, &repo.cluster.domain)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_ttls() {
        assert_eq!(
            parse_pair("marlowe-cardano=feature/x").unwrap(),
            ("marlowe-cardano".into(), "feature/x".into())
        );
        assert!(parse_pair("=x").is_err());
        assert!(parse_pair("x").is_err());
        assert_eq!(parse_ttl("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert!(parse_ttl("soon").is_err());
    }
}
