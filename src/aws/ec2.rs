//! EC2: the subnets, security groups, route tables and VPC endpoints an awsvpc task would
//! use. Describe calls only, by filter, so an id that does not exist is simply absent
//! (no `InvalidSubnetID.NotFound` for the whole call).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_ec2::types::Filter;

use super::pace::Group;
use super::{Aws, Lookup, failed, is_denied, paginate};
use crate::error::{Error, Result};

/// A subnet: its id, VPC and IPv4 CIDR (what an endpoint's security group may allow).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc: String,
    pub cidr: Option<String>,
}

/// A security group: its id, VPC and inbound rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc: String,
    pub ingress: Vec<Ingress>,
}

/// One inbound rule: protocol (`-1` all, `tcp`, …), port range, and its sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingress {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidrs: Vec<String>,
    pub groups: Vec<String>,
    /// Sources verify cannot resolve: prefix lists.
    pub prefix_lists: Vec<String>,
}

/// A route table's routes, as verify needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    pub id: String,
    /// A default route (0.0.0.0/0) to a NAT gateway.
    pub nat: bool,
    /// A default route to an internet gateway (`igw-…`).
    pub internet_gateway: bool,
    /// A default route to something else that may reach the internet, which verify cannot
    /// see past: a transit gateway (central egress), a NAT instance, a peering, a firewall
    /// endpoint… Its target's id.
    pub other_egress: Option<String>,
    /// Narrower routes into other networks (a transit gateway, a peering, a virtual private
    /// gateway…): shared VPC endpoints in a hub VPC are reached this way, which verify
    /// cannot see past either. Their targets' ids.
    pub private_paths: Vec<String>,
    /// Prefix-list routes (an S3 gateway endpoint adds one).
    pub prefix_lists: Vec<String>,
}

/// Whether an endpoint is an interface (PrivateLink: ENIs with security groups) or a
/// gateway (route-table entries: S3, DynamoDB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndpointKind {
    #[default]
    Interface,
    Gateway,
    Other,
}

/// An available VPC endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub vpc: String,
    /// `com.amazonaws.REGION.ecr.dkr`.
    pub service: String,
    pub kind: EndpointKind,
    /// Interface endpoints: whether the service's default name resolves to it.
    pub private_dns: bool,
    pub security_groups: Vec<String>,
    /// Gateway endpoints: the route tables it is associated with.
    pub route_tables: Vec<String>,
}

