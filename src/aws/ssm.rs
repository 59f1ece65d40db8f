//! SSM Parameter Store: which of these parameters do not exist? Asked with GetParameters,
//! as ECS itself resolves `secrets[].valueFrom` (names or ARNs, `:version` / `:label`
//! selectors included), so a parameter ECS would not find is not found here either. And
//! which KMS key encrypts each SecureString (DescribeParameters: metadata, no value), for
//! the execution role's `kms:Decrypt`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};

use super::pace::Group;
use super::{Aws, Lookup, failed, is_denied, next_token};
use crate::error::{Error, Result};

/// GetParameters takes at most 10 names a call.
const BATCH: usize = 10;

/// DescribeParameters' `Name` filter takes at most 50 values:
/// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ParameterStringFilter.html
/// (`Values`: "Maximum number of 50 items").
const NAMES_PER_FILTER: usize = 50;

fn client(aws: &Aws, region: &str) -> aws_sdk_ssm::Client {
    if region == aws.region {
        (*aws.ssm).clone()
    } else {
        let config = aws_sdk_ssm::config::Builder::from(&aws.sdk)
            .region(aws_config::Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }
}

/// The names (as given) GetParameters answers as invalid, in `region`.
pub async fn missing(
    aws: &Aws,
    region: &str,
    names: &[String],
) -> Result<Lookup<BTreeSet<String>>> {
    let client = client(aws, region);
    let mut invalid = BTreeSet::new();
    for batch in names.chunks(BATCH) {
        let result = aws
            .pacer
            .call(Group::Ssm, "GetParameters", || {
                client
                    .get_parameters()
                    .set_names(Some(batch.to_vec()))
                    .with_decryption(false)
                    .send()
            })
            .await;
        match result {
            Ok(out) => invalid.extend(out.invalid_parameters().iter().cloned()),
            Err(e) if is_denied(&e) => return Ok(Lookup::Denied("ssm:GetParameters")),
            Err(e) => return Err(failed("SSM GetParameters", batch.join(", "), &e)),
        }
    }
    Ok(Lookup::Found(invalid))
}

/// The KMS key (`KeyId` as SSM names it: a key id, key ARN or alias) of each SecureString
/// among `names` (plain parameter names of this account, in `region`), by name. A parameter
/// that is not a SecureString, or that does not exist, is not in the map. DescribeParameters
/// answers on a best-effort basis (a page may hold fewer than asked, even none, with a
/// `NextToken`), so every page is read.
pub async fn keys(
    aws: &Aws,
    region: &str,
    names: &[String],
) -> Result<Lookup<BTreeMap<String, String>>> {
    let client = client(aws, region);
    let mut keys = BTreeMap::new();
    for batch in names.chunks(NAMES_PER_FILTER) {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(batch.to_vec()))
            .build()
            .map_err(|e| Error::new(format!("SSM DescribeParameters filter: {e}")))?;
        let mut token: Option<String> = None;
        loop {
            let result = aws
                .pacer
                .call(Group::Ssm, "DescribeParameters", || {
                    client
                        .describe_parameters()
                        .parameter_filters(filter.clone())
                        .set_next_token(token.clone())
                        .send()
                })
                .await;
            let out = match result {
                Ok(out) => out,
                Err(e) if is_denied(&e) => return Ok(Lookup::Denied("ssm:DescribeParameters")),
                Err(e) => return Err(failed("SSM DescribeParameters", batch.join(", "), &e)),
            };
            for p in out.parameters() {
                if let (Some(name), Some(ParameterType::SecureString), Some(key)) =
                    (p.name(), p.r#type(), p.key_id())
                {
                    keys.insert(name.to_string(), key.to_string());
                }
            }
            token = next_token(out.next_token());
            if token.is_none() {
                break;
            }
        }
    }
    Ok(Lookup::Found(keys))
}
