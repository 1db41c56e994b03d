//! Calls for whole namespaces (ad hoc environments): list them, purge jobs, list and delete
//! the namespace's variables. Nomad refuses to delete a namespace that still has non-terminal
//! jobs or allocations, or variables.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::{NomadClient, NomadError};
use super::types::Namespace;

/// One variable's metadata, as `GET /v1/vars` lists them (no items).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VariableMetadata {
    /// Namespace the variable is in.
    pub namespace: String,
    /// Variable path (`a/b/c`), unique within its namespace.
    pub path: String,
    /// Raft index at which the variable was created.
    pub create_index: u64,
    /// Raft index of its last write (the check-and-set index for the next one).
    pub modify_index: u64,
}

fn path_segments(path: &str) -> String {
    // Variable paths are `a/b/c`: each segment is encoded, the slashes stay.
    path.split('/')
        .map(|segment| {
            let mut out = String::new();
            for b in segment.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        out.push(b as char)
                    }
                    _ => out.push_str(&format!("%{b:02X}")),
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl NomadClient {
    /// Every namespace of the region.
    pub async fn namespaces(&self) -> Result<Vec<Namespace>, NomadError> {
        self.get::<Option<Vec<Namespace>>>("/v1/namespaces", &[])
            .await
            .map(|(n, _)| n.unwrap_or_default())
    }

    /// Stops a job and removes it from Nomad's state (`nomad job stop -purge`).
    pub async fn purge_job(&self, namespace: &str, id: &str) -> Result<(), NomadError> {
        match self.deregister(namespace, id, true).await {
            Ok(_) => Ok(()),
            // Already gone (an earlier, interrupted destroy purged it).
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Metadata of every variable in `namespace`.
    pub async fn variables(&self, namespace: &str) -> Result<Vec<VariableMetadata>, NomadError> {
        self.variables_under(namespace, "").await
    }

    /// Metadata of the variables whose path starts with `prefix`, in `namespace` (`*`: in
    /// every namespace the token may list).
    pub async fn variables_under(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<VariableMetadata>, NomadError> {
        let query = [
            ("prefix", prefix.to_string()),
            ("namespace", namespace.to_string()),
        ];
        self.get::<Option<Vec<VariableMetadata>>>("/v1/vars", &query)
            .await
            .map(|(v, _)| v.unwrap_or_default())
    }

    /// Writes (creates or replaces) a variable; returns its metadata with the new
    /// `ModifyIndex`. An upsert, so retried like one.
    pub async fn put_variable(
        &self,
        namespace: &str,
        path: &str,
        items: &BTreeMap<String, String>,
    ) -> Result<VariableMetadata, NomadError> {
        let url = format!("/v1/var/{}", path_segments(path));
        let query = [("namespace", namespace.to_string())];
        let body = serde_json::json!({ "Namespace": namespace, "Path": path, "Items": items });
        self.write(Method::PUT, &url, &query, Some(&body), true)
            .await
    }

    /// Deletes one variable (Nomad answers 204 with no body).
    pub async fn delete_variable(&self, namespace: &str, path: &str) -> Result<(), NomadError> {
        let url = format!("/v1/var/{}", path_segments(path));
        let query = [("namespace", namespace.to_string())];
        self.write::<(), Value>(Method::DELETE, &url, &query, None, true)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn variable_paths_keep_their_slashes() {
        assert_eq!(super::path_segments("nomad/jobs/web"), "nomad/jobs/web");
        assert_eq!(super::path_segments("a b/c"), "a%20b/c");
    }
}
