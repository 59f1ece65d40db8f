//! End to end: a deploy whose write fails puts back every target it repointed, and a rerun
//! converges; a target changed since the plan stops the deploy.

use crate::common::proxy::{Proxy, Reply};
use crate::common::scenario::fail;
use crate::common::*;
use crate::deploy::tag_config;
use aws_sdk_eventbridge::types::RuleState;

/// Two rules of ours; the second one's write fails as `reply` says.
fn failing_deploy(reply: Reply) -> (World, String, String) {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    for rule in ["a-first", "b-second", "c-third"] {
        w.aws.rule(
            rule,
            "default",
            RuleState::Enabled,
            vec![full_target(&w.aws.net, &w.cluster, &web)],
        );
    }
    w.proxy
        .inject(fail("PutTargets").on_rule("b-second").with(reply));
    let app = App::new(&tag_config(), &["web"]);
    let run = w
        .run(&app, &["deploy", "--tag", "v2", "--concurrency", "1"])
        .fails();
    (w, web, run.stderr)
}

#[test]
fn failed_entry_count_reverts_every_repointed_target() {
    let (w, web, stderr) = failing_deploy(Reply::FailedEntry);
    assert!(stderr.contains("rule b-second"), "{stderr}");
    assert!(stderr.contains("FailedEntryCount 1"), "{stderr}");
    assert!(
        stderr.contains("back on the revision it had before"),
        "{stderr}"
    );
    for rule in ["a-first", "b-second", "c-third"] {
        assert_eq!(
            w.aws.task_definition_of(rule, "default", "nightly"),
            web,
            "{rule}"
        );
        assert_eq!(
            w.aws.targets(rule, "default")[0],
            full_target(&w.aws.net, &w.cluster, &web)
        );
    }
}

#[test]
fn access_denied_reverts_and_a_rerun_converges() {
    let (w, web, stderr) = failing_deploy(Reply::access_denied());
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    assert!(stderr.contains("rule b-second"), "{stderr}");
    for rule in ["a-first", "b-second", "c-third"] {
        assert_eq!(
            w.aws.task_definition_of(rule, "default", "nightly"),
            web,
            "{rule}"
        );
    }
    // The fault is lifted: the same deploy converges and reuses the revision it registered.
    let app = App::new(&tag_config(), &["web"]);
    let healthy = Proxy::start(&w.moto.url);
    app.run(&healthy.url, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(healthy.count("RegisterTaskDefinition"), 0);
    for rule in ["a-first", "b-second", "c-third"] {
        assert_eq!(
            w.aws.task_definition_of(rule, "default", "nightly"),
            td_arn("web", 2)
        );
    }
}

#[test]
fn a_target_changed_since_the_plan_stops_the_deploy() {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    for rule in ["a-first", "b-second"] {
        w.aws.rule(
            rule,
            "default",
            RuleState::Enabled,
            vec![full_target(&w.aws.net, &w.cluster, &web)],
        );
    }
    // The plan reads b-second once; the re-read right before writing sees another deploy's
    // change (a different revision).
    let changed = serde_json::json!({"Targets": [{
        "Id": "nightly",
        "Arn": w.cluster,
        "EcsParameters": {"TaskDefinitionArn": td_arn("web", 7), "TaskCount": 2}
    }]});
    w.proxy.inject(
        fail("ListTargetsByRule")
            .on_rule("b-second")
            .after(1)
            .with(Reply::Json(changed)),
    );
    let app = App::new(&tag_config(), &["web"]);
    let run = w
        .run(&app, &["deploy", "--tag", "v2", "--concurrency", "1"])
        .fails();
    assert!(
        run.stderr
            .contains("rule b-second (bus default) target nightly changed since the plan"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("concurrency:"), "{}", run.stderr);
    assert_eq!(
        w.proxy.count("PutTargets") % 2,
        0,
        "every write was reverted"
    );
    for rule in ["a-first", "b-second"] {
        assert_eq!(
            w.aws.targets(rule, "default")[0],
            full_target(&w.aws.net, &w.cluster, &web),
            "{rule}"
        );
    }
}
