//! What a deploy knows before it plans, in one round trip: the namespaces, every job's list
//! entry with its `Meta` (`GET /v1/jobs?namespace=*&meta=true`) and the deploy records
//! (`GET /v1/vars?namespace=*&prefix=opsctl/deploys/`), asked concurrently.
//!
//! * The **fingerprint** (`Meta.opsctl_fingerprint`) is a SHA-256 of the exact job opsctl
//!   submits (keys sorted, the two stamp keys left out): equal fingerprints mean opsctl would
//!   submit what Nomad holds.
//! * The **version stamp** (`Meta.opsctl_version`) is the `Version` Nomad gives the submitted
//!   spec (the stored version plus one, 0 for a new job; exact because the register is
//!   check-and-set against the index the version was read at), so an unchanged job's version
//!   is known without reading the job (`/v1/jobs` entries carry no version).
//! * The **deploy record** is one Nomad variable per environment, `opsctl/deploys/<env>` in
//!   the environment's namespace, written after opsctl registered jobs there. The variables
//!   list carries only metadata, and that is enough: every register opsctl made happened before
//!   the record's `ModifyIndex`, so a job whose `JobModifyIndex` is above it was changed by
//!   someone else since (drift). Nomad bumps `JobModifyIndex` only when a job's spec changes,
//!   so status changes and identical re-registers are not drift.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Deployer;
use crate::nomad::types::JobListStub;
use crate::nomad::NomadError;

/// Meta key holding the fingerprint of the submitted job.
pub const META_FINGERPRINT: &str = "opsctl_fingerprint";

/// Meta key holding the version Nomad gave the submitted job.
pub const META_VERSION: &str = "opsctl_version";

/// Prefix of the deploy records' variable paths.
pub const RECORD_PREFIX: &str = "opsctl/deploys/";

/// The variable path of `env`'s deploy record.
pub fn record_path(env: &str) -> String {
    format!("{RECORD_PREFIX}{env}")
}

/// SHA-256 (hex) of `job` serialised with sorted keys, without the stamps in its `Meta`.
pub fn fingerprint(job: &Value) -> String {
    let mut hasher = Sha256::new();
    let mut text = String::new();
    canonical(job, &mut text, true);
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}

/// Adds the fingerprint of `job` (as it is without one) to its `Meta`.
pub fn stamp(mut job: Value) -> Value {
    let print = fingerprint(&job);
    if let Some(meta) = job.get_mut("Meta").and_then(Value::as_object_mut) {
        meta.insert(META_FINGERPRINT.into(), Value::from(print));
    }
    job
}

/// Sets (or, with `None`, removes) the version stamp of `job`.
pub fn stamp_version(job: &mut Value, version: Option<u64>) {
    if let Some(meta) = job.get_mut("Meta").and_then(Value::as_object_mut) {
        match version {
            Some(v) => meta.insert(META_VERSION.into(), Value::from(v.to_string())),
            None => meta.remove(META_VERSION),
        };
    }
}

/// The version stamp of a listed job.
pub fn stamped_version(stub: &JobListStub) -> Option<u64> {
    stub.meta.as_ref()?.get(META_VERSION)?.parse().ok()
}

