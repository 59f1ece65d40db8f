//! The RunTask request a rule target or schedule would send, built from the live target field
//! for field. Pure: the target's JSON in, RunTask's JSON out, unit-tested key by key.
//!
//! EventBridge and Scheduler spell `EcsParameters` in PascalCase (`NetworkConfiguration`,
//! `AssignPublicIp`, tags as `Key`/`Value` or as `{key: value}` maps); RunTask in camelCase.
//! The target's `Input` is what EventBridge and Scheduler pass to RunTask as `overrides`.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::model::Owner;

/// `startedBy` of every task jobdeploy starts: the console and ListTasks show who did.
pub const STARTED_BY: &str = "jobdeploy";

/// What `run` puts on top of the target's own `Input`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--override-command`: the container's command, replaced.
    pub command: Option<Vec<String>>,
    /// `--env K=V`: added to the container's environment, replacing a variable of that name.
    pub env: Vec<(String, String)>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.command.is_none() && self.env.is_empty()
    }
}

/// A RunTask body and what the reader should know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub body: Value,
    /// Fields of the target RunTask does not take the way the target means them.
    pub notes: Vec<String>,
}

/// The `EcsParameters` keys copied as they are, with their RunTask names.
const SAME_SHAPE: [(&str, &str); 9] = [
    ("LaunchType", "launchType"),
    ("PlatformVersion", "platformVersion"),
    ("Group", "group"),
    ("CapacityProviderStrategy", "capacityProviderStrategy"),
    ("PlacementConstraints", "placementConstraints"),
    ("PlacementStrategy", "placementStrategy"),
    ("PropagateTags", "propagateTags"),
    ("EnableECSManagedTags", "enableECSManagedTags"),
    ("EnableExecuteCommand", "enableExecuteCommand"),
];

/// Keys handled by hand below.
const CONVERTED: [&str; 5] = [
    "TaskDefinitionArn",
    "TaskCount",
    "NetworkConfiguration",
    "Tags",
    "ReferenceId",
];

/// Builds RunTask for `target` (a rule target, or the schedule as GetSchedule returned it)
/// running `task_definition`, with `overrides` for `container` on top of the target's Input.
pub fn build(
    owner: &Owner,
    slot: &Value,
    task_definition: &str,
    container: &str,
    overrides: &Overrides,
    client_token: &str,
) -> Result<RunRequest> {
    let target = owner.target_of(slot);
    let name = owner.describe();
    let ecs = target
        .get("EcsParameters")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::new(format!("{name}: the target has no EcsParameters")))?;
    let mut body = Map::new();
    let mut notes = Vec::new();
    if let Some(cluster) = target.get("Arn") {
        body.insert("cluster".into(), cluster.clone());
    }
    body.insert(
        "taskDefinition".into(),
        Value::String(task_definition.into()),
    );
    body.insert("count".into(), json!(1));
    if let Some(count) = ecs.get("TaskCount").and_then(Value::as_i64)
        && count > 1
    {
        notes.push(format!(
            "the target starts {count} tasks at a time (TaskCount); run starts one"
        ));
    }
    for (from, to) in SAME_SHAPE {
        if let Some(value) = ecs.get(from) {
            body.insert(to.into(), value.clone());
        }
    }
    if let Some(network) = ecs.get("NetworkConfiguration") {
        body.insert(
            "networkConfiguration".into(),
            network_configuration(network),
        );
    }
    if let Some(reference) = ecs.get("ReferenceId") {
        body.insert("referenceId".into(), reference.clone());
    }
    if let Some(tags) = ecs.get("Tags") {
        body.insert("tags".into(), Value::Array(tags_of(tags)));
    }
    for key in ecs.keys() {
        let known =
            SAME_SHAPE.iter().any(|(from, _)| from == key) || CONVERTED.contains(&key.as_str());
        if !known {
            notes.push(format!(
                "EcsParameters.{key} is not passed to RunTask (jobdeploy does not know it yet)"
            ));
        }
    }
    let input = match target.get("Input").and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => Some(
            serde_json::from_str::<Value>(text)
                .map_err(|e| Error::new(format!("{name}: the target's Input is not JSON: {e}")))?,
        ),
        _ => None,
    };
    if let Some(overrides) = with_overrides(input, container, overrides) {
        body.insert("overrides".into(), overrides);
    }
    body.insert("startedBy".into(), Value::String(STARTED_BY.into()));
    body.insert("clientToken".into(), Value::String(client_token.into()));
    Ok(RunRequest {
        body: Value::Object(body),
        notes,
    })
}

