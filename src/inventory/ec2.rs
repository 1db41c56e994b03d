//! Instances and autoscaling groups from EC2, paginated, regions concurrently.

use aws_sdk_ec2::types::Filter;
use serde::Serialize;

use super::Node;
use crate::aws::error_text;
use crate::error::{Error, Result};

/// An autoscaling group tagged `Cluster = <cluster>`, with its sizes as AWS reports them.
#[derive(Debug, Clone, Serialize)]
pub struct AutoScalingGroup {
    /// The group's name (`<cluster>-client-<region>-<name>`).
    pub name: String,
    /// Region the group is in.
    pub region: String,
    /// Minimum size.
    pub min: i32,
    /// Desired capacity.
    pub desired: i32,
    /// Maximum size.
    pub max: i32,
    /// Instances in lifecycle state `InService`.
    pub in_service: usize,
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

async fn region_nodes(cluster: &str, region: &str) -> Result<(Vec<Node>, Vec<AutoScalingGroup>)> {
    let config = crate::aws::config(region).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let mut pages = ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:Cluster")
                .values(cluster)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .set_values(Some(
                    ["pending", "running", "stopping", "stopped"]
                        .map(String::from)
                        .to_vec(),
                ))
                .build(),
        )
        .into_paginator()
        .send();
    let mut nodes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            Error::failed(format!(
                "listing EC2 instances in {region}: {}",
                error_text(&e)
            ))
        })?;
        for reservation in page.reservations() {
            for instance in reservation.instances() {
                let tags = instance.tags();
                let id = instance.instance_id().unwrap_or_default().to_string();
                nodes.push(Node {
                    name: tag(tags, "Name").unwrap_or(&id).to_string(),
                    role: tag(tags, "Role").unwrap_or("unknown").into(),
                    asg: tag(tags, "opsctl:asg")
                        .or_else(|| tag(tags, "aws:autoscaling:groupName"))
                        .map(str::to_string),
                    private_ip: instance.private_ip_address().map(str::to_string),
                    public_ip: instance.public_ip_address().map(str::to_string),
                    region: region.to_string(),
                    az: instance
                        .placement()
                        .and_then(|p| p.availability_zone())
                        .unwrap_or_default()
                        .to_string(),
                    instance_type: instance
                        .instance_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    state: instance
                        .state()
                        .and_then(|s| s.name())
                        .map(|s| s.as_str().into())
                        .unwrap_or_default(),
                    instance_id: id,
                    nomad: None,
                });
            }
        }
    }
    let autoscaling = aws_sdk_autoscaling::Client::new(&config);
    let mut pages = autoscaling
        .describe_auto_scaling_groups()
        .filters(
            aws_sdk_autoscaling::types::Filter::builder()
                .name("tag:Cluster")
                .values(cluster)
                .build(),
        )
        .into_paginator()
        .send();
    let mut asgs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            Error::failed(format!(
                "listing autoscaling groups in {region}: {}",
                error_text(&e)
            ))
        })?;
        for group in page.auto_scaling_groups() {
            asgs.push(AutoScalingGroup {
                name: group
                    .auto_scaling_group_name()
                    .unwrap_or_default()
                    .to_string(),
                region: region.to_string(),
                min: group.min_size().unwrap_or_default(),
                desired: group.desired_capacity().unwrap_or_default(),
                max: group.max_size().unwrap_or_default(),
                in_service: group
                    .instances()
                    .iter()
                    .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
                    .count(),
            });
        }
    }
    Ok((nodes, asgs))
}

pub async fn load(cluster: &str, regions: &[String]) -> Result<(Vec<Node>, Vec<AutoScalingGroup>)> {
    let results = futures::future::join_all(regions.iter().map(|r| region_nodes(cluster, r))).await;
    let mut nodes = Vec::new();
    let mut asgs = Vec::new();
    for result in results {
        let (n, a) = result?;
        nodes.extend(n);
        asgs.extend(a);
    }
    Ok((nodes, asgs))
}
