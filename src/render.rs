//! `taskdefs/<family>.json` → the RegisterTaskDefinition request body. Templates are rendered
//! per JSON string value, so no variable can change the JSON structure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use minijinja::{Environment, UndefinedBehavior, Value as Jinja};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::manifest::Release;
use crate::model::READ_ONLY_FIELDS;
use crate::secrets::looks_secret;

pub(crate) mod schema;

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
        let named = crate::model::TaskDefRef::parse(arn).family;
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

#[cfg(test)]
mod tests;
