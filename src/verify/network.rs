//! Network (awsvpc targets): the subnets and security groups exist and are in one VPC, and
//! a Fargate task can reach what it needs at start. Through a NAT gateway route, or a
//! public IP (`AssignPublicIp` ENABLED) with an internet gateway route, it reaches
//! everything. Without either it needs VPC endpoints: ECR's `ecr.api` and `ecr.dkr`
//! (interface) and S3 (the layers; a gateway endpoint associated with the subnet's route
//! table, or an interface one) for an ECR image, `logs` for awslogs, `ssm` and
//! `secretsmanager` for secrets of those kinds; and each interface endpoint's security
//! groups must let the task in on TCP 443. Sources:
//! <https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html> (ECR, the S3
//! gateway endpoint, the logs endpoint, "the security group attached to the VPC endpoint
//! must allow incoming connections on port 443 from the private subnet of the VPC") and
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html>
//! (Fargate: the ssm / secretsmanager endpoints for secrets).
//!
//! What is certain is a failure: no route out at all, and the endpoint missing (or its
//! security groups shutting the task out). What verify cannot see past is a warning: a
//! route to a transit gateway, a peering, a virtual private gateway (central egress, or
//! endpoints shared from a hub VPC), an endpoint without private DNS, a security group
//! rule naming a prefix list. A task placed on container instances (EC2) pulls its image
//! through the instance, so the task subnet's routes decide nothing there; and there
//! `AssignPublicIp` may only be DISABLED
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_AwsVpcConfiguration.html>:
//! "You can specify ENABLED only when LaunchType in EcsParameters is set to FARGATE").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::secrets::Source;
use super::{Facts, Outcome, Runs, TargetSpec, containers};
use crate::aws::Lookup;
use crate::aws::ec2::{Endpoint, EndpointKind, Routes, SecurityGroup, Subnet};
use crate::image::ImageRef;

/// What a task reaches at start, besides its own registry, by service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Needs {
    /// Regions of its ECR images.
    ecr: BTreeSet<String>,
    /// Other registries (hosts): no VPC endpoint serves them.
    registries: BTreeSet<String>,
    /// `(service, region)`: `logs`, `ssm`, `secretsmanager`.
    services: BTreeSet<(&'static str, String)>,
}

fn needs(body: Option<&Value>, region: &str) -> Needs {
    let mut n = Needs::default();
    let Some(body) = body else {
        n.ecr.insert(region.to_string());
        return n;
    };
    for (_, c) in containers(body) {
        if let Some(image) = c
            .get("image")
            .and_then(Value::as_str)
            .and_then(|i| ImageRef::parse(i).ok())
        {
            match image.ecr() {
                Some(repo) => n.ecr.insert(repo.region.clone()),
                None => n
                    .registries
                    .insert(image.registry().unwrap_or("docker.io").to_string()),
            };
        }
        if c.pointer("/logConfiguration/logDriver")
            .and_then(Value::as_str)
            == Some("awslogs")
        {
            let r = c
                .pointer("/logConfiguration/options/awslogs-region")
                .and_then(Value::as_str)
                .unwrap_or(region);
            n.services.insert(("logs", r.to_string()));
        }
    }
    for source in super::secrets::sources(body, region) {
        let need = match source {
            // ECS asks SSM for a reference parameter too.
            Source::Parameter { region, .. } | Source::Reference { region, .. } => ("ssm", region),
            Source::Secret { region, .. } => ("secretsmanager", region),
        };
        n.services.insert(need);
    }
    n
}

/// Whether the subnet reaches one service through the VPC's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    Yes,
    /// Certainly not: what is missing, and the command or change that adds it.
    No {
        missing: String,
        fix: String,
    },
    /// Verify cannot tell: why.
    Unsure(String),
}

/// `a.b.c.d/n` → (address, prefix length).
fn cidr(text: &str) -> Option<(u32, u32)> {
    let (addr, len) = text.split_once('/')?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    if octets.len() != 4 || octets.iter().any(|o| *o > 255) {
        return None;
    }
    Some((octets.iter().fold(0, |a, o| (a << 8) | o), len))
}

fn mask(len: u32) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

/// Whether `outer` contains all of `inner`; `None` when they only partly overlap (some of
/// the subnet's addresses may be allowed) or either does not parse.
fn contains(outer: &str, inner: &str) -> Option<bool> {
    let ((o, ol), (i, il)) = (cidr(outer)?, cidr(inner)?);
    if ol <= il && (o & mask(ol)) == (i & mask(ol)) {
        Some(true)
    } else if il < ol && (o & mask(il)) == (i & mask(il)) {
        None
    } else {
        Some(false)
    }
}

