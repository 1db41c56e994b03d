//! Shared harness for integration tests: the built binary, a scratch copy of the worked
//! example, and real services (moto_server) on ephemeral loopback ports, stopped by PID.
#![allow(dead_code)]

pub mod git;
pub mod large_cluster;
pub mod moto;
pub mod nodes;
pub mod sshd;
pub mod tf_provider;
pub mod tf_schema;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Makes a bare remote `dir/ops.git` whose `branch` holds the worked example: cloned into
/// `dir/<work>`, the example copied in, committed and pushed (the clone is left tracking
/// `branch`). `git` runs git in a folder with the caller's identity. Returns the remote.
pub fn example_remote(
    dir: &Path,
    work: &str,
    branch: &str,
    git: impl Fn(&Path, &[&str]) -> String,
) -> PathBuf {
    let bare = dir.join("ops.git");
    let work = dir.join(work);
    let (bare_arg, work_arg) = (bare.to_str().unwrap(), work.to_str().unwrap());
    git(dir, &["init", "--quiet", "--bare", "-b", "main", bare_arg]);
    git(dir, &["clone", "--quiet", bare_arg, work_arg]);
    for folder in ["clusters", "jobs", "revisions"] {
        copy_tree(&project_root().join(folder), &work.join(folder));
    }
    git(&work, &["checkout", "--quiet", "-b", branch]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "seed"]);
    git(&work, &["push", "--quiet", "-u", "origin", branch]);
    bare
}

/// A Nomad simulator (60 ms rollouts) with a client in the example's first datacenter
/// (its own client is in `dc1`, where the example's jobs cannot be placed).
pub fn example_sim() -> nomad_sim::Sim {
    let sim = nomad_sim::Sim::start_with(nomad_sim::SimConfig {
        deploy_time: std::time::Duration::from_millis(60),
        ..nomad_sim::SimConfig::default()
    });
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    sim
}

/// The project root (holds the worked example).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch copy of the worked example (`clusters/`, `jobs/`, `revisions/`) in a temp dir.
pub struct ExampleRepo {
    pub dir: tempfile::TempDir,
}

impl ExampleRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for folder in ["clusters", "jobs", "revisions"] {
            copy_tree(&project_root().join(folder), &dir.path().join(folder));
        }
        ExampleRepo { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).expect("read repo file")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).expect("write repo file");
    }

    /// Replaces `from` by `to` in a file, failing the test if `from` is absent.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// `opsctl --repo <this> ...` with a clean environment for opsctl's own variables.
    pub fn opsctl(&self) -> Command {
        let mut cmd = opsctl();
        cmd.arg("--repo").arg(self.path());
        cmd
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The built `opsctl` binary, isolated from the caller's opsctl and Nomad settings.
pub fn opsctl() -> Command {
    let mut cmd = Command::cargo_bin("opsctl").expect("opsctl binary");
    for var in [
        "OPSCTL_REPO",
        "OPSCTL_CLUSTER",
        "OPSCTL_OUTPUT",
        "OPSCTL_LOG",
        "NOMAD_ADDR",
        "NOMAD_TOKEN",
        "NOMAD_NAMESPACE",
        "NOMAD_REGION",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A command on PATH, or a failure saying how to get it.
pub fn require_tool(name: &str, install: &str) -> PathBuf {
    which(name).unwrap_or_else(|| {
        panic!("`{name}` is needed by this test and was not found on PATH: {install} (scripts/test installs it)")
    })
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a test server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits (bounded) until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}
