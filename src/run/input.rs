//! What EventBridge and Scheduler pass to RunTask as `overrides`: a rule target's `Input`, or
//! its `InputPath` / `InputTransformer` applied to the event the rule sends; a schedule's
//! `Input` with Scheduler's context attributes filled in. Pure: the event, the target and
//! the facts of the rule or schedule in, the overrides out, table-tested against AWS's
//! documented examples.
//!
//! The rules, from AWS's documents and from deliveries recorded against AWS:
//! - <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>:
//!   up to 100 variables; a JSON path subset (dot notation, dashes, underscores,
//!   alphanumerics, array indices, wildcards, forward slashes); the reserved variables
//!   `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time` (ISO
//!   8601), `aws.events.event` (the event without `detail`) and `aws.events.event.json` (the
//!   whole event), the last two only as the value of a JSON field; a variable whose path
//!   matches nothing "isn't created and won't appear in the output".
//! - <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-input-transformation.html>:
//!   "EventBridge replaces input transformers at runtime to ensure a valid JSON output":
//!   quote variables that hold strings, never ones that hold objects or arrays.
//! - <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html>:
//!   in a JSON-object template a placeholder is never an object key; variables may be
//!   inside quotes or out.
//! - What AWS delivered, recorded by LocalStack's AWS-validated tests
//!   (github.com/localstack/localstack, tests/aws/services/events/test_events_inputs.snapshot.json):
//!   an unquoted string variable becomes a JSON string (`{"id": <v>}` → `{"id": "0a78…"}`),
//!   a quoted one its text; an unquoted variable whose path matches nothing becomes `""`;
//!   objects and arrays are inserted as JSON, and inside a string template with their inner
//!   quotes removed (`{acc_id:0a78…,sf_id:baz}`, `[ACTIVE,INACTIVE]`); an object inside
//!   quotes in a JSON template makes invalid JSON, and EventBridge delivers nothing;
//!   `aws.events.event` spells `detail-type` as `detailType`.
//! - The Scheduled Event: <https://docs.aws.amazon.com/eventbridge/latest/userguide/event-reference.html>.
//! - Scheduler's context attributes:
//!   <https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html>.

use serde_json::{Map, Value, json};

/// The most variables an `InputPathsMap` may hold (API_InputTransformer).
pub const MAX_VARIABLES: usize = 100;

/// How a rule target shapes what it passes on.
#[derive(Debug, Clone, PartialEq)]
pub enum Shaping {
    /// `Input` (constant), or nothing at all: the event plays no part.
    Constant,
    /// `InputPath`: the part of the event the path selects.
    Path(String),
    /// `InputTransformer`: variables from the event filled into a template.
    Transformer {
        paths: Vec<(String, String)>,
        template: String,
    },
}

impl Shaping {
    /// What the rule target does: `Input` wins (EventBridge allows only one of the three).
    pub fn of(target: &Value) -> Shaping {
        if target.get("Input").and_then(Value::as_str).is_some() {
            return Shaping::Constant;
        }
        if let Some(path) = target.get("InputPath").and_then(Value::as_str) {
            return Shaping::Path(path.to_string());
        }
        let Some(transformer) = target.get("InputTransformer") else {
            return Shaping::Constant;
        };
        let paths = transformer
            .get("InputPathsMap")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let template = transformer
            .get("InputTemplate")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Shaping::Transformer { paths, template }
    }

    /// How it is named in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Shaping::Constant => "Input",
            Shaping::Path(_) => "InputPath",
            Shaping::Transformer { .. } => "InputTransformer",
        }
    }
}

/// The rule whose target is shaped.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFacts {
    pub name: String,
    pub arn: String,
}

/// The event EventBridge sends to a scheduled rule's targets.
pub fn scheduled_event(id: &str, account: &str, region: &str, time: &str, rule_arn: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [rule_arn],
        "detail": {}
    })
}

/// An event id as EventBridge writes them: a version 4 UUID, from 128 bits of `seed`.
pub fn event_id(seed: u128) -> String {
    let mut bits = seed.to_be_bytes();
    bits[6] = (bits[6] & 0x0f) | 0x40;
    bits[8] = (bits[8] & 0x3f) | 0x80;
    let hex: String = bits.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// 128 well-mixed bits from a clock and a process id (SplitMix64 twice).
pub fn seed(now_nanos: u128, pid: u32) -> u128 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let low = mix((now_nanos as u64) ^ u64::from(pid));
    let high = mix(low ^ ((now_nanos >> 64) as u64) ^ 0x5851_f42d_4c95_7f2d);
    (u128::from(high) << 64) | u128::from(low)
}