/// `{"awsvpcConfiguration": {"Subnets", "SecurityGroups", "AssignPublicIp"}}` in RunTask's
/// spelling; keys already in camelCase pass as they are.
fn network_configuration(network: &Value) -> Value {
    let Some(vpc) = network
        .get("awsvpcConfiguration")
        .and_then(Value::as_object)
    else {
        return network.clone();
    };
    let converted: Map<String, Value> = vpc
        .iter()
        .map(|(k, v)| (lower_first(k), v.clone()))
        .collect();
    json!({"awsvpcConfiguration": converted})
}

fn lower_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// EventBridge's `[{"Key", "Value"}]`, or Scheduler's list of string maps, as RunTask's
/// `[{"key", "value"}]`. A Scheduler map is either one tag spelled as RunTask spells it
/// (`{"key": "team", "value": "data"}`, what Terraform and the CDK write) or
/// `{"team": "data", …}`.
fn tags_of(tags: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for tag in tags.as_array().into_iter().flatten() {
        let Some(fields) = tag.as_object() else {
            continue;
        };
        let pair = |k: &str, v: &str| {
            let key = fields.get(k)?;
            let only_pair = fields.keys().all(|f| f == k || f == v);
            only_pair.then(|| {
                let value = fields
                    .get(v)
                    .cloned()
                    .unwrap_or(Value::String(String::new()));
                json!({"key": key, "value": value})
            })
        };
        if let Some(tag) = pair("Key", "Value").or_else(|| pair("key", "value")) {
            out.push(tag);
        } else {
            for (key, value) in fields {
                out.push(json!({"key": key, "value": value}));
            }
        }
    }
    out
}

/// The target's Input with `--override-command` and `--env` applied to `container`.
fn with_overrides(input: Option<Value>, container: &str, extra: &Overrides) -> Option<Value> {
    if extra.is_empty() {
        return input;
    }
    let mut overrides = match input {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let list = overrides
        .entry("containerOverrides")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else {
        return Some(Value::Object(overrides));
    };
    let position = list
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(container));
    let index = match position {
        Some(i) => i,
        None => {
            list.push(json!({"name": container}));
            list.len() - 1
        }
    };
    let Some(entry) = list.get_mut(index).and_then(Value::as_object_mut) else {
        return Some(Value::Object(overrides));
    };
    if let Some(command) = &extra.command {
        entry.insert("command".into(), json!(command));
    }
    if !extra.env.is_empty() {
        let env = entry
            .entry("environment")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !env.is_array() {
            *env = Value::Array(Vec::new());
        }
        if let Value::Array(env) = env {
            for (name, value) in &extra.env {
                env.retain(|e| e.get("name").and_then(Value::as_str) != Some(name));
                env.push(json!({"name": name, "value": value}));
            }
        }
    }
    Some(Value::Object(overrides))
}

/// The request with the values of secret-looking environment overrides replaced by the
/// mask, for `--dry-run`. Masked in the JSON, not in its text: a value with a `"` or a `\`
/// is escaped in the text, where a search for the value itself would miss it.
pub fn masked(body: &Value) -> Value {
    let mut body = body.clone();
    let containers = body
        .pointer_mut("/overrides/containerOverrides")
        .and_then(Value::as_array_mut);
    for container in containers.into_iter().flatten() {
        let env = container
            .get_mut("environment")
            .and_then(Value::as_array_mut);
        for entry in env.into_iter().flatten() {
            let secret = entry
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(crate::secrets::looks_secret);
            if let (true, Some(value)) = (secret, entry.get_mut("value")) {
                *value = Value::String(crate::secrets::MASK.into());
            }
        }
    }
    body
}

/// A client token for RunTask: the same for every attempt of one call (so a retried RunTask
/// never starts a second task), different for every run. At most 64 characters.
pub fn client_token(now_nanos: u128, pid: u32) -> String {
    let token = format!("jobdeploy-{pid}-{now_nanos}");
    token.chars().take(64).collect()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
