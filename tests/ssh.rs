//! `opsctl info` and `opsctl ssh` with real parts: EC2 instances in moto tagged like the aws
//! provider tags them, an ssh_config mapping their addresses to a real sshd on loopback, and
//! the Nomad simulator for allocations.

mod support;

use std::time::Duration;

use nomad_sim::Sim;
use serde_json::Value;
use support::nodes::cluster;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn info_lists_the_clusters_instances() {
    let cluster = cluster(3, 2).await;
    let out = cluster.opsctl(&["-o", "json", "info"]).assert().success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let names: Vec<&str> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["core-1", "core-2", "core-3", "node-01", "node-02"]);
    assert_eq!(report["nodes"][0]["role"], "core");
    assert_eq!(report["nodes"][0]["region"], "eu-central-1");
    assert!(
        report["nomad_error"].is_string(),
        "Nomad is not running: noted, not fatal"
    );
    let out = cluster.opsctl(&["info", "--no-nomad"]).assert().success();
    let table = text(&out.get_output().stdout);
    assert!(
        table.contains("core-2") && table.contains("t3.micro"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn info_shows_autoscaling_groups_nomad_status_and_stopped_instances() {
    use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
    let cluster = cluster(1, 2).await;
    let config = cluster.moto.sdk_config("eu-central-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let images = ec2.describe_images().owners("amazon").send().await.unwrap();
    let ami = images.images()[0].image_id().unwrap().to_string();
    ec2.create_launch_template()
        .launch_template_name("client-eu-central-1-general")
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id(&ami)
                .instance_type(aws_sdk_ec2::types::InstanceType::M5Xlarge)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // An autoscaling group tagged like the clients workspace tags it, with one instance.
    let tag = |k: &str, v: &str| {
        Tag::builder()
            .key(k)
            .value(v)
            .propagate_at_launch(true)
            .resource_id("client-eu-central-1-general")
            .resource_type("auto-scaling-group")
            .build()
    };
    aws_sdk_autoscaling::Client::new(&config)
        .create_auto_scaling_group()
        .auto_scaling_group_name("client-eu-central-1-general")
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name("client-eu-central-1-general")
                .version("$Latest")
                .build(),
        )
        .min_size(1)
        .desired_capacity(1)
        .max_size(3)
        .availability_zones("eu-central-1a")
        .tags(tag("Cluster", "plutus"))
        .tags(tag("Name", "client-eu-central-1-general"))
        .tags(tag("Role", "client"))
        .tags(tag("opsctl:asg", "client-eu-central-1-general"))
        .send()
        .await
        .unwrap();
    // node-02 is stopped.
    let described = ec2.describe_instances().send().await.unwrap();
    let stopped = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| {
            i.tags()
                .iter()
                .any(|t| t.key() == Some("Name") && t.value() == Some("node-02"))
        })
        .unwrap()
        .instance_id()
        .unwrap()
        .to_string();
    ec2.stop_instances()
        .instance_ids(&stopped)
        .send()
        .await
        .unwrap();
    let sim = Sim::start();
    sim.add_node("node-01", &cluster.ip("node-01"), "eu-central-1");

    let mut cmd = cluster.opsctl(&["-o", "json", "info"]);
    cmd.env("NOMAD_ADDR", sim.address());
    let report: Value =
        serde_json::from_slice(&cmd.assert().success().get_output().stdout).unwrap();
    assert!(report["nomad_error"].is_null(), "{report:#}");
    let asg = &report["asgs"][0];
    assert_eq!(asg["name"], "client-eu-central-1-general", "{report:#}");
    assert_eq!(
        (
            &asg["min"],
            &asg["desired"],
            &asg["max"],
            &asg["in_service"]
        ),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(3),
            &Value::from(1)
        ),
        "{asg:#}"
    );
    let node = |name: &str| {
        report["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report:#}"))
            .clone()
    };
    let member = node("client-eu-central-1-general");
    assert_eq!(member["asg"], "client-eu-central-1-general");
    assert_eq!(member["instance_type"], "m5.xlarge");
    assert_eq!(node("node-01")["nomad"]["status"], "ready");
    assert!(node("core-1")["nomad"].is_null());
    assert_eq!(node("node-02")["state"], "stopped");

    // The text tables show the group's sizes and the Nomad status.
    let mut cmd = cluster.opsctl(&["info"]);
    cmd.env("NOMAD_ADDR", sim.address());
    let table = text(&cmd.assert().success().get_output().stdout);
    assert!(table.contains("client-eu-central-1-general"), "{table}");
    assert!(table.contains("ready"), "{table}");

    // @asg selects the group's instance; a fan-out skips the stopped node-02.
    let out = cluster
        .opsctl(&[
            "-o",
            "json",
            "ssh",
            "--on",
            "@asg:client-eu-central-1-*",
            "--parallel",
            "--no-nomad",
            "--",
            "true",
        ])
        .assert();
    let fan: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        fan["nodes"][0]["node"], "client-eu-central-1-general",
        "{fan:#}"
    );
    let out = cluster
        .opsctl(&[
            "-o",
            "json",
            "ssh",
            "--parallel",
            "--no-nomad",
            "--",
            "true",
        ])
        .assert();
    let fan: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let reached: Vec<&str> = fan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert!(!reached.contains(&"node-02"), "{reached:?}");
    assert!(reached.contains(&"node-01"), "{reached:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_resolve_and_exit_codes_pass_through() {
    let cluster = cluster(2, 1).await;
    let out = cluster
        .opsctl(&["ssh", "node-01", "--", "echo", "on", "$OPSCTL_TEST_NODE"])
        .assert()
        .success();
    assert_eq!(text(&out.get_output().stdout).trim(), "on node-01");
    assert!(text(&out.get_output().stderr).contains("→ node-01"));
    // A unique prefix, an instance's IP.
    let out = cluster
        .opsctl(&["ssh", "node", "--", "echo $OPSCTL_TEST_NODE"])
        .assert()
        .success();
    assert_eq!(text(&out.get_output().stdout).trim(), "node-01");
    let ip = &cluster.nodes.iter().find(|(n, _)| n == "core-2").unwrap().1;
    let out = cluster
        .opsctl(&["ssh", ip, "--", "echo $OPSCTL_TEST_NODE"])
        .assert()
        .success();
    assert_eq!(text(&out.get_output().stdout).trim(), "core-2");
    // The remote exit status is opsctl's.
    cluster
        .opsctl(&["ssh", "core-1", "--", "exit 7"])
        .assert()
        .code(7);
    // Ambiguous and unknown targets list what exists.
    let out = cluster
        .opsctl(&["ssh", "core", "--", "true"])
        .assert()
        .code(2);
    let stderr = text(&out.get_output().stderr);
    assert!(
        stderr.contains("ambiguous") && stderr.contains("core-1") && stderr.contains("core-2"),
        "{stderr}"
    );
    let out = cluster
        .opsctl(&["ssh", "db-1", "--", "true"])
        .assert()
        .code(2);
    assert!(text(&out.get_output().stderr).contains("nodes: core-1, core-2, node-01"));
    let out = cluster
        .opsctl(&["ssh", "--on", "@role:nothing", "--", "true"])
        .assert()
        .code(2);
    assert!(text(&out.get_output().stderr).contains("matches no node"));
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_over_20_nodes_prefixes_lines_and_reports_the_failure() {
    let cluster = cluster(0, 20).await;
    let out = cluster
        .opsctl(&[
            "ssh", "--parallel", "8", "--on", "node-*", "--",
            "echo hello from $OPSCTL_TEST_NODE; test $OPSCTL_TEST_NODE != node-07 || { echo broken disk >&2; exit 3; }",
        ])
        .assert()
        .code(1);
    let stdout = text(&out.get_output().stdout);
    let stderr = text(&out.get_output().stderr);
    for i in 1..=20 {
        let name = format!("node-{i:02}");
        assert!(
            stdout.contains(&format!("{name} | hello from {name}")),
            "{name}:\n{stdout}"
        );
    }
    assert!(stderr.contains("node-07 | broken disk"), "{stderr}");
    assert!(stdout.contains("1 of 20 node(s) failed"), "{stdout}");
    assert!(stdout.contains("✗ node-07 — last lines:"), "{stdout}");
    // JSON: one result per node, only node-07 failed, with its exit code.
    let out = cluster
        .opsctl(&[
            "-o",
            "json",
            "ssh",
            "--parallel",
            "--on",
            "node-0*",
            "--",
            "test $OPSCTL_TEST_NODE != node-07",
        ])
        .assert()
        .code(1);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let failed: Vec<(&str, i64)> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["success"] == false)
        .map(|n| {
            (
                n["node"].as_str().unwrap(),
                n["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(failed, [("node-07", 1)]);
    assert_eq!(report["nodes"].as_array().unwrap().len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_runs_one_node_after_the_other() {
    let cluster = cluster(3, 0).await;
    let out = cluster
        .opsctl(&[
            "ssh",
            "--all",
            "--delay",
            "100ms",
            "--",
            "echo $OPSCTL_TEST_NODE",
        ])
        .assert()
        .success();
    let stdout = text(&out.get_output().stdout);
    let order: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" | "))
        .map(|l| l.split(" | ").nth(1).unwrap())
        .collect();
    assert_eq!(order, ["core-1", "core-2", "core-3"]);
    cluster.opsctl(&["ssh", "--all"]).assert().code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn job_finds_the_node_running_the_allocation() {
    let cluster = cluster(1, 3).await;
    let sim = Sim::start();
    for (name, ip) in &cluster.nodes {
        sim.add_node(name, ip, "eu-central-1");
    }
    sim.create_namespace("staging");
    let node_names: Vec<&str> = cluster.nodes.iter().map(|(n, _)| n.as_str()).collect();
    // A service without an update stanza: allocations spread round-robin over the nodes
    // (including the simulator's own client-0) and stay running.
    sim.put_job(
        "staging",
        serde_json::json!({
            "ID": "web", "Namespace": "staging", "Type": "service", "Datacenters": ["eu-central-1"],
            "TaskGroups": [{"Name": "web", "Count": 5, "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": "y"}}]}]
        }),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (index, expected) = loop {
        let running: Vec<Value> = sim
            .allocations("staging", "web")
            .into_iter()
            .filter(|a| {
                a["ClientStatus"] == "running"
                    && node_names.contains(&a["NodeName"].as_str().unwrap())
            })
            .collect();
        if let Some(a) = running.first() {
            let name = a["Name"].as_str().unwrap();
            let index = name[name.find('[').unwrap() + 1..name.len() - 1].to_string();
            break (index, a["NodeName"].as_str().unwrap().to_string());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no running allocation"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut cmd = cluster.opsctl(&[
        "ssh",
        "--job",
        "web",
        "web",
        &index,
        "--",
        "echo $OPSCTL_TEST_NODE",
    ]);
    cmd.env("NOMAD_ADDR", sim.address());
    let out = cmd.assert().success();
    assert_eq!(text(&out.get_output().stdout).trim(), expected);
    // The same through the selector.
    let selector = format!("@alloc:web/web[{index}]");
    let mut cmd = cluster.opsctl(&[
        "ssh",
        "--on",
        &selector,
        "--parallel",
        "--",
        "echo $OPSCTL_TEST_NODE",
    ]);
    cmd.env("NOMAD_ADDR", sim.address());
    let out = cmd.assert().success();
    assert!(text(&out.get_output().stdout).contains(&format!("{expected} | {expected}")));
    // An allocation that does not exist.
    let mut cmd = cluster.opsctl(&["ssh", "--job", "web", "web", "99", "--", "true"]);
    cmd.env("NOMAD_ADDR", sim.address());
    let out = cmd.assert().code(2);
    assert!(text(&out.get_output().stderr).contains("no running allocation web.web[99]"));
}
