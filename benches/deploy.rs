//! `deploy` against the Nomad simulator with 20 ms injected latency per request:
//! 50 environments x 5 jobs, a no-op deploy (concurrent and sequential) and a deploy where
//! every job changed. Run: `cargo bench --bench deploy` (prints the Nomad requests and writes
//! of one run of each case before the timings).

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use nomad_sim::{Sim, SimConfig};
use opsctl::deploy::{self, Deployer};
use opsctl::repo::Repo;

#[path = "common/deployer.rs"]
mod deployer;
#[path = "common/synthetic.rs"]
mod synthetic;

const ENVS: usize = 50;
const JOBS: usize = 5;

/// Plans and applies every environment; returns the number of submitted jobs.
async fn deploy_all(deployer: &Deployer, root: &Path) -> usize {
    let repo = Repo::open(root, None).unwrap();
    let envs: Vec<String> = repo.envs.keys().cloned().collect();
    let plans = deploy::plan_environments(deployer, &repo, &envs)
        .await
        .unwrap();
    let outcomes = deployer.apply(&plans).await;
    assert!(
        outcomes.iter().all(|o| !o.status.is_failure()),
        "a deploy failed"
    );
    outcomes
        .iter()
        .filter(|o| o.action != deploy::Action::Unchanged)
        .count()
}

/// Moves every environment's pinned revision, so every job's rendering changes.
fn bump_revisions(root: &Path, round: usize) {
    for e in 0..ENVS {
        let file = root.join(format!("revisions/env-{e:03}/marlowe-cardano.json"));
        let text = std::fs::read_to_string(&file).unwrap();
        let start = text.find("\"rev\": \"").unwrap() + 8;
        let rev = format!("{:020x}{:020x}", round + 1, e + 1);
        let text = format!("{}{rev}{}", &text[..start], &text[start + 40..]);
        std::fs::write(file, text).unwrap();
    }
}

/// Runs one deploy and prints how many requests (and writes) the simulator saw for it.
fn count_requests(sim: &Sim, what: &str, deploy: impl FnOnce() -> usize) -> usize {
    let before = sim.requests().len();
    let changed = deploy();
    let requests = &sim.requests()[before..];
    let writes = requests.iter().filter(|r| r.method != "GET").count();
    println!(
        "{what}: {} Nomad requests ({writes} writes, {} changed jobs)",
        requests.len(),
        changed
    );
    changed
}

fn bench_deploy(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_repo(dir.path(), ENVS, JOBS);
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(20),
        ..SimConfig::default()
    });
    // The example's jobs are placed in eu-central-1 (the simulator's own client is in dc1).
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let concurrent = deployer::deployer(sim.address(), 32);
    let sequential = deployer::deployer(sim.address(), 1);
    // Start from a deployed state, then add the latency.
    assert_eq!(
        runtime.block_on(deploy_all(&concurrent, dir.path())),
        ENVS * JOBS
    );
    sim.set_latency(Duration::from_millis(20));
    let noop = || runtime.block_on(deploy_all(&concurrent, dir.path()));
    assert_eq!(count_requests(&sim, "no-op deploy", noop), 0);
    bump_revisions(dir.path(), 1_000_000);
    let changed = || runtime.block_on(deploy_all(&concurrent, dir.path()));
    assert_eq!(
        count_requests(&sim, "every job changed", changed),
        ENVS * JOBS
    );

    let mut group = c.benchmark_group("deploy 50 envs x 5 jobs, 20 ms latency");
    group.sample_size(10);
    group.bench_function("no-op, concurrent (32)", |b| {
        b.iter(|| assert_eq!(runtime.block_on(deploy_all(&concurrent, dir.path())), 0))
    });
    group.bench_function("no-op, sequential (1)", |b| {
        b.iter(|| assert_eq!(runtime.block_on(deploy_all(&sequential, dir.path())), 0))
    });
    let mut round = 0;
    group.bench_function("every job changed, concurrent (32)", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                round += 1;
                bump_revisions(dir.path(), round);
                let start = Instant::now();
                let changed = runtime.block_on(deploy_all(&concurrent, dir.path()));
                total += start.elapsed();
                assert_eq!(changed, ENVS * JOBS);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_deploy);
criterion_main!(benches);