/// The VPC's available endpoints.
pub type Endpoints = Vec<Endpoint>;

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// Runs a paginated describe; a refused call is [`Lookup::Denied`] naming `permission`.
async fn describe<T, F, Fut>(permission: &'static str, mut page: F) -> Result<Lookup<Vec<T>>>
where
    F: FnMut(Option<String>, Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    let denied = Arc::new(AtomicBool::new(false));
    match paginate(|token| page(token, denied.clone())).await {
        Ok(items) => Ok(Lookup::Found(items)),
        Err(_) if denied.load(Ordering::Relaxed) => Ok(Lookup::Denied(permission)),
        Err(e) => Err(e),
    }
}

fn refused(denied: &AtomicBool) -> Error {
    denied.store(true, Ordering::Relaxed);
    Error::new("denied")
}

pub async fn subnets(aws: &Aws, ids: &[String]) -> Result<Lookup<Vec<Subnet>>> {
    describe("ec2:DescribeSubnets", |token, denied| async move {
        let result = aws
            .ec2
            .call(Group::Ec2, "DescribeSubnets", || {
                aws.ec2
                    .describe_subnets()
                    .filters(filter("subnet-id", ids))
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        match result {
            Ok(out) => Ok((
                out.subnets()
                    .iter()
                    .map(|s| Subnet {
                        id: s.subnet_id().unwrap_or_default().to_string(),
                        vpc: s.vpc_id().unwrap_or_default().to_string(),
                        cidr: s.cidr_block().map(str::to_string),
                    })
                    .collect(),
                out.next_token().map(str::to_string),
            )),
            Err(e) if is_denied(&e) => Err(refused(&denied)),
            Err(e) => Err(failed("EC2 DescribeSubnets", ids.join(", "), &e)),
        }
    })
    .await
}

pub async fn security_groups(aws: &Aws, ids: &[String]) -> Result<Lookup<Vec<SecurityGroup>>> {
    describe("ec2:DescribeSecurityGroups", |token, denied| async move {
        let result = aws
            .ec2
            .call(Group::Ec2, "DescribeSecurityGroups", || {
                aws.ec2
                    .describe_security_groups()
                    .filters(filter("group-id", ids))
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        match result {
            Ok(out) => Ok((
                out.security_groups()
                    .iter()
                    .map(|g| SecurityGroup {
                        id: g.group_id().unwrap_or_default().to_string(),
                        vpc: g.vpc_id().unwrap_or_default().to_string(),
                        ingress: g.ip_permissions().iter().map(ingress_of).collect(),
                    })
                    .collect(),
                out.next_token().map(str::to_string),
            )),
            Err(e) if is_denied(&e) => Err(refused(&denied)),
            Err(e) => Err(failed("EC2 DescribeSecurityGroups", ids.join(", "), &e)),
        }
    })
    .await
}

fn ingress_of(p: &aws_sdk_ec2::types::IpPermission) -> Ingress {
    Ingress {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        cidrs: p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .collect(),
        groups: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        prefix_lists: p
            .prefix_list_ids()
            .iter()
            .filter_map(|l| l.prefix_list_id().map(str::to_string))
            .collect(),
    }
}

/// The route table a subnet uses: its own association, else its VPC's main table.
pub async fn route_table(aws: &Aws, subnet: &str, vpc: &str) -> Result<Lookup<Routes>> {
    let own = tables(aws, "association.subnet-id", subnet).await?;
    let tables = match own {
        Lookup::Found(t) if t.is_empty() => {
            let main = tables(aws, "vpc-id", vpc).await?;
            match main {
                Lookup::Found(all) => {
                    Lookup::Found(all.into_iter().filter(|(main, _)| *main).collect())
                }
                other => other,
            }
        }
        other => other,
    };
    Ok(match tables {
        Lookup::Found(t) => t
            .into_iter()
            .next()
            .map_or(Lookup::Missing, |(_, r)| Lookup::Found(r)),
        Lookup::Missing => Lookup::Missing,
        Lookup::Denied(p) => Lookup::Denied(p),
    })
}

/// `(is the VPC's main table, its routes)` of the tables matching the filter.
async fn tables(aws: &Aws, name: &str, value: &str) -> Result<Lookup<Vec<(bool, Routes)>>> {
    let values = [value.to_string()];
    describe("ec2:DescribeRouteTables", |token, denied| {
        let values = &values;
        async move {
            let result = aws
                .ec2
                .call(Group::Ec2, "DescribeRouteTables", || {
                    aws.ec2
                        .describe_route_tables()
                        .filters(filter(name, values))
                        .set_next_token(token.clone())
                        .send()
                })
                .await;
            match result {
                Ok(out) => Ok((
                    out.route_tables().iter().map(routes_of).collect(),
                    out.next_token().map(str::to_string),
                )),
                Err(e) if is_denied(&e) => Err(refused(&denied)),
                Err(e) => Err(failed("EC2 DescribeRouteTables", value, &e)),
            }
        }
    })
    .await
}

fn routes_of(table: &aws_sdk_ec2::types::RouteTable) -> (bool, Routes) {
    let main = table.associations().iter().any(|a| a.main() == Some(true));
    let mut routes = Routes {
        id: table.route_table_id().unwrap_or_default().to_string(),
        ..Routes::default()
    };
    for r in table.routes() {
        // A blackhole route (its NAT gateway or attachment deleted) carries nothing.
        if r.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole) {
            continue;
        }
        let default = r.destination_cidr_block() == Some("0.0.0.0/0");
        if default && r.nat_gateway_id().is_some() {
            routes.nat = true;
        }
        if default && r.gateway_id().is_some_and(|g| g.starts_with("igw-")) {
            routes.internet_gateway = true;
        }
        let other = [
            r.transit_gateway_id(),
            r.instance_id(),
            r.network_interface_id(),
            r.vpc_peering_connection_id(),
            r.local_gateway_id(),
            r.carrier_gateway_id(),
            r.core_network_arn(),
            r.gateway_id()
                .filter(|g| !g.starts_with("igw-") && *g != "local"),
        ]
        .into_iter()
        .flatten()
        .next();
        if default && routes.other_egress.is_none() {
            routes.other_egress = other.map(str::to_string);
        }
        // A gateway endpoint's own route (`vpce-…` to the S3 prefix list) is no path out.
        if !default
            && let Some(via) = other
            && !via.starts_with("vpce-")
            && !routes.private_paths.iter().any(|p| p == via)
        {
            routes.private_paths.push(via.to_string());
        }
        if let Some(pl) = r.destination_prefix_list_id() {
            routes.prefix_lists.push(pl.to_string());
        }
    }
    (main, routes)
}

/// The available endpoints of every VPC in `vpcs`, by VPC: one paged read for all of
/// them, filtered here (an account has few endpoints, and not every implementation
/// filters them by VPC).
pub async fn endpoints(
    aws: &Aws,
    vpcs: &[String],
) -> Result<Lookup<std::collections::BTreeMap<String, Endpoints>>> {
    let all = describe("ec2:DescribeVpcEndpoints", |token, denied| async move {
        let result = aws
            .ec2
            .call(Group::Ec2, "DescribeVpcEndpoints", || {
                aws.ec2
                    .describe_vpc_endpoints()
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        match result {
            Ok(out) => Ok((
                out.vpc_endpoints()
                    .iter()
                    .filter(|e| {
                        e.vpc_id()
                            .is_some_and(|v| vpcs.iter().any(|w| w.as_str() == v))
                    })
                    .filter(|e| {
                        e.state()
                            .is_none_or(|s| s.as_str().eq_ignore_ascii_case("available"))
                    })
                    .map(endpoint_of)
                    .collect(),
                out.next_token().map(str::to_string),
            )),
            Err(e) if is_denied(&e) => Err(refused(&denied)),
            Err(e) => Err(failed("EC2 DescribeVpcEndpoints", vpcs.join(", "), &e)),
        }
    })
    .await?;
    Ok(match all {
        Lookup::Found(list) => {
            let mut by_vpc: std::collections::BTreeMap<String, Endpoints> =
                vpcs.iter().map(|v| (v.clone(), Vec::new())).collect();
            for e in list {
                by_vpc.entry(e.vpc.clone()).or_default().push(e);
            }
            Lookup::Found(by_vpc)
        }
        Lookup::Missing => Lookup::Missing,
        Lookup::Denied(p) => Lookup::Denied(p),
    })
}

fn endpoint_of(e: &aws_sdk_ec2::types::VpcEndpoint) -> Endpoint {
    use aws_sdk_ec2::types::VpcEndpointType;
    Endpoint {
        id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
        vpc: e.vpc_id().unwrap_or_default().to_string(),
        service: e.service_name().unwrap_or_default().to_string(),
        kind: match e.vpc_endpoint_type() {
            Some(VpcEndpointType::Interface) | None => EndpointKind::Interface,
            Some(VpcEndpointType::Gateway) => EndpointKind::Gateway,
            Some(_) => EndpointKind::Other,
        },
        private_dns: e.private_dns_enabled().unwrap_or(false),
        security_groups: e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        route_tables: e.route_table_ids().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{Route, RouteState, RouteTable};

    fn default_route() -> aws_sdk_ec2::types::builders::RouteBuilder {
        Route::builder().destination_cidr_block("0.0.0.0/0")
    }

    /// A NAT gateway deleted leaves its route as a blackhole: no way out. A default route to
    /// a transit gateway (a central egress VPC) is a way out verify cannot see past.
    #[test]
    fn blackhole_routes_carry_nothing_and_other_default_routes_are_named() {
        let dead_nat = RouteTable::builder()
            .route_table_id("rtb-1")
            .routes(
                default_route()
                    .nat_gateway_id("nat-1")
                    .state(RouteState::Blackhole)
                    .build(),
            )
            .build();
        let (_, routes) = routes_of(&dead_nat);
        assert!(!routes.nat && routes.other_egress.is_none(), "{routes:?}");
        let central = RouteTable::builder()
            .route_table_id("rtb-2")
            .routes(
                Route::builder()
                    .destination_cidr_block("10.0.0.0/16")
                    .gateway_id("local")
                    .build(),
            )
            .routes(
                default_route()
                    .transit_gateway_id("tgw-1")
                    .state(RouteState::Active)
                    .build(),
            )
            .build();
        let (_, routes) = routes_of(&central);
        assert_eq!(routes.other_egress.as_deref(), Some("tgw-1"));
        assert!(!routes.nat && !routes.internet_gateway);
    }
}
