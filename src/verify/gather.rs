//! The reads behind the checks, side by side: each service in its own quota group, each
//! bounded by `--concurrency`. Read only — nothing here writes.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{Facts, Scope, image, logs, network, permissions, roles, secrets};
use crate::aws::{self, Aws, Lookup};
use crate::error::{Error, Result};
use crate::image::ImageRef;

/// What a scope's targets make [`gather`] read: their roles, subnets, security groups and
/// clusters. Facts gathered for one set of targets hold every fact about another whose keys
/// they cover.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TargetKeys {
    roles: BTreeSet<String>,
    subnets: BTreeSet<String>,
    groups: BTreeSet<String>,
    clusters: BTreeSet<String>,
    /// The VPCs whose endpoints were read (known only once their subnets were): a subnet of
    /// another target in one of them needs its route table, not the VPC's endpoints again.
    vpcs: BTreeSet<String>,
}

impl TargetKeys {
    pub fn of(targets: &[super::TargetSpec]) -> Self {
        let (subnets, groups) = network::wanted(targets);
        Self {
            roles: roles::wanted(std::iter::empty(), targets)
                .into_iter()
                .collect(),
            subnets: subnets.into_iter().collect(),
            groups: groups.into_iter().collect(),
            clusters: targets.iter().filter_map(|t| t.cluster.clone()).collect(),
            vpcs: BTreeSet::new(),
        }
    }

    /// The keys of `targets`, whose facts were read into `facts`: with the VPCs whose
    /// endpoints those facts hold.
    pub fn read(targets: &[super::TargetSpec], facts: &Facts) -> Self {
        Self {
            vpcs: facts.endpoints.keys().cloned().collect(),
            ..Self::of(targets)
        }
    }

    /// Every key of `other` is one of these (its VPCs aside: a target names none).
    pub fn covers(&self, other: &TargetKeys) -> bool {
        other.roles.is_subset(&self.roles)
            && other.subnets.is_subset(&self.subnets)
            && other.groups.is_subset(&self.groups)
            && other.clusters.is_subset(&self.clusters)
    }
}

pub async fn gather(aws: &Aws, scope: &Scope<'_>) -> Result<Facts> {
    gather_beyond(aws, scope, &TargetKeys::default()).await
}

