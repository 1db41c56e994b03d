//! The clients commands need, built one way from the cluster file and the environment: the
//! Nomad API client (for deploys, and the optional one inventory lookups use).

use crate::error::{Error, Result};
use crate::nomad::NomadClient;
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
