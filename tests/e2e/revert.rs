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

/// Two families at revision 1 (not released by jobdeploy), each run by its own rule;
/// `a-first` (web) is the first rule repointed.
fn two_families() -> (World, App, String, String) {
    two_families_with("")
}

fn two_families_with(more_config: &str) -> (World, App, String, String) {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    let report = w.aws.register("report", "v1");
    w.aws.rule(
        "a-first",
        "default",
        RuleState::Enabled,
        vec![full_target(&w.aws.net, &w.cluster, &web)],
    );
    w.aws.rule(
        "b-second",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &report)],
    );
    let app = App::new(
        &format!("{}{more_config}", tag_config()),
        &["web", "report"],
    );
    (w, app, web, report)
}

/// Where in the proxy's log the first `action` request about `subject` (its rule or family) is.
fn position(calls: &[(String, serde_json::Value)], action: &str, subject: &str) -> usize {
    calls
        .iter()
        .position(|(a, body)| {
            a == action
                && [body.get("Rule"), body.get("family")]
                    .into_iter()
                    .flatten()
                    .any(|v| v == subject)
        })
        .unwrap_or_else(|| panic!("no {action} of {subject} in {calls:?}"))
}

/// Without smoke tasks, the first rule is written once what it runs is registered; `report`,
/// whose template differs from its live revision in the image and the RELEASE value alone,
/// registers while that write settles, and no other rule is written before both.
#[test]
fn the_other_families_register_while_the_first_write_settles() {
    let (w, app, _, _) = two_families();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let calls = w.proxy.calls();
    let web = position(&calls, "RegisterTaskDefinition", "web");
    let first = position(&calls, "PutTargets", "a-first");
    let report = position(&calls, "RegisterTaskDefinition", "report");
    let second = position(&calls, "PutTargets", "b-second");
    assert!(web < first, "web registered before a-first is written");
    assert!(first < report, "report registered after a-first is written");
    assert!(
        report < second,
        "report registered before b-second is written"
    );
    // The read-back of the first write, before any other rule is written.
    let read_back = calls
        .iter()
        .enumerate()
        .position(|(i, (a, body))| {
            i > first && a == "ListTargetsByRule" && body["Rule"] == "a-first"
        })
        .unwrap_or_else(|| panic!("no read-back of a-first in {calls:?}"));
    assert!(
        read_back < second,
        "a-first read back before b-second is written"
    );
    assert!(
        report < read_back,
        "report registered while a-first settles"
    );
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        td_arn("report", 2)
    );
}

/// Three families, each run by its own rule (`a-first` web, `b-second` report, `c-third`
/// extra): `a-first` is the claim; report and extra differ from live in image and RELEASE.
fn three_families() -> (World, App, String) {
    let (w, _, _, _) = two_families();
    let extra = w.aws.register("extra", "v1");
    w.aws.rule(
        "c-third",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &extra)],
    );
    let app = App::new(&tag_config(), &["web", "report", "extra"]);
    (w, app, extra)
}

/// The round registered while the first write settles is one round of `--concurrency`.
#[test]
fn the_round_registered_while_the_first_write_settles_is_one_round() {
    let (w, app, _) = three_families();
    let run = w
        .run(&app, &["deploy", "--tag", "v2", "--concurrency", "1"])
        .ok();
    let calls = w.proxy.calls();
    let first = position(&calls, "PutTargets", "a-first");
    let after: Vec<&str> = calls[first..]
        .iter()
        .filter(|(a, _)| a == "RegisterTaskDefinition")
        .filter_map(|(_, b)| b["family"].as_str())
        .collect();
    assert_eq!(after, ["report"], "{}", run.stderr);
    assert!(position(&calls, "RegisterTaskDefinition", "extra") < first);
}

