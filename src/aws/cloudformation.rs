//! CloudFormation DescribeStackResources: which stack, if any, owns a resource.
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResources.html>:
//! with `PhysicalResourceId`, the stack that has the resource; a resource of no stack is a
//! `ValidationError`.)

use super::pace::{Group, Paced};
use super::{Lookup, error_code, failed, is_denied};
use crate::error::Result;

/// The name of the stack that owns the resource of type `resource_type` (`AWS::Scheduler::Schedule`)
/// whose physical id is `physical_id`: `Missing` when no stack does (a resource of another
/// type with that id is not it), `Denied` when the caller may not ask.
pub async fn stack_of(
    cloudformation: &Paced<aws_sdk_cloudformation::Client>,
    resource_type: &str,
    physical_id: &str,
) -> Result<Lookup<String>> {
    let out = cloudformation
        .call(Group::Cloudformation, "DescribeStackResources", || {
            cloudformation
                .describe_stack_resources()
                .physical_resource_id(physical_id)
                .send()
        })
        .await;
    match out {
        Ok(out) => Ok(out
            .stack_resources()
            .iter()
            .filter(|r| {
                r.resource_type() == Some(resource_type)
                    && r.physical_resource_id() == Some(physical_id)
            })
            .find_map(|r| r.stack_name())
            .map_or(Lookup::Missing, |s| Lookup::Found(s.to_string()))),
        Err(e) if is_denied(&e) => Ok(Lookup::Denied("cloudformation:DescribeStackResources")),
        Err(e) if error_code(&e) == Some("ValidationError") => Ok(Lookup::Missing),
        Err(e) => Err(failed("DescribeStackResources", physical_id, &e)),
    }
}
