//! EventBridge rules and their targets: seeding them, and reading back what jobdeploy did.

use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeadLetterConfig,
    EcsParameters, NetworkConfiguration, PlacementConstraint, PlacementConstraintType,
    PlacementStrategy, PlacementStrategyType, PropagateTags, RetryPolicy, Target,
};

use super::Aws;
use crate::common::world::{Network, RULE_ROLE, role_arn};
use crate::common::{ACCOUNT, REGION};

impl Aws {
    pub fn put_rule(&self, name: &str, bus: &str, state: aws_sdk_eventbridge::types::RuleState) {
        if bus != "default" {
            let _ = self
                .rt
                .block_on(self.events.create_event_bus().name(bus).send());
        }
        let mut rule = self
            .events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .state(state);
        rule = if bus == "default" {
            rule.schedule_expression("rate(1 hour)")
        } else {
            rule.event_pattern(r#"{"source":["acme.batch"]}"#)
        };
        self.rt.block_on(rule.send()).expect("put rule");
    }

    pub fn put_targets(&self, rule: &str, bus: &str, targets: Vec<Target>) {
        let out = self
            .rt
            .block_on(
                self.events
                    .put_targets()
                    .rule(rule)
                    .event_bus_name(bus)
                    .set_targets(Some(targets))
                    .send(),
            )
            .expect("put targets");
        assert_eq!(out.failed_entry_count(), 0);
    }

    /// A rule with these targets.
    pub fn rule(
        &self,
        name: &str,
        bus: &str,
        state: aws_sdk_eventbridge::types::RuleState,
        targets: Vec<Target>,
    ) {
        self.put_rule(name, bus, state);
        self.put_targets(name, bus, targets);
    }

    pub fn targets(&self, rule: &str, bus: &str) -> Vec<Target> {
        self.rt
            .block_on(
                self.events
                    .list_targets_by_rule()
                    .rule(rule)
                    .event_bus_name(bus)
                    .send(),
            )
            .expect("list targets")
            .targets()
            .to_vec()
    }

    pub fn task_definition_of(&self, rule: &str, bus: &str, id: &str) -> String {
        self.targets(rule, bus)
            .iter()
            .find(|t| t.id() == id)
            .and_then(|t| t.ecs_parameters())
            .map(|e| e.task_definition_arn().to_string())
            .expect("target exists")
    }

    pub fn rule_state(&self, rule: &str, bus: &str) -> String {
        self.rt
            .block_on(
                self.events
                    .describe_rule()
                    .name(rule)
                    .event_bus_name(bus)
                    .send(),
            )
            .expect("describe rule")
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    }
}

/// A minimal ECS target on `cluster`: Fargate in the world's private subnets.
pub fn ecs_target(net: &Network, id: &str, cluster: &str, task_definition: &str) -> Target {
    Target::builder()
        .id(id)
        .arn(cluster)
        .role_arn(role_arn(RULE_ROLE))
        .ecs_parameters(
            aws_sdk_eventbridge::types::EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(1)
                .launch_type(aws_sdk_eventbridge::types::LaunchType::Fargate)
                .network_configuration(awsvpc(net, AssignPublicIp::Disabled))
                .build()
                .expect("ecs parameters"),
        )
        .build()
        .expect("target")
}

/// The world's subnets and security group.
fn awsvpc(net: &Network, public_ip: AssignPublicIp) -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .set_subnets(Some(net.subnets.clone()))
                .security_groups(&net.security_group)
                .assign_public_ip(public_ip)
                .build()
                .expect("vpc"),
        )
        .build()
}

/// Every field a target can carry, so that a deploy that drops one fails.
pub fn full_target(net: &Network, cluster: &str, task_definition: &str) -> Target {
    let ecs = EcsParameters::builder()
        .task_definition_arn(task_definition)
        .task_count(2)
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(3)
                .base(1)
                .build()
                .expect("strategy"),
        )
        // ENABLED on a private subnet: the field survives as set, NAT still reaches ECR.
        .network_configuration(awsvpc(net, AssignPublicIp::Enabled))
        .platform_version("1.4.0")
        .group("family:nightly")
        .propagate_tags(PropagateTags::TaskDefinition)
        .enable_ecs_managed_tags(true)
        .enable_execute_command(true)
        .reference_id("ref-42")
        .placement_constraints(
            PlacementConstraint::builder()
                .r#type(PlacementConstraintType::MemberOf)
                .expression("attribute:ecs.os-type == linux")
                .build(),
        )
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .tags(
            aws_sdk_eventbridge::types::Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .expect("tag"),
        )
        .build()
        .expect("ecs parameters");
    Target::builder()
        .id("nightly")
        .arn(cluster)
        .role_arn(role_arn(RULE_ROLE))
        .input(r#"{"containerOverrides":[{"name":"app","command":["bin/rake","nightly"]}]}"#)
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(4)
                .maximum_event_age_in_seconds(3600)
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:batch-dlq"))
                .build(),
        )
        .ecs_parameters(ecs)
        .build()
        .expect("target")
}

/// A non-ECS target (SQS) that shares a rule with ours and must never be touched.
pub fn sqs_target() -> Target {
    Target::builder()
        .id("audit")
        .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:audit"))
        .input("{\"a\":1}")
        .build()
        .expect("sqs target")
}
