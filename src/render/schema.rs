//! Every rendered template is checked against the RegisterTaskDefinition input shape of the
//! official ECS API model, because AWS silently ignores members it does not know: a typo such
//! as `logConfiguraton` would register a revision without it, and the plan would never
//! converge. The shape is a key/type tree generated from botocore's
//! `botocore/data/ecs/2014-11-13/service-2.json` by `scripts/gen-ecs-schema`.

use std::fmt;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

const MODEL_JSON: &str = include_str!("ecs_register_task_definition.json");

static MODEL: LazyLock<Result<Model, String>> = LazyLock::new(|| Model::parse(MODEL_JSON));

/// The embedded model, parsed once.
pub fn model() -> Result<&'static Model> {
    MODEL.as_ref().map_err(|e| {
        Error::new(format!(
            "the embedded ECS API model (src/render/ecs_register_task_definition.json) is broken: {e}"
        ))
        .hint("regenerate it with scripts/gen-ecs-schema")
    })
}

#[derive(Debug)]
pub struct Model {
    /// The botocore release the tree was generated from.
    pub botocore: String,
    pub input: Shape,
}

#[derive(Debug)]
pub enum Shape {
    /// `values` empty: any string.
    String {
        values: Vec<String>,
    },
    Integer,
    Long,
    Boolean,
    Double,
    Timestamp,
    Blob,
    List(Box<Shape>),
    /// String keys (`keys` empty: any key), values of one shape.
    Map {
        keys: Vec<String>,
        value: Box<Shape>,
    },
    /// Members in model order, which is also the order suggestions prefer.
    Structure {
        members: Vec<(String, Shape)>,
        required: Vec<String>,
    },
}

impl Model {
    fn parse(text: &str) -> Result<Self, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let field = |name: &str| root.get(name).ok_or(format!("no `{name}`"));
        let botocore = field("botocore")?
            .as_str()
            .ok_or("`botocore` is not a string")?
            .to_string();
        let input = Shape::parse(field("input")?, "input")?;
        Ok(Self { botocore, input })
    }
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .ok_or(format!("{at}: not a list"))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or(format!("{at}: {v} is not a string"))
        })
        .collect()
}

impl Shape {
    fn parse(node: &Value, at: &str) -> Result<Self, String> {
        let (kind, fields) = match node {
            Value::String(kind) => (kind.as_str(), None),
            Value::Object(fields) => (
                fields
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or(format!("{at}: no `type`"))?,
                Some(fields),
            ),
            other => return Err(format!("{at}: {other} is not a shape")),
        };
        let get = |name: &str| -> Result<&Value, String> {
            fields
                .and_then(|f| f.get(name))
                .ok_or(format!("{at}: a {kind} needs `{name}`"))
        };
        let optional_strings = |name: &str| -> Result<Vec<String>, String> {
            match fields.and_then(|f| f.get(name)) {
                Some(v) => strings(v, &format!("{at}.{name}")),
                None => Ok(Vec::new()),
            }
        };
        Ok(match kind {
            "string" => Shape::String {
                values: optional_strings("enum")?,
            },
            "integer" => Shape::Integer,
            "long" => Shape::Long,
            "boolean" => Shape::Boolean,
            "double" | "float" => Shape::Double,
            "timestamp" => Shape::Timestamp,
            "blob" => Shape::Blob,
            "list" => Shape::List(Box::new(Shape::parse(get("member")?, &format!("{at}[]"))?)),
            "map" => Shape::Map {
                keys: optional_strings("keys")?,
                value: Box::new(Shape::parse(get("value")?, &format!("{at}.*"))?),
            },
            "structure" => {
                let members = get("members")?
                    .as_object()
                    .ok_or(format!("{at}.members: not an object"))?
                    .iter()
                    .map(|(name, node)| {
                        Ok((name.clone(), Shape::parse(node, &format!("{at}.{name}"))?))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Shape::Structure {
                    members,
                    required: optional_strings("required")?,
                }
            }
            other => return Err(format!("{at}: unknown type `{other}`")),
        })
    }

    /// What the model wants here, in the words of an error message.
    fn expected(&self) -> &'static str {
        match self {
            Shape::String { .. } => "a string",
            Shape::Integer | Shape::Long => "an integer",
            Shape::Boolean => "true or false",
            Shape::Double => "a number",
            Shape::Timestamp => "a timestamp",
            Shape::Blob => "a base64 string",
            Shape::List(_) => "a list",
            Shape::Map { .. } | Shape::Structure { .. } => "an object",
        }
    }
}

/// One way a template disagrees with the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path from the request body: `$.containerDefinitions[0].logConfiguraton`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every place `body` disagrees with `shape`, in document order: unknown keys (with the
/// nearest valid key), wrong types, values outside an enum, missing required members. A
/// `null` counts as absent, as it does for AWS.
pub fn check(body: &Value, shape: &Shape) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(body, shape, "$", &mut problems);
    problems
}

