//! CloudWatch Logs: does a log group exist? DescribeLogGroups by prefix, exact name
//! compared (a prefix also lists `/ecs/web-batch-old`).

use std::sync::atomic::{AtomicBool, Ordering};

use super::pace::Group;
use super::{Aws, Lookup, failed, is_denied, paginate};
use crate::error::{Error, Result};

pub async fn exists(aws: &Aws, region: &str, group: &str) -> Result<Lookup<()>> {
    let client = (*aws.logs_in(region)).clone();
    let denied = AtomicBool::new(false);
    let names = paginate(|token| {
        let client = &client;
        let denied = &denied;
        async move {
            let result = aws
                .pacer
                .call(Group::Logs, "DescribeLogGroups", || {
                    client
                        .describe_log_groups()
                        .log_group_name_prefix(group)
                        .set_next_token(token.clone())
                        .send()
                })
                .await;
            match result {
                Ok(out) => Ok((
                    out.log_groups()
                        .iter()
                        .filter_map(|g| g.log_group_name().map(str::to_string))
                        .collect::<Vec<_>>(),
                    out.next_token().map(str::to_string),
                )),
                Err(e) if is_denied(&e) => {
                    denied.store(true, Ordering::Relaxed);
                    Err(Error::new("denied"))
                }
                Err(e) => Err(failed("CloudWatch Logs DescribeLogGroups", group, &e)),
            }
        }
    })
    .await;
    match names {
        Ok(names) if names.iter().any(|n| n == group) => Ok(Lookup::Found(())),
        Ok(_) => Ok(Lookup::Missing),
        Err(_) if denied.load(Ordering::Relaxed) => Ok(Lookup::Denied("logs:DescribeLogGroups")),
        Err(e) => Err(e),
    }
}
