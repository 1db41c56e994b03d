//! Environment names from anything a person types or a branch is called: a valid environment
//! name that is also the Nomad namespace, short enough that every `<job>-<namespace>.<domain>`
//! hostname label stays within 63 characters.

use sha2::{Digest, Sha256};

/// The longest DNS label.
pub const MAX_LABEL: usize = 63;
/// Characters of the hash suffix a shortened name ends with (`-` + this many hex digits).
const HASH_LEN: usize = 6;
/// A name is never shortened below this (the hash alone would say nothing).
const MIN_KEEP: usize = 8;

/// How a requested name became an environment name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvName {
    /// What was asked for (the branch name when none was given).
    pub requested: String,
    /// Environment name, file name and Nomad namespace.
    pub name: String,
    /// The name was cut and given a hash suffix to fit the hostname limit.
    pub shortened: bool,
    /// Longest the name may be for this variant's jobs.
    pub max_len: usize,
}

/// Why no environment name can be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// The requested name (given here) has no letter or digit left after sanitizing.
    #[error("`{0}` has no letter or digit to make an environment name of")]
    Empty(String),
    /// A job name leaves fewer than 8 characters for the environment in a 63-character
    /// `<job>-<environment>` label.
    #[error("job name `{job}` is too long: `{job}-<environment>` cannot fit a 63-character hostname label")]
    JobTooLong {
        /// The longest job name of the variant.
        job: String,
    },
}

/// The longest environment name for which `<job>-<name>` fits a DNS label for every job.
pub fn max_name_len<'a>(jobs: impl IntoIterator<Item = &'a str>) -> Result<usize, NameError> {
    let longest = jobs.into_iter().max_by_key(|j| j.len()).unwrap_or("");
    let room = MAX_LABEL.saturating_sub(longest.len() + 1);
    if room < MIN_KEEP {
        return Err(NameError::JobTooLong {
            job: longest.to_string(),
        });
    }
    Ok(room)
}

/// Lowercase letters and digits, every other run of characters one `-`, none at either end.
pub fn sanitize(requested: &str) -> String {
    let mut out = String::with_capacity(requested.len());
    for c in requested.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The environment name for `requested` with names of at most `max_len` characters: sanitized,
/// and when too long, cut and suffixed with a hash of the whole request (so two long branch
/// names sharing a prefix stay distinct, and the same branch always gets the same name).
pub fn env_name(requested: &str, max_len: usize) -> Result<EnvName, NameError> {
    let clean = sanitize(requested);
    if clean.is_empty() {
        return Err(NameError::Empty(requested.to_string()));
    }
    if clean.len() <= max_len {
        return Ok(EnvName {
            requested: requested.to_string(),
            name: clean,
            shortened: false,
            max_len,
        });
    }
    let hash = hex::encode(Sha256::digest(requested.as_bytes()));
    let keep = max_len.saturating_sub(HASH_LEN + 1).max(1);
    let prefix = clean[..keep].trim_end_matches('-');
    Ok(EnvName {
        requested: requested.to_string(),
        name: format!("{prefix}-{}", &hash[..HASH_LEN]),
        shortened: true,
        max_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::names::dns_label_error;

    const JOBS: [&str; 4] = [
        "marlowe-website",
        "marlowe-run",
        "marlowe-playground",
        "web-ghc",
    ];

    #[test]
    fn room_is_what_the_longest_job_leaves() {
        // 63 - len("marlowe-playground-") = 44
        assert_eq!(max_name_len(JOBS), Ok(44));
        let long = "j".repeat(60);
        assert!(matches!(
            max_name_len([long.as_str()]),
            Err(NameError::JobTooLong { .. })
        ));
    }

    #[test]
    fn branch_names_become_labels() {
        let n = env_name("feature/ABC_123-fix", 44).unwrap();
        assert_eq!(n.name, "feature-abc-123-fix");
        assert!(!n.shortened);
        assert_eq!(env_name("--Main--", 44).unwrap().name, "main");
        assert_eq!(env_name("a..b//c", 44).unwrap().name, "a-b-c");
        assert!(matches!(env_name("/_/", 44), Err(NameError::Empty(_))));
    }

    #[test]
    fn long_branch_names_are_shortened_with_a_stable_hash() {
        let branch = "feature/ABC_123-very-long-branch-name-that-describes-everything-it-does";
        assert!(branch.len() >= 70);
        let max = max_name_len(JOBS).unwrap();
        let a = env_name(branch, max).unwrap();
        assert!(a.shortened);
        assert!(a.name.len() <= max, "{} is {} long", a.name, a.name.len());
        assert!(a.name.starts_with("feature-abc-123-very-long"));
        assert_eq!(a, env_name(branch, max).unwrap(), "same branch, same name");
        let b = env_name(&format!("{branch}-2"), max).unwrap();
        assert_ne!(a.name, b.name, "a shared prefix does not collide");
        for job in JOBS {
            let label = format!("{job}-{}", a.name);
            assert_eq!(dns_label_error(&label), None, "{label}");
            assert!(label.len() <= MAX_LABEL);
        }
    }

    #[test]
    fn a_cut_never_ends_in_a_dash() {
        // The cut lands right after a separator.
        let name = env_name("abcdefgh-ijklmnop-qrstuvwx", 17).unwrap();
        assert!(name.shortened);
        assert!(!name.name.contains("--"), "{}", name.name);
        assert!(name.name.len() <= 17);
        assert_eq!(dns_label_error(&name.name), None);
    }
}
