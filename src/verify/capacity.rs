//! Capacity and delivery: the capacity providers a target's strategy names are associated
//! with its cluster, an EC2 target has container instances to land on, and a target has a
//! dead-letter queue to keep what it could not deliver.

use std::collections::BTreeMap;

use super::{Outcome, Runs, TargetSpec};
use crate::aws::Lookup;
use crate::aws::ecs::Cluster;

/// The name in a cluster ARN (`arn:…:cluster/batch` → `batch`), or the name as given.
fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit_once('/').map_or(cluster, |(_, n)| n)
}

/// The capacity lines of one target.
pub fn check(
    target: &TargetSpec,
    runs: Runs,
    clusters: &BTreeMap<String, Lookup<Cluster>>,
) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    // RunTask takes a launch type or a strategy, never both: "If a capacityProviderStrategy
    // is specified, the launchType parameter must be omitted."
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
    if let Some(launch_type) = &target.launch_type
        && !target.capacity_providers.is_empty()
    {
        out.push((
            "launch type".to_string(),
            Outcome::fail(
                format!(
                    "the target sets both LaunchType {launch_type} and a CapacityProviderStrategy: RunTask refuses the pair"
                ),
                "remove LaunchType from the target's EcsParameters (or the CapacityProviderStrategy)",
            ),
        ));
    }
    let Some(name) = &target.cluster else {
        return out;
    };
    let short = cluster_name(name);
    let cluster = match clusters.get(name) {
        Some(Lookup::Found(c)) => c,
        Some(Lookup::Missing) => {
            out.push((
                format!("cluster {short}"),
                Outcome::fail(
                    format!("cluster {short} does not exist (or is INACTIVE): RunTask fails"),
                    "correct the target's Arn, or create the cluster",
                ),
            ));
            return out;
        }
        Some(Lookup::Denied(p)) => {
            out.push((format!("cluster {short}"), Outcome::denied(p)));
            return out;
        }
        None => return out,
    };
    // "Only capacity providers that are already associated with a cluster and have an ACTIVE
    // or UPDATING status can be used in a capacity provider strategy."
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
    if !target.capacity_providers.is_empty() {
        let unassociated: Vec<&str> = target
            .capacity_providers
            .iter()
            .filter(|p| !cluster.capacity_providers.contains(p))
            .map(String::as_str)
            .collect();
        let what = format!(
            "capacity providers {}",
            target.capacity_providers.join(", ")
        );
        let outcome = if unassociated.is_empty() {
            Outcome::Ok
        } else {
            let mut all: Vec<&str> = cluster
                .capacity_providers
                .iter()
                .map(String::as_str)
                .collect();
            all.extend(&unassociated);
            Outcome::fail(
                format!(
                    "capacity provider {} is not associated with cluster {short}: RunTask refuses the strategy",
                    unassociated.join(", ")
                ),
                format!(
                    "aws ecs put-cluster-capacity-providers --cluster {short} --capacity-providers {} --default-capacity-provider-strategy … (the call replaces both lists: keep what is there)",
                    all.join(" ")
                ),
            )
        };
        out.push((what, outcome));
    }
    // An EC2 task needs a registered container instance when it is placed; with none now,
    // it starts only if the Auto Scaling group has scaled out by then (or the capacity
    // provider's managed scaling adds one). Not certain either way: a warning.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers.html
    if runs == Runs::Instances {
        let outcome = if cluster.container_instances > 0 {
            Outcome::Ok
        } else if target.capacity_providers.is_empty() && target.launch_type.is_some() {
            Outcome::Warn {
                problem: format!(
                    "cluster {short} has no registered container instances now: an EC2 task fails to start unless one is registered when the schedule fires (check the Auto Scaling group's minimum and scheduled actions, or use a capacity provider with managed scaling)"
                ),
            }
        } else {
            Outcome::Warn {
                problem: format!(
                    "cluster {short} has no registered container instances now: the task waits in PROVISIONING until its capacity provider scales out; check that managed scaling is ENABLED on it"
                ),
            }
        };
        out.push(("container instances".to_string(), outcome));
    }
    out
}