/// Whether the endpoint's security groups let the task in on TCP 443: a rule naming one of
/// the task's groups, or a CIDR holding the task's subnet.
fn admits(
    endpoint: &Endpoint,
    groups: Option<&Lookup<BTreeMap<String, SecurityGroup>>>,
    task_groups: &[String],
    subnet: &Subnet,
) -> Reach {
    let known = match groups {
        Some(Lookup::Found(g)) => g,
        Some(Lookup::Denied(p)) => {
            return Reach::Unsure(format!(
                "the security groups of endpoint {} were not read (no permission for {p})",
                endpoint.id
            ));
        }
        _ => {
            return Reach::Unsure(format!(
                "the security groups of endpoint {} were not read",
                endpoint.id
            ));
        }
    };
    let mut unsure: Option<String> = None;
    if endpoint.security_groups.is_empty() {
        return Reach::Unsure(format!("endpoint {} lists no security groups", endpoint.id));
    }
    for id in &endpoint.security_groups {
        let Some(group) = known.get(id) else {
            unsure = Some(format!(
                "security group {id} of endpoint {} was not found",
                endpoint.id
            ));
            continue;
        };
        for rule in &group.ingress {
            let tcp = rule.protocol == "-1"
                || ((rule.protocol == "tcp" || rule.protocol == "6")
                    && rule.from_port.is_none_or(|f| f <= 443)
                    && rule.to_port.is_none_or(|t| t >= 443 || t == -1));
            if !tcp {
                continue;
            }
            if rule.groups.iter().any(|g| task_groups.contains(g)) {
                return Reach::Yes;
            }
            for range in &rule.cidrs {
                match subnet.cidr.as_deref().map(|c| contains(range, c)) {
                    Some(Some(true)) => return Reach::Yes,
                    Some(Some(false)) => {}
                    _ => {
                        unsure = Some(format!(
                            "{id} allows 443 from {range}, which holds only part of subnet {}",
                            subnet.id
                        ))
                    }
                }
            }
            if let Some(list) = rule.prefix_lists.first() {
                unsure = Some(format!(
                    "{id} allows 443 from prefix list {list}, which verify does not read"
                ));
            }
            if task_groups.is_empty() && !rule.groups.is_empty() {
                unsure = Some(format!(
                    "{id} allows 443 from security groups and the task runs in the VPC's default group"
                ));
            }
        }
    }
    match unsure {
        Some(why) => Reach::Unsure(why),
        None => {
            let source = match task_groups.first() {
                Some(g) => format!("--source-group {g}"),
                None => format!("--cidr {}", subnet.cidr.as_deref().unwrap_or("SUBNET-CIDR")),
            };
            Reach::No {
                missing: format!(
                    "endpoint {}'s security groups ({}) admit no TCP 443 from the task (security groups {}, subnet {} {})",
                    endpoint.id,
                    endpoint.security_groups.join(", "),
                    if task_groups.is_empty() {
                        "default".to_string()
                    } else {
                        task_groups.join(", ")
                    },
                    subnet.id,
                    subnet.cidr.as_deref().unwrap_or("")
                ),
                fix: format!(
                    "aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port 443 {source}",
                    endpoint.security_groups[0]
                ),
            }
        }
    }
}

/// The VPC's interface endpoint for `service` in `region`, as the task would use it.
fn interface(
    endpoints: &[Endpoint],
    service: &str,
    region: &str,
    facts: &Facts,
    task_groups: &[String],
    subnet: &Subnet,
) -> Reach {
    let name = format!("{region}.{service}");
    let mut found = endpoints
        .iter()
        .filter(|e| e.kind == EndpointKind::Interface && e.service.ends_with(&name));
    let Some(endpoint) = found.next() else {
        return Reach::No {
            missing: format!("no {service} interface endpoint"),
            fix: format!(
                "aws ec2 create-vpc-endpoint --vpc-id {} --vpc-endpoint-type Interface --service-name com.amazonaws.{region}.{service} --private-dns-enabled --subnet-ids … --security-group-ids …",
                subnet.vpc
            ),
        };
    };
    if !endpoint.private_dns {
        return Reach::Unsure(format!(
            "endpoint {} ({service}) has private DNS off: the task resolves {service}'s public name unless a private hosted zone points it at the endpoint",
            endpoint.id
        ));
    }
    admits(
        endpoint,
        facts.endpoint_groups.as_ref(),
        task_groups,
        subnet,
    )
}

