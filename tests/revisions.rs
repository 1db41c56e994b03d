//! The CI revision flow (`deploy --source --ref --rev`) in real git repositories with a bare
//! remote, and its deploy against the Nomad simulator.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nomad_sim::{Sim, SimConfig};
use serde_json::Value;
use support::{copy_tree, opsctl, project_root, require_tool};

const REV_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REV_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(identity())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn identity() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIT_AUTHOR_NAME", "ci"),
        ("GIT_AUTHOR_EMAIL", "ci@example.org"),
        ("GIT_COMMITTER_NAME", "ci"),
        ("GIT_COMMITTER_EMAIL", "ci@example.org"),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ]
}

/// A bare remote holding the worked example, and clones of it.
struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    fn new() -> Self {
        require_tool("git", "apt-get install git");
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("ops.git");
        let seed = dir.path().join("seed");
        git(
            dir.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                "main",
                bare.to_str().unwrap(),
            ],
        );
        git(
            dir.path(),
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                seed.to_str().unwrap(),
            ],
        );
        for folder in ["clusters", "jobs", "revisions"] {
            copy_tree(&project_root().join(folder), &seed.join(folder));
        }
        git(&seed, &["checkout", "--quiet", "-b", "main"]);
        git(&seed, &["add", "."]);
        git(&seed, &["commit", "--quiet", "-m", "seed"]);
        git(&seed, &["push", "--quiet", "-u", "origin", "main"]);
        Remote { dir }
    }

    fn clone(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let bare = self.dir.path().join("ops.git");
        git(
            self.dir.path(),
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                path.to_str().unwrap(),
            ],
        );
        path
    }
}

fn bump(repo: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = opsctl();
    cmd.arg("--repo")
        .arg(repo)
        .args(["--output", "json", "deploy"])
        .args(args)
        .envs(identity())
        .timeout(Duration::from_secs(60));
    cmd
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&out.get_output().stdout)
        )
    })
}

