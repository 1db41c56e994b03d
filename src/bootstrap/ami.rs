//! Machine images per region: each region in use needs an available AMI; a region whose image
//! is missing gets a copy of another region's (`CopyImage`).

use aws_sdk_ec2::types::ImageState;
use aws_sdk_ec2::Client;

use super::{Finding, Status};
use crate::aws::error_text;
use crate::error::{Error, Result};
use crate::repo::Repo;

pub struct AmiPlan {
    pub finding: Finding,
    pub region: String,
    copy_from: Option<(String, String)>,
    /// A copy made by an earlier run that the cluster file does not name yet.
    pub earlier_copy: Option<String>,
}

/// The name opsctl gives the image it copies into `region`; the `clients` workspace looks
/// the copy up by it when `[aws].amis` has no entry for the region.
pub fn copy_name(cluster: &str, region: &str) -> String {
    format!("opsctl-{cluster}-{region}")
}

/// An image this account already copied into `region` for the cluster (a run without
/// `--write` leaves the cluster file naming the missing image; copying again would fail with
/// `InvalidAMIName.Duplicate`).
async fn earlier_copy(cluster: &str, region: &str) -> Result<Option<String>> {
    let client = Client::new(&crate::aws::config(region).await);
    let out = client
        .describe_images()
        .owners("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("name")
                .values(copy_name(cluster, region))
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            Error::failed(format!(
                "looking for an earlier copy of the AMI in {region}: {}",
                error_text(&e)
            ))
        })?;
    Ok(out
        .images()
        .iter()
        .filter(|i| {
            matches!(
                i.state(),
                Some(ImageState::Available) | Some(ImageState::Pending)
            )
        })
        .find_map(|i| i.image_id().map(str::to_string)))
}

/// Whether `ami` exists and is available in `region`.
async fn available(region: &str, ami: Option<&str>) -> Result<bool> {
    let Some(ami) = ami else {
        return Ok(false);
    };
    let client = Client::new(&crate::aws::config(region).await);
    match client.describe_images().image_ids(ami).send().await {
        Ok(out) => Ok(out
            .images()
            .iter()
            .any(|i| i.image_id() == Some(ami) && i.state() == Some(&ImageState::Available))),
        Err(e) => {
            let text = error_text(&e);
            if text.contains("InvalidAMIID") {
                Ok(false)
            } else {
                Err(Error::failed(format!(
                    "reading AMI {ami} in {region}: {text}"
                )))
            }
        }
    }
}

pub async fn inspect(repo: &Repo) -> Result<Vec<AmiPlan>> {
    let Some(aws) = &repo.cluster.aws else {
        return Ok(Vec::new());
    };
    let mut regions = vec![aws.region.clone()];
    for group in &repo.cluster.clients {
        if !regions.contains(&group.region) {
            regions.push(group.region.clone());
        }
    }
    let checks = regions.iter().map(|region| {
        let ami = aws.amis.get(region).map(String::as_str);
        async move { available(region, ami).await.map(|ok| (region.clone(), ok)) }
    });
    let states: Vec<(String, bool)> = futures::future::join_all(checks)
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let source = states
        .iter()
        .find(|(_, ok)| *ok)
        .map(|(region, _)| (region.clone(), aws.amis[region].clone()));
    let mut plans = Vec::new();
    for (region, ok) in states {
        let ami = aws
            .amis
            .get(&region)
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        let mut finding = Finding::new("ami", ami.clone(), &region);
        let mut copy_from = None;
        if !ok {
            if let Some(id) = earlier_copy(&repo.cluster.name, &region).await? {
                finding.needs(
                    Status::Manual,
                    format!(
                        "copied earlier as {id}: set [aws].amis.{region} = \"{id}\" (or run with --write)"
                    ),
                );
                plans.push(AmiPlan {
                    finding,
                    region,
                    copy_from: None,
                    earlier_copy: Some(id),
                });
                continue;
            }
            let Some((from_region, from_ami)) = &source else {
                return Err(Error::invalid(format!(
                    "AMI {ami} is not available in {region} and no other region has its AMI: build and register an image first"
                )));
            };
            finding.needs(
                Status::Create,
                format!("copy {from_ami} from {from_region} (CopyImage)"),
            );
            copy_from = Some((from_region.clone(), from_ami.clone()));
        }
        plans.push(AmiPlan {
            finding,
            region,
            copy_from,
            earlier_copy: None,
        });
    }
    Ok(plans)
}

impl AmiPlan {
    /// Copies the image when planned; returns the new AMI ID.
    pub async fn apply(&self, cluster: &str) -> Result<Option<String>> {
        let Some((from_region, from_ami)) = &self.copy_from else {
            return Ok(None);
        };
        let client = Client::new(&crate::aws::config(&self.region).await);
        let copied = client
            .copy_image()
            .source_region(from_region)
            .source_image_id(from_ami)
            .name(copy_name(cluster, &self.region))
            .description(format!("opsctl: copy of {from_ami} from {from_region}"))
            .encrypted(true)
            .send()
            .await
            .map_err(|e| {
                Error::failed(format!(
                    "copying {from_ami} to {}: {}",
                    self.region,
                    error_text(&e)
                ))
            })?;
        copied
            .image_id()
            .map(|id| Some(id.to_string()))
            .ok_or_else(|| Error::failed("CopyImage returned no image ID"))
    }
}
