//! `core`: the Consul/Vault/Nomad servers (3 or 5, spread over the AZs), the monitoring node
//! and the optional routing node, in the core region's public subnets with Elastic IPs and
//! fixed private IPs where the cluster file gives them; their IAM identities; DNS, the
//! wildcard records and the ACM certificate of the routing node; the admins' IAM group.

use serde_json::{json, Value};

use super::{imdsv2, network_output, provider_ref, Cx};
use crate::error::{Error, Result};
use crate::repo::{NamedNode, Volume};
use crate::terraform::Document;

const DNS_TTL: u32 = 300;

/// The root block device of an instance or a launch template mapping.
pub(super) fn volume_body(volume: &Volume, as_strings: bool) -> Value {
    let flag = |b: bool| -> Value {
        if as_strings {
            b.to_string().into()
        } else {
            b.into()
        }
    };
    let mut body = json!({
        "volume_type": volume.kind,
        "volume_size": volume.size,
        "encrypted": flag(true),
        "delete_on_termination": flag(true),
    });
    if let Some(iops) = volume.iops {
        body["iops"] = iops.into();
    }
    if let Some(throughput) = volume.throughput {
        body["throughput"] = throughput.into();
    }
    body
}

pub(super) fn render(cx: &Cx<'_>, doc: &mut Document) -> Result<()> {
    let region = cx.core_region();
    let provider = provider_ref(region);
    cx.base(doc, &[region]);
    cx.read_network(doc)?;
    cx.node_identity(doc, "core", &[]);
    let routing = cx.cluster.routing.as_ref();
    if routing.is_some() {
        // The routing node exports the certificate for Traefik (ACM exportable certificate).
        cx.node_identity(
            doc,
            "routing",
            &[json!({
                "Sid": "ExportClusterCertificate",
                "Effect": "Allow",
                "Action": ["acm:ExportCertificate", "acm:DescribeCertificate"],
                "Resource": ["${aws_acm_certificate.cluster.arn}"],
            })],
        );
    }
    let ami = cx.ami(doc, region)?;
    let zone = cx.aws.hosted_zone.as_deref().unwrap_or(&cx.cluster.domain);
    doc.data(
        "aws_route53_zone",
        "cluster",
        json!({ "provider": provider, "name": zone, "private_zone": false }),
    );
    let az_count = cx.azs(region).len();
    let vpc_cidr = cx.vpc_cidr(region);
    let sg =
        |group: &str| network_output(&format!("security_group_ids[\"{region}\"][\"{group}\"]"));

    let nodes = cx.cluster.named_nodes();
    for (i, node) in nodes.iter().enumerate() {
        let resource = node.name.replace('-', "_");
        let subnet = match &node.settings.private_ip {
            Some(ip) => crate::repo::public_subnet_of(&vpc_cidr, az_count, ip).ok_or_else(|| {
                Error::invalid(format!(
                    "nodes.{}.private_ip {ip} is in none of the public subnets of {vpc_cidr} (a.b.0.4 … a.b.{}.254)",
                    node.name,
                    az_count - 1
                ))
            })?,
            // Round-robin over the AZs: a lost AZ never takes the Raft quorum with it.
            None => i % az_count,
        };
        let mut groups = vec![
            sg("internal"),
            sg("ssh"),
            sg(&format!("role_{}", node.role)),
        ];
        if node.role != "core" {
            groups.push(sg("ingress"));
        }
        let tags = cx.tags(&[
            ("Name", &node.name),
            ("Role", node.role),
            ("NomadDatacenter", region),
        ]);
        let mut root = volume_body(&node.volume(), false);
        root["tags"] = tags.clone();
        if let Some(key) = cx.volume_key(region) {
            root["kms_key_id"] = key.into();
        }
        let profile = if node.role == "routing" {
            "routing"
        } else {
            "core"
        };
        let mut body = json!({
            "provider": provider,
            "ami": ami,
            "instance_type": node.instance_type,
            "subnet_id": network_output(&format!("public_subnet_ids[\"{region}\"][{subnet}]")),
            "vpc_security_group_ids": groups,
            "iam_instance_profile": format!("${{aws_iam_instance_profile.{profile}.name}}"),
            "metadata_options": imdsv2(),
            "root_block_device": root,
            "ebs_optimized": node.settings.ebs_optimized.unwrap_or(true),
            "disable_api_termination": node.role == "core",
            "tags": tags,
        });
        if let Some(ip) = &node.settings.private_ip {
            body["private_ip"] = ip.clone().into();
        }
        doc.resource("aws_instance", &resource, body);
        doc.resource(
            "aws_eip",
            &resource,
            json!({
                "provider": provider,
                "domain": "vpc",
                "instance": format!("${{aws_instance.{resource}.id}}"),
                "tags": cx.tags(&[("Name", &node.name), ("Role", node.role)]),
            }),
        );
    }

    let record = |doc: &mut Document, resource: &str, name: String, records: Vec<String>| {
        doc.resource(
            "aws_route53_record",
            resource,
            json!({
                "provider": provider,
                "zone_id": "${data.aws_route53_zone.cluster.zone_id}",
                "name": name,
                "type": "A",
                "ttl": DNS_TTL,
                "records": records,
            }),
        );
    };
    let domain = &cx.cluster.domain;
    let core_ips: Vec<String> = (1..=cx.cluster.core.count)
        .map(|n| format!("${{aws_eip.core_{n}.public_ip}}"))
        .collect();
    for node in &nodes {
        let resource = node.name.replace('-', "_");
        record(
            doc,
            &resource,
            format!("{}.{domain}", node.name),
            vec![format!("${{aws_eip.{resource}.public_ip}}")],
        );
    }
    for service in ["nomad", "consul", "vault"] {
        record(
            doc,
            service,
            format!("{service}.{domain}"),
            core_ips.clone(),
        );
    }
    if let Some(routing) = routing {
        routing_dns_and_certificate(cx, doc, routing)?;
    }
    admins(cx, doc);
    outputs(cx, doc, &nodes, &core_ips);
    Ok(())
}