/// S3 for the image layers: a gateway endpoint associated with the subnet's route table,
/// or an interface endpoint.
fn s3(
    endpoints: &[Endpoint],
    region: &str,
    routes: &Routes,
    facts: &Facts,
    task_groups: &[String],
    subnet: &Subnet,
) -> Reach {
    let name = format!("{region}.s3");
    let gateways: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| e.kind == EndpointKind::Gateway && e.service.ends_with(&name))
        .collect();
    if gateways.iter().any(|e| e.route_tables.contains(&routes.id)) {
        return Reach::Yes;
    }
    if endpoints
        .iter()
        .any(|e| e.kind == EndpointKind::Interface && e.service.ends_with(&name))
    {
        return interface(endpoints, "s3", region, facts, task_groups, subnet);
    }
    match gateways.first() {
        Some(gateway) => Reach::No {
            missing: format!(
                "S3 gateway endpoint {} is not associated with route table {}",
                gateway.id, routes.id
            ),
            fix: format!(
                "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --add-route-table-ids {}",
                gateway.id, routes.id
            ),
        },
        None => Reach::No {
            missing: format!(
                "no S3 gateway endpoint associated with route table {}",
                routes.id
            ),
            fix: format!(
                "aws ec2 create-vpc-endpoint --vpc-id {} --vpc-endpoint-type Gateway --service-name com.amazonaws.{region}.s3 --route-table-ids {}",
                subnet.vpc, routes.id
            ),
        },
    }
}

/// One need's line from what each of its parts reaches. `what` names the need for people
/// (`the ECR pull`, `awslogs`), `default_fix` is offered when nothing reaches.
fn verdict(
    subnet: &Subnet,
    routes: &Routes,
    public_ip: bool,
    what: &str,
    reaches: Vec<Reach>,
) -> Outcome {
    let mut missing = Vec::new();
    let mut fixes = Vec::new();
    let mut unsure = Vec::new();
    for r in reaches {
        match r {
            Reach::Yes => {}
            Reach::No { missing: m, fix } => {
                missing.push(m);
                fixes.push(fix);
            }
            Reach::Unsure(why) => unsure.push(why),
        }
    }
    if missing.is_empty() && unsure.is_empty() {
        return Outcome::Ok;
    }
    let around: Vec<&str> = routes
        .other_egress
        .iter()
        .chain(&routes.private_paths)
        .map(String::as_str)
        .collect();
    if !around.is_empty() {
        return Outcome::Warn {
            problem: format!(
                "subnet {} (route table {}) reaches out through {}, which jobdeploy cannot see past: it must lead to a NAT gateway or to endpoints for {what}, or {what} fails{}",
                subnet.id,
                routes.id,
                around.join(", "),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", missing.join("; "))
                }
            ),
        };
    }
    if missing.is_empty() {
        return Outcome::Warn {
            problem: format!(
                "subnet {} has no NAT gateway route and the task no public IP, so {what} goes through VPC endpoints, which verify cannot fully check: {}",
                subnet.id,
                unsure.join("; ")
            ),
        };
    }
    let out = if routes.internet_gateway && !public_ip {
        "routes to the internet only through an internet gateway, and the task gets no public IP"
            .to_string()
    } else {
        "has no NAT gateway route and no internet gateway route".to_string()
    };
    Outcome::fail(
        format!(
            "subnet {} (route table {}) {out}, and {}: {what} fails",
            subnet.id,
            routes.id,
            missing.join("; ")
        ),
        fixes.join("; "),
    )
}

