//! The terraform state bucket: private (all four public access blocks), versioned, SSE-KMS
//! with the cluster key, TLS-only by policy.

use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};

use super::{Finding, Status};
use crate::aws::error_text;
use crate::error::{Error, Result};
use crate::repo::AwsSettings;

pub struct BucketPlan {
    pub finding: Finding,
    create: bool,
    public_access_block: bool,
    versioning: bool,
    encryption: bool,
    tls_policy: bool,
}

/// Whether `configured` (an ARN, key ID or alias) is the key `expected` (an ARN).
fn same_key(configured: &str, expected: &str) -> bool {
    configured == expected || expected.ends_with(&format!("/{configured}"))
}

pub fn tls_only_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
    .to_string()
}

fn denies_insecure_transport(policy: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && s["Condition"]["Bool"]["aws:SecureTransport"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    })
}

pub async fn inspect(
    config: &SdkConfig,
    aws: &AwsSettings,
    key: Option<&str>,
) -> Result<BucketPlan> {
    let client = crate::aws::s3(config);
    let bucket = aws.state_bucket.as_str();
    let mut finding = Finding::new("state bucket", bucket, &aws.region);
    let plan = |finding: Finding, create| BucketPlan {
        finding,
        create,
        public_access_block: create,
        versioning: create,
        encryption: create,
        tls_policy: create,
    };
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
            for step in [
                "create the bucket",
                "block all public access (4 settings)",
                "enable versioning",
                "default encryption SSE-KMS with the cluster key",
                "bucket policy denying non-TLS access",
            ] {
                finding.needs(Status::Create, step);
            }
            return Ok(plan(finding, true));
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            return Err(Error::invalid(format!(
                "bucket `{bucket}` exists but this account cannot use it (its name is taken by another account?): choose another [aws].state_bucket"
            )))
        }
        Err(e) => {
            return Err(Error::failed(format!("reading bucket {bucket}: {}", error_text(&e))))
        }
    }
    let location = client
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| {
            Error::failed(format!(
                "reading the region of bucket {bucket}: {}",
                error_text(&e)
            ))
        })?;
    let region = location
        .location_constraint()
        .map(|c| c.as_str().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_string());
    if region != aws.region {
        return Err(Error::invalid(format!(
            "bucket `{bucket}` already exists in {region}, not in the cluster's region {}: it is someone else's bucket or a leftover; choose another [aws].state_bucket",
            aws.region
        )));
    }
    let mut result = plan(finding, false);
    let blocked = client
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.public_access_block_configuration().cloned())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    if !blocked {
        result.public_access_block = true;
        result
            .finding
            .needs(Status::Fix, "block all public access (4 settings)");
    }
    let versioned = client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| {
            Error::failed(format!(
                "reading versioning of {bucket}: {}",
                error_text(&e)
            ))
        })?
        .status()
        == Some(&BucketVersioningStatus::Enabled);
    if !versioned {
        result.versioning = true;
        result.finding.needs(Status::Fix, "enable versioning");
    }
    let encrypted = client
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.server_side_encryption_configuration().cloned())
        .is_some_and(|c| {
            c.rules().iter().any(|r| {
                r.apply_server_side_encryption_by_default()
                    .is_some_and(|d| {
                        d.sse_algorithm() == &ServerSideEncryption::AwsKms
                            && key.is_some_and(|k| {
                                d.kms_master_key_id().is_some_and(|m| same_key(m, k))
                            })
                    })
            })
        });
    if !encrypted {
        result.encryption = true;
        result.finding.needs(
            Status::Fix,
            "default encryption SSE-KMS with the cluster key",
        );
    }
    let tls_only = client
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.policy().map(denies_insecure_transport))
        .unwrap_or(false);
    if !tls_only {
        result.tls_policy = true;
        result
            .finding
            .needs(Status::Fix, "bucket policy denying non-TLS access");
    }
    Ok(result)
}

impl BucketPlan {
    pub async fn apply(&self, config: &SdkConfig, aws: &AwsSettings, key_arn: &str) -> Result<()> {
        let client = crate::aws::s3(config);
        let bucket = aws.state_bucket.as_str();
        let failed =
            |what: &str, e: String| Error::failed(format!("{what} of bucket {bucket}: {e}"));
        if self.create {
            let mut request = client.create_bucket().bucket(bucket);
            if aws.region != "us-east-1" {
                request = request.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                        .build(),
                );
            }
            request
                .send()
                .await
                .map_err(|e| failed("creation", error_text(&e)))?;
        }
        if self.public_access_block {
            client
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed("public access block", error_text(&e)))?;
        }
        if self.versioning {
            client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed("versioning", error_text(&e)))?;
        }
        if self.encryption {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(key_arn)
                .build()
                .map_err(|e| failed("encryption", e.to_string()))?;
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(true)
                .build();
            client
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()
                        .map_err(|e| failed("encryption", e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| failed("encryption", error_text(&e)))?;
        }
        if self.tls_policy {
            client
                .put_bucket_policy()
                .bucket(bucket)
                .policy(tls_only_policy(bucket))
                .send()
                .await
                .map_err(|e| failed("policy", error_text(&e)))?;
        }
        Ok(())
    }
}
