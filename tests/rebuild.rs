//! `opsctl rebuild` with real parts: moto instances, a real sshd, the Nomad simulator.

mod support;

use std::process::Command;

use nomad_sim::Sim;
use serde_json::Value;
use support::nodes::{cluster, Cluster};

/// The command strategy: copy `deploy/motd`, record the node in `applied.log`, print the motd;
/// the health gate fails on `unhealthy`.
fn command_strategy(
    cluster: &Cluster,
    unhealthy: &str,
    command: Option<&str>,
) -> std::path::PathBuf {
    let work = cluster.sshd.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    cluster
        .repo
        .write("deploy/motd", "welcome to the plutus cluster\n");
    let log = work.join("applied.log");
    let default_command = format!(
        "echo $OPSCTL_TEST_NODE >> {log} && cat {remote}/motd",
        log = log.display(),
        remote = work.join("remote").display()
    );
    let text = cluster.repo.read("clusters/plutus/cluster.toml");
    cluster.repo.write(
        "clusters/plutus/cluster.toml",
        &format!(
            "{text}\n[rebuild]\nstrategy = \"command\"\nfiles = [\"deploy/motd\"]\nremote_dir = \"{}\"\ncommand = '{}'\nhealth_check = 'test $OPSCTL_TEST_NODE != {unhealthy}'\n",
            work.join("remote").display(),
            command.unwrap_or(&default_command)
        ),
    );
    log
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.get_output().stdout),
            String::from_utf8_lossy(&out.get_output().stderr)
        )
    })
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().to_string(),
                n["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_health_gate_stops_the_roll() {
    let cluster = cluster(0, 3).await;
    let log = command_strategy(&cluster, "node-02", None);
    let out = cluster
        .opsctl(&["-o", "json", "rebuild", "--yes", "--ssh-wait", "10s"])
        .assert()
        .code(1);
    let report = json(&out);
    assert_eq!(
        statuses(&report),
        [
            ("node-01".into(), "done".into()),
            ("node-02".into(), "failed".into()),
            ("node-03".into(), "skipped".into())
        ]
    );
    assert_eq!(report["nodes"][1]["phase"], "health");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "node-01\nnode-02\n");
    // The copied file arrived, and the failed node's output is in its summary.
    let tail = report["nodes"][1]["tail"].to_string();
    assert!(tail.contains("welcome to the plutus cluster"), "{tail}");

    // --keep-going continues past the failure.
    std::fs::remove_file(&log).unwrap();
    let out = keep_going(&cluster, "10s").assert().code(1);
    assert_eq!(statuses(&json(&out))[2], ("node-03".into(), "done".into()));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "node-01\nnode-02\nnode-03\n"
    );

    // --on narrows the roll; text output summarises per node.
    let out = cluster
        .opsctl(&["rebuild", "--yes", "--on", "node-03"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("node-03") && text.contains("done") && !text.contains("node-01"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_stops_answering_stops_the_roll_even_with_keep_going() {
    let cluster = cluster(0, 2).await;
    let pid_file = cluster.sshd.dir.path().join("sshd.pid");
    let kill = format!("kill $(cat {})", pid_file.display());
    command_strategy(&cluster, "nobody", Some(&kill));
    let report = json(&keep_going(&cluster, "3s").assert().code(1));
    assert_eq!(
        statuses(&report),
        [
            ("node-01".into(), "unreachable".into()),
            ("node-02".into(), "skipped".into())
        ]
    );
    assert!(report["nodes"][0]["message"]
        .as_str()
        .unwrap()
        .contains("STOPPED ANSWERING SSH"));
}

#[tokio::test(flavor = "multi_thread")]
async fn nomad_clients_are_drained_and_made_eligible_again() {
    let cluster = cluster(0, 2).await;
    command_strategy(&cluster, "nobody", None);
    let sim = Sim::start();
    for (name, ip) in &cluster.nodes {
        sim.add_node(name, ip, "eu-central-1");
    }
    sim.create_namespace("staging");
    sim.put_job(
        "staging",
        serde_json::json!({
            "ID": "web", "Namespace": "staging", "Type": "service", "Datacenters": ["eu-central-1"],
            "TaskGroups": [{"Name": "web", "Count": 3, "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": "x"}}]}]
        }),
    );
    let ids: Vec<String> = ["node-01", "node-02"]
        .iter()
        .map(|name| {
            sim.nodes().iter().find(|n| n["Name"] == *name).unwrap()["ID"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    // The dry run spells out the Nomad calls around the switch, and sends none of them.
    let mut cmd = cluster.opsctl(&["-o", "json", "rebuild", "--dry-run", "--ssh-wait", "10s"]);
    cmd.env("NOMAD_ADDR", sim.address());
    let plan = json(&cmd.assert().success());
    let first = &plan["nodes"][0];
    assert_eq!(first["drain"], true, "{first:#}");
    assert!(
        first["before"][1].as_str().unwrap().starts_with(&format!(
            "POST {}/v1/node/{}/drain ",
            sim.address(),
            ids[0]
        )),
        "{first:#}"
    );
    let after = first["after"].to_string();
    assert!(
        after.contains(&format!("/v1/node/{}/eligibility", ids[0])),
        "{after}"
    );
    assert!(!sim
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path.starts_with("/v1/node/")));

    let mut cmd = cluster.opsctl(&["-o", "json", "rebuild", "--yes", "--ssh-wait", "10s"]);
    cmd.env("NOMAD_ADDR", sim.address());
    let out = cmd.assert().success();
    assert_eq!(
        statuses(&json(&out)),
        [
            ("node-01".into(), "done".into()),
            ("node-02".into(), "done".into())
        ]
    );
    let requests = sim.requests();
    for node in sim.nodes().iter().filter(|n| n["Name"] != "client-0") {
        let id = node["ID"].as_str().unwrap();
        assert!(
            requests
                .iter()
                .any(|r| r.method == "POST" && r.path == format!("/v1/node/{id}/drain")),
            "{id} not drained"
        );
        assert!(requests
            .iter()
            .any(|r| r.method == "POST" && r.path == format!("/v1/node/{id}/eligibility")));
        assert_eq!(node["SchedulingEligibility"], "eligible", "{node:#}");
    }
    // One node at a time: node-01 is drained, back in service, and only then node-02 drained.
    let at = |path: String| {
        requests
            .iter()
            .position(|r| r.method == "POST" && r.path == path)
            .unwrap_or_else(|| panic!("no POST {path}"))
    };
    let order = [
        at(format!("/v1/node/{}/drain", ids[0])),
        at(format!("/v1/node/{}/eligibility", ids[0])),
        at(format!("/v1/node/{}/drain", ids[1])),
        at(format!("/v1/node/{}/eligibility", ids[1])),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

/// A roll over every node that goes on past failures, waiting `ssh_wait` for each gate.
fn keep_going(cluster: &Cluster, ssh_wait: &str) -> assert_cmd::Command {
    cluster.opsctl(&[
        "-o",
        "json",
        "rebuild",
        "--yes",
        "--keep-going",
        "--ssh-wait",
        ssh_wait,
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_node_must_rejoin_the_nomad_servers() {
    let cluster = cluster(2, 0).await;
    command_strategy(&cluster, "nobody", None);
    let sim = Sim::start();
    sim.add_server("core-1", &cluster.ip("core-1"), "alive");
    sim.add_server("core-2", &cluster.ip("core-2"), "failed");
    let mut cmd = keep_going(&cluster, "3s");
    cmd.env("NOMAD_ADDR", sim.address());
    let report = json(&cmd.assert().code(1));
    assert_eq!(
        statuses(&report),
        [
            ("core-1".into(), "done".into()),
            ("core-2".into(), "failed".into())
        ]
    );
    assert_eq!(report["nodes"][1]["phase"], "health");
    assert_eq!(
        report["nodes"][1]["message"],
        "Nomad server core-2.global is failed after the switch"
    );
}

/// A Consul agent's `/v1/health/node/:node`, with the checks each node reports.
async fn consul(
    checks: Vec<(&'static str, &'static str)>,
) -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::{Path, State};
    let checks: std::sync::Arc<Vec<(&'static str, &'static str)>> = std::sync::Arc::new(checks);
    let app = axum::Router::new()
        .route(
            "/v1/health/node/:node",
            axum::routing::get(
                |State(checks): State<std::sync::Arc<Vec<(&'static str, &'static str)>>>,
                 Path(node): Path<String>| async move {
                    let list: Vec<Value> = checks
                        .iter()
                        .filter(|(n, _)| *n == node)
                        .map(|(_, status)| {
                            serde_json::json!({"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": status, "Output": ""})
                        })
                        .collect();
                    axum::Json(list)
                },
            ),
        )
        .with_state(checks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (address, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn consul_checks_gate_every_node() {
    let cluster = cluster(0, 3).await;
    command_strategy(&cluster, "nobody", None);
    // node-03 is unknown to Consul.
    let (address, server) = consul(vec![("node-01", "passing"), ("node-02", "critical")]).await;
    let mut cmd = keep_going(&cluster, "3s");
    cmd.env("CONSUL_HTTP_ADDR", &address);
    let report = json(&cmd.assert().code(1));
    server.abort();
    assert_eq!(
        statuses(&report),
        [
            ("node-01".into(), "done".into()),
            ("node-02".into(), "failed".into()),
            ("node-03".into(), "failed".into())
        ]
    );
    assert_eq!(
        report["nodes"][1]["message"],
        "Consul on node-02: Serf Health Status is critical"
    );
    assert_eq!(
        report["nodes"][2]["message"],
        "node-03 is not registered in Consul"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nixos_dry_run_prints_the_exact_commands() {
    let cluster = cluster(1, 0).await;
    let text = cluster.repo.read("clusters/plutus/cluster.toml");
    cluster.repo.write(
        "clusters/plutus/cluster.toml",
        &format!("{text}\n[rebuild]\nstrategy = \"nixos\"\nflake = \"github:input-output-hk/plutus-ops\"\n"),
    );
    let out = cluster
        .opsctl(&["-o", "json", "rebuild", "--dry-run"])
        .assert()
        .success();
    let report = json(&out);
    let commands: Vec<String> = report["nodes"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    // SSH goes to the public address when the instance has one.
    let info = json(
        &cluster
            .opsctl(&["-o", "json", "info", "--no-nomad"])
            .assert()
            .success(),
    );
    let node = &info["nodes"][0];
    let ip = node["public_ip"]
        .as_str()
        .or(node["private_ip"].as_str())
        .unwrap();
    let user = &cluster.sshd.user;
    let link = cluster
        .repo
        .path()
        .join(".opsctl/rebuild/core-1")
        .display()
        .to_string();
    assert_eq!(commands.len(), 3, "{commands:#?}");
    assert_eq!(
        commands[0],
        format!("nix build 'github:input-output-hk/plutus-ops#nixosConfigurations.core-1.config.system.build.toplevel' --out-link {link}")
    );
    assert!(
        commands[1].starts_with("NIX_SSHOPTS='-F "),
        "{}",
        commands[1]
    );
    assert!(
        commands[1].ends_with(&format!(
            "nix copy --substitute-on-destination --to ssh://{user}@{ip} {link}"
        )),
        "{}",
        commands[1]
    );
    assert!(commands[2].ends_with(&format!(
        "nixos-rebuild switch --flake 'github:input-output-hk/plutus-ops#core-1' --target-host {user}@{ip}"
    )), "{}", commands[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dirty_repository_is_refused_unless_dirty_is_given() {
    let cluster = cluster(1, 0).await;
    command_strategy(&cluster, "nobody", None);
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(cluster.repo.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "ops"]);
    cluster.repo.write("deploy/motd", "changed\n");
    let out = cluster.opsctl(&["rebuild", "--yes"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("uncommitted changes (deploy/motd)"));
    cluster
        .opsctl(&["rebuild", "--yes", "--dirty", "--ssh-wait", "10s"])
        .assert()
        .success();
    // Without a terminal, --yes is required.
    cluster.opsctl(&["rebuild", "--dirty"]).assert().code(2);
}

/// Waits (at most 10 s) until every session the sshd accepted has disconnected again.
fn all_closed(cluster: &Cluster) -> bool {
    let log = cluster.sshd.dir.path().join("sshd.log");
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        if count("Accepted publickey for ") == count("Disconnected from user ") {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calls_to_a_node_share_one_connection_until_the_switch() {
    let cluster = cluster(0, 2).await;
    let log = command_strategy(&cluster, "nobody", None);
    let roll = |cmd: &mut assert_cmd::Command| {
        let before = cluster.sshd.connections();
        let out = cmd.assert().success();
        let report = json(&out);
        assert_eq!(
            statuses(&report),
            [
                ("node-01".into(), "done".into()),
                ("node-02".into(), "done".into())
            ]
        );
        cluster.sshd.connections() - before
    };
    let args = ["-o", "json", "rebuild", "--yes", "--ssh-wait", "10s"];

    // Per node: wait for ssh, mkdir, scp and the command on one connection; after the switch
    // a new one for the liveness check and the health check. Every master is closed at the end.
    assert_eq!(roll(&mut cluster.opsctl(&args)), 2 * 2);
    assert!(
        all_closed(&cluster),
        "a shared connection outlived the roll:\n{}",
        std::fs::read_to_string(cluster.sshd.dir.path().join("sshd.log")).unwrap_or_default()
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "node-01\nnode-02\n");

    // A user's own ControlMaster/ControlPath is left alone: opsctl adds no options (and this
    // one, without ControlPersist, shares nothing between sequential calls).
    let own = cluster.sshd.dir.path().join("own_ssh_config");
    let config = std::fs::read_to_string(&cluster.config).unwrap();
    std::fs::write(
        &own,
        format!(
            "Host *\n  ControlMaster auto\n  ControlPath {}/cm-%C\n{config}",
            cluster.sshd.dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = cluster.opsctl(&args);
    cmd.env("OPSCTL_SSH_CONFIG", &own);
    assert_eq!(roll(&mut cmd), 2 * 6);

    // `[ssh] reuse_connections = false`: one connection per ssh/scp call, six per node.
    let text = cluster.repo.read("clusters/plutus/cluster.toml");
    cluster.repo.write(
        "clusters/plutus/cluster.toml",
        &text.replace("[ssh]\n", "[ssh]\nreuse_connections = false\n"),
    );
    assert_eq!(roll(&mut cluster.opsctl(&args)), 2 * 6);
}
