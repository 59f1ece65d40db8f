//! A task's logs: where each container's go (pure, from the task definition), and following
//! the CloudWatch Logs streams of those that use `awslogs` with a stream prefix.

use serde_json::Value;

use crate::aws::Aws;
use crate::aws::pace::Paced;
use crate::error::Result;

/// Where one container's log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `awslogs` with a stream prefix: `prefix/container/task-id` in `group`.
    Stream {
        container: String,
        region: Option<String>,
        group: String,
        stream: String,
    },
    /// Anywhere else: said once, not followed.
    Elsewhere { container: String, place: String },
}

/// The task id: the last part of its ARN.
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// Each container's log destination, from the task definition (`containerDefinitions`).
pub fn sources(task_definition: &Value, task_id: &str) -> Vec<Source> {
    let containers = task_definition
        .get("containerDefinitions")
        .and_then(Value::as_array);
    containers
        .into_iter()
        .flatten()
        .map(|c| {
            let container = c.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
            let config = c.get("logConfiguration");
            let driver = config
                .and_then(|l| l.get("logDriver"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let option = |k: &str| {
                config
                    .and_then(|l| l.pointer(&format!("/options/{k}")))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            match (driver, option("awslogs-group"), option("awslogs-stream-prefix")) {
                ("awslogs", Some(group), Some(prefix)) => Source::Stream {
                    stream: format!("{prefix}/{container}/{task_id}"),
                    region: option("awslogs-region"),
                    group,
                    container,
                },
                ("awslogs", Some(group), None) => Source::Elsewhere {
                    container,
                    place: format!(
                        "CloudWatch Logs group {group}, in a stream named after the container id (no awslogs-stream-prefix, so jobdeploy cannot follow it)"
                    ),
                },
                ("awsfirelens", _, _) => Source::Elsewhere {
                    container,
                    place: "FireLens (awsfirelens): where its log router sends them".to_string(),
                },
                ("", _, _) => Source::Elsewhere {
                    container,
                    place: "nowhere: the container has no logConfiguration".to_string(),
                },
                (other, _, _) => Source::Elsewhere {
                    container,
                    place: format!("the `{other}` log driver"),
                },
            }
        })
        .collect()
}

/// Pages read from one stream in one drain at most (10 000 events each), so a reader that
/// never reaches the end still polls the task; the next drain reads on from there.
const MAX_PAGES: usize = 100;

/// Whether a GetLogEvents page read from `previous` ended the stream: only the forward
/// token says so (the same token back, or none). An empty page does not: CloudWatch Logs
/// may answer one with a new token while more events follow, and after STOPPED stopping
/// there would lose the last lines.
pub fn at_end(previous: Option<&str>, next: Option<&str>) -> bool {
    next.is_none() || next == previous
}

/// Follows the streams, printing each new line once (prefixed with the container's name when
/// there is more than one stream).
pub struct Follower {
    streams: Vec<Followed>,
    prefixed: bool,
}

struct Followed {
    container: String,
    group: String,
    stream: String,
    client: Paced<aws_sdk_cloudwatchlogs::Client>,
    token: Option<String>,
}

impl Follower {
    pub fn new(aws: &Aws, sources: &[Source]) -> Self {
        let streams: Vec<Followed> = sources
            .iter()
            .filter_map(|s| match s {
                Source::Stream {
                    container,
                    region,
                    group,
                    stream,
                } => Some(Followed {
                    container: container.clone(),
                    group: group.clone(),
                    stream: stream.clone(),
                    client: aws.logs_in(region.as_deref().unwrap_or(&aws.region)),
                    token: None,
                }),
                Source::Elsewhere { .. } => None,
            })
            .collect();
        Self {
            prefixed: streams.len() > 1,
            streams,
        }
    }

    /// Reads every stream up to its end now, handing each new line to `print`.
    pub async fn drain(&mut self, print: &mut impl FnMut(String)) -> Result<()> {
        for s in &mut self.streams {
            let mut pages = 0;
            loop {
                let page =
                    crate::aws::logs::page(&s.client, &s.group, &s.stream, s.token.as_deref())
                        .await?;
                let Some((lines, next)) = page else { break };
                let done = at_end(s.token.as_deref(), next.as_deref());
                for line in lines {
                    print(if self.prefixed {
                        format!("[{}] {line}", s.container)
                    } else {
                        line
                    });
                }
                if next.is_some() {
                    s.token = next;
                }
                pages += 1;
                if done || pages >= MAX_PAGES {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_page_with_a_new_token_is_not_the_end_of_the_stream() {
        assert!(!at_end(Some("f/1"), Some("f/2")));
        assert!(!at_end(None, Some("f/0")));
        assert!(at_end(Some("f/2"), Some("f/2")));
        assert!(at_end(Some("f/2"), None));
    }

    #[test]
    fn awslogs_with_a_prefix_is_followed_and_the_rest_is_said() {
        let td = json!({"containerDefinitions": [
            {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "batch", "awslogs-region": "eu-west-1"}}},
            {"name": "router", "logConfiguration": {"logDriver": "awsfirelens"}},
            {"name": "quiet"},
            {"name": "old", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/old"}}}
        ]});
        let got = sources(&td, "0123abcd");
        assert_eq!(
            got[0],
            Source::Stream {
                container: "app".into(),
                region: Some("eu-west-1".into()),
                group: "/ecs/web".into(),
                stream: "batch/app/0123abcd".into(),
            }
        );
        assert!(matches!(&got[1], Source::Elsewhere { place, .. } if place.contains("FireLens")));
        assert!(
            matches!(&got[2], Source::Elsewhere { place, .. } if place.contains("no logConfiguration"))
        );
        assert!(
            matches!(&got[3], Source::Elsewhere { place, .. } if place.contains("stream-prefix"))
        );
        assert_eq!(
            task_id("arn:aws:ecs:us-east-1:123:task/batch/0123abcd"),
            "0123abcd"
        );
    }
}
