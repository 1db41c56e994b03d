//! git in tests: a fixed identity and no user configuration, so commits work on any machine.

use std::path::Path;
use std::process::Command;

/// Author and committer `ci <ci@example.org>`, and no global git configuration.
pub const IDENTITY: [(&str, &str); 5] = [
    ("GIT_AUTHOR_NAME", "ci"),
    ("GIT_AUTHOR_EMAIL", "ci@example.org"),
    ("GIT_COMMITTER_NAME", "ci"),
    ("GIT_COMMITTER_EMAIL", "ci@example.org"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
];

/// `git -C dir ARGS...` with [`IDENTITY`]; panics with git's stderr when it fails; its
/// trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(IDENTITY)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
