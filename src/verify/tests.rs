//! The checks together: a scope and what was read → the report, in order, without AWS.

use super::*;
use crate::aws::ec2::{SecurityGroup, Subnet};
use crate::aws::iam::Role;
use crate::live::LiveTarget;
use serde_json::json;

const EXEC: &str = "arn:aws:iam::123456789012:role/exec";
const EVENTS: &str = "arn:aws:iam::123456789012:role/events";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1";

fn body() -> Value {
    json!({
        "family": "web",
        "executionRoleArn": EXEC,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app",
            "image": IMAGE,
            "secrets": [{"name": "DB", "valueFrom": "/web/db"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
        }]
    })
}

fn target() -> LiveTarget {
    let raw = json!({
        "Id": "batch",
        "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/batch",
        "RoleArn": EVENTS,
        "EcsParameters": {
            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
            "LaunchType": "FARGATE",
            "PlatformVersion": "LATEST",
            "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-a"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}}
        },
        "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:batch-dlq"}
    });
    LiveTarget {
        at: Trigger::rule_target("default", "hourly", "batch"),
        task_definition: crate::model::TaskDefRef::parse(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
        ),
        raw,
    }
}

fn trusting(service: &str) -> Lookup<Role> {
    Lookup::Found(Role {
        arn: String::new(),
        trust: json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}),
    })
}

fn good_facts() -> Facts {
    let mut f = Facts::default();
    f.roles.insert(EXEC.into(), trusting(roles::ECS_TASKS));
    f.roles
        .insert(EVENTS.into(), trusting("events.amazonaws.com"));
    f.images.insert(
        IMAGE.into(),
        Lookup::Found(Manifest {
            digest: Some("sha256:1".into()),
            media_type: None,
            body: json!({"manifests": [{"platform": {"os": "linux", "architecture": "amd64"}}]})
                .to_string(),
        }),
    );
    f.parameters
        .insert("us-east-1".into(), Lookup::Found(BTreeSet::new()));
    f.log_groups
        .insert(("us-east-1".into(), "/ecs/web".into()), Lookup::Found(()));
    f.subnets = Some(Lookup::Found(BTreeMap::from([(
        "subnet-a".to_string(),
        Subnet {
            id: "subnet-a".into(),
            vpc: "vpc-1".into(),
            cidr: Some("10.0.1.0/24".into()),
        },
    )])));
    f.security_groups = Some(Lookup::Found(BTreeMap::from([(
        "sg-1".to_string(),
        SecurityGroup {
            id: "sg-1".into(),
            vpc: "vpc-1".into(),
            ingress: Vec::new(),
        },
    )])));
    f.routes.insert(
        "subnet-a".into(),
        Lookup::Found(Routes {
            id: "rtb-1".into(),
            nat: true,
            ..Routes::default()
        }),
    );
    f
}

fn report(facts: &Facts) -> Report {
    let b = body();
    let t = target();
    let scope = Scope {
        families: vec![("web", &b)],
        targets: vec![TargetSpec::of(&t.at, &t.raw, &t.task_definition.family)],
        bodies: BTreeMap::from([("web", &b)]),
        region: "us-east-1".into(),
    };
    check(&scope, facts)
}

#[test]
fn every_check_of_a_sound_job_is_ok_and_in_order() {
    let r = report(&good_facts());
    let lines: Vec<(String, &str, String, &str)> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.subject.clone(),
                f.area.word(),
                f.check.clone(),
                f.outcome.word(),
            )
        })
        .collect();
    let expected = [
        ("web", "roles", "execution role exec"),
        (
            "web",
            "image",
            "container app image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        ),
        ("web", "image", "container app platform"),
        ("web", "secrets", "container app secret DB"),
        (
            "web",
            "logs",
            "container app log group /ecs/web (us-east-1)",
        ),
        ("web", "fargate", "cpu/memory"),
        ("web", "fargate", "network mode"),
        ("default/hourly target batch", "roles", "role events"),
        ("default/hourly target batch", "network", "subnets subnet-a"),
        (
            "default/hourly target batch",
            "network",
            "security groups sg-1",
        ),
        (
            "default/hourly target batch",
            "network",
            "subnet subnet-a route to ECR",
        ),
        (
            "default/hourly target batch",
            "fargate",
            "platform version LATEST",
        ),
        (
            "default/hourly target batch",
            "delivery",
            "dead-letter queue",
        ),
    ];
    let expected: Vec<(String, &str, String, &str)> = expected
        .iter()
        .map(|(s, a, c)| (s.to_string(), *a, c.to_string(), "ok"))
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(r.totals.ok, 13);
    assert!(!r.failed() && !r.has_notes());
}

