//! EventBridge Scheduler schedules, seeded and read in the wire shape (REST calls with JSON
//! bodies), exactly as AWS has them.

use serde_json::{Value, json};

use super::Aws;
use crate::common::world::{Network, SCHEDULE_ROLE, role_arn};
use crate::common::{ACCOUNT, REGION};

impl Aws {
    /// A Scheduler REST call to the emulator with a JSON body, answered as JSON: the wire
    /// shape, so tests can seed and read schedules exactly as AWS has them.
    pub fn rest(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;
        let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint))
            .header("content-type", "application/json")
            // moto routes by the service in the credential scope; it does not check the
            // signature.
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/scheduler/aws4_request, SignedHeaders=host, Signature=0"
                ),
            )
            .body(Full::new(Bytes::from(
                body.map(Value::to_string).unwrap_or_default(),
            )))
            .expect("request");
        self.rt.block_on(async {
            let response = client.request(request).await.expect("emulator answers");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert!(
                status.is_success(),
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        })
    }

    /// Creates schedule group `name`.
    pub fn schedule_group(&self, name: &str) {
        self.rest(
            "POST",
            &format!("/schedule-groups/{name}"),
            Some(&json!({"ClientToken": name})),
        );
    }

    /// Creates a schedule from its CreateSchedule body (`GroupName` in it; default group
    /// otherwise).
    pub fn create_schedule(&self, name: &str, body: &Value) {
        self.rest("POST", &format!("/schedules/{name}"), Some(body));
    }

    /// The schedule exactly as GetSchedule returns it.
    pub fn schedule_json(&self, group: &str, name: &str) -> Value {
        self.rest("GET", &format!("/schedules/{name}?groupName={group}"), None)
    }

    /// A minimal schedule in `group` (created when not `default`) running `task_definition`
    /// on `cluster`.
    pub fn schedule(&self, group: &str, name: &str, cluster: &str, task_definition: &str) {
        if group != "default" {
            self.schedule_group(group);
        }
        self.create_schedule(
            name,
            &json!({
                "GroupName": group,
                "ScheduleExpression": "rate(1 hour)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": cluster,
                    "RoleArn": role_arn(SCHEDULE_ROLE),
                    "EcsParameters": {
                        "TaskDefinitionArn": task_definition,
                        "LaunchType": "FARGATE",
                        "NetworkConfiguration": {"awsvpcConfiguration": {
                            "Subnets": self.net.subnets,
                            "SecurityGroups": [self.net.security_group],
                            "AssignPublicIp": "DISABLED"
                        }}
                    }
                }
            }),
        );
    }
}

/// A CreateSchedule body with every field UpdateSchedule would drop if not sent back.
pub fn full_schedule(
    net: &Network,
    group: &str,
    cluster: &str,
    task_definition: &str,
    state: &str,
) -> Value {
    json!({
        "GroupName": group,
        "Description": "nightly export, owned by the data team",
        "ScheduleExpression": "cron(15 3 * * ? *)",
        "ScheduleExpressionTimezone": "Asia/Tokyo",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "StartDate": 4_102_444_800_i64,
        "EndDate": 4_133_980_800_i64,
        "State": state,
        "KmsKeyArn": format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "ActionAfterCompletion": "NONE",
        "Target": {
            "Arn": cluster,
            "RoleArn": role_arn(SCHEDULE_ROLE),
            "Input": r#"{"containerOverrides":[{"name":"app","command":["bin/rake","export"]}]}"#,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 4},
            "DeadLetterConfig": {"Arn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:export-dlq")},
            "EcsParameters": {
                "TaskDefinitionArn": task_definition,
                "TaskCount": 2,
                "CapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}],
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": net.subnets,
                    "SecurityGroups": [net.security_group],
                    "AssignPublicIp": "ENABLED"
                }},
                "PlatformVersion": "1.4.0",
                "Group": "family:export",
                "EnableECSManagedTags": true,
                "EnableExecuteCommand": true,
                "PlacementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
                "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
                "PropagateTags": "TASK_DEFINITION",
                "ReferenceId": "ref-7",
                "Tags": [{"cost-center": "42"}]
            }
        }
    })
}
