//! Secrets: every `secrets[].valueFrom` exists. SSM parameters are asked with
//! GetParameters, as ECS asks (names or ARNs, `:version` and `:label` selectors); Secrets
//! Manager secrets with DescribeSecret (metadata: values are never read), the JSON key and
//! version suffixes of the ARN understood. A parameter under `/aws/reference/secretsmanager/`
//! is a Secrets Manager secret that SSM hands out: it is asked with DescribeSecret on the
//! secret's name, never through GetParameters (which would need its value decrypted).
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html>

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Facts, Outcome, containers};
use crate::aws::Lookup;

/// Where a `valueFrom` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SSM parameter: the name or ARN as given (GetParameters takes both), its region.
    Parameter { name: String, region: String },
    /// A Secrets Manager secret: its ARN without the suffixes, its region, and the suffixes.
    Secret {
        arn: String,
        region: String,
        json_key: Option<String>,
        version_stage: Option<String>,
        version_id: Option<String>,
    },
    /// `/aws/reference/secretsmanager/NAME[:selector]` (a name or an SSM parameter ARN): the
    /// Secrets Manager secret NAME, which ECS fetches through SSM's GetParameters.
    Reference {
        secret: String,
        region: String,
        /// A version id or staging label after the name.
        selector: Option<String>,
    },
}

/// The prefix of SSM parameters that are Secrets Manager secrets.
const REFERENCE: &str = "/aws/reference/secretsmanager/";

/// `NAME[:selector]` → the secret's name and the selector.
fn reference(rest: &str) -> (String, Option<String>) {
    match rest.split_once(':') {
        Some((name, selector)) if !selector.is_empty() => {
            (name.to_string(), Some(selector.to_string()))
        }
        Some((name, _)) => (name.to_string(), None),
        None => (rest.to_string(), None),
    }
}

/// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key[:version-stage[:version-id]]]`,
/// `arn:…:ssm:REGION:ACCOUNT:parameter/NAME`, or a parameter name in the deploy's region.
pub fn parse(value_from: &str, region: &str) -> Source {
    let parts: Vec<&str> = value_from.split(':').collect();
    let nonempty = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_string())
    };
    let arn_region = |i: usize| nonempty(i).unwrap_or_else(|| region.to_string());
    if parts.first() == Some(&"arn") && parts.get(2) == Some(&"secretsmanager") && parts.len() >= 7
    {
        return Source::Secret {
            arn: parts[..7].join(":"),
            region: arn_region(3),
            json_key: nonempty(7),
            version_stage: nonempty(8),
            version_id: nonempty(9),
        };
    }
    if parts.first() == Some(&"arn") && parts.get(2) == Some(&"ssm") {
        if let Some((_, rest)) = value_from.split_once(&format!(":parameter{REFERENCE}")) {
            let (secret, selector) = reference(rest);
            return Source::Reference {
                secret,
                region: arn_region(3),
                selector,
            };
        }
        return Source::Parameter {
            name: value_from.to_string(),
            region: arn_region(3),
        };
    }
    if let Some(rest) = value_from.strip_prefix(REFERENCE) {
        let (secret, selector) = reference(rest);
        return Source::Reference {
            secret,
            region: region.to_string(),
            selector,
        };
    }
    Source::Parameter {
        name: value_from.to_string(),
        region: region.to_string(),
    }
}

/// Every secret a task definition makes ECS resolve at start (`secrets[]`, log-driver
/// `secretOptions[]`, registry credentials), as the ARN or name it is given and whether it
/// is a Secrets Manager secret (else an SSM parameter). `iam-policy` grants reading these.
pub fn referenced(body: &Value) -> Vec<(String, bool)> {
    value_froms(body, "")
        .into_iter()
        .map(|(_, _, source)| match source {
            Source::Secret { arn, .. } => (arn, true),
            Source::Reference { secret, .. } => (secret, true),
            Source::Parameter { name, .. } => (name, false),
        })
        .collect()
}

/// Every source ECS resolves when it starts the task (for the VPC endpoints it needs).
pub fn sources(body: &Value, region: &str) -> Vec<Source> {
    value_froms(body, region)
        .into_iter()
        .map(|(_, _, source)| source)
        .collect()
}

