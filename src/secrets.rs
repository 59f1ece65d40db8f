//! Masking of secret-looking values in every output form.

use serde_json::Value;

pub const MASK: &str = "****";

/// `*SECRET*`, `*TOKEN*`, `*PASSWORD*`, `*KEY*` (case-insensitive).
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["SECRET", "TOKEN", "PASSWORD", "KEY"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Collects the values to mask from a task definition: `environment` entries whose names look
/// secret.
pub fn collect(body: &Value, out: &mut Vec<String>) {
    let Some(containers) = body.get("containerDefinitions").and_then(Value::as_array) else {
        return;
    };
    for container in containers {
        let Some(env) = container.get("environment").and_then(Value::as_array) else {
            continue;
        };
        for entry in env {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(value) = entry.get("value").and_then(Value::as_str)
                && looks_secret(name)
                && !value.is_empty()
            {
                out.push(value.to_string());
            }
        }
    }
}

/// Replaces every known secret value in `text`; longest first so overlaps mask fully.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    values: Vec<String>,
}

impl Masker {
    pub fn new(mut values: Vec<String>) -> Self {
        values.retain(|v| v.len() >= 3);
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self { values }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for n in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "client_secret",
            "KEYRING",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["RAILS_ENV", "HOST", "PORT"] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn collects_and_masks() {
        let body = json!({"containerDefinitions": [{"environment": [
            {"name": "API_KEY", "value": "abc123"},
            {"name": "RAILS_ENV", "value": "production"}
        ]}]});
        let mut values = Vec::new();
        collect(&body, &mut values);
        assert_eq!(values, ["abc123"]);
        let m = Masker::new(values);
        assert_eq!(
            m.mask("key=abc123 env=production"),
            "key=**** env=production"
        );
    }
}
