//! ECS: clusters and task definitions.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::pace::{Group, Paced};
use super::raw::RawJson;
use super::{aws_error, error_code, failed, next_token};
use crate::error::{Error, Result};

/// A registered task definition revision as DescribeTaskDefinition shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTaskDef {
    pub arn: String,
    pub family: String,
    pub revision: i64,
    pub status: String,
    /// `registeredAt` in seconds since the epoch, when ECS reports it.
    pub registered_at: Option<f64>,
    /// The `taskDefinition` object plus `tags`: the shape templates are compared with.
    #[serde(skip)]
    pub body: Value,
}

impl LiveTaskDef {
    pub fn from_response(response: &Value) -> Result<Self> {
        let Some(Value::Object(td)) = response.get("taskDefinition") else {
            return Err(Error::new("response has no taskDefinition"));
        };
        let mut body = td.clone();
        if let Some(tags) = response.get("tags") {
            body.insert("tags".into(), tags.clone());
        }
        let text = |k: &str| {
            td.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Self {
            arn: text("taskDefinitionArn"),
            family: text("family"),
            revision: td
                .get("revision")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            status: text("status"),
            registered_at: td.get("registeredAt").and_then(Value::as_f64),
            body: Value::Object(body),
        })
    }

    /// The revision's tags as `key → value`.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.body
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("key")?.as_str()?.to_string(),
                    t.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

/// One page of a family's revision numbers with `status` (ACTIVE or INACTIVE), newest
/// first, and the token for the next page.
pub async fn list_revisions(
    ecs: &Paced<aws_sdk_ecs::Client>,
    family: &str,
    status: aws_sdk_ecs::types::TaskDefinitionStatus,
    token: Option<String>,
) -> Result<(Vec<i64>, Option<String>)> {
    let out = ecs
        .call(Group::EcsReads, "ListTaskDefinitions", || {
            ecs.list_task_definitions()
                .family_prefix(family)
                .status(status.clone())
                .sort(aws_sdk_ecs::types::SortOrder::Desc)
                .max_results(100)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(aws_error(
            "ListTaskDefinitions",
            format!("{family} ({})", status.as_str()),
        ))?;
    // familyPrefix is a prefix: `web` also lists `web-batch`.
    let mut revisions: Vec<i64> = out
        .task_definition_arns()
        .iter()
        .map(|arn| crate::live::TaskDefRef::parse(arn))
        .filter(|r| r.family == family)
        .filter_map(|r| r.revision)
        .collect();
    revisions.sort_unstable_by(|a, b| b.cmp(a));
    Ok((revisions, next_token(out.next_token())))
}

/// Marks a revision INACTIVE.
pub async fn deregister(ecs: &Paced<aws_sdk_ecs::Client>, task_definition: &str) -> Result<()> {
    ecs.call(
        Group::EcsTaskDefinitionWrites,
        "DeregisterTaskDefinition",
        || {
            ecs.deregister_task_definition()
                .task_definition(task_definition)
                .send()
        },
    )
    .await
    .map(|_| ())
    .map_err(aws_error("DeregisterTaskDefinition", task_definition))
}

/// The cluster's ARN; an error naming the cluster when it does not exist.
pub async fn cluster_arn(ecs: &Paced<aws_sdk_ecs::Client>, cluster: &str) -> Result<String> {
    let out = ecs
        .call(Group::EcsReads, "DescribeClusters", || {
            ecs.describe_clusters().clusters(cluster).send()
        })
        .await
        .map_err(aws_error("DescribeClusters", cluster))?;
    out.clusters()
        .iter()
        .find(|c| c.status() != Some("INACTIVE"))
        .and_then(|c| c.cluster_arn())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::new(format!(
                "ECS cluster `{cluster}` does not exist in this account and region"
            ))
            .hint("check `cluster` and `region` in jobdeploy.toml")
        })
}

/// `family` (newest ACTIVE revision), `family:N` or an ARN. `None` when ECS has no such
/// task definition.
pub async fn describe(
    ecs: &Paced<aws_sdk_ecs::Client>,
    task_definition: &str,
) -> Result<Option<LiveTaskDef>> {
    let raw = RawJson::capture();
    let result = ecs
        .call(Group::EcsReads, "DescribeTaskDefinition", || {
            ecs.describe_task_definition()
                .task_definition(task_definition)
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .customize()
                .interceptor(raw.clone())
                .send()
        })
        .await;
    match result {
        Ok(_) => {
            let response = raw.response("DescribeTaskDefinition")?;
            LiveTaskDef::from_response(&response)
                .map(Some)
                .map_err(|e| e.context(format!("DescribeTaskDefinition {task_definition}")))
        }
        Err(e) if error_code(&e) == Some("ClientException") => Ok(None),
        Err(e) => Err(failed("DescribeTaskDefinition", task_definition, &e)),
    }
}

/// Adds tags to a revision (TagResource; existing keys are overwritten).
pub async fn tag(
    ecs: &Paced<aws_sdk_ecs::Client>,
    arn: &str,
    tags: &[(String, String)],
) -> Result<()> {
    let tags: Vec<aws_sdk_ecs::types::Tag> = tags
        .iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect();
    ecs.call(Group::EcsTagging, "TagResource", || {
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await
    .map_err(aws_error("TagResource", arn))?;
    Ok(())
}

/// Registers `body` (a RegisterTaskDefinition request without tags) with `tags`.
pub async fn register(
    ecs: &Paced<aws_sdk_ecs::Client>,
    body: &Value,
    tags: &[(String, String)],
) -> Result<LiveTaskDef> {
    let mut request = match body {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    request.insert("tags".into(), crate::render::tags_json(tags));
    let family = request
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let raw = RawJson::send(&Value::Object(request));
    ecs.call(
        Group::EcsTaskDefinitionWrites,
        "RegisterTaskDefinition",
        || {
            ecs.register_task_definition()
                .family(&family)
                .customize()
                .interceptor(raw.clone())
                .send()
        },
    )
    .await
    .map_err(aws_error("RegisterTaskDefinition", &family))?;
    let response = raw.response("RegisterTaskDefinition")?;
    LiveTaskDef::from_response(&response)
        .map_err(|e| e.context(format!("RegisterTaskDefinition {family}")))
}
