//! `opsctl ssh --parallel 16 -- true` over 50 nodes against a local sshd, versus `--all`
//! (one after the other). Run: `cargo bench --bench ssh`.

use std::time::{Duration, Instant};

#[path = "../tests/support/mod.rs"]
mod support;

fn time(cluster: &support::nodes::Cluster, args: &[&str], runs: usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        cluster.opsctl(args).assert().success();
        best = best.min(started.elapsed());
    }
    best
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = runtime.block_on(support::nodes::cluster(0, 50));
    let parallel = time(
        &cluster,
        &["-q", "ssh", "--parallel", "16", "--no-nomad", "--", "true"],
        5,
    );
    let sequential = time(
        &cluster,
        &["-q", "ssh", "--all", "--no-nomad", "--", "true"],
        3,
    );
    println!(
        "ssh over 50 nodes: --parallel 16 {parallel:.2?}, --all (sequential) {sequential:.2?}"
    );
    println!(
        "speed-up: {:.1}x",
        sequential.as_secs_f64() / parallel.as_secs_f64()
    );
}