#[test]
fn all_checks_run_after_a_failure_and_a_denied_read_is_a_warning() {
    let mut f = good_facts();
    f.roles.insert(EXEC.into(), Lookup::Missing);
    f.log_groups.insert(
        ("us-east-1".into(), "/ecs/web".into()),
        Lookup::Denied("logs:DescribeLogGroups"),
    );
    let r = report(&f);
    assert_eq!(r.findings.len(), 13, "every check still runs");
    assert_eq!(
        (r.totals.failed, r.totals.warnings, r.totals.ok),
        (1, 1, 11)
    );
    let notes = r.notes();
    assert_eq!(notes.findings.len(), 2);
    assert_eq!(notes.totals, r.totals);
}

#[test]
fn schedules_must_trust_the_scheduler() {
    let raw = json!({"Target": {"Arn": "c", "RoleArn": EVENTS, "EcsParameters": {"TaskDefinitionArn": "web:1"}}});
    let spec = TargetSpec::of(&Trigger::schedule("default", "nightly"), &raw, "web");
    assert_eq!(spec.service, "scheduler.amazonaws.com");
    let (_, outcome) = roles::target_role(&spec, &good_facts().roles);
    assert!(
        matches!(outcome, Outcome::Fail { problem, .. } if problem.contains("scheduler.amazonaws.com"))
    );
}

/// A sound account of every shape jobdeploy supports, each target as AWS runs it: the
/// checks must find nothing to fail (a false fail blocks every deploy behind the gate).
mod sound_shapes {
    use super::*;
    use crate::aws::ec2::{Endpoint, EndpointKind, Ingress};
    use crate::aws::ecs::Cluster;

    const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
    const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:batch-dlq";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/api-AbCdEf";

    /// Every form a secret takes: a parameter by name and by ARN (with a version), a
    /// Secrets Manager ARN (whole, and with a JSON key and stage), a
    /// `/aws/reference/secretsmanager/` parameter by name and by ARN, a log driver's
    /// secret option, and registry credentials by name.
    fn secrets() -> Value {
        json!([
            {"name": "A", "valueFrom": "/web/db"},
            {"name": "B", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/db:1"},
            {"name": "C", "valueFrom": SECRET},
            {"name": "D", "valueFrom": format!("{SECRET}:token:AWSCURRENT:")},
            {"name": "E", "valueFrom": "/aws/reference/secretsmanager/web/api"},
            {"name": "F", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/web/api"}
        ])
    }

    /// A family; `agent` adds a sidecar from another registry with registry credentials and
    /// a log driver's secret option (in a subnet with a way out only: no VPC endpoint
    /// serves ghcr.io).
    fn family(name: &str, extra: Value) -> Value {
        family_with(name, extra, false)
    }

    fn family_with(name: &str, extra: Value, agent: bool) -> Value {
        let mut body = json!({
            "family": name,
            "executionRoleArn": EXEC,
            "containerDefinitions": [{
                "name": "app",
                "image": IMAGE,
                "secrets": secrets(),
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
            }, {
                "name": "agent",
                "image": "ghcr.io/acme/agent:1",
                "essential": false,
                "repositoryCredentials": {"credentialsParameter": "ghcr"},
                "logConfiguration": {"logDriver": "splunk", "secretOptions": [{"name": "splunk-token", "valueFrom": "/logs/splunk"}]}
            }]
        });
        if !agent && let Some(list) = body["containerDefinitions"].as_array_mut() {
            list.truncate(1);
        }
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        body
    }

    fn fargate(extra: Value) -> Value {
        let mut e = json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "1024", "memory": "2048"});
        if let (Value::Object(b), Value::Object(x)) = (&mut e, extra) {
            b.extend(x);
        }
        e
    }

