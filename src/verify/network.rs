//! Network (awsvpc targets): the subnets and security groups exist and are in one VPC; and
//! each subnet can reach ECR: a NAT gateway route, or ECR (api, dkr) and S3 VPC endpoints,
//! or a public IP (`AssignPublicIp` ENABLED) with an internet gateway route. Otherwise the
//! image pull fails when the schedule fires.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Facts, Outcome, TargetSpec};
use crate::aws::Lookup;
use crate::aws::ec2::Routes;

/// Whether the VPC's endpoints let a private subnet pull from ECR: `ecr.api`, `ecr.dkr`
/// (interface) and `s3` (gateway: the layers are in S3).
fn endpoints_serve_ecr(endpoints: &[String]) -> bool {
    ["ecr.api", "ecr.dkr", "s3"]
        .iter()
        .all(|s| endpoints.iter().any(|e| e.ends_with(&format!(".{s}"))))
}

fn route_outcome(
    subnet: &str,
    routes: &Routes,
    endpoints: Option<&Lookup<Vec<String>>>,
    public_ip: bool,
) -> Outcome {
    if routes.nat {
        return Outcome::Ok;
    }
    if let Some(Lookup::Found(e)) = endpoints
        && endpoints_serve_ecr(e)
    {
        return Outcome::Ok;
    }
    if routes.internet_gateway && public_ip {
        return Outcome::Ok;
    }
    if let Some(via) = &routes.other_egress {
        return Outcome::Warn {
            problem: format!(
                "subnet {subnet} (route table {}) reaches out through {via}, which jobdeploy cannot see past: it must lead to a NAT gateway or ECR/S3 VPC endpoints, or the ECR pull fails",
                routes.id
            ),
        };
    }
    if routes.internet_gateway {
        return Outcome::fail(
            format!(
                "subnet {subnet} routes to the internet only through an internet gateway, and the task gets no public IP: the ECR pull fails"
            ),
            "set AssignPublicIp to ENABLED in the target's awsvpcConfiguration, or add a NAT gateway route to the subnet's route table",
        );
    }
    let denied = match endpoints {
        Some(Lookup::Denied(p)) => format!(" (VPC endpoints not read: no permission for {p})"),
        _ => String::new(),
    };
    Outcome::fail(
        format!(
            "subnet {subnet} (route table {}) has no NAT gateway route, no internet gateway route and no ECR/S3 VPC endpoints: the ECR pull fails{denied}",
            routes.id
        ),
        "add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or VPC endpoints for ecr.api, ecr.dkr and S3 (gateway)",
    )
}

