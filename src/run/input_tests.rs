use super::*;

/// The example event of
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>.
fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}
    })
}

fn ec2_paths() -> Vec<(String, String)> {
    [
        ("timestamp", "$.time"),
        ("instance", "$.detail.instance-id"),
        ("state", "$.detail.state"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn example_rule() -> RuleFacts {
    RuleFacts {
        name: "example".into(),
        arn: "arn:aws:events:us-east-2:123456789012:rule/example".into(),
    }
}

/// The input template examples of the EventBridge user guide page, as EventBridge fills
/// them (the JSON ones compared as JSON: EventBridge minifies them).
#[test]
fn the_documented_input_template_examples_give_the_documented_output() {
    let cases: [(&str, &str); 7] = [
        (
            r#""instance <instance> is in <state>""#,
            r#""instance i-0123456789 is in RUNNING""#,
        ),
        (
            r#"{"instance" : <instance>, "state": <state>}"#,
            r#"{"instance": "i-0123456789", "state": "RUNNING"}"#,
        ),
        (
            r#"{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}"#,
            r#"{"instance": "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING"}"#,
        ),
        (
            r#"{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}"#,
            r#"{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}"#,
        ),
        (
            r#"{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>}"#,
            r#"{"instance": "i-0123456789", "state": "RUNNING", "ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example", "ruleName": "example"}"#,
        ),
        (
            r#""<aws.events.rule-name> triggered""#,
            r#""example triggered""#,
        ),
        (
            r#"{"at": <aws.events.event.ingestion-time>, "when": "<timestamp>"}"#,
            r#"{"at": "2015-11-11T21:29:54Z", "when": "2015-11-11T21:29:54Z"}"#,
        ),
    ];
    for (template, want) in cases {
        let got = transform(&ec2_paths(), template, &ec2_event(), &example_rule()).unwrap();
        let got: Value = serde_json::from_str(&got).unwrap_or_else(|e| panic!("{got}: {e}"));
        let want: Value = serde_json::from_str(want).unwrap();
        assert_eq!(got, want, "{template}");
    }
}

/// The detail LocalStack's AWS-validated tests send (tests/aws/services/events/test_events.py,
/// SPECIAL_EVENT_DETAIL), and what AWS delivered for each template
/// (test_events_inputs.snapshot.json).
fn special_event() -> Value {
    json!({
        "version": "0", "id": "1", "detail-type": "core.update-account-command",
        "source": "core.update-account-command", "account": "111111111111",
        "time": "2024-05-13T12:27:07Z", "region": "us-east-1", "resources": [],
        "detail": {
            "command": "update-account",
            "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
            "listsingle": ["HIGH"],
            "listmulti": ["ACTIVE", "INACTIVE"],
            "valid": true
        }
    })
}

fn special_paths() -> Vec<(String, String)> {
    [
        ("userId", "$.detail.payload.acc_id"),
        ("payload", "$.detail.payload"),
        ("systemstring", "$.detail.awsAccountId"),
        ("listsingle", "$.detail.listsingle"),
        ("listmulti", "$.detail.listmulti"),
        ("valid", "$.detail.valid"),
        ("command", "$.detail.notinmessage"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn values_are_json_outside_quotes_and_text_inside_them_as_aws_delivered() {
    let cases: [(&str, &str); 10] = [
        (
            r#"{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}"#,
            r#"{"method":"PUT","path":"users-service/users/0a787ecb-4015","bod":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}"#,
        ),
        (
            r#""Payload of <payload> with path users-service/users/<userId> and <userId>""#,
            r#""Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015""#,
        ),
        (r#"{"id" : <userId>}"#, r#"{"id":"0a787ecb-4015"}"#),
        (r#"{"id" : "<userId>"}"#, r#"{"id":"0a787ecb-4015"}"#),
        (
            r#"{"bod": [<userId>, "hardcoded"]}"#,
            r#"{"bod":["0a787ecb-4015","hardcoded"]}"#,
        ),
        (
            r#""<listmulti> multiple list items""#,
            r#""[ACTIVE,INACTIVE] multiple list items""#,
        ),
        (
            r#"{"singlelistitem": <listsingle>}"#,
            r#"{"singlelistitem":["HIGH"]}"#,
        ),
        (r#""Command is <valid>!""#, r#""Command is true!""#),
        (
            r#"{"multi_replacement": "users/<userId>/second/<userId>"}"#,
            r#"{"multi_replacement":"users/0a787ecb-4015/second/0a787ecb-4015"}"#,
        ),
        // A path that matches nothing: `""` outside quotes, nothing inside them.
        (
            r#"{"command": <command>, "text": "x<systemstring>y"}"#,
            r#"{"command":"","text":"xy"}"#,
        ),
    ];
    let rule = example_rule();
    for (template, want) in cases {
        let got = transform(&special_paths(), template, &special_event(), &rule).unwrap();
        let got: Value = serde_json::from_str(&got).unwrap_or_else(|e| panic!("{got}: {e}"));
        let want: Value = serde_json::from_str(want).unwrap();
        assert_eq!(got, want, "{template}");
    }
}

/// AWS delivered nothing for these (LocalStack's
/// test_input_transformer_nested_keys_replacement_not_valid): an object or array inside
/// quotes of a JSON template.
#[test]
fn an_object_inside_quotes_of_a_json_template_is_refused() {
    for (template, name) in [
        (r#"{"payload": "<payload>"}"#, "payload"),
        (r#"{"singlelistitem": "<listsingle>"}"#, "listsingle"),
        (
            r#"{"not_valid": "users-service/users/<payload>", "bod": <payload>}"#,
            "payload",
        ),
    ] {
        let err = transform(
            &special_paths(),
            template,
            &special_event(),
            &example_rule(),
        )
        .unwrap_err();
        assert_eq!(err, Refusal::ObjectInQuotes(name.into()), "{template}");
        assert!(err.reason().contains("FailedInvocations"));
    }
}

/// `aws.events.event` is the event without `detail`, `detail-type` spelled `detailType`;
/// `aws.events.event.json` the whole event (LocalStack's AWS-validated
/// test_input_transformer_predefined_variables).
#[test]
fn the_reserved_event_variables_are_the_event_with_and_without_detail() {
    let template =
        r#"{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}"#;
    let got = transform(&[], template, &special_event(), &example_rule()).unwrap();
    let got: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["originalEventJson"], special_event());
    let original = &got["originalEvent"];
    assert_eq!(original["detailType"], "core.update-account-command");
    assert!(original.get("detail").is_none());
    assert!(original.get("detail-type").is_none());
    assert_eq!(original["id"], "1");
}

#[test]
fn json_paths_take_dots_dashes_indices_and_wildcards() {
    let event = ec2_event();
    assert_eq!(
        select(&event, "$.detail.instance-id"),
        Some(json!("i-0123456789"))
    );
    assert_eq!(
        select(&event, "$.resources[0]"),
        Some(json!(
            "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"
        ))
    );
    assert_eq!(
        select(&event, "$.detail.*"),
        Some(json!(["i-0123456789", "RUNNING"]))
    );
    assert_eq!(
        select(&event, "$.resources[*]"),
        Some(json!([
            "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"
        ]))
    );
    assert_eq!(select(&event, "$"), Some(event.clone()));
    assert_eq!(
        select(&json!({"a/b": {"c_d": 1}}), "$.a/b.c_d"),
        Some(json!(1))
    );
    assert_eq!(select(&event, "$.detail.missing"), None);
    assert_eq!(select(&event, "$.resources[3]"), None);
    assert_eq!(select(&event, "$.detail.missing[*]"), None);
    assert_eq!(select(&event, "detail"), None);
    assert_eq!(select(&event, "$..state"), None);
}

/// The rule target's `InputTransformer` gives RunTask's overrides; the result must be a
/// JSON object.
#[test]
fn an_ecs_target_passes_the_filled_template_as_overrides() {
    let target = json!({"InputTransformer": {
        "InputPathsMap": {"day": "$.time", "rule": "$.resources[0]"},
        "InputTemplate": r#"{"containerOverrides": [{"name": "app", "command": ["bin/report", "<day>"], "environment": [{"name": "RULE", "value": "<rule>"}, {"name": "RULE_NAME", "value": <aws.events.rule-name>}]}]}"#
    }});
    let shaping = Shaping::of(&target);
    assert_eq!(shaping.name(), "InputTransformer");
    let rule = RuleFacts {
        name: "nightly".into(),
        arn: "arn:aws:events:us-east-1:123456789012:rule/nightly".into(),
    };
    let event = scheduled_event(
        "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "123456789012",
        "us-east-1",
        "2016-12-30T18:44:49Z",
        &rule.arn,
    );
    let got = overrides(&shaping, &event, &rule).unwrap().unwrap();
    assert_eq!(
        got,
        json!({"containerOverrides": [{"name": "app", "command": ["bin/report", "2016-12-30T18:44:49Z"], "environment": [
            {"name": "RULE", "value": "arn:aws:events:us-east-1:123456789012:rule/nightly"},
            {"name": "RULE_NAME", "value": "nightly"}
        ]}]})
    );
    // InputPath: the part of the event; `$.detail` of a Scheduled Event is `{}`.
    let path = Shaping::of(&json!({"InputPath": "$.detail"}));
    assert_eq!(overrides(&path, &event, &rule).unwrap(), Some(json!({})));
    let missing = Shaping::of(&json!({"InputPath": "$.detail.overrides"}));
    assert_eq!(
        overrides(&missing, &event, &rule),
        Err(Refusal::PathMatchesNothing("$.detail.overrides".into()))
    );
    // A string template is a JSON string, not RunTask's overrides object.
    let text =
        Shaping::of(&json!({"InputTransformer": {"InputTemplate": "\"<aws.events.rule-name>\""}}));
    assert_eq!(
        overrides(&text, &event, &rule),
        Err(Refusal::NotAnObject("\"nightly\"".into()))
    );
    let broken = Shaping::of(&json!({"InputTransformer": {"InputTemplate": "{\"a\": }"}}));
    assert!(matches!(
        overrides(&broken, &event, &rule),
        Err(Refusal::NotJson { .. })
    ));
    // Input wins, and passes no event at all.
    let constant = Shaping::of(&json!({"Input": "{}", "InputPath": "$.detail"}));
    assert_eq!(overrides(&constant, &event, &rule), Ok(None));
}

#[test]
fn more_than_100_variables_or_a_reserved_name_are_refused() {
    let many: Vec<(String, String)> = (0..101)
        .map(|i| (format!("v{i}"), "$.time".to_string()))
        .collect();
    assert_eq!(
        transform(&many, "{}", &ec2_event(), &example_rule()),
        Err(Refusal::TooManyVariables(101))
    );
    let reserved = vec![("aws.events.rule-name".to_string(), "$.time".to_string())];
    assert!(matches!(
        transform(&reserved, "{}", &ec2_event(), &example_rule()),
        Err(Refusal::Reserved(_))
    ));
}

/// The Scheduled Event of
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/event-reference.html>.
#[test]
fn a_scheduled_rule_sends_the_documented_scheduled_event() {
    let event = scheduled_event(
        "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "123456789012",
        "us-east-1",
        "2016-12-30T18:44:49Z",
        "arn:aws:events:us-east-1:123456789012:rule/SampleRule",
    );
    assert_eq!(
        event,
        json!({"version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2016-12-30T18:44:49Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/SampleRule"],
            "detail": {}})
    );
    let id = event_id(seed(1_700_000_000_000_000_000, 42));
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "{id}");
    assert!("89ab".contains(&id[19..20]), "{id}");
    assert_ne!(id, event_id(seed(1_700_000_000_000_000_001, 42)));
}

/// Scheduler replaces its keywords wherever they are in the Input
/// (managing-schedule-context-attributes.html).
#[test]
fn scheduler_context_attributes_are_filled_in_as_scheduler_does() {
    let context = SchedulerContext {
        schedule_arn: "arn:aws:scheduler:us-east-1:123456789012:schedule/jobs/export".into(),
        scheduled_time: "2022-03-22T18:59:43Z".into(),
        execution_id: execution_id(seed(7, 1)),
        attempt_number: 1,
    };
    let input = r#"{"containerOverrides":[{"name":"app","command":["export","<aws.scheduler.scheduled-time>"],"environment":[{"name":"ARN","value":"<aws.scheduler.schedule-arn>"},{"name":"RUN","value":"<aws.scheduler.execution-id>/<aws.scheduler.attempt-number>"}]}]}"#;
    let got: Value = serde_json::from_str(&scheduler_input(input, &context)).unwrap();
    let app = &got["containerOverrides"][0];
    assert_eq!(app["command"][1], "2022-03-22T18:59:43Z");
    assert_eq!(app["environment"][0]["value"], context.schedule_arn);
    assert_eq!(
        app["environment"][1]["value"],
        format!("{}/1", context.execution_id)
    );
    assert_eq!(context.execution_id.len(), 16);
    assert!(
        context
            .execution_id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
}

#[test]
fn a_schedule_arn_is_in_its_targets_partition_region_and_account() {
    assert_eq!(
        schedule_arn(
            "arn:aws:ecs:us-east-1:123456789012:cluster/batch",
            "jobs",
            "export"
        ),
        "arn:aws:scheduler:us-east-1:123456789012:schedule/jobs/export"
    );
    assert_eq!(
        schedule_arn("arn:aws-cn:ecs:cn-north-1:1:cluster/b", "default", "x"),
        "arn:aws-cn:scheduler:cn-north-1:1:schedule/default/x"
    );
}

#[test]
fn the_slot_carries_the_result_as_its_input_and_loses_the_transformer() {
    let rule_target =
        json!({"Id": "a", "InputTransformer": {"InputTemplate": "{}"}, "InputPath": "$"});
    let got = with_input(&rule_target, false, &json!({"cpu": "512"}));
    assert_eq!(got, json!({"Id": "a", "Input": "{\"cpu\":\"512\"}"}));
    let schedule = json!({"Name": "s", "Target": {"Input": "x"}});
    let got = with_input(&schedule, true, &json!({}));
    assert_eq!(got["Target"]["Input"], "{}");
}
