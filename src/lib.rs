//! opsctl: run Nomad-on-AWS clusters and their environments from one ops repository.
//!
//! Data flows one way: files ([`repo`]) → model → rendered jobs ([`render`]) → actions → report
//! ([`output`]). The CLI in [`cli`] only parses flags and wires these together.

#![warn(missing_docs)]

pub mod aws;
pub mod bootstrap;
pub mod cli;
pub mod clients;
pub mod consul;
pub mod context;
pub mod deploy;
pub mod ecs;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod inventory;
pub mod nomad;
pub mod output;
pub mod pki;
pub mod problem;
pub mod process;
pub mod rebuild;
pub mod remote;
pub mod render;
pub mod repo;
pub mod revisions;
pub mod secrets;
pub mod settings;
pub mod terraform;
pub mod ui;

pub use error::{Error, Result};
