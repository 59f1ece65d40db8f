//! `taskdefs/<family>.json` → the RegisterTaskDefinition request body. Templates are rendered
//! per JSON string value, so no variable can change the JSON structure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use minijinja::{Environment, UndefinedBehavior, Value as Jinja};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::manifest::Release;
use crate::secrets::looks_secret;

pub(crate) mod schema;

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

#[derive(Debug, Clone)]
pub struct Template {
    pub family: String,
    pub path: PathBuf,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub family: String,
    pub path: PathBuf,
    /// The request body, `tags` included when the template has them.
    pub body: Value,
    pub warnings: Vec<String>,
    /// Values read from secret-looking environment variables, to mask in output.
    pub secrets: Vec<String>,
}

/// Every `*.json` in the directory, sorted by family.
pub fn load_templates(dir: &Path) -> Result<Vec<Template>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::new(format!(
            "cannot read task definition dir {}: {e}",
            dir.display()
        ))
        .hint("set [taskdefs] dir in jobdeploy.toml")
    })?;
    let mut templates = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::new(format!("{}: {e}", dir.display())))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(family) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(format!("{}: not valid JSON: {e}", path.display())))?;
        templates.push(Template { family, path, body });
    }
    if templates.is_empty() {
        return Err(Error::new(format!(
            "no task definition templates (*.json) in {}",
            dir.display()
        )));
    }
    templates.sort_by(|a, b| a.family.cmp(&b.family));
    Ok(templates)
}

/// What templates can see: `image`, `image_name`, `image_tag`, `image_digest`, `release`,
/// `vars.*` and `env(…)`.
pub struct RenderContext {
    values: BTreeMap<&'static str, Jinja>,
}

impl RenderContext {
    pub fn new(release: &Release, vars: &BTreeMap<String, toml::Value>) -> Self {
        let image = &release.image;
        let mut values = BTreeMap::new();
        values.insert("image", Jinja::from(image.reference()));
        values.insert("image_name", Jinja::from(image.name.clone()));
        values.insert(
            "image_tag",
            Jinja::from(image.tag.clone().unwrap_or_default()),
        );
        values.insert(
            "image_digest",
            Jinja::from(image.digest.clone().unwrap_or_default()),
        );
        values.insert("release", Jinja::from(release.tag.clone()));
        values.insert("vars", Jinja::from_serialize(vars));
        Self { values }
    }
}

pub fn render(template: &Template, ctx: &RenderContext) -> Result<Rendered> {
    let file = template.path.display().to_string();
    let Value::Object(mut body) = unwrap_describe_output(template.body.clone()) else {
        return Err(Error::new(format!(
            "{file}: $: expected a JSON object (a RegisterTaskDefinition request)"
        )));
    };
    // A describe dump of another family pasted under this name is a mistake, not a template.
    if let Some(arn) = body.get("taskDefinitionArn").and_then(Value::as_str) {
        let named = crate::live::TaskDefRef::parse(arn).family;
        if named != template.family {
            return Err(Error::new(format!(
                "{file}: $.taskDefinitionArn is {arn}, a revision of `{named}`, but the file name says `{}`",
                template.family
            ))
            .hint("a DescribeTaskDefinition dump must be saved as taskdefs/<its family>.json"));
        }
    }
    let mut warnings = Vec::new();
    for field in READ_ONLY_FIELDS {
        if body.remove(*field).is_some() {
            warnings.push(format!(
                "{file}: $.{field} is read-only (from DescribeTaskDefinition); dropped"
            ));
        }
    }
    match body.get("family") {
        None => {
            body.insert("family".into(), Value::String(template.family.clone()));
        }
        Some(Value::String(f)) if *f == template.family => {}
        Some(other) => {
            return Err(Error::new(format!(
                "{file}: $.family is {other} but the file name says `{}`",
                template.family
            ))
            .hint(format!(
                "rename the file to <family>.json or set \"family\": \"{}\"",
                template.family
            )));
        }
    }
    if !body.contains_key("containerDefinitions") {
        return Err(Error::new(format!(
            "{file}: $.containerDefinitions is required"
        )));
    }

    let secrets = Arc::new(Mutex::new(Vec::new()));
    let env = environment(secrets.clone());
    let mut value = Value::Object(body);
    render_strings(&mut value, "$", &env, ctx, &file)?;
    check_against_model(&value, &file)?;
    let secrets = secrets.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Rendered {
        family: template.family.clone(),
        path: template.path.clone(),
        body: value,
        warnings,
        secrets,
    })
}

