//! `revisions/<env>/<source>.json`: the pinned upstream revision of one source.

use serde::{Deserialize, Serialize};

/// One `revisions/<env>/<source>.json`: the commit of a source an environment runs, written by
/// `opsctl deploy --source/--ref/--rev` (CI) and `opsctl env apply` (ad hoc environments).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    /// The source's name in `[sources]`; must equal the file's stem.
    pub source: String,
    /// URL of the source's Git repository, as `[sources.<name>].repo` said when it was written.
    pub repo: String,
    /// The ref the commit came from (`ref` in the file): a branch or tag, never empty.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The pinned commit: 40 lowercase hex digits.
    pub rev: String,
    /// RFC 3339 time of the last update.
    pub updated: String,
}

impl Revision {
    /// The first 8 hex digits of the commit, for display.
    pub fn short_rev(&self) -> &str {
        self.rev.get(..8).unwrap_or(&self.rev)
    }
}
