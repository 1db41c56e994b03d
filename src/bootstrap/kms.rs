//! The cluster's KMS key: the one the cluster file names, else `alias/opsctl-<cluster>`,
//! else a new customer-managed symmetric key with rotation on.

use aws_config::SdkConfig;
use aws_sdk_kms::types::KeyState;
use aws_sdk_kms::Client;

use super::{Finding, Status};
use crate::aws::error_text;
use crate::error::{Error, Result};
use crate::repo::AwsSettings;

pub struct KmsPlan {
    pub finding: Finding,
    /// The existing key's ARN.
    arn: Option<String>,
    enable_rotation: bool,
}

impl KmsPlan {
    /// The key the bucket must be encrypted with, when it exists already.
    pub fn key_reference(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    /// Creates or fixes the key; returns its ARN.
    pub async fn apply(&self, config: &SdkConfig, cluster: &str) -> Result<String> {
        let client = Client::new(config);
        let arn = match &self.arn {
            Some(arn) => arn.clone(),
            None => {
                let created = client
                    .create_key()
                    .description(format!("opsctl cluster {cluster}: state and secrets"))
                    .tags(
                        aws_sdk_kms::types::Tag::builder()
                            .tag_key("Cluster")
                            .tag_value(cluster)
                            .build()
                            .map_err(|e| Error::failed(e.to_string()))?,
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        Error::failed(format!("creating the KMS key: {}", error_text(&e)))
                    })?;
                let arn = created
                    .key_metadata()
                    .and_then(|m| m.arn())
                    .ok_or_else(|| Error::failed("KMS created a key without an ARN"))?
                    .to_string();
                client
                    .create_alias()
                    .alias_name(alias(cluster))
                    .target_key_id(&arn)
                    .send()
                    .await
                    .map_err(|e| {
                        Error::failed(format!("creating {}: {}", alias(cluster), error_text(&e)))
                    })?;
                arn
            }
        };
        if self.enable_rotation || self.arn.is_none() {
            client
                .enable_key_rotation()
                .key_id(&arn)
                .send()
                .await
                .map_err(|e| {
                    Error::failed(format!("enabling rotation of {arn}: {}", error_text(&e)))
                })?;
        }
        Ok(arn)
    }
}

pub fn alias(cluster: &str) -> String {
    format!("alias/opsctl-{cluster}")
}

/// `arn:aws:kms:<region>:<account>:key/<id>` → region.
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

pub async fn inspect(config: &SdkConfig, cluster: &str, aws: &AwsSettings) -> Result<KmsPlan> {
    let client = Client::new(config);
    let named = aws.kms_key.clone();
    if let Some(arn) = &named {
        if arn_region(arn) != Some(aws.region.as_str()) {
            return Err(Error::invalid(format!(
                "[aws].kms_key {arn} is in region {}, not the cluster's region {}: KMS keys are regional",
                arn_region(arn).unwrap_or("?"),
                aws.region
            )));
        }
    }
    let reference = named.clone().unwrap_or_else(|| alias(cluster));
    let mut finding = Finding::new("kms key", reference.clone(), &aws.region);
    let described = client.describe_key().key_id(&reference).send().await;
    let metadata = match described {
        Ok(out) => out.key_metadata().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            None
        }
        Err(e) => {
            return Err(Error::failed(format!(
                "reading KMS key {reference} in {}: {}",
                aws.region,
                error_text(&e)
            )))
        }
    };
    let Some(metadata) = metadata else {
        if named.is_some() {
            return Err(Error::invalid(format!(
                "[aws].kms_key {reference} does not exist in {} (remove it to let bootstrap create alias {})",
                aws.region,
                alias(cluster)
            )));
        }
        finding.needs(Status::Create, "create a symmetric customer-managed key");
        finding.needs(Status::Create, format!("create alias {}", alias(cluster)));
        finding.needs(Status::Create, "enable automatic key rotation");
        return Ok(KmsPlan {
            finding,
            arn: None,
            enable_rotation: true,
        });
    };
    let arn = metadata.arn().unwrap_or_default().to_string();
    finding.name = arn.clone();
    if metadata.key_state() != Some(&KeyState::Enabled) {
        return Err(Error::invalid(format!(
            "KMS key {arn} is {}: enable it (or name another key in [aws].kms_key)",
            metadata
                .key_state()
                .map_or("not enabled".to_string(), |s| s.as_str().to_lowercase())
        )));
    }
    let rotation = client
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .map_err(|e| Error::failed(format!("reading rotation of {arn}: {}", error_text(&e))))?;
    let enable_rotation = !rotation.key_rotation_enabled();
    if enable_rotation {
        finding.needs(Status::Fix, "enable automatic key rotation");
    }
    if named.is_none() {
        finding
            .details
            .push("not named in the cluster file yet (--write adds it as [aws].kms_key)".into());
    }
    Ok(KmsPlan {
        finding,
        arn: Some(arn),
        enable_rotation,
    })
}
