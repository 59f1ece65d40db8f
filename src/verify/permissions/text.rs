//! The words of the permission checks: what a role may not do, why IAM says so, and the
//! statement that fixes it. (Here, not in report/: report reads verify's findings, so verify
//! may not import it.)

use serde_json::{Value, json};

use super::{Cause, Whose};

pub const MANAGED_TAGS: &str = "the target only turns on ECS managed tags, and AWS does not document whether those alone make RunTask ask for ecs:TagResource";
pub const ON_EC2: &str = "the task runs, or may run, on container instances, whose instance role may pull and log instead";
pub const REPOSITORY_POLICY: &str = "the repository policy";
pub const SHARED_PARAMETER: &str = "the parameter's resource policy (it is in another account)";
pub const SECRET_POLICY: &str = "the secret's resource policy";
pub const KEY_POLICY: &str = "the key policy";
pub const ORGANIZATIONS: &str = "a service control policy may test what a simulation cannot supply (the caller's tags, its source, the time)";
pub const NOT_SIMULATED: &str = "not simulated";

/// The statement to add, as compact JSON.
pub fn statement(action: &str, resource: &str, condition: Option<&Value>) -> String {
    let mut s = json!({"Effect": "Allow", "Action": action, "Resource": resource});
    if let Some(c) = condition {
        s["Condition"] = c.clone();
    }
    s.to_string()
}

fn why(cause: &Cause) -> String {
    match cause {
        Cause::Denied(policies) if policies.is_empty() => "a Deny statement refuses it".into(),
        Cause::Denied(policies) => {
            format!("a Deny statement in {} refuses it", policies.join(", "))
        }
        Cause::Organizations => {
            "a service control policy (SCP) of your AWS Organization refuses it".into()
        }
        Cause::Boundary => "its permissions boundary does not allow it".into(),
        Cause::NotAllowed => "no statement of its policies allows it".into(),
    }
}

/// `(problem, fix)` of a denied action.
pub fn denied(
    role: &str,
    action: &str,
    resource: &str,
    cause: &Cause,
    statement: &str,
) -> (String, String) {
    let problem = format!("role {role} may not {action} on {resource}: {}", why(cause));
    let fix = match cause {
        Cause::Denied(_) => format!(
            "remove or narrow the Deny statement matching {action} on {resource} in role {role}'s policies"
        ),
        Cause::Organizations => format!(
            "ask your AWS Organizations administrator to let role {role} {action} on {resource} (the SCP denies it; no policy of the role can)"
        ),
        Cause::Boundary => {
            format!("add to role {role}'s permissions boundary policy: {statement}")
        }
        Cause::NotAllowed => format!("add to role {role}'s policies: {statement}"),
    };
    (problem, fix)
}

/// A failed check's problem: what is denied, what that does, and any warnings beside it.
pub fn fail_problem(problems: &[String], warnings: &[String], whose: Whose) -> String {
    let consequence = match whose {
        Whose::Target => "the schedule fires and no task starts (only FailedInvocations counts it)",
        Whose::Execution => "ECS cannot start the task's containers",
    };
    let mut text = format!("{}: {consequence}", problems.join("; "));
    for w in warnings {
        text.push_str("; ");
        text.push_str(w);
    }
    text
}

pub fn unless_resource_policy(problem: &str, policy: &str, fix: &str) -> String {
    format!("{problem}, unless {policy} allows it (verify cannot read it); else {fix}")
}

pub fn uncertain(problem: &str, why: &str, fix: &str) -> String {
    format!("{problem}; this may not matter: {why}; to be sure, {fix}")
}

/// IAM could not decide without context keys verify does not send.
pub fn undecided(
    role: &str,
    action: &str,
    resource: &str,
    missing: &[String],
    fix: &str,
) -> String {
    format!(
        "role {role} {action} on {resource}: not decided: its policies test {}, which verify cannot supply; if they do not hold when the schedule fires, {fix}",
        missing.join(", ")
    )
}

pub fn allowed_with_missing_context(
    role: &str,
    action: &str,
    resource: &str,
    missing: &[String],
) -> String {
    format!(
        "role {role} may {action} on {resource}, but its policies also test {}, which verify cannot supply: check those conditions",
        missing.join(", ")
    )
}

pub fn refused(role: &str, message: &str) -> String {
    format!("not checked: iam:SimulatePrincipalPolicy on role {role} failed: {message}")
}

/// The one warning for the roles jobdeploy may not simulate.
pub fn simulation_denied(roles: &[&str]) -> String {
    format!(
        "not checked: no permission for iam:SimulatePrincipalPolicy on role {} (add it: `jobdeploy iam-policy` lists it)",
        roles.join(", ")
    )
}

/// A parameter whose KMS key verify could not read.
pub fn key_unknown(parameter: &str, permission: &str) -> String {
    format!(
        "which KMS key encrypts parameter {parameter} is not known (no permission for {permission}): if it is a customer managed key, the role also needs kms:Decrypt on it"
    )
}