/// What ECS resolves when it starts a task, per container: `(container, what, source)` for
/// each `secrets[]`, `logConfiguration.secretOptions[]` (a `valueFrom` each: an SSM
/// parameter or a Secrets Manager ARN) and `repositoryCredentials.credentialsParameter`
/// (always a Secrets Manager secret, by ARN or by name).
fn value_froms<'a>(body: &'a Value, region: &str) -> Vec<(&'a str, String, Source)> {
    let mut out = Vec::new();
    for (container, c) in containers(body) {
        let lists = [
            ("secret", c.get("secrets")),
            (
                "log secret option",
                c.pointer("/logConfiguration/secretOptions"),
            ),
        ];
        for (kind, list) in lists {
            for s in list.and_then(Value::as_array).into_iter().flatten() {
                if let Some(from) = s.get("valueFrom").and_then(Value::as_str) {
                    let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
                    out.push((container, format!("{kind} {name}"), parse(from, region)));
                }
            }
        }
        let registry = c
            .pointer("/repositoryCredentials/credentialsParameter")
            .and_then(Value::as_str);
        if let Some(from) = registry {
            let source = match parse(from, region) {
                secret @ Source::Secret { .. } => secret,
                Source::Parameter { .. } | Source::Reference { .. } => Source::Secret {
                    arn: from.to_string(),
                    region: region.to_string(),
                    json_key: None,
                    version_stage: None,
                    version_id: None,
                },
            };
            out.push((container, "registry credentials".to_string(), source));
        }
    }
    out
}

/// The secret lines of one task definition.
pub fn check(body: &Value, region: &str, facts: &Facts) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    for (container, name, source) in value_froms(body, region) {
        let what = format!("container {container} {name}");
        let outcome = match source {
            Source::Parameter {
                name: param,
                region,
            } => match facts.parameters.get(&region) {
                Some(Lookup::Found(missing)) if missing.contains(&param) => Outcome::fail(
                    format!(
                        "SSM parameter {param} does not exist in {region} (or that version or label)"
                    ),
                    format!(
                        "aws ssm put-parameter --region {region} --type SecureString --name {} --value …",
                        parameter_name(&param)
                    ),
                ),
                Some(Lookup::Found(_)) => Outcome::Ok,
                Some(Lookup::Denied(p)) => Outcome::denied(p),
                Some(Lookup::Missing) | None => Outcome::Skipped {
                    why: "not read".into(),
                },
            },
            Source::Secret {
                arn,
                region,
                json_key,
                version_stage,
                version_id,
            } => secret_outcome(
                facts.secrets.get(&(region.clone(), arn.clone())),
                &arn,
                &region,
                json_key.as_deref(),
                version_stage.as_deref(),
                version_id.as_deref(),
            ),
            Source::Reference {
                secret,
                region,
                selector,
            } => reference_outcome(
                facts.secrets.get(&(region.clone(), secret.clone())),
                &secret,
                &region,
                selector.as_deref(),
            ),
        };
        out.push((what, outcome));
    }
    out
}

/// `/web/db` for `arn:…:parameter/web/db`, `db` for `arn:…:parameter/db`; a name stays.
fn parameter_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":parameter") {
        Some((_, rest)) if rest.matches('/').count() > 1 => rest,
        Some((_, rest)) => rest.trim_start_matches('/'),
        None => name_or_arn,
    }
}

fn secret_outcome(
    read: Option<&Lookup<crate::aws::secretsmanager::Versions>>,
    arn: &str,
    region: &str,
    json_key: Option<&str>,
    stage: Option<&str>,
    version_id: Option<&str>,
) -> Outcome {
    let versions: &BTreeMap<String, Vec<String>> = match read {
        Some(Lookup::Found(v)) => v,
        Some(Lookup::Missing) => {
            let name = arn.rsplit_once(":secret:").map_or(arn, |(_, n)| n);
            return Outcome::fail(
                format!("Secrets Manager secret {arn} does not exist"),
                format!(
                    "aws secretsmanager create-secret --region {region} --name {name} --secret-string …, or correct valueFrom"
                ),
            );
        }
        Some(Lookup::Denied(p)) => return Outcome::denied(p),
        None => {
            return Outcome::Skipped {
                why: "not read".into(),
            };
        }
    };
    if let Some(id) = version_id
        && !versions.contains_key(id)
    {
        return Outcome::fail(
            format!("secret {arn} has no version {id}"),
            "correct the version id in valueFrom, or leave it out for AWSCURRENT",
        );
    }
    if let Some(stage) = stage
        && !versions.values().flatten().any(|s| s == stage)
    {
        return Outcome::fail(
            format!("secret {arn} has no version labelled {stage}"),
            format!(
                "aws secretsmanager update-secret-version-stage --region {region} --secret-id {arn} --version-stage {stage} --move-to-version-id …, or correct valueFrom"
            ),
        );
    }
    // A JSON key is inside the value, which verify never reads: the secret and its
    // version are what can be checked.
    let _ = json_key;
    Outcome::Ok
}

