//! `opsctl terraform … config` starts no process: the terraform version comes from
//! `[terraform].version` or the cache a terraform-running command left, never from starting
//! the binary. A `terraform` shim on an otherwise empty PATH records every call.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use support::ExampleRepo;

/// A PATH holding only a `terraform` that logs its arguments and claims to be 1.0.3.
struct Shim {
    dir: tempfile::TempDir,
}

impl Shim {
    fn new() -> Shim {
        let dir = tempfile::tempdir().unwrap();
        let shim = Shim { dir };
        shim.write("");
        shim
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// (Re)writes the shim; `extra` changes its size, as a new build of the binary would.
    fn write(&self, extra: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("terraform");
        let text = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$1\" in version) echo '{{\"terraform_version\": \"1.0.3\"}}';; esac\n{extra}exit 0\n",
            self.log().display()
        );
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The calls logged so far, and a fresh log.
    fn take_calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log());
        text.lines().map(str::to_string).collect()
    }
}

fn opsctl(repo: &ExampleRepo, shim: &Shim, args: &[&str]) -> Command {
    let mut cmd = repo.opsctl();
    cmd.env("PATH", shim.dir.path())
        .env_remove("OPSCTL_TERRAFORM")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .args(["--output", "json", "terraform"])
        .args(args);
    cmd
}

fn json(repo: &ExampleRepo, shim: &Shim, args: &[&str]) -> Value {
    let out = opsctl(repo, shim, args).output().unwrap();
    assert!(
        out.status.success(),
        "opsctl terraform {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn backend(path: &Path) -> Value {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["terraform"]["backend"]["s3"].clone()
}

#[test]
fn config_starts_no_process_and_takes_the_version_from_the_file_or_the_cache() {
    let repo = ExampleRepo::new();
    let shim = Shim::new();
    let network = repo.file(".opsctl/plutus/network/main.tf.json");

    // Nothing known: current terraform's dialect, and the binary is never started.
    let report = json(&repo, &shim, &["network", "config"]);
    assert_eq!(report["workspace"], "network");
    assert_eq!(backend(&network)["use_lockfile"], true);
    assert_eq!(shim.take_calls(), Vec::<String>::new());

    // A command that runs terraform anyway asks its version once and caches it.
    json(&repo, &shim, &["network", "init"]);
    let calls = shim.take_calls();
    assert_eq!(calls[0], "version -json", "{calls:?}");
    assert!(calls[1].starts_with("init"), "{calls:?}");
    assert!(repo.file(".opsctl/plutus/terraform-version.json").is_file());

    // config now writes for 1.0.3 (DynamoDB locking, old endpoint keys), still starting nothing.
    json(&repo, &shim, &["network", "config"]);
    let old = backend(&network);
    assert_eq!(old["dynamodb_table"], "plutus-ops-state-lock", "{old}");
    assert!(old.get("use_lockfile").is_none(), "{old}");
    assert_eq!(shim.take_calls(), Vec::<String>::new());

    // Another build of the binary: the cache no longer holds.
    shim.write("# rebuilt\n");
    json(&repo, &shim, &["network", "config"]);
    assert_eq!(backend(&network)["use_lockfile"], true);
    assert_eq!(shim.take_calls(), Vec::<String>::new());

    // [terraform].version decides without any binary.
    let file = "clusters/plutus/cluster.toml";
    let text = repo.read(file);
    repo.write(file, &format!("{text}\n[terraform]\nversion = \"1.5.7\"\n"));
    let report = json(&repo, &shim, &["all", "config"]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["exit_code"], 0);
    let order: Vec<&str> = report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["status"], "done", "{s}");
            s["workspace"].as_str().unwrap()
        })
        .collect();
    assert_eq!(order, ["network", "core", "clients"]);
    for workspace in order {
        let path = repo.file(&format!(".opsctl/plutus/{workspace}/main.tf.json"));
        let backend = backend(&path);
        assert!(
            backend.get("dynamodb_table").is_some(),
            "{workspace}: {backend}"
        );
        assert_eq!(
            backend["key"],
            format!("opsctl/plutus/{workspace}/terraform.tfstate")
        );
    }
    assert_eq!(shim.take_calls(), Vec::<String>::new());
}

#[test]
fn all_takes_only_the_actions_that_span_workspaces() {
    let repo = ExampleRepo::new();
    let shim = Shim::new();
    for action in ["init", "output"] {
        let out = opsctl(&repo, &shim, &["all", action]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "all {action}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("take one workspace"));
    }
    assert_eq!(shim.take_calls(), Vec::<String>::new());
}

/// `(workspace, rendered, written)` of each step of an `all config` report.
fn steps(report: &Value) -> Vec<(String, bool, bool)> {
    report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let r = &s["result"];
            (
                s["workspace"].as_str().unwrap().to_string(),
                r["rendered"].as_bool().unwrap(),
                r["written"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn config_renders_again_only_when_an_input_or_the_file_changed() {
    let repo = ExampleRepo::new();
    let shim = Shim::new();
    let all = |want: [(bool, bool); 3]| {
        let report = json(&repo, &shim, &["all", "config"]);
        let want: Vec<(String, bool, bool)> = ["network", "core", "clients"]
            .iter()
            .zip(want)
            .map(|(w, (rendered, written))| (w.to_string(), rendered, written))
            .collect();
        assert_eq!(steps(&report), want, "{report:#}");
        report
    };
    let first = all([(true, true); 3]);
    // Same inputs, files as written: nothing rendered, nothing written, same hashes.
    let again = all([(false, false); 3]);
    for (a, b) in first["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again["workspaces"].as_array().unwrap())
    {
        assert_eq!(a["result"]["sha256"], b["result"]["sha256"]);
        assert_eq!(a["result"]["bytes"], b["result"]["bytes"]);
    }

    // A hand edit of one file: that workspace is rendered and written back as it was.
    let core = ".opsctl/plutus/core/main.tf.json";
    let written = repo.read(core);
    repo.write(core, &written.replacen("{", "{ ", 1));
    all([(false, false), (true, true), (false, false)]);
    assert_eq!(repo.read(core), written);

    // A change in the cluster file: every workspace is rendered again; the ones whose
    // configuration it changes are written.
    let file = "clusters/plutus/cluster.toml";
    let text = repo.read(file);
    assert!(text.contains("[core]"), "{text}");
    repo.write(file, &format!("{text}\n[terraform]\nversion = \"1.5.7\"\n"));
    all([(true, true); 3]);
    all([(false, false); 3]);
    assert_eq!(shim.take_calls(), Vec::<String>::new());
}
