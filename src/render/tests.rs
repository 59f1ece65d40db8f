use super::*;
use crate::image::ImageRef;
use serde_json::json;

fn release() -> Release {
    Release::from_tag("v7", &ImageRef::parse("repo.example.com/web").unwrap()).unwrap()
}

fn template(body: Value) -> Template {
    Template {
        family: "web".into(),
        path: PathBuf::from("taskdefs/web.json"),
        body,
    }
}

fn vars() -> BTreeMap<String, toml::Value> {
    let mut v = BTreeMap::new();
    v.insert("env".into(), toml::Value::String("production".into()));
    v
}

fn render_ok(body: Value) -> Rendered {
    render(&template(body), &RenderContext::new(&release(), &vars())).unwrap()
}

fn render_err(body: Value) -> String {
    render(&template(body), &RenderContext::new(&release(), &vars()))
        .unwrap_err()
        .to_string()
}

#[test]
fn renders_context_inside_strings_only() {
    let r = render_ok(json!({
        "containerDefinitions": [{
            "name": "app",
            "image": "{{ image }}",
            "environment": [
                {"name": "RELEASE", "value": "{{ release }}-{{ vars.env }}"},
                {"name": "PARTS", "value": "{{ image_name }}|{{ image_tag }}|{{ image_digest }}"}
            ],
            "cpu": 256
        }]
    }));
    assert_eq!(r.body["family"], "web");
    let c = &r.body["containerDefinitions"][0];
    assert_eq!(c["image"], "repo.example.com/web:v7");
    assert_eq!(c["environment"][0]["value"], "v7-production");
    assert_eq!(c["environment"][1]["value"], "repo.example.com/web|v7|");
    assert_eq!(c["cpu"], 256);
}

#[test]
fn a_variable_cannot_inject_json() {
    let mut v = vars();
    v.insert(
        "evil".into(),
        toml::Value::String("\", \"privileged\": true, \"x\": \"".into()),
    );
    let r = render(
        &template(json!({"containerDefinitions": [{"name": "{{ vars.evil }}"}]})),
        &RenderContext::new(&release(), &v),
    )
    .unwrap();
    let c = r.body["containerDefinitions"][0].as_object().unwrap();
    assert_eq!(c.len(), 1);
    assert!(c["name"].as_str().unwrap().contains("privileged"));
}

#[test]
fn undefined_names_the_file_and_path() {
    let err = render_err(json!({"containerDefinitions": [{"image": "{{ vars.nope }}"}]}));
    assert!(err.contains("taskdefs/web.json"), "{err}");
    assert!(err.contains("$.containerDefinitions[0].image"), "{err}");
    assert!(err.contains("undefined"), "{err}");
}

#[test]
fn env_function() {
    // SAFETY: the variable names are unique to this test.
    unsafe { std::env::set_var("JOBDEPLOY_TEST_RENDER_PLAIN", "hello") };
    unsafe { std::env::set_var("JOBDEPLOY_TEST_RENDER_TOKEN", "s3cr3t") };
    let r = render_ok(json!({"containerDefinitions": [{
        "image": "{{ env('JOBDEPLOY_TEST_RENDER_PLAIN') }}",
        "hostname": "{{ env('JOBDEPLOY_TEST_RENDER_MISSING', 'fallback') }}",
        "user": "{{ env('JOBDEPLOY_TEST_RENDER_TOKEN') }}"
    }]}));
    let c = &r.body["containerDefinitions"][0];
    assert_eq!(c["image"], "hello");
    assert_eq!(c["hostname"], "fallback");
    assert_eq!(r.secrets, ["s3cr3t"]);
    let err = render_err(json!({"containerDefinitions": [{
        "image": "{{ env('JOBDEPLOY_TEST_RENDER_MISSING') }}"
    }]}));
    assert!(err.contains("JOBDEPLOY_TEST_RENDER_MISSING"), "{err}");
    assert!(err.contains("$.containerDefinitions[0].image"), "{err}");
}

#[test]
fn family_must_match_file_name() {
    let err = render_err(json!({"family": "other", "containerDefinitions": []}));
    assert!(err.contains("$.family") && err.contains("web"), "{err}");
}

#[test]
fn describe_dump_is_accepted() {
    let r = render_ok(json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
            "family": "web",
            "revision": 3,
            "status": "ACTIVE",
            "compatibilities": ["EC2", "FARGATE"],
            "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]
        },
        "tags": [{"key": "team", "value": "batch"}]
    }));
    assert!(r.body.get("revision").is_none());
    assert!(r.body.get("taskDefinitionArn").is_none());
    assert_eq!(r.body["tags"][0]["key"], "team");
    assert_eq!(r.warnings.len(), 4);
    assert!(r.warnings[0].contains("taskdefs/web.json"));
}

