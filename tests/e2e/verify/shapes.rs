//! Accounts of every shape jobdeploy supports, seeded in moto: capacity providers and
//! container instances on the cluster, private subnets with every VPC endpoint a Fargate
//! task needs, and targets of each launch shape.

use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeadLetterConfig,
    EcsParameters, LaunchType, NetworkConfiguration, Target,
};
use serde_json::{Value, json};

use super::seed::role_arn;
use crate::common::*;

pub const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:batch-dlq";

/// `target` with a dead-letter queue.
pub fn with_dead_letter(target: Target) -> Target {
    Target::builder()
        .id(target.id())
        .arn(target.arn())
        .set_role_arn(target.role_arn().map(str::to_string))
        .set_ecs_parameters(target.ecs_parameters().cloned())
        .dead_letter_config(DeadLetterConfig::builder().arn(DLQ).build())
        .build()
        .expect("target")
}

/// How a target places its task.
pub enum Launch<'a> {
    /// Neither launch type nor strategy: the cluster's default strategy.
    ClusterDefault,
    Fargate,
    Ec2,
    Strategy(&'a [&'a str]),
}

/// An EventBridge target (with a dead-letter queue) running `task_definition` as `launch`
/// says, in `subnet` when given.
pub fn target(
    id: &str,
    cluster: &str,
    task_definition: &str,
    launch: Launch<'_>,
    network: Option<(&str, &str)>,
    platform_version: Option<&str>,
) -> Target {
    let mut ecs = EcsParameters::builder()
        .task_definition_arn(task_definition)
        .task_count(1)
        .set_platform_version(platform_version.map(str::to_string));
    ecs = match launch {
        Launch::ClusterDefault => ecs,
        Launch::Fargate => ecs.launch_type(LaunchType::Fargate),
        Launch::Ec2 => ecs.launch_type(LaunchType::Ec2),
        Launch::Strategy(providers) => {
            for (i, p) in providers.iter().enumerate() {
                ecs = ecs.capacity_provider_strategy(
                    CapacityProviderStrategyItem::builder()
                        .capacity_provider(*p)
                        .weight(1)
                        .base(i32::from(i == 0))
                        .build()
                        .expect("strategy item"),
                );
            }
            ecs
        }
    };
    if let Some((subnet, group)) = network {
        let vpc = AwsVpcConfiguration::builder()
            .subnets(subnet)
            .security_groups(group)
            .assign_public_ip(AssignPublicIp::Disabled)
            .build()
            .expect("vpc");
        ecs = ecs.network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        );
    }
    Target::builder()
        .id(id)
        .arn(cluster)
        .role_arn(role_arn("events-ecs"))
        .ecs_parameters(ecs.build().expect("ecs parameters"))
        .dead_letter_config(DeadLetterConfig::builder().arn(DLQ).build())
        .build()
        .expect("target")
}

/// Associates `providers` with the cluster (creating the Auto Scaling group ones), with
/// `default` as its default strategy.
pub fn capacity_providers(w: &World, providers: &[&str], default: &[&str]) {
    w.aws.rt.block_on(async {
        for p in providers.iter().filter(|p| !p.starts_with("FARGATE")) {
            w.aws
                .ecs
                .create_capacity_provider()
                .name(*p)
                .auto_scaling_group_provider(
                    aws_sdk_ecs::types::AutoScalingGroupProvider::builder()
                        .auto_scaling_group_arn(format!(
                            "arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:1:autoScalingGroupName/{p}"
                        ))
                        .build()
                        .expect("asg provider"),
                )
                .send()
                .await
                .expect("create capacity provider");
        }
        let mut call = w
            .aws
            .ecs
            .put_cluster_capacity_providers()
            .cluster("batch")
            .set_capacity_providers(Some(providers.iter().map(|p| (*p).to_string()).collect()))
            .set_default_capacity_provider_strategy(Some(Vec::new()));
        for p in default {
            call = call.default_capacity_provider_strategy(
                aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                    .capacity_provider(*p)
                    .weight(1)
                    .build()
                    .expect("strategy item"),
            );
        }
        call.send().await.expect("put cluster capacity providers");
    });
}

