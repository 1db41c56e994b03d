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
    let out = cluster
        .opsctl(&[
            "-o",
            "json",
            "rebuild",
            "--yes",
            "--keep-going",
            "--ssh-wait",
            "10s",
        ])
        .assert()
        .code(1);
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
    let out = cluster
        .opsctl(&[
            "-o",
            "json",
            "rebuild",
            "--yes",
            "--keep-going",
            "--ssh-wait",
            "3s",
        ])
        .assert()
        .code(1);
    let report = json(&out);
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
    // Nothing of the job runs on a node while it is rebuilt: allocations moved off.
    let running_on_cluster = sim
        .allocations("staging", "web")
        .iter()
        .filter(|a| a["ClientStatus"] == "running" && a["NodeName"] != "client-0")
        .count();
    assert!(running_on_cluster < 3);
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
