//! `opsctl ssh --parallel 16 -- true` over 50 nodes against a local sshd, versus `--all`
//! (one after the other); then the same with a command that takes a second (`sleep 1`), where
//! the remote work rather than this machine's CPU bounds each node. Run:
//! `cargo bench --bench ssh` (`cargo bench --bench ssh -- rebuild` for the rebuild part only).
//!
//! Then `rebuild` of 9 nodes (command strategy: mkdir, scp, a command, a health check) with
//! the calls to each node sharing one connection (the default) and without
//! (`[ssh] reuse_connections = false`): TCP connections the sshd accepted per node (from its
//! log) and wall time per node.
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

/// `[rebuild]` with the command strategy, and `[ssh] reuse_connections` as given.
fn configure(cluster: &support::nodes::Cluster, reuse: bool) {
    let work = cluster.sshd.dir.path().join("work");
    let path = "clusters/plutus/cluster.toml";
    let text = cluster.repo.read(path);
    let base = text
        .split("\n[rebuild]\n")
        .next()
        .unwrap_or(&text)
        .replace("[ssh]\nreuse_connections = false\n", "[ssh]\n");
    let base = if reuse {
        base
    } else {
        base.replace("[ssh]\n", "[ssh]\nreuse_connections = false\n")
    };
    cluster.repo.write("deploy/motd", "welcome\n");
    cluster.repo.write(
        path,
        &format!(
            "{base}\n[rebuild]\nstrategy = \"command\"\nfiles = [\"deploy/motd\"]\nremote_dir = \"{remote}\"\ncommand = 'cat {remote}/motd'\nhealth_check = 'true'\n",
            remote = work.join("remote").display()
        ),
    );
}

fn rebuild(cluster: &support::nodes::Cluster, reuse: bool, runs: usize) {
    configure(cluster, reuse);
    let nodes = 9;
    let mut best = Duration::MAX;
    let mut connections = 0;
    for _ in 0..runs {
        let before = cluster.sshd.connections();
        let started = Instant::now();
        cluster
            .opsctl(&["-q", "rebuild", "--yes", "--on", "node-0*"])
            .timeout(Duration::from_secs(300))
            .assert()
            .success();
        best = best.min(started.elapsed());
        connections = cluster.sshd.connections() - before;
    }
    println!(
        "rebuild of {nodes} nodes, reuse_connections = {reuse}: {:.1} connections per node, {:.0?} per node ({best:.2?} in all)",
        connections as f64 / nodes as f64,
        best / nodes as u32
    );
}

fn main() {
    let only_rebuild = std::env::args().any(|a| a == "rebuild");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = runtime.block_on(support::nodes::cluster(0, 50));
    if !only_rebuild {
        compare(&cluster, &["true"], (5, 3));
        compare(&cluster, &["sleep", "1"], (3, 1));
    }
    rebuild(&cluster, false, 3);
    rebuild(&cluster, true, 3);
}