/// The lines of one subnet of a Fargate task: what the task needs at start, reached.
fn reach_lines(
    subnet: &Subnet,
    routes: &Routes,
    endpoints: Option<&Lookup<crate::aws::ec2::Endpoints>>,
    network: &super::Awsvpc,
    needs: &Needs,
    region: &str,
    facts: &Facts,
) -> Vec<(String, Outcome)> {
    let ecr_line = format!("subnet {} route to ECR", subnet.id);
    if routes.nat || (routes.internet_gateway && network.assign_public_ip) {
        return vec![(ecr_line, Outcome::Ok)];
    }
    let endpoints: &[Endpoint] = match endpoints {
        Some(Lookup::Found(e)) => e,
        _ => &[],
    };
    let unread = endpoints_read(facts, &subnet.vpc).map(Reach::Unsure);
    let groups = &network.security_groups;
    let public = network.assign_public_ip;
    let mut out = Vec::new();
    // The image pull.
    let mut pull = Vec::new();
    for r in &needs.ecr {
        if r != region {
            pull.push(Reach::Unsure(format!(
                "the image is in ECR in {r}, which this VPC's endpoints (in {region}) do not serve"
            )));
            continue;
        }
        if let Some(u) = &unread {
            pull.push(u.clone());
            continue;
        }
        pull.push(interface(
            endpoints, "ecr.api", region, facts, groups, subnet,
        ));
        pull.push(interface(
            endpoints, "ecr.dkr", region, facts, groups, subnet,
        ));
        pull.push(s3(endpoints, region, routes, facts, groups, subnet));
    }
    for host in &needs.registries {
        pull.push(Reach::No {
            missing: format!("no way to registry {host} (no VPC endpoint serves it)"),
            fix: "push the image to ECR and add its VPC endpoints".to_string(),
        });
    }
    let mut outcome = verdict(subnet, routes, public, "the image pull", pull);
    // The wording the fix had before endpoints were checked one by one, when nothing at
    // all is there.
    if let Outcome::Fail { fix, .. } = &mut outcome {
        if routes.internet_gateway && !public {
            *fix = format!(
                "set AssignPublicIp to ENABLED in the target's awsvpcConfiguration, or add a NAT gateway route to the subnet's route table; or {fix}"
            );
        } else {
            *fix = format!(
                "add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or: {fix}"
            );
        }
    }
    out.push((ecr_line, outcome));
    for (service, service_region) in &needs.services {
        let (label, what) = match *service {
            "logs" => ("CloudWatch Logs", "awslogs"),
            "ssm" => ("SSM", "reading the SSM parameters"),
            _ => ("Secrets Manager", "reading the secrets"),
        };
        let reach = if service_region != region {
            Reach::Unsure(format!(
                "it is in {service_region}, which this VPC's endpoints (in {region}) do not serve"
            ))
        } else if let Some(u) = &unread {
            u.clone()
        } else {
            interface(endpoints, service, region, facts, groups, subnet)
        };
        let mut outcome = verdict(subnet, routes, public, what, vec![reach]);
        if let Outcome::Fail { fix, .. } = &mut outcome {
            *fix = format!(
                "add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or: {fix}"
            );
        }
        out.push((format!("subnet {} route to {label}", subnet.id), outcome));
    }
    out
}

/// Why the VPC's endpoints are not known, when they are not.
fn endpoints_read(facts: &Facts, vpc: &str) -> Option<String> {
    match facts.endpoints.get(vpc) {
        Some(Lookup::Found(_)) => None,
        Some(Lookup::Denied(p)) => Some(format!("VPC endpoints not read: no permission for {p}")),
        _ => Some("VPC endpoints not read".to_string()),
    }
}

