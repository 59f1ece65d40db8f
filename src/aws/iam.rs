//! IAM: does a role exist, and what is its trust policy? Read only (`verify`).

use serde_json::Value;

use super::pace::Group;
use super::{Aws, Lookup, error_code, failed, is_denied};
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