/// The dead-letter line of one target: without a queue, an invocation EventBridge or
/// Scheduler cannot deliver (RunTask refused, a role that may not run the task) leaves no
/// trace but a metric.
/// Rules: <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq>;
/// schedules: <https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html>.
pub fn dead_letter(target: &TargetSpec) -> (String, Outcome) {
    let outcome = match (&target.dead_letter, target.service) {
        (Some(_), _) => Outcome::Ok,
        // The target is named in the line: a deploy prints one such line per target.
        (None, "scheduler.amazonaws.com") => Outcome::Warn {
            problem: format!(
                "{} has no dead-letter queue: an invocation Scheduler cannot deliver leaves no trace but the InvocationDroppedCount metric; set the schedule's Target.DeadLetterConfig.Arn to an SQS standard queue (aws scheduler update-schedule, sending every field back) and allow the schedule's role sqs:SendMessage on it",
                target.label
            ),
        },
        (None, _) => Outcome::Warn {
            problem: format!(
                "{} has no dead-letter queue: an invocation EventBridge cannot deliver leaves no trace but the FailedInvocations metric; add DeadLetterConfig {{\"Arn\": <SQS queue ARN>}} to the target (aws events put-targets) and let events.amazonaws.com sqs:SendMessage to the queue",
                target.label
            ),
        },
    };
    ("dead-letter queue".to_string(), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TargetSpec {
        TargetSpec {
            label: "default/hourly target a".into(),
            service: "events.amazonaws.com",
            family: "web".into(),
            role_arn: None,
            cluster: Some("arn:aws:ecs:us-east-1:1:cluster/batch".into()),
            launch_type: None,
            capacity_providers: vec!["FARGATE_SPOT".into()],
            platform_version: None,
            network: None,
            dead_letter: None,
            start: Default::default(),
        }
    }

    fn clusters(providers: &[&str], instances: i32) -> BTreeMap<String, Lookup<Cluster>> {
        BTreeMap::from([(
            "arn:aws:ecs:us-east-1:1:cluster/batch".to_string(),
            Lookup::Found(Cluster {
                arn: "arn:aws:ecs:us-east-1:1:cluster/batch".into(),
                capacity_providers: providers.iter().map(|p| (*p).to_string()).collect(),
                default_strategy: Vec::new(),
                container_instances: instances,
            }),
        )])
    }

    /// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html:
    /// only providers associated with the cluster may be used.
    #[test]
    fn an_unassociated_capacity_provider_is_a_failure() {
        let out = check(&spec(), Runs::Fargate, &clusters(&["FARGATE"], 0));
        assert!(
            matches!(&out[0].1, Outcome::Fail { problem, fix } if problem.contains("FARGATE_SPOT is not associated with cluster batch") && fix.contains("--capacity-providers FARGATE FARGATE_SPOT")),
            "{out:?}"
        );
        let out = check(
            &spec(),
            Runs::Fargate,
            &clusters(&["FARGATE", "FARGATE_SPOT"], 0),
        );
        assert_eq!(
            out,
            [("capacity providers FARGATE_SPOT".to_string(), Outcome::Ok)]
        );
    }

    /// An EC2 target on a cluster without container instances may still start (the group
    /// scales out): a warning, never a failure.
    #[test]
    fn an_ec2_target_on_a_cluster_without_instances_is_a_warning() {
        let mut ec2 = spec();
        ec2.capacity_providers.clear();
        ec2.launch_type = Some("EC2".into());
        let out = check(&ec2, Runs::Instances, &clusters(&[], 0));
        assert!(
            matches!(&out[0].1, Outcome::Warn { problem } if problem.contains("no registered container instances")),
            "{out:?}"
        );
        assert_eq!(
            check(&ec2, Runs::Instances, &clusters(&[], 2))[0].1,
            Outcome::Ok
        );
        let mut asg = spec();
        asg.capacity_providers = vec!["batch-asg".into()];
        let out = check(&asg, Runs::Instances, &clusters(&["batch-asg"], 0));
        assert_eq!(out[0].1, Outcome::Ok);
        assert!(
            matches!(&out[1].1, Outcome::Warn { problem } if problem.contains("managed scaling"))
        );
    }

    #[test]
    fn launch_type_and_strategy_together_are_refused() {
        let mut both = spec();
        both.launch_type = Some("FARGATE".into());
        let out = check(&both, Runs::Fargate, &clusters(&["FARGATE_SPOT"], 0));
        assert!(matches!(&out[0].1, Outcome::Fail { .. }), "{out:?}");
    }

    #[test]
    fn a_refused_cluster_read_is_a_warning() {
        let denied = BTreeMap::from([(
            "arn:aws:ecs:us-east-1:1:cluster/batch".to_string(),
            Lookup::Denied("ecs:DescribeClusters"),
        )]);
        let out = check(&spec(), Runs::Fargate, &denied);
        assert!(matches!(&out[0].1, Outcome::Warn { .. }), "{out:?}");
    }

    /// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq and
    /// https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
    #[test]
    fn a_target_without_a_dead_letter_queue_is_a_warning_saying_how_to_add_one() {
        let (_, rule) = dead_letter(&spec());
        assert!(
            matches!(&rule, Outcome::Warn { problem } if problem.contains("DeadLetterConfig") && problem.contains("put-targets"))
        );
        let mut schedule = spec();
        schedule.service = "scheduler.amazonaws.com";
        let (_, outcome) = dead_letter(&schedule);
        assert!(
            matches!(&outcome, Outcome::Warn { problem } if problem.contains("Target.DeadLetterConfig"))
        );
        schedule.dead_letter = Some("arn:aws:sqs:us-east-1:1:dlq".into());
        assert_eq!(dead_letter(&schedule).1, Outcome::Ok);
    }
}
