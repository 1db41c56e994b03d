//! From a rendered task definition (JSON, checked by `render::ecs`) to `RegisterTaskDefinition`.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, NetworkMode, PortMapping, Tag,
    TransportProtocol,
};
use aws_sdk_ecs::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::FINGERPRINT_TAG;

pub fn fingerprint(task: &Value) -> String {
    hex::encode(Sha256::digest(task.to_string().as_bytes()))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// ECS takes numbers as `i32`; templates may give them as numbers or numeric strings.
fn int(value: &Value, key: &str) -> Option<i32> {
    let v = value.get(key)?;
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .and_then(|n| i32::try_from(n).ok())
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn container(spec: &Value) -> ContainerDefinition {
    let mut builder = ContainerDefinition::builder()
        .set_name(text(spec, "name").map(str::to_string))
        .set_image(text(spec, "image").map(str::to_string))
        .set_cpu(int(spec, "cpu"))
        .set_memory(int(spec, "memory"))
        .set_memory_reservation(int(spec, "memoryReservation"))
        .set_essential(spec.get("essential").and_then(Value::as_bool));
    for part in strings(spec, "command") {
        builder = builder.command(part);
    }
    for part in strings(spec, "entryPoint") {
        builder = builder.entry_point(part);
    }
    for pair in spec
        .get("environment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        builder = builder.environment(
            KeyValuePair::builder()
                .set_name(text(pair, "name").map(str::to_string))
                .set_value(text(pair, "value").map(str::to_string))
                .build(),
        );
    }
    for port in spec
        .get("portMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        builder = builder.port_mappings(
            PortMapping::builder()
                .set_container_port(int(port, "containerPort"))
                .set_host_port(int(port, "hostPort"))
                .set_protocol(text(port, "protocol").map(TransportProtocol::from))
                .build(),
        );
    }
    builder.build()
}

/// Registers `task` as a new revision tagged with its fingerprint and environment; returns the revision's ARN.
pub async fn register(
    client: &Client,
    task: &Value,
    fingerprint: &str,
    environment: &str,
) -> Result<String, super::EcsError> {
    let mut request = client
        .register_task_definition()
        .set_family(text(task, "family").map(str::to_string))
        .set_task_role_arn(text(task, "taskRoleArn").map(str::to_string))
        .set_execution_role_arn(text(task, "executionRoleArn").map(str::to_string))
        .set_network_mode(text(task, "networkMode").map(NetworkMode::from))
        .set_cpu(
            task.get("cpu")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
        )
        .set_memory(
            task.get("memory")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
        )
        .tags(
            Tag::builder()
                .key(FINGERPRINT_TAG)
                .value(fingerprint)
                .build(),
        )
        .tags(
            Tag::builder()
                .key(super::lifecycle::ENV_TAG)
                .value(environment)
                .build(),
        );
    for compatibility in strings(task, "requiresCompatibilities") {
        request = request.requires_compatibilities(Compatibility::from(compatibility.as_str()));
    }
    for spec in task
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        request = request.container_definitions(container(spec));
    }
    let response = request
        .send()
        .await
        .map_err(super::aws_error("registering task definition"))?;
    response
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or(super::EcsError::NoArn)
}
