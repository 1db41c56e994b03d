//! The built-in `aws` provider (hashicorp/aws `~> 6.0`): one `provider "aws"` per region in
//! use (aliased by region), everything tagged with the cluster, and least privilege throughout.

mod clients;
mod core;
mod network;

use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::provider::EnvRenderRequest;
use super::{Document, Provider, RenderRequest, Workspace};
use crate::error::{Error, Result};
use crate::repo::{AwsSettings, Cluster};

/// The built-in provider, chosen by `provider = "aws"`; needs the cluster's `[aws]` section.
pub struct AwsProvider;

/// The AWS provider constraint every document declares.
pub const AWS_PROVIDER_VERSION: &str = "~> 6.0";

impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    fn built_in(&self) -> bool {
        true
    }

    fn render<'a>(&'a self, request: &'a RenderRequest<'a>) -> BoxFuture<'a, Result<Document>> {
        Box::pin(async move { self.document(request) })
    }

    fn render_env<'a>(
        &'a self,
        request: &'a EnvRenderRequest<'a>,
    ) -> BoxFuture<'a, Result<Document>> {
        Box::pin(async move { self.env_document(request) })
    }
}

impl AwsProvider {
    /// An environment's workspace: its data prefix in the cluster's state bucket,
    /// `opsctl/<cluster>/envs/<env>/data/` (an empty marker object), tagged with the
    /// environment, and the prefix as output `data_prefix`.
    pub fn env_document(&self, request: &EnvRenderRequest<'_>) -> Result<Document> {
        let cluster = request.cluster;
        let aws = aws_settings(cluster)?;
        let env = request.environment;
        let prefix = format!("opsctl/{}/envs/{env}/data/", cluster.name);
        let mut doc = Document::new();
        doc.require_terraform(">= 1.0");
        doc.require_provider("aws", "hashicorp/aws", AWS_PROVIDER_VERSION);
        doc.provider(
            "aws",
            json!({
                "region": aws.region,
                "default_tags": { "tags": { "Cluster": cluster.name, "Environment": env, "ManagedBy": "opsctl" } },
            }),
        );
        doc.resource(
            "aws_s3_object",
            "data_prefix",
            json!({
                "bucket": aws.state_bucket,
                "key": prefix,
                "content": "",
                "content_type": "application/x-directory",
                "tags": { "Cluster": cluster.name, "Environment": env },
            }),
        );
        doc.output(
            "data_prefix",
            "The environment's prefix in the state bucket",
            format!("s3://{}/{prefix}", aws.state_bucket).into(),
        );
        Ok(doc)
    }

    /// Renders synchronously: the AWS provider needs no I/O.
    pub fn document(&self, request: &RenderRequest<'_>) -> Result<Document> {
        let cx = Cx::new(request)?;
        let mut doc = Document::new();
        match request.workspace {
            Workspace::Network => network::render(&cx, &mut doc)?,
            Workspace::Core => core::render(&cx, &mut doc)?,
            Workspace::Clients => clients::render(&cx, &mut doc)?,
        }
        Ok(doc)
    }
}

/// The cluster's `[aws]` section, which the `aws` provider needs.
fn aws_settings(cluster: &Cluster) -> Result<&AwsSettings> {
    cluster.aws.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "cluster `{}` uses provider `aws` but has no [aws] section",
            cluster.name
        ))
    })
}

/// What every workspace renderer needs.
struct Cx<'a> {
    cluster: &'a Cluster,
    aws: &'a AwsSettings,
    request: &'a RenderRequest<'a>,
    /// Regions in use, core region first, each with its validated AZs.
    regions: Vec<(String, Vec<String>)>,
    /// The region of the cluster's KMS key (parsed once: every volume asks).
    kms_region: Option<&'a str>,
}

