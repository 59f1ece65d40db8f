//! `init`'s pure half: a template from a live revision, and a commented `jobdeploy.toml`.
//! The command (src/commands/init.rs) finds the revisions and writes the files.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::image::ImageRef;
use crate::model::{Owner, READ_ONLY_FIELDS, TAG_PREFIX, TaskDefRef, Trigger};

/// A template made from a live revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub body: Value,
    /// Tags (or digests) of `image_name` the revision ran, now `{{ image }}`.
    pub tags: BTreeSet<String>,
    /// Things the user should look at, each naming the JSON path.
    pub notes: Vec<String>,
}

/// The RegisterTaskDefinition body of `describe` (a DescribeTaskDefinition `taskDefinition`
/// plus `tags`): read-only fields and jobdeploy's own tags dropped, every container image of
/// `image_name` turned into `{{ image }}`, and any string minijinja would read as template
/// syntax kept literal with `{% raw %}`.
pub fn template_from(describe: &Value, image_name: &ImageRef) -> Template {
    let mut body = describe.as_object().cloned().unwrap_or_default();
    for field in READ_ONLY_FIELDS {
        body.remove(*field);
    }
    if let Some(Value::Array(tags)) = body.get_mut("tags") {
        tags.retain(|t| {
            !t.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| k.starts_with(TAG_PREFIX))
        });
        if tags.is_empty() {
            body.remove("tags");
        }
    }
    let mut tags = BTreeSet::new();
    let mut notes = Vec::new();
    let mut body = Value::Object(body);
    if let Some(Value::Array(containers)) = body.get_mut("containerDefinitions") {
        for (i, container) in containers.iter_mut().enumerate() {
            let Some(image) = container.get_mut("image") else {
                continue;
            };
            let Some(parsed) = image.as_str().and_then(|s| ImageRef::parse(s).ok()) else {
                continue;
            };
            if parsed.name != image_name.name {
                continue;
            }
            if let Some(t) = parsed.tag.as_ref().or(parsed.digest.as_ref()) {
                tags.insert(t.clone());
            }
            *image = Value::String("{{ image }}".into());
            if let Some(env) = container.get("environment").and_then(Value::as_array) {
                for (j, var) in env.iter().enumerate() {
                    let value = var.get("value").and_then(Value::as_str);
                    if value.is_some() && value == parsed.tag.as_deref() {
                        notes.push(format!(
                            "$.containerDefinitions[{i}].environment[{j}] (`{}`) is the image tag; `{{{{ release }}}}` would keep it current",
                            var.get("name").and_then(Value::as_str).unwrap_or("?")
                        ));
                    }
                }
            }
        }
    }
    let body = keep_literal(body);
    Template { body, tags, notes }
}

