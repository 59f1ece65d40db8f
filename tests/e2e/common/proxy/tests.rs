//! The proxy's own checks can fail: what it counts as a write, and how it names Scheduler's
//! REST calls.

use super::forward::rest_action;
use super::is_write;
use crate::common::World;
use crate::common::aws::sdk_config;

/// Issue 23: `is_write` was a list of write prefixes (`Put`, `Register`, …), so `EnableRule`,
/// `StartExecution` or an unmapped Scheduler call passed "zero writes" as reads.
#[test]
fn is_write_was_a_list_of_write_prefixes_that_missed_enable_start_and_unmapped_calls() {
    for write in [
        "EnableRule",
        "DisableRule",
        "StartExecution",
        "StartTask",
        "AttachRolePolicy",
        "ModifySubnetAttribute",
        "AssociateRouteTable",
        "AuthorizeSecurityGroupIngress",
        "PutTargets",
        "RegisterTaskDefinition",
        "TagResource",
        "RunTask",
        "StopTask",
        "SetDefaultPolicyVersion",
        "BatchDeleteImage",
        // A Scheduler call nobody mapped, as the proxy logs it.
        "POST /schedules/nightly/run",
        "PATCH /schedules/nightly",
        "",
    ] {
        assert!(is_write(write), "{write} counted as a read");
    }
    for read in [
        "DescribeTaskDefinition",
        "ListTargetsByRule",
        "GetSchedule",
        "BatchGetImage",
        "SimulatePrincipalPolicy",
        "SearchResources",
        "LookupEvents",
        "FilterLogEvents",
    ] {
        assert!(!is_write(read), "{read} counted as a write");
    }
    // A verb is a whole word: `Listen…` or `Getaway` are not reads.
    assert!(is_write("Listen"));
    assert!(is_write("Describes"));
}

/// Every operation of the Scheduler API by its method and path
/// (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Operations.html).
#[test]
fn every_scheduler_rest_call_has_its_operation_name() {
    let arn = "arn%3Aaws%3Ascheduler%3Aus-east-1%3A123456789012%3Aschedule-group%2Fjobs";
    let cases = [
        ("GET", "/schedules".to_string(), "ListSchedules", false),
        ("GET", "/schedules/nightly".into(), "GetSchedule", false),
        ("POST", "/schedules/nightly".into(), "CreateSchedule", true),
        ("PUT", "/schedules/nightly".into(), "UpdateSchedule", true),
        (
            "DELETE",
            "/schedules/nightly".into(),
            "DeleteSchedule",
            true,
        ),
        (
            "GET",
            "/schedule-groups".into(),
            "ListScheduleGroups",
            false,
        ),
        (
            "GET",
            "/schedule-groups/jobs".into(),
            "GetScheduleGroup",
            false,
        ),
        (
            "POST",
            "/schedule-groups/jobs".into(),
            "CreateScheduleGroup",
            true,
        ),
        (
            "DELETE",
            "/schedule-groups/jobs".into(),
            "DeleteScheduleGroup",
            true,
        ),
        ("GET", format!("/tags/{arn}"), "ListTagsForResource", false),
        ("POST", format!("/tags/{arn}"), "TagResource", true),
        ("DELETE", format!("/tags/{arn}"), "UntagResource", true),
    ];
    assert_eq!(cases.len(), 12, "the API has twelve operations");
    for (method, path, name, write) in &cases {
        let action = rest_action(method, path);
        assert_eq!(&action, name, "{method} {path}");
        assert_eq!(is_write(&action), *write, "{name}");
    }
    // Unmapped: logged as method and path, and a write.
    let unmapped = rest_action("POST", "/schedules/nightly/run");
    assert_eq!(unmapped, "POST /schedules/nightly/run");
    assert!(is_write(&unmapped));
}

/// The names above are what the SDK's real requests get through the proxy: schedule-group
/// and tag calls made by the Scheduler SDK client against moto.
#[test]
fn scheduler_sdk_calls_through_the_proxy_are_logged_by_name() {
    let w = World::new();
    let config = sdk_config(&w.aws.rt, &w.proxy.url);
    // One attempt per call, so the log has one line per call.
    let scheduler = aws_sdk_scheduler::Client::from_conf(
        aws_sdk_scheduler::config::Builder::from(&config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let rt = &w.aws.rt;
    let tag = |k: &str| {
        aws_sdk_scheduler::types::Tag::builder()
            .key(k)
            .value("1")
            .build()
            .expect("tag")
    };
    let arn = rt
        .block_on(scheduler.create_schedule_group().name("jobs").send())
        .expect("create group")
        .schedule_group_arn()
        .to_string();
    rt.block_on(scheduler.get_schedule_group().name("jobs").send())
        .expect("get group");
    rt.block_on(scheduler.list_schedule_groups().send())
        .expect("list groups");
    // moto may not implement every tag call; the proxy names the request either way.
    let _ = rt.block_on(
        scheduler
            .tag_resource()
            .resource_arn(&arn)
            .tags(tag("team"))
            .send(),
    );
    let _ = rt.block_on(scheduler.list_tags_for_resource().resource_arn(&arn).send());
    let _ = rt.block_on(
        scheduler
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys("team")
            .send(),
    );
    let _ = rt.block_on(scheduler.delete_schedule_group().name("jobs").send());
    assert_eq!(
        w.proxy.actions(),
        [
            "CreateScheduleGroup",
            "GetScheduleGroup",
            "ListScheduleGroups",
            "TagResource",
            "ListTagsForResource",
            "UntagResource",
            "DeleteScheduleGroup",
        ]
    );
    assert_eq!(
        w.proxy.writes(),
        [
            "CreateScheduleGroup",
            "TagResource",
            "UntagResource",
            "DeleteScheduleGroup"
        ]
    );
}
