//! IAM: does a role exist, and what is its trust policy; and what would its policies let it
//! do (`iam:SimulatePrincipalPolicy`). Read only (`verify`).

use serde_json::Value;

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};

use super::pace::Group;
use super::{Aws, Lookup, error_code, failed, is_denied, next_token};
use crate::error::Result;

/// A role as `verify` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub arn: String,
    /// The trust (assume-role) policy, decoded: IAM returns it URL-encoded.
    pub trust: Value,
}

/// The role's name from its ARN (`arn:aws:iam::123:role/path/name` → `name`), or the
/// name itself.
pub fn role_name(arn_or_name: &str) -> &str {
    match arn_or_name.split_once(":role/") {
        Some((_, path)) => path.rsplit('/').next().unwrap_or(path),
        None => arn_or_name,
    }
}

pub async fn role(aws: &Aws, arn_or_name: &str) -> Result<Lookup<Role>> {
    let name = role_name(arn_or_name);
    let result = aws
        .iam
        .call(Group::Iam, "GetRole", || {
            aws.iam.get_role().role_name(name).send()
        })
        .await;
    match result {
        Ok(out) => {
            let Some(role) = out.role() else {
                return Ok(Lookup::Missing);
            };
            let document = role.assume_role_policy_document().unwrap_or_default();
            Ok(Lookup::Found(Role {
                arn: role.arn().to_string(),
                trust: decode_policy(document),
            }))
        }
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(Lookup::Missing),
        Err(e) if is_denied(&e) => Ok(Lookup::Denied("iam:GetRole")),
        Err(e) => Err(failed("IAM GetRole", name, &e)),
    }
}

/// One `SimulatePrincipalPolicy` question: may `role` do each of `actions` on each of
/// `resources`, with these string context values?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub role: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub context: Vec<(String, String)>,
}

/// IAM's decision on one action (top level) or one action on one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// `allowed`, `explicitDeny` or `implicitDeny`, as IAM spells them.
    pub decision: String,
    pub missing_context: Vec<String>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when present.
    pub allowed_by_boundary: Option<bool>,
    /// `SourcePolicyId` of the matched statements (for a deny: the policy that denies).
    pub policies: Vec<String>,
}

/// One `EvaluationResult`: per action, with its per-resource results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub action: String,
    /// `EvalResourceName`: a resource ARN (older answers, one result per resource), an ARN
    /// template or `*` (one result per action, the decision is the most restrictive).
    pub resource: Option<String>,
    pub top: Decided,
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`, when present.
    pub allowed_by_organizations: Option<bool>,
    pub resources: Vec<(String, Decided)>,
}

/// What the simulation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simulated {
    Answered(Vec<Evaluation>),
    /// jobdeploy may not call `iam:SimulatePrincipalPolicy` on this role.
    Denied,
    /// IAM refused the question (the role is gone, an input it rejects): its message.
    Refused(String),
}

/// The largest page IAM returns (`MaxItems` 1..1000, default 100), read to the end with
/// `Marker`: botocore's IAM model, botocore/data/iam/2010-05-08/service-2.json
/// (`maxItemsType`, paginator `SimulatePrincipalPolicy`), and
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html.
/// `ActionNames` and `ResourceArns` have no documented size limit there.
const PAGE: i32 = 1000;

fn decided(
    decision: &PolicyEvaluationDecisionType,
    missing: &[String],
    boundary: Option<&aws_sdk_iam::types::PermissionsBoundaryDecisionDetail>,
    statements: &[aws_sdk_iam::types::Statement],
) -> Decided {
    Decided {
        decision: decision.as_str().to_string(),
        missing_context: missing.to_vec(),
        allowed_by_boundary: boundary.map(|b| b.allowed_by_permissions_boundary()),
        policies: statements
            .iter()
            .filter_map(|s| s.source_policy_id().map(str::to_string))
            .collect(),
    }
}

/// Asks IAM, page by page; paced in the `iam` quota group.
pub async fn simulate(aws: &Aws, question: &Simulation) -> Result<Simulated> {
    let context: Vec<ContextEntry> = question
        .context
        .iter()
        .map(|(key, value)| {
            ContextEntry::builder()
                .context_key_name(key)
                .context_key_values(value)
                .context_key_type(ContextKeyTypeEnum::String)
                .build()
        })
        .collect();
    let mut evaluations = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let result = aws
            .iam
            .call(Group::Iam, "SimulatePrincipalPolicy", || {
                aws.iam
                    .simulate_principal_policy()
                    .policy_source_arn(&question.role)
                    .set_action_names(Some(question.actions.clone()))
                    .set_resource_arns(Some(question.resources.clone()))
                    .set_context_entries((!context.is_empty()).then(|| context.clone()))
                    .max_items(PAGE)
                    .set_marker(marker.clone())
                    .send()
            })
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if is_denied(&e) => return Ok(Simulated::Denied),
            // Any other error — IAM refusing the question (NoSuchEntity, InvalidInput,
            // PolicyEvaluation), throttling past the retries, a 5xx — leaves this role
            // unchecked: a warning naming it, never an aborted deploy for a check that
            // could not run.
            Err(e) => return Ok(Simulated::Refused(super::describe_error(&e))),
        };
        for r in out.evaluation_results() {
            evaluations.push(Evaluation {
                action: r.eval_action_name().to_string(),
                resource: r.eval_resource_name().map(str::to_string),
                top: decided(
                    r.eval_decision(),
                    r.missing_context_values(),
                    r.permissions_boundary_decision_detail(),
                    r.matched_statements(),
                ),
                allowed_by_organizations: r
                    .organizations_decision_detail()
                    .map(|o| o.allowed_by_organizations()),
                resources: r
                    .resource_specific_results()
                    .iter()
                    .map(|s| {
                        (
                            s.eval_resource_name().to_string(),
                            decided(
                                s.eval_resource_decision(),
                                s.missing_context_values(),
                                s.permissions_boundary_decision_detail(),
                                s.matched_statements(),
                            ),
                        )
                    })
                    .collect(),
            });
        }
        marker = next_token(out.marker()).filter(|_| out.is_truncated());
        if marker.is_none() {
            return Ok(Simulated::Answered(evaluations));
        }
    }
}

/// A policy document as IAM returns it (URL-encoded JSON), or as some emulators do (plain
/// JSON). Unparseable text becomes `null`, which trusts no one.
pub fn decode_policy(document: &str) -> Value {
    if let Ok(v) = serde_json::from_str(document) {
        return v;
    }
    serde_json::from_str(&percent_decode(document)).unwrap_or(Value::Null)
}

/// `%7B%22a%22` → `{"a"`; `+` stays `+` (IAM encodes spaces as `%20`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_names_from_arns_with_and_without_paths() {
        assert_eq!(role_name("arn:aws:iam::123:role/ecs-exec"), "ecs-exec");
        assert_eq!(
            role_name("arn:aws:iam::123:role/service/ecs-exec"),
            "ecs-exec"
        );
        assert_eq!(role_name("ecs-exec"), "ecs-exec");
    }

    #[test]
    fn policies_decode_url_encoded_or_plain() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy(encoded),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(
            decode_policy(r#"{"Statement": []}"#),
            json!({"Statement": []})
        );
        assert_eq!(decode_policy("%7Bnot json"), Value::Null);
    }
}
