//! Nomad HTTP API client: the nomad CLI's environment conventions, retries with backoff for
//! idempotent calls, blocking queries for watching, and open-world response types.

mod api;
mod client;
mod config;
mod namespaces;
pub mod retry;
pub mod status;
pub mod types;

pub use client::{NomadClient, NomadError, QueryMeta};
pub use config::{NomadConfig, Secret};
