//! One registered revision as releases see it: its ECS facts and the tags jobdeploy wrote.

use serde::Serialize;

use super::{
    EcsStatus, LiveTaskDef, TAG_IMAGE_DIGEST, TAG_MANIFEST_COMMIT, TAG_REGISTERED_AT, TAG_RELEASE,
    TAG_SOURCE_COMMIT, parse_time,
};

/// One revision of a family, as far as releases are concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionInfo {
    pub family: String,
    pub revision: i64,
    pub arn: String,
    pub status: EcsStatus,
    /// Seconds since the epoch: ECS's `registeredAt`, else the `jobdeploy:registered-at`
    /// tag (emulators do not report `registeredAt`).
    pub registered_at: Option<f64>,
    /// The release that registered it, from the `jobdeploy:release` tag.
    pub release: Option<String>,
    pub manifest_commit: Option<String>,
    pub source_commit: Option<String>,
    /// The image digest deployed, from the `jobdeploy:image-digest` tag.
    pub image_digest: Option<String>,
}

impl RevisionInfo {
    pub fn from_live(td: &LiveTaskDef) -> Self {
        let tags = td.tags();
        let registered_at = td
            .registered_at
            .or_else(|| tags.get(TAG_REGISTERED_AT).and_then(|t| parse_time(t)));
        Self {
            family: td.family.clone(),
            revision: td.revision,
            arn: td.arn.clone(),
            status: td.status.clone(),
            registered_at,
            release: tags.get(TAG_RELEASE).cloned(),
            manifest_commit: tags.get(TAG_MANIFEST_COMMIT).cloned(),
            source_commit: tags.get(TAG_SOURCE_COMMIT).cloned(),
            image_digest: tags.get(TAG_IMAGE_DIGEST).cloned(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }

    pub fn label(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_revision_reads_its_release_from_its_tags() {
        let td = LiveTaskDef::from_response(&json!({
            "taskDefinition": {"taskDefinitionArn": "arn:td/web:3", "family": "web",
                               "revision": 3, "status": "INACTIVE"},
            "tags": [{"key": TAG_RELEASE, "value": "v1"},
                     {"key": TAG_REGISTERED_AT, "value": "2023-11-14T22:13:20Z"}],
        }))
        .expect("has a taskDefinition");
        let r = RevisionInfo::from_live(&td);
        assert_eq!(r.release.as_deref(), Some("v1"));
        assert_eq!(r.registered_at, Some(1_700_000_000.0));
        assert!(!r.is_active());
        assert_eq!(r.label(), "web:3");
    }
}