/// Starts an EC2 instance and registers it as a container instance of the cluster.
pub fn container_instance(w: &World, seed: &Seed) {
    let instance = seed
        .rt
        .block_on(
            seed.ec2
                .run_instances()
                .image_id("ami-12c6146b")
                .min_count(1)
                .max_count(1)
                .send(),
        )
        .expect("run instance");
    let id = instance
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("instance id")
        .to_string();
    w.aws
        .rt
        .block_on(
            w.aws
                .ecs
                .register_container_instance()
                .cluster("batch")
                .instance_identity_document(json!({"instanceId": id}).to_string())
                .send(),
        )
        .expect("register container instance");
}

/// Every VPC endpoint a private Fargate task with an ECR image, awslogs, parameters and
/// secrets needs, in `subnet`'s VPC: `ecr.api`, `ecr.dkr`, `logs`, `ssm`,
/// `secretsmanager` (interface, private DNS, in a security group that admits `task_group`
/// on 443) and S3 (gateway, on the subnet's route table).
pub fn private_endpoints(seed: &Seed, subnet: &str, task_group: &str) {
    seed.rt.block_on(async {
        let out = seed
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
        let tables = seed
            .ec2
            .describe_route_tables()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("association.subnet-id")
                    .values(subnet)
                    .build(),
            )
            .send()
            .await
            .expect("route tables");
        let table = tables
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
            .expect("table")
            .to_string();
        let group = seed
            .ec2
            .create_security_group()
            .group_name(format!("endpoints-{subnet}"))
            .description("VPC endpoints")
            .vpc_id(&vpc)
            .send()
            .await
            .expect("endpoint group");
        let group = group.group_id().expect("group id").to_string();
        seed.ec2
            .authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .user_id_group_pairs(
                        aws_sdk_ec2::types::UserIdGroupPair::builder()
                            .group_id(task_group)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("authorize 443");
        for service in ["ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager"] {
            seed.ec2
                .create_vpc_endpoint()
                .vpc_id(&vpc)
                .service_name(format!("com.amazonaws.{REGION}.{service}"))
                .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
                .private_dns_enabled(true)
                .subnet_ids(subnet)
                .security_group_ids(&group)
                .send()
                .await
                .expect("interface endpoint");
        }
        seed.ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc)
            .service_name(format!("com.amazonaws.{REGION}.s3"))
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
            .route_table_ids(&table)
            .send()
            .await
            .expect("s3 gateway endpoint");
    });
}

/// A task definition template of `family`: one container with an ECR image, awslogs, and
/// a secret in every form ECS takes (a parameter by name and by ARN, a Secrets Manager ARN
/// whole and with a JSON key, a `/aws/reference/secretsmanager/` parameter by name and by
/// ARN); `placement` is merged in (compatibilities, network mode, size, platform).
pub fn shape_template(family: &str, secret_arn: &str, placement: Value) -> String {
    let mut body = json!({
        "family": family,
        "executionRoleArn": role_arn("ecs-exec"),
        "containerDefinitions": [{
            "name": "app",
            "image": "{{ image }}",
            "essential": true,
            "secrets": [
                {"name": "DB_BY_NAME", "valueFrom": "/web/db"},
                {"name": "DB_BY_ARN", "valueFrom": format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/web/db")},
                {"name": "API", "valueFrom": secret_arn},
                {"name": "API_TOKEN", "valueFrom": format!("{secret_arn}:token::")},
                {"name": "API_REF", "valueFrom": "/aws/reference/secretsmanager/web/api"},
                {"name": "API_REF_ARN", "valueFrom": format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/aws/reference/secretsmanager/web/api")}
            ],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": REGION, "awslogs-stream-prefix": family
            }}
        }]
    });
    if let (Value::Object(b), Value::Object(p)) = (&mut body, placement) {
        b.extend(p);
    }
    serde_json::to_string_pretty(&body).expect("template")
}