fn walk(value: &Value, shape: &Shape, path: &str, out: &mut Vec<Problem>) {
    let problem = |message: String| Problem {
        path: path.to_string(),
        message,
    };
    if value.is_null() {
        return;
    }
    match (shape, value) {
        (Shape::String { values }, Value::String(s)) => {
            if !values.is_empty() && !values.contains(s) {
                let mut message = format!("`{s}` is not one of {}", quoted_list(values));
                if let Some(near) = nearest(s, values.iter().map(String::as_str)) {
                    message.push_str(&format!("; did you mean `{near}`?"));
                }
                out.push(problem(message));
            }
        }
        (Shape::Integer, Value::Number(n)) => {
            if n.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
                out.push(problem(format!("expected a 32-bit integer, found {n}")));
            }
        }
        (Shape::Long, Value::Number(n)) => {
            if n.as_i64().is_none() {
                out.push(problem(format!("expected an integer, found {n}")));
            }
        }
        (Shape::Boolean, Value::Bool(_))
        | (Shape::Double, Value::Number(_))
        | (Shape::Timestamp, Value::Number(_) | Value::String(_))
        | (Shape::Blob, Value::String(_)) => {}
        (Shape::List(member), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, member, &format!("{path}[{i}]"), out);
            }
        }
        (Shape::Map { keys, value: shape }, Value::Object(map)) => {
            for (key, child) in map {
                let at = format!("{path}.{key}");
                if !keys.is_empty() && !keys.contains(key) {
                    out.push(unknown_key(at, key, keys.iter().map(String::as_str)));
                    continue;
                }
                walk(child, shape, &at, out);
            }
        }
        (Shape::Structure { members, required }, Value::Object(map)) => {
            check_structure(map, members, required, path, out);
        }
        (expected, found) => {
            let mut message = format!("expected {}, found {}", expected.expected(), kind(found));
            if matches!(expected, Shape::String { .. })
                && matches!(found, Value::Number(_) | Value::Bool(_))
            {
                message.push_str(&format!(
                    " (the ECS API takes a string here: write \"{found}\")"
                ));
            }
            out.push(problem(message));
        }
    }
}

fn check_structure(
    map: &Map<String, Value>,
    members: &[(String, Shape)],
    required: &[String],
    path: &str,
    out: &mut Vec<Problem>,
) {
    for (key, child) in map {
        let at = format!("{path}.{key}");
        match members.iter().find(|(name, _)| name == key) {
            Some((_, shape)) => walk(child, shape, &at, out),
            None => out.push(unknown_key(
                at,
                key,
                members.iter().map(|(name, _)| name.as_str()),
            )),
        }
    }
    for name in required {
        if map.get(name).is_none_or(Value::is_null) {
            out.push(Problem {
                path: format!("{path}.{name}"),
                message: "is required".into(),
            });
        }
    }
}

fn unknown_key<'a>(
    path: String,
    key: &str,
    valid: impl Iterator<Item = &'a str> + Clone,
) -> Problem {
    let mut message = "unknown key (AWS would silently ignore it)".to_string();
    match nearest(key, valid.clone()) {
        Some(near) => message.push_str(&format!("; did you mean `{near}`?")),
        None => {
            let valid: Vec<&str> = valid.collect();
            if valid.len() <= 12 {
                message.push_str(&format!("; valid keys here: {}", quoted_list(&valid)));
            }
        }
    }
    Problem { path, message }
}

fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The candidate closest to `word` (case-insensitively), if close enough to be a typo of it:
/// within 2 edits, or a third of the characters for long names, and never a whole rewrite.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| {
            let longer = word.chars().count().max(c.chars().count());
            *distance <= (longer / 3).max(2) && *distance < longer
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Levenshtein distance: insertions, deletions and substitutions of one character each.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;
