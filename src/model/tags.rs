//! The `jobdeploy:*` tags jobdeploy puts on the revisions it registers, and the parts of a
//! DescribeTaskDefinition body that are not the user's.

use serde_json::{Map, Value};

/// Tags jobdeploy writes itself; they differ on every revision and are not part of the
/// definition the user owns.
pub const TAG_PREFIX: &str = "jobdeploy:";

pub const TAG_RELEASE: &str = "jobdeploy:release";
pub const TAG_MANIFEST_COMMIT: &str = "jobdeploy:manifest-commit";
pub const TAG_SOURCE_COMMIT: &str = "jobdeploy:source-commit";
/// The image digest deployed: pinned by the manifest, or what ECR said the tag was.
pub const TAG_IMAGE_DIGEST: &str = "jobdeploy:image-digest";
/// When the revision was registered (RFC 3339). ECS's own `registeredAt` wins; this keeps
/// release order where it is missing (emulators).
pub const TAG_REGISTERED_AT: &str = "jobdeploy:registered-at";

/// The release jobdeploy records at the first deploy for what the targets ran before it:
/// the revisions they were on, tagged with this id, so that the first deploy can be rolled
/// back like any other.
pub const ADOPTED: &str = "adopted";

/// Fields DescribeTaskDefinition returns but RegisterTaskDefinition refuses.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The request body without `tags`, which jobdeploy sends separately merged with its own.
pub fn split_tags(body: &Value) -> (Value, Vec<(String, String)>) {
    let mut body = body.clone();
    let mut tags = Vec::new();
    if let Some(Value::Array(list)) = body.as_object_mut().and_then(|m| m.remove("tags")) {
        for tag in list {
            let key = tag.get("key").and_then(Value::as_str);
            let value = tag.get("value").and_then(Value::as_str);
            if let (Some(k), Some(v)) = (key, value) {
                tags.push((k.to_string(), v.to_string()));
            }
        }
    }
    (body, tags)
}

/// `[(key, value)]` as ECS writes tags: `[{"key": …, "value": …}]`.
pub fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| {
                let mut m = Map::new();
                m.insert("key".into(), Value::String(k.clone()));
                m.insert("value".into(), Value::String(v.clone()));
                Value::Object(m)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_a_body() {
        let tags = vec![("team".to_string(), "data".to_string())];
        let body = serde_json::json!({"family": "web", "tags": tags_json(&tags)});
        let (rest, back) = split_tags(&body);
        assert_eq!(back, tags);
        assert_eq!(rest, serde_json::json!({"family": "web"}));
    }

    #[test]
    fn every_tag_of_ours_has_the_prefix() {
        for tag in [
            TAG_RELEASE,
            TAG_MANIFEST_COMMIT,
            TAG_SOURCE_COMMIT,
            TAG_IMAGE_DIGEST,
            TAG_REGISTERED_AT,
        ] {
            assert!(tag.starts_with(TAG_PREFIX), "{tag}");
        }
    }
}
