//! 100 CI pipelines racing to push revision bumps to one ops repository: N clones of a local
//! bare remote holding the worked example, each running its own
//! `opsctl deploy --source S --ref R --rev SHA --commit --push --no-deploy` at the same moment,
//! the three tracked sources mixed. Measures the time until every pipeline has finished (the
//! remote has converged), how many landed, and the push attempts per pipeline. Run:
//! `cargo bench --bench race` (`-- 50` for another number of racers; `OPSCTL_BENCH_BIN=PATH`
//! races another opsctl binary, e.g. an older build, against the same setup).

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[path = "../tests/support/mod.rs"]
mod support;

use support::git::{git, IDENTITY};

const SOURCES: [(&str, &str); 3] = [
    ("marlowe-cardano", "main"),
    ("marlowe-website", "master"),
    ("plutus-apps", "main"),
];

/// What one pipeline did.
struct Run {
    ok: bool,
    took: Duration,
    attempts: Option<u64>,
    error: String,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let racers: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let bare = support::example_remote(dir.path(), "seed", "main", git);
    let clones: Vec<_> = (0..racers)
        .map(|i| {
            let path = dir.path().join(format!("ci-{i}"));
            git(
                dir.path(),
                &[
                    "clone",
                    "--quiet",
                    bare.to_str().unwrap(),
                    path.to_str().unwrap(),
                ],
            );
            path
        })
        .collect();
    let binary = std::env::var_os("OPSCTL_BENCH_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_opsctl").into());
    let start = Arc::new(Barrier::new(racers + 1));
    let threads: Vec<_> = clones
        .into_iter()
        .enumerate()
        .map(|(i, clone)| {
            let start = Arc::clone(&start);
            let binary = binary.clone();
            std::thread::spawn(move || {
                let (source, git_ref) = SOURCES[i % SOURCES.len()];
                let rev = format!("{:08x}{:032x}", i + 1, 0xc0ffee_u128);
                let mut command = Command::new(&binary);
                command
                    .arg("--repo")
                    .arg(&clone)
                    .args(["--output", "json", "deploy", "--source", source])
                    .args(["--ref", git_ref, "--rev", &rev])
                    .args(["--commit", "--push", "--no-deploy"])
                    .envs(IDENTITY)
                    .env_remove("GITHUB_WORKSPACE")
                    .env_remove("CI_PROJECT_DIR")
                    .env_remove("OPSCTL_LOG");
                start.wait();
                let began = Instant::now();
                let out = command.output().expect("opsctl runs");
                let report: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
                Run {
                    ok: out.status.success(),
                    took: began.elapsed(),
                    attempts: report
                        .as_ref()
                        .and_then(|r| r["revisions"]["push_attempts"].as_u64()),
                    error: String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .to_string(),
                }
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let runs: Vec<Run> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let converged = began.elapsed();
    let landed: usize = git(&bare, &["rev-list", "--count", "main"])
        .parse::<usize>()
        .unwrap()
        - 1;
    let failed: Vec<&Run> = runs.iter().filter(|r| !r.ok).collect();
    let mut attempts: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.attempts)
        .map(|a| a as f64)
        .collect();
    let mut took: Vec<f64> = runs.iter().map(|r| r.took.as_secs_f64()).collect();
    let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    println!(
        "{racers} racing pipelines: converged in {:.2} s; {landed} bumps landed, {} pipelines failed",
        converged.as_secs_f64(),
        failed.len()
    );
    println!(
        "push attempts per successful pipeline: median {}, max {}; time per pipeline: median {:.2} s, max {:.2} s",
        median(&mut attempts),
        max(&attempts),
        median(&mut took),
        max(&took)
    );
    if let Some(first) = failed.first() {
        println!("first failure: {}", first.error);
    }
    assert_eq!(landed, racers, "every pipeline's bump must land");
    assert!(failed.is_empty(), "every pipeline must succeed");
}
