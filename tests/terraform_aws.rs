//! The built-in `aws` provider's Terraform JSON: valid against the real provider schema,
//! secure by default, deterministic; snapshots of the worked example's workspaces.

mod support;

use std::collections::BTreeMap;

use opsctl::repo::{Cluster, Repo};
use opsctl::terraform::aws::AwsProvider;
use opsctl::terraform::backend::Endpoints;
use opsctl::terraform::provider::render_workspace;
use opsctl::terraform::{Backend, Version, Workspace};
use serde_json::Value;
use support::large_cluster::{large_cluster, REGIONS};
use support::tf_schema::Schema;

fn example() -> Cluster {
    Repo::open(&support::project_root(), Some("plutus"))
        .expect("worked example loads")
        .cluster
}

fn render_bytes(cluster: &Cluster, workspace: Workspace, version: Version) -> Vec<u8> {
    let backend = Backend::new(cluster, version, Endpoints::default());
    futures::executor::block_on(render_workspace(
        &AwsProvider,
        cluster,
        &backend,
        workspace,
        Some(version),
    ))
    .expect("renders")
    .to_bytes()
}

fn render(cluster: &Cluster, workspace: Workspace) -> Value {
    serde_json::from_slice(&render_bytes(cluster, workspace, Version::new(1, 11, 4))).unwrap()
}

fn all(cluster: &Cluster) -> BTreeMap<String, Value> {
    Workspace::ALL
        .into_iter()
        .map(|w| (w.to_string(), render(cluster, w)))
        .collect()
}

fn assert_schema_clean(cluster: &Cluster) {
    let schema = Schema::load();
    let docs = all(cluster);
    for (name, doc) in &docs {
        let problems = schema.check_with_upstream(doc, &docs);
        assert!(
            problems.is_empty(),
            "workspace {name} of {}:\n{}",
            cluster.name,
            problems.join("\n")
        );
    }
}

#[test]
fn the_examples_workspaces_fit_the_aws_provider_schema() {
    assert_schema_clean(&example());
}

