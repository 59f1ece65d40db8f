//! CloudWatch Logs: reading a task's log stream forward, page by page.

use super::pace::{Group, Paced};
use super::{error_code, failed};
use crate::error::Result;

/// One page of a stream read forward from `token` (`None`: the start): the messages and the
/// token to read on from. `None` when the stream does not exist (yet: the container has not
/// written a line).
pub async fn page(
    logs: &Paced<aws_sdk_cloudwatchlogs::Client>,
    group: &str,
    stream: &str,
    token: Option<&str>,
) -> Result<Option<(Vec<String>, Option<String>)>> {
    let result = logs
        .call(Group::Logs, "GetLogEvents", || {
            logs.get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .set_next_token(token.map(str::to_string))
                .send()
        })
        .await;
    match result {
        Ok(out) => {
            let lines = out
                .events()
                .iter()
                .filter_map(|e| e.message())
                .map(|m| m.trim_end_matches(['\n', '\r']).to_string())
                .collect();
            Ok(Some((lines, out.next_forward_token().map(str::to_string))))
        }
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(failed("GetLogEvents", format!("{group} {stream}"), &e)),
    }
}
