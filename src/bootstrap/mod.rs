//! `opsctl bootstrap`: the AWS account prepared for a cluster, idempotently.
//!
//! Every resource is first inspected without writing anything; the findings say what exists
//! and what would be created or fixed. Only then (after confirmation) are the actions
//! applied, KMS first since the bucket's encryption needs the key. A prepared account yields
//! no action and therefore no write call.

mod ami;
mod bucket;
mod kms;
mod lock_table;
mod zone;

pub use ami::copy_name as ami_copy_name;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::repo::{AwsSettings, Repo};

/// The state of one inspected resource (`status` in `bootstrap --output json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exists with every required setting.
    Ok,
    /// Will be created.
    Create,
    /// Exists but lacks settings; will be fixed.
    Fix,
    /// Needs a step opsctl cannot do (printed instructions).
    Manual,
}

/// What inspection found about one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Kind of resource: `kms key`, `state bucket`, `lock table`, `hosted zone` or `ami`.
    pub resource: &'static str,
    /// The resource's name: key ARN or alias, bucket, table, zone, or AMI id (`(none)` when the
    /// region has no `[aws].amis` entry).
    pub name: String,
    /// Region inspected (`global` for the hosted zone).
    pub region: String,
    /// `Ok` until something is needed; then the first need found, except that a later
    /// `Create` replaces it.
    pub status: Status,
    /// What is missing or what will be done, one line each.
    pub details: Vec<String>,
}

impl Finding {
    fn new(resource: &'static str, name: impl Into<String>, region: &str) -> Self {
        Finding {
            resource,
            name: name.into(),
            region: region.to_string(),
            status: Status::Ok,
            details: Vec::new(),
        }
    }

    fn needs(&mut self, status: Status, detail: impl Into<String>) {
        if self.status == Status::Ok || status == Status::Create {
            self.status = status;
        }
        self.details.push(detail.into());
    }
}

/// The inspected account: findings plus the typed plans to apply them.
pub struct Plan {
    kms: kms::KmsPlan,
    bucket: bucket::BucketPlan,
    lock_table: Option<lock_table::LockTablePlan>,
    zone: zone::ZonePlan,
    amis: Vec<ami::AmiPlan>,
}

impl Plan {
    /// Every finding: KMS key, state bucket, lock table (when one is needed), hosted zone,
    /// then one AMI per region in use (core region first).
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = vec![self.kms.finding.clone(), self.bucket.finding.clone()];
        out.extend(self.lock_table.iter().map(|t| t.finding.clone()));
        out.push(self.zone.finding.clone());
        out.extend(self.amis.iter().map(|a| a.finding.clone()));
        out
    }

    /// The existing key's ARN when the cluster file does not name it yet (for `--write`).
    pub fn unrecorded_key(&self, repo: &Repo) -> Option<String> {
        let arn = self.kms.key_reference()?;
        let named = repo.cluster.aws.as_ref()?.kms_key.as_deref();
        (named != Some(arn)).then(|| arn.to_string())
    }

    /// What earlier runs created that the cluster file does not name yet: the key and AMI
    /// copies (written with `--write`).
    pub fn unrecorded(&self, repo: &Repo) -> Outcome {
        Outcome {
            kms_key: self.unrecorded_key(repo),
            amis: self
                .amis
                .iter()
                .filter_map(|a| Some((a.region.clone(), a.earlier_copy.clone()?)))
                .collect(),
            delegation: None,
        }
    }

    /// Whether applying would write anything.
    pub fn has_actions(&self) -> bool {
        self.findings()
            .iter()
            .any(|f| matches!(f.status, Status::Create | Status::Fix))
    }
}

/// Results worth writing back into the cluster file (`--write`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The cluster key's ARN when `[aws].kms_key` does not name it yet.
    pub kms_key: Option<String>,
    /// New AMI IDs per region (from `CopyImage`).
    pub amis: Vec<(String, String)>,
    /// NS records to add at the parent zone when it is not in this account.
    pub delegation: Option<Vec<String>>,
}

fn aws_settings(repo: &Repo) -> Result<&AwsSettings> {
    repo.cluster.aws.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "cluster `{}` has no [aws] section: bootstrap prepares an AWS account",
            repo.cluster.name
        ))
    })
}