/// The rendered body against the RegisterTaskDefinition input of the ECS API model: every
/// unknown key, wrong type, value outside an enum and missing required member, all at once,
/// each line naming the file and the JSON path.
fn check_against_model(body: &Value, file: &str) -> Result<()> {
    let model = schema::model()?;
    let problems = schema::check(body, &model.input);
    if problems.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = problems.iter().map(|p| format!("{file}: {p}")).collect();
    Err(Error::new(lines.join("\n")).hint(format!(
        "keys and types are those of RegisterTaskDefinition in the ECS API model (botocore {}): \
         https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
        model.botocore
    )))
}

/// A saved `aws ecs describe-task-definition --include TAGS` output is accepted as is.
fn unwrap_describe_output(body: Value) -> Value {
    match body {
        Value::Object(mut outer) if outer.contains_key("taskDefinition") => {
            let tags = outer.remove("tags");
            match outer.remove("taskDefinition") {
                Some(Value::Object(mut inner)) => {
                    if let Some(tags) = tags
                        && !inner.contains_key("tags")
                    {
                        inner.insert("tags".into(), tags);
                    }
                    Value::Object(inner)
                }
                Some(other) => other,
                None => Value::Object(outer),
            }
        }
        other => other,
    }
}

fn environment(secrets: Arc<Mutex<Vec<String>>>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_function(
        "env",
        move |name: String, default: Option<String>| -> Result<String, minijinja::Error> {
            let value = match std::env::var(&name) {
                Ok(v) => v,
                Err(_) => default.ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!(
                            "environment variable {name} is not set (give a default: env(\"{name}\", \"…\"))"
                        ),
                    )
                })?,
            };
            if looks_secret(&name)
                && !value.is_empty()
                && let Ok(mut s) = secrets.lock()
            {
                s.push(value.clone());
            }
            Ok(value)
        },
    );
    env
}

