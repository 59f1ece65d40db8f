use super::*;

fn rule() -> Owner {
    Owner::Rule {
        event_bus: "default".into(),
        rule: "nightly".into(),
    }
}

fn schedule() -> Owner {
    Owner::Schedule {
        group: "jobs".into(),
        schedule: "export".into(),
    }
}

const CLUSTER: &str = "arn:aws:ecs:us-east-1:123:cluster/batch";
const TD: &str = "arn:aws:ecs:us-east-1:123:task-definition/web:7";

fn full_ecs_parameters() -> Value {
    json!({
        "TaskDefinitionArn": TD,
        "TaskCount": 1,
        "CapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}],
        "NetworkConfiguration": {"awsvpcConfiguration": {
            "Subnets": ["subnet-1", "subnet-2"],
            "SecurityGroups": ["sg-1"],
            "AssignPublicIp": "DISABLED"
        }},
        "PlatformVersion": "1.4.0",
        "Group": "family:nightly",
        "EnableECSManagedTags": true,
        "EnableExecuteCommand": true,
        "PlacementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "PropagateTags": "TASK_DEFINITION",
        "ReferenceId": "ref-42",
    })
}

#[test]
fn a_rule_target_becomes_run_task_field_for_field() {
    let mut ecs = full_ecs_parameters();
    ecs["Tags"] = json!([{"Key": "cost-center", "Value": "42"}]);
    let target = json!({
        "Id": "nightly", "Arn": CLUSTER, "RoleArn": "arn:aws:iam::123:role/events",
        "Input": r#"{"containerOverrides":[{"name":"app","command":["bin/rake","nightly"]}]}"#,
        "EcsParameters": ecs,
    });
    let got = build(&rule(), &target, TD, "app", &Overrides::default(), "tok").unwrap();
    assert!(got.notes.is_empty(), "{:?}", got.notes);
    let b = &got.body;
    assert_eq!(b["cluster"], CLUSTER);
    assert_eq!(b["taskDefinition"], TD);
    assert_eq!(b["count"], 1);
    assert_eq!(
        b["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}])
    );
    assert_eq!(
        b["networkConfiguration"],
        json!({"awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}})
    );
    assert_eq!(b["platformVersion"], "1.4.0");
    assert_eq!(b["group"], "family:nightly");
    assert_eq!(b["enableECSManagedTags"], true);
    assert_eq!(b["enableExecuteCommand"], true);
    assert_eq!(
        b["placementConstraints"],
        json!([{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}])
    );
    assert_eq!(
        b["placementStrategy"],
        json!([{"type": "spread", "field": "attribute:ecs.availability-zone"}])
    );
    assert_eq!(b["propagateTags"], "TASK_DEFINITION");
    assert_eq!(b["referenceId"], "ref-42");
    assert_eq!(b["tags"], json!([{"key": "cost-center", "value": "42"}]));
    assert_eq!(
        b["overrides"],
        json!({"containerOverrides": [{"name": "app", "command": ["bin/rake", "nightly"]}]})
    );
    assert_eq!(b["startedBy"], "jobdeploy");
    assert_eq!(b["clientToken"], "tok");
    assert!(b.get("launchType").is_none());
    assert_eq!(b.as_object().unwrap().len(), 17);
}

#[test]
fn a_schedule_target_is_read_from_target_and_its_tag_maps_become_key_value() {
    let mut ecs = full_ecs_parameters();
    ecs["Tags"] = json!([{"cost-center": "42"}, {"team": "data"}]);
    ecs["TaskCount"] = json!(2);
    let body = json!({"Name": "export", "GroupName": "jobs", "Target": {
        "Arn": CLUSTER, "RoleArn": "r",
        "Input": r#"{"containerOverrides":[{"name":"app","command":["bin/rake","export"]}]}"#,
        "EcsParameters": ecs,
    }});
    let got = build(&schedule(), &body, TD, "app", &Overrides::default(), "tok").unwrap();
    assert_eq!(
        got.body["tags"],
        json!([{"key": "cost-center", "value": "42"}, {"key": "team", "value": "data"}])
    );
    assert_eq!(got.body["cluster"], CLUSTER);
    assert_eq!(
        got.body["overrides"]["containerOverrides"][0]["command"][1],
        "export"
    );
    assert_eq!(got.body["count"], 1);
    assert!(got.notes[0].contains("TaskCount"), "{:?}", got.notes);
}

#[test]
fn command_and_env_go_on_top_of_the_input() {
    let target = json!({"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": TD, "LaunchType": "FARGATE"},
        "Input": r#"{"containerOverrides":[{"name":"app","command":["a"],"environment":[{"name":"MODE","value":"full"},{"name":"X","value":"1"}]}],"cpu":"512"}"#});
    let overrides = Overrides {
        command: Some(vec!["bin/rake".into(), "once".into()]),
        env: vec![
            ("MODE".into(), "dry".into()),
            ("API_TOKEN".into(), "s3cret".into()),
        ],
    };
    let got = build(&rule(), &target, TD, "app", &overrides, "tok").unwrap();
    assert_eq!(got.body["launchType"], "FARGATE");
    assert_eq!(
        got.body["overrides"],
        json!({"containerOverrides": [{"name": "app", "command": ["bin/rake", "once"], "environment": [
            {"name": "X", "value": "1"}, {"name": "MODE", "value": "dry"}, {"name": "API_TOKEN", "value": "s3cret"}
        ]}], "cpu": "512"})
    );
    let shown = &masked(&got.body)["overrides"]["containerOverrides"][0]["environment"];
    assert_eq!(shown[1]["value"], "dry");
    assert_eq!(shown[2]["value"], crate::secrets::MASK);
    // No Input: an override of its own for the container.
    let bare = json!({"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": TD}});
    let got = build(&rule(), &bare, TD, "worker", &overrides, "tok").unwrap();
    assert_eq!(
        got.body["overrides"]["containerOverrides"][0]["name"],
        "worker"
    );
    let got = build(&rule(), &bare, TD, "worker", &Overrides::default(), "tok").unwrap();
    assert!(got.body.get("overrides").is_none());
}

#[test]
fn bad_input_and_unknown_fields_are_said() {
    let target =
        json!({"Arn": CLUSTER, "Input": "{not json", "EcsParameters": {"TaskDefinitionArn": TD}});
    let err = build(&rule(), &target, TD, "app", &Overrides::default(), "t").unwrap_err();
    assert!(
        err.message().contains("rule nightly (bus default)"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("Input is not JSON"),
        "{}",
        err.message()
    );
    let target =
        json!({"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": TD, "FutureField": 1}});
    let got = build(&rule(), &target, TD, "app", &Overrides::default(), "t").unwrap();
    assert!(got.notes[0].contains("FutureField"), "{:?}", got.notes);
    let lambda = json!({"Arn": "arn:aws:lambda:x"});
    assert!(build(&rule(), &lambda, TD, "app", &Overrides::default(), "t").is_err());
}

#[test]
fn client_tokens_fit_run_task() {
    let token = client_token(u128::MAX, u32::MAX);
    assert!(token.len() <= 64, "{token}");
    assert_ne!(client_token(1, 7), client_token(2, 7));
}

/// Terraform and the CDK write a Scheduler target's tags as `[{"key": K, "value": V}]`:
/// one tag each, not the two tags `key=K` and `value=V`.
#[test]
fn scheduler_tags_spelled_key_value_are_one_tag_each() {
    let body = json!({"Target": {"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": TD,
        "Tags": [{"key": "team", "value": "data"}, {"key": "empty"}, {"cost-center": "42"}]}}});
    let got = build(&schedule(), &body, TD, "app", &Overrides::default(), "tok").unwrap();
    assert_eq!(
        got.body["tags"],
        json!([
            {"key": "team", "value": "data"},
            {"key": "empty", "value": ""},
            {"key": "cost-center", "value": "42"}
        ])
    );
}

/// `--dry-run` printed the request's text with the secret values searched and replaced; a
/// value JSON escapes (a `"` or a `\\`), or one shorter than three characters, was printed.
#[test]
fn dry_run_masks_secret_values_whatever_their_characters() {
    let target = json!({"Arn": CLUSTER, "EcsParameters": {"TaskDefinitionArn": TD},
        "Input": r#"{"containerOverrides":[{"name":"app","environment":[{"name":"DB_PASSWORD","value":"in-input"}]}]}"#});
    let overrides = Overrides {
        command: None,
        env: vec![
            ("API_TOKEN".into(), r#"pa"ss\word"#.into()),
            ("SHORT_SECRET".into(), "ab".into()),
            ("MODE".into(), "dry".into()),
        ],
    };
    let got = build(&rule(), &target, TD, "app", &overrides, "tok").unwrap();
    let text = serde_json::to_string_pretty(&masked(&got.body)).unwrap();
    for secret in ["pa\\\"ss", "in-input", "\"ab\""] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("\"dry\""), "{text}");
    assert_eq!(
        masked(&got.body)["overrides"]["containerOverrides"][0]["environment"][1]["value"],
        crate::secrets::MASK
    );
    // The request sent is unchanged.
    assert_eq!(
        got.body["overrides"]["containerOverrides"][0]["environment"][1]["value"],
        r#"pa"ss\word"#
    );
}
