//! Checks on a rendered ECS task definition (the job templates of `target = "ecs"`
//! environments): the subset of `RegisterTaskDefinition` opsctl submits, every key known.

use serde_json::Value;

use crate::repo::{Environment, Problem};

const TASK_KEYS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "cpu",
    "memory",
    "requiresCompatibilities",
    "containerDefinitions",
];
const CONTAINER_KEYS: &[&str] = &[
    "name",
    "image",
    "cpu",
    "memory",
    "memoryReservation",
    "essential",
    "command",
    "entryPoint",
    "environment",
    "portMappings",
];
const PORT_KEYS: &[&str] = &["containerPort", "hostPort", "protocol"];

fn unknown_keys(value: &Value, known: &[&str], path: &str, file: &str, out: &mut Vec<Problem>) {
    if let Some(map) = value.as_object() {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            let hint = crate::repo::suggest(key, known.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            out.push(Problem::new(
                file,
                format!("{path}{key}: unknown task definition field{hint}"),
            ));
        }
    }
}

/// Parses and checks one rendered task definition for `env`.
pub fn check_rendered(file: &str, text: &str, env: &Environment) -> Result<Value, Vec<Problem>> {
    let task: Value = serde_json::from_str(text).map_err(|e| {
        vec![Problem::new(
            file,
            format!(
                "for environment `{}`: rendered task definition is not valid JSON: {e}",
                env.name
            ),
        )]
    })?;
    let mut problems = Vec::new();
    if !task.is_object() {
        return Err(vec![Problem::new(
            file,
            "a task definition is a JSON object",
        )]);
    }
    unknown_keys(&task, TASK_KEYS, "", file, &mut problems);
    if task
        .get("family")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        problems.push(Problem::new(file, "family: required (a non-empty string)"));
    }
    match task.get("containerDefinitions").and_then(Value::as_array) {
        Some(containers) if !containers.is_empty() => {
            for (i, container) in containers.iter().enumerate() {
                let path = format!("containerDefinitions[{i}].");
                unknown_keys(container, CONTAINER_KEYS, &path, file, &mut problems);
                for key in ["name", "image"] {
                    if container
                        .get(key)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        problems.push(Problem::new(file, format!("{path}{key}: required")));
                    }
                }
                for (j, port) in container
                    .get("portMappings")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    unknown_keys(
                        port,
                        PORT_KEYS,
                        &format!("{path}portMappings[{j}]."),
                        file,
                        &mut problems,
                    );
                }
            }
        }
        _ => problems.push(Problem::new(
            file,
            "containerDefinitions: at least one container is required",
        )),
    }
    if problems.is_empty() {
        Ok(task)
    } else {
        Err(problems)
    }
}