impl<'a> Cx<'a> {
    fn new(request: &'a RenderRequest<'a>) -> Result<Self> {
        let cluster = request.cluster;
        let aws = aws_settings(cluster)?;
        let mut regions = Vec::new();
        for region in cluster.regions() {
            let azs = aws
                .azs_of(&region)
                .map_err(|e| Error::invalid(e.to_string()))?;
            if azs.len() < crate::repo::MIN_AZS {
                let source = if aws.azs.contains_key(&region) {
                    "[aws].azs lists"
                } else {
                    "the region offers"
                };
                return Err(Error::invalid(format!(
                    "region {region}: {source} {} availability zone(s) ({}); opsctl needs at least {} to spread nodes: use another region",
                    azs.len(),
                    azs.join(", "),
                    crate::repo::MIN_AZS
                )));
            }
            regions.push((region, azs));
        }
        let kms_region = aws
            .kms_key
            .as_deref()
            .and_then(crate::repo::names::kms_arn_region);
        Ok(Cx {
            cluster,
            aws,
            request,
            regions,
            kms_region,
        })
    }

    fn core_region(&self) -> &str {
        &self.aws.region
    }

    fn azs(&self, region: &str) -> &[String] {
        self.regions
            .iter()
            .find(|(r, _)| r == region)
            .map_or(&[], |(_, azs)| azs.as_slice())
    }

    /// The VPC CIDR of a region (see [`Cluster::vpc_cidr`]).
    fn vpc_cidr(&self, region: &str) -> String {
        self.cluster.vpc_cidr(region)
    }

    /// The image of `region`: its `[aws].amis` entry, else the copy `opsctl bootstrap` makes
    /// of the core region's image there (looked up by its name, `opsctl-<cluster>-<region>`).
    /// Refused when the region has no entry and the core region none to copy from.
    fn ami(&self, doc: &mut Document, region: &str) -> Result<String> {
        if let Some(ami) = self.aws.amis.get(region) {
            return Ok(ami.clone());
        }
        if region == self.core_region() || !self.aws.amis.contains_key(self.core_region()) {
            return Err(Error::invalid(format!(
                "no AMI for region {region} and none in the core region {} to copy: add `{} = \"ami-…\"` to [aws].amis",
                self.core_region(),
                self.core_region()
            )));
        }
        let id = format!("{}_copy", ident(region));
        doc.data(
            "aws_ami",
            &id,
            json!({
                "provider": provider_ref(region),
                "owners": ["self"],
                "most_recent": true,
                "filter": [{ "name": "name", "values": [crate::bootstrap::ami_copy_name(&self.cluster.name, region)] }],
            }),
        );
        Ok(format!("${{data.aws_ami.{id}.id}}"))
    }

    /// The KMS key for EBS volumes in `region`: the cluster key lives in the core region only;
    /// volumes elsewhere are encrypted with the account's default EBS key.
    fn volume_key(&self, region: &str) -> Option<&str> {
        self.aws
            .kms_key
            .as_deref()
            .filter(|_| self.kms_region == Some(region))
    }

    /// `required_providers`, and one aliased `provider "aws"` per region in `regions`.
    fn base(&self, doc: &mut Document, regions: &[&str]) {
        doc.require_terraform(">= 1.0");
        doc.require_provider("aws", "hashicorp/aws", AWS_PROVIDER_VERSION);
        for region in regions {
            doc.provider(
                "aws",
                json!({
                    "alias": ident(region),
                    "region": region,
                    "default_tags": { "tags": { "Cluster": self.cluster.name, "ManagedBy": "opsctl" } },
                }),
            );
        }
    }

    /// Tags naming the cluster plus `extra`.
    fn tags(&self, extra: &[(&str, &str)]) -> Value {
        let mut tags = Map::new();
        tags.insert("Cluster".into(), self.cluster.name.clone().into());
        for (k, v) in extra {
            tags.insert((*k).into(), (*v).into());
        }
        Value::Object(tags)
    }