/// Why EventBridge would pass the target no overrides it can use.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// More variables than EventBridge takes.
    TooManyVariables(usize),
    /// A variable named like a reserved one, which EventBridge refuses.
    Reserved(String),
    /// `InputPath` selects nothing.
    PathMatchesNothing(String),
    /// The template filled in is not JSON: EventBridge delivers nothing.
    NotJson { text: String, error: String },
    /// The result is JSON but not an object: RunTask takes `overrides` as an object.
    NotAnObject(String),
    /// An object or array placed inside quotes of a JSON template.
    ObjectInQuotes(String),
}

impl Refusal {
    /// What went wrong, for a message that names the rule and the transformer first.
    pub fn reason(&self) -> String {
        match self {
            Refusal::TooManyVariables(n) => format!(
                "its InputPathsMap has {n} variables; EventBridge takes at most {MAX_VARIABLES}"
            ),
            Refusal::Reserved(name) => {
                format!("its InputPathsMap defines `{name}`, a name EventBridge reserves")
            }
            Refusal::PathMatchesNothing(path) => {
                format!("its InputPath `{path}` matches nothing in the event")
            }
            Refusal::NotJson { text, error } => format!(
                "its InputTemplate filled in is not JSON ({error}): {text}; EventBridge would deliver nothing (FailedInvocations)"
            ),
            Refusal::NotAnObject(text) => format!(
                "it gives {text}, not a JSON object; an ECS target's input is RunTask's `overrides` object"
            ),
            Refusal::ObjectInQuotes(name) => format!(
                "its InputTemplate puts <{name}>, an object or array, inside quotes; the result is not JSON and EventBridge would deliver nothing (FailedInvocations)"
            ),
        }
    }
}

/// The overrides the target passes for `event` (`None`: the target passes no `Input`, so
/// RunTask gets no overrides).
pub fn overrides(
    shaping: &Shaping,
    event: &Value,
    rule: &RuleFacts,
) -> Result<Option<Value>, Refusal> {
    let value = match shaping {
        Shaping::Constant => return Ok(None),
        Shaping::Path(path) => match select(event, path) {
            Some(v) => v,
            None => return Err(Refusal::PathMatchesNothing(path.clone())),
        },
        Shaping::Transformer { paths, template } => {
            let text = transform(paths, template, event, rule)?;
            serde_json::from_str::<Value>(&text).map_err(|e| Refusal::NotJson {
                text: text.clone(),
                error: e.to_string(),
            })?
        }
    };
    match value {
        Value::Object(_) => Ok(Some(value)),
        other => Err(Refusal::NotAnObject(other.to_string())),
    }
}

