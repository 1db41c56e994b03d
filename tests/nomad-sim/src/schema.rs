//! Validation of jobs against the `Job` schema of Nomad's OpenAPI spec: an unknown field or a
//! value of the wrong JSON type is a violation naming its path (`TaskGroups[0].Tasks[1].Confg`).

use std::sync::OnceLock;

use serde_json::Value;

const SPEC: &str = include_str!("../../fixtures/nomad-openapi-v1.yaml");

fn schemas() -> &'static Value {
    static SCHEMAS: OnceLock<Value> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let spec: Value = serde_yaml::from_str(SPEC).expect("the Nomad OpenAPI spec parses");
        spec["components"]["schemas"].clone()
    })
}

/// Every violation of `job` against the spec's `Job` schema.
pub fn validate_job(job: &Value) -> Vec<String> {
    let mut violations = Vec::new();
    check(job, &schemas()["Job"], "Job", &mut violations, 0);
    violations
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &schemas()[name]
        }
        None => schema,
    }
}

fn check(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
    let schema = resolve(schema);
    // Go's encoder sends null for nil pointers, slices and maps: null is valid everywhere.
    if value.is_null() || depth > 64 || schema.is_null() {
        return;
    }
    let expected = schema.get("type").and_then(Value::as_str);
    let type_ok = match expected {
        Some("integer") => value.as_i64().is_some() || value.as_u64().is_some(),
        Some("number") => value.is_number(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !type_ok {
        out.push(format!(
            "{path}: expected {}, got {}",
            expected.unwrap_or("?"),
            kind(value)
        ));
        return;
    }
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), out, depth + 1);
                }
            }
        }
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, child) in map {
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(child_schema), _) => check(
                        child,
                        child_schema,
                        &format!("{path}.{key}"),
                        out,
                        depth + 1,
                    ),
                    (None, Some(child_schema)) => check(
                        child,
                        child_schema,
                        &format!("{path}[{key}]"),
                        out,
                        depth + 1,
                    ),
                    (None, None) if properties.is_some() => {
                        out.push(format!("{path}.{key}: unknown field"))
                    }
                    (None, None) => {}
                }
            }
        }
        _ => {}
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_mistyped_fields_are_named_by_path() {
        let job = json!({
            "ID": "web", "Datacenters": ["dc1"], "Priority": "high",
            "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker",
                "Confg": {}, "Config": {"image": "x", "args": ["a"]}, "Env": {"A": 1}}]}]
        });
        let violations = validate_job(&job);
        assert_eq!(
            violations,
            [
                "Job.Priority: expected integer, got string",
                "Job.TaskGroups[0].Tasks[0].Confg: unknown field",
                "Job.TaskGroups[0].Tasks[0].Env[A]: expected string, got integer",
            ]
        );
    }

    #[test]
    fn a_complete_job_with_nulls_is_clean() {
        let job = json!({"ID": "web", "Meta": null, "Update": {"Canary": 1, "AutoRevert": true},
            "TaskGroups": [{"Name": "g", "Networks": [{"ReservedPorts": [{"Label": "http", "Value": 1024}]}]}]});
        assert_eq!(validate_job(&job), Vec::<String>::new());
    }
}