/// JSON with object keys sorted; at the top level, the stamps in `Meta` are skipped.
fn canonical(value: &Value, out: &mut String, top: bool) {
    match value {
        Value::Object(map) => {
            let keys: BTreeSet<&String> = map.keys().collect();
            out.push('{');
            let mut first = true;
            for key in keys {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                match (top && key == "Meta", &map[key]) {
                    (true, Value::Object(meta)) => {
                        let mut meta = meta.clone();
                        meta.remove(META_FINGERPRINT);
                        meta.remove(META_VERSION);
                        canonical(&Value::Object(meta), out, false);
                    }
                    (_, inner) => canonical(inner, out, false),
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out, false);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The cluster as one round trip of list calls saw it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Names of the namespaces that exist.
    pub namespaces: BTreeSet<String>,
    /// Job list entries by namespace, then ID.
    pub jobs: BTreeMap<String, BTreeMap<String, JobListStub>>,
    /// `ModifyIndex` of each deploy record by (namespace, path); empty when the token may
    /// not list variables (every job is then planned, as without records).
    pub records: BTreeMap<(String, String), u64>,
}

impl Listing {
    /// Lists namespaces, jobs (with meta) and deploy records concurrently.
    pub async fn fetch(deployer: &Deployer) -> Result<Listing, NomadError> {
        let client = &deployer.client;
        let (namespaces, jobs, records) = tokio::join!(
            deployer.bounded(client.namespaces()),
            deployer.bounded(client.jobs("*")),
            deployer.bounded(client.variables_under("*", RECORD_PREFIX)),
        );
        let records = match records {
            Ok(records) => records,
            // No right to list variables (or a Nomad without them): plan every job.
            Err(e) if matches!(e.status(), Some(403 | 404)) => {
                tracing::warn!(error = %e, "cannot list opsctl's deploy records; planning every job");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut listing = Listing {
            namespaces: namespaces?.into_iter().map(|n| n.name).collect(),
            ..Listing::default()
        };
        for job in jobs? {
            listing
                .jobs
                .entry(job.namespace.clone())
                .or_default()
                .insert(job.id.clone(), job);
        }
        for record in records {
            listing
                .records
                .insert((record.namespace, record.path), record.modify_index);
        }
        Ok(listing)
    }

    /// The `ModifyIndex` of `env`'s deploy record in `namespace`.
    pub fn record(&self, namespace: &str, env: &str) -> Option<u64> {
        self.records
            .get(&(namespace.to_string(), record_path(env)))
            .copied()
    }
}

/// Why a job is planned rather than taken as unchanged from the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Fingerprint, status and record agree: nothing to ask Nomad.
    Unchanged,
    /// Plan it: missing, different fingerprint, stopped/dead, no record, or `--refresh`.
    Plan,
    /// Plan it: its `JobModifyIndex` is newer than the environment's deploy record.
    Drift,
}

/// What the listing says about one rendered job.
pub fn check(stub: Option<&JobListStub>, print: &str, record: Option<u64>, refresh: bool) -> Check {
    let Some(stub) = stub else {
        return Check::Plan;
    };
    let same = stub
        .meta
        .as_ref()
        .and_then(|m| m.get(META_FINGERPRINT))
        .is_some_and(|p| p == print);
    if refresh || !same || stub.stop || stub.status == "dead" || stamped_version(stub).is_none() {
        return Check::Plan;
    }
    match record {
        None => Check::Plan,
        Some(index) if stub.job_modify_index > index => Check::Drift,
        Some(_) => Check::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order_and_itself() {
        let a = json!({"ID": "web", "Meta": {"a": "1", "b": "2"}, "Count": 1});
        let b = json!({"Count": 1, "Meta": {"b": "2", "a": "1"}, "ID": "web"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let stamped = stamp(a.clone());
        assert_eq!(stamped["Meta"][META_FINGERPRINT], fingerprint(&a));
        assert_eq!(fingerprint(&stamped), fingerprint(&a));
        let mut versioned = stamped.clone();
        stamp_version(&mut versioned, Some(3));
        assert_eq!(versioned["Meta"][META_VERSION], "3");
        assert_eq!(fingerprint(&versioned), fingerprint(&a));
        let c = json!({"ID": "web", "Meta": {"a": "1", "b": "2"}, "Count": 2});
        assert_ne!(fingerprint(&a), fingerprint(&c));
        // Only the top-level Meta key is the fingerprint's own.
        let nested = json!({"ID": "web", "Meta": {}, "X": {"opsctl_fingerprint": "1"}});
        let other = json!({"ID": "web", "Meta": {}, "X": {"opsctl_fingerprint": "2"}});
        assert_ne!(fingerprint(&nested), fingerprint(&other));
    }

    #[test]
    fn a_job_is_planned_unless_the_listing_vouches_for_it() {
        let stub = |print: &str, jmi: u64, stop: bool, status: &str| JobListStub {
            id: "web".into(),
            status: status.into(),
            stop,
            job_modify_index: jmi,
            meta: Some(
                [
                    (META_FINGERPRINT.to_string(), print.to_string()),
                    (META_VERSION.to_string(), "4".to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let ok = stub("p", 10, false, "running");
        assert_eq!(check(Some(&ok), "p", Some(12), false), Check::Unchanged);
        assert_eq!(stamped_version(&ok), Some(4));
        let mut unstamped = ok.clone();
        unstamped.meta.as_mut().unwrap().remove(META_VERSION);
        assert_eq!(check(Some(&unstamped), "p", Some(12), false), Check::Plan);
        assert_eq!(check(Some(&ok), "p", Some(12), true), Check::Plan);
        assert_eq!(check(Some(&ok), "q", Some(12), false), Check::Plan);
        assert_eq!(check(Some(&ok), "p", None, false), Check::Plan);
        assert_eq!(check(Some(&ok), "p", Some(9), false), Check::Drift);
        assert_eq!(check(None, "p", Some(12), false), Check::Plan);
        let stopped = stub("p", 10, true, "dead");
        assert_eq!(check(Some(&stopped), "p", Some(12), false), Check::Plan);
        let dead = stub("p", 10, false, "dead");
        assert_eq!(check(Some(&dead), "p", Some(12), false), Check::Plan);
    }
}