#[test]
fn the_large_clusters_workspaces_fit_the_aws_provider_schema() {
    let cluster = large_cluster();
    assert_schema_clean(&cluster);
    let clients = render(&cluster, Workspace::Clients);
    assert_eq!(
        clients["resource"]["aws_autoscaling_group"]
            .as_object()
            .unwrap()
            .len(),
        30
    );
    assert_eq!(clients["provider"]["aws"].as_array().unwrap().len(), 6);
    let core = render(&cluster, Workspace::Core);
    let instances = core["resource"]["aws_instance"].as_object().unwrap();
    assert_eq!(instances.len(), 6, "5 core nodes and monitoring");
    // Spread over the AZs: the five core nodes land in three different subnets.
    let subnets: std::collections::BTreeSet<&str> = (1..=5)
        .map(|n| {
            instances[&format!("core_{n}")]["subnet_id"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(subnets.len(), 3, "{subnets:?}");
    let network = render(&cluster, Workspace::Network);
    assert_eq!(network["resource"]["aws_vpc"].as_object().unwrap().len(), 6);
    assert_eq!(
        network["resource"]["aws_vpc_peering_connection"]
            .as_object()
            .unwrap()
            .len(),
        5
    );
    // us-east-2 declares four AZs: four NAT gateways there.
    let nats = network["resource"]["aws_nat_gateway"].as_object().unwrap();
    assert_eq!(
        nats.keys().filter(|k| k.starts_with("us_east_2")).count(),
        4
    );
    assert_eq!(nats.len(), 5 * 3 + 4);
    for region in REGIONS {
        assert!(network["output"]["private_subnet_ids"]["value"][region].is_array());
    }
}

#[test]
fn every_document_declares_providers_per_region_and_the_backend() {
    let cluster = example();
    for (name, doc) in all(&cluster) {
        let terraform = &doc["terraform"];
        assert_eq!(
            terraform["required_providers"]["aws"]["source"], "hashicorp/aws",
            "{name}"
        );
        assert_eq!(
            terraform["required_providers"]["aws"]["version"], "~> 6.0",
            "{name}"
        );
        let backend = &terraform["backend"]["s3"];
        assert_eq!(backend["bucket"], "plutus-ops-state");
        assert_eq!(
            backend["key"],
            format!("opsctl/plutus/{name}/terraform.tfstate")
        );
        assert_eq!(backend["encrypt"], true);
        assert_eq!(
            backend["kms_key_id"],
            cluster.aws.as_ref().unwrap().kms_key.clone().unwrap()
        );
        assert_eq!(backend["use_lockfile"], true);
        let aliases: Vec<&str> = doc["provider"]["aws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alias"].as_str().unwrap())
            .collect();
        // Every resource names one of the declared aliases.
        for (ty, resources) in doc["resource"].as_object().unwrap() {
            for (id, body) in resources.as_object().unwrap() {
                let provider = body["provider"].as_str().unwrap_or_default();
                assert!(
                    aliases.iter().any(|a| provider == format!("aws.{a}")),
                    "{name}: {ty}.{id} uses {provider:?}"
                );
            }
        }
    }
    let network = render(&cluster, Workspace::Network);
    assert_eq!(
        network["provider"]["aws"].as_array().unwrap().len(),
        2,
        "eu-central-1 and us-east-2"
    );
}

#[test]
fn old_terraform_binaries_get_dynamodb_locking() {
    let doc: Value = serde_json::from_slice(&render_bytes(
        &example(),
        Workspace::Core,
        Version::new(1, 0, 3),
    ))
    .unwrap();
    let backend = &doc["terraform"]["backend"]["s3"];
    assert_eq!(backend["dynamodb_table"], "plutus-ops-state-lock");
    assert!(backend.get("use_lockfile").is_none());
}

#[test]
fn rendering_is_deterministic() {
    for cluster in [example(), large_cluster()] {
        for workspace in Workspace::ALL {
            let version = Version::new(1, 11, 4);
            let first = render_bytes(&cluster, workspace, version);
            let second = render_bytes(&cluster, workspace, version);
            assert!(
                first == second,
                "{} {workspace} differs between two renders",
                cluster.name
            );
        }
    }
}

#[test]
fn the_examples_workspaces_match_their_snapshots() {
    let cluster = example();
    for workspace in Workspace::ALL {
        let text =
            String::from_utf8(render_bytes(&cluster, workspace, Version::new(1, 11, 4))).unwrap();
        insta::assert_snapshot!(format!("example_{workspace}"), text);
    }
}

#[test]
fn regions_with_fewer_than_three_azs_are_refused() {
    let mut cluster = example();
    cluster.aws.as_mut().unwrap().azs.insert(
        "us-east-2".into(),
        vec!["us-east-2a".into(), "us-east-2b".into()],
    );
    let error = network_error(&cluster);
    assert!(
        error.contains(
            "region us-east-2: [aws].azs lists 2 availability zone(s) (us-east-2a, us-east-2b)"
        ),
        "{error}"
    );
}

fn network_error(cluster: &Cluster) -> String {
    render_error(cluster, Workspace::Network)
}

fn render_error(cluster: &Cluster, workspace: Workspace) -> String {
    let backend = Backend::new(cluster, Version::new(1, 11, 4), Endpoints::default());
    futures::executor::block_on(render_workspace(
        &AwsProvider,
        cluster,
        &backend,
        workspace,
        None,
    ))
    .unwrap_err()
    .to_string()
}

#[test]
fn a_client_region_with_two_zones_is_refused_without_being_listed() {
    let mut cluster = example();
    cluster.clients[0].region = "us-west-1".into();
    cluster
        .aws
        .as_mut()
        .unwrap()
        .amis
        .insert("us-west-1".into(), "ami-0a1b2c3d4e5f60718".into());
    assert_eq!(
        network_error(&cluster),
        "region us-west-1: the region offers 2 availability zone(s) (us-west-1a, us-west-1b); opsctl needs at least 3 to spread nodes: use another region"
    );
}

#[test]
fn a_region_of_unknown_zones_must_list_them() {
    let mut cluster = example();
    cluster.clients[0].region = "xx-north-9".into();
    assert!(network_error(&cluster).starts_with(
        "opsctl does not know the availability zones of xx-north-9: list them in [aws].azs"
    ));
}

#[test]
fn zones_closed_to_new_accounts_are_not_used() {
    let mut cluster = example();
    cluster.clients[0].region = "ap-northeast-1".into();
    let backend = Backend::new(&cluster, Version::new(1, 11, 4), Endpoints::default());
    let network = futures::executor::block_on(render_workspace(
        &AwsProvider,
        &cluster,
        &backend,
        Workspace::Network,
        None,
    ))
    .unwrap();
    let text = String::from_utf8(network.to_bytes()).unwrap();
    assert!(text.contains("ap-northeast-1d"), "no 1d subnet");
    assert!(
        !text.contains("ap-northeast-1b"),
        "1b is closed to new accounts"
    );
}

#[test]
fn instances_and_asgs_carry_the_inventory_tags() {
    let cluster = example();
    let core = render(&cluster, Workspace::Core);
    let instances = core["resource"]["aws_instance"].as_object().unwrap();
    for (id, name, role) in [
        ("core_1", "core-1", "core"),
        ("core_3", "core-3", "core"),
        ("monitoring", "monitoring", "monitoring"),
    ] {
        let tags = &instances[id]["tags"];
        assert_eq!(tags["Cluster"], "plutus");
        assert_eq!(tags["Role"], role);
        assert_eq!(tags["Name"], name);
        assert_eq!(tags["NomadDatacenter"], "eu-central-1");
    }
    let clients = render(&cluster, Workspace::Clients);
    let asg = &clients["resource"]["aws_autoscaling_group"]["client_us_east_2_default"];
    let tags: BTreeMap<&str, (&str, bool)> = asg["tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap(),
                (
                    t["value"].as_str().unwrap(),
                    t["propagate_at_launch"] == true,
                ),
            )
        })
        .collect();
    assert_eq!(tags["Cluster"], ("plutus", true));
    assert_eq!(tags["Role"], ("client", true));
    assert_eq!(tags["Name"], ("client-us-east-2-default", true));
    assert_eq!(tags["NomadDatacenter"], ("us-east-2", true));
    assert_eq!(tags["opsctl:asg"], ("client-us-east-2-default", true));
    assert_eq!(
        (
            asg["min_size"].as_u64(),
            asg["desired_capacity"].as_u64(),
            asg["max_size"].as_u64()
        ),
        (Some(1), Some(2), Some(4))
    );
    let dns: Vec<&str> = core["resource"]["aws_route53_record"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for host in [
        "core-1",
        "core-2",
        "core-3",
        "nomad",
        "consul",
        "vault",
        "monitoring",
    ] {
        assert!(
            dns.contains(&format!("{host}.plutus.example.org").as_str()),
            "{host} missing from {dns:?}"
        );
    }
}

// ---- security assertions over every resource of every workspace ----

fn resources<'a>(doc: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    doc["resource"][ty]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn security_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // Buckets: public access blocked and encrypted at rest.
    for (id, _) in resources(doc, "aws_s3_bucket") {
        let reference = format!("${{aws_s3_bucket.{id}.id}}");
        let blocked = resources(doc, "aws_s3_bucket_public_access_block")
            .iter()
            .any(|(_, b)| {
                b["bucket"] == reference.as_str()
                    && [
                        "block_public_acls",
                        "block_public_policy",
                        "ignore_public_acls",
                        "restrict_public_buckets",
                    ]
                    .iter()
                    .all(|k| b[k] == true)
            });
        let encrypted = resources(doc, "aws_s3_bucket_server_side_encryption_configuration")
            .iter()
            .any(|(_, b)| b["bucket"] == reference.as_str());
        if !blocked || !encrypted {
            problems.push(format!(
                "bucket {id}: public access blocked {blocked}, encrypted {encrypted}"
            ));
        }
    }
    // Volumes: encrypted at rest.
    for (id, instance) in resources(doc, "aws_instance") {
        if instance["root_block_device"]["encrypted"] != true {
            problems.push(format!("instance {id}: root volume not encrypted"));
        }
        if instance["metadata_options"]["http_tokens"] != "required" {
            problems.push(format!("instance {id}: IMDSv2 not required"));
        }
    }
    for (id, template) in resources(doc, "aws_launch_template") {
        for mapping in template["block_device_mappings"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if mapping["ebs"]["encrypted"] != "true" {
                problems.push(format!("launch template {id}: volume not encrypted"));
            }
        }
        if template["metadata_options"]["http_tokens"] != "required" {
            problems.push(format!("launch template {id}: IMDSv2 not required"));
        }
        if template["iam_instance_profile"]["arn"].as_str().is_none() {
            problems.push(format!("launch template {id}: no instance profile"));
        }
    }
    for (id, volume) in resources(doc, "aws_ebs_volume") {
        if volume["encrypted"] != true {
            problems.push(format!("volume {id}: not encrypted"));
        }
    }
    // No SSH or RDP from the whole internet.
    let opens_admin_port = |rule: &Value| {
        let from = rule["from_port"].as_i64().unwrap_or(0);
        let to = rule["to_port"].as_i64().unwrap_or(65535);
        let all_protocols = rule["ip_protocol"] == "-1";
        all_protocols || [22, 3389].iter().any(|p| from <= *p && *p <= to)
    };
    for (id, rule) in resources(doc, "aws_vpc_security_group_ingress_rule") {
        let world = rule["cidr_ipv4"] == "0.0.0.0/0" || rule["cidr_ipv6"] == "::/0";
        if world && opens_admin_port(rule) {
            problems.push(format!("ingress rule {id} opens SSH/RDP to the internet"));
        }
    }
    for (id, rule) in resources(doc, "aws_security_group_rule") {
        if rule["type"] == "ingress"
            && rule["cidr_blocks"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "0.0.0.0/0"))
            && opens_admin_port(rule)
        {
            problems.push(format!("rule {id} opens SSH/RDP to the internet"));
        }
    }
    for (id, group) in resources(doc, "aws_security_group") {
        if group.get("ingress").is_some() {
            problems.push(format!(
                "security group {id}: inline ingress rules are not used"
            ));
        }
    }
    // IAM: no statement allows `*` actions on `*` resources.
    let mut policies: Vec<(String, String)> = Vec::new();
    for ty in [
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
    ] {
        for (id, policy) in resources(doc, ty) {
            policies.push((
                format!("{ty}.{id}"),
                policy["policy"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    for (id, policy) in policies {
        let parsed: Value = serde_json::from_str(&policy)
            .unwrap_or_else(|e| panic!("{id}: policy is not literal JSON: {e}"));
        for statement in parsed["Statement"].as_array().into_iter().flatten() {
            let list = |v: &Value| -> Vec<String> {
                match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect(),
                    _ => vec![],
                }
            };
            let any_action = list(&statement["Action"])
                .iter()
                .any(|a| a == "*" || a.ends_with(":*"));
            let any_resource = list(&statement["Resource"]).iter().any(|r| r == "*");
            if statement["Effect"] == "Allow" && any_action && any_resource {
                problems.push(format!("{id}: statement allows * on *"));
            }
        }
    }
    problems
}

#[test]
fn every_workspace_is_secure_by_default() {
    for cluster in [example(), large_cluster()] {
        for (name, doc) in all(&cluster) {
            let problems = security_problems(&doc);
            assert!(problems.is_empty(), "{} {name}: {problems:?}", cluster.name);
        }
    }
    // SSH only from the admin networks of the cluster file.
    let network = render(&example(), Workspace::Network);
    let ssh: Vec<&str> = resources(&network, "aws_vpc_security_group_ingress_rule")
        .into_iter()
        .filter(|(_, r)| r["from_port"] == 22)
        .map(|(_, r)| r["cidr_ipv4"].as_str().unwrap())
        .collect();
    assert_eq!(
        ssh,
        vec![
            "203.0.113.0/24",
            "198.51.100.17/32",
            "203.0.113.0/24",
            "198.51.100.17/32"
        ]
    );
    let core = render(&example(), Workspace::Core);
    let policy = core["resource"]["aws_iam_role_policy"]["core"]["policy"]
        .as_str()
        .unwrap();
    assert!(
        policy.contains("kms:Decrypt")
            && policy.contains("arn:aws:s3:::plutus-ops-state/opsctl/plutus/secrets/*")
    );
}

#[test]
fn the_security_assertions_catch_insecure_documents() {
    let insecure = serde_json::json!({ "resource": {
        "aws_s3_bucket": { "b": {} },
        "aws_instance": { "i": { "root_block_device": { "encrypted": false }, "metadata_options": { "http_tokens": "optional" } } },
        "aws_vpc_security_group_ingress_rule": { "r": { "cidr_ipv4": "0.0.0.0/0", "ip_protocol": "tcp", "from_port": 22, "to_port": 22 } },
        "aws_iam_role_policy": { "p": { "policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}" } }
    }});
    let problems = security_problems(&insecure);
    assert_eq!(problems.len(), 5, "{problems:?}");
}

// ---- the cluster's shape: network layout, named nodes, Nomad client config, routing ----

/// The Nomad client configuration the launch template's user data writes.
fn nomad_client_config(template: &Value) -> (String, Value) {
    use base64::Engine as _;
    let encoded = template["user_data"].as_str().expect("user data");
    let script = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("user data is base64"),
    )
    .unwrap();
    let (_, rest) = script
        .split_once("cat > /etc/nomad.d/opsctl-client.json <<'OPSCTL_NOMAD_CLIENT'\n")
        .unwrap_or_else(|| panic!("no Nomad client config in {script}"));
    let (json, _) = rest.split_once("\nOPSCTL_NOMAD_CLIENT\n").unwrap();
    (script.clone(), serde_json::from_str(json).unwrap())
}

#[test]
fn client_groups_give_nomad_their_class_pool_meta_and_host_volumes() {
    let mut cluster = example();
    cluster.clients[1].node_pool = Some("batch_jobs".into());
    let clients = render(&cluster, Workspace::Clients);
    let templates = clients["resource"]["aws_launch_template"]
        .as_object()
        .unwrap();
    assert_eq!(
        templates.keys().collect::<Vec<_>>(),
        [
            "client_eu_central_1_client",
            "client_eu_central_1_client_highmem",
            "client_us_east_2_default"
        ]
    );
    let (script, config) = nomad_client_config(&templates["client_eu_central_1_client_highmem"]);
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert!(
        script.contains("mkdir -p '/var/lib/nomad-volumes/pab'\n"),
        "{script}"
    );
    assert_eq!(config["datacenter"], "eu-central-1");
    assert_eq!(config["client"]["enabled"], true);
    assert_eq!(config["client"]["node_class"], "client_highmem");
    assert_eq!(
        config["client"]["meta"],
        serde_json::json!({ "memory": "high" })
    );
    assert_eq!(
        config["client"]["host_volume"]["pab"],
        serde_json::json!({ "path": "/var/lib/nomad-volumes/pab", "read_only": false })
    );
    assert_eq!(
        config["client"]["host_volume"]["node"]["path"],
        "/var/lib/nomad-volumes/node"
    );
    assert!(config["client"].get("node_pool").is_none());
    let (_, config) = nomad_client_config(&templates["client_eu_central_1_client"]);
    assert_eq!(config["client"]["node_class"], "client");
    let (_, config) = nomad_client_config(&templates["client_us_east_2_default"]);
    assert_eq!(config["datacenter"], "us-east-2");
    assert!(config["client"].get("node_class").is_none(), "{config}");
    assert_eq!(config["client"]["node_pool"], "batch_jobs");

    // The class also reaches the instance tags.
    let tags = &templates["client_eu_central_1_client_highmem"]["tag_specifications"][0]["tags"];
    assert_eq!(tags["Nomad"], "client");
    assert_eq!(tags["NomadNodeClass"], "client_highmem");

    // Sizes, lifetime, placement.
    let ebs = &templates["client_eu_central_1_client_highmem"]["block_device_mappings"][0]["ebs"];
    assert_eq!(
        (
            &ebs["volume_size"],
            &ebs["volume_type"],
            &ebs["iops"],
            &ebs["throughput"]
        ),
        (
            &Value::from(500),
            &Value::from("gp3"),
            &Value::from(6000),
            &Value::from(250)
        )
    );
    let asgs = &clients["resource"]["aws_autoscaling_group"];
    assert_eq!(
        asgs["client_eu_central_1_client_highmem"]["max_instance_lifetime"],
        604800
    );
    assert!(asgs["client_eu_central_1_client"]
        .get("max_instance_lifetime")
        .is_none());
    assert_eq!(
        asgs["client_eu_central_1_client"]["vpc_zone_identifier"],
        "${data.terraform_remote_state.network.outputs.private_subnet_ids[\"eu-central-1\"]}"
    );
    assert_eq!(
        templates["client_eu_central_1_client"]["vpc_security_group_ids"][2],
        "${data.terraform_remote_state.network.outputs.security_group_ids[\"eu-central-1\"][\"role_client\"]}"
    );
}

#[test]
fn clients_with_public_ips_sit_in_public_subnets() {
    let mut cluster = example();
    cluster.clients[0].associate_public_ip = Some(true);
    cluster.clients[0].ebs_optimized = Some(false);
    assert_schema_clean(&cluster);
    let clients = render(&cluster, Workspace::Clients);
    let template = &clients["resource"]["aws_launch_template"]["client_eu_central_1_client"];
    assert!(template.get("vpc_security_group_ids").is_none());
    assert_eq!(template["ebs_optimized"], "false");
    let interface = &template["network_interfaces"][0];
    assert_eq!(interface["associate_public_ip_address"], "true");
    assert_eq!(interface["security_groups"].as_array().unwrap().len(), 3);
    assert_eq!(
        clients["resource"]["aws_autoscaling_group"]["client_eu_central_1_client"]
            ["vpc_zone_identifier"],
        "${data.terraform_remote_state.network.outputs.public_subnet_ids[\"eu-central-1\"]}"
    );
}

#[test]
fn the_network_follows_the_cluster_files_vpc_cidrs() {
    let network = render(&example(), Workspace::Network);
    let vpcs = &network["resource"]["aws_vpc"];
    assert_eq!(vpcs["eu_central_1"]["cidr_block"], "172.16.0.0/16");
    assert_eq!(vpcs["us_east_2"]["cidr_block"], "10.1.0.0/16");
    let subnets = &network["resource"]["aws_subnet"];
    for (az, public, private) in [
        ("a", "172.16.0.0/24", "172.16.16.0/20"),
        ("b", "172.16.1.0/24", "172.16.32.0/20"),
        ("c", "172.16.2.0/24", "172.16.48.0/20"),
    ] {
        assert_eq!(
            subnets[format!("eu_central_1_public_{az}")]["cidr_block"],
            public
        );
        assert_eq!(
            subnets[format!("eu_central_1_private_{az}")]["cidr_block"],
            private
        );
    }
    // Peering routes carry the real CIDRs.
    let routes = &network["resource"]["aws_route"];
    assert_eq!(
        routes["us_east_2_public_to_eu_central_1"]["destination_cidr_block"],
        "172.16.0.0/16"
    );
    // Internal traffic is allowed from both VPCs.
    let rules = &network["resource"]["aws_vpc_security_group_ingress_rule"];
    assert_eq!(rules["us_east_2_internal_0"]["cidr_ipv4"], "172.16.0.0/16");
    assert_eq!(rules["us_east_2_internal_1"]["cidr_ipv4"], "10.1.0.0/16");
}

#[test]
fn per_role_rules_are_separate_rule_resources() {
    let mut cluster = example();
    cluster.rules.push(
        toml::from_str(
            "role = \"core\"\nport = 8500\nsource_roles = [\"routing\", \"monitoring\"]\n",
        )
        .unwrap(),
    );
    let network = render(&cluster, Workspace::Network);
    let rules = network["resource"]["aws_vpc_security_group_ingress_rule"]
        .as_object()
        .unwrap();
    let routing: Vec<(&String, &Value)> = rules
        .iter()
        .filter(|(k, _)| k.starts_with("eu_central_1_rule_3_"))
        .collect();
    assert_eq!(routing.len(), 2, "{routing:?}");
    for (_, rule) in &routing {
        assert_eq!(
            rule["security_group_id"],
            "${aws_security_group.eu_central_1_role_routing.id}"
        );
        assert_eq!(
            (rule["from_port"].as_u64(), rule["to_port"].as_u64()),
            (Some(10000), Some(20000))
        );
        assert_eq!(rule["cidr_ipv4"], "0.0.0.0/0");
    }
    let protocols: Vec<&str> = routing
        .iter()
        .map(|(_, r)| r["ip_protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["tcp", "udp"]);
    // No routing group, hence no routing rule, in a region without routing nodes.
    assert!(!rules.keys().any(|k| k.starts_with("us_east_2_rule_3")));
    let vault = &rules["eu_central_1_rule_1_tcp_0"];
    assert_eq!(vault["from_port"], 8200);
    assert_eq!(
        vault["description"],
        "vault-http: tcp 8200 from 192.0.2.0/24"
    );
    let from_routing = &rules["eu_central_1_rule_4_tcp_0"];
    assert_eq!(
        from_routing["referenced_security_group_id"],
        "${aws_security_group.eu_central_1_role_routing.id}"
    );
    assert_eq!(
        rules["eu_central_1_rule_4_tcp_1"]["referenced_security_group_id"],
        "${aws_security_group.eu_central_1_role_monitoring.id}"
    );
    assert_schema_clean(&cluster);
    // Core nodes carry their role's group.
    let core = render(&cluster, Workspace::Core);
    let groups = &core["resource"]["aws_instance"]["core_1"]["vpc_security_group_ids"];
    assert!(groups
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g.as_str().unwrap().ends_with("[\"role_core\"]}")));
}

#[test]
fn named_nodes_get_their_ips_sizes_and_subnets() {
    let core = render(&example(), Workspace::Core);
    let instances = &core["resource"]["aws_instance"];
    let subnet = |n: usize| {
        format!("${{data.terraform_remote_state.network.outputs.public_subnet_ids[\"eu-central-1\"][{n}]}}")
    };
    for (id, ip, az, size, kind, optimized) in [
        ("core_1", "172.16.0.10", 0, 100, "t3a.xlarge", true),
        ("core_2", "172.16.1.10", 1, 100, "t3a.xlarge", true),
        ("core_3", "172.16.2.10", 2, 100, "t3a.xlarge", false),
        ("monitoring", "172.16.0.20", 0, 500, "t3a.xlarge", true),
        ("routing", "172.16.1.40", 1, 100, "t3a.small", true),
    ] {
        let node = &instances[id];
        assert_eq!(node["private_ip"], ip, "{id}");
        assert_eq!(node["subnet_id"], subnet(az), "{id}");
        assert_eq!(node["root_block_device"]["volume_size"], size, "{id}");
        assert_eq!(node["instance_type"], kind, "{id}");
        assert_eq!(node["ebs_optimized"], optimized, "{id}");
    }
    assert_eq!(
        instances["routing"]["iam_instance_profile"],
        "${aws_iam_instance_profile.routing.name}"
    );
    // Without fixed IPs: round-robin, no private_ip, the 50 GiB default.
    let mut cluster = example();
    cluster.nodes.clear();
    let core = render(&cluster, Workspace::Core);
    let node = &core["resource"]["aws_instance"]["core_2"];
    assert!(node.get("private_ip").is_none());
    assert_eq!(node["subnet_id"], subnet(1));
    assert_eq!(node["root_block_device"]["volume_size"], 50);
    assert_eq!(node["instance_type"], "t3a.medium");
}

#[test]
fn the_routing_node_gets_the_wildcards_and_a_validated_certificate() {
    let core = render(&example(), Workspace::Core);
    let records = &core["resource"]["aws_route53_record"];
    assert_eq!(records["wildcard"]["name"], "*.plutus.example.org");
    assert_eq!(
        records["wildcard"]["records"][0],
        "${aws_eip.routing.public_ip}"
    );
    assert_eq!(
        records["wildcard"]["zone_id"],
        "${data.aws_route53_zone.cluster.zone_id}"
    );
    let extra = &records["san_wildcard_marlowe_finance_io"];
    assert_eq!(extra["name"], "*.marlowe-finance.io");
    assert_eq!(
        extra["zone_id"],
        "${data.aws_route53_zone.marlowe_finance_io.zone_id}"
    );
    assert_eq!(
        records["san_marlowe_finance_io"]["name"],
        "marlowe-finance.io"
    );
    assert_eq!(
        core["data"]["aws_route53_zone"]["marlowe_finance_io"]["name"],
        "marlowe-finance.io"
    );
    let certificate = &core["resource"]["aws_acm_certificate"]["cluster"];
    assert_eq!(certificate["domain_name"], "plutus.example.org");
    assert_eq!(certificate["validation_method"], "DNS");
    assert_eq!(certificate["options"]["export"], "ENABLED");
    assert_eq!(
        certificate["subject_alternative_names"],
        serde_json::json!([
            "*.plutus.example.org",
            "*.marlowe-finance.io",
            "marlowe-finance.io"
        ])
    );
    // One validation record per name and its wildcard, each in its zone.
    let validations: Vec<&Value> = records
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("certificate_validation_"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(validations.len(), 2);
    assert!(validations[0]["name"]
        .as_str()
        .unwrap()
        .contains("o.domain_name == \"plutus.example.org\""));
    assert_eq!(
        validations[1]["zone_id"],
        "${data.aws_route53_zone.marlowe_finance_io.zone_id}"
    );
    let validation = &core["resource"]["aws_acm_certificate_validation"]["cluster"];
    assert_eq!(
        validation["validation_record_fqdns"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The routing node may export that certificate, and nothing else.
    let policy: Value = serde_json::from_str(
        core["resource"]["aws_iam_role_policy"]["routing"]["policy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let export = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "ExportClusterCertificate")
        .unwrap();
    assert_eq!(export["Resource"][0], "${aws_acm_certificate.cluster.arn}");

    // Without [routing]: no routing node, wildcard or certificate.
    let mut cluster = example();
    cluster.routing = None;
    cluster.nodes.remove("routing");
    let core = render(&cluster, Workspace::Core);
    assert!(core["resource"]["aws_instance"].get("routing").is_none());
    assert!(core["resource"].get("aws_acm_certificate").is_none());
    assert!(core["resource"]["aws_route53_record"]
        .get("wildcard")
        .is_none());
    assert_schema_clean(&cluster);
}

#[test]
fn admins_are_an_iam_group_with_the_cluster_key() {
    let core = render(&example(), Workspace::Core);
    let membership = &core["resource"]["aws_iam_group_membership"]["admins"];
    assert_eq!(membership["users"], serde_json::json!(["alice", "bob"]));
    assert_eq!(membership["group"], "${aws_iam_group.admins.name}");
    assert_eq!(
        core["resource"]["aws_iam_group"]["admins"]["name"],
        "plutus-admins"
    );
    let policy: Value = serde_json::from_str(
        core["resource"]["aws_iam_group_policy"]["admins"]["policy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let key = example().aws.unwrap().kms_key.unwrap();
    let kms = &policy["Statement"][0];
    assert_eq!(kms["Resource"][0], key.as_str());
    assert!(kms["Action"]
        .as_array()
        .unwrap()
        .contains(&Value::from("kms:Decrypt")));
    let mut cluster = example();
    cluster.aws.as_mut().unwrap().admins.clear();
    let core = render(&cluster, Workspace::Core);
    assert!(core["resource"].get("aws_iam_group").is_none());
}

#[test]
fn a_client_region_without_an_ami_uses_bootstraps_copy() {
    let mut cluster = example();
    cluster.aws.as_mut().unwrap().amis.remove("us-east-2");
    assert_schema_clean(&cluster);
    let clients = render(&cluster, Workspace::Clients);
    assert_eq!(
        clients["resource"]["aws_launch_template"]["client_us_east_2_default"]["image_id"],
        "${data.aws_ami.us_east_2_copy.id}"
    );
    let lookup = &clients["data"]["aws_ami"]["us_east_2_copy"];
    assert_eq!(lookup["provider"], "aws.us_east_2");
    assert_eq!(lookup["owners"][0], "self");
    assert_eq!(lookup["filter"][0]["values"][0], "opsctl-plutus-us-east-2");
    // Neither an entry nor a core image to copy: refused.
    cluster.aws.as_mut().unwrap().amis.clear();
    let error = render_error(&cluster, Workspace::Clients);
    assert!(error.contains("no AMI for region eu-central-1"), "{error}");
}

#[test]
fn job_templates_see_the_named_nodes() {
    let repo = support::ExampleRepo::new();
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"Meta\": { \"source-rev\": \"{= rev(vars.web_ghc_source) =}\" }",
        "\"Meta\": { \"source-rev\": \"{= rev(vars.web_ghc_source) =}\", \"loki\": \"{= cluster.nodes.monitoring.private_ip =}:3100\", \"core-2\": \"{= cluster.nodes['core-2'].hostname =} {= cluster.nodes['core-2'].role =}\", \"routing\": \"{= cluster.nodes.routing.private_ip =} {= cluster.nodes.routing.instance_type =}\" }",
    );
    let model = Repo::open(repo.path(), None).expect("loads");
    let renderer = opsctl::render::Renderer::new(&model);
    let jobs = renderer
        .render_env(&model.envs["staging"], &["web-ghc".to_string()])
        .expect("renders");
    let meta = &jobs[0].job["Meta"];
    assert_eq!(meta["loki"], "172.16.0.20:3100");
    assert_eq!(meta["core-2"], "core-2.plutus.example.org core");
    assert_eq!(meta["routing"], "172.16.1.40 t3a.small");
}

#[test]
fn the_env_workspace_is_schema_valid_and_keys_its_state_per_environment() {
    use opsctl::terraform::provider::EnvRenderRequest;
    let cluster = example();
    let request = EnvRenderRequest {
        cluster: &cluster,
        environment: "review-1",
        upstream: Default::default(),
        terraform_version: Some(Version::new(1, 11, 4)),
    };
    let mut doc = AwsProvider.env_document(&request).expect("renders");
    let backend = Backend::new(&cluster, Version::new(1, 11, 4), Endpoints::default());
    let (kind, config) = backend.env_block("review-1");
    doc.set_backend(kind, config);
    let doc = doc.to_value();
    let problems = Schema::load().check(&doc);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        doc["terraform"]["backend"]["s3"]["key"],
        "opsctl/plutus/envs/review-1/terraform.tfstate"
    );
    let object = &doc["resource"]["aws_s3_object"]["data_prefix"];
    assert_eq!(object["key"], "opsctl/plutus/envs/review-1/data/");
    assert_eq!(object["bucket"], "plutus-ops-state");
    assert_eq!(object["tags"]["Environment"], "review-1");
}
