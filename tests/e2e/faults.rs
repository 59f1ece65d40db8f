//! All or nothing under faults, races and kills: the built binary against moto, through the
//! fault-injecting proxy. State is checked with SDK clients that talk to moto directly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::proxy::Reply;
use crate::common::scenario::{fail, fail_every_request, in_batches};
use crate::common::*;
use aws_sdk_eventbridge::types::{RuleState, Target};
use serde_json::Value;

const RULES: [&str; 3] = ["a-hourly", "b-nightly", "c-both"];

/// Families `web` and `report` at revision 1; rule `a-hourly` with every target field set,
/// `b-nightly`, and `c-both` with two targets of ours and an SQS target; Scheduler schedule
/// `jobs/export` (every field set) on `report`.
fn fault_world() -> (World, App) {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    let report = w.aws.register("report", "v1");
    w.aws.rule(
        "a-hourly",
        "default",
        RuleState::Enabled,
        vec![full_target(&w.aws.net, &w.cluster, &web)],
    );
    w.aws.rule(
        "b-nightly",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &report)],
    );
    let sqs = sqs_target();
    w.aws.rule(
        "c-both",
        "default",
        RuleState::Enabled,
        vec![
            ecs_target(&w.aws.net, "web", &w.cluster, &web),
            ecs_target(&w.aws.net, "report", &w.cluster, &report),
            sqs,
        ],
    );
    w.aws.schedule_group("jobs");
    w.aws.create_schedule(
        "export",
        &full_schedule(&w.aws.net, "jobs", &w.cluster, &report, "ENABLED"),
    );
    let app = App::new(
        &format!(
            "{}\n[schedules]\ngroups = [\"jobs\"]\n",
            config("batch", "")
        ),
        &["web", "report"],
    );
    (w, app)
}

/// Schedule `jobs/export` as GetSchedule returns it, without what changes on every write.
fn schedule(w: &World) -> Value {
    let mut s = w.aws.schedule_json("jobs", "export");
    if let Some(fields) = s.as_object_mut() {
        fields.remove("LastModificationDate");
    }
    s
}

