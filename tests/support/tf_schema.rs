//! Checks Terraform JSON against the AWS provider schema (tests/fixtures/
//! terraform-aws-provider-6.25.0.schema.json): resource and data source types exist, every
//! argument and nested block is known, required ones are present, literal values fit their
//! types, and every `${...}` reference names something defined in the same document with an
//! attribute that can be read. Outputs read through `terraform_remote_state` are checked
//! against the upstream documents when given.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

pub struct Schema {
    resources: Map<String, Value>,
    data_sources: Map<String, Value>,
}

const RESOURCE_META: &[&str] = &[
    "provider",
    "count",
    "for_each",
    "depends_on",
    "lifecycle",
    "provisioner",
    "connection",
];
const DATA_META: &[&str] = &["provider", "count", "for_each", "depends_on", "lifecycle"];

static TRAVERSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9_.\]\-])([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)(\s*\()?")
        .unwrap()
});

impl Schema {
    pub fn load() -> Schema {
        let path =
            super::project_root().join("tests/fixtures/terraform-aws-provider-6.25.0.schema.json");
        let text = std::fs::read_to_string(&path).expect("schema fixture");
        let schema: Value = serde_json::from_str(&text).expect("schema JSON");
        let mut resources = schema["resources"].as_object().unwrap().clone();
        let mut data_sources = schema["data_sources"].as_object().unwrap().clone();
        // Terraform's built-in provider, always available.
        resources.insert(
            "terraform_data".into(),
            json!({
                "attributes": {
                    "input": {"type": "any", "required": false},
                    "triggers_replace": {"type": "any", "required": false}
                },
                "blocks": {},
                "readable": ["id", "input", "output", "triggers_replace"]
            }),
        );
        data_sources.insert(
            "terraform_remote_state".into(),
            json!({
                "attributes": {
                    "backend": {"type": "string", "required": true},
                    "config": {"type": "any", "required": false},
                    "defaults": {"type": "any", "required": false},
                    "workspace": {"type": "string", "required": false}
                },
                "blocks": {},
                "readable": ["backend", "config", "defaults", "outputs", "workspace"]
            }),
        );
        Schema {
            resources,
            data_sources,
        }
    }

    /// Every problem of `doc`, as `<where>: <what>` lines.
    pub fn check(&self, doc: &Value) -> Vec<String> {
        self.check_with_upstream(doc, &BTreeMap::new())
    }

    /// As [`check`], also checking `data.terraform_remote_state.<name>.outputs.<output>`
    /// against `upstream[name]`'s outputs.
    pub fn check_with_upstream(
        &self,
        doc: &Value,
        upstream: &BTreeMap<String, Value>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (kind, schemas, meta) in [
            ("resource", &self.resources, RESOURCE_META),
            ("data", &self.data_sources, DATA_META),
        ] {
            for (ty, instances) in doc[kind].as_object().into_iter().flatten() {
                let Some(schema) = schemas.get(ty) else {
                    problems.push(format!("{kind}.{ty}: unknown {kind} type"));
                    continue;
                };
                for (name, body) in instances.as_object().into_iter().flatten() {
                    check_block(
                        &format!("{kind}.{ty}.{name}"),
                        schema,
                        body,
                        meta,
                        &mut problems,
                    );
                }
            }
        }
        self.check_references(doc, upstream, &mut problems);
        problems
    }

