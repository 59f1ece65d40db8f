"""Seeds the moto account scripts/demo deploys to: a cluster, an ECR repository with image
tags, the current task definitions (rendered by jobdeploy itself for the old tag) and rules,
some of them ours and some that jobdeploy must leave alone; and what `jobdeploy verify` (which
deploy runs first) checks: the roles with their trust, the SSM parameters, the log groups, and a
VPC whose private subnets reach ECR through a NAT gateway."""

import json
import sys

import boto3

from ecr_images import push_images

REGION = "us-east-1"
ACCOUNT = "123456789012"


def main(rendered_path: str, tags: list[str]) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    events = boto3.client("events", region_name=REGION)

    batch = ecs.create_cluster(clusterName="batch")["cluster"]["clusterArn"]
    other = ecs.create_cluster(clusterName="analytics")["cluster"]["clusterArn"]

    ecr.create_repository(repositoryName="web")
    push_images(ecr, "web", tags)

    with open(rendered_path) as f:
        rendered = json.load(f)
    arns = {}
    for family, body in rendered.items():
        arns[family] = ecs.register_task_definition(**body)["taskDefinition"]["taskDefinitionArn"]

    subnets, security_group = seed_preflight()
    network = {
        "awsvpcConfiguration": {
            "Subnets": subnets,
            "SecurityGroups": [security_group],
            "AssignPublicIp": "DISABLED",
        }
    }
    role = f"arn:aws:iam::{ACCOUNT}:role/eventbridge-ecs-run-task"

    def ecs_target(target_id, cluster, task_definition, input=None):
        params = {
            "TaskDefinitionArn": task_definition,
            "TaskCount": 1,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": network,
            "PlatformVersion": "LATEST",
            "PropagateTags": "TASK_DEFINITION",
        }
        target = {"Id": target_id, "Arn": cluster, "RoleArn": role, "EcsParameters": params}
        if input is not None:
            target["Input"] = input
        return target

    def rule(name, schedule, targets, bus="default", state="ENABLED"):
        if bus != "default":
            try:
                events.create_event_bus(Name=bus)
            except events.exceptions.ResourceAlreadyExistsException:
                pass
        if bus == "default":
            events.put_rule(Name=name, ScheduleExpression=schedule, State=state)
        else:  # custom buses take event patterns only
            events.put_rule(Name=name, EventPattern=schedule, State=state, EventBusName=bus)
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)

    family_only = arns["web-batch"].rsplit(":", 1)[0]
    rule("nightly-report", "cron(0 18 * * ? *)", [ecs_target("report", batch, arns["nightly-report"])])
    rule(
        "web-batch-hourly",
        "rate(1 hour)",
        [
            ecs_target("batch", batch, arns["web-batch"], input='{"containerOverrides":[]}'),
            {"Id": "audit-log", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:batch-audit"},
        ],
    )
    rule("web-batch-weekly", "cron(0 3 ? * SUN *)", [ecs_target("batch", batch, family_only)], state="DISABLED")
    rule("legacy-cleanup", "rate(1 day)", [ecs_target("cleanup", batch, arns["web-batch"])])
    rule("analytics-export", "rate(6 hours)", [ecs_target("export", other, arns["web-batch"])])
    rule("replica-sync", '{"source": ["acme.replica"]}', [ecs_target("sync", batch, arns["web-batch"])], bus="data")

    # An EventBridge Scheduler schedule, DISABLED, in Tokyo time: only its task definition moves.
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule(
        Name="month-end-invoices",
        ScheduleExpression="cron(0 2 1 * ? *)",
        ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30},
        State="DISABLED",
        Description="month-end invoices (paused until the new billing run)",
        Target={
            "Arn": batch,
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler-ecs-run-task",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            "EcsParameters": {
                "TaskDefinitionArn": arns["nightly-report"],
                "LaunchType": "FARGATE",
                "NetworkConfiguration": network,
            },
        },
    )


def seed_preflight() -> tuple[list[str], str]:
    """Roles, parameters, log groups and the network the templates and targets name. Returns
    the private subnets and the security group the targets run in."""
    iam = boto3.client("iam", region_name=REGION)
    trusts = {
        "nightly-report-task": "ecs-tasks.amazonaws.com",
        "web-batch-task": "ecs-tasks.amazonaws.com",
        "ecs-task-execution": "ecs-tasks.amazonaws.com",
        "eventbridge-ecs-run-task": "events.amazonaws.com",
        "scheduler-ecs-run-task": "scheduler.amazonaws.com",
    }
    for role, service in trusts.items():
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(policy))

    ssm = boto3.client("ssm", region_name=REGION)
    for name in ["/web/database-url", "/datadog/api-key"]:
        ssm.put_parameter(Name=name, Value="demo-only", Type="SecureString")

    logs = boto3.client("logs", region_name=REGION)
    for group in ["/ecs/nightly-report", "/ecs/web-batch"]:
        logs.create_log_group(logGroupName=group)

    # Private subnets with a route to a NAT gateway in a public subnet: tasks without a public
    # IP still reach ECR.
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    public_routes = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_routes, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=public_routes, SubnetId=public)
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=address)["NatGateway"]["NatGatewayId"]
    private_routes = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_routes, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    subnets = []
    for cidr in ["10.0.1.0/24", "10.0.2.0/24"]:
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=private_routes, SubnetId=subnet)
        subnets.append(subnet)
    group = ec2.create_security_group(VpcId=vpc, GroupName="batch", Description="batch jobs")["GroupId"]
    return subnets, group


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