fn schedule_arn(s: &Value) -> String {
    s.pointer("/Target/EcsParameters/TaskDefinitionArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Every target of every rule, and the schedule, read from moto directly.
fn state(w: &World) -> (Vec<(String, Target)>, Value) {
    (snapshot(w), schedule(w))
}

/// Every target of every rule, read from moto directly.
fn snapshot(w: &World) -> Vec<(String, Target)> {
    RULES
        .iter()
        .flat_map(|rule| {
            w.aws
                .targets(rule, "default")
                .into_iter()
                .map(move |t| (rule.to_string(), t))
        })
        .collect()
}

fn arn_of(t: &Target) -> Option<String> {
    t.ecs_parameters()
        .map(|e| e.task_definition_arn().to_string())
}

/// After a failed run: no field lost, nothing on an INACTIVE revision, and every target on
/// the old release or every one on the new — unless the message names each target on the
/// new one.
fn assert_consistent(w: &World, before: &(Vec<(String, Target)>, Value), run: &Run, context: &str) {
    let (before, schedule_before) = before;
    let now = snapshot(w);
    assert_eq!(now.len(), before.len(), "{context}: a target disappeared");
    let mut on_new = Vec::new();
    for ((rule, was), (_, is)) in before.iter().zip(&now) {
        let mut expected = was.clone();
        if let (Some(ecs), Some(arn)) = (expected.ecs_parameters.as_mut(), arn_of(is)) {
            ecs.task_definition_arn = arn;
        }
        assert_eq!(&expected, is, "{context}: a field of {rule} changed");
        if let Some(arn) = arn_of(is) {
            assert_eq!(
                w.aws.status_of(&arn),
                "ACTIVE",
                "{context}: {rule} on {arn}"
            );
            if arn.ends_with(":2") {
                on_new.push((rule.clone(), is.id().to_string()));
            } else {
                assert!(arn.ends_with(":1"), "{context}: {rule} on {arn}");
            }
        }
    }
    // The schedule: every field as it was but the revision, which is ACTIVE.
    let schedule_now = schedule(w);
    let arn = schedule_arn(&schedule_now);
    let mut expected = schedule_before.clone();
    if let Some(slot) = expected.pointer_mut("/Target/EcsParameters/TaskDefinitionArn") {
        *slot = Value::String(arn.clone());
    }
    assert_eq!(
        expected, schedule_now,
        "{context}: a field of the schedule changed"
    );
    assert_eq!(
        w.aws.status_of(&arn),
        "ACTIVE",
        "{context}: schedule on {arn}"
    );
    if arn.ends_with(":2") {
        on_new.push(("jobs/export".to_string(), String::new()));
    } else {
        assert!(arn.ends_with(":1"), "{context}: schedule on {arn}");
    }
    let ours = before.iter().filter(|(_, t)| arn_of(t).is_some()).count() + 1;
    if !on_new.is_empty() && on_new.len() != ours {
        for (rule, id) in &on_new {
            let named = if id.is_empty() {
                format!("schedule {rule}")
            } else {
                format!("rule {rule} (bus default) target {id}")
            };
            assert!(
                run.stderr.contains(&named),
                "{context}: mixed state, but the message does not name {rule}/{id}:\n{}",
                run.stderr
            );
        }
    }
}

fn assert_converged(w: &World, app: &App, context: &str) {
    let run = w.run(app, &["deploy", "--tag", "v2"]);
    assert_eq!(run.code, 0, "{context}: re-run failed:\n{}", run.stderr);
    for (rule, t) in snapshot(w) {
        if let Some(arn) = arn_of(&t) {
            assert!(
                arn.ends_with(":2"),
                "{context}: {rule} on {arn} after re-run"
            );
        }
    }
    let arn = schedule_arn(&schedule(w));
    assert!(
        arn.ends_with(":2"),
        "{context}: schedule on {arn} after re-run"
    );
    for family in ["web", "report"] {
        assert_eq!(
            w.aws.revisions(family).len(),
            2,
            "{context}: {family} registered more than once"
        );
    }
}

/// The requests of a clean deploy of the fault world, by operation.
fn requests_of_a_clean_deploy() -> BTreeMap<String, usize> {
    let (w, app) = fault_world();
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    by_operation(&w.proxy.actions())
}

fn by_operation(actions: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for action in actions {
        *counts.entry(action.clone()).or_insert(0) += 1;
    }
    counts
}

/// What a world holds that a first deploy's request count depends on.
#[derive(Clone, Copy)]
struct Shape {
    /// Templated families, all changed, each with one revision (older than the image push).
    families: usize,
    /// Rules of ours on the default bus, none with more than one page of targets.
    rules: usize,
    /// Schedules of ours, in one group.
    schedules: usize,
    /// Distinct IAM roles the task definitions and targets name.
    roles: usize,
    /// Of them, the roles targets start tasks with (the rest are execution roles); their
    /// targets tag their tasks.
    target_roles: usize,
    /// Distinct subnets the targets run in, each with its own route table.
    subnets: usize,
    /// Distinct log groups, SSM parameters and images the task definitions name.
    log_groups: usize,
    parameters: usize,
    images: usize,
}

/// The fault world: `web` and `report`; three rules; `jobs/export`; the execution, rule and
/// schedule roles; two private subnets; one log group, parameter and image.
const FAULT_WORLD: Shape = Shape {
    families: 2,
    rules: RULES.len(),
    schedules: 1,
    roles: 3,
    target_roles: 2,
    subnets: 2,
    log_groups: 1,
    parameters: 1,
    images: 1,
};

/// The requests the first deploy of a world must make, by operation, counted from what the
/// deploy does (DESIGN: plan, verify gate, register, repoint) — not from a run of it, so a
/// deploy that asks more or less than this fails the sweep instead of silently moving it.
fn expected_requests(w: Shape) -> BTreeMap<String, usize> {
    let mut ops = BTreeMap::new();
    let mut add = |op: &str, n: usize| {
        if n > 0 {
            *ops.entry(op.to_string()).or_insert(0) += n;
        }
    };
    // Live state: the cluster's ARN; each family's newest revision; the tag in ECR; the
    // rules that target the cluster, the bus's rules (their state), each rule's targets;
    // the group's schedules and each one of ours.
    add("DescribeClusters", 1);
    add("DescribeTaskDefinition", w.families);
    add("DescribeImages", 1);
    add("ListRuleNamesByTarget", 1);
    add("ListRules", 1);
    add("ListTargetsByRule", w.rules);
    add("ListSchedules", 1);
    add("GetSchedule", w.schedules);
    // The release's number: no revision is of the tag, so each family's revisions are
    // listed (ACTIVE and INACTIVE) and read back to the image's push: one each here.
    add("ListTaskDefinitions", 2 * w.families);
    add("DescribeTaskDefinition", w.families);
    // verify, read beside the scan: the cluster (capacity providers), each role (trust and
    // policies come with GetRole), the image's platform, log groups, parameters (10 per
    // GetParameters), the subnets and security groups (one batched read each), each
    // subnet's route table, and the VPC endpoints (one read for every VPC).
    add("DescribeClusters", 1);
    add("GetRole", w.roles);
    add("BatchGetImage", w.images);
    add("DescribeLogGroups", w.log_groups);
    add("GetParameters", w.parameters.div_ceil(10));
    // Which KMS key encrypts each parameter: 50 names per DescribeParameters.
    add("DescribeParameters", w.parameters.div_ceil(50));
    add("DescribeSubnets", 1);
    add("DescribeSecurityGroups", 1);
    add("DescribeRouteTables", w.subnets);
    add("DescribeVpcEndpoints", 1);
    // Once the plan says which revision each target runs: one permission simulation per
    // role and request context — an execution role's needs share one; a target role's
    // RunTask (ecs:cluster), PassRole (iam:PassedToService) and, its targets tagging their
    // tasks, TagResource (ecs:CreateAction) one each.
    add(
        "SimulatePrincipalPolicy",
        (w.roles - w.target_roles) + 3 * w.target_roles,
    );
    // The first release adopts what runs (a tag per family), then registers each family.
    add("TagResource", w.families);
    add("RegisterTaskDefinition", w.families);
    // Repointing: per rule and schedule the compare-and-swap read and the write; the first
    // write (a rule's) read back once.
    add("ListTargetsByRule", w.rules + 1);
    add("PutTargets", w.rules);
    add("GetSchedule", w.schedules);
    add("UpdateSchedule", w.schedules);
    ops
}

/// For every request index k of a deploy, the fault `reply` from request k on; then healed.
/// Returns the exit codes, by k.
fn sweep(reply: Reply) -> Vec<i32> {
    // Issue 23: the sweep's length followed the product's own request count (guarded only by
    // `> 10`), so a deploy making fewer requests swept fewer faults and still passed.
    let made = requests_of_a_clean_deploy();
    assert_eq!(
        made,
        expected_requests(FAULT_WORLD),
        "the fault world's deploy"
    );
    let total: usize = made.values().sum();
    in_batches((0..=total).collect(), 4, move |k| {
        deploy_with_a_fault_from(k, total, reply.clone())
    })
}

/// The count is the world's, not the deploy's: one more rule and one more schedule cost
/// exactly what the formula says (a read, a compare-and-swap read and a write each), so a
/// deploy that made one request more or less than it should would fail the sweep's check.
#[test]
fn the_sweep_length_is_counted_from_the_world_not_from_the_deploy() {
    let (w, app) = fault_world();
    let report = td_arn("report", 1);
    w.aws.rule(
        "d-extra",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &report)],
    );
    w.aws.create_schedule(
        "extra",
        &full_schedule(&w.aws.net, "jobs", &w.cluster, &report, "ENABLED"),
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    let bigger = Shape {
        rules: FAULT_WORLD.rules + 1,
        schedules: FAULT_WORLD.schedules + 1,
        ..FAULT_WORLD
    };
    assert_eq!(by_operation(&w.proxy.actions()), expected_requests(bigger));
}

/// A deploy of the fault world answered `reply` from its request `k` on (of `total`): it
/// fails cleanly (or, past the last request, succeeds), leaves a consistent state, and once
/// healed a re-run converges. Returns its exit code.
fn deploy_with_a_fault_from(k: usize, total: usize, reply: Reply) -> i32 {
    let (w, app) = fault_world();
    let before = state(&w);
    w.proxy.inject(fail_every_request().after(k).with(reply));
    let run = app.run_env(
        &w.proxy.url,
        &["deploy", "--tag", "v2"],
        &[("AWS_MAX_ATTEMPTS", "1")],
    );
    let context = format!("fault from request {k} of {total}");
    if k < total {
        // 3 when putting back failed too: targets may be split.
        let split = run.stderr.contains("putting targets back failed too");
        assert_eq!(
            run.code,
            if split { 3 } else { 1 },
            "{context}: {}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(run.stderr.contains("Error: "), "{context}: {}", run.stderr);
    }
    assert_consistent(&w, &before, &run, &context);
    w.proxy.heal();
    assert_converged(&w, &app, &context);
    run.code
}

#[test]
fn sweep_access_denied_from_every_request_on() {
    let _heavy = heavy_test();
    let codes = sweep(Reply::access_denied());
    // Denied before the first write: nothing changed (1). Denied after it: putting back is
    // denied too, and the run says targets may be split across releases (3).
    assert!(codes.contains(&1), "{codes:?}");
    assert!(codes.contains(&3), "{codes:?}");
}

#[test]
fn sweep_responses_lost_after_the_call_took_effect() {
    let _heavy = heavy_test();
    let codes = sweep(Reply::LoseResponse);
    assert!(codes.iter().all(|c| [0, 1, 3].contains(c)), "{codes:?}");
}

#[test]
fn throttling_is_retried_and_exhausted_retries_say_so() {
    let (w, app) = fault_world();
    // Two throttled answers, then through: retried, the deploy succeeds.
    w.proxy.inject(
        fail("PutTargets")
            .on_rule("b-nightly")
            .times(2)
            .with(Reply::throttling()),
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.proxy.count("PutTargets"), 3 + 2);

    // Throttled for good: after `aws.throttle_timeout` of paced retries, reverted, and the
    // message says so.
    app.write(
        "jobdeploy.toml",
        &format!("{}\n[aws]\nthrottle_timeout = 2\n", config("batch", "")),
    );
    let before = snapshot(&w);
    w.proxy.inject(
        fail("PutTargets")
            .on_rule("b-nightly")
            .with(Reply::throttling()),
    );
    app.run(&w.proxy.url, &["deploy", "--tag", "v3"])
        .fails()
        .says(&[
            "ThrottlingException",
            "still throttled after 2 s of paced retries",
            "rule b-nightly (bus default)",
            "Every target is back",
        ]);
    assert_eq!(snapshot(&w), before);
}

#[test]
fn killed_while_repointing_then_rerun_converges() {
    let (w, app) = fault_world();
    w.proxy.set_latency(Duration::from_millis(150));
    let mut child = app.spawn(&w.proxy.url, &["deploy", "--tag", "v2"]);
    let started = Instant::now();
    while w.proxy.count("PutTargets") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "deploy never reached PutTargets: {:?}",
            w.proxy.actions()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL on Unix: no destructor, no revert.
    child.kill().expect("kill -9");
    let _ = child.wait();
    w.proxy.set_latency(Duration::ZERO);
    assert_converged(&w, &app, "after kill -9");
}

#[test]
fn two_deploys_at_once_one_wins_and_the_state_is_consistent() {
    let (w, app) = fault_world();
    w.proxy.set_latency(Duration::from_millis(40));
    let a = app.spawn(&w.proxy.url, &["deploy", "--tag", "v2"]);
    let b = app.spawn(&w.proxy.url, &["deploy", "--tag", "v3"]);
    let a = Run::from(a.wait_with_output().expect("deploy v2"));
    let b = Run::from(b.wait_with_output().expect("deploy v3"));
    // The first rule is claimed and confirmed before any other is written, so exactly one
    // of the two goes on; the other stops having changed nothing that stays changed.
    assert!(
        (a.code == 0) != (b.code == 0),
        "v2 exit {}, v3 exit {}:\n{}\n{}",
        a.code,
        b.code,
        a.stderr,
        b.stderr
    );
    // Whatever happened, every target of ours is on one release. (Not one revision number:
    // the two deploys register in each family in whatever order their calls land, so v2 may
    // be revision 2 of one family and revision 3 of another.)
    let status = app.run(&w.proxy.url, &["status", "--format", "json"]).ok();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    assert_ne!(
        status["live"]["kind"], "mixed",
        "targets on different releases: {}\n{}\n{}",
        status, a.stderr, b.stderr
    );
    for loser in [&a, &b].into_iter().filter(|r| r.code != 0) {
        assert!(
            loser.stderr.contains("another deploy may be running"),
            "{}",
            loser.stderr
        );
    }
    if let Some(winner) = [&a, &b].into_iter().find(|r| r.code == 0) {
        let release = if std::ptr::eq(winner, &a) { "v2" } else { "v3" };
        assert_eq!(status["live"]["release"], release, "{status}");
    }
}
