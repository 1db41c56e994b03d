//! `clients`: per `[[clients]]` entry a launch template and an autoscaling group in its
//! region, across the region's private subnets, plus the clients' IAM identity.

use serde_json::{json, Map, Value};

use super::{ident, imdsv2, network_output, provider_ref, Cx};
use crate::error::Result;
use crate::terraform::Document;

const ROOT_VOLUME_GB: u32 = 100;

pub(super) fn render(cx: &Cx<'_>, doc: &mut Document) -> Result<()> {
    let mut regions: Vec<&str> = vec![cx.core_region()];
    for client in &cx.cluster.clients {
        if !regions.contains(&client.region.as_str()) {
            regions.push(&client.region);
        }
    }
    cx.base(doc, &regions);
    cx.read_network(doc)?;
    cx.node_identity(doc, "client");

    let mut asg_names = Map::new();
    for client in &cx.cluster.clients {
        let region = client.region.as_str();
        let provider = provider_ref(region);
        let asg = client.asg_name();
        let resource = ident(&asg);
        let name = format!("{}-{asg}", cx.cluster.name);
        let tags = cx.tags(&[
            ("Name", &asg),
            ("Role", "client"),
            ("NomadDatacenter", region),
            ("opsctl:asg", &asg),
        ]);
        let mut ebs = json!({
            "volume_type": "gp3",
            "volume_size": ROOT_VOLUME_GB,
            // The provider types these launch template fields as strings.
            "encrypted": "true",
            "delete_on_termination": "true",
        });
        if let Some(key) = cx.volume_key(region) {
            ebs["kms_key_id"] = key.into();
        }
        let sg =
            |group: &str| network_output(&format!("security_group_ids[\"{region}\"][\"{group}\"]"));
        doc.resource(
            "aws_launch_template",
            &resource,
            json!({
                "provider": provider,
                "name": name,
                "description": format!("Nomad clients {asg} of cluster {}", cx.cluster.name),
                "image_id": cx.ami(region)?,
                "instance_type": client.instance_type,
                "update_default_version": true,
                "ebs_optimized": "true",
                "iam_instance_profile": { "arn": "${aws_iam_instance_profile.client.arn}" },
                "vpc_security_group_ids": [sg("internal"), sg("ssh")],
                "metadata_options": imdsv2(),
                "monitoring": { "enabled": true },
                "block_device_mappings": [{ "device_name": "/dev/xvda", "ebs": ebs }],
                "tag_specifications": [
                    { "resource_type": "instance", "tags": tags },
                    { "resource_type": "volume", "tags": tags },
                ],
                "tags": tags,
            }),
        );
        let mut asg_tags: Vec<Value> = Vec::new();
        if let Value::Object(tags) = &tags {
            for (key, value) in tags {
                asg_tags.push(json!({ "key": key, "value": value, "propagate_at_launch": true }));
            }
        }
        doc.resource(
            "aws_autoscaling_group",
            &resource,
            json!({
                "provider": provider,
                "name": name,
                "min_size": client.min,
                "max_size": client.max,
                "desired_capacity": client.desired,
                "vpc_zone_identifier": network_output(&format!("private_subnet_ids[\"{region}\"]")),
                "health_check_type": "EC2",
                "health_check_grace_period": 300,
                "launch_template": {
                    "id": format!("${{aws_launch_template.{resource}.id}}"),
                    "version": format!("${{aws_launch_template.{resource}.latest_version}}"),
                },
                "instance_refresh": {
                    "strategy": "Rolling",
                    "preferences": { "min_healthy_percentage": 90 },
                },
                "tag": asg_tags,
            }),
        );
        asg_names.insert(
            asg.clone(),
            format!("${{aws_autoscaling_group.{resource}.name}}").into(),
        );
    }
    doc.output(
        "asg_names",
        "Autoscaling group name per client group",
        Value::Object(asg_names),
    );
    doc.output(
        "client_role_arn",
        "IAM role of the client nodes",
        "${aws_iam_role.client.arn}".into(),
    );
    Ok(())
}
