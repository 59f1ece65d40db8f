use super::*;
use serde_json::json;

fn problems(body: Value) -> Vec<String> {
    let model = model().unwrap();
    check(&body, &model.input)
        .iter()
        .map(Problem::to_string)
        .collect()
}

/// A minimal valid body with `container` as its only container.
fn with_container(container: Value) -> Value {
    json!({"family": "web", "containerDefinitions": [container]})
}

#[test]
fn the_embedded_model_parses_and_names_its_source() {
    let model = model().unwrap();
    assert!(
        model
            .botocore
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    );
    let Shape::Structure { members, required } = &model.input else {
        panic!("the input is not a structure");
    };
    assert!(members.iter().any(|(m, _)| m == "containerDefinitions"));
    assert_eq!(required, &["family", "containerDefinitions"]);
}

#[test]
fn read_only_fields_are_what_describe_returns_and_register_refuses() {
    // deleteRequestedAt was missing: a dump of a revision being deleted kept it.
    let file: Value = serde_json::from_str(MODEL_JSON).unwrap();
    let describe_only = strings(&file["describeOnly"], "describeOnly").unwrap();
    let mut model: Vec<&str> = describe_only.iter().map(String::as_str).collect();
    let mut ours = super::super::READ_ONLY_FIELDS.to_vec();
    model.sort();
    ours.sort();
    assert_eq!(ours, model);
}

#[test]
fn a_valid_body_has_no_problems() {
    let body = json!({
        "family": "web",
        "taskRoleArn": "arn:aws:iam::1:role/web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "0.5 GB",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 30},
        "containerDefinitions": [{
            "name": "app",
            "image": "web:v1",
            "cpu": 256,
            "essential": true,
            "command": ["run"],
            "environment": [{"name": "A", "value": "1"}],
            "secrets": [{"name": "B", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/b"}],
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "dockerLabels": {"team": "batch", "any.key-at_all": "x"},
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/web", "mode": "non-blocking"}
            }
        }],
        "volumes": [],
        "tags": [{"key": "team", "value": "batch"}]
    });
    assert_eq!(problems(body), Vec::<String>::new());
}

#[test]
fn typos_in_templates_are_silently_dropped_top_level() {
    let p = problems(json!({"family": "web", "containerDefinitions": [], "memoryy": "512"}));
    assert_eq!(
        p,
        ["$.memoryy: unknown key (AWS would silently ignore it); did you mean `memory`?"]
    );
}

#[test]
fn typos_in_templates_are_silently_dropped_inside_a_container() {
    let p = problems(with_container(json!({
        "name": "app",
        "enviroment": [{"name": "A", "value": "1"}]
    })));
    assert_eq!(
        p,
        [
            "$.containerDefinitions[0].enviroment: unknown key (AWS would silently ignore it); did you mean `environment`?"
        ]
    );
}

#[test]
fn typos_in_templates_are_silently_dropped_in_nested_structs() {
    let p = problems(with_container(json!({
        "name": "app",
        "logConfiguraton": {"logDriver": "awslogs"},
        "environment": [{"name": "A", "valeu": "1"}],
        "logConfiguration": {"logDriver": "awslogs", "option": {}}
    })));
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p[0].starts_with("$.containerDefinitions[0].logConfiguraton: unknown key"));
    assert!(
        p[0].ends_with("did you mean `logConfiguration`?"),
        "{}",
        p[0]
    );
    assert!(p[1].starts_with("$.containerDefinitions[0].environment[0].valeu: unknown key"));
    assert!(p[1].ends_with("did you mean `value`?"), "{}", p[1]);
    assert!(p[2].starts_with("$.containerDefinitions[0].logConfiguration.option: unknown"));
    assert!(p[2].ends_with("did you mean `options`?"), "{}", p[2]);
}

#[test]
fn an_unknown_key_far_from_any_lists_the_valid_keys_when_few() {
    let p = problems(with_container(json!({
        "name": "app",
        "environment": [{"name": "A", "value": "1", "zzzzzz": "1"}],
        "qqqqqqqqqqqqqq": 1
    })));
    assert_eq!(
        p,
        [
            "$.containerDefinitions[0].environment[0].zzzzzz: unknown key (AWS would silently ignore it); valid keys here: `name`, `value`",
            "$.containerDefinitions[0].qqqqqqqqqqqqqq: unknown key (AWS would silently ignore it)",
        ]
    );
}

