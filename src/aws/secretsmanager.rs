//! Secrets Manager: does a secret exist, and which versions does it have? DescribeSecret
//! only — metadata; a secret's value is never read.

use std::collections::BTreeMap;

use super::pace::Group;
use super::{Aws, Lookup, error_code, failed, is_denied};
use crate::error::Result;

/// Version id → its staging labels (`AWSCURRENT`, …).
pub type Versions = BTreeMap<String, Vec<String>>;

pub async fn describe(aws: &Aws, region: &str, secret_id: &str) -> Result<Lookup<Versions>> {
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
        Ok(out) => Ok(Lookup::Found(
            out.version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        )),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Lookup::Missing),
        Err(e) if is_denied(&e) => Ok(Lookup::Denied("secretsmanager:DescribeSecret")),
        Err(e) => Err(failed("Secrets Manager DescribeSecret", secret_id, &e)),
    }
}