/// [`gather`], leaving out the roles, subnets, security groups, clusters and VPC endpoints in
/// `known` (read already, for targets met earlier): what to [`Facts::merge`] with those facts.
pub async fn gather_beyond(aws: &Aws, scope: &Scope<'_>, known: &TargetKeys) -> Result<Facts> {
    let bodies = || scope.families.iter().map(|(_, b)| *b);
    let mut role_arns = roles::wanted(bodies(), &scope.targets);
    role_arns.retain(|r| !known.roles.contains(r));
    let image_refs = image::wanted(bodies());
    let (parameter_names, secret_ids) = secrets::wanted(bodies(), &scope.region);
    let log_groups = logs::wanted(bodies(), &scope.region);
    let (mut subnet_ids, mut group_ids) = network::wanted(&scope.targets);
    subnet_ids.retain(|id| !known.subnets.contains(id));
    group_ids.retain(|id| !known.groups.contains(id));
    let mut cluster_names: Vec<String> = scope
        .targets
        .iter()
        .filter_map(|t| t.cluster.clone())
        .collect();
    cluster_names.sort();
    cluster_names.dedup();
    cluster_names.retain(|c| !known.clusters.contains(c));
    let n = aws.concurrency;

    let roles = async {
        stream::iter(role_arns)
            .map(|arn| async move { Ok::<_, Error>((arn.clone(), aws::iam::role(aws, &arn).await?)) })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>()
            .await
    };
    let images = async {
        stream::iter(image_refs)
            .map(|reference| async move {
                let image = ImageRef::parse(&reference)
                    .map_err(|e| Error::new(format!("image `{reference}`: {e}")))?;
                let found = match image.ecr() {
                    Some(repo) => aws::ecr::manifest(aws, &image, &repo).await?,
                    None => Lookup::Missing,
                };
                Ok::<_, Error>((reference, found))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>()
            .await
    };
    // Which KMS key each SecureString uses (for the execution role's kms:Decrypt), read
    // beside the existence check: one DescribeParameters per region and 50 names.
    let key_names: Vec<(String, Vec<String>)> = parameter_names
        .iter()
        .map(|(region, names)| {
            let plain: BTreeSet<String> = names
                .iter()
                .flat_map(|n| secrets::parameter_names(n))
                .collect();
            (region.clone(), plain.into_iter().collect())
        })
        .collect();
    let parameter_keys = async {
        stream::iter(key_names)
            .map(|(region, names)| async move {
                let keys = aws::ssm::keys(aws, &region, &names).await?;
                Ok::<_, Error>((region, keys))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>()
            .await
    };
    let parameters = async {
        stream::iter(parameter_names)
            .map(|(region, names)| async move {
                let missing = aws::ssm::missing(aws, &region, &names).await?;
                Ok::<_, Error>((region, missing))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>()
            .await
    };
    let secrets = async {
        stream::iter(secret_ids)
            .map(|(region, arn)| async move {
                let found = aws::secretsmanager::describe_secret(aws, &region, &arn).await?;
                Ok::<_, Error>(((region, arn), found))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, Lookup<aws::secretsmanager::Described>>>()
            .await
    };
    let groups = async {
        stream::iter(log_groups)
            .map(|(region, group)| async move {
                let found = aws::loggroups::exists(aws, &region, &group).await?;
                Ok::<_, Error>(((region, group), found))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>()
            .await
    };
    let net = read_network(aws, subnet_ids, group_ids, &known.vpcs);
    // One DescribeClusters for every cluster the targets name (in practice, one).
    let clusters = async {
        if cluster_names.is_empty() {
            Ok(BTreeMap::new())
        } else {
            aws::ecs::clusters(&aws.ecs, &cluster_names).await
        }
    };
    let (roles, images, parameters, parameter_keys, secrets, log_groups, net, clusters) = futures::try_join!(
        roles,
        images,
        parameters,
        parameter_keys,
        secrets,
        groups,
        net,
        clusters
    )?;
    let Network {
        subnets,
        security_groups,
        endpoint_groups,
        routes,
        endpoints,
    } = net;
    let mut secret_meta = BTreeMap::new();
    let secrets = secrets
        .into_iter()
        .map(|(key, found)| {
            let versions = match found {
                Lookup::Found(d) => {
                    let versions = d.versions.clone();
                    secret_meta.insert(key.clone(), d);
                    Lookup::Found(versions)
                }
                Lookup::Missing => Lookup::Missing,
                Lookup::Denied(p) => Lookup::Denied(p),
            };
            (key, versions)
        })
        .collect();
    Ok(Facts {
        roles,
        images,
        parameters,
        parameter_keys,
        secrets,
        log_groups,
        subnets,
        security_groups,
        routes,
        endpoints,
        endpoint_groups,
        clusters,
        secret_meta,
        permissions: None,
    })
}

/// What each role of `scope` may do, asked of IAM once the other reads are in (`facts`
/// gives the roles' ARNs and the secrets' full ARNs and keys) and the targets' revisions
/// after the deploy are known: a few `SimulatePrincipalPolicy` calls per role (see
/// [`permissions::requests`]), side by side, paced in the `iam` quota group.
pub async fn simulate(
    aws: &Aws,
    scope: &Scope<'_>,
    facts: &Facts,
) -> Result<Option<permissions::Permissions>> {
    let checks = super::permission_checks(scope, facts);
    let questions = permissions::requests(checks.iter().flat_map(|c| &c.needs));
    if questions.is_empty() {
        return Ok(None);
    }
    let answers = stream::iter(questions)
        .map(|q| async move {
            let answer = aws::iam::simulate(aws, &q).await?;
            Ok::<_, Error>((q, answer))
        })
        .buffer_unordered(aws.concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let mut out = permissions::Permissions::default();
    for (question, answer) in answers {
        match answer {
            aws::iam::Simulated::Answered(evaluations) => {
                out.answers
                    .extend(permissions::read(&question, &evaluations));
            }
            aws::iam::Simulated::Denied => {
                out.denied.insert(question.role);
            }
            aws::iam::Simulated::Refused(message) => {
                out.refused.insert(question.role, message);
            }
        }
    }
    Ok(Some(out))
}

type ById<T> = Option<Lookup<BTreeMap<String, T>>>;

#[derive(Default)]
struct Network {
    subnets: ById<aws::ec2::Subnet>,
    security_groups: ById<aws::ec2::SecurityGroup>,
    endpoint_groups: ById<aws::ec2::SecurityGroup>,
    routes: BTreeMap<String, Lookup<aws::ec2::Routes>>,
    endpoints: BTreeMap<String, Lookup<aws::ec2::Endpoints>>,
}

fn by_id<T>(l: Lookup<Vec<T>>, id: impl Fn(&T) -> String) -> Lookup<BTreeMap<String, T>> {
    match l {
        Lookup::Found(items) => Lookup::Found(items.into_iter().map(|i| (id(&i), i)).collect()),
        Lookup::Missing => Lookup::Missing,
        Lookup::Denied(p) => Lookup::Denied(p),
    }
}

/// Subnets and security groups (one call each); then each found subnet's route table and
/// the endpoints of every VPC not in `vpcs_read` (one paged call for all); then the
/// endpoints' security groups not read already (one call).
async fn read_network(
    aws: &Aws,
    subnet_ids: Vec<String>,
    group_ids: Vec<String>,
    vpcs_read: &BTreeSet<String>,
) -> Result<Network> {
    if subnet_ids.is_empty() && group_ids.is_empty() {
        return Ok(Network::default());
    }
    let (subnets, groups) = futures::future::try_join(
        async {
            if subnet_ids.is_empty() {
                Ok(Lookup::Found(Vec::new()))
            } else {
                aws::ec2::subnets(aws, &subnet_ids).await
            }
        },
        async {
            if group_ids.is_empty() {
                Ok(Lookup::Found(Vec::new()))
            } else {
                aws::ec2::security_groups(aws, &group_ids).await
            }
        },
    )
    .await?;
    let subnets = by_id(subnets, |s: &aws::ec2::Subnet| s.id.clone());
    let groups = by_id(groups, |g: &aws::ec2::SecurityGroup| g.id.clone());
    let found: Vec<(String, String)> = match &subnets {
        Lookup::Found(m) => m.values().map(|s| (s.id.clone(), s.vpc.clone())).collect(),
        _ => Vec::new(),
    };
    let mut vpcs: Vec<String> = found.iter().map(|(_, v)| v.clone()).collect();
    vpcs.sort();
    vpcs.dedup();
    vpcs.retain(|v| !vpcs_read.contains(v));
    let n = aws.concurrency;
    let (routes, all_endpoints) = futures::future::try_join(
        stream::iter(found)
            .map(|(subnet, vpc)| async move {
                let routes = aws::ec2::route_table(aws, &subnet, &vpc).await?;
                Ok::<_, Error>((subnet, routes))
            })
            .buffer_unordered(n)
            .try_collect::<BTreeMap<_, _>>(),
        async {
            if vpcs.is_empty() {
                Ok(Lookup::Found(BTreeMap::new()))
            } else {
                aws::ec2::endpoints(aws, &vpcs).await
            }
        },
    )
    .await?;
    let endpoints: BTreeMap<String, Lookup<aws::ec2::Endpoints>> = vpcs
        .iter()
        .map(|v| {
            let lookup = match &all_endpoints {
                Lookup::Found(m) => Lookup::Found(m.get(v).cloned().unwrap_or_default()),
                Lookup::Missing => Lookup::Missing,
                Lookup::Denied(p) => Lookup::Denied(p),
            };
            (v.clone(), lookup)
        })
        .collect();
    // The interface endpoints' security groups: those the targets use are read already.
    let mut wanted: Vec<String> = match &all_endpoints {
        Lookup::Found(m) => m
            .values()
            .flatten()
            .filter(|e| e.kind == aws::ec2::EndpointKind::Interface)
            .flat_map(|e| e.security_groups.iter().cloned())
            .collect(),
        _ => Vec::new(),
    };
    wanted.sort();
    wanted.dedup();
    let known: BTreeMap<String, aws::ec2::SecurityGroup> = match &groups {
        Lookup::Found(m) => m.clone(),
        _ => BTreeMap::new(),
    };
    let unread: Vec<String> = wanted
        .iter()
        .filter(|g| !known.contains_key(*g))
        .cloned()
        .collect();
    let endpoint_groups = if unread.is_empty() {
        Lookup::Found(known)
    } else {
        match by_id(
            aws::ec2::security_groups(aws, &unread).await?,
            |g: &aws::ec2::SecurityGroup| g.id.clone(),
        ) {
            Lookup::Found(more) => Lookup::Found(known.into_iter().chain(more).collect()),
            other => other,
        }
    };
    Ok(Network {
        subnets: Some(subnets),
        security_groups: Some(groups),
        endpoint_groups: Some(endpoint_groups),
        routes,
        endpoints,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::TargetKeys;
    use crate::model::{Owner, Trigger};
    use crate::verify::TargetSpec;

    fn target(role: &str, subnet: &str) -> TargetSpec {
        let raw = json!({
            "Id": "batch",
            "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/batch",
            "RoleArn": format!("arn:aws:iam::123456789012:role/{role}"),
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": [subnet], "SecurityGroups": ["sg-1"]}}
            }
        });
        let at = Trigger {
            owner: Owner::Rule {
                event_bus: "default".into(),
                rule: "hourly".into(),
            },
            target_id: Some("batch".into()),
        };
        TargetSpec::of(&at, &raw, "web")
    }

    #[test]
    fn keys_cover_targets_that_read_nothing_new() {
        let first = TargetKeys::of(&[target("events", "subnet-a")]);
        let same = TargetKeys::of(&[target("events", "subnet-a"), target("events", "subnet-a")]);
        assert!(first.covers(&same));
        assert!(!first.covers(&TargetKeys::of(&[target("other", "subnet-a")])));
        assert!(!first.covers(&TargetKeys::of(&[target("events", "subnet-b")])));
        assert!(first.covers(&TargetKeys::default()));
    }
}
