//! Schema lint of rendered Nomad jobs against the job API's key/type table
//! ([`super::nomad_schema`], generated from Nomad's OpenAPI spec with the newer keys added).
//! A key Nomad does not know is a warning (Nomad's decoder ignores it, so whatever it meant
//! never applies) with its JSON path and a did-you-mean; a value of the wrong type is an error
//! (Nomad refuses the job). Keys matching a field but for case are what Go's decoder accepts.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::nomad_schema::SCHEMAS;

/// One finding: `path` as `TaskGroups[0].Restart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// JSON path of the offending key or value.
    pub path: String,
    /// What is wrong: `not a Nomad field (Nomad ignores it)` with a did-you-mean, or
    /// `must be <type>, not <type> (Nomad refuses the job)`.
    pub message: String,
    /// Wrong type (Nomad refuses the job); otherwise an unknown key (Nomad ignores it).
    pub error: bool,
}

type Table = BTreeMap<&'static str, BTreeMap<&'static str, &'static str>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(name, fields)| (*name, fields.iter().copied().collect()))
            .collect()
    })
}

/// Every finding of `job` (bare, as normalized), in document order.
pub fn lint(job: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    check(job, "ref:Job", "", &mut out, 0);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn wrong(out: &mut Vec<Finding>, path: &str, expected: &str, value: &Value) {
    out.push(Finding {
        path: path.to_string(),
        message: format!(
            "must be {expected}, not {} (Nomad refuses the job)",
            type_name(value)
        ),
        error: true,
    });
}

fn check(value: &Value, kind: &str, path: &str, out: &mut Vec<Finding>, depth: usize) {
    // Null is absent for Go's decoder; very deep documents are not Nomad jobs anyway.
    if value.is_null() || depth > 64 {
        return;
    }
    if let Some(name) = kind.strip_prefix("ref:") {
        let Some(fields) = table().get(name) else {
            return;
        };
        let Some(map) = value.as_object() else {
            return wrong(out, path, "an object", value);
        };
        for (key, child) in map {
            let field = fields
                .get(key.as_str())
                .or_else(|| {
                    fields
                        .iter()
                        .find(|(f, _)| f.eq_ignore_ascii_case(key))
                        .map(|(_, k)| k)
                })
                .copied();
            match field {
                Some(child_kind) => check(child, child_kind, &join(path, key), out, depth + 1),
                None => {
                    let hint = crate::repo::suggest(key, fields.keys().copied())
                        .map(|s| format!("; did you mean {s}?"))
                        .unwrap_or_default();
                    out.push(Finding {
                        path: join(path, key),
                        message: format!("not a Nomad field (Nomad ignores it){hint}"),
                        error: false,
                    });
                }
            }
        }
        return;
    }
    if let Some(item) = kind
        .strip_prefix("array<")
        .and_then(|k| k.strip_suffix('>'))
    {
        let Some(items) = value.as_array() else {
            return wrong(out, path, "a list", value);
        };
        for (i, child) in items.iter().enumerate() {
            check(child, item, &format!("{path}[{i}]"), out, depth + 1);
        }
        return;
    }
    if let Some(item) = kind.strip_prefix("map<").and_then(|k| k.strip_suffix('>')) {
        let Some(map) = value.as_object() else {
            return wrong(out, path, "an object", value);
        };
        for (key, child) in map {
            check(child, item, &format!("{path}[{key}]"), out, depth + 1);
        }
        return;
    }
    let ok = match kind {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        _ => true,
    };
    if !ok {
        let expected = match kind {
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean",
            _ => "an object",
        };
        wrong(out, path, expected, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_warn_with_a_suggestion_and_wrong_types_are_errors() {
        let job = json!({
            "ID": "web", "Datacenter": "dc1", "datacenters": ["dc1"], "Priority": "high",
            "NodePool": "default", "UI": {"Description": "x"},
            "TaskGroups": [{
                "Name": "g", "Restart": {"Attempts": 1}, "RestartPolicy": {"Attempts": 1},
                "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"anything": [1]},
                    "Env": {"A": 1}, "Identity": {"Env": true}, "Actions": []}]
            }]
        });
        let found: Vec<(String, String, bool)> = lint(&job)
            .into_iter()
            .map(|f| (f.path, f.message, f.error))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "Datacenter".into(),
                    "not a Nomad field (Nomad ignores it); did you mean Datacenters?".into(),
                    false
                ),
                (
                    "Priority".into(),
                    "must be an integer, not a string (Nomad refuses the job)".into(),
                    true
                ),
                (
                    "TaskGroups[0].Restart".into(),
                    "not a Nomad field (Nomad ignores it); did you mean RestartPolicy?".into(),
                    false
                ),
                (
                    "TaskGroups[0].Tasks[0].Env[A]".into(),
                    "must be a string, not an integer (Nomad refuses the job)".into(),
                    true
                ),
            ]
        );
    }
}
