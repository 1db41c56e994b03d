//! The CI revision flow (`deploy --source --ref --rev`) in real git repositories with a bare
//! remote, and its deploy against the Nomad simulator.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nomad_sim::{Sim, SimConfig};
use serde_json::Value;
use support::git::{git, IDENTITY};
use support::{opsctl, require_tool};

const REV_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REV_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A bare remote holding the worked example, and clones of it.
struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    fn new() -> Self {
        require_tool("git", "apt-get install git");
        let dir = tempfile::tempdir().unwrap();
        support::example_remote(dir.path(), "seed", "main", git);
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
        .envs(IDENTITY)
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("CI_PROJECT_DIR")
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
        text.contains(
            "no environment tracks marlowe-cardano at feature/x \
             (marlowe-cardano is tracked at: main, production); nothing to do"
        ),
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
fn a_stale_checkout_bumps_on_the_remotes_tip() {
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
    // `second` has not seen that push: it starts from the remote's tip, so it lands at once.
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
    assert_eq!(report["revisions"]["push_attempts"], 1, "{report:#}");
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

/// The three tracked sources of the worked example, at the refs their environments follow.
const SOURCES: [(&str, &str); 3] = [
    ("marlowe-cardano", "main"),
    ("marlowe-website", "master"),
    ("plutus-apps", "main"),
];

fn racer_rev(i: usize) -> String {
    format!("{:08x}{:032x}", i + 1, 0xfeed_u128)
}

#[test]
fn a_hundred_racing_pipelines_all_land() {
    const RACERS: usize = 100;
    let remote = Remote::new();
    let clones: Vec<PathBuf> = (0..RACERS)
        .map(|i| remote.clone(&format!("ci-{i}")))
        .collect();
    let start = std::sync::Arc::new(std::sync::Barrier::new(RACERS));
    let threads: Vec<_> = clones
        .into_iter()
        .enumerate()
        .map(|(i, dir)| {
            let start = std::sync::Arc::clone(&start);
            std::thread::spawn(move || {
                let (source, git_ref) = SOURCES[i % SOURCES.len()];
                let rev = racer_rev(i);
                let mut cmd = bump(
                    &dir,
                    &[
                        "--source",
                        source,
                        "--ref",
                        git_ref,
                        "--rev",
                        &rev,
                        "--commit",
                        "--push",
                        "--no-deploy",
                    ],
                );
                cmd.timeout(Duration::from_secs(600));
                start.wait();
                let out = cmd.assert().success();
                json(&out)["revisions"].clone()
            })
        })
        .collect();
    let reports: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for report in &reports {
        assert_eq!(report["pushed"], true, "{report:#}");
        assert_eq!(
            report["matched"],
            if report["source"] == "marlowe-cardano" {
                2
            } else {
                1
            }
        );
        assert!(report["push_seconds"].as_f64().unwrap() > 0.0, "{report:#}");
    }
    // Contention happened, and was survived by re-applying.
    let attempts: Vec<u64> = reports
        .iter()
        .map(|r| r["push_attempts"].as_u64().unwrap())
        .collect();
    assert!(attempts.iter().any(|&a| a > 1), "{attempts:?}");
    // Every bump is its own commit on the remote.
    let check = remote.clone("check");
    let subjects = git(&check, &["log", "--format=%s", "--reverse"]);
    let subjects: Vec<&str> = subjects.lines().skip(1).collect();
    assert_eq!(subjects.len(), RACERS, "{subjects:#?}");
    for i in 0..RACERS {
        let short = &racer_rev(i)[..8];
        assert_eq!(
            subjects
                .iter()
                .filter(|s| s.contains(&format!(" at {short} ")))
                .count(),
            1,
            "bump {i} ({short}) must land exactly once"
        );
    }
    // Each file pins the last bump of its source to land.
    for (source, git_ref) in SOURCES {
        let last = subjects
            .iter()
            .rev()
            .find(|s| s.starts_with(&format!("revisions: {source} {git_ref} at ")))
            .unwrap();
        let short = last
            .split(" at ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let envs: &[&str] = match source {
            "marlowe-cardano" => &["explorer-staging", "staging"],
            "marlowe-website" => &["staging"],
            _ => &["plutus-staging"],
        };
        for env in envs {
            let (pinned_ref, pinned_rev) = pinned(&check, env, source);
            assert_eq!(pinned_ref, git_ref);
            assert!(
                pinned_rev.starts_with(short),
                "{env}/{source}: {pinned_rev} vs {last}"
            );
        }
    }
}

/// An upstream source repository (bare), and checkouts of it made as its pipelines start.
struct Upstream {
    bare: PathBuf,
    work: PathBuf,
}

impl Upstream {
    fn new(remote: &Remote) -> Self {
        let root = remote.dir.path();
        let bare = root.join("marlowe-cardano.git");
        let work = root.join("marlowe-cardano");
        git(
            root,
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
            root,
            &["init", "--quiet", "-b", "main", work.to_str().unwrap()],
        );
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        Upstream { bare, work }
    }

    /// Commits on main, pushes, and returns the commit and a fresh checkout of it (what the
    /// pipeline of that push clones).
    fn push(&self, n: usize) -> (String, PathBuf) {
        git(
            &self.work,
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                &format!("change {n}"),
            ],
        );
        git(&self.work, &["push", "--quiet", "origin", "main"]);
        let rev = git(&self.work, &["rev-parse", "HEAD"]);
        let checkout = self.bare.parent().unwrap().join(format!("pipeline-{n}"));
        git(
            self.bare.parent().unwrap(),
            &[
                "clone",
                "--quiet",
                self.bare.to_str().unwrap(),
                checkout.to_str().unwrap(),
            ],
        );
        (rev, checkout)
    }
}

fn statuses(report: &Value) -> Vec<String> {
    report["revisions"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn out_of_order_pipelines_never_pin_an_ancestor() {
    const PIPELINES: usize = 8;
    let remote = Remote::new();
    let upstream = Upstream::new(&remote);
    let pushes: Vec<(String, PathBuf)> = (0..PIPELINES).map(|n| upstream.push(n)).collect();
    // The pipelines finish in any order, racing; each only knows the history up to its own
    // commit (the later pinned commits are fetched into its checkout when needed).
    let threads: Vec<_> = pushes
        .iter()
        .enumerate()
        .rev()
        .map(|(n, (rev, checkout))| {
            let dir = remote.clone(&format!("ops-{n}"));
            let mut cmd = bump(
                &dir,
                &[
                    "--source",
                    "marlowe-cardano",
                    "--ref",
                    "main",
                    "--rev",
                    rev,
                    "--commit",
                    "--push",
                    "--no-deploy",
                ],
            );
            cmd.arg("--source-dir")
                .arg(checkout)
                .timeout(Duration::from_secs(120));
            std::thread::spawn(move || json(&cmd.assert().success()))
        })
        .collect();
    for thread in threads {
        let report = thread.join().unwrap();
        for status in statuses(&report) {
            assert!(status == "updated" || status == "not_newer", "{report:#}");
        }
    }
    let check = remote.clone("check");
    let newest = &pushes.last().unwrap().0;
    assert_eq!(pinned(&check, "staging", "marlowe-cardano").1, *newest);
    assert_eq!(
        pinned(&check, "explorer-staging", "marlowe-cardano").1,
        *newest
    );
    // Through the history of the file, the pin only ever moved forward.
    let order: Vec<&str> = pushes.iter().map(|(rev, _)| rev.as_str()).collect();
    let history = git(
        &check,
        &[
            "log",
            "--format=%H",
            "--reverse",
            "--",
            "revisions/staging/marlowe-cardano.json",
        ],
    );
    let mut last = None;
    for commit in history.lines().skip(1) {
        let text = git(
            &check,
            &[
                "show",
                &format!("{commit}:revisions/staging/marlowe-cardano.json"),
            ],
        );
        let rev = serde_json::from_str::<Value>(&text).unwrap()["rev"]
            .as_str()
            .unwrap()
            .to_string();
        let index = order.iter().position(|r| *r == rev).unwrap();
        assert!(
            last < Some(index),
            "pin moved back to change {index}: {history}"
        );
        last = Some(index);
    }
    // A late re-run of an old pipeline, found through GITHUB_WORKSPACE: kept, exit 0.
    let late = remote.clone("late");
    let out = bump(
        &late,
        &[
            "--source",
            "marlowe-cardano",
            "--ref",
            "main",
            "--rev",
            &pushes[2].0,
            "--commit",
            "--push",
            "--no-deploy",
        ],
    )
    .env("GITHUB_WORKSPACE", &pushes[2].1)
    .env_remove("CI_PROJECT_DIR")
    .assert()
    .success();
    let report = json(&out);
    assert_eq!(statuses(&report), ["not_newer", "not_newer"], "{report:#}");
    assert_eq!(
        report["revisions"]["source_checkout"],
        pushes[2].1.to_str().unwrap()
    );
    assert_eq!(report["revisions"]["pushed"], false);
    assert_eq!(pinned(&late, "staging", "marlowe-cardano").1, *newest);
}

#[test]
fn a_force_pushed_branch_is_applied_as_diverged() {
    let remote = Remote::new();
    let upstream = Upstream::new(&remote);
    let (first, checkout) = upstream.push(0);
    let work = remote.clone("work");
    let args = |rev: &str| {
        vec![
            "--source".to_string(),
            "marlowe-cardano".into(),
            "--ref".into(),
            "main".into(),
            "--rev".into(),
            rev.to_string(),
            "--no-deploy".into(),
            "--source-dir".into(),
            checkout.to_str().unwrap().to_string(),
        ]
    };
    let first_args = args(&first);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    bump(&work, &first_args).assert().success();
    // History rewritten: a commit that does not descend from the pinned one.
    git(&checkout, &["checkout", "--quiet", "--orphan", "rewritten"]);
    git(
        &checkout,
        &["commit", "--quiet", "--allow-empty", "-m", "rewritten"],
    );
    let rewritten = git(&checkout, &["rev-parse", "HEAD"]);
    let second_args = args(&rewritten);
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let out = bump(&work, &second_args).assert().success();
    let report = json(&out);
    assert_eq!(statuses(&report), ["diverged", "diverged"], "{report:#}");
    assert_eq!(pinned(&work, "staging", "marlowe-cardano").1, rewritten);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("is not a descendant of the pinned"),
        "{stderr}"
    );
    // A directory that is not a checkout of the source is refused before anything is written.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut third_args = first_args.clone();
    *third_args.last_mut().unwrap() = elsewhere.path().to_str().unwrap();
    let out = bump(&work, &third_args).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("--source-dir"), "{stderr}");
    assert_eq!(pinned(&work, "staging", "marlowe-cardano").1, rewritten);
}

#[test]
fn without_a_checkout_ordering_is_unchecked_and_said_once() {
    let remote = Remote::new();
    let work = remote.clone("work");
    let out = bump(
        &work,
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
    .env("GITHUB_WORKSPACE", work.to_str().unwrap())
    .env_remove("CI_PROJECT_DIR")
    .assert()
    .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert_eq!(
        stderr.matches("could not be checked").count(),
        1,
        "{stderr}"
    );
    let report = json(&out);
    assert_eq!(report["revisions"]["source_checkout"], Value::Null);
    assert_eq!(statuses(&report), ["updated", "updated"]);
}

#[test]
fn require_match_exits_2_when_nothing_tracks_the_ref() {
    let remote = Remote::new();
    let work = remote.clone("work");
    let args = [
        "--source",
        "marlowe-cardano",
        "--ref",
        "feature/x",
        "--rev",
        REV_A,
        "--yes",
    ];
    let out = bump(&work, &args).arg("--require-match").assert().code(2);
    let report = json(&out);
    assert_eq!(report["revisions"]["matched"], 0, "{report:#}");
    assert_eq!(
        report["revisions"]["tracked"],
        serde_json::json!(["main", "production"])
    );
    // Without the flag the same no-op exits 0, still saying matched 0.
    let out = bump(&work, &args).assert().success();
    assert_eq!(json(&out)["revisions"]["matched"], 0);
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
}
