//! The DynamoDB lock table terraform < 1.10 needs for S3 state (newer binaries lock with an
//! S3 lock file). Checked only when the configured binary needs it or the cluster names one.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

use super::{Finding, Status};
use crate::aws::error_text;
use crate::error::{Error, Result};
use crate::repo::{BackendKind, Repo};
use crate::terraform::runner::Binary;

pub struct LockTablePlan {
    pub finding: Finding,
    name: String,
    create: bool,
}

pub async fn inspect(
    config: &SdkConfig,
    repo: &Repo,
    terraform_binary: Option<&str>,
) -> Result<Option<LockTablePlan>> {
    let cluster = &repo.cluster;
    let Some(aws) = &cluster.aws else {
        return Ok(None);
    };
    if cluster.backend_kind() != BackendKind::S3 {
        return Ok(None);
    }
    let needed = match Binary::find(cluster, terraform_binary).await {
        Ok(binary) => !binary.version.has_s3_lockfile(),
        // Without a binary, trust the cluster file: a named table is wanted.
        Err(_) => false,
    } || cluster.terraform.lock_table.is_some();
    if !needed {
        return Ok(None);
    }
    let name = cluster
        .terraform
        .lock_table
        .clone()
        .unwrap_or_else(|| format!("{}-lock", aws.state_bucket));
    let mut finding = Finding::new("lock table", name.clone(), &aws.region);
    let client = Client::new(config);
    let create = match client.describe_table().table_name(&name).send().await {
        Ok(out) => {
            let key = out
                .table()
                .map(|t| t.key_schema())
                .unwrap_or_default()
                .iter()
                .any(|k| k.attribute_name() == "LockID" && k.key_type() == &KeyType::Hash);
            if !key {
                return Err(Error::invalid(format!(
                    "DynamoDB table {name} exists without the `LockID` hash key terraform needs"
                )));
            }
            false
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            finding.needs(
                Status::Create,
                "create the table (hash key LockID, on-demand)",
            );
            true
        }
        Err(e) => {
            return Err(Error::failed(format!(
                "reading DynamoDB table {name}: {}",
                error_text(&e)
            )))
        }
    };
    Ok(Some(LockTablePlan {
        finding,
        name,
        create,
    }))
}

impl LockTablePlan {
    pub async fn apply(&self, config: &SdkConfig) -> Result<()> {
        if !self.create {
            return Ok(());
        }
        let build = |e: aws_sdk_dynamodb::error::BuildError| Error::failed(e.to_string());
        Client::new(config)
            .create_table()
            .table_name(&self.name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map_err(|e| {
                Error::failed(format!(
                    "creating DynamoDB table {}: {}",
                    self.name,
                    error_text(&e)
                ))
            })?;
        Ok(())
    }
}