/// A family of that round failing to register puts the first rule back; the message names
/// every revision registered, those of the round included.
#[test]
fn a_failure_in_the_round_names_every_revision_registered() {
    let (w, app, extra) = three_families();
    w.proxy.inject(
        fail("RegisterTaskDefinition")
            .on_family("report")
            .with(Reply::access_denied()),
    );
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(
        run.stderr
            .contains("Registered (unused, harmless, reused by the next deploy): extra:2, web:2"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.aws.task_definition_of("c-third", "default", "batch"),
        extra
    );
}

/// A family that fails to register once the first rule is written: that rule is put back,
/// no other is written, and the revision registered for it is named (and reused by the rerun).
#[test]
fn a_family_failing_to_register_after_the_first_write_puts_it_back() {
    let (w, app, web, report) = two_families();
    w.proxy.inject(
        fail("RegisterTaskDefinition")
            .on_family("report")
            .with(Reply::access_denied()),
    );
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(
        run.stderr.contains("AccessDeniedException"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("back on the revision it had before"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Registered (unused, harmless, reused by the next deploy): web:2"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.aws.task_definition_of("a-first", "default", "nightly"),
        web
    );
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        report
    );
    let puts: Vec<String> = w
        .proxy
        .bodies("PutTargets")
        .iter()
        .map(|b| b["Rule"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(puts, ["a-first", "a-first"], "written, then put back");
    w.proxy.heal();
    let healthy = Proxy::start(&w.moto.url);
    app.run(&healthy.url, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(
        healthy.bodies("RegisterTaskDefinition").len(),
        1,
        "web:2 reused"
    );
    assert_eq!(
        w.aws.task_definition_of("a-first", "default", "nightly"),
        td_arn("web", 2)
    );
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        td_arn("report", 2)
    );
}

/// Only a family whose body ECS accepted before, with new strings, waits for the first
/// write: one whose template changed otherwise registers before any target changes.
#[test]
fn a_family_whose_template_changed_registers_before_the_first_write() {
    let (w, app, _, _) = two_families();
    app.write(
        "taskdefs/report.json",
        &APP_TEMPLATE
            .replace("FAMILY", "report")
            .replace("\"memory\": \"512\"", "\"memory\": \"1024\""),
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let calls = w.proxy.calls();
    let first = position(&calls, "PutTargets", "a-first");
    assert!(position(&calls, "RegisterTaskDefinition", "report") < first);
}

/// When the RegisterTaskDefinition budget does not cover every registration at once, none
/// waits for the first write: the first rule would run the release alone while the others
/// wait for tokens.
#[test]
fn more_families_than_the_registration_burst_all_register_before_the_first_write() {
    let (w, app, _, _) = two_families_with(
        "\n[aws.quotas]\necs_task_definition_writes = { rate = 2.0, burst = 1.0 }\n",
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let calls = w.proxy.calls();
    let first = position(&calls, "PutTargets", "a-first");
    assert!(position(&calls, "RegisterTaskDefinition", "report") < first);
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        td_arn("report", 2)
    );
}

/// A first deploy tags what the targets ran (adoption) before it registers anything: a
/// revision registered for the release would make the next deploy take jobdeploy as having
/// released already, and the adoption would never be completed (no `rollback adopted`).
#[test]
fn a_failed_adoption_registers_nothing_and_the_next_deploy_completes_it() {
    let (w, app, web, report) = two_families();
    w.proxy
        .inject(fail("TagResource").with(Reply::access_denied()));
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(
        run.stderr.contains("AccessDeniedException"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("No target was changed and nothing was registered."),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 0);
    assert_eq!(w.proxy.count("PutTargets"), 0, "{:?}", w.proxy.actions());
    assert_eq!(
        w.aws.task_definition_of("a-first", "default", "nightly"),
        web
    );
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        report
    );
    let healthy = Proxy::start(&w.moto.url);
    app.run(&healthy.url, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(
        healthy.count("TagResource"),
        2,
        "the adoption done this time"
    );
    assert_eq!(healthy.count("RegisterTaskDefinition"), 2);
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        td_arn("report", 2)
    );
}

/// The claim's read-back finds another deploy's write: the other rules' compare-and-swap
/// reads went out beside it, but none of them is written, and the claim is left to the
/// writer that won.
#[test]
fn a_lost_claim_writes_no_other_rule() {
    let (w, app, web, report) = two_families();
    // a-first is read by the plan, then right before its write; the third read is the
    // read-back, which sees a revision another deploy wrote.
    let theirs = serde_json::json!({"Targets": [{
        "Id": "nightly",
        "Arn": w.cluster,
        "EcsParameters": {"TaskDefinitionArn": td_arn("web", 7), "TaskCount": 1}
    }]});
    w.proxy.inject(
        fail("ListTargetsByRule")
            .on_rule("a-first")
            .after(2)
            .with(Reply::Json(theirs)),
    );
    let run = w.run(&app, &["deploy", "--tag", "v2"]).fails();
    assert!(
        run.stderr.contains("another deploy may be running"),
        "{}",
        run.stderr
    );
    let puts: Vec<String> = w
        .proxy
        .bodies("PutTargets")
        .iter()
        .map(|b| b["Rule"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!puts.contains(&"b-second".to_string()), "{puts:?}");
    assert_eq!(
        w.aws.task_definition_of("b-second", "default", "batch"),
        report
    );
    // What the proxy answered was "theirs"; moto holds our write, which the revert reads
    // through the same fault and so leaves alone as another writer's.
    assert_ne!(
        w.aws.task_definition_of("a-first", "default", "nightly"),
        web
    );
}
