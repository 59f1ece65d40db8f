//! `iam:SimulatePrincipalPolicy`, which moto (5.2.5) does not have, played over the policies
//! moto holds for the role: its inline policies (ListRolePolicies, GetRolePolicy), its
//! attached managed policies (ListAttachedRolePolicies, GetPolicy, GetPolicyVersion) and
//! its permissions boundary (GetRole), read from moto through its API.
//!
//! Evaluated as IAM does for one account: an explicit Deny wins, then an Allow (and, with a
//! boundary, the boundary's Allow too), else an implicit deny. `Action`/`NotAction` match
//! with IAM's wildcards (`*`, `?`) case-insensitively, `Resource`/`NotResource`
//! case-sensitively; `Condition` supports StringEquals, StringLike, ArnEquals and ArnLike on
//! the context the request sends — a key it does not send makes the statement not apply and
//! is listed in `MissingContextValues`. The answer has IAM's XML shape, one
//! `EvaluationResult` per action with `ResourceSpecificResults` per resource
//! (botocore/data/iam/2010-05-08/service-2.json: `SimulatePolicyResponse`,
//! `EvaluationResult`, `ResourceSpecificResult`). Paged as IAM pages it: at most `MaxItems`
//! evaluation results (one per action) a page — fewer when a test says so
//! ([`Simulator::set_page`]) — with `IsTruncated` and a `Marker` to go on from.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use serde_json::Value;

/// The request's form fields, decoded.
struct Question {
    role: String,
    actions: Vec<String>,
    resources: Vec<String>,
    context: BTreeMap<String, String>,
    /// `MaxItems` (IAM's default: 100).
    max_items: usize,
    /// `Marker`: here, the index of the first action of the page.
    marker: usize,
}

/// The simulator over moto's IAM, and the page size a test imposes (0: `MaxItems` only).
#[derive(Clone)]
pub(super) struct Simulator {
    iam: aws_sdk_iam::Client,
    page: Arc<AtomicUsize>,
}

impl Simulator {
    pub(super) fn new(iam: aws_sdk_iam::Client) -> Self {
        Self {
            iam,
            page: Arc::default(),
        }
    }

    pub(super) fn set_page(&self, results: usize) {
        self.page.store(results, Ordering::SeqCst);
    }

    /// The answer to a `SimulatePrincipalPolicy` request `body`.
    pub(super) async fn answer(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let cap = self.page.load(Ordering::SeqCst);
        answer(&self.iam, body, cap).await
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let Some(b) = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn question(body: &[u8]) -> Question {
    let form: BTreeMap<String, String> = std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let list = |prefix: &str| -> Vec<String> {
        let mut items: Vec<(usize, String)> = form
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.parse().ok()?;
                Some((n, v.clone()))
            })
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    };
    let mut context = BTreeMap::new();
    for n in 1.. {
        let Some(name) = form.get(&format!("ContextEntries.member.{n}.ContextKeyName")) else {
            break;
        };
        if let Some(value) = form.get(&format!(
            "ContextEntries.member.{n}.ContextKeyValues.member.1"
        )) {
            context.insert(name.to_ascii_lowercase(), value.clone());
        }
    }
    let number = |key: &str| form.get(key).and_then(|v| v.parse::<usize>().ok());
    Question {
        role: form.get("PolicySourceArn").cloned().unwrap_or_default(),
        actions: list("ActionNames.member."),
        resources: list("ResourceArns.member."),
        context,
        max_items: number("MaxItems").unwrap_or(100),
        marker: number("Marker").unwrap_or(0),
    }
}

/// A policy document as IAM returns it: URL-encoded JSON, or plain.
fn document(text: &str) -> Value {
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&decode(text)))
        .unwrap_or(Value::Null)
}

/// `(policy id, document)` of the role's identity policies, and its boundary's document;
/// `None` when the role does not exist.
async fn policies(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> Option<(Vec<(String, Value)>, Option<Value>)> {
    let name = role.rsplit('/').next().unwrap_or(role);
    let found = iam.get_role().role_name(name).send().await.ok()?;
    let boundary_arn = found
        .role()
        .and_then(|r| r.permissions_boundary())
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_string);
    let mut out = Vec::new();
    let inline = iam.list_role_policies().role_name(name).send().await.ok()?;
    for policy in inline.policy_names() {
        let got = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .ok()?;
        out.push((policy.clone(), document(got.policy_document())));
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .ok()?;
    for policy in attached.attached_policies() {
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        if let Some(doc) = managed(iam, arn).await {
            out.push((arn.to_string(), doc));
        }
    }
    let boundary = match boundary_arn {
        Some(arn) => managed(iam, &arn).await,
        None => None,
    };
    Some((out, boundary))
}

async fn managed(iam: &aws_sdk_iam::Client, arn: &str) -> Option<Value> {
    let policy = iam.get_policy().policy_arn(arn).send().await.ok()?;
    let version = policy.policy()?.default_version_id()?.to_string();
    let got = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .ok()?;
    Some(document(got.policy_version()?.document()?))
}

/// IAM's wildcards: `*` any run of characters, `?` one.
fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star) = (0, 0, None);
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A condition operator the simulator does not evaluate: IAM is answered `InvalidInput`
/// rather than the statement silently not applying (a Deny ignored would read as allowed).
struct Unsupported(String);

