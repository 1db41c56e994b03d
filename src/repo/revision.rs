//! `revisions/<env>/<source>.json`: the pinned upstream revision of one source.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub source: String,
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub rev: String,
    /// RFC 3339 time of the last update.
    pub updated: String,
}

impl Revision {
    pub fn short_rev(&self) -> &str {
        self.rev.get(..8).unwrap_or(&self.rev)
    }
}
