//! `opsctl ssh --parallel 16 -- true` over 50 nodes against a local sshd, versus `--all`
//! (one after the other); then the same with a command that takes a second (`sleep 1`), where
//! the remote work rather than this machine's CPU bounds each node. Run:
//! `cargo bench --bench ssh`.
//!
//! On a 2-core machine the `true` case is CPU-bound: every connection's key exchange, the
//! client `ssh` and the forked `sshd` all run on the same two cores, so no fan-out can be much
//! more than about 3x faster there. Against real hosts the connection cost is network latency
//! and remote work, which the `sleep 1` case models.

use std::time::{Duration, Instant};

#[path = "../tests/support/mod.rs"]
mod support;

fn time(cluster: &support::nodes::Cluster, args: &[&str], runs: usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        cluster
            .opsctl(args)
            .timeout(Duration::from_secs(300))
            .assert()
            .success();
        best = best.min(started.elapsed());
    }
    best
}

fn compare(cluster: &support::nodes::Cluster, command: &[&str], runs: (usize, usize)) {
    fn with<'a>(mode: &[&'a str], command: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["-q", "ssh"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["--no-nomad", "--"]);
        args.extend_from_slice(command);
        args
    }
    let parallel = time(cluster, &with(&["--parallel", "16"], command), runs.0);
    let sequential = time(cluster, &with(&["--all"], command), runs.1);
    println!(
        "ssh over 50 nodes -- {}: --parallel 16 {parallel:.2?}, --all (sequential) {sequential:.2?}, speed-up {:.1}x",
        command.join(" "),
        sequential.as_secs_f64() / parallel.as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = runtime.block_on(support::nodes::cluster(0, 50));
    compare(&cluster, &["true"], (5, 3));
    compare(&cluster, &["sleep", "1"], (3, 1));
}