fn pinned(repo: &Path, env: &str, source: &str) -> (String, String) {
    let text =
        std::fs::read_to_string(repo.join(format!("revisions/{env}/{source}.json"))).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    (
        value["ref"].as_str().unwrap().to_string(),
        value["rev"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_bump_changes_only_the_tracking_environments() {
    let remote = Remote::new();
    let work = remote.clone("work");
    let before_production = pinned(&work, "production", "marlowe-cardano");
    let out = bump(
        &work,
        &[
            "--source",
            "marlowe-cardano",
            "--ref",
            "refs/heads/main",
            "--rev",
            REV_A,
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    let report = json(&out);
    let changes = report["revisions"]["changes"].as_array().unwrap();
    let updated: Vec<&str> = changes
        .iter()
        .filter(|c| c["status"] == "updated")
        .map(|c| c["environment"].as_str().unwrap())
        .collect();
    // The two environments tracking main; production tracks `production`.
    assert_eq!(updated, ["explorer-staging", "staging"], "{report:#}");
    assert_eq!(
        pinned(&work, "staging", "marlowe-cardano"),
        ("main".into(), REV_A.into())
    );
    assert_eq!(
        pinned(&work, "production", "marlowe-cardano"),
        before_production
    );
    // Only the one file changed, and nothing was committed without --commit.
    assert_eq!(
        git(&work, &["status", "--porcelain"]),
        "M revisions/explorer-staging/marlowe-cardano.json\n M revisions/staging/marlowe-cardano.json"
    );
    // The same bump again is a no-op.
    let out = bump(
        &work,
        &[
            "--source",
            "marlowe-cardano",
            "--ref",
            "main",
            "--rev",
            REV_A,
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    assert!(json(&out)["revisions"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "unchanged"));
}

#[test]
fn a_ref_no_environment_tracks_exits_0_and_says_so() {
    let remote = Remote::new();
    let work = remote.clone("work");
    let out = bump(
        &work,
        &[
            "--source",
            "marlowe-cardano",
            "--ref",
            "feature/x",
            "--rev",
            REV_A,
            "--yes",
        ],
    )
    .arg("--output")
    .arg("text")
    .assert()
    .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("no environment tracks marlowe-cardano at feature/x"),
        "{text}"
    );
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
}

#[test]
fn a_tag_pattern_only_moves_forward() {
    let remote = Remote::new();
    let work = remote.clone("work");
    assert_eq!(
        pinned(&work, "plutus-production", "plutus-apps").0,
        "v2026-10-15"
    );
    bump(
        &work,
        &[
            "--source",
            "plutus-apps",
            "--ref",
            "refs/tags/v2026-11-20",
            "--rev",
            REV_A,
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    assert_eq!(
        pinned(&work, "plutus-production", "plutus-apps"),
        ("v2026-11-20".into(), REV_A.into())
    );
    let out = bump(
        &work,
        &[
            "--source",
            "plutus-apps",
            "--ref",
            "v2026-11-01",
            "--rev",
            REV_B,
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    assert_eq!(json(&out)["revisions"]["changes"][0]["status"], "not_newer");
    assert_eq!(
        pinned(&work, "plutus-production", "plutus-apps"),
        ("v2026-11-20".into(), REV_A.into())
    );
    // plutus-staging tracks main, not tags.
    assert_ne!(pinned(&work, "plutus-staging", "plutus-apps").1, REV_A);
}

#[test]
fn a_bad_rev_is_refused_before_anything_is_written() {
    let remote = Remote::new();
    let work = remote.clone("work");
    for rev in ["abc123", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"] {
        let out = bump(
            &work,
            &[
                "--source",
                "marlowe-cardano",
                "--ref",
                "main",
                "--rev",
                rev,
                "--commit",
            ],
        )
        .assert()
        .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(stderr.contains("40-hex"), "{stderr}");
    }
    bump(
        &work,
        &["--source", "nope", "--ref", "main", "--rev", REV_A],
    )
    .assert()
    .code(2);
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "1");
}

#[test]
fn a_rejected_push_is_reapplied_on_the_new_tip() {
    let remote = Remote::new();
    let first = remote.clone("first");
    let second = remote.clone("second");
    bump(
        &first,
        &[
            "--source",
            "marlowe-cardano",
            "--ref",
            "main",
            "--rev",
            REV_A,
            "--commit",
            "--push",
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    // `second` has not seen that push: its push is rejected, then re-applied and pushed.
    let out = bump(
        &second,
        &[
            "--source",
            "marlowe-website",
            "--ref",
            "master",
            "--rev",
            REV_B,
            "--commit",
            "--push",
            "--no-deploy",
        ],
    )
    .assert()
    .success();
    let report = json(&out);
    assert_eq!(report["revisions"]["pushed"], true);
    assert_eq!(report["revisions"]["push_attempts"], 2, "{report:#}");
    let check = remote.clone("check");
    assert_eq!(pinned(&check, "staging", "marlowe-cardano").1, REV_A);
    assert_eq!(pinned(&check, "staging", "marlowe-website").1, REV_B);
    let log = git(&check, &["log", "--format=%s"]);
    assert!(
        log.contains("revisions: marlowe-cardano main at aaaaaaaa for explorer-staging, staging"),
        "{log}"
    );
    assert!(
        log.contains("revisions: marlowe-website master at bbbbbbbb for staging"),
        "{log}"
    );
}

#[test]
fn concurrent_ci_runs_both_land() {
    let remote = Remote::new();
    let a = remote.clone("a");
    let b = remote.clone("b");
    let run = |dir: PathBuf, source: &'static str, git_ref: &'static str, rev: &'static str| {
        std::thread::spawn(move || {
            bump(
                &dir,
                &[
                    "--source",
                    source,
                    "--ref",
                    git_ref,
                    "--rev",
                    rev,
                    "--commit",
                    "--push",
                    "--no-deploy",
                ],
            )
            .assert()
            .success();
        })
    };
    let first = run(a, "marlowe-cardano", "main", REV_A);
    let second = run(b, "plutus-apps", "main", REV_B);
    first.join().unwrap();
    second.join().unwrap();
    let check = remote.clone("check");
    assert_eq!(pinned(&check, "staging", "marlowe-cardano").1, REV_A);
    assert_eq!(pinned(&check, "plutus-staging", "plutus-apps").1, REV_B);
}

#[test]
fn a_bump_deploys_the_environments_that_follow_it() {
    let remote = Remote::new();
    let work = remote.clone("work");
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(60),
        ..SimConfig::default()
    });
    // The example's jobs are placed in eu-central-1 (the simulator's own client is in dc1).
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    let deploy = |args: &[&str]| {
        let mut cmd = bump(&work, args);
        cmd.env("NOMAD_ADDR", sim.address());
        cmd.assert()
    };
    deploy(&["staging", "marlowe-ci", "--yes"]).success();
    let before = sim.register_calls();
    let out = deploy(&[
        "--source",
        "marlowe-website",
        "--ref",
        "master",
        "--rev",
        REV_B,
        "--yes",
    ])
    .success();
    let report = json(&out);
    // staging moved, and marlowe-ci follows staging's revisions: one job each.
    assert_eq!(sim.register_calls(), before + 2, "{report:#}");
    let edited: Vec<(String, String)> = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["action"] == "edited")
        .map(|j| {
            (
                j["environment"].as_str().unwrap().into(),
                j["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        edited,
        [
            ("marlowe-ci".to_string(), "marlowe-website".to_string()),
            ("staging".to_string(), "marlowe-website".to_string())
        ]
    );
    assert!(sim
        .job("staging", "marlowe-website")
        .unwrap()
        .to_string()
        .contains(REV_B));
}
