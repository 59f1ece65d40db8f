//! The account a test starts from: moto, the proxy in front of it, a cluster, images, and
//! everything deploy's verify gate checks behind the suite's template and targets — roles
//! with their trust and permission policies, the log group, the parameter, and private
//! subnets behind a NAT gateway — so every test deploys the way users do, gate on.

use serde_json::{Value, json};

use super::aws::{Aws, ecs_target};
use super::moto::Moto;
use super::seed::Seed;
use super::{ACCOUNT, App, REGION, Run, proxy};

/// The execution role of the suite's template: pulls from ECR, writes the log group,
/// reads the parameter.
pub const EXEC_ROLE: &str = "jobs-exec";
/// The role EventBridge rules' targets run tasks with.
pub const RULE_ROLE: &str = "events-ecs";
/// The role Scheduler schedules run tasks with.
pub const SCHEDULE_ROLE: &str = "scheduler-ecs";
/// The awslogs group of the suite's template.
pub const LOG_GROUP: &str = "/ecs/jobs";
/// The SSM parameter the suite's template reads as a secret.
pub const PARAMETER: &str = "/jobs/db";

/// Where the targets run: private subnets of one VPC, whose default route is a NAT gateway,
/// and a security group of that VPC.
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub subnets: Vec<String>,
    pub security_group: String,
}

/// moto, a proxy in front of it, a cluster `batch` (FARGATE and FARGATE_SPOT capacity
/// providers), the image tags v1..v3 in ECR, and the account behind them ([`seed_account`]).
pub struct World {
    pub moto: Moto,
    pub proxy: proxy::Proxy,
    pub aws: Aws,
    pub cluster: String,
}

impl World {
    pub fn new() -> Self {
        let moto = Moto::start();
        let proxy = proxy::Proxy::start(&moto.url);
        let mut aws = Aws::new(&moto.url);
        let cluster = aws.create_cluster("batch");
        for tag in ["v1", "v2", "v3"] {
            aws.push_image("web", tag);
        }
        aws.net = seed_account(&Seed::new(&moto.url));
        Self {
            moto,
            proxy,
            aws,
            cluster,
        }
    }

    /// Family `web` at revision 1 (tag v1), run by rule `hourly` target `batch`.
    pub fn hourly_web_job(&self) -> String {
        let web = self.aws.register("web", "v1");
        self.aws.rule(
            "hourly",
            "default",
            aws_sdk_eventbridge::types::RuleState::Enabled,
            vec![ecs_target(&self.aws.net, "batch", &self.cluster, &web)],
        );
        web
    }

    pub fn run(&self, app: &App, args: &[&str]) -> Run {
        app.run(&self.proxy.url, args)
    }

    pub fn run_on_terminal(&self, app: &App, args: &[&str]) -> Run {
        app.run_on_terminal(&self.proxy.url, args)
    }
}

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// A role trusted by `services`, with one inline permission policy of `statements`.
fn role(seed: &Seed, name: &str, services: &[&str], statements: Value) {
    seed.role(
        name,
        json!({"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}),
    );
    seed.role_policy(name, "jobs", statements);
}

/// Everything the gate checks behind the suite's template ([`super::APP_TEMPLATE`]) and
/// targets ([`ecs_target`], [`super::full_target`], [`super::full_schedule`],
/// [`Aws::schedule`]): the permission policies are the least the checks simulate (the
/// target role may run the account's revisions and pass the execution role to ECS tasks;
/// the execution role may pull the image, write the log group and read the parameter).
/// Returns the network the targets run in.
pub fn seed_account(seed: &Seed) -> Network {
    role(
        seed,
        EXEC_ROLE,
        &["ecs-tasks.amazonaws.com"],
        json!([
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
             "Resource": arn("ecr", "repository/web")},
            {"Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": arn("logs", &format!("log-group:{LOG_GROUP}:*"))},
            {"Effect": "Allow",
             "Action": "ssm:GetParameters",
             "Resource": arn("ssm", &format!("parameter{PARAMETER}"))}
        ]),
    );
    let runs_tasks = json!([
        {"Effect": "Allow",
         "Action": "ecs:RunTask",
         "Resource": arn("ecs", "task-definition/*:*")},
        {"Effect": "Allow",
         "Action": "iam:PassRole",
         "Resource": role_arn(EXEC_ROLE),
         "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Effect": "Allow", "Action": "ecs:TagResource", "Resource": arn("ecs", "task/*")}
    ]);
    role(
        seed,
        RULE_ROLE,
        &["events.amazonaws.com"],
        runs_tasks.clone(),
    );
    role(
        seed,
        SCHEDULE_ROLE,
        &["scheduler.amazonaws.com"],
        runs_tasks,
    );
    seed.log_group(LOG_GROUP);
    seed.parameter(PARAMETER);
    let (subnets, security_group) =
        seed.private_network("10.9.0.0/16", &["10.9.1.0/24", "10.9.2.0/24"]);
    Network {
        subnets,
        security_group,
    }
}
