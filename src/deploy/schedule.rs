//! The next launch of a periodic job, computed as Nomad's CLI does (`nomad job run` prints
//! "Approximate next launch time" from the job's cron spec in its time zone, client-side).
//!
//! Nomad's cron dialect (gorhill/cronexpr): 5 fields are minute to day of week; 6 fields add
//! a year at the end; 7 fields are second to year; `@yearly`, `@monthly`, `@weekly`,
//! `@daily`, `@hourly` are shorthands. `TimeZone` is an IANA name (empty: UTC). Nomad 1.6+
//! may give several specs (`Specs`): the earliest next launch of them counts.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use croner::parser::{CronParser, Seconds, Year};
use serde_json::Value;

/// Why a periodic job's next launch cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cron spec does not parse (wrong field count, a field croner rejects) or has no
    /// next occurrence.
    #[error("cron spec `{spec}`: {reason}")]
    Spec {
        /// The spec as the job gives it.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job's `TimeZone` is not a known IANA time zone name.
    #[error("`{0}` is not an IANA time zone name")]
    Zone(String),
}

/// The spec in croner's terms: shorthands spelled out, a 6-field spec (Nomad: minute..year)
/// given its second.
fn normalize(spec: &str) -> Result<String, ScheduleError> {
    let spec = spec.trim();
    let spelled = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    };
    match spelled.split_whitespace().count() {
        5 | 7 => Ok(spelled.to_string()),
        6 => Ok(format!("0 {spelled}")),
        n => Err(ScheduleError::Spec {
            spec: spec.to_string(),
            reason: format!("{n} fields (Nomad takes 5, 6 with a year, or 7 with seconds)"),
        }),
    }
}

/// The next launch after `now` of a cron `spec` in time zone `zone` (empty: UTC).
pub fn next_after(
    spec: &str,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ScheduleError> {
    let tz = if zone.is_empty() {
        chrono_tz::UTC
    } else {
        chrono_tz::Tz::from_str(zone).map_err(|_| ScheduleError::Zone(zone.to_string()))?
    };
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Optional)
        .build();
    let cron = parser
        .parse(&normalize(spec)?)
        .map_err(|e| ScheduleError::Spec {
            spec: spec.to_string(),
            reason: e.to_string(),
        })?;
    cron.find_next_occurrence(&now.with_timezone(&tz), false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ScheduleError::Spec {
            spec: spec.to_string(),
            reason: e.to_string(),
        })
}

/// The next launch of job `spec` after `now`: `None` when it is not an enabled cron-periodic
/// job.
pub fn next_launch(
    spec: &Value,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    let Some(periodic) = spec.get("Periodic").filter(|p| p.is_object()) else {
        return Ok(None);
    };
    if periodic.get("Enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    let kind = periodic
        .get("SpecType")
        .and_then(Value::as_str)
        .unwrap_or("cron");
    if kind != "cron" && !kind.is_empty() {
        return Ok(None);
    }
    let zone = periodic
        .get("TimeZone")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let specs = periodic
        .get("Spec")
        .into_iter()
        .chain(
            periodic
                .get("Specs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter_map(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let mut earliest: Option<DateTime<Utc>> = None;
    for spec in specs {
        let next = next_after(spec, zone, now)?;
        earliest = Some(earliest.map_or(next, |e| e.min(next)));
    }
    Ok(earliest)
}

/// [`next_launch`] from now, as RFC 3339 (UTC); `None` also for a spec Nomad would refuse.
pub fn next_launch_text(spec: Option<&Value>) -> Option<String> {
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let next = next_launch(spec?, now).ok()??;
    Some(next.to_rfc3339_opts(SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn cron_specs_in_nomads_dialect_and_zones() {
        let now = at("2026-12-01T23:00:00Z");
        // 03:30 in Berlin is 02:30 UTC in winter.
        assert_eq!(
            next_after("30 3 * * *", "Europe/Berlin", now).unwrap(),
            at("2026-12-02T02:30:00Z")
        );
        // Summer time: 03:30 CEST is 01:30 UTC.
        assert_eq!(
            next_after("30 3 * * *", "Europe/Berlin", at("2026-07-01T12:00:00Z")).unwrap(),
            at("2026-07-02T01:30:00Z")
        );
        assert_eq!(
            next_after("*/15 * * * *", "", now).unwrap(),
            at("2026-12-01T23:15:00Z")
        );
        // Six fields: the last one is a year (gorhill/cronexpr).
        assert_eq!(
            next_after("0 12 1 1 * 2028", "", now).unwrap(),
            at("2028-01-01T12:00:00Z")
        );
        // Seven fields start with seconds.
        assert_eq!(
            next_after("30 0 0 * * * *", "UTC", now).unwrap(),
            at("2026-12-02T00:00:30Z")
        );
        assert_eq!(
            next_after("@daily", "", now).unwrap(),
            at("2026-12-02T00:00:00Z")
        );
        // Sunday is 0, as in cron.
        assert_eq!(
            next_after("0 9 * * 0", "", now).unwrap(),
            at("2026-12-06T09:00:00Z")
        );
        assert!(matches!(
            next_after("30 3 * * *", "Mars/Olympus", now),
            Err(ScheduleError::Zone(_))
        ));
        assert!(next_after("* *", "", now).is_err());
    }

    #[test]
    fn only_enabled_cron_periodic_jobs_launch() {
        let now = at("2026-12-01T23:00:00Z");
        let job = |periodic: Value| json!({ "ID": "backup", "Periodic": periodic });
        assert_eq!(
            next_launch(&job(json!({"Enabled": true, "Spec": "0 4 * * *", "SpecType": "cron", "TimeZone": ""})), now).unwrap(),
            Some(at("2026-12-02T04:00:00Z"))
        );
        assert_eq!(
            next_launch(&job(json!({"Enabled": false, "Spec": "0 4 * * *"})), now).unwrap(),
            None
        );
        assert_eq!(next_launch(&json!({"Periodic": null}), now).unwrap(), None);
        // Several specs: the earliest.
        assert_eq!(
            next_launch(&job(json!({"Specs": ["0 4 * * *", "30 23 * * *"]})), now).unwrap(),
            Some(at("2026-12-01T23:30:00Z"))
        );
    }
}