    fn check_references(
        &self,
        doc: &Value,
        upstream: &BTreeMap<String, Value>,
        problems: &mut Vec<String>,
    ) {
        let defined = |kind: &str, ty: &str, name: &str| doc[kind][ty][name].is_object();
        let names = |key: &str| -> BTreeSet<String> {
            doc[key]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (variables, locals) = (names("variable"), names("locals"));
        let mut strings = Vec::new();
        collect_strings("", doc, &mut strings);
        for (at, text) in strings {
            if at.ends_with(".depends_on") || at.contains(".depends_on[") {
                let segs: Vec<&str> = text.split('.').collect();
                let ok = match segs.as_slice() {
                    ["data", ty, name] => defined("data", ty, name),
                    [ty, name] => defined("resource", ty, name),
                    _ => false,
                };
                if !ok {
                    problems.push(format!("{at}: depends on `{text}`, which is not defined"));
                }
                continue;
            }
            for expression in expressions(&text) {
                let bound = for_bound_names(&expression);
                for traversal in traversals(&expression) {
                    let segs: Vec<&str> = traversal.split('.').collect();
                    if segs.first().is_some_and(|s| bound.iter().any(|b| b == s)) {
                        continue;
                    }
                    let problem = match segs.as_slice() {
                        ["true" | "false" | "null" | "for" | "in" | "if"] => None,
                        ["count" | "each" | "self" | "path" | "terraform" | "module", ..] => None,
                        ["var", name, ..] => (!variables.contains(*name))
                            .then(|| format!("variable `{name}` is not declared")),
                        ["local", name, ..] => (!locals.contains(*name))
                            .then(|| format!("local `{name}` is not defined")),
                        ["data", ty, name, rest @ ..] => {
                            if !defined("data", ty, name) {
                                Some(format!("data source `data.{ty}.{name}` is not defined"))
                            } else {
                                self.attribute_problem(
                                    &self.data_sources,
                                    ty,
                                    rest.first().copied(),
                                )
                                .or_else(|| remote_output_problem(ty, name, rest, upstream))
                            }
                        }
                        [ty, name, rest @ ..] => {
                            if !defined("resource", ty, name) {
                                Some(format!("resource `{ty}.{name}` is not defined"))
                            } else {
                                self.attribute_problem(&self.resources, ty, rest.first().copied())
                            }
                        }
                        [single] => Some(format!("`{single}` names nothing")),
                        [] => None,
                    };
                    if let Some(problem) = problem {
                        problems.push(format!("{at}: `${{{expression}}}`: {problem}"));
                    }
                }
            }
        }
    }

    fn attribute_problem(
        &self,
        schemas: &Map<String, Value>,
        ty: &str,
        attribute: Option<&str>,
    ) -> Option<String> {
        let attribute = attribute?;
        let readable = schemas[ty]["readable"].as_array()?;
        (!readable.iter().any(|a| a == attribute))
            .then(|| format!("`{ty}` has no attribute `{attribute}`"))
    }
}

fn remote_output_problem(
    ty: &str,
    name: &str,
    rest: &[&str],
    upstream: &BTreeMap<String, Value>,
) -> Option<String> {
    if ty != "terraform_remote_state" {
        return None;
    }
    let (["outputs", output, ..], Some(upstream)) = (rest, upstream.get(name)) else {
        return None;
    };
    (!upstream["output"][*output].is_object())
        .then(|| format!("workspace `{name}` has no output `{output}`"))
}

fn check_block(at: &str, schema: &Value, body: &Value, meta: &[&str], problems: &mut Vec<String>) {
    let Some(body) = body.as_object() else {
        problems.push(format!("{at}: expected an object"));
        return;
    };
    let attributes = schema["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let blocks = schema["blocks"].as_object().cloned().unwrap_or_default();
    for (key, value) in body {
        if meta.contains(&key.as_str()) {
            continue;
        }
        if let Some(attribute) = attributes.get(key) {
            if !fits(&attribute["type"], value) {
                problems.push(format!(
                    "{at}.{key}: {value} does not fit type {}",
                    attribute["type"]
                ));
            }
        } else if let Some(block) = blocks.get(key) {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            if block["list"] != true && items.len() > 1 {
                problems.push(format!("{at}.{key}: a single block, given {}", items.len()));
            }
            for (i, item) in items.iter().enumerate() {
                let where_ = if value.is_array() {
                    format!("{at}.{key}[{i}]")
                } else {
                    format!("{at}.{key}")
                };
                check_block(&where_, &block["block"], item, &[], problems);
            }
        } else {
            let known: Vec<&String> = attributes.keys().chain(blocks.keys()).collect();
            let hint = known
                .iter()
                .filter(|k| strsim::levenshtein(k, key) <= 2)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .next()
                .unwrap_or_default();
            problems.push(format!("{at}.{key}: unknown argument or block{hint}"));
        }
    }
    for (key, attribute) in &attributes {
        if attribute["required"] == true && !body.contains_key(key) {
            problems.push(format!("{at}: required argument `{key}` is missing"));
        }
    }
    for (key, block) in &blocks {
        if block["required"] == true && !body.contains_key(key) {
            problems.push(format!("{at}: required block `{key}` is missing"));
        }
    }
}

/// Whether a literal fits a schema type; a string holding `${...}` may stand for any type.
fn fits(ty: &Value, value: &Value) -> bool {
    if value.as_str().is_some_and(|s| s.contains("${")) {
        return true;
    }
    match ty {
        Value::String(t) => match t.as_str() {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "bool" => value.is_boolean(),
            _ => true,
        },
        Value::Array(parts) => match (parts.first().and_then(Value::as_str), parts.get(1)) {
            (Some("list" | "set"), Some(inner)) => value
                .as_array()
                .is_some_and(|items| items.iter().all(|i| fits(inner, i))),
            (Some("map"), Some(inner)) => value
                .as_object()
                .is_some_and(|m| m.values().all(|v| fits(inner, v))),
            _ => true,
        },
        _ => true,
    }
}

fn collect_strings(at: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => out.push((at.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(&format!("{at}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let at = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                collect_strings(&at, v, out);
            }
        }
        _ => {}
    }
}

/// The contents of each `${...}` in `text` (nested braces and quoted strings respected).
pub fn expressions(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == '$' && chars[i + 1] == '{' && !(i > 0 && chars[i - 1] == '$') {
            let (mut depth, mut j, mut in_string) = (1, i + 2, false);
            while j < chars.len() && depth > 0 {
                match chars[j] {
                    '\\' if in_string => j += 1,
                    '"' => in_string = !in_string,
                    '{' if !in_string => depth += 1,
                    '}' if !in_string => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            found.push(chars[i + 2..j.saturating_sub(1)].iter().collect());
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

/// The names a `for` expression binds (`for k, v in …`, `for o in …`).
pub fn for_bound_names(expression: &str) -> Vec<String> {
    static FOR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*,\s*([A-Za-z_][A-Za-z0-9_]*))?\s+in\b")
            .unwrap()
    });
    FOR.captures_iter(expression)
        .flat_map(|c| [c.get(1), c.get(2)])
        .flatten()
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Dotted names referenced in an expression (string literals and function names skipped).
fn traversals(expression: &str) -> Vec<String> {
    let mut blanked = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in expression.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                blanked.push('"');
                continue;
            }
            blanked.push(' ');
        } else {
            if c == '"' {
                in_string = true;
            }
            blanked.push(c);
        }
    }
    TRAVERSAL
        .captures_iter(&blanked)
        .filter(|c| c.get(2).is_none())
        .map(|c| c[1].to_string())
        .collect()
}