/// The network lines of one target. `body` is the task definition it runs (when ours).
pub fn check(target: &TargetSpec, body: Option<&Value>, facts: &Facts) -> Vec<(String, Outcome)> {
    let awsvpc = body
        .and_then(|b| b.get("networkMode"))
        .and_then(Value::as_str)
        == Some("awsvpc");
    let Some(network) = &target.network else {
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
    let subnet_vpcs: BTreeMap<&str, &str> = match &facts.subnets {
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
                .filter_map(|s| found.get(s).map(|v| (s.as_str(), v.as_str())))
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
                .filter_map(|g| found.get(g).map(|v| (g.as_str(), v.as_str())))
                .collect();
        }
        Some(Lookup::Denied(p)) => out.push((groups_what, Outcome::denied(p))),
        _ => {}
    }
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
    for (subnet, vpc) in &subnet_vpcs {
        let what = format!("subnet {subnet} route to ECR");
        let outcome = match facts.routes.get(*subnet) {
            Some(Lookup::Found(routes)) => route_outcome(
                subnet,
                routes,
                facts.endpoints.get(*vpc),
                network.assign_public_ip,
            ),
            Some(Lookup::Missing) => Outcome::Warn {
                problem: format!("no route table found for subnet {subnet}"),
            },
            Some(Lookup::Denied(p)) => Outcome::denied(p),
            None => Outcome::Skipped {
                why: "not read".into(),
            },
        };
        out.push((what, outcome));
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
    use crate::verify::Awsvpc;
    use serde_json::json;

    fn spec(subnets: &[&str], groups: &[&str], public: bool) -> TargetSpec {
        TargetSpec {
            label: "default/hourly target a".into(),
            service: "events.amazonaws.com",
            family: "web".into(),
            role_arn: None,
            launch_type: Some("FARGATE".into()),
            capacity_providers: Vec::new(),
            platform_version: None,
            network: Some(Awsvpc {
                subnets: subnets.iter().map(|s| (*s).to_string()).collect(),
                security_groups: groups.iter().map(|s| (*s).to_string()).collect(),
                assign_public_ip: public,
            }),
            start: Default::default(),
        }
    }

    fn facts(routes: Routes, endpoints: &[&str]) -> Facts {
        let mut f = Facts {
            subnets: Some(Lookup::Found(BTreeMap::from([
                ("subnet-a".to_string(), "vpc-1".to_string()),
                ("subnet-b".to_string(), "vpc-2".to_string()),
            ]))),
            security_groups: Some(Lookup::Found(BTreeMap::from([(
                "sg-1".to_string(),
                "vpc-1".to_string(),
            )]))),
            ..Facts::default()
        };
        f.routes.insert("subnet-a".into(), Lookup::Found(routes));
        f.endpoints.insert(
            "vpc-1".into(),
            Lookup::Found(endpoints.iter().map(|e| (*e).to_string()).collect()),
        );
        f
    }

    fn igw() -> Routes {
        Routes {
            id: "rtb-1".into(),
            internet_gateway: true,
            ..Routes::default()
        }
    }

    #[test]
    fn a_public_subnet_needs_a_public_ip() {
        let body = json!({"networkMode": "awsvpc"});
        let f = facts(igw(), &[]);
        let out = check(&spec(&["subnet-a"], &["sg-1"], true), Some(&body), &f);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out.iter().all(|(_, o)| *o == Outcome::Ok), "{out:?}");
        let out = check(&spec(&["subnet-a"], &["sg-1"], false), Some(&body), &f);
        assert!(
            matches!(&out[2].1, Outcome::Fail { fix, .. } if fix.starts_with("set AssignPublicIp to ENABLED"))
        );
    }

    #[test]
    fn a_private_subnet_needs_nat_or_endpoints() {
        let body = json!({"networkMode": "awsvpc"});
        let private = Routes {
            id: "rtb-2".into(),
            ..Routes::default()
        };
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Some(&body),
            &facts(private.clone(), &[]),
        );
        assert!(matches!(&out[2].1, Outcome::Fail { problem, .. } if problem.contains("rtb-2")));
        let endpoints = [
            "com.amazonaws.us-east-1.ecr.api",
            "com.amazonaws.us-east-1.ecr.dkr",
            "com.amazonaws.us-east-1.s3",
        ];
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Some(&body),
            &facts(private, &endpoints),
        );
        assert_eq!(out[2].1, Outcome::Ok);
        let nat = Routes {
            id: "rtb-3".into(),
            nat: true,
            ..Routes::default()
        };
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Some(&body),
            &facts(nat, &[]),
        );
        assert_eq!(out[2].1, Outcome::Ok);
    }

    /// Central egress through a transit gateway is common: not a failure (verify cannot see
    /// where it leads), a warning naming it.
    #[test]
    fn a_default_route_to_a_transit_gateway_is_a_warning_not_a_failure() {
        let body = json!({"networkMode": "awsvpc"});
        let central = Routes {
            id: "rtb-4".into(),
            other_egress: Some("tgw-1".into()),
            ..Routes::default()
        };
        let out = check(
            &spec(&["subnet-a"], &["sg-1"], false),
            Some(&body),
            &facts(central, &[]),
        );
        assert!(
            matches!(&out[2].1, Outcome::Warn { problem } if problem.contains("tgw-1")),
            "{out:?}"
        );
    }

    #[test]
    fn missing_ids_and_mixed_vpcs_fail() {
        let body = json!({"networkMode": "awsvpc"});
        let f = facts(igw(), &[]);
        let out = check(&spec(&["subnet-x"], &["sg-9"], true), Some(&body), &f);
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, .. } if problem == "subnet subnet-x does not exist")
        );
        assert!(
            matches!(&out[1].1, Outcome::Fail { problem, .. } if problem == "security group sg-9 does not exist")
        );
        let out = check(&spec(&["subnet-b"], &["sg-1"], true), Some(&body), &f);
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
            Some(&json!({"networkMode": "awsvpc"})),
            &Facts::default(),
        );
        assert!(matches!(&out[0].1, Outcome::Fail { .. }));
        assert!(
            check(
                &s,
                Some(&json!({"networkMode": "bridge"})),
                &Facts::default()
            )
            .is_empty()
        );
    }
}
