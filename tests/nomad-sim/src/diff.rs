//! Nomad's plan diff (`JobDiff`): job, task group and task levels, each with `Fields` (flat
//! values, maps as `Meta[key]`) and nested `Objects`, typed Added / Deleted / Edited / None.

use serde_json::{json, Map, Value};

/// Fields the server manages; never part of a diff.
pub const SERVER_FIELDS: &[&str] = &[
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "Status",
    "StatusDescription",
    "Version",
    "Stable",
    "Dispatched",
    "NomadTokenID",
];

fn change_type(old: Option<&Value>, new: Option<&Value>) -> &'static str {
    match (old, new) {
        (None, Some(_)) => "Added",
        (Some(_), None) => "Deleted",
        (Some(a), Some(b)) if a != b => "Edited",
        _ => "None",
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn present(map: Option<&Map<String, Value>>, key: &str) -> Option<Value> {
    map.and_then(|m| m.get(key))
        .filter(|v| !v.is_null())
        .cloned()
}

fn is_scalar(value: &Value) -> bool {
    !value.is_object() && !value.is_array()
}

/// The diff between two jobs (`old` None: the job is new).
pub fn job_diff(old: Option<&Value>, new: &Value) -> Value {
    let id = new.get("ID").cloned().unwrap_or(Value::Null);
    let old_map = old.and_then(Value::as_object);
    let new_map = new.as_object();
    let (fields, objects) = diff_maps(old_map, new_map, &["TaskGroups"]);
    let groups = diff_named(
        old_map.and_then(|m| m.get("TaskGroups")),
        new_map.and_then(|m| m.get("TaskGroups")),
        group_diff,
    );
    let changed = old.is_none()
        || fields
            .iter()
            .chain(&objects)
            .chain(&groups)
            .any(|d| d["Type"] != "None");
    let kind = match (old, changed) {
        (None, _) => "Added",
        (Some(_), true) => "Edited",
        (Some(_), false) => "None",
    };
    json!({"Type": kind, "ID": id, "Fields": fields, "Objects": objects, "TaskGroups": groups})
}

fn group_diff(old: Option<&Value>, new: Option<&Value>) -> Value {
    let name = new
        .or(old)
        .and_then(|g| g.get("Name"))
        .cloned()
        .unwrap_or(Value::Null);
    let (fields, objects) = diff_maps(
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
        &["Tasks"],
    );
    let tasks = diff_named(
        old.and_then(|g| g.get("Tasks")),
        new.and_then(|g| g.get("Tasks")),
        task_diff,
    );
    let changed = fields
        .iter()
        .chain(&objects)
        .chain(&tasks)
        .any(|d| d["Type"] != "None");
    let kind = match (old, new) {
        (None, _) => "Added",
        (_, None) => "Deleted",
        _ if changed => "Edited",
        _ => "None",
    };
    json!({"Type": kind, "Name": name, "Fields": fields, "Objects": objects, "Tasks": tasks, "Updates": null})
}

fn task_diff(old: Option<&Value>, new: Option<&Value>) -> Value {
    let name = new
        .or(old)
        .and_then(|t| t.get("Name"))
        .cloned()
        .unwrap_or(Value::Null);
    let (fields, objects) = diff_maps(
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
        &[],
    );
    let changed = fields.iter().chain(&objects).any(|d| d["Type"] != "None");
    let kind = match (old, new) {
        (None, _) => "Added",
        (_, None) => "Deleted",
        _ if changed => "Edited",
        _ => "None",
    };
    let annotations = match kind {
        "Added" | "Deleted" => Value::Null,
        "Edited" => json!(["forces create/destroy update"]),
        _ => Value::Null,
    };
    json!({"Type": kind, "Name": name, "Fields": fields, "Objects": objects, "Annotations": annotations})
}

/// Lists matched by `Name` (task groups, tasks), in the new order, deleted ones last.
fn diff_named(
    old: Option<&Value>,
    new: Option<&Value>,
    diff: fn(Option<&Value>, Option<&Value>) -> Value,
) -> Vec<Value> {
    let empty = Vec::new();
    let old = old.and_then(Value::as_array).unwrap_or(&empty);
    let new = new.and_then(Value::as_array).unwrap_or(&empty);
    let name = |v: &Value| v.get("Name").cloned();
    let mut out: Vec<Value> = new
        .iter()
        .map(|n| diff(old.iter().find(|o| name(o) == name(n)), Some(n)))
        .collect();
    out.extend(
        old.iter()
            .filter(|o| !new.iter().any(|n| name(n) == name(o)))
            .map(|o| diff(Some(o), None)),
    );
    out
}

/// Scalars become fields, maps of scalars `Name[key]` fields, everything else objects.
fn diff_maps(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    skip: &[&str],
) -> (Vec<Value>, Vec<Value>) {
    let mut keys: Vec<&String> = old.into_iter().chain(new).flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut fields = Vec::new();
    let mut objects = Vec::new();
    for key in keys {
        if skip.contains(&key.as_str()) || SERVER_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let (a, b) = (present(old, key), present(new, key));
        let sample = b.as_ref().or(a.as_ref());
        match sample {
            None => {}
            Some(v) if is_scalar(v) => fields.push(field(key, a.as_ref(), b.as_ref())),
            Some(Value::Object(m))
                if m.values().all(is_scalar) && (key == "Meta" || key == "Env") =>
            {
                let am = a.as_ref().and_then(Value::as_object);
                let bm = b.as_ref().and_then(Value::as_object);
                let mut inner: Vec<&String> =
                    am.into_iter().chain(bm).flat_map(|m| m.keys()).collect();
                inner.sort();
                inner.dedup();
                for k in inner {
                    fields.push(field(
                        &format!("{key}[{k}]"),
                        am.and_then(|m| m.get(k)),
                        bm.and_then(|m| m.get(k)),
                    ));
                }
            }
            Some(_) => objects.extend(object_diff(key, a.as_ref(), b.as_ref())),
        }
    }
    (fields, objects)
}

fn field(name: &str, old: Option<&Value>, new: Option<&Value>) -> Value {
    json!({
        "Type": change_type(old, new),
        "Name": name,
        "Old": old.map(scalar).unwrap_or_default(),
        "New": new.map(scalar).unwrap_or_default(),
        "Annotations": null,
    })
}

/// Objects (and arrays of them, one object per element) as nested `ObjectDiff`s.
fn object_diff(name: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<Value> {
    match new.or(old) {
        Some(Value::Array(_)) => {
            let empty = Vec::new();
            let a = old.and_then(Value::as_array).unwrap_or(&empty);
            let b = new.and_then(Value::as_array).unwrap_or(&empty);
            if a.iter().chain(b).all(is_scalar) {
                // Lists of scalars (Datacenters, args): one field per element.
                let mut fields = Vec::new();
                for i in 0..a.len().max(b.len()) {
                    fields.push(field(&format!("{name}[{i}]"), a.get(i), b.get(i)));
                }
                let kind = aggregate(old, new, &fields, &[]);
                return vec![
                    json!({"Type": kind, "Name": name, "Fields": fields, "Objects": null}),
                ];
            }
            (0..a.len().max(b.len()))
                .flat_map(|i| object_diff(name, a.get(i), b.get(i)))
                .collect()
        }
        _ => {
            let (fields, objects) = diff_maps(
                old.and_then(Value::as_object),
                new.and_then(Value::as_object),
                &[],
            );
            let kind = aggregate(old, new, &fields, &objects);
            vec![json!({"Type": kind, "Name": name, "Fields": fields, "Objects": objects})]
        }
    }
}

fn aggregate(
    old: Option<&Value>,
    new: Option<&Value>,
    fields: &[Value],
    objects: &[Value],
) -> &'static str {
    match (old, new) {
        (None, Some(_)) => "Added",
        (Some(_), None) => "Deleted",
        _ if fields.iter().chain(objects).any(|d| d["Type"] != "None") => "Edited",
        _ => "None",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(rev: &str, count: u64) -> Value {
        json!({"ID": "web", "Meta": {"rev": rev}, "Datacenters": ["dc1"],
               "TaskGroups": [{"Name": "g", "Count": count, "Tasks": [{"Name": "t",
                 "Config": {"image": format!("web:{rev}"), "args": ["-p", "80"]}}]}]})
    }

    #[test]
    fn identical_jobs_diff_to_none() {
        assert_eq!(job_diff(Some(&job("a", 1)), &job("a", 1))["Type"], "None");
        assert_eq!(job_diff(None, &job("a", 1))["Type"], "Added");
    }

    #[test]
    fn edits_are_reported_at_every_level() {
        let diff = job_diff(Some(&job("a", 1)), &job("b", 2));
        assert_eq!(diff["Type"], "Edited");
        let meta = diff["Fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Name"] == "Meta[rev]")
            .unwrap();
        assert_eq!(
            (
                meta["Type"].as_str(),
                meta["Old"].as_str(),
                meta["New"].as_str()
            ),
            (Some("Edited"), Some("a"), Some("b"))
        );
        let group = &diff["TaskGroups"][0];
        assert_eq!(group["Type"], "Edited");
        let count = group["Fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Name"] == "Count")
            .unwrap();
        assert_eq!(
            (count["Old"].as_str(), count["New"].as_str()),
            (Some("1"), Some("2"))
        );
        let task = &group["Tasks"][0];
        assert_eq!(task["Type"], "Edited");
        let config = &task["Objects"][0];
        assert_eq!(config["Name"], "Config");
        let image = config["Fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Name"] == "image")
            .unwrap();
        assert_eq!(image["New"], "web:b");
    }
}