/// A `/aws/reference/secretsmanager/NAME` parameter: the secret NAME exists (its selector,
/// when given, is one of its version ids or staging labels).
fn reference_outcome(
    read: Option<&Lookup<crate::aws::secretsmanager::Versions>>,
    secret: &str,
    region: &str,
    selector: Option<&str>,
) -> Outcome {
    let versions = match read {
        Some(Lookup::Found(v)) => v,
        Some(Lookup::Missing) => {
            return Outcome::fail(
                format!(
                    "Secrets Manager secret {secret} (referenced through {REFERENCE}) does not exist in {region}"
                ),
                format!(
                    "aws secretsmanager create-secret --region {region} --name {secret} --secret-string …, or correct valueFrom"
                ),
            );
        }
        Some(Lookup::Denied(p)) => return Outcome::denied(p),
        None => {
            return Outcome::Skipped {
                why: "not read".into(),
            };
        }
    };
    match selector {
        Some(s) if !versions.contains_key(s) && !versions.values().flatten().any(|l| l == s) => {
            Outcome::Warn {
                problem: format!(
                    "secret {secret} has no version id or staging label {s}: check the selector after the name"
                ),
            }
        }
        _ => Outcome::Ok,
    }
}

/// The names a parameter given as `value_from` (a name or an SSM ARN, with or without a
/// `:version`/`:label` selector) may have in its account: its ARN drops a hierarchical
/// name's leading `/`, so a one-level `parameter/db` is `db` or `/db`.
pub fn parameter_names(value_from: &str) -> Vec<String> {
    let strip = |n: &str| n.split(':').next().unwrap_or(n).to_string();
    match value_from.split_once(":parameter/") {
        Some((_, rest)) => {
            let name = strip(rest);
            if name.contains('/') {
                vec![format!("/{name}")]
            } else {
                vec![format!("/{name}"), name]
            }
        }
        None => vec![strip(value_from)],
    }
}

/// Parameter names per region, and every `(region, secret ARN)`.
pub type Wanted = (BTreeMap<String, Vec<String>>, Vec<(String, String)>);

/// What to read: per region the parameter names, and every `(region, secret ARN)`.
pub fn wanted<'a>(bodies: impl Iterator<Item = &'a Value>, region: &str) -> Wanted {
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut secrets = Vec::new();
    for body in bodies {
        for (_, _, source) in value_froms(body, region) {
            match source {
                Source::Parameter { name, region } => {
                    parameters.entry(region).or_default().push(name)
                }
                Source::Secret { arn, region, .. } => secrets.push((region, arn)),
                Source::Reference { secret, region, .. } => secrets.push((region, secret)),
            }
        }
    }
    for names in parameters.values_mut() {
        names.sort();
        names.dedup();
    }
    secrets.sort();
    secrets.dedup();
    (parameters, secrets)
}

/// The ARN IAM matches for a `valueFrom`: a parameter ARN without its `:version` or
/// `:label` selector, or a secret ARN without its suffixes (with `*`: a partial ARN
/// lacks the 6 random characters). `region` and `account` complete a bare name.
pub fn secret_resource(value_from: &str, partition: &str, region: &str, account: &str) -> String {
    let parts: Vec<&str> = value_from.split(':').collect();
    if parts.first() == Some(&"arn") && parts.get(2) == Some(&"secretsmanager") && parts.len() >= 7
    {
        return format!("{}*", parts[..7].join(":"));
    }
    if parts.first() == Some(&"arn") && parts.len() >= 6 {
        return parts[..6].join(":");
    }
    let name = value_from.split(':').next().unwrap_or(value_from);
    format!(
        "arn:{partition}:ssm:{region}:{account}:parameter/{}",
        name.trim_start_matches('/')
    )
}

