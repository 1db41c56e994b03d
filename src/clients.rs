//! The clients commands need, built one way from the cluster file and the environment: the
//! Nomad API client (for deploys, and the optional one inventory lookups use).

use crate::error::{Error, Result};
use crate::nomad::NomadClient;
use crate::repo::Repo;
use crate::secrets::SecretStore;
use crate::settings::Settings;

/// The Nomad client of the resolved settings (`NOMAD_*` variables over `[nomad]`); a bad
/// address or certificate is invalid input.
pub fn nomad(settings: &Settings) -> Result<NomadClient> {
    NomadClient::new(settings.nomad.clone()).map_err(|e| Error::invalid(e.to_string()))
}

/// The Nomad client for inventory lookups (few retries: Nomad is optional there); `None` with
/// `--no-nomad`.
pub fn nomad_for_inventory(settings: &Settings, disabled: bool) -> Result<Option<NomadClient>> {
    if disabled {
        return Ok(None);
    }
    Ok(Some(nomad(settings)?.with_max_attempts(2)))
}

/// The cluster's secret store (needs `[aws].kms_key`).
pub async fn secret_store(repo: &Repo) -> Result<SecretStore> {
    let aws = repo.cluster.aws.as_ref().ok_or_else(|| {
        Error::invalid(
            "secrets are encrypted with the cluster's KMS key: the cluster has no [aws] section",
        )
    })?;
    let key = aws.kms_key.as_deref().ok_or_else(|| {
        Error::invalid("no [aws].kms_key in the cluster file: run `opsctl bootstrap --write` first")
    })?;
    Ok(SecretStore::open(&repo.root, &repo.cluster.name, key, &aws.region).await)
}
