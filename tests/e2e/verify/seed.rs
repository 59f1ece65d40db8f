//! The world `verify`'s tests run in: moto seeded with roles, parameters, secrets, log
//! groups, VPCs and images, and the templates and targets that use them.

use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, EcsParameters, LaunchType, NetworkConfiguration,
    RuleState, Target,
};
use serde_json::{Value, json};

use crate::common::*;

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub fn trust(service: Value) -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
}

/// A Fargate job template with an execution role, a parameter, a secret (JSON key form)
/// and awslogs; `extra` containers are appended.
pub fn template(secret_arn: &str, cpu: &str, memory: &str, extra: &[Value]) -> String {
    let mut containers = vec![json!({
        "name": "app",
        "image": "{{ image }}",
        "essential": true,
        "secrets": [
            {"name": "DATABASE_URL", "valueFrom": "/web/db"},
            {"name": "API_TOKEN", "valueFrom": format!("{secret_arn}:token::")}
        ],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/web", "awslogs-region": REGION, "awslogs-stream-prefix": "app"
        }}
    })];
    containers.extend(extra.iter().cloned());
    serde_json::to_string_pretty(&json!({
        "family": "web",
        "executionRoleArn": role_arn("ecs-exec"),
        "taskRoleArn": role_arn("web-task"),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": containers
    }))
    .expect("template")
}

/// An EventBridge target running `task_definition` on Fargate in `subnet`.
pub fn awsvpc_target(
    id: &str,
    cluster: &str,
    task_definition: &str,
    role: &str,
    (subnet, group): (&str, &str),
    public_ip: bool,
    platform_version: &str,
) -> Target {
    let vpc = AwsVpcConfiguration::builder()
        .subnets(subnet)
        .security_groups(group)
        .assign_public_ip(if public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .expect("vpc");
    Target::builder()
        .id(id)
        .arn(cluster)
        .role_arn(role_arn(role))
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(1)
                .launch_type(LaunchType::Fargate)
                .platform_version(platform_version)
                .network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(vpc)
                        .build(),
                )
                .build()
                .expect("ecs parameters"),
        )
        .build()
        .expect("target")
}

/// The gate is on: jobdeploy.toml without `[verify]`.
pub fn gated_config() -> String {
    format!("cluster = \"batch\"\n\n[manifest]\nimage = \"{IMAGE}\"\n")
}

/// What the rule's role needs to start `web`'s tasks on `cluster`: RunTask on any revision
/// of the family there, PassRole on the task's roles to ECS tasks.
pub fn run_web_statements(cluster: &str) -> Value {
    json!([
        {"Effect": "Allow", "Action": "ecs:RunTask",
         "Resource": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:*"),
         "Condition": {"ArnEquals": {"ecs:cluster": cluster}}},
        pass_roles()
    ])
}

/// PassRole on the verify world's task roles (`ecs-exec`, `web-task`) to ECS tasks.
pub fn pass_roles() -> Value {
    json!({"Effect": "Allow", "Action": "iam:PassRole",
           "Resource": [role_arn("ecs-exec"), role_arn("web-task")],
           "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
}

/// Everything a Fargate job needs, in moto: roles (the rule's trusting EventBridge in the
/// array form) with the permissions they need (the rule's inline, the execution role's a
/// managed policy shaped like AmazonECSTaskExecutionRolePolicy plus an inline one for its
/// secrets), the parameter, the secret, the log group, a public subnet; rule `hourly`
/// runs `web:1` with a public IP.
pub fn sound_world() -> (World, Seed, App) {
    let w = World::new();
    let seed = Seed::new(&w.moto.url);
    seed.role("ecs-exec", trust(json!("ecs-tasks.amazonaws.com")));
    seed.role("web-task", trust(json!(["ecs-tasks.amazonaws.com"])));
    seed.role(
        "events-ecs",
        trust(json!(["scheduler.amazonaws.com", "events.amazonaws.com"])),
    );
    // The world's rule role may run any revision and pass its own execution role; here it
    // holds what `web` needs and no more (the policy of that name replaced).
    seed.role_policy("events-ecs", "jobs", run_web_statements(&w.cluster));
    seed.managed(
        "ecs-exec",
        "task-execution",
        json!([{"Effect": "Allow", "Action": [
            "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
            "logs:CreateLogStream", "logs:PutLogEvents"
        ], "Resource": "*"}]),
        false,
    );
    seed.parameter("/web/db");
    let secret = seed.secret("web/api");
    seed.role_policy(
        "ecs-exec",
        "web-secrets",
        json!([
            {"Effect": "Allow", "Action": "ssm:GetParameters",
             "Resource": format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/web/*")},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
        ]),
    );
    seed.log_group("/ecs/web");
    let (subnet, group) = seed.network("10.1.0.0/16", true);
    let web = w.aws.register("web", "v1");
    w.aws.rule(
        "hourly",
        "default",
        RuleState::Enabled,
        vec![awsvpc_target(
            "batch",
            &w.cluster,
            &web,
            "events-ecs",
            (&subnet, &group),
            true,
            "1.4.0",
        )],
    );
    let app = App::new(&gated_config(), &[]);
    app.write(
        "taskdefs/web.json",
        &template(&secret, "0.25 vCPU", "512", &[]),
    );
    (w, seed, app)
}
