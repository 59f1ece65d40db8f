//! SQS GetQueueAttributes: how many messages wait in a dead-letter queue.

use aws_sdk_sqs::types::QueueAttributeName;

use super::pace::{Group, Paced};
use super::{Lookup, error_code, failed, is_denied};
use crate::error::Result;

/// The queue URL of an SQS queue ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`): the queue's
/// name and owner are in the ARN, so no GetQueueUrl call is needed. `None` for what is not a
/// queue ARN.
pub fn queue_url(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "sqs", region, account, name] = parts[..] else {
        return None;
    };
    let domain = if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

/// `ApproximateNumberOfMessages` of the queue at `url`: `Missing` when the queue does not
/// exist, `Denied` when the caller may not read it.
pub async fn depth(sqs: &Paced<aws_sdk_sqs::Client>, url: &str) -> Result<Lookup<u64>> {
    let out = sqs
        .call(Group::Sqs, "GetQueueAttributes", || {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
        })
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if is_denied(&e) => return Ok(Lookup::Denied("sqs:GetQueueAttributes")),
        Err(e)
            if error_code(&e).is_some_and(|c| {
                c.contains("NonExistentQueue") || c.contains("QueueDoesNotExist")
            }) =>
        {
            return Ok(Lookup::Missing);
        }
        Err(e) => return Err(failed("GetQueueAttributes", url, &e)),
    };
    let messages = out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Lookup::Found(messages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_arn_names_its_url() {
        assert_eq!(
            queue_url("arn:aws:sqs:eu-west-1:123456789012:jobs-dlq").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq")
        );
        assert_eq!(queue_url("arn:aws:sns:eu-west-1:1:topic"), None);
    }
}
