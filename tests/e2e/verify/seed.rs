//! The world `verify`'s tests run in: moto seeded with roles, parameters, secrets, log
//! groups, VPCs and images, and the templates and targets that use them.

use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, EcsParameters, LaunchType, NetworkConfiguration,
    RuleState, Target,
};
use serde_json::{Value, json};

use crate::common::*;

/// SDK clients for the services verify reads, pointed at moto directly (seeding is not
/// what the proxy records).
pub struct Seed {
    pub rt: tokio::runtime::Runtime,
    pub iam: aws_sdk_iam::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
}

impl Seed {
    pub fn new(endpoint: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = crate::common::aws::sdk_config(&rt, endpoint);
        Self {
            iam: aws_sdk_iam::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            rt,
        }
    }

    /// A role whose trust policy is `statement` (JSON, sent as IAM takes it).
    pub fn role(&self, name: &str, trust: Value) {
        self.rt
            .block_on(
                self.iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(
                        json!({"Version": "2012-10-17", "Statement": [trust]}).to_string(),
                    )
                    .send(),
            )
            .expect("create role");
    }

    /// An inline policy `name` on `role` with these statements (replacing one of that
    /// name).
    pub fn allow(&self, role: &str, name: &str, statements: Value) {
        self.rt
            .block_on(
                self.iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(
                        json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
                    )
                    .send(),
            )
            .expect("put role policy");
    }

    /// A customer managed policy `name` with these statements, attached to `role` (or made
    /// its permissions boundary); returns its ARN.
    pub fn managed(&self, role: &str, name: &str, statements: Value, boundary: bool) -> String {
        self.rt.block_on(async {
            let out = self
                .iam
                .create_policy()
                .policy_name(name)
                .policy_document(
                    json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
                )
                .send()
                .await
                .expect("create policy");
            let arn = out
                .policy()
                .and_then(|p| p.arn())
                .expect("policy arn")
                .to_string();
            if boundary {
                self.iam
                    .put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(&arn)
                    .send()
                    .await
                    .expect("boundary");
            } else {
                self.iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .expect("attach");
            }
            arn
        })
    }

    pub fn parameter(&self, name: &str) {
        self.rt
            .block_on(
                self.ssm
                    .put_parameter()
                    .name(name)
                    .value("postgres://…")
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .send(),
            )
            .expect("put parameter");
    }

    /// Returns the secret's ARN.
    pub fn secret(&self, name: &str) -> String {
        let out = self
            .rt
            .block_on(
                self.secrets
                    .create_secret()
                    .name(name)
                    .secret_string(r#"{"token":"t"}"#)
                    .send(),
            )
            .expect("create secret");
        out.arn().expect("arn").to_string()
    }

    pub fn log_group(&self, name: &str) {
        self.rt
            .block_on(self.logs.create_log_group().log_group_name(name).send())
            .expect("create log group");
    }

    /// A VPC with a subnet whose route table sends 0.0.0.0/0 to an internet gateway (when
    /// `public`), and a security group: `(subnet, security group)`.
    pub fn network(&self, cidr: &str, public: bool) -> (String, String) {
        self.rt.block_on(async {
            let vpc = self
                .ec2
                .create_vpc()
                .cidr_block(cidr)
                .send()
                .await
                .expect("vpc");
            let vpc = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .expect("vpc id")
                .to_string();
            let subnet = self
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr.replace(".0.0/16", ".1.0/24"))
                .send()
                .await
                .expect("subnet");
            let subnet = subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string();
            let group = self
                .ec2
                .create_security_group()
                .group_name(format!("batch-{cidr}"))
                .description("batch")
                .vpc_id(&vpc)
                .send()
                .await
                .expect("security group");
            let group = group.group_id().expect("group id").to_string();
            let table = self
                .ec2
                .create_route_table()
                .vpc_id(&vpc)
                .send()
                .await
                .expect("route table");
            let table = table
                .route_table()
                .and_then(|t| t.route_table_id())
                .expect("table id")
                .to_string();
            self.ec2
                .associate_route_table()
                .route_table_id(&table)
                .subnet_id(&subnet)
                .send()
                .await
                .expect("associate");
            if public {
                let igw = self
                    .ec2
                    .create_internet_gateway()
                    .send()
                    .await
                    .expect("igw");
                let igw = igw
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .expect("igw id")
                    .to_string();
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .expect("attach");
                self.ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id(&igw)
                    .send()
                    .await
                    .expect("route");
            }
            (subnet, group)
        })
    }

    /// The VPC endpoints a private subnet pulls from ECR through: `ecr.api` and `ecr.dkr`
    /// (interface) and S3 (gateway), in the subnet's VPC.
    pub fn ecr_endpoints(&self, subnet: &str) {
        self.rt.block_on(async {
            let out = self
                .ec2
                .describe_subnets()
                .subnet_ids(subnet)
                .send()
                .await
                .expect("subnet");
            let vpc = out
                .subnets()
                .first()
                .and_then(|s| s.vpc_id())
                .expect("vpc")
                .to_string();
            for (service, kind) in [
                ("ecr.api", aws_sdk_ec2::types::VpcEndpointType::Interface),
                ("ecr.dkr", aws_sdk_ec2::types::VpcEndpointType::Interface),
                ("s3", aws_sdk_ec2::types::VpcEndpointType::Gateway),
            ] {
                self.ec2
                    .create_vpc_endpoint()
                    .vpc_id(&vpc)
                    .service_name(format!("com.amazonaws.{REGION}.{service}"))
                    .vpc_endpoint_type(kind)
                    .send()
                    .await
                    .expect("endpoint");
            }
        });
    }

    /// Pushes `tag` as a multi-platform index offering linux on `archs` (and an
    /// attestation manifest, `unknown/unknown`, as buildx adds).
    pub fn push_index(&self, tag: &str, archs: &[&str]) {
        let manifests: Vec<Value> = archs
            .iter()
            .chain(&["unknown"])
            .enumerate()
            .map(|(i, arch)| {
                let os = if *arch == "unknown" {
                    "unknown"
                } else {
                    "linux"
                };
                json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{}", i.to_string().repeat(64)),
                    "size": 500,
                    "platform": {"architecture": arch, "os": os}
                })
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        });
        self.rt
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name("web")
                    .image_manifest(index.to_string())
                    .image_tag(tag)
                    .send(),
            )
            .expect("put index");
    }
}

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

pub fn pass_roles() -> Value {
    json!({"Effect": "Allow", "Action": "iam:PassRole",
           "Resource": [role_arn("ecs-exec"), role_arn("web-task")],
           "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
}

/// Everything a Fargate job needs, in moto: roles (the rule's trusting EventBridge in the
/// array form) with the permissions they need (the rule's inline, the execution role's a
/// managed policy shaped like AmazonECSTaskExecutionRolePolicy plus an inline one for its
/// secrets), the parameter, the secret, the log group, a public subnet; rule `hourly` runs
/// `web:1` with a public IP.
pub fn sound_world() -> (World, Seed, App) {
    let w = World::new();
    let seed = Seed::new(&w.moto.url);
    seed.role("ecs-exec", trust(json!("ecs-tasks.amazonaws.com")));
    seed.role("web-task", trust(json!(["ecs-tasks.amazonaws.com"])));
    seed.role(
        "events-ecs",
        trust(json!(["scheduler.amazonaws.com", "events.amazonaws.com"])),
    );
    seed.allow("events-ecs", "run-web", run_web_statements(&w.cluster));
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
    seed.allow(
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