/// The hosted zone a name lies in: the longest of the cluster zone and `extra_zones`.
fn zone_of<'z>(name: &str, zones: &[&'z str]) -> Option<&'z str> {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    zones
        .iter()
        .filter(|z| bare == **z || bare.ends_with(&format!(".{z}")))
        .max_by_key(|z| z.len())
        .copied()
}

/// `*.<domain>` and each extra name outside the cluster domain → the routing node; the ACM
/// certificate (domain, wildcard, `extra_sans`) validated through DNS records in its zones.
fn routing_dns_and_certificate(
    cx: &Cx<'_>,
    doc: &mut Document,
    routing: &crate::repo::RoutingSettings,
) -> Result<()> {
    let region = cx.core_region();
    let provider = provider_ref(region);
    let domain = cx.cluster.domain.as_str();
    let cluster_zone = cx.aws.hosted_zone.as_deref().unwrap_or(domain);
    let mut zones: Vec<&str> = vec![cluster_zone];
    zones.extend(routing.extra_zones.iter().map(String::as_str));
    let zone_ref = |zone: &str| -> String {
        if zone == cluster_zone {
            "${data.aws_route53_zone.cluster.zone_id}".into()
        } else {
            format!("${{data.aws_route53_zone.{}.zone_id}}", super::ident(zone))
        }
    };
    for zone in &routing.extra_zones {
        doc.data(
            "aws_route53_zone",
            &super::ident(zone),
            json!({ "provider": provider, "name": zone, "private_zone": false }),
        );
    }
    let routing_ip = vec!["${aws_eip.routing.public_ip}".to_string()];
    let mut names: Vec<String> = vec![domain.to_string(), format!("*.{domain}")];
    for san in &routing.extra_sans {
        if !names.contains(san) {
            names.push(san.clone());
        }
    }
    let mut records: Vec<(String, String)> = vec![("wildcard".into(), format!("*.{domain}"))];
    for san in &routing.extra_sans {
        let bare = san.strip_prefix("*.").unwrap_or(san);
        if bare == domain || bare.ends_with(&format!(".{domain}")) {
            continue;
        }
        records.push((
            format!("san_{}", super::ident(&san.replace('*', "wildcard"))),
            san.clone(),
        ));
    }
    for (resource, name) in &records {
        let zone = zone_of(name, &zones).ok_or_else(|| {
            Error::invalid(format!(
                "routing.extra_sans: {name} lies in no hosted zone of the cluster: add its zone to routing.extra_zones"
            ))
        })?;
        doc.resource(
            "aws_route53_record",
            resource,
            json!({
                "provider": provider,
                "zone_id": zone_ref(zone),
                "name": name,
                "type": "A",
                "ttl": DNS_TTL,
                "records": routing_ip,
            }),
        );
    }
    doc.resource(
        "aws_acm_certificate",
        "cluster",
        json!({
            "provider": provider,
            "domain_name": domain,
            "subject_alternative_names": names[1..],
            "validation_method": "DNS",
            "key_algorithm": "EC_prime256v1",
            // Exportable, so Traefik on the routing node serves it (acm:ExportCertificate).
            "options": { "export": "ENABLED" },
            "tags": cx.tags(&[("Name", domain)]),
            "lifecycle": { "create_before_destroy": true },
        }),
    );
    // One validation record per name, a name and its wildcard sharing one (ACM gives both
    // the same record); overwriting adopts a record left by an earlier certificate.
    let mut fqdns = Vec::new();
    let mut validated: Vec<&str> = Vec::new();
    for name in &names {
        let bare = name.strip_prefix("*.").unwrap_or(name);
        if validated.contains(&bare) {
            continue;
        }
        let i = validated.len();
        validated.push(bare);
        let zone = zone_of(name, &zones).ok_or_else(|| {
            Error::invalid(format!(
                "routing.extra_sans: {name} lies in no hosted zone of the cluster: add its zone to routing.extra_zones"
            ))
        })?;
        let pick = |field: &str| {
            format!(
                "${{one([for o in aws_acm_certificate.cluster.domain_validation_options : o.{field} if o.domain_name == \"{name}\"])}}"
            )
        };
        let resource = format!("certificate_validation_{i}");
        doc.resource(
            "aws_route53_record",
            &resource,
            json!({
                "provider": provider,
                "zone_id": zone_ref(zone),
                "name": pick("resource_record_name"),
                "type": pick("resource_record_type"),
                "ttl": 60,
                "records": [pick("resource_record_value")],
                "allow_overwrite": true,
            }),
        );
        fqdns.push(Value::String(format!(
            "${{aws_route53_record.{resource}.fqdn}}"
        )));
    }
    doc.resource(
        "aws_acm_certificate_validation",
        "cluster",
        json!({
            "provider": provider,
            "certificate_arn": "${aws_acm_certificate.cluster.arn}",
            "validation_record_fqdns": fqdns,
        }),
    );
    doc.output(
        "certificate_arn",
        "ACM certificate of the domain, its wildcard and the extra names (validated)",
        "${aws_acm_certificate_validation.cluster.certificate_arn}".into(),
    );
    Ok(())
}

