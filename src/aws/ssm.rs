//! SSM Parameter Store: which of these parameters do not exist? Asked with GetParameters,
//! as ECS itself resolves `secrets[].valueFrom` (names or ARNs, `:version` / `:label`
//! selectors included), so a parameter ECS would not find is not found here either.

use std::collections::BTreeSet;

use super::pace::Group;
use super::{Aws, Lookup, failed, is_denied};
use crate::error::Result;

/// GetParameters takes at most 10 names a call.
const BATCH: usize = 10;

/// The names (as given) GetParameters answers as invalid, in `region`.
pub async fn missing(
    aws: &Aws,
    region: &str,
    names: &[String],
) -> Result<Lookup<BTreeSet<String>>> {
    let client = if region == aws.region {
        (*aws.ssm).clone()
    } else {
        let config = aws_sdk_ssm::config::Builder::from(&aws.sdk)
            .region(aws_config::Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    };
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