/// The ARN IAM matches for a Secrets Manager secret given by ARN (as [`secret_resource`])
/// or by name (registry credentials may name a secret in the task's region and account).
pub fn secrets_manager_resource(
    secret: &str,
    partition: &str,
    region: &str,
    account: &str,
) -> String {
    if secret.starts_with("arn:") {
        return secret_resource(secret, partition, region, account);
    }
    format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}-*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf";

    #[test]
    fn parameter_names_as_the_account_knows_them() {
        assert_eq!(parameter_names("/web/db:3"), ["/web/db"]);
        assert_eq!(
            parameter_names("arn:aws:ssm:eu-west-1:1:parameter/web/db:label"),
            ["/web/db"]
        );
        // A one-level name's ARN does not say whether it began with `/`.
        assert_eq!(
            parameter_names("arn:aws:ssm:eu-west-1:1:parameter/db"),
            ["/db", "db"]
        );
        assert_eq!(parameter_names("db"), ["db"]);
    }

    #[test]
    fn value_from_forms() {
        assert_eq!(
            parse("/web/db", "us-east-1"),
            Source::Parameter {
                name: "/web/db".into(),
                region: "us-east-1".into()
            }
        );
        assert_eq!(
            parse("arn:aws:ssm:eu-west-1:1:parameter/web/db:3", "us-east-1"),
            Source::Parameter {
                name: "arn:aws:ssm:eu-west-1:1:parameter/web/db:3".into(),
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            parse(&format!("{SECRET}:password:AWSPREVIOUS:"), "us-east-1"),
            Source::Secret {
                arn: SECRET.into(),
                region: "eu-west-1".into(),
                json_key: Some("password".into()),
                version_stage: Some("AWSPREVIOUS".into()),
                version_id: None,
            }
        );
        assert_eq!(
            parse(&format!("{SECRET}::::"), "us-east-1"),
            Source::Secret {
                arn: SECRET.into(),
                region: "eu-west-1".into(),
                json_key: None,
                version_stage: None,
                version_id: None
            }
        );
    }

    /// A parameter under /aws/reference/secretsmanager/ is a Secrets Manager secret:
    /// DescribeSecret on its name, never GetParameters (which would need the value).
    /// https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html
    #[test]
    fn a_secrets_manager_reference_parameter_is_described_not_read() {
        let arn =
            "arn:aws:ssm:eu-west-1:123456789012:parameter/aws/reference/secretsmanager/web/api";
        assert_eq!(
            parse(arn, "us-east-1"),
            Source::Reference {
                secret: "web/api".into(),
                region: "eu-west-1".into(),
                selector: None
            }
        );
        let b = body(&["/aws/reference/secretsmanager/web/db:AWSPREVIOUS", arn]);
        let (parameters, secrets) = wanted([&b].into_iter(), "us-east-1");
        assert!(parameters.is_empty(), "no GetParameters: {parameters:?}");
        assert_eq!(
            secrets,
            [
                ("eu-west-1".to_string(), "web/api".to_string()),
                ("us-east-1".to_string(), "web/db".to_string())
            ]
        );
        let mut facts = Facts::default();
        let current = Lookup::Found(BTreeMap::from([(
            "v1".to_string(),
            vec!["AWSCURRENT".to_string()],
        )]));
        facts
            .secrets
            .insert(("eu-west-1".into(), "web/api".into()), current.clone());
        facts
            .secrets
            .insert(("us-east-1".into(), "web/db".into()), current);
        let out = check(&b, "us-east-1", &facts);
        assert!(
            matches!(&out[0].1, Outcome::Warn { problem } if problem.contains("AWSPREVIOUS")),
            "{out:?}"
        );
        assert_eq!(out[1].1, Outcome::Ok);
        facts
            .secrets
            .insert(("eu-west-1".into(), "web/api".into()), Lookup::Missing);
        let out = check(&b, "us-east-1", &facts);
        assert!(
            matches!(&out[1].1, Outcome::Fail { fix, .. } if fix.contains("--region eu-west-1 --name web/api")),
            "{out:?}"
        );
        assert_eq!(referenced(&b)[1], ("web/api".to_string(), true));
    }

    #[test]
    fn parameter_names_for_the_fix() {
        assert_eq!(
            parameter_name("arn:aws:ssm:r:1:parameter/web/db"),
            "/web/db"
        );
        assert_eq!(parameter_name("arn:aws:ssm:r:1:parameter/db"), "db");
        assert_eq!(parameter_name("/web/db"), "/web/db");
    }

    fn body(froms: &[&str]) -> Value {
        let secrets: Vec<Value> = froms
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"name": format!("S{i}"), "valueFrom": f}))
            .collect();
        json!({"containerDefinitions": [{"name": "app", "secrets": secrets}]})
    }

    #[test]
    fn a_missing_parameter_fails_naming_the_command() {
        let mut facts = Facts::default();
        facts.parameters.insert(
            "us-east-1".into(),
            Lookup::Found(BTreeSet::from(["/web/missing".to_string()])),
        );
        let out = check(&body(&["/web/db", "/web/missing"]), "us-east-1", &facts);
        assert_eq!(out[0], ("container app secret S0".to_string(), Outcome::Ok));
        assert!(
            matches!(&out[1].1, Outcome::Fail { fix, .. } if fix == "aws ssm put-parameter --region us-east-1 --type SecureString --name /web/missing --value …")
        );
        facts
            .parameters
            .insert("us-east-1".into(), Lookup::Denied("ssm:GetParameters"));
        assert!(matches!(
            &check(&body(&["/web/db"]), "us-east-1", &facts)[0].1,
            Outcome::Warn { .. }
        ));
    }

    /// ECS also resolves a private registry's credentials (a Secrets Manager secret, by ARN
    /// or by name) and a log driver's secret options at start: a missing one fails the task.
    #[test]
    fn registry_credentials_and_log_secret_options_are_checked() {
        let body = json!({"containerDefinitions": [{"name": "app",
            "repositoryCredentials": {"credentialsParameter": "dockerhub"},
            "logConfiguration": {"logDriver": "splunk", "secretOptions": [
                {"name": "splunk-token", "valueFrom": "/logs/splunk"}]}}]});
        let (parameters, secrets) = wanted([&body].into_iter(), "us-east-1");
        assert_eq!(parameters["us-east-1"], ["/logs/splunk"]);
        assert_eq!(
            secrets,
            [("us-east-1".to_string(), "dockerhub".to_string())]
        );
        let mut facts = Facts::default();
        facts.parameters.insert(
            "us-east-1".into(),
            Lookup::Found(BTreeSet::from(["/logs/splunk".to_string()])),
        );
        facts
            .secrets
            .insert(("us-east-1".into(), "dockerhub".into()), Lookup::Missing);
        let out = check(&body, "us-east-1", &facts);
        assert_eq!(out[0].0, "container app log secret option splunk-token");
        assert!(matches!(&out[0].1, Outcome::Fail { .. }), "{out:?}");
        assert_eq!(out[1].0, "container app registry credentials");
        assert!(
            matches!(&out[1].1, Outcome::Fail { fix, .. } if fix.contains("--name dockerhub")),
            "{out:?}"
        );
    }

    #[test]
    fn secrets_manager_versions_and_json_keys() {
        let mut facts = Facts::default();
        let key = ("eu-west-1".to_string(), SECRET.to_string());
        facts.secrets.insert(
            key.clone(),
            Lookup::Found(BTreeMap::from([(
                "v1".to_string(),
                vec!["AWSCURRENT".to_string()],
            )])),
        );
        let out = check(
            &body(&[
                SECRET,
                &format!("{SECRET}::AWSPREVIOUS:"),
                &format!("{SECRET}:::v1"),
                &format!("{SECRET}:password::"),
            ]),
            "us-east-1",
            &facts,
        );
        assert_eq!(out[0].1, Outcome::Ok);
        assert!(
            matches!(&out[1].1, Outcome::Fail { problem, .. } if problem.contains("AWSPREVIOUS"))
        );
        assert_eq!(out[2].1, Outcome::Ok);
        assert_eq!(out[3].1, Outcome::Ok);
        facts.secrets.insert(key, Lookup::Missing);
        let out = check(&body(&[SECRET]), "us-east-1", &facts);
        assert!(
            matches!(&out[0].1, Outcome::Fail { fix, .. } if fix.starts_with("aws secretsmanager create-secret --region eu-west-1 --name db-AbCdEf"))
        );
    }

    #[test]
    fn every_secret_ecs_resolves_is_referenced_for_iam_policy() {
        let body = serde_json::json!({"containerDefinitions": [{
            "name": "app",
            "secrets": [{"name": "DB", "valueFrom": "/web/db"}],
            "repositoryCredentials": {"credentialsParameter": "dockerhub"},
            "logConfiguration": {"logDriver": "splunk", "secretOptions": [
                {"name": "splunk-token", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-AbCdEf"}
            ]}
        }]});
        let mut refs = super::referenced(&body);
        refs.sort();
        assert_eq!(
            refs,
            vec![
                ("/web/db".to_string(), false),
                (
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-AbCdEf"
                        .to_string(),
                    true
                ),
                ("dockerhub".to_string(), true),
            ]
        );
    }
}