/// The reserved variables' values for `event` sent by `rule`.
fn reserved(event: &Value, rule: &RuleFacts) -> Vec<(&'static str, Value)> {
    let mut without_detail = Map::new();
    if let Some(fields) = event.as_object() {
        for (k, v) in fields {
            match k.as_str() {
                "detail" => {}
                "detail-type" => {
                    without_detail.insert("detailType".into(), v.clone());
                }
                _ => {
                    without_detail.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let time = event.get("time").cloned().unwrap_or(Value::Null);
    vec![
        ("aws.events.rule-arn", Value::String(rule.arn.clone())),
        ("aws.events.rule-name", Value::String(rule.name.clone())),
        ("aws.events.event.ingestion-time", time),
        ("aws.events.event", Value::Object(without_detail)),
        ("aws.events.event.json", event.clone()),
    ]
}

/// The template with every `<variable>` filled in, as text (not yet checked to be JSON).
pub fn transform(
    paths: &[(String, String)],
    template: &str,
    event: &Value,
    rule: &RuleFacts,
) -> Result<String, Refusal> {
    if paths.len() > MAX_VARIABLES {
        return Err(Refusal::TooManyVariables(paths.len()));
    }
    let reserved = reserved(event, rule);
    let mut variables: Vec<(String, Option<Value>)> = Vec::new();
    for (name, path) in paths {
        if reserved.iter().any(|(r, _)| r == name) {
            return Err(Refusal::Reserved(name.clone()));
        }
        variables.push((name.clone(), select(event, path)));
    }
    for (name, value) in reserved {
        variables.push((name.to_string(), Some(value)));
    }
    fill(template, &variables)
}

/// Fills `<name>` placeholders. Inside a JSON string (between unescaped quotes) a value is
/// text: a string's content JSON-escaped, other scalars as JSON writes them, nothing for a
/// path that matched nothing; an object or array is refused in a JSON template and written
/// without its inner quotes in a string template. Outside quotes a value is JSON: a string
/// quoted, `""` for nothing. `<` not followed by a known name and `>` is kept as it is.
pub fn fill(template: &str, variables: &[(String, Option<Value>)]) -> Result<String, Refusal> {
    let json_template = template.trim_start().starts_with('{');
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && let Some((name, value)) = variables.iter().find(|(n, _)| *n == rest[1..end])
        {
            out.push_str(&render(name, value.as_ref(), in_string, json_template)?);
            rest = &rest[end + 1..];
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

fn render(
    name: &str,
    value: Option<&Value>,
    quoted: bool,
    json_template: bool,
) -> Result<String, Refusal> {
    let Some(value) = value else {
        return Ok(if quoted { String::new() } else { "\"\"".into() });
    };
    if !quoted {
        return Ok(value.to_string());
    }
    match value {
        Value::String(s) => {
            let quoted = Value::String(s.clone()).to_string();
            Ok(quoted[1..quoted.len() - 1].to_string())
        }
        Value::Object(_) | Value::Array(_) if json_template => {
            Err(Refusal::ObjectInQuotes(name.to_string()))
        }
        Value::Object(_) | Value::Array(_) => Ok(value.to_string().replace('"', "")),
        other => Ok(other.to_string()),
    }
}

/// What the JSON path `path` selects in `event` (EventBridge's subset: `$`, `.name` with
/// dashes, underscores and slashes, `[n]`, `[*]` and `.*`). A wildcard gives the array of
/// what it matched. `None`: nothing matched, or not a path EventBridge evaluates.
pub fn select(event: &Value, path: &str) -> Option<Value> {
    let rest = path.trim().strip_prefix('$')?;
    let steps = steps(rest)?;
    let mut current: Vec<&Value> = vec![event];
    let mut wildcard = false;
    for step in &steps {
        let mut next = Vec::new();
        for value in current {
            match step {
                Step::Field(name) => next.extend(value.get(name.as_str())),
                Step::Index(i) => next.extend(value.get(*i)),
                Step::All => match value {
                    Value::Array(items) => next.extend(items.iter()),
                    Value::Object(fields) => next.extend(fields.values()),
                    _ => {}
                },
            }
        }
        wildcard |= matches!(step, Step::All);
        current = next;
    }
    if wildcard {
        if current.is_empty() {
            return None;
        }
        return Some(Value::Array(current.into_iter().cloned().collect()));
    }
    current.first().map(|v| (*v).clone())
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
}

fn steps(mut rest: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() {
                return None;
            }
            steps.push(if name == "*" {
                Step::All
            } else {
                Step::Field(name.to_string())
            });
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inside = after[..end].trim();
            steps.push(if inside == "*" {
                Step::All
            } else if let Some(name) = inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
            {
                Step::Field(name.to_string())
            } else {
                Step::Index(inside.parse().ok()?)
            });
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// What Scheduler fills in when it invokes a schedule's target.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerContext {
    pub schedule_arn: String,
    /// When the schedule fires, e.g. `2022-03-22T18:59:43Z`.
    pub scheduled_time: String,
    /// Per attempt, e.g. `d32c5kddcf5bb8c3`.
    pub execution_id: String,
    /// `1` for the first attempt.
    pub attempt_number: u32,
}

/// A schedule's ARN, `arn:PARTITION:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME`
/// (the `schedule` resource of
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html>),
/// in the partition, region and
/// account of `cluster_arn` (the schedule's target): GetSchedule's own `Arn` is a read-only
/// field jobdeploy drops with the others.
pub fn schedule_arn(cluster_arn: &str, group: &str, name: &str) -> String {
    let parts: Vec<&str> = cluster_arn.split(':').collect();
    let part = |i: usize, default: &'static str| parts.get(i).copied().unwrap_or(default);
    format!(
        "arn:{}:scheduler:{}:{}:schedule/{group}/{name}",
        part(1, "aws"),
        part(3, ""),
        part(4, "")
    )
}

/// A schedule's `Input` with Scheduler's context attributes replaced, wherever they are.
pub fn scheduler_input(input: &str, context: &SchedulerContext) -> String {
    input
        .replace("<aws.scheduler.schedule-arn>", &context.schedule_arn)
        .replace("<aws.scheduler.scheduled-time>", &context.scheduled_time)
        .replace("<aws.scheduler.execution-id>", &context.execution_id)
        .replace(
            "<aws.scheduler.attempt-number>",
            &context.attempt_number.to_string(),
        )
}

/// An execution id shaped like Scheduler's: 16 lowercase letters and digits.
pub fn execution_id(seed: u128) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = seed;
    (0..16)
        .map(|_| {
            let c = ALPHABET[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

/// `slot` (a rule target, or a schedule) with `input` as its target's `Input`, and the
/// fields that shaped it gone: what RunTask is built from.
pub fn with_input(slot: &Value, schedule: bool, input: &Value) -> Value {
    let mut slot = slot.clone();
    let target = if schedule {
        slot.get_mut("Target")
    } else {
        Some(&mut slot)
    };
    if let Some(Value::Object(target)) = target {
        target.remove("InputPath");
        target.remove("InputTransformer");
        target.insert("Input".into(), Value::String(input.to_string()));
    }
    slot
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
