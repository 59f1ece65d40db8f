//! Canonical form of a task definition, so that what ECS adds or reorders (`cpu: 0`, empty
//! arrays, `"0.25 vCPU"`, key order, env var order, default port protocol) makes no diff.
//! Used both to decide whether to register and to show the plan's diff.

use serde_json::{Map, Value};

use crate::model::{READ_ONLY_FIELDS, TAG_PREFIX};

pub fn normalize(body: &Value) -> Value {
    let mut value = body.clone();
    if let Value::Object(map) = &mut value {
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        for key in ["cpu", "memory"] {
            if let Some(v) = map.get_mut(key) {
                *v = Value::String(task_size(key, v));
            }
        }
        if let Some(Value::Array(tags)) = map.get_mut("tags") {
            tags.retain(|t| {
                !t.get("key")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.starts_with(TAG_PREFIX))
            });
            sort_by_key(tags, "key");
        }
        if let Some(Value::Array(list)) = map.get_mut("requiresCompatibilities") {
            sort_strings(list);
        }
        if let Some(Value::Array(containers)) = map.get_mut("containerDefinitions") {
            containers.iter_mut().for_each(normalize_container);
        }
    }
    prune_and_sort(value).unwrap_or(Value::Object(Map::new()))
}

fn normalize_container(container: &mut Value) {
    let Value::Object(c) = container else { return };
    if c.get("cpu").and_then(Value::as_i64) == Some(0) {
        c.remove("cpu");
    }
    if c.get("essential") == Some(&Value::Bool(true)) {
        c.remove("essential");
    }
    for list in ["environment", "secrets"] {
        if let Some(Value::Array(items)) = c.get_mut(list) {
            sort_by_key(items, "name");
        }
    }
    if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
        for port in ports.iter_mut() {
            let Value::Object(p) = port else { continue };
            if p.get("protocol").and_then(Value::as_str) == Some("tcp") {
                p.remove("protocol");
            }
            if p.get("hostPort").is_some() && p.get("hostPort") == p.get("containerPort") {
                p.remove("hostPort");
            }
        }
    }
}

/// `"0.25 vCPU"` → `"256"`, `"1 GB"` → `"1024"`, `512` → `"512"`.
fn task_size(key: &str, value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        other => return other.to_string(),
    };
    let lower = text.to_ascii_lowercase();
    let (number, unit) = match lower.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (lower[..i].trim(), lower[i..].trim()),
        None => (lower.as_str(), ""),
    };
    let scaled = match (key, unit) {
        ("cpu", "vcpu") | ("memory", "gb") => number.parse::<f64>().ok().map(|n| n * 1024.0),
        (_, "") => None,
        _ => return text,
    };
    match scaled {
        Some(n) if n.fract() == 0.0 => format!("{}", n as u64),
        _ => text,
    }
}

fn sort_by_key(items: &mut [Value], key: &str) {
    items.sort_by(|a, b| {
        let ka = a.get(key).and_then(Value::as_str).unwrap_or_default();
        let kb = b.get(key).and_then(Value::as_str).unwrap_or_default();
        ka.cmp(kb)
    });
}

fn sort_strings(items: &mut [Value]) {
    items.sort_by(|a, b| {
        a.as_str()
            .unwrap_or_default()
            .cmp(b.as_str().unwrap_or_default())
    });
}

/// Drops nulls, empty arrays and empty objects (ECS echoes `[]` for every list it defaults),
/// and sorts object keys.
fn prune_and_sort(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(prune_and_sort).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .filter_map(|(k, v)| prune_and_sort(v).map(|v| (k, v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            (!entries.is_empty()).then(|| Value::Object(entries.into_iter().collect()))
        }
        other => Some(other),
    }
}

/// Pretty JSON of the normalized form, the text the plan diffs.
pub fn canonical_text(body: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&normalize(body)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ecs_defaults_make_no_noise() {
        let rendered = json!({
            "family": "web",
            "cpu": "256",
            "memory": "0.5 GB",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{
                "name": "app",
                "image": "web:v1",
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "portMappings": [{"containerPort": 80}]
            }],
            "tags": [{"key": "team", "value": "batch"}]
        });
        let live = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:4",
            "revision": 4,
            "status": "ACTIVE",
            "containerDefinitions": [{
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "image": "web:v1",
                "name": "app",
                "cpu": 0,
                "essential": true,
                "mountPoints": [],
                "volumesFrom": [],
                "systemControls": []
            }],
            "family": "web",
            "cpu": "0.25 vCPU",
            "memory": "512",
            "volumes": [],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "tags": [
                {"key": "jobdeploy:release", "value": "v0"},
                {"key": "team", "value": "batch"}
            ]
        });
        assert_eq!(normalize(&rendered), normalize(&live));
        assert_eq!(canonical_text(&rendered), canonical_text(&live));
    }

    #[test]
    fn real_changes_show() {
        let a =
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "web:v1"}]});
        let b =
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "web:v2"}]});
        assert_ne!(normalize(&a), normalize(&b));
        let c = json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "web:v1", "cpu": 128}]});
        assert_ne!(normalize(&a), normalize(&c));
        let d = json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "web:v1", "essential": false}]});
        assert_ne!(normalize(&a), normalize(&d));
    }

    #[test]
    fn task_sizes() {
        assert_eq!(task_size("cpu", &json!("1 vCPU")), "1024");
        assert_eq!(task_size("cpu", &json!("0.5 vcpu")), "512");
        assert_eq!(task_size("memory", &json!("2GB")), "2048");
        assert_eq!(task_size("memory", &json!(2048)), "2048");
        assert_eq!(task_size("memory", &json!("2048")), "2048");
        assert_eq!(task_size("memory", &json!("lots")), "lots");
    }
}