#[test]
fn not_an_object() {
    assert!(render_err(json!([1])).contains("expected a JSON object"));
    assert!(render_err(json!({"family": "web"})).contains("containerDefinitions"));
}

#[test]
fn typos_in_templates_are_silently_dropped() {
    let err = render(
        &template(json!({
            "memoryy": "512",
            "containerDefinitions": [{
                "name": "app",
                "image": "{{ image }}",
                "logConfiguraton": {"logDriver": "awslogs"}
            }]
        })),
        &RenderContext::new(&release(), &vars()),
    )
    .unwrap_err();
    let lines: Vec<&str> = err.message().lines().collect();
    assert_eq!(
        lines,
        [
            "taskdefs/web.json: $.memoryy: unknown key (AWS would silently ignore it); did you mean `memory`?",
            "taskdefs/web.json: $.containerDefinitions[0].logConfiguraton: unknown key (AWS would silently ignore it); did you mean `logConfiguration`?",
        ]
    );
    assert!(
        err.hints()[0].contains("RegisterTaskDefinition"),
        "{:?}",
        err.hints()
    );
}

#[test]
fn enum_values_are_checked_after_rendering() {
    let mut v = vars();
    v.insert("mode".into(), toml::Value::String("awsvpcc".into()));
    let err = render(
        &template(json!({"networkMode": "{{ vars.mode }}", "containerDefinitions": []})),
        &RenderContext::new(&release(), &v),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("taskdefs/web.json: $.networkMode: `awsvpcc` is not one of"),
        "{err}"
    );
}

#[test]
fn a_describe_dump_with_every_read_only_field_validates() {
    let r = render_ok(json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
            "family": "web",
            "revision": 3,
            "status": "DELETE_IN_PROGRESS",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "compatibilities": ["EC2", "FARGATE"],
            "registeredAt": "2024-01-01T00:00:00Z",
            "registeredBy": "arn:aws:iam::1:user/me",
            "deregisteredAt": "2024-02-01T00:00:00Z",
            "deleteRequestedAt": "2024-03-01T00:00:00Z",
            "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]
        }
    }));
    assert_eq!(r.warnings.len(), READ_ONLY_FIELDS.len());
    assert!(r.body.get("deleteRequestedAt").is_none());
}

#[test]
fn a_template_init_writes_from_a_real_describe_response_validates() {
    // DescribeTaskDefinition of a Fargate revision as AWS returns it, ECS defaults included.
    let describe = json!({
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        "containerDefinitions": [{
            "name": "app",
            "image": "repo.example.com/web:v6",
            "cpu": 0,
            "portMappings": [{
                "containerPort": 80, "hostPort": 80, "protocol": "tcp",
                "name": "app-80-tcp", "appProtocol": "http"
            }],
            "essential": true,
            "environment": [{"name": "RELEASE", "value": "v6"}],
            "environmentFiles": [],
            "mountPoints": [],
            "volumesFrom": [],
            "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}],
            "ulimits": [],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/web", "awslogs-create-group": "true"},
                "secretOptions": []
            },
            "systemControls": [],
            "versionConsistency": "enabled",
            "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3}
        }],
        "family": "web",
        "taskRoleArn": "arn:aws:iam::1:role/web",
        "executionRoleArn": "arn:aws:iam::1:role/exec",
        "networkMode": "awsvpc",
        "revision": 3,
        "volumes": [],
        "status": "ACTIVE",
        "requiresAttributes": [
            {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
            {"name": "ecs.capability.task-eni"}
        ],
        "placementConstraints": [],
        "compatibilities": ["EC2", "FARGATE"],
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 21},
        "registeredAt": 1700000000.123,
        "registeredBy": "arn:aws:iam::1:user/me",
        "enableFaultInjection": false,
        "tags": [
            {"key": "team", "value": "batch"},
            {"key": "jobdeploy:release", "value": "v6"}
        ]
    });
    let image = ImageRef::parse("repo.example.com/web").unwrap();
    let written = crate::init::template_from(&describe, &image);
    let r = render_ok(written.body);
    assert_eq!(
        r.body["containerDefinitions"][0]["image"],
        "repo.example.com/web:v7"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn the_example_templates_validate() {
    let mut v = vars();
    for (name, value) in [
        ("account_id", "123456789012"),
        ("rails_env", "production"),
        ("region", "us-east-1"),
    ] {
        v.insert(name.into(), toml::Value::String(value.into()));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("taskdefs");
    let templates = load_templates(&dir).unwrap();
    assert!(templates.len() >= 2);
    for t in &templates {
        if let Err(e) = render(t, &RenderContext::new(&release(), &v)) {
            panic!("{}: {e}", t.path.display());
        }
    }
}