    fn vpc(subnet: &str, public: bool) -> Value {
        json!({"awsvpcConfiguration": {"Subnets": [subnet], "SecurityGroups": ["sg-1"],
            "AssignPublicIp": if public { "ENABLED" } else { "DISABLED" }}})
    }

    fn rule_target(family: &str, ecs: Value) -> (Trigger, Value) {
        let mut parameters = json!({"TaskDefinitionArn": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1")});
        if let (Value::Object(p), Value::Object(e)) = (&mut parameters, ecs) {
            p.extend(e);
        }
        (
            Trigger::rule_target("default", family, "batch"),
            json!({"Id": "batch", "Arn": CLUSTER, "RoleArn": EVENTS, "EcsParameters": parameters,
                   "DeadLetterConfig": {"Arn": DLQ}}),
        )
    }

    fn shapes() -> Vec<(&'static str, Value, Trigger, Value)> {
        let arm = json!({"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}});
        let spot = json!([{"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "base": 1, "weight": 1}]);
        let mut out = Vec::new();
        let mut add = |name: &'static str, body: Value, ecs: Value| {
            let (at, raw) = rule_target(name, ecs);
            out.push((name, body, at, raw));
        };
        // Fargate x86 in a public subnet with a public IP.
        add(
            "fargate-x86",
            family("fargate-x86", fargate(json!({}))),
            json!({"LaunchType": "FARGATE", "PlatformVersion": "1.4.0", "NetworkConfiguration": vpc("subnet-public", true)}),
        );
        // Fargate ARM64 behind a NAT gateway.
        add(
            "fargate-arm",
            family("fargate-arm", fargate(arm.clone())),
            json!({"LaunchType": "FARGATE", "NetworkConfiguration": vpc("subnet-nat", false)}),
        );
        // Fargate Spot, x86 and ARM64 (1.4.0), in a private subnet with every endpoint.
        add(
            "spot-x86",
            family("spot-x86", fargate(json!({}))),
            json!({"CapacityProviderStrategy": spot, "PlatformVersion": "LATEST", "NetworkConfiguration": vpc("subnet-private", false)}),
        );
        add(
            "spot-arm",
            family("spot-arm", fargate(arm)),
            json!({"CapacityProviderStrategy": spot, "PlatformVersion": "1.4.0", "NetworkConfiguration": vpc("subnet-private", false)}),
        );
        // Windows on Fargate, 1 vCPU, platform 1.0.0.
        add(
            "windows",
            family(
                "windows",
                fargate(
                    json!({"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"}}),
                ),
            ),
            json!({"LaunchType": "FARGATE", "PlatformVersion": "1.0.0", "NetworkConfiguration": vpc("subnet-nat", false)}),
        );
        // The cluster's default strategy (FARGATE): neither launch type nor strategy.
        add(
            "default-strategy",
            family("default-strategy", fargate(json!({}))),
            json!({"NetworkConfiguration": vpc("subnet-nat", false)}),
        );
        // EC2, bridge: no network configuration, no execution role needed for ECR.
        add(
            "ec2-bridge",
            family(
                "ec2-bridge",
                json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge", "memory": "512"}),
            ),
            json!({"LaunchType": "EC2"}),
        );
        // EC2, awsvpc, in a private subnet without NAT or endpoints: the instance pulls.
        add(
            "ec2-awsvpc",
            family(
                "ec2-awsvpc",
                json!({"requiresCompatibilities": ["EC2"], "networkMode": "awsvpc", "memory": "512"}),
            ),
            json!({"LaunchType": "EC2", "NetworkConfiguration": vpc("subnet-isolated", false)}),
        );
        // An Auto Scaling group capacity provider.
        add(
            "asg",
            family(
                "asg",
                json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge", "memory": "512"}),
            ),
            json!({"CapacityProviderStrategy": [{"capacityProvider": "batch-asg", "weight": 1}]}),
        );
        // A Scheduler schedule (Fargate, NAT).
        out.push((
            "scheduled",
            family("scheduled", fargate(json!({}))),
            Trigger::schedule("default", "nightly"),
            json!({"Name": "nightly", "Target": {"Arn": CLUSTER, "RoleArn": EVENTS,
                "DeadLetterConfig": {"Arn": DLQ},
                "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/scheduled:1",
                    "LaunchType": "FARGATE", "NetworkConfiguration": vpc("subnet-nat", false)}}}),
        ));
        out
    }

    fn trusting_both() -> Lookup<Role> {
        Lookup::Found(Role {
            arn: String::new(),
            trust: json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "scheduler.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}),
        })
    }

    fn sound_facts() -> Facts {
        let mut f = good_facts();
        f.roles.insert(EVENTS.into(), trusting_both());
        f.images.insert(
            IMAGE.into(),
            Lookup::Found(Manifest {
                digest: Some("sha256:1".into()),
                media_type: None,
                body: json!({"manifests": [
                    {"platform": {"os": "linux", "architecture": "amd64"}},
                    {"platform": {"os": "linux", "architecture": "arm64"}},
                    {"platform": {"os": "windows", "architecture": "amd64"}}
                ]})
                .to_string(),
            }),
        );
        let versions = Lookup::Found(BTreeMap::from([(
            "v1".to_string(),
            vec!["AWSCURRENT".to_string()],
        )]));
        for secret in [SECRET, "web/api", "ghcr"] {
            f.secrets
                .insert(("us-east-1".into(), secret.into()), versions.clone());
        }
        let subnet = |id: &str, cidr: &str| {
            (
                id.to_string(),
                Subnet {
                    id: id.into(),
                    vpc: "vpc-1".into(),
                    cidr: Some(cidr.into()),
                },
            )
        };
        f.subnets = Some(Lookup::Found(BTreeMap::from([
            subnet("subnet-public", "10.0.1.0/24"),
            subnet("subnet-nat", "10.0.2.0/24"),
            subnet("subnet-private", "10.0.3.0/24"),
            subnet("subnet-isolated", "10.0.4.0/24"),
        ])));
        let table = |id: &str, nat: bool, igw: bool| {
            Lookup::Found(Routes {
                id: id.into(),
                nat,
                internet_gateway: igw,
                ..Routes::default()
            })
        };
        f.routes
            .insert("subnet-public".into(), table("rtb-public", false, true));
        f.routes
            .insert("subnet-nat".into(), table("rtb-nat", true, false));
        f.routes
            .insert("subnet-private".into(), table("rtb-private", false, false));
        f.routes.insert(
            "subnet-isolated".into(),
            table("rtb-isolated", false, false),
        );
        let interface = |service: &str| Endpoint {
            id: format!("vpce-{service}"),
            vpc: "vpc-1".into(),
            service: format!("com.amazonaws.us-east-1.{service}"),
            kind: EndpointKind::Interface,
            private_dns: true,
            security_groups: vec!["sg-endpoints".into()],
            route_tables: Vec::new(),
        };
        let mut endpoints: Vec<Endpoint> = ["ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager"]
            .into_iter()
            .map(interface)
            .collect();
        endpoints.push(Endpoint {
            id: "vpce-s3".into(),
            vpc: "vpc-1".into(),
            service: "com.amazonaws.us-east-1.s3".into(),
            kind: EndpointKind::Gateway,
            private_dns: false,
            security_groups: Vec::new(),
            route_tables: vec!["rtb-private".into()],
        });
        f.endpoints.insert("vpc-1".into(), Lookup::Found(endpoints));
        f.endpoint_groups = Some(Lookup::Found(BTreeMap::from([(
            "sg-endpoints".to_string(),
            SecurityGroup {
                id: "sg-endpoints".into(),
                vpc: "vpc-1".into(),
                ingress: vec![Ingress {
                    protocol: "tcp".into(),
                    from_port: Some(443),
                    to_port: Some(443),
                    groups: vec!["sg-1".into()],
                    ..Ingress::default()
                }],
            },
        )])));
        f.clusters.insert(
            CLUSTER.into(),
            Lookup::Found(Cluster {
                arn: CLUSTER.into(),
                capacity_providers: vec![
                    "FARGATE".into(),
                    "FARGATE_SPOT".into(),
                    "batch-asg".into(),
                ],
                default_strategy: vec!["FARGATE".into()],
                container_instances: 2,
            }),
        );
        f
    }

    #[test]
    fn every_supported_shape_of_a_sound_account_has_zero_fails() {
        let shapes = shapes();
        let facts = sound_facts();
        let bodies: BTreeMap<&str, &Value> = shapes
            .iter()
            .map(|(name, body, _, _)| (*name, body))
            .collect();
        let scope = Scope {
            families: shapes
                .iter()
                .map(|(name, body, _, _)| (*name, body))
                .collect(),
            targets: shapes
                .iter()
                .map(|(name, _, at, raw)| TargetSpec::of(at, raw, name))
                .collect(),
            bodies,
            region: "us-east-1".into(),
        };
        let report = check(&scope, &facts);
        let noted: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.outcome.is_note())
            .map(|f| {
                format!(
                    "{} {} {}: {:?}",
                    f.subject,
                    f.area.word(),
                    f.check,
                    f.outcome
                )
            })
            .collect();
        assert_eq!(report.totals.failed, 0, "{noted:#?}");
        assert_eq!(report.totals.warnings, 0, "{noted:#?}");
        // Each shape was checked as what it is.
        let has = |subject: &str, check: &str| {
            report
                .findings
                .iter()
                .any(|f| f.subject.contains(subject) && f.check.contains(check))
        };
        assert!(has("default/spot-arm", "Fargate Spot platform"));
        assert!(has(
            "default/spot-x86",
            "subnet subnet-private route to Secrets Manager"
        ));
        assert!(has("default/ec2-awsvpc", "route to ECR"));
        assert!(!has("default/ec2-awsvpc", "subnet subnet-isolated route"));
        assert!(has("default/asg", "container instances"));
        assert!(has("default/nightly", "dead-letter queue"));
        assert!(!has("default/ec2-bridge", "platform version"));
        assert!(has("windows", "cpu/memory"));
    }
}

/// Two reads of different targets join: the lookups by id of both, a refusal on either side
/// kept (its checks are warnings, never "does not exist").
#[test]
fn facts_of_two_reads_join_by_id() {
    use crate::aws::Lookup;
    use crate::aws::ec2::Subnet;
    let subnet = |id: &str| Subnet {
        id: id.into(),
        vpc: "vpc-1".into(),
        cidr: None,
    };
    let with = |ids: &[&str]| Facts {
        subnets: Some(Lookup::Found(
            ids.iter().map(|id| (id.to_string(), subnet(id))).collect(),
        )),
        ..Facts::default()
    };
    let both = with(&["subnet-a"]).merge(with(&["subnet-b"]));
    match both.subnets {
        Some(Lookup::Found(m)) => {
            assert_eq!(m.keys().collect::<Vec<_>>(), ["subnet-a", "subnet-b"])
        }
        other => panic!("{other:?}"),
    }
    let refused = Facts {
        subnets: Some(Lookup::Denied("ec2:DescribeSubnets")),
        ..Facts::default()
    };
    assert!(matches!(
        with(&["subnet-a"]).merge(refused).subnets,
        Some(Lookup::Denied(_))
    ));
    assert!(matches!(
        with(&["subnet-a"]).merge(Facts::default()).subnets,
        Some(Lookup::Found(_))
    ));
}
