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
    /// Seconds since the epoch: ECS's `registeredAt` (AWS reports it for every revision, as
    /// epoch seconds), else the `jobdeploy:registered-at` tag jobdeploy writes as a fallback
    /// for emulators that do not report it.
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

    /// History follows AWS: `registeredAt` as ECS answers it (epoch seconds with a fraction)
    /// orders revisions, whatever the tag says.
    #[test]
    fn ecs_registered_at_wins_over_the_tag() {
        let td = LiveTaskDef::from_response(&json!({
            "taskDefinition": {"taskDefinitionArn": "arn:td/web:3", "family": "web",
                               "revision": 3, "status": "ACTIVE",
                               "registeredAt": 1_700_000_100.123,
                               "registeredBy": "arn:aws:iam::123456789012:role/ci"},
            "tags": [{"key": TAG_REGISTERED_AT, "value": "2023-11-14T22:13:20Z"}],
        }))
        .expect("has a taskDefinition");
        assert_eq!(
            RevisionInfo::from_live(&td).registered_at,
            Some(1_700_000_100.123)
        );
    }

    /// The fallback: no `registeredAt` (an emulator) and the tag jobdeploy wrote.
    #[test]
    fn the_registered_at_tag_is_the_fallback_without_ecs_registered_at() {
        let tagged = LiveTaskDef::from_response(&json!({
            "taskDefinition": {"taskDefinitionArn": "arn:td/web:3", "family": "web",
                               "revision": 3, "status": "ACTIVE"},
            "tags": [{"key": TAG_REGISTERED_AT, "value": "2023-11-14T22:13:20Z"}],
        }))
        .expect("has a taskDefinition");
        assert_eq!(
            RevisionInfo::from_live(&tagged).registered_at,
            Some(1_700_000_000.0)
        );
        let neither = LiveTaskDef::from_response(&json!({
            "taskDefinition": {"taskDefinitionArn": "arn:td/web:1", "family": "web",
                               "revision": 1, "status": "ACTIVE"},
        }))
        .expect("has a taskDefinition");
        assert_eq!(RevisionInfo::from_live(&neither).registered_at, None);
    }
}
