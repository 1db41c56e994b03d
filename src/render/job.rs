//! Checks on a rendered Nomad job, and normalisation of the accepted job shapes.

use serde_json::Value;

use crate::repo::{Environment, Problem};

/// Fields Nomad manages itself: present in `nomad job inspect` output, never sent by a user.
pub const SERVER_MANAGED_FIELDS: &[&str] = &[
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "Status",
    "StatusDescription",
    "Version",
    "Stable",
    "Stop",
    "Dispatched",
    "DispatchIdempotencyToken",
    "NomadTokenID",
    "VaultNamespace",
];

/// Objects whose members are the user's own (driver config, metadata, environment): their
/// values are kept exactly as written.
const FREE_FORM_FIELDS: &[&str] = &["Config", "Meta", "Env", "Policy", "Options", "Payload"];

/// Accepts a job wrapped (`{"Job": {...}}`, as `nomad job inspect`, `nomad job run -output` and
/// the register API use) or bare, and returns the bare job as Nomad's decoder reads it: without
/// server-managed fields (`Stop` is kept when true: a stopped job), with every `null` member
/// dropped (Go decodes null as the field's absence), and integral numbers written as floats
/// (`8080.0`, as some JSON generators emit) as integers, Nomad's integer fields refusing floats.
/// Free-form maps (`Config`, `Meta`, `Env`, ...) are left as written.
pub fn normalize(value: Value) -> Value {
    let mut job = match value {
        Value::Object(mut map) if map.len() == 1 && map.contains_key("Job") => {
            map.remove("Job").unwrap_or(Value::Null)
        }
        other => other,
    };
    if let Value::Object(map) = &mut job {
        let stopped = map.get("Stop") == Some(&Value::Bool(true));
        for field in SERVER_MANAGED_FIELDS {
            map.remove(*field);
        }
        if stopped {
            map.insert("Stop".into(), Value::Bool(true));
        }
    }
    as_decoded(&mut job);
    job
}

fn as_decoded(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (key, child) in map.iter_mut() {
                if !FREE_FORM_FIELDS.contains(&key.as_str()) {
                    as_decoded(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(as_decoded),
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    // Exact: integral and within f64's integer range.
                    *value = Value::from(f as i64);
                }
            }
        }
        _ => {}
    }
}

/// Fills in what `nomad job run -namespace` would: the environment's namespace when the job
/// names none.
pub fn apply_env_defaults(job: &mut Value, env: &Environment) {
    if let Value::Object(map) = job {
        if !map.contains_key("Namespace") {
            map.insert("Namespace".into(), Value::String(env.namespace.clone()));
        }
    }
}

/// The job's `ID` (a bare job), if it is a string.
pub fn job_id(job: &Value) -> Option<&str> {
    job.get("ID").and_then(Value::as_str)
}

/// Parses and checks one rendered job for `env`; every problem found is returned.
pub fn check_rendered(file: &str, text: &str, env: &Environment) -> Result<Value, Vec<Problem>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("").trim();
        vec![Problem::new(
            file,
            format!(
                "for environment `{}`: rendered job is not valid JSON: {} (rendered line {}: `{line}`)",
                env.name,
                crate::repo::json_problem(file, &e).message,
                e.line()
            ),
        )]
    })?;
    let mut job = normalize(value);
    apply_env_defaults(&mut job, env);
    let problems = check_job(file, &job, Some(env));
    if problems.is_empty() {
        Ok(job)
    } else {
        Err(problems)
    }
}

