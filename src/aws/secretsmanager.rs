//! Secrets Manager: does a secret exist, and which versions does it have? DescribeSecret
//! only — metadata; a secret's value is never read.

use std::collections::BTreeMap;

use super::pace::Group;
use super::{Aws, Lookup, error_code, failed, is_denied};
use crate::error::Result;

/// Version id → its staging labels (`AWSCURRENT`, …).
pub type Versions = BTreeMap<String, Vec<String>>;

/// What DescribeSecret tells beside the versions: the secret's full ARN (with its 6 random
/// characters, which IAM matches) and the KMS key it is encrypted with (`None`: the AWS
/// managed key `aws/secretsmanager`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    pub versions: Versions,
    pub arn: Option<String>,
    pub kms_key_id: Option<String>,
}

pub async fn describe(aws: &Aws, region: &str, secret_id: &str) -> Result<Lookup<Versions>> {
    Ok(match describe_secret(aws, region, secret_id).await? {
        Lookup::Found(d) => Lookup::Found(d.versions),
        Lookup::Missing => Lookup::Missing,
        Lookup::Denied(p) => Lookup::Denied(p),
    })
}

pub async fn describe_secret(
    aws: &Aws,
    region: &str,
    secret_id: &str,
) -> Result<Lookup<Described>> {
    let client = if region == aws.region {
        (*aws.secrets).clone()
    } else {
        let config = aws_sdk_secretsmanager::config::Builder::from(&aws.sdk)
            .region(aws_config::Region::new(region.to_string()))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    };
    let result = aws
        .pacer
        .call(Group::SecretsManager, "DescribeSecret", || {
            client.describe_secret().secret_id(secret_id).send()
        })
        .await;
    match result {
        Ok(out) => Ok(Lookup::Found(Described {
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            arn: out.arn().map(str::to_string),
            kms_key_id: out.kms_key_id().map(str::to_string),
        })),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Lookup::Missing),
        Err(e) if is_denied(&e) => Ok(Lookup::Denied("secretsmanager:DescribeSecret")),
        Err(e) => Err(failed("Secrets Manager DescribeSecret", secret_id, &e)),
    }
}
