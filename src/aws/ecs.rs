//! ECS: clusters and task definitions.

use serde_json::{Map, Value};

use super::pace::{Group, Paced};
use super::raw::RawJson;
use super::{Lookup, aws_error, error_code, failed, is_denied, next_token};
use crate::error::{Error, Result};
use crate::model::LiveTaskDef;

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
        .map(|arn| crate::model::TaskDefRef::parse(arn))
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

/// What `verify` needs of a cluster: the capacity providers associated with it (RunTask
/// refuses a strategy naming any other), its default strategy (what a target with neither
/// launch type nor strategy runs on) and how many container instances are registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    pub arn: String,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Vec<String>,
    pub container_instances: i32,
}

/// Every cluster named (ARN or name) in one DescribeClusters, keyed as named; a cluster
/// that does not exist (or is INACTIVE) is [`Lookup::Missing`], a refused read
/// [`Lookup::Denied`] for each.
pub async fn clusters(
    ecs: &Paced<aws_sdk_ecs::Client>,
    names: &[String],
) -> Result<std::collections::BTreeMap<String, Lookup<Cluster>>> {
    let mut out = std::collections::BTreeMap::new();
    // DescribeClusters takes up to 100 clusters a call.
    for batch in names.chunks(100) {
        let result = ecs
            .call(Group::EcsReads, "DescribeClusters", || {
                ecs.describe_clusters()
                    .set_clusters(Some(batch.to_vec()))
                    .send()
            })
            .await;
        let found = match result {
            Ok(found) => found,
            Err(e) if is_denied(&e) => {
                for name in batch {
                    out.insert(name.clone(), Lookup::Denied("ecs:DescribeClusters"));
                }
                continue;
            }
            Err(e) => return Err(failed("DescribeClusters", batch.join(", "), &e)),
        };
        for name in batch {
            let cluster = found.clusters().iter().find(|c| {
                c.status() != Some("INACTIVE")
                    && (c.cluster_arn() == Some(name.as_str())
                        || c.cluster_name() == Some(name.as_str()))
            });
            let lookup = match cluster {
                Some(c) => Lookup::Found(Cluster {
                    arn: c.cluster_arn().unwrap_or_default().to_string(),
                    capacity_providers: c.capacity_providers().to_vec(),
                    default_strategy: c
                        .default_capacity_provider_strategy()
                        .iter()
                        .map(|s| s.capacity_provider().to_string())
                        .collect(),
                    container_instances: c.registered_container_instances_count(),
                }),
                None => Lookup::Missing,
            };
            out.insert(name.clone(), lookup);
        }
    }
    Ok(out)
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
            no_task_definition(LiveTaskDef::from_response(&response))
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
    request.insert("tags".into(), crate::model::tags_json(tags));
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
    no_task_definition(LiveTaskDef::from_response(&response))
        .map_err(|e| e.context(format!("RegisterTaskDefinition {family}")))
}

fn no_task_definition(td: Option<LiveTaskDef>) -> Result<LiveTaskDef> {
    td.ok_or_else(|| Error::new("response has no taskDefinition"))
}
