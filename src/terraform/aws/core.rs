//! `core`: the Consul/Vault/Nomad servers (3 or 5, spread over the AZs) and the monitoring
//! node, in the core region's public subnets with Elastic IPs, their IAM identity, and DNS.

use serde_json::{json, Value};

use super::{imdsv2, network_output, provider_ref, Cx};
use crate::error::Result;
use crate::terraform::Document;

/// Root volume size of core and monitoring nodes, GiB.
const ROOT_VOLUME_GB: u32 = 50;
const DNS_TTL: u32 = 300;
const DEFAULT_MONITORING_TYPE: &str = "t3a.large";

pub(super) fn render(cx: &Cx<'_>, doc: &mut Document) -> Result<()> {
    let region = cx.core_region();
    let provider = provider_ref(region);
    cx.base(doc, &[region]);
    cx.read_network(doc)?;
    cx.node_identity(doc, "core");
    let ami = cx.ami(region)?;
    let zone = cx.aws.hosted_zone.as_deref().unwrap_or(&cx.cluster.domain);
    doc.data(
        "aws_route53_zone",
        "cluster",
        json!({ "provider": provider, "name": zone, "private_zone": false }),
    );
    let az_count = cx.azs(region).len();
    let sg =
        |group: &str| network_output(&format!("security_group_ids[\"{region}\"][\"{group}\"]"));
    let datacenter = region.to_string();

    let mut nodes: Vec<(String, String, String, Vec<String>)> = (1..=cx.cluster.core.count)
        .map(|n| {
            (
                format!("core_{n}"),
                format!("core-{n}"),
                cx.cluster.core.instance_type.clone(),
                vec![sg("internal"), sg("ssh")],
            )
        })
        .collect();
    nodes.push((
        "monitoring".into(),
        "monitoring".into(),
        cx.cluster
            .monitoring
            .as_ref()
            .map_or(DEFAULT_MONITORING_TYPE.to_string(), |m| {
                m.instance_type.clone()
            }),
        vec![sg("internal"), sg("ssh"), sg("ingress")],
    ));

    for (i, (resource, name, instance_type, groups)) in nodes.iter().enumerate() {
        let role = if resource == "monitoring" {
            "monitoring"
        } else {
            "core"
        };
        let tags = cx.tags(&[
            ("Name", name),
            ("Role", role),
            ("NomadDatacenter", &datacenter),
        ]);
        let mut root = json!({
            "volume_type": "gp3",
            "volume_size": ROOT_VOLUME_GB,
            "encrypted": true,
            "delete_on_termination": true,
            "tags": tags,
        });
        if let Some(key) = cx.volume_key(region) {
            root["kms_key_id"] = key.into();
        }
        doc.resource(
            "aws_instance",
            resource,
            json!({
                "provider": provider,
                "ami": ami,
                "instance_type": instance_type,
                // Round-robin over the AZs: a lost AZ never takes the Raft quorum with it.
                "subnet_id": network_output(&format!("public_subnet_ids[\"{region}\"][{}]", i % az_count)),
                "vpc_security_group_ids": groups,
                "iam_instance_profile": "${aws_iam_instance_profile.core.name}",
                "metadata_options": imdsv2(),
                "root_block_device": root,
                "ebs_optimized": true,
                "disable_api_termination": role == "core",
                "tags": tags,
            }),
        );
        doc.resource(
            "aws_eip",
            resource,
            json!({
                "provider": provider,
                "domain": "vpc",
                "instance": format!("${{aws_instance.{resource}.id}}"),
                "tags": cx.tags(&[("Name", name), ("Role", role)]),
            }),
        );
    }

    let record = |doc: &mut Document, resource: &str, host: &str, records: Vec<String>| {
        doc.resource(
            "aws_route53_record",
            resource,
            json!({
                "provider": provider,
                "zone_id": "${data.aws_route53_zone.cluster.zone_id}",
                "name": format!("{host}.{}", cx.cluster.domain),
                "type": "A",
                "ttl": DNS_TTL,
                "records": records,
            }),
        );
    };
    let core_ips: Vec<String> = (1..=cx.cluster.core.count)
        .map(|n| format!("${{aws_eip.core_{n}.public_ip}}"))
        .collect();
    for n in 1..=cx.cluster.core.count {
        record(
            doc,
            &format!("core_{n}"),
            &format!("core-{n}"),
            vec![core_ips[n as usize - 1].clone()],
        );
    }
    for service in ["nomad", "consul", "vault"] {
        record(doc, service, service, core_ips.clone());
    }
    record(
        doc,
        "monitoring",
        "monitoring",
        vec!["${aws_eip.monitoring.public_ip}".into()],
    );

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
        core_ips.into(),
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
    doc.output(
        "core_role_arn",
        "IAM role of the core nodes",
        "${aws_iam_role.core.arn}".into(),
    );
    Ok(())
}
