//! The cluster's Route53 hosted zone and its NS delegation in the parent zone (when the parent
//! is in the same account; otherwise the records to add are reported).

use aws_config::SdkConfig;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;

use super::{Finding, Status};
use crate::aws::error_text;
use crate::error::{Error, Result};

pub struct ZonePlan {
    pub finding: Finding,
    zone: String,
    /// Existing zone ID and its name servers.
    existing: Option<(String, Vec<String>)>,
    parent_id: Option<String>,
    delegate: bool,
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

async fn find_zone(client: &Client, name: &str) -> Result<Option<String>> {
    let out = client
        .list_hosted_zones_by_name()
        .dns_name(fqdn(name))
        .max_items(1)
        .send()
        .await
        .map_err(|e| Error::failed(format!("listing Route53 zones: {}", error_text(&e))))?;
    Ok(out
        .hosted_zones()
        .iter()
        .find(|z| z.name() == fqdn(name) && !z.config().is_some_and(|c| c.private_zone()))
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string()))
}

pub async fn inspect(config: &SdkConfig, zone: &str) -> Result<ZonePlan> {
    if !crate::repo::names::is_domain(zone) {
        return Err(Error::invalid(format!(
            "`{zone}` is not a DNS name for a hosted zone"
        )));
    }
    let client = Client::new(config);
    let mut finding = Finding::new("hosted zone", zone, "global");
    let parent = zone
        .split_once('.')
        .map(|(_, p)| p)
        .filter(|p| p.contains('.'));
    let parent_id = match parent {
        Some(parent) => find_zone(&client, parent).await?,
        None => None,
    };
    let existing = match find_zone(&client, zone).await? {
        Some(id) => {
            let out =
                client.get_hosted_zone().id(&id).send().await.map_err(|e| {
                    Error::failed(format!("reading zone {zone}: {}", error_text(&e)))
                })?;
            let ns = out
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default();
            Some((id, ns))
        }
        None => {
            finding.needs(Status::Create, "create the public hosted zone");
            None
        }
    };
    let mut delegate = false;
    match (&parent_id, &existing) {
        (Some(parent_id), Some((_, ns))) => {
            let records = client
                .list_resource_record_sets()
                .hosted_zone_id(parent_id)
                .start_record_name(fqdn(zone))
                .start_record_type(RrType::Ns)
                .send()
                .await
                .map_err(|e| {
                    Error::failed(format!("reading the parent zone: {}", error_text(&e)))
                })?;
            let mut current: Vec<String> = records
                .resource_record_sets()
                .iter()
                .filter(|r| r.name() == fqdn(zone) && r.r#type() == &RrType::Ns)
                .flat_map(|r| {
                    r.resource_records()
                        .iter()
                        .map(|v| v.value().trim_end_matches('.').to_string())
                })
                .collect();
            let mut wanted: Vec<String> = ns
                .iter()
                .map(|n| n.trim_end_matches('.').to_string())
                .collect();
            current.sort();
            wanted.sort();
            // Some endpoints (moto) wrap values in CDATA, which the SDK's XML reader yields as
            // empty strings: a full set of unreadable values cannot be compared, so it counts
            // as in place rather than being rewritten on every run.
            let unreadable = !current.is_empty()
                && current.iter().all(String::is_empty)
                && current.len() == wanted.len();
            if unreadable {
                tracing::warn!(
                    zone,
                    "the parent's NS values are unreadable; assuming the delegation is in place"
                );
            } else if current != wanted {
                delegate = true;
                let has = if current.is_empty() {
                    "none".to_string()
                } else {
                    current.join(" ")
                };
                finding.needs(
                    Status::Fix,
                    format!(
                        "upsert the NS delegation in parent zone {} (it has {has}; the zone's servers are {})",
                        parent.unwrap_or_default(),
                        wanted.join(" ")
                    ),
                );
            }
        }
        (Some(_), None) => {
            delegate = true;
            finding.needs(
                Status::Create,
                format!("delegate from parent zone {}", parent.unwrap_or_default()),
            );
        }
        (None, Some((_, ns))) => {
            finding.needs(
                Status::Manual,
                format!(
                    "the parent zone is not in this account: add NS records for {zone} there: {}",
                    ns.join(" ")
                ),
            );
        }
        (None, None) => {
            finding.needs(Status::Manual, "the parent zone is not in this account: the NS records to add are printed after creation");
        }
    }
    Ok(ZonePlan {
        finding,
        zone: zone.to_string(),
        existing,
        parent_id,
        delegate,
    })
}

impl ZonePlan {
    /// Creates and delegates as planned; returns the NS records the user must add by hand
    /// when the parent zone is elsewhere.
    pub async fn apply(&self, config: &SdkConfig) -> Result<Option<Vec<String>>> {
        let client = Client::new(config);
        let name_servers = match &self.existing {
            Some((_, ns)) => ns.clone(),
            None => {
                let created = client
                    .create_hosted_zone()
                    .name(&self.zone)
                    .caller_reference(uuid::Uuid::new_v4().to_string())
                    .send()
                    .await
                    .map_err(|e| {
                        Error::failed(format!("creating zone {}: {}", self.zone, error_text(&e)))
                    })?;
                created
                    .delegation_set()
                    .map(|d| d.name_servers().to_vec())
                    .unwrap_or_default()
            }
        };
        let Some(parent_id) = &self.parent_id else {
            return Ok(Some(name_servers));
        };
        if self.delegate {
            let build = |e: aws_sdk_route53::error::BuildError| Error::failed(e.to_string());
            let mut records = Vec::new();
            for ns in &name_servers {
                records.push(ResourceRecord::builder().value(ns).build().map_err(build)?);
            }
            let set = ResourceRecordSet::builder()
                .name(fqdn(&self.zone))
                .r#type(RrType::Ns)
                .ttl(300)
                .set_resource_records(Some(records))
                .build()
                .map_err(build)?;
            let change = Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()
                .map_err(build)?;
            client
                .change_resource_record_sets()
                .hosted_zone_id(parent_id)
                .change_batch(
                    ChangeBatch::builder()
                        .changes(change)
                        .build()
                        .map_err(build)?,
                )
                .send()
                .await
                .map_err(|e| {
                    Error::failed(format!("delegating {}: {}", self.zone, error_text(&e)))
                })?;
        }
        Ok(None)
    }
}
