//! The built binary: exit codes, JSON shapes, files written, flags.

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::{opsctl, ExampleRepo};

fn json_stdout(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn version_prints_the_crate_version() {
    opsctl()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("opsctl {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn validate_passes_on_the_worked_example() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "6 environments, 6 job templates, no problems",
        ));
}

#[test]
fn validate_json_lists_problems_with_positions_and_exits_2() {
    let repo = ExampleRepo::new();
    repo.edit("clusters/plutus/cluster.toml", "count = 3", "count = 4");
    repo.edit(
        "clusters/plutus/envs/staging.toml",
        "port_base = 1035",
        "port_base = 1030",
    );
    let output = repo
        .opsctl()
        .args(["validate", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report = json_stdout(&output);
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0],
        serde_json::json!({
            "file": "clusters/plutus/cluster.toml",
            "line": 16,
            "column": 1,
            "field": "core.count",
            "message": "core count must be 3 or 5 for a Raft quorum (got 4)"
        })
    );
    assert_eq!(problems[1]["file"], "clusters/plutus/envs/staging.toml");
}

#[test]
fn repository_is_found_from_a_subfolder() {
    let repo = ExampleRepo::new();
    opsctl()
        .current_dir(repo.file("jobs"))
        .arg("validate")
        .assert()
        .code(0);
}

#[test]
fn missing_repository_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    opsctl()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no ops repository found"));
}

#[test]
fn unknown_cluster_and_environment_are_invalid_input() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .args(["--cluster", "plutos", "validate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no cluster `plutos` (did you mean `plutus`?)",
        ));
    repo.opsctl()
        .args(["render", "stagin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no environment `stagin` in cluster `plutus` (did you mean `staging`?)",
        ));
}

#[test]
fn cluster_comes_from_the_environment_variable() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .env("OPSCTL_CLUSTER", "nope")
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no cluster `nope`"));
}

#[test]
fn bad_flags_are_invalid_input() {
    opsctl().args(["render"]).assert().code(2);
    opsctl()
        .args(["--output", "yaml", "validate"])
        .assert()
        .code(2);
}

#[test]
fn errors_in_json_mode_are_json_on_stdout() {
    let repo = ExampleRepo::new();
    repo.edit("clusters/plutus/cluster.toml", "count = 3", "count = 4");
    let output = repo
        .opsctl()
        .args(["-o", "json", "render", "staging"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let body = json_stdout(&output);
    assert_eq!(body["error"]["exit_code"], 2);
    assert_eq!(body["error"]["problems"][0]["field"], "core.count");
}

#[test]
fn render_prints_the_environments_jobs() {
    let repo = ExampleRepo::new();
    let output = repo
        .opsctl()
        .args(["render", "staging", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report = json_stdout(&output);
    assert_eq!(report["namespace"], "staging");
    let ids: Vec<&str> = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "marlowe-website",
            "marlowe-run",
            "marlowe-playground",
            "web-ghc"
        ]
    );
    let run = &report["jobs"][1]["job"];
    assert_eq!(run["Namespace"], "staging");
    let rev = serde_json::from_str::<Value>(&repo.read("revisions/staging/marlowe-cardano.json"))
        .unwrap()["rev"]
        .clone();
    assert_eq!(run["Meta"]["marlowe-cardano-rev"], rev);
}

#[test]
fn render_text_output_and_one_job() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .args(["render", "production", "--job", "marlowe-run"])
        .assert()
        .success()
        // The header is a note on stderr: stdout stays the job's JSON (see tests/tty.rs).
        .stderr(predicate::str::contains(
            "# jobs/marlowe-run.json.tmpl → prod/marlowe-run",
        ))
        .stdout(predicate::str::contains("Host(`run.marlowe-finance.io`)"))
        .stdout(predicate::str::contains("marlowe-website").not());
    repo.opsctl()
        .args(["render", "production", "--job", "plutus-playground"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "job `plutus-playground` is not part of environment `production`",
        ));
}

#[test]
fn render_out_writes_wrapped_jobs() {
    let repo = ExampleRepo::new();
    let out = tempfile::tempdir().unwrap();
    repo.opsctl()
        .args(["render", "plutus-staging", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["plutus-playground.json", "web-ghc.json"]);
    let job: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("web-ghc.json")).unwrap())
            .unwrap();
    assert_eq!(job["Job"]["Namespace"], "plutus-staging");
}

#[test]
fn dynamic_port_environment_renders_dynamic_ports() {
    let repo = ExampleRepo::new();
    let output = repo
        .opsctl()
        .args(["render", "marlowe-ci", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("ReservedPorts"));
    assert!(text.contains("DynamicPorts"));
    // marlowe-ci follows staging's revisions.
    let staging_rev =
        serde_json::from_str::<Value>(&repo.read("revisions/staging/marlowe-cardano.json"))
            .unwrap()["rev"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(text.contains(&staging_rev));
}

#[test]
fn show_commands_report_text_and_json() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .args(["show", "cluster"])
        .assert()
        .success()
        .stdout(predicate::str::contains("client-us-east-2-default"));
    let output = repo
        .opsctl()
        .args(["show", "envs", "-o", "json"])
        .output()
        .unwrap();
    let report = json_stdout(&output);
    let envs = report["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 6);
    let production = envs.iter().find(|e| e["name"] == "production").unwrap();
    assert_eq!(production["namespace"], "prod");
    assert_eq!(production["ports"], "1024-1034");
    let output = repo
        .opsctl()
        .args(["show", "env", "production", "-o", "json"])
        .output()
        .unwrap();
    let report = json_stdout(&output);
    assert_eq!(report["hostnames"]["marlowe-run"], "run.marlowe-finance.io");
    assert_eq!(
        report["hostnames"]["web-ghc"],
        "web-ghc-prod.plutus.example.org"
    );
    assert_eq!(report["pinned"]["marlowe-cardano"]["ref"], "production");
}

#[test]
fn completions_are_generated() {
    opsctl()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_opsctl()"));
}

#[test]
fn no_color_output_has_no_escape_codes() {
    let repo = ExampleRepo::new();
    repo.opsctl()
        .args(["--no-color", "show", "envs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}[").not());
}