/// Every string value that minijinja would treat as syntax, wrapped so it renders as itself.
/// `{{ image }}` itself is left alone: it is the one expression init writes.
fn keep_literal(value: Value) -> Value {
    match value {
        Value::String(s) if s != "{{ image }}" && has_syntax(&s) => {
            Value::String(format!("{{% raw %}}{s}{{% endraw %}}"))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(keep_literal).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, keep_literal(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

fn has_syntax(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Parts of environment variable names that say the value is a credential.
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
    "DSN",
];

/// Does an environment variable of this name look like it holds a credential?
pub fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// `(container name, variable name)` of every non-empty plain-text `environment` value whose
/// name looks like a credential: init would write it into the repo.
pub fn plaintext_secrets(body: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let containers = body.get("containerDefinitions").and_then(Value::as_array);
    for (i, container) in containers.into_iter().flatten().enumerate() {
        let container_name = container
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_string);
        let env = container.get("environment").and_then(Value::as_array);
        for var in env.into_iter().flatten() {
            let name = var.get("name").and_then(Value::as_str).unwrap_or_default();
            let has_value = var
                .get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty());
            if has_value && looks_like_credential(name) {
                found.push((container_name.clone(), name.to_string()));
            }
        }
    }
    found
}

/// What `jobdeploy.toml` records.
pub struct ConfigInput<'a> {
    pub cluster: &'a str,
    pub region: Option<&'a str>,
    pub image: &'a ImageRef,
    pub manifest_repo: Option<&'a str>,
    pub manifest_path: Option<&'a str>,
    pub event_buses: &'a [String],
    pub schedule_groups: &'a [String],
}

/// A commented `jobdeploy.toml`; every key is explained where it is set.
pub fn config_text(input: &ConfigInput<'_>) -> String {
    let quoted = |items: &[String]| -> String {
        items
            .iter()
            .map(|s| toml_string(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let optional = |key: &str, value: Option<&str>, example: &str, why: &str| match value {
        Some(v) => format!("{key} = {}{why}\n", toml_string(v)),
        None => format!("# {key} = {}{why}\n", toml_string(example)),
    };
    let mut out = String::new();
    out.push_str("# jobdeploy configuration, written by `jobdeploy init` from the live account.\n");
    out.push_str("# Templates are in taskdefs/<family>.json; run `jobdeploy plan` to check.\n\n");
    out.push_str("# ECS cluster whose scheduled tasks jobdeploy owns (name or ARN).\n");
    out.push_str(&format!("cluster = {}\n", toml_string(input.cluster)));
    out.push_str(&optional(
        "region",
        input.region,
        "us-east-1",
        "   # else AWS_REGION / the profile's region",
    ));
    out.push_str("\n[manifest]\n");
    out.push_str("# The image whose tag is the release: its tag in the manifest repo is what gets deployed.\n");
    out.push_str(&format!("image = {}\n", toml_string(&input.image.name)));
    out.push_str(&optional(
        "repo",
        input.manifest_repo,
        "https://github.com/acme/k8s-manifests.git",
        "   # URL or local path of the Kubernetes manifest repo",
    ));
    out.push_str(&optional(
        "path",
        input.manifest_path,
        "apps/web/overlays/production",
        "   # directory or file with the kustomization or workload",
    ));
    out.push_str(
        "# ref = \"main\"   # branch, tag or commit to read [default: the remote's HEAD]\n",
    );
    out.push_str("\n[taskdefs]\n# dir = \"taskdefs\"\n");
    out.push_str(
        "\n[rules]\n# EventBridge buses scanned for rules with a target on the cluster.\n",
    );
    out.push_str(&format!("event_buses = [{}]\n", quoted(input.event_buses)));
    out.push_str("# exclude = [\"legacy-*\"]   # rule-name globs never touched\n");
    out.push_str(
        "\n[schedules]\n# EventBridge Scheduler groups scanned for schedules on the cluster.\n",
    );
    out.push_str(&format!("groups = [{}]\n", quoted(input.schedule_groups)));
    out.push_str("# exclude = []   # schedule-name globs never touched\n");
    out.push_str("\n[vars]\n# Free-form template variables: {{ vars.NAME }}\n");
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The image names (without tag or digest) of a task definition's containers.
pub fn container_images(body: &Value) -> Vec<String> {
    body.get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .map(|i| ImageRef::parse(i).map_or_else(|_| i.to_string(), |r| r.name))
        .collect()
}

/// The revision of one family to template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub family: String,
    /// `family:N`, or `family` for the newest when no trigger pins a revision.
    pub task_definition: String,
    /// Set when the family's triggers run different revisions.
    pub warning: Option<String>,
}

/// Per family the triggers run, the revision to template: the newest any trigger pins, else
/// the newest registered. Sorted by family.
pub fn choose_revisions(found: &[(Trigger, TaskDefRef)]) -> Vec<Chosen> {
    let mut wanted: BTreeMap<&str, BTreeSet<Option<i64>>> = BTreeMap::new();
    for (_, td) in found {
        wanted.entry(&td.family).or_default().insert(td.revision);
    }
    wanted
        .into_iter()
        .map(|(family, revisions)| {
            let newest = revisions.iter().flatten().max();
            let task_definition = newest.map_or(family.to_string(), |n| format!("{family}:{n}"));
            let warning = (revisions.len() > 1).then(|| {
                format!(
                    "{family}: triggers run different revisions; templating {}",
                    newest.map_or(format!("{family} (newest)"), |n| format!("{family}:{n}"))
                )
            });
            Chosen {
                family: family.to_string(),
                task_definition,
                warning,
            }
        })
        .collect()
}

/// The event buses and schedule groups the found triggers are on, for `jobdeploy.toml`;
/// `default` for a kind with none.
pub fn scope_of(found: &[(Trigger, TaskDefRef)]) -> (Vec<String>, Vec<String>) {
    let mut buses = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for (at, _) in found {
        match &at.owner {
            Owner::Rule { event_bus, .. } => buses.insert(event_bus.clone()),
            Owner::Schedule { group, .. } => groups.insert(group.clone()),
        };
    }
    let or_default = |set: BTreeSet<String>| {
        if set.is_empty() {
            vec!["default".to_string()]
        } else {
            set.into_iter().collect()
        }
    };
    (or_default(buses), or_default(groups))
}

/// The tag CloudFormation puts on every resource of a stack that can be tagged.
pub const STACK_TAG: &str = "aws:cloudformation:stack-name";

/// The ARN of rule `rule` on `bus` (a name or an ARN), in the cluster's partition, region
/// and account.
pub fn rule_arn(cluster_arn: &str, bus: &str, rule: &str) -> String {
    let parts: Vec<&str> = cluster_arn.split(':').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("*");
    let bus = bus.rsplit_once("event-bus/").map_or(bus, |(_, name)| name);
    let path = if bus == "default" {
        format!("rule/{rule}")
    } else {
        format!("rule/{bus}/{rule}")
    };
    format!("arn:{}:events:{}:{}:{path}", part(1), part(3), part(4))
}

/// The warning for a rule or schedule that a CloudFormation stack owns.
pub fn stack_warning(trigger: &str, stack: &str) -> String {
    format!(
        "{trigger} belongs to CloudFormation stack `{stack}`: the next update of that stack puts back the task definition revision it declares, undoing jobdeploy's releases; see README \"Rules created by Terraform, CDK or CloudFormation\""
    )
}

/// The note for a rule or schedule whose stack could not be looked up.
pub fn stack_unknown_note(trigger: &str, permission: &str) -> String {
    format!(
        "note: could not tell whether a CloudFormation stack owns {trigger} ({permission} was refused)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> ImageRef {
        ImageRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").unwrap()
    }

    #[test]
    fn a_revision_becomes_a_template() {
        let describe = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "family": "web", "revision": 7, "status": "ACTIVE",
            "requiresAttributes": [], "compatibilities": ["FARGATE"],
            "registeredAt": 1.7e9, "registeredBy": "arn:aws:iam::1:role/ci",
            "containerDefinitions": [
                {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v7",
                 "command": ["sh", "-c", "echo {{ not a template }}"],
                 "environment": [{"name": "RELEASE", "value": "v7"}]},
                {"name": "sidecar", "image": "public.ecr.aws/datadog/agent:7"}
            ],
            "tags": [{"key": "jobdeploy:release", "value": "v7"}, {"key": "team", "value": "data"}]
        });
        let t = template_from(&describe, &image());
        assert_eq!(
            t.body,
            json!({
                "family": "web",
                "containerDefinitions": [
                    {"name": "app", "image": "{{ image }}",
                     "command": ["sh", "-c", "{% raw %}echo {{ not a template }}{% endraw %}"],
                     "environment": [{"name": "RELEASE", "value": "v7"}]},
                    {"name": "sidecar", "image": "public.ecr.aws/datadog/agent:7"}
                ],
                "tags": [{"key": "team", "value": "data"}]
            })
        );
        assert_eq!(t.tags, BTreeSet::from(["v7".to_string()]));
        assert_eq!(t.notes.len(), 1);
        assert!(t.notes[0].contains("environment[0]"), "{:?}", t.notes);
    }

    #[test]
    fn plaintext_secrets_are_named_never_their_values() {
        let body = json!({"containerDefinitions": [
            {"name": "app", "environment": [
                {"name": "DATABASE_PASSWORD", "value": "hunter2"},
                {"name": "SENTRY_DSN", "value": "https://k@sentry.io/1"},
                {"name": "stripe_api_key", "value": "sk_live"},
                {"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"},
                {"name": "GITHUB_TOKEN", "value": ""},
                {"name": "RAILS_ENV", "value": "production"},
                {"name": "SORT_KEY_PREFIX", "value": "x"}
            ]},
            {"environment": [{"name": "OAUTH_CLIENT_SECRET", "value": "s"}]}
        ]});
        assert_eq!(
            plaintext_secrets(&body),
            [
                ("app", "DATABASE_PASSWORD"),
                ("app", "SENTRY_DSN"),
                ("app", "stripe_api_key"),
                ("app", "AWS_ACCESS_KEY_ID"),
                ("#1", "OAUTH_CLIENT_SECRET"),
            ]
            .map(|(c, v)| (c.to_string(), v.to_string()))
        );
    }

    #[test]
    fn only_jobdeploy_tags_means_no_tags() {
        let describe = json!({"family": "web", "containerDefinitions": [],
            "tags": [{"key": "jobdeploy:release", "value": "v1"}]});
        let t = template_from(&describe, &image());
        assert_eq!(t.body, json!({"family": "web", "containerDefinitions": []}));
        assert!(t.tags.is_empty());
    }

    #[test]
    fn the_config_parses_back() {
        let text = config_text(&ConfigInput {
            cluster: "batch",
            region: None,
            image: &image(),
            manifest_repo: Some("https://github.com/acme/k8s.git"),
            manifest_path: None,
            event_buses: &["default".into(), "jobs".into()],
            schedule_groups: &["default".into()],
        });
        let c = crate::config::LoadedConfig::parse(std::path::Path::new("jobdeploy.toml"), &text)
            .unwrap();
        assert_eq!(c.config.cluster, "batch");
        assert_eq!(c.config.rules.event_buses, ["default", "jobs"]);
        let m = c.config.manifest.unwrap();
        assert_eq!(m.repo.as_deref(), Some("https://github.com/acme/k8s.git"));
        assert_eq!(m.path, None);
        assert!(text.contains("# path = "), "{text}");
    }

    fn found(at: Trigger, td: &str) -> (Trigger, TaskDefRef) {
        (
            at,
            TaskDefRef::parse(&format!("arn:aws:ecs:eu-west-1:1:task-definition/{td}")),
        )
    }

    #[test]
    fn container_images_are_named_without_tag_or_digest() {
        let body = json!({"containerDefinitions": [
            {"image": "1.dkr.ecr.eu-west-1.amazonaws.com/app:v1"},
            {"image": "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
            {"name": "no image"},
        ]});
        assert_eq!(
            container_images(&body),
            ["1.dkr.ecr.eu-west-1.amazonaws.com/app", "busybox"]
        );
        assert!(container_images(&json!({})).is_empty());
    }

    #[test]
    fn the_newest_pinned_revision_is_templated_and_a_disagreement_warned() {
        let chosen = choose_revisions(&[
            found(Trigger::rule_target("default", "a", "1"), "web:3"),
            found(Trigger::schedule("default", "b"), "web:5"),
            found(Trigger::rule_target("default", "c", "1"), "report"),
            found(Trigger::rule_target("default", "d", "1"), "batch:2"),
        ]);
        let picked: Vec<(&str, &str, bool)> = chosen
            .iter()
            .map(|c| {
                (
                    c.family.as_str(),
                    c.task_definition.as_str(),
                    c.warning.is_some(),
                )
            })
            .collect();
        assert_eq!(
            picked,
            [
                ("batch", "batch:2", false),
                ("report", "report", false),
                ("web", "web:5", true)
            ]
        );
        assert_eq!(
            chosen[2].warning.as_deref(),
            Some("web: triggers run different revisions; templating web:5")
        );
        let floating = choose_revisions(&[
            found(Trigger::rule_target("default", "a", "1"), "web"),
            found(Trigger::rule_target("default", "b", "1"), "web:1"),
        ]);
        assert_eq!(floating[0].task_definition, "web:1");
    }

    #[test]
    fn the_scope_lists_buses_and_groups_or_default() {
        let (buses, groups) = scope_of(&[
            found(Trigger::rule_target("jobs", "a", "1"), "web:1"),
            found(Trigger::rule_target("default", "b", "1"), "web:1"),
            found(Trigger::rule_target("jobs", "c", "1"), "web:1"),
        ]);
        assert_eq!(
            (buses, groups),
            (
                vec!["default".into(), "jobs".into()],
                vec!["default".to_string()]
            )
        );
        let (buses, groups) = scope_of(&[found(Trigger::schedule("nightly", "s"), "web:1")]);
        assert_eq!(
            (buses, groups),
            (vec!["default".to_string()], vec!["nightly".to_string()])
        );
    }
}