fn render_strings(
    value: &mut Value,
    path: &str,
    env: &Environment<'_>,
    ctx: &RenderContext,
    file: &str,
) -> Result<()> {
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") || s.contains("{#") => {
            let rendered = env.render_str(s, &ctx.values).map_err(|e| {
                let mut detail = e.kind().to_string();
                if let Some(d) = e.detail() {
                    detail = format!("{detail}: {d}");
                }
                Error::new(format!("{file}: {path}: {detail} in `{s}`"))
            })?;
            *s = rendered;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                render_strings(item, &format!("{path}[{i}]"), env, ctx, file)?;
            }
        }
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                render_strings(child, &format!("{path}.{key}"), env, ctx, file)?;
            }
        }
        _ => {}
    }
    Ok(())
}

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
    use crate::image::ImageRef;
    use serde_json::json;

    fn release() -> Release {
        Release::from_tag("v7", &ImageRef::parse("repo.example.com/web").unwrap()).unwrap()
    }

    fn template(body: Value) -> Template {
        Template {
            family: "web".into(),
            path: PathBuf::from("taskdefs/web.json"),
            body,
        }
    }

    fn vars() -> BTreeMap<String, toml::Value> {
        let mut v = BTreeMap::new();
        v.insert("env".into(), toml::Value::String("production".into()));
        v
    }

    fn render_ok(body: Value) -> Rendered {
        render(&template(body), &RenderContext::new(&release(), &vars())).unwrap()
    }

    fn render_err(body: Value) -> String {
        render(&template(body), &RenderContext::new(&release(), &vars()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn renders_context_inside_strings_only() {
        let r = render_ok(json!({
            "containerDefinitions": [{
                "name": "app",
                "image": "{{ image }}",
                "environment": [
                    {"name": "RELEASE", "value": "{{ release }}-{{ vars.env }}"},
                    {"name": "PARTS", "value": "{{ image_name }}|{{ image_tag }}|{{ image_digest }}"}
                ],
                "cpu": 256
            }]
        }));
        assert_eq!(r.body["family"], "web");
        let c = &r.body["containerDefinitions"][0];
        assert_eq!(c["image"], "repo.example.com/web:v7");
        assert_eq!(c["environment"][0]["value"], "v7-production");
        assert_eq!(c["environment"][1]["value"], "repo.example.com/web|v7|");
        assert_eq!(c["cpu"], 256);
    }

    #[test]
    fn a_variable_cannot_inject_json() {
        let mut v = vars();
        v.insert(
            "evil".into(),
            toml::Value::String("\", \"privileged\": true, \"x\": \"".into()),
        );
        let r = render(
            &template(json!({"containerDefinitions": [{"name": "{{ vars.evil }}"}]})),
            &RenderContext::new(&release(), &v),
        )
        .unwrap();
        let c = r.body["containerDefinitions"][0].as_object().unwrap();
        assert_eq!(c.len(), 1);
        assert!(c["name"].as_str().unwrap().contains("privileged"));
    }

    #[test]
    fn undefined_names_the_file_and_path() {
        let err = render_err(json!({"containerDefinitions": [{"image": "{{ vars.nope }}"}]}));
        assert!(err.contains("taskdefs/web.json"), "{err}");
        assert!(err.contains("$.containerDefinitions[0].image"), "{err}");
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn env_function() {
        // SAFETY: the variable names are unique to this test.
        unsafe { std::env::set_var("JOBDEPLOY_TEST_RENDER_PLAIN", "hello") };
        unsafe { std::env::set_var("JOBDEPLOY_TEST_RENDER_TOKEN", "s3cr3t") };
        let r = render_ok(json!({"containerDefinitions": [{
            "image": "{{ env('JOBDEPLOY_TEST_RENDER_PLAIN') }}",
            "hostname": "{{ env('JOBDEPLOY_TEST_RENDER_MISSING', 'fallback') }}",
            "user": "{{ env('JOBDEPLOY_TEST_RENDER_TOKEN') }}"
        }]}));
        let c = &r.body["containerDefinitions"][0];
        assert_eq!(c["image"], "hello");
        assert_eq!(c["hostname"], "fallback");
        assert_eq!(r.secrets, ["s3cr3t"]);
        let err = render_err(json!({"containerDefinitions": [{
            "image": "{{ env('JOBDEPLOY_TEST_RENDER_MISSING') }}"
        }]}));
        assert!(err.contains("JOBDEPLOY_TEST_RENDER_MISSING"), "{err}");
        assert!(err.contains("$.containerDefinitions[0].image"), "{err}");
    }

    #[test]
    fn family_must_match_file_name() {
        let err = render_err(json!({"family": "other", "containerDefinitions": []}));
        assert!(err.contains("$.family") && err.contains("web"), "{err}");
    }

    #[test]
    fn describe_dump_is_accepted() {
        let r = render_ok(json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
                "family": "web",
                "revision": 3,
                "status": "ACTIVE",
                "compatibilities": ["EC2", "FARGATE"],
                "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]
            },
            "tags": [{"key": "team", "value": "batch"}]
        }));
        assert!(r.body.get("revision").is_none());
        assert!(r.body.get("taskDefinitionArn").is_none());
        assert_eq!(r.body["tags"][0]["key"], "team");
        assert_eq!(r.warnings.len(), 4);
        assert!(r.warnings[0].contains("taskdefs/web.json"));
    }

    #[test]
    fn not_an_object() {
        assert!(render_err(json!([1])).contains("expected a JSON object"));
        assert!(render_err(json!({"family": "web"})).contains("containerDefinitions"));
    }

    #[test]
    fn typos_in_templates_are_silently_dropped() {
        let err = render(
            &template(json!({
                "memoryy": "512",
                "containerDefinitions": [{
                    "name": "app",
                    "image": "{{ image }}",
                    "logConfiguraton": {"logDriver": "awslogs"}
                }]
            })),
            &RenderContext::new(&release(), &vars()),
        )
        .unwrap_err();
        let lines: Vec<&str> = err.message().lines().collect();
        assert_eq!(
            lines,
            [
                "taskdefs/web.json: $.memoryy: unknown key (AWS would silently ignore it); did you mean `memory`?",
                "taskdefs/web.json: $.containerDefinitions[0].logConfiguraton: unknown key (AWS would silently ignore it); did you mean `logConfiguration`?",
            ]
        );
        assert!(
            err.hints()[0].contains("RegisterTaskDefinition"),
            "{:?}",
            err.hints()
        );
    }

    #[test]
    fn enum_values_are_checked_after_rendering() {
        let mut v = vars();
        v.insert("mode".into(), toml::Value::String("awsvpcc".into()));
        let err = render(
            &template(json!({"networkMode": "{{ vars.mode }}", "containerDefinitions": []})),
            &RenderContext::new(&release(), &v),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("taskdefs/web.json: $.networkMode: `awsvpcc` is not one of"),
            "{err}"
        );
    }

    #[test]
    fn a_describe_dump_with_every_read_only_field_validates() {
        let r = render_ok(json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
                "family": "web",
                "revision": 3,
                "status": "DELETE_IN_PROGRESS",
                "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
                "compatibilities": ["EC2", "FARGATE"],
                "registeredAt": "2024-01-01T00:00:00Z",
                "registeredBy": "arn:aws:iam::1:user/me",
                "deregisteredAt": "2024-02-01T00:00:00Z",
                "deleteRequestedAt": "2024-03-01T00:00:00Z",
                "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]
            }
        }));
        assert_eq!(r.warnings.len(), READ_ONLY_FIELDS.len());
        assert!(r.body.get("deleteRequestedAt").is_none());
    }

    #[test]
    fn a_template_init_writes_from_a_real_describe_response_validates() {
        // DescribeTaskDefinition of a Fargate revision as AWS returns it, ECS defaults included.
        let describe = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
            "containerDefinitions": [{
                "name": "app",
                "image": "repo.example.com/web:v6",
                "cpu": 0,
                "portMappings": [{
                    "containerPort": 80, "hostPort": 80, "protocol": "tcp",
                    "name": "app-80-tcp", "appProtocol": "http"
                }],
                "essential": true,
                "environment": [{"name": "RELEASE", "value": "v6"}],
                "environmentFiles": [],
                "mountPoints": [],
                "volumesFrom": [],
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}],
                "ulimits": [],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/web", "awslogs-create-group": "true"},
                    "secretOptions": []
                },
                "systemControls": [],
                "versionConsistency": "enabled",
                "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3}
            }],
            "family": "web",
            "taskRoleArn": "arn:aws:iam::1:role/web",
            "executionRoleArn": "arn:aws:iam::1:role/exec",
            "networkMode": "awsvpc",
            "revision": 3,
            "volumes": [],
            "status": "ACTIVE",
            "requiresAttributes": [
                {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
                {"name": "ecs.capability.task-eni"}
            ],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 21},
            "registeredAt": 1700000000.123,
            "registeredBy": "arn:aws:iam::1:user/me",
            "enableFaultInjection": false,
            "tags": [
                {"key": "team", "value": "batch"},
                {"key": "jobdeploy:release", "value": "v6"}
            ]
        });
        let image = ImageRef::parse("repo.example.com/web").unwrap();
        let written = crate::init::template_from(&describe, &image);
        let r = render_ok(written.body);
        assert_eq!(
            r.body["containerDefinitions"][0]["image"],
            "repo.example.com/web:v7"
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn the_example_templates_validate() {
        let mut v = vars();
        for (name, value) in [
            ("account_id", "123456789012"),
            ("rails_env", "production"),
            ("region", "us-east-1"),
        ] {
            v.insert(name.into(), toml::Value::String(value.into()));
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("taskdefs");
        let templates = load_templates(&dir).unwrap();
        assert!(templates.len() >= 2);
        for t in &templates {
            if let Err(e) = render(t, &RenderContext::new(&release(), &v)) {
                panic!("{}: {e}", t.path.display());
            }
        }
    }

    #[test]
    fn tags_split_and_rebuilt() {
        let (body, tags) =
            split_tags(&json!({"family": "web", "tags": [{"key": "a", "value": "b"}]}));
        assert!(body.get("tags").is_none());
        assert_eq!(tags, [("a".to_string(), "b".to_string())]);
        assert_eq!(tags_json(&tags), json!([{"key": "a", "value": "b"}]));
    }
}
