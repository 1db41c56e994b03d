//! `clients`: per `[[clients]]` entry a launch template and an autoscaling group in its
//! region, across the region's private subnets, plus the clients' IAM identity.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{ident, imdsv2, network_output, provider_ref, Cx};
use crate::error::Result;
use crate::repo::ClientGroup;
use crate::terraform::Document;

/// Where the user data writes the Nomad client configuration (Nomad reads every `.json` and
/// `.hcl` file of its `-config` directory).
pub const NOMAD_CLIENT_CONFIG: &str = "/etc/nomad.d/opsctl-client.json";

/// The Nomad agent configuration of a client group: its datacenter, and in `client` the
/// node class, node pool, meta and host volumes.
pub fn nomad_client_config(group: &ClientGroup) -> Value {
    let mut client = json!({ "enabled": true });
    if let Some(class) = &group.node_class {
        client["node_class"] = class.clone().into();
    }
    if let Some(pool) = &group.node_pool {
        client["node_pool"] = pool.clone().into();
    }
    if !group.meta.is_empty() {
        client["meta"] = json!(group.meta);
    }
    if !group.host_volumes.is_empty() {
        let volumes: Map<String, Value> = group
            .host_volumes
            .iter()
            .map(|(name, path)| (name.clone(), json!({ "path": path, "read_only": false })))
            .collect();
        client["host_volume"] = Value::Object(volumes);
    }
    json!({ "datacenter": group.region, "client": client })
}

/// The launch template's user data: a shell script (run by cloud-init and by NixOS's
/// amazon-init alike) that creates the host volume folders, writes the Nomad client
/// configuration and restarts a running Nomad so it registers with them.
pub fn user_data(group: &ClientGroup) -> String {
    let config = serde_json::to_string_pretty(&nomad_client_config(group))
        .unwrap_or_else(|_| String::from("{}"));
    let mut script = String::from(
        "#!/bin/sh\n# opsctl: Nomad client configuration of this autoscaling group\nset -eu\n",
    );
    for path in group.host_volumes.values() {
        script.push_str(&format!("mkdir -p '{path}'\n"));
    }
    let dir = NOMAD_CLIENT_CONFIG.rsplit_once('/').map_or("/", |(d, _)| d);
    script.push_str(&format!(
        "mkdir -p {dir}\ncat > {NOMAD_CLIENT_CONFIG} <<'OPSCTL_NOMAD_CLIENT'\n{config}\nOPSCTL_NOMAD_CLIENT\n"
    ));
    script.push_str("if command -v systemctl >/dev/null 2>&1; then systemctl try-restart nomad.service || true; fi\n");
    base64::engine::general_purpose::STANDARD.encode(script)
}

pub(super) fn render(cx: &Cx<'_>, doc: &mut Document) -> Result<()> {
    let mut regions: Vec<&str> = vec![cx.core_region()];
    for client in &cx.cluster.clients {
        if !regions.contains(&client.region.as_str()) {
            regions.push(&client.region);
        }
    }
    cx.base(doc, &regions);
    cx.read_network(doc)?;
    cx.node_identity(doc, "client", &[]);

    let mut asg_names = Map::new();
    for client in &cx.cluster.clients {
        let region = client.region.as_str();
        let provider = provider_ref(region);
        let asg = client.asg_name();
        let resource = ident(&asg);
        let name = format!("{}-{asg}", cx.cluster.name);
        let mut extra = vec![
            ("Name", asg.as_str()),
            ("Role", "client"),
            ("NomadDatacenter", region),
            ("opsctl:asg", asg.as_str()),
            ("Nomad", "client"),
        ];
        if let Some(class) = &client.node_class {
            extra.push(("NomadNodeClass", class));
        }
        if let Some(pool) = &client.node_pool {
            extra.push(("NomadNodePool", pool));
        }
        let tags = cx.tags(&extra);
        // The provider types these launch template fields as strings.
        let mut ebs = super::core::volume_body(&client.volume(), true);
        if let Some(key) = cx.volume_key(region) {
            ebs["kms_key_id"] = key.into();
        }
        let sg =
            |group: &str| network_output(&format!("security_group_ids[\"{region}\"][\"{group}\"]"));
        let groups = vec![sg("internal"), sg("ssh"), sg("role_client")];
        let image = cx.ami(doc, region)?;
        let mut template = json!({
                "provider": provider,
                "name": name,
                "description": format!("Nomad clients {asg} of cluster {}", cx.cluster.name),
                "image_id": image,
                "instance_type": client.instance_type,
                "update_default_version": true,
                "ebs_optimized": client.ebs_optimized.unwrap_or(true).to_string(),
                "iam_instance_profile": { "arn": "${aws_iam_instance_profile.client.arn}" },
                "user_data": user_data(client),
                "metadata_options": imdsv2(),
                "monitoring": { "enabled": true },
                "block_device_mappings": [{ "device_name": "/dev/xvda", "ebs": ebs }],
                "tag_specifications": [
                    { "resource_type": "instance", "tags": tags },
                    { "resource_type": "volume", "tags": tags },
                ],
                "tags": tags,
        });
        if client.associate_public_ip == Some(true) {
            // Security groups then go on the interface, with a public IP, in public subnets.
            template["network_interfaces"] = json!([{
                "device_index": 0,
                "associate_public_ip_address": "true",
                "delete_on_termination": "true",
                "security_groups": groups,
            }]);
        } else {
            template["vpc_security_group_ids"] = json!(groups);
        }
        doc.resource("aws_launch_template", &resource, template);
        let tier = if client.associate_public_ip == Some(true) {
            "public"
        } else {
            "private"
        };
        let mut asg_tags: Vec<Value> = Vec::new();
        if let Value::Object(tags) = &tags {
            for (key, value) in tags {
                asg_tags.push(json!({ "key": key, "value": value, "propagate_at_launch": true }));
            }
        }
        let mut group = json!({
                "provider": provider,
                "name": name,
                "min_size": client.min,
                "max_size": client.max,
                "desired_capacity": client.desired,
                "vpc_zone_identifier": network_output(&format!("{tier}_subnet_ids[\"{region}\"]")),
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
        });
        if let Some(lifetime) = client.max_instance_lifetime.filter(|l| *l > 0) {
            group["max_instance_lifetime"] = lifetime.into();
        }
        doc.resource("aws_autoscaling_group", &resource, group);
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