/// Shape checks that Nomad would otherwise reject after a round trip, plus the environment's
/// rules (namespace, static ports inside its block) when `env` is given.
pub fn check_job(file: &str, job: &Value, env: Option<&Environment>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let prefix = env
        .map(|e| format!("for environment `{}`: ", e.name))
        .unwrap_or_default();
    let mut problem = |field: &str, message: String| {
        problems.push(Problem::new(file, format!("{prefix}{message}")).field(field));
    };
    let Some(map) = job.as_object() else {
        problem(
            "",
            "a job must be a JSON object (bare or wrapped as {\"Job\": {...}})".into(),
        );
        return problems;
    };

    match map.get("ID").and_then(Value::as_str) {
        None => problem("ID", "the job has no `ID`".into()),
        Some(id) if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            problem(
                "ID",
                format!("job ID `{id}` must be non-empty without spaces"),
            )
        }
        Some(_) => {}
    }
    if let Some(kind) = map.get("Type") {
        if !kind.is_string() {
            problem("Type", "`Type` must be a string".into());
        }
    }
    match map.get("Datacenters").and_then(Value::as_array) {
        Some(dcs) if !dcs.is_empty() && dcs.iter().all(Value::is_string) => {}
        _ => problem(
            "Datacenters",
            "`Datacenters` must be a non-empty list of names".into(),
        ),
    }
    if let Some(env) = env {
        match map.get("Namespace").and_then(Value::as_str) {
            Some(ns) if ns == env.namespace => {}
            Some(ns) => problem(
                "Namespace",
                format!(
                    "`Namespace` is `{ns}` but the environment's namespace is `{}`",
                    env.namespace
                ),
            ),
            None => problem(
                "Namespace",
                format!("`Namespace` must be a string (`{}`)", env.namespace),
            ),
        }
    }
    let groups = match map.get("TaskGroups").and_then(Value::as_array) {
        Some(groups) if !groups.is_empty() => groups.as_slice(),
        _ => {
            problem("TaskGroups", "the job needs at least one task group".into());
            &[]
        }
    };
    for (g, group) in groups.iter().enumerate() {
        let gfield = format!("TaskGroups[{g}]");
        if group
            .get("Name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problem(&gfield, "every task group needs a `Name`".into());
        }
        let tasks = group.get("Tasks").and_then(Value::as_array);
        if tasks.is_none_or(Vec::is_empty) {
            problem(
                &format!("{gfield}.Tasks"),
                "every task group needs at least one task".into(),
            );
        }
        for (t, task) in tasks.into_iter().flatten().enumerate() {
            let tfield = format!("{gfield}.Tasks[{t}]");
            if task
                .get("Name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problem(&tfield, "every task needs a `Name`".into());
            }
            if task
                .get("Driver")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problem(
                    &format!("{tfield}.Driver"),
                    "every task needs a `Driver`".into(),
                );
            }
        }
    }
    if let Some(env) = env {
        for (field, port) in static_ports(job) {
            if env.allows_static_port(port) {
                continue;
            }
            match env.port_range() {
                Some(range) => problem(
                    &field,
                    format!(
                        "static port {port} is outside the environment's block {}..={} (allow it with `static_ports = [{port}]` in {})",
                        range.start,
                        range.end.saturating_sub(1),
                        env.file
                    ),
                ),
                None => problem(
                    &field,
                    format!("static port {port} in an environment without a port block; use DynamicPorts or allow it with `static_ports = [{port}]` in {}", env.file),
                ),
            }
        }
    }
    problems
}

/// Every `ReservedPorts` value of the job with its field path (group and task networks).
pub fn static_ports(job: &Value) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    let mut networks = |path: String, value: Option<&Value>| {
        for (n, network) in value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let ports = network.get("ReservedPorts").and_then(Value::as_array);
            for (p, port) in ports.into_iter().flatten().enumerate() {
                let field = format!("{path}.Networks[{n}].ReservedPorts[{p}].Value");
                let value = port.get("Value").and_then(Value::as_u64).unwrap_or(0);
                found.push((field, u32::try_from(value).unwrap_or(u32::MAX)));
            }
        }
    };
    let groups = job.get("TaskGroups").and_then(Value::as_array);
    for (g, group) in groups.into_iter().flatten().enumerate() {
        networks(format!("TaskGroups[{g}]"), group.get("Networks"));
        let tasks = group.get("Tasks").and_then(Value::as_array);
        for (t, task) in tasks.into_iter().flatten().enumerate() {
            networks(
                format!("TaskGroups[{g}].Tasks[{t}].Resources"),
                task.get("Resources").and_then(|r| r.get("Networks")),
            );
        }
    }
    found
}