/// The network lines of one target. `body` is the task definition it runs (when ours).
pub fn check(
    target: &TargetSpec,
    runs: Runs,
    body: Option<&Value>,
    region: &str,
    facts: &Facts,
) -> Vec<(String, Outcome)> {
    let awsvpc = body
        .and_then(|b| b.get("networkMode"))
        .and_then(Value::as_str)
        == Some("awsvpc");
    let Some(network) = &target.network else {
        // RunTask requires a network configuration for an awsvpc task, on any launch type.
        if awsvpc {
            return vec![(
                "network configuration".to_string(),
                Outcome::fail(
                    "the task definition uses awsvpc but the target has no network configuration: RunTask fails",
                    "add EcsParameters.NetworkConfiguration.awsvpcConfiguration (Subnets, SecurityGroups, AssignPublicIp) to the target",
                ),
            )];
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    let subnets_what = format!("subnets {}", network.subnets.join(", "));
    let subnet_found: BTreeMap<&str, &Subnet> = match &facts.subnets {
        Some(Lookup::Found(found)) => {
            let missing: Vec<&str> = network
                .subnets
                .iter()
                .filter(|s| !found.contains_key(s.as_str()))
                .map(String::as_str)
                .collect();
            if missing.is_empty() && !network.subnets.is_empty() {
                out.push((subnets_what, Outcome::Ok));
            } else if network.subnets.is_empty() {
                out.push((
                    "subnets".to_string(),
                    Outcome::fail(
                        "no subnets",
                        "list at least one subnet in the target's awsvpcConfiguration",
                    ),
                ));
            } else {
                out.push((
                    subnets_what,
                    Outcome::fail(
                        format!("subnet {} does not exist", missing.join(", ")),
                        "correct Subnets in the target's awsvpcConfiguration",
                    ),
                ));
            }
            network
                .subnets
                .iter()
                .filter_map(|s| found.get(s).map(|v| (s.as_str(), v)))
                .collect()
        }
        Some(Lookup::Denied(p)) => {
            out.push((subnets_what, Outcome::denied(p)));
            BTreeMap::new()
        }
        _ => BTreeMap::new(),
    };
    let groups_what = format!("security groups {}", network.security_groups.join(", "));
    let mut group_vpcs: BTreeMap<&str, &str> = BTreeMap::new();
    match &facts.security_groups {
        Some(Lookup::Found(found)) => {
            let missing: Vec<&str> = network
                .security_groups
                .iter()
                .filter(|g| !found.contains_key(g.as_str()))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                out.push((groups_what, Outcome::Ok));
            } else {
                out.push((
                    groups_what,
                    Outcome::fail(
                        format!("security group {} does not exist", missing.join(", ")),
                        "correct SecurityGroups in the target's awsvpcConfiguration",
                    ),
                ));
            }
            group_vpcs = network
                .security_groups
                .iter()
                .filter_map(|g| found.get(g).map(|v| (g.as_str(), v.vpc.as_str())))
                .collect();
        }
        Some(Lookup::Denied(p)) => out.push((groups_what, Outcome::denied(p))),
        _ => {}
    }
    let subnet_vpcs: BTreeMap<&str, &str> = subnet_found
        .iter()
        .map(|(id, s)| (*id, s.vpc.as_str()))
        .collect();
    let mut vpcs: Vec<&str> = subnet_vpcs
        .values()
        .chain(group_vpcs.values())
        .copied()
        .collect();
    vpcs.sort_unstable();
    vpcs.dedup();
    if vpcs.len() > 1 {
        let by: Vec<String> = subnet_vpcs
            .iter()
            .chain(group_vpcs.iter())
            .map(|(id, vpc)| format!("{id} in {vpc}"))
            .collect();
        out.push((
            "one VPC".to_string(),
            Outcome::fail(
                format!(
                    "subnets and security groups are in different VPCs: {}",
                    by.join(", ")
                ),
                "use subnets and security groups of the same VPC",
            ),
        ));
    }
    if network.assign_public_ip && runs != Runs::Fargate {
        let problem = "AssignPublicIp is ENABLED, which RunTask accepts only for Fargate";
        let fix = "set AssignPublicIp to DISABLED in the target's awsvpcConfiguration (a task on a container instance reaches out through the instance's subnet routes: a NAT gateway)";
        out.push((
            "public IP".to_string(),
            if runs == Runs::Instances {
                Outcome::fail(format!("{problem}: this task runs on container instances"), fix)
            } else {
                Outcome::Warn {
                    problem: format!("{problem}: a task this target places on container instances is refused; {fix}"),
                }
            },
        ));
    }
    if runs == Runs::Instances {
        out.push((
            "route to ECR".to_string(),
            Outcome::Skipped {
                why: "the task runs on a container instance, which pulls the image: the task subnet's routes do not decide it".into(),
            },
        ));
        return out;
    }
    let needs = needs(body, region);
    for (id, subnet) in &subnet_found {
        let lines = match facts.routes.get(*id) {
            Some(Lookup::Found(routes)) => reach_lines(
                subnet,
                routes,
                facts.endpoints.get(&subnet.vpc),
                network,
                &needs,
                region,
                facts,
            ),
            Some(Lookup::Missing) => vec![(
                format!("subnet {id} route to ECR"),
                Outcome::Warn {
                    problem: format!("no route table found for subnet {id}"),
                },
            )],
            Some(Lookup::Denied(p)) => {
                vec![(format!("subnet {id} route to ECR"), Outcome::denied(p))]
            }
            None => vec![(
                format!("subnet {id} route to ECR"),
                Outcome::Skipped {
                    why: "not read".into(),
                },
            )],
        };
        for (what, outcome) in lines {
            // A strategy mixing Fargate and container instances: what would fail a
            // Fargate task is only a warning, since this one may land on an instance.
            let outcome = match (runs, outcome) {
                (Runs::Unknown, Outcome::Fail { problem, fix }) => Outcome::Warn {
                    problem: format!("if the task runs on Fargate: {problem} (fix: {fix})"),
                },
                (_, o) => o,
            };
            out.push((what, outcome));
        }
    }
    out
}

/// Every subnet and security group the targets name, to read.
pub fn wanted(targets: &[TargetSpec]) -> (Vec<String>, Vec<String>) {
    let mut subnets = Vec::new();
    let mut groups = Vec::new();
    for t in targets {
        if let Some(n) = &t.network {
            subnets.extend(n.subnets.iter().cloned());
            groups.extend(n.security_groups.iter().cloned());
        }
    }
    subnets.sort();
    subnets.dedup();
    groups.sort();
    groups.dedup();
    (subnets, groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ec2::Ingress;
    use crate::verify::Awsvpc;
    use serde_json::json;

    const REGION: &str = "us-east-1";
    const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1";

    fn spec(subnets: &[&str], groups: &[&str], public: bool) -> TargetSpec {
        TargetSpec {
            label: "default/hourly target a".into(),
            service: "events.amazonaws.com",
            family: "web".into(),
            role_arn: None,
            cluster: None,
            launch_type: Some("FARGATE".into()),
            capacity_providers: Vec::new(),
            platform_version: None,
            network: Some(Awsvpc {
                subnets: subnets.iter().map(|s| (*s).to_string()).collect(),
                security_groups: groups.iter().map(|s| (*s).to_string()).collect(),
                assign_public_ip: public,
            }),
            dead_letter: None,
            start: Default::default(),
        }
    }

    /// A Fargate task: an ECR image, awslogs, an SSM parameter and a Secrets Manager secret.
    fn body() -> Value {
        json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": IMAGE,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
            "secrets": [{"name": "A", "valueFrom": "/web/db"},
                        {"name": "B", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:web-AbCdEf"}]}]})
    }

    fn group(id: &str, ingress: Vec<Ingress>) -> SecurityGroup {
        SecurityGroup {
            id: id.into(),
            vpc: "vpc-1".into(),
            ingress,
        }
    }

    fn https_from_group(g: &str) -> Ingress {
        Ingress {
            protocol: "tcp".into(),
            from_port: Some(443),
            to_port: Some(443),
            groups: vec![g.into()],
            ..Ingress::default()
        }
    }

    fn interface(service: &str, groups: &[&str]) -> Endpoint {
        Endpoint {
            id: format!("vpce-{}", service.replace('.', "")),
            vpc: "vpc-1".into(),
            service: format!("com.amazonaws.{REGION}.{service}"),
            kind: EndpointKind::Interface,
            private_dns: true,
            security_groups: groups.iter().map(|g| (*g).to_string()).collect(),
            route_tables: Vec::new(),
        }
    }

    fn s3_gateway(tables: &[&str]) -> Endpoint {
        Endpoint {
            id: "vpce-s3".into(),
            vpc: "vpc-1".into(),
            service: format!("com.amazonaws.{REGION}.s3"),
            kind: EndpointKind::Gateway,
            private_dns: false,
            security_groups: Vec::new(),
            route_tables: tables.iter().map(|t| (*t).to_string()).collect(),
        }
    }

    /// Every endpoint a private Fargate task with awslogs and both kinds of secret needs,
    /// their security group admitting the task's.
    fn all_endpoints() -> Vec<Endpoint> {
        let mut e: Vec<Endpoint> = ["ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager"]
            .iter()
            .map(|s| interface(s, &["sg-endpoints"]))
            .collect();
        e.push(s3_gateway(&["rtb-1"]));
        e
    }

    fn facts(routes: Routes, endpoints: Vec<Endpoint>) -> Facts {
        let subnet = |id: &str, vpc: &str, cidr: &str| Subnet {
            id: id.into(),
            vpc: vpc.into(),
            cidr: Some(cidr.into()),
        };
        let mut f = Facts {
            subnets: Some(Lookup::Found(BTreeMap::from([
                (
                    "subnet-a".to_string(),
                    subnet("subnet-a", "vpc-1", "10.0.1.0/24"),
                ),
                (
                    "subnet-b".to_string(),
                    subnet("subnet-b", "vpc-2", "10.9.1.0/24"),
                ),
            ]))),
            security_groups: Some(Lookup::Found(BTreeMap::from([(
                "sg-1".to_string(),
                group("sg-1", Vec::new()),
            )]))),
            endpoint_groups: Some(Lookup::Found(BTreeMap::from([(
                "sg-endpoints".to_string(),
                group("sg-endpoints", vec![https_from_group("sg-1")]),
            )]))),
            ..Facts::default()
        };
        f.routes.insert("subnet-a".into(), Lookup::Found(routes));
        f.endpoints.insert("vpc-1".into(), Lookup::Found(endpoints));
        f
    }

    fn private() -> Routes {
        Routes {
            id: "rtb-1".into(),
            ..Routes::default()
        }
    }

    fn igw() -> Routes {
        Routes {
            id: "rtb-1".into(),
            internet_gateway: true,
            ..Routes::default()
        }
    }

    fn fargate(f: &Facts, public: bool) -> Vec<(String, Outcome)> {
        check(
            &spec(&["subnet-a"], &["sg-1"], public),
            Runs::Fargate,
            Some(&body()),
            REGION,
            f,
        )
    }

    fn line<'a>(out: &'a [(String, Outcome)], what: &str) -> &'a Outcome {
        &out.iter()
            .find(|(w, _)| w.ends_with(what))
            .unwrap_or_else(|| panic!("no line {what} in {out:?}"))
            .1
    }

    #[test]
    fn a_public_subnet_needs_a_public_ip() {
        let f = facts(igw(), Vec::new());
        let out = fargate(&f, true);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.iter().all(|(_, o)| *o == Outcome::Ok), "{out:?}");
        let out = fargate(&f, false);
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Fail { fix, .. } if fix.starts_with("set AssignPublicIp to ENABLED")),
            "{out:?}"
        );
    }

    /// Through a NAT gateway a private subnet reaches everything: one line.
    #[test]
    fn a_nat_gateway_reaches_everything() {
        let nat = Routes {
            id: "rtb-3".into(),
            nat: true,
            ..Routes::default()
        };
        let out = fargate(&facts(nat, Vec::new()), false);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.iter().all(|(_, o)| *o == Outcome::Ok), "{out:?}");
    }

    /// https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html and
    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html: with
    /// no way out, ecr.api + ecr.dkr + the S3 gateway on the subnet's route table, logs for
    /// awslogs, ssm and secretsmanager for the secrets.
    #[test]
    fn a_private_subnet_needs_every_endpoint_the_task_uses() {
        let out = fargate(&facts(private(), all_endpoints()), false);
        assert!(out.iter().all(|(_, o)| *o == Outcome::Ok), "{out:#?}");
        for what in [
            "route to ECR",
            "route to CloudWatch Logs",
            "route to SSM",
            "route to Secrets Manager",
        ] {
            line(&out, what);
        }
        // Nothing at all: every line fails, each naming what to add.
        let out = fargate(&facts(private(), Vec::new()), false);
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Fail { problem, fix }
                if problem.contains("no ecr.api interface endpoint; no ecr.dkr interface endpoint; no S3 gateway endpoint associated with route table rtb-1")
                && fix.starts_with("add a 0.0.0.0/0 route to a NAT gateway")),
            "{out:#?}"
        );
        assert!(
            matches!(line(&out, "route to CloudWatch Logs"), Outcome::Fail { fix, .. } if fix.contains("com.amazonaws.us-east-1.logs"))
        );
        assert!(matches!(line(&out, "route to SSM"), Outcome::Fail { .. }));
        assert!(matches!(
            line(&out, "route to Secrets Manager"),
            Outcome::Fail { .. }
        ));
    }

    /// ECR's endpoints without the S3 gateway on the subnet's route table: the layers
    /// cannot be fetched.
    #[test]
    fn an_s3_gateway_endpoint_not_on_the_subnets_route_table_is_a_failure() {
        let mut endpoints = all_endpoints();
        endpoints.retain(|e| e.kind != EndpointKind::Gateway);
        endpoints.push(s3_gateway(&["rtb-other"]));
        let out = fargate(&facts(private(), endpoints), false);
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Fail { fix, .. } if fix.contains("aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-s3 --add-route-table-ids rtb-1")),
            "{out:#?}"
        );
    }

    /// The endpoints' security groups must let the task in on 443.
    #[test]
    fn endpoint_security_groups_must_admit_the_task_on_443() {
        let mut f = facts(private(), all_endpoints());
        f.endpoint_groups = Some(Lookup::Found(BTreeMap::from([(
            "sg-endpoints".to_string(),
            group("sg-endpoints", vec![https_from_group("sg-other")]),
        )])));
        let out = fargate(&f, false);
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Fail { fix, .. } if fix.contains("aws ec2 authorize-security-group-ingress --group-id sg-endpoints --protocol tcp --port 443 --source-group sg-1")),
            "{out:#?}"
        );
        // The subnet's CIDR (or a wider one) is as good as the task's group.
        let vpc_wide = Ingress {
            protocol: "tcp".into(),
            from_port: Some(443),
            to_port: Some(443),
            cidrs: vec!["10.0.0.0/16".into()],
            ..Ingress::default()
        };
        f.endpoint_groups = Some(Lookup::Found(BTreeMap::from([(
            "sg-endpoints".to_string(),
            group("sg-endpoints", vec![vpc_wide]),
        )])));
        assert!(fargate(&f, false).iter().all(|(_, o)| *o == Outcome::Ok));
        // A prefix list verify does not read: a warning.
        let listed = Ingress {
            protocol: "-1".into(),
            prefix_lists: vec!["pl-1".into()],
            ..Ingress::default()
        };
        f.endpoint_groups = Some(Lookup::Found(BTreeMap::from([(
            "sg-endpoints".to_string(),
            group("sg-endpoints", vec![listed]),
        )])));
        assert!(
            matches!(line(&fargate(&f, false), "route to ECR"), Outcome::Warn { problem } if problem.contains("pl-1"))
        );
    }

    /// Central egress or endpoints shared from a hub VPC are common: a route to a transit
    /// gateway is a warning naming it, not a failure.
    #[test]
    fn a_default_route_to_a_transit_gateway_is_a_warning_not_a_failure() {
        for routes in [
            Routes {
                id: "rtb-4".into(),
                other_egress: Some("tgw-1".into()),
                ..Routes::default()
            },
            Routes {
                id: "rtb-4".into(),
                private_paths: vec!["tgw-1".into()],
                ..Routes::default()
            },
        ] {
            let out = fargate(&facts(routes, Vec::new()), false);
            assert!(
                out.iter().filter(|(w, _)| w.contains("route to")).all(
                    |(_, o)| matches!(o, Outcome::Warn { problem } if problem.contains("tgw-1"))
                ),
                "{out:#?}"
            );
        }
    }

    /// An endpoint without private DNS may still be reached through a private hosted zone:
    /// a warning.
    #[test]
    fn an_endpoint_without_private_dns_is_a_warning() {
        let mut endpoints = all_endpoints();
        endpoints[0].private_dns = false;
        let out = fargate(&facts(private(), endpoints), false);
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Warn { problem } if problem.contains("private DNS"))
        );
    }

    /// EC2 tasks are placed on container instances, which pull the image: no Fargate route
    /// rule, and AssignPublicIp may only be DISABLED there
    /// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_AwsVpcConfiguration.html).
    #[test]
    fn an_ec2_awsvpc_target_without_nat_is_not_a_failure() {
        let f = facts(private(), Vec::new());
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Runs::Instances,
            Some(&body()),
            REGION,
            &f,
        );
        assert!(
            out.iter().all(|(_, o)| !matches!(o, Outcome::Fail { .. })),
            "{out:#?}"
        );
        assert!(
            out.iter().all(|(_, o)| match o {
                Outcome::Fail { fix, .. } => !fix.contains("ENABLED"),
                Outcome::Warn { problem } => !problem.contains("to ENABLED"),
                _ => true,
            }),
            "{out:#?}"
        );
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], true),
            Runs::Instances,
            Some(&body()),
            REGION,
            &f,
        );
        assert!(
            matches!(line(&out, "public IP"), Outcome::Fail { fix, .. } if fix.starts_with("set AssignPublicIp to DISABLED")),
            "{out:#?}"
        );
    }

    /// A registry no endpoint serves (Docker Hub) needs a way to the internet.
    #[test]
    fn a_public_registry_image_in_a_private_subnet_fails() {
        let mut b = body();
        b["containerDefinitions"][0]["image"] = json!("busybox:1");
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Runs::Fargate,
            Some(&b),
            REGION,
            &facts(private(), all_endpoints()),
        );
        assert!(
            matches!(line(&out, "route to ECR"), Outcome::Fail { problem, .. } if problem.contains("registry docker.io")),
            "{out:#?}"
        );
    }

    #[test]
    fn cidr_containment() {
        assert_eq!(contains("10.0.0.0/16", "10.0.1.0/24"), Some(true));
        assert_eq!(contains("0.0.0.0/0", "10.0.1.0/24"), Some(true));
        assert_eq!(contains("10.1.0.0/16", "10.0.1.0/24"), Some(false));
        assert_eq!(contains("10.0.1.0/26", "10.0.1.0/24"), None);
        assert_eq!(contains("nonsense", "10.0.1.0/24"), None);
    }

    #[test]
    fn missing_ids_and_mixed_vpcs_fail() {
        let f = facts(igw(), Vec::new());
        let out = check(
            &spec(&["subnet-x"], &["sg-9"], true),
            Runs::Fargate,
            Some(&body()),
            REGION,
            &f,
        );
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, .. } if problem == "subnet subnet-x does not exist")
        );
        assert!(
            matches!(&out[1].1, Outcome::Fail { problem, .. } if problem == "security group sg-9 does not exist")
        );
        let out = check(
            &spec(&["subnet-b"], &["sg-1"], true),
            Runs::Fargate,
            Some(&body()),
            REGION,
            &f,
        );
        assert!(
            out.iter()
                .any(|(w, o)| w == "one VPC" && matches!(o, Outcome::Fail { .. })),
            "{out:?}"
        );
    }

    #[test]
    fn awsvpc_without_network_configuration_fails() {
        let mut s = spec(&[], &[], false);
        s.network = None;
        let out = check(
            &s,
            Runs::Fargate,
            Some(&json!({"networkMode": "awsvpc"})),
            REGION,
            &Facts::default(),
        );
        assert!(matches!(&out[0].1, Outcome::Fail { .. }));
        assert!(
            check(
                &s,
                Runs::Instances,
                Some(&json!({"networkMode": "bridge"})),
                REGION,
                &Facts::default()
            )
            .is_empty()
        );
    }
}