/// Whether the statement applies to `action` on `resource` in `context`; a condition key
/// the context lacks goes to `missing` (and, as IAM evaluates, makes a negated operator or
/// an `…IfExists` one true, any other false).
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
fn applies(
    s: &Value,
    action: &str,
    resource: &str,
    context: &BTreeMap<String, String>,
    missing: &mut BTreeSet<String>,
) -> Result<bool, Unsupported> {
    let action = action.to_ascii_lowercase();
    let action_matches = |key: &str| {
        strings(s.get(key))
            .iter()
            .any(|p| matches(&p.to_ascii_lowercase(), &action))
    };
    let in_action = if s.get("NotAction").is_some() {
        !action_matches("NotAction")
    } else {
        action_matches("Action")
    };
    let resource_matches = |key: &str| strings(s.get(key)).iter().any(|p| matches(p, resource));
    let in_resource = if s.get("NotResource").is_some() {
        !resource_matches("NotResource")
    } else {
        resource_matches("Resource")
    };
    if !in_action || !in_resource {
        return Ok(false);
    }
    let Some(conditions) = s.get("Condition").and_then(Value::as_object) else {
        return Ok(true);
    };
    for (operator, keys) in conditions {
        let Some(keys) = keys.as_object() else {
            return Err(Unsupported(operator.clone()));
        };
        let (base, if_exists) = match operator.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (operator.as_str(), false),
        };
        let (negated, like) = match base {
            "StringEquals" | "ArnEquals" => (false, false),
            "StringLike" | "ArnLike" => (false, true),
            "StringNotEquals" | "ArnNotEquals" => (true, false),
            "StringNotLike" | "ArnNotLike" => (true, true),
            _ => return Err(Unsupported(operator.clone())),
        };
        for (key, wanted) in keys {
            let Some(have) = context.get(&key.to_ascii_lowercase()) else {
                missing.insert(key.clone());
                if negated || if_exists {
                    continue;
                }
                return Ok(false);
            };
            let wanted = strings(Some(wanted));
            let matched = wanted
                .iter()
                .any(|w| if like { matches(w, have) } else { w == have });
            if matched == negated {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

struct Decision {
    decision: &'static str,
    policies: Vec<String>,
    missing: BTreeSet<String>,
    boundary_allows: Option<bool>,
}

fn decide(
    identity: &[(String, Value)],
    boundary: Option<&Value>,
    action: &str,
    resource: &str,
    context: &BTreeMap<String, String>,
) -> Result<Decision, Unsupported> {
    let mut missing = BTreeSet::new();
    let mut denied = Vec::new();
    let mut allowed = Vec::new();
    for (id, doc) in identity {
        for s in statements(doc) {
            if !applies(s, action, resource, context, &mut missing)? {
                continue;
            }
            match s.get("Effect").and_then(Value::as_str) {
                Some("Deny") => denied.push(id.clone()),
                Some("Allow") => allowed.push(id.clone()),
                _ => {}
            }
        }
    }
    let boundary_allows = match boundary {
        Some(b) => {
            let mut ignored = BTreeSet::new();
            let mut effects = Vec::new();
            for s in statements(b) {
                if applies(s, action, resource, context, &mut ignored)? {
                    effects.extend(s.get("Effect").and_then(Value::as_str));
                }
            }
            Some(effects.contains(&"Allow") && !effects.contains(&"Deny"))
        }
        None => None,
    };
    let (decision, policies) = if !denied.is_empty() {
        ("explicitDeny", denied)
    } else if !allowed.is_empty() && boundary_allows != Some(false) {
        ("allowed", allowed)
    } else {
        ("implicitDeny", Vec::new())
    };
    Ok(Decision {
        decision,
        policies,
        missing,
        boundary_allows,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn members(tag: &str, items: &[String]) -> String {
    let inner: String = items
        .iter()
        .map(|i| format!("<member>{}</member>", escape(i)))
        .collect();
    format!("<{tag}>{inner}</{tag}>")
}

fn details(d: &Decision) -> String {
    let statements: String = d
        .policies
        .iter()
        .map(|p| {
            let kind = if p.starts_with("arn:") { "user-managed" } else { "role" };
            format!(
                "<member><SourcePolicyId>{}</SourcePolicyId><SourcePolicyType>{kind}</SourcePolicyType></member>",
                escape(p)
            )
        })
        .collect();
    let missing: Vec<String> = d.missing.iter().cloned().collect();
    let boundary = d
        .boundary_allows
        .map(|b| {
            format!(
                "<PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>{b}</AllowedByPermissionsBoundary></PermissionsBoundaryDecisionDetail>"
            )
        })
        .unwrap_or_default();
    format!(
        "<MatchedStatements>{statements}</MatchedStatements>{}{boundary}",
        members("MissingContextValues", &missing)
    )
}

/// The answer to a `SimulatePrincipalPolicy` request `body`: the page from `Marker`, at
/// most `MaxItems` results, and at most `cap` when it is not 0.
async fn answer(iam: &aws_sdk_iam::Client, body: &[u8], cap: usize) -> Response<Full<Bytes>> {
    let q = question(body);
    let Some((identity, boundary)) = policies(iam, &q.role).await else {
        return xml(
            404,
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name {} cannot be found.</Message></Error><RequestId>proxy</RequestId></ErrorResponse>",
                escape(&q.role)
            ),
        );
    };
    let resources = if q.resources.is_empty() {
        vec!["*".to_string()]
    } else {
        q.resources.clone()
    };
    let mut page = q.max_items.max(1);
    if cap > 0 {
        page = page.min(cap);
    }
    let end = (q.marker + page).min(q.actions.len());
    let truncated = end < q.actions.len();
    let mut results = String::new();
    for action in q.actions.get(q.marker..end).unwrap_or_default() {
        let mut per: Vec<(String, Decision)> = Vec::new();
        for r in &resources {
            match decide(&identity, boundary.as_ref(), action, r, &q.context) {
                Ok(d) => per.push((r.clone(), d)),
                Err(Unsupported(operator)) => {
                    return xml(
                        400,
                        format!(
                            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidInput</Code><Message>the test proxy does not evaluate condition operator {}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>",
                            escape(&operator)
                        ),
                    );
                }
            }
        }
        // The top level is the most restrictive decision across the resources.
        let rank = |d: &str| match d {
            "explicitDeny" => 2,
            "implicitDeny" => 1,
            _ => 0,
        };
        let top = per
            .iter()
            .map(|(_, d)| d.decision)
            .max_by_key(|d| rank(d))
            .unwrap_or("implicitDeny");
        let specific: String = per
            .iter()
            .map(|(r, d)| {
                format!(
                    "<member><EvalResourceName>{}</EvalResourceName><EvalResourceDecision>{}</EvalResourceDecision>{}</member>",
                    escape(r),
                    d.decision,
                    details(d)
                )
            })
            .collect();
        results.push_str(&format!(
            "<member><EvalActionName>{}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>{top}</EvalDecision><MatchedStatements/><MissingContextValues/><ResourceSpecificResults>{specific}</ResourceSpecificResults></member>",
            escape(action)
        ));
    }
    let marker = if truncated {
        format!("<Marker>{end}</Marker>")
    } else {
        String::new()
    };
    xml(
        200,
        format!(
            "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>{truncated}</IsTruncated>{marker}<EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn applies_to(statement: Value, context: &[(&str, &str)]) -> Result<bool, Unsupported> {
        let context = context
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
            .collect();
        let mut missing = BTreeSet::new();
        applies(&statement, "ecs:RunTask", "arn:x", &context, &mut missing)
    }

    /// The review's bug: an operator the simulator did not know made its statement not
    /// apply — a Deny silently ignored — and a missing key failed a negated condition,
    /// which IAM counts as true.
    #[test]
    fn negated_and_if_exists_conditions_hold_on_a_missing_key_and_unknown_operators_are_refused() {
        let deny = |operator: &str| {
            json!({"Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*",
                   "Condition": {operator: {"aws:RequestedRegion": "us-east-1"}}})
        };
        assert!(matches!(applies_to(deny("StringNotEquals"), &[]), Ok(true)));
        assert!(matches!(
            applies_to(
                deny("StringNotEquals"),
                &[("aws:RequestedRegion", "us-east-1")]
            ),
            Ok(false)
        ));
        assert!(matches!(
            applies_to(
                deny("StringNotEquals"),
                &[("aws:RequestedRegion", "eu-west-1")]
            ),
            Ok(true)
        ));
        assert!(matches!(
            applies_to(deny("StringEqualsIfExists"), &[]),
            Ok(true)
        ));
        assert!(matches!(applies_to(deny("StringEquals"), &[]), Ok(false)));
        assert!(applies_to(deny("NumericLessThan"), &[]).is_err());
    }
}