    /// `arn:aws:s3:::<bucket>/opsctl/<cluster>/secrets/`: what nodes may read.
    fn secrets_prefix(&self) -> String {
        format!("opsctl/{}/secrets/", self.cluster.name)
    }

    /// The least-privilege policy nodes run with: decrypt with the cluster key, read the
    /// cluster's secrets prefix, describe EC2 for Consul/Nomad cloud auto-join; plus `extra`.
    fn node_policy(&self, extra: &[Value]) -> String {
        let bucket = &self.aws.state_bucket;
        let prefix = self.secrets_prefix();
        let mut statements = vec![
            json!({
                "Sid": "ReadClusterSecrets",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [format!("arn:aws:s3:::{bucket}/{prefix}*")],
            }),
            json!({
                "Sid": "ListClusterSecrets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [format!("arn:aws:s3:::{bucket}")],
                "Condition": { "StringLike": { "s3:prefix": [format!("{prefix}*")] } },
            }),
            json!({
                "Sid": "AutoJoin",
                "Effect": "Allow",
                "Action": ["ec2:DescribeInstances", "ec2:DescribeTags", "autoscaling:DescribeAutoScalingGroups"],
                "Resource": ["*"],
            }),
        ];
        if let Some(key) = &self.aws.kms_key {
            statements.insert(
                0,
                json!({
                    "Sid": "DecryptWithClusterKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": [key],
                }),
            );
        }
        statements.extend(extra.iter().cloned());
        json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
    }

    /// IAM role, inline policy and instance profile for one node role (`core`, `client`,
    /// `routing`), the policy extended by `extra` statements.
    fn node_identity(&self, doc: &mut Document, role: &str, extra: &[Value]) {
        let provider = provider_ref(self.core_region());
        let assume = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": { "Service": "ec2.amazonaws.com" },
            }],
        })
        .to_string();
        let name = format!("{}-{role}", self.cluster.name);
        doc.resource(
            "aws_iam_role",
            role,
            json!({
                "provider": provider,
                "name": name,
                "description": format!("opsctl {role} nodes of cluster {}", self.cluster.name),
                "assume_role_policy": assume,
                "tags": self.tags(&[("Role", role)]),
            }),
        );
        doc.resource(
            "aws_iam_role_policy",
            role,
            json!({
                "provider": provider,
                "name": format!("{name}-node"),
                "role": format!("${{aws_iam_role.{role}.id}}"),
                "policy": self.node_policy(extra),
            }),
        );
        doc.resource(
            "aws_iam_instance_profile",
            role,
            json!({
                "provider": provider,
                "name": name,
                "role": format!("${{aws_iam_role.{role}.name}}"),
                "tags": self.tags(&[("Role", role)]),
            }),
        );
    }

    /// `data.terraform_remote_state.network`, as the request says to read it.
    fn read_network(&self, doc: &mut Document) -> Result<()> {
        let state = self
            .request
            .upstream
            .get(&Workspace::Network)
            .ok_or_else(|| Error::failed("the network workspace's state location is missing"))?;
        doc.remote_state(Workspace::Network, state);
        Ok(())
    }
}

/// Metadata options requiring IMDSv2 (session tokens), hop limit 2 for containers.
fn imdsv2() -> Value {
    json!({
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": 2,
        "instance_metadata_tags": "disabled",
    })
}

/// A Terraform identifier from a region or name: `eu-central-1` → `eu_central_1`.
fn ident(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// `aws.<region ident>`: the aliased provider of a region.
fn provider_ref(region: &str) -> String {
    format!("aws.{}", ident(region))
}

/// The AZ suffix letter(s): `eu-central-1a` → `a`.
fn az_suffix<'s>(region: &str, az: &'s str) -> &'s str {
    az.strip_prefix(region).unwrap_or(az)
}

/// `${data.terraform_remote_state.network.outputs.<path>}`
fn network_output(path: &str) -> String {
    format!("${{data.terraform_remote_state.network.outputs.{path}}}")
}