/// Inspects every resource (reads only).
/// `terraform_binary`: `OPSCTL_TERRAFORM` ([`crate::settings::Settings::terraform_binary`]).
pub async fn inspect(repo: &Repo, terraform_binary: Option<&str>) -> Result<Plan> {
    let aws = aws_settings(repo)?;
    let config = crate::aws::config(&aws.region).await;
    let cluster = &repo.cluster;
    let kms = kms::inspect(&config, &cluster.name, aws).await?;
    let zone_name = aws
        .hosted_zone
        .clone()
        .unwrap_or_else(|| cluster.domain.clone());
    let (bucket, lock_table, zone, amis) = tokio::join!(
        bucket::inspect(&config, aws, kms.key_reference()),
        lock_table::inspect(&config, repo, terraform_binary),
        zone::inspect(&config, &zone_name),
        ami::inspect(repo),
    );
    match (bucket, lock_table, zone, amis) {
        (Ok(bucket), Ok(lock_table), Ok(zone), Ok(amis)) => Ok(Plan {
            kms,
            bucket,
            lock_table,
            zone,
            amis,
        }),
        // Every failed inspection is reported, not just the first: missing permissions are
        // fixed in one round.
        (bucket, lock_table, zone, amis) => Err(combine(
            [bucket.err(), lock_table.err(), zone.err(), amis.err()]
                .into_iter()
                .flatten()
                .collect(),
        )),
    }
}

/// One error out of several (at least one): invalid input when every one is, else a
/// failure; each on its own line.
fn combine(mut errors: Vec<Error>) -> Error {
    if errors.len() == 1 {
        return errors.remove(0);
    }
    let invalid = errors
        .iter()
        .all(|e| e.exit() == crate::error::Exit::Invalid);
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    let message = format!("{} checks failed:\n{}", errors.len(), lines.join("\n"));
    if invalid {
        Error::invalid(message)
    } else {
        Error::failed(message)
    }
}

/// Applies the plan's actions in dependency order.
pub async fn apply(repo: &Repo, plan: &Plan) -> Result<Outcome> {
    let aws = aws_settings(repo)?;
    let config = crate::aws::config(&aws.region).await;
    let mut outcome = Outcome::default();
    let key_arn = plan.kms.apply(&config, &repo.cluster.name).await?;
    if aws.kms_key.as_deref() != Some(key_arn.as_str()) {
        outcome.kms_key = Some(key_arn.clone());
    }
    plan.bucket.apply(&config, aws, &key_arn).await?;
    if let Some(table) = &plan.lock_table {
        table.apply(&config).await?;
    }
    outcome.delegation = plan.zone.apply(&config).await?;
    for ami in &plan.amis {
        if let Some(id) = ami.apply(&repo.cluster.name).await? {
            outcome.amis.push((ami.region.clone(), id));
        }
    }
    Ok(outcome)
}

/// Writes the key ARN and new AMI IDs into the cluster file, keeping its comments and layout.
pub fn write_back(repo: &Repo, outcome: &Outcome) -> Result<bool> {
    if outcome.kms_key.is_none() && outcome.amis.is_empty() {
        return Ok(false);
    }
    let path = repo.root.join(&repo.cluster_file);
    let text = std::fs::read_to_string(&path)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::invalid(format!("{}: {e}", repo.cluster_file)))?;
    let aws = doc["aws"]
        .as_table_mut()
        .ok_or_else(|| Error::invalid(format!("{}: no [aws] table", repo.cluster_file)))?;
    if let Some(arn) = &outcome.kms_key {
        aws["kms_key"] = toml_edit::value(arn.as_str());
    }
    if !outcome.amis.is_empty() {
        if !aws.contains_key("amis") {
            aws["amis"] = toml_edit::value(toml_edit::InlineTable::new());
        }
        let amis = aws["amis"]
            .as_inline_table_mut()
            .ok_or_else(|| Error::invalid("[aws].amis must be an inline table to be written"))?;
        for (region, id) in &outcome.amis {
            amis.insert(region, id.as_str().into());
        }
    }
    crate::fsutil::write_atomic(&path, doc.to_string().as_bytes(), None)?;
    Ok(true)
}