#[test]
fn wrong_types() {
    let p = problems(json!({
        "family": "web",
        "cpu": 256,
        "requiresCompatibilities": "FARGATE",
        "containerDefinitions": [{
            "name": "app",
            "command": "bin/run",
            "cpu": "256",
            "essential": "true",
            "memory": 1.5
        }]
    }));
    assert_eq!(
        p,
        [
            "$.cpu: expected a string, found the number 256 (the ECS API takes a string here: write \"256\")",
            "$.requiresCompatibilities: expected a list, found the string \"FARGATE\"",
            "$.containerDefinitions[0].command: expected a list, found the string \"bin/run\"",
            "$.containerDefinitions[0].cpu: expected an integer, found the string \"256\"",
            "$.containerDefinitions[0].essential: expected true or false, found the string \"true\"",
            "$.containerDefinitions[0].memory: expected a 32-bit integer, found 1.5",
        ]
    );
    let p = problems(json!({"family": "web", "containerDefinitions": {"name": "app"}}));
    assert_eq!(
        p,
        ["$.containerDefinitions: expected a list, found an object"]
    );
}

#[test]
fn enum_values() {
    let p = problems(json!({
        "family": "web",
        "networkMode": "awsvpcc",
        "requiresCompatibilities": ["FARGATE", "LAMBDA"],
        "containerDefinitions": []
    }));
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!(
        p[0],
        "$.networkMode: `awsvpcc` is not one of `bridge`, `host`, `awsvpc`, `none`; did you mean `awsvpc`?"
    );
    assert!(p[1].starts_with("$.requiresCompatibilities[1]: `LAMBDA` is not one of "));
    assert!(!p[1].contains("did you mean"), "{}", p[1]);
}

#[test]
fn required_members() {
    let p = problems(json!({"containerDefinitions": [{
        "name": "app",
        "logConfiguration": {"options": {"awslogs-group": "g"}},
        "secrets": [{"name": "DB"}, {"name": "X", "valueFrom": null}]
    }]}));
    assert_eq!(
        p,
        [
            "$.containerDefinitions[0].logConfiguration.logDriver: is required",
            "$.containerDefinitions[0].secrets[0].valueFrom: is required",
            "$.containerDefinitions[0].secrets[1].valueFrom: is required",
            "$.family: is required",
        ]
    );
}

#[test]
fn map_members_take_any_key_but_check_values() {
    let p = problems(with_container(json!({
        "name": "app",
        "dockerLabels": {"whatever-key": "ok", "count": 3},
        "logConfiguration": {"logDriver": "awslogs", "options": {"max-buffer-size": 25}}
    })));
    assert_eq!(
        p,
        [
            "$.containerDefinitions[0].dockerLabels.count: expected a string, found the number 3 (the ECS API takes a string here: write \"3\")",
            "$.containerDefinitions[0].logConfiguration.options.max-buffer-size: expected a string, found the number 25 (the ECS API takes a string here: write \"25\")",
        ]
    );
}

#[test]
fn null_is_absent() {
    assert!(problems(with_container(json!({"name": "app", "cpu": null}))).is_empty());
}

#[test]
fn edit_distances() {
    assert_eq!(edit_distance("", ""), 0);
    assert_eq!(edit_distance("abc", ""), 3);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("memory", "memory"), 0);
    assert_eq!(edit_distance("memoryy", "memory"), 1);
    assert_eq!(edit_distance("enviroment", "environment"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("flaw", "lawn"), 2);
    assert_eq!(edit_distance("größe", "grösse"), 2);
}

#[test]
fn nearest_is_a_plausible_typo_or_nothing() {
    let keys = [
        "name",
        "image",
        "memory",
        "memoryReservation",
        "logConfiguration",
    ];
    let near = |w: &str| nearest(w, keys.iter().copied());
    assert_eq!(near("memoryy"), Some("memory"));
    assert_eq!(near("Memory"), Some("memory"));
    assert_eq!(near("LOGCONFIGURATION"), Some("logConfiguration"));
    assert_eq!(near("logConfig"), None);
    assert_eq!(near("memoryReservaton"), Some("memoryReservation"));
    assert_eq!(near("nmae"), Some("name"));
    assert_eq!(near("xy"), None);
    assert_eq!(near("command"), None);
}