/// `[aws].admins`: an IAM group `<cluster>-admins` holding those (existing) IAM users, with
/// the policy operating the cluster needs: the cluster key, the state and secrets in the
/// state bucket, the lock table, and reading the inventory.
fn admins(cx: &Cx<'_>, doc: &mut Document) {
    if cx.aws.admins.is_empty() {
        return;
    }
    let provider = provider_ref(cx.core_region());
    let bucket = &cx.aws.state_bucket;
    let name = format!("{}-admins", cx.cluster.name);
    let mut statements = Vec::new();
    if let Some(key) = &cx.aws.kms_key {
        statements.push(json!({
            "Sid": "UseClusterKey",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": [key],
        }));
    }
    statements.push(json!({
        "Sid": "ClusterState",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "Resource": [format!("arn:aws:s3:::{bucket}/opsctl/{}/*", cx.cluster.name)],
    }));
    statements.push(json!({
        "Sid": "ListClusterState",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [format!("arn:aws:s3:::{bucket}")],
        "Condition": { "StringLike": { "s3:prefix": [format!("opsctl/{}/*", cx.cluster.name)] } },
    }));
    let table = cx
        .cluster
        .terraform
        .lock_table
        .clone()
        .unwrap_or_else(|| format!("{bucket}-lock"));
    statements.push(json!({
        "Sid": "StateLock",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"],
        "Resource": [format!("arn:aws:dynamodb:{}:*:table/{table}", cx.core_region())],
    }));
    statements.push(json!({
        "Sid": "Inventory",
        "Effect": "Allow",
        "Action": ["ec2:DescribeInstances", "ec2:DescribeTags", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes"],
        "Resource": ["*"],
    }));
    doc.resource(
        "aws_iam_group",
        "admins",
        json!({ "provider": provider, "name": name }),
    );
    doc.resource(
        "aws_iam_group_policy",
        "admins",
        json!({
            "provider": provider,
            "name": format!("{name}-operate"),
            "group": "${aws_iam_group.admins.name}",
            "policy": json!({ "Version": "2012-10-17", "Statement": statements }).to_string(),
        }),
    );
    doc.resource(
        "aws_iam_group_membership",
        "admins",
        json!({
            "provider": provider,
            "name": name,
            "group": "${aws_iam_group.admins.name}",
            "users": cx.aws.admins,
        }),
    );
}

fn outputs(cx: &Cx<'_>, doc: &mut Document, nodes: &[NamedNode], core_ips: &[String]) {
    let list = |attr: &str| -> Value {
        (1..=cx.cluster.core.count)
            .map(|n| Value::String(format!("${{aws_instance.core_{n}.{attr}}}")))
            .collect()
    };
    doc.output(
        "core_private_ips",
        "Private IPs of the core nodes, core-1 first",
        list("private_ip"),
    );
    doc.output(
        "core_public_ips",
        "Elastic IPs of the core nodes, core-1 first",
        core_ips.to_vec().into(),
    );
    doc.output(
        "core_instance_ids",
        "Instance ids of the core nodes, core-1 first",
        list("id"),
    );
    doc.output(
        "monitoring_public_ip",
        "Elastic IP of the monitoring node",
        "${aws_eip.monitoring.public_ip}".into(),
    );
    doc.output(
        "monitoring_private_ip",
        "Private IP of the monitoring node",
        "${aws_instance.monitoring.private_ip}".into(),
    );
    let private: serde_json::Map<String, Value> = nodes
        .iter()
        .map(|n| {
            (
                n.name.clone(),
                format!("${{aws_instance.{}.private_ip}}", n.name.replace('-', "_")).into(),
            )
        })
        .collect();
    doc.output(
        "node_private_ips",
        "Private IP per named node",
        Value::Object(private),
    );
    if cx.cluster.routing.is_some() {
        doc.output(
            "routing_public_ip",
            "Elastic IP of the routing node (every job hostname resolves to it)",
            "${aws_eip.routing.public_ip}".into(),
        );
    }
    doc.output(
        "core_role_arn",
        "IAM role of the core nodes",
        "${aws_iam_role.core.arn}".into(),
    );
}
