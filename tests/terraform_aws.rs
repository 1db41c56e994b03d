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
    let backend = Backend::new(cluster, Version::new(1, 11, 4), Endpoints::default());
    futures::executor::block_on(render_workspace(
        &AwsProvider,
        cluster,
        &backend,
        Workspace::Network,
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
