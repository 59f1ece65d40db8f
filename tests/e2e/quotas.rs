//! Under AWS's real request quotas, played by the proxy (moto never throttles): jobdeploy
//! paces itself so it almost never draws a throttle, slows down when another tool spends the
//! same budget, and rides out a throttle storm instead of failing.

use std::time::{Duration, Instant};

use crate::common::proxy::QuotaGroup;
use crate::common::*;
use aws_sdk_eventbridge::types::RuleState;

/// `families` families at v1 and `rules` rules on them, round robin.
fn many_jobs(w: &World, families: usize, rules: usize) -> (App, Vec<String>) {
    let names: Vec<String> = (0..families).map(|i| format!("job{i:02}")).collect();
    let arns: Vec<String> = names.iter().map(|f| w.aws.register(f, "v1")).collect();
    let rule_names: Vec<String> = (0..rules).map(|r| format!("rule-{r:03}")).collect();
    for (r, rule) in rule_names.iter().enumerate() {
        w.aws.rule(
            rule,
            "default",
            RuleState::Enabled,
            vec![ecs_target(
                &w.aws.net,
                "batch",
                &w.cluster,
                &arns[r % families],
            )],
        );
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    (App::new(&config("batch", ""), &refs), rule_names)
}

/// Every rule's one target runs revision `revision` of its family.
#[track_caller]
fn all_on(w: &World, rules: &[String], families: usize, revision: u32) {
    for (r, rule) in rules.iter().enumerate() {
        let family = format!("job{:02}", r % families);
        assert_eq!(
            w.aws.task_definition_of(rule, "default", "batch"),
            td_arn(&family, revision),
            "rule {rule}"
        );
    }
}

/// Requests the proxy saw and how many it throttled, over `run`.
fn metered(w: &World, run: impl FnOnce() -> Run) -> (Run, usize, usize) {
    w.proxy.clear();
    let throttled_before = w.proxy.throttled();
    let out = run();
    (
        out,
        w.proxy.actions().len(),
        w.proxy.throttled() - throttled_before,
    )
}

#[track_caller]
fn at_most_two_percent(what: &str, requests: usize, throttled: usize) {
    assert!(requests > 0, "{what}: no requests");
    assert!(
        throttled * 50 <= requests,
        "{what}: {throttled} of {requests} requests throttled (> 2%)"
    );
}

#[test]
fn two_hundred_rules_under_real_quotas_draw_almost_no_throttles() {
    let _heavy = heavy_test();
    let w = World::new();
    let (app, rules) = many_jobs(&w, 20, 200);
    w.proxy.enforce_quotas();

    let (plan, requests, throttled) = metered(&w, || w.run(&app, &["plan", "--tag", "v2"]).ok());
    assert!(plan.stdout.contains("200 targets"), "{}", plan.stdout);
    at_most_two_percent("plan", requests, throttled);

    let (deploy, requests, throttled) = metered(&w, || {
        w.run(&app, &["deploy", "--tag", "v2", "--format", "json", "-v"])
            .ok()
    });
    at_most_two_percent("deploy", requests, throttled);
    all_on(&w, &rules, 20, 2);
    // The JSON outcome counts the run's calls, and the EventBridge ones stay at the minimum
    // for a guarded read–modify–write: the plan's read, the re-read, the put (+1 read-back
    // of the first rule, + pages of rule names).
    let outcome: serde_json::Value = serde_json::from_str(&deploy.stdout).expect("json");
    let calls = &outcome["aws_calls"]["operations"];
    let answered = |op: &str| {
        let c = &calls[op];
        c["requests"].as_u64().unwrap_or(0) - c["throttled"].as_u64().unwrap_or(0)
    };
    assert_eq!(answered("PutTargets"), 200);
    assert_eq!(answered("ListTargetsByRule"), 401);
    assert_eq!(answered("RegisterTaskDefinition"), 20);
    let counted: u64 = calls
        .as_object()
        .expect("operations")
        .values()
        .map(|c| c["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        counted as usize, requests,
        "jobdeploy's count = the proxy's"
    );
    assert!(
        deploy.stderr.contains("EventBridge: ")
            && deploy.stderr.contains("for 200 rules: 3.00 per rule"),
        "{}",
        deploy.stderr
    );

    // A second release, so that there is a previous one to roll back to.
    let (_, requests, throttled) = metered(&w, || w.run(&app, &["deploy", "--tag", "v3"]).ok());
    at_most_two_percent("second deploy", requests, throttled);
    all_on(&w, &rules, 20, 3);
    let (_, requests, throttled) = metered(&w, || w.run(&app, &["rollback", "previous"]).ok());
    at_most_two_percent("rollback", requests, throttled);
    all_on(&w, &rules, 20, 2);

    let (_, requests, throttled) = metered(&w, || w.run(&app, &["prune", "--keep", "1"]).ok());
    at_most_two_percent("prune", requests, throttled);
}

#[test]
fn deploy_converges_while_another_tool_spends_half_the_eventbridge_budget() {
    let _heavy = heavy_test();
    let w = World::new();
    let (app, rules) = many_jobs(&w, 4, 100);
    w.proxy.enforce_quotas();
    w.proxy
        .share_budget(QuotaGroup::EventBridge, 25.0, Duration::from_secs(60));
    let (run, requests, throttled) =
        metered(&w, || w.run(&app, &["deploy", "--tag", "v2", "-v"]).ok());
    all_on(&w, &rules, 4, 2);
    assert!(w.proxy.others_spent() > 0, "the other tool got no budget");
    // Throttles happen (the budget is shared) but the rate adapts: a few, not a storm.
    assert!(
        throttled * 10 <= requests,
        "{throttled} of {requests} requests throttled:\n{}",
        run.stderr
    );
}

#[test]
fn a_throttle_storm_delays_the_deploy_but_does_not_fail_it() {
    let _heavy = heavy_test();
    let w = World::new();
    let (app, rules) = many_jobs(&w, 2, 6);
    w.proxy.enforce_quotas();
    w.proxy.throttle_everything_for(Duration::from_secs(5));
    let started = Instant::now();
    let run = w.run(&app, &["deploy", "--tag", "v2", "-v"]).ok();
    let took = started.elapsed();
    all_on(&w, &rules, 2, 2);
    assert!(w.proxy.throttled() > 0);
    assert!(took >= Duration::from_secs(4), "{took:?}");
    // Paced retries, not stacking sleeps: done soon after the storm ends.
    assert!(took < Duration::from_secs(12), "{took:?}\n{}", run.stderr);
    let longest = run
        .stderr
        .split("longest wait for a token after a throttle: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no wait figure in:\n{}", run.stderr));
    // About one token interval per call queued ahead in its group (two families register
    // at 1/s after the storm): never a backoff that doubles.
    assert!(longest <= 2.5, "a throttled call idled {longest} s");
}

/// DESIGN: the quotas are "overridable in config". A rate above what the account allows is
/// obeyed (jobdeploy runs into AWS's bucket and draws throttles, then still converges), so
/// `[aws.quotas]` does reach the pacer; the default config draws almost none (above).
#[test]
fn aws_quotas_in_config_set_the_pace() {
    let _heavy = heavy_test();
    let w = World::new();
    let (app, rules) = many_jobs(&w, 10, 100);
    app.write(
        "jobdeploy.toml",
        &format!(
            "{}\n[aws.quotas]\neventbridge = {{ rate = 1000, burst = 1000 }}\n",
            config("batch", "")
        ),
    );
    w.proxy.enforce_quotas();
    let (deploy, requests, throttled) = metered(&w, || {
        w.run(&app, &["deploy", "--tag", "v2", "--format", "json"])
            .ok()
    });
    assert!(
        throttled * 50 > requests,
        "an EventBridge rate of 1000/s against AWS's 50/s drew only {throttled} throttles in {requests} requests"
    );
    let outcome: serde_json::Value = serde_json::from_str(&deploy.stdout).expect("json");
    assert!(
        outcome["aws_calls"]["operations"]["ListTargetsByRule"]["throttled"]
            .as_u64()
            .is_some_and(|t| t > 0)
            || outcome["aws_calls"]["operations"]["PutTargets"]["throttled"]
                .as_u64()
                .is_some_and(|t| t > 0),
        "{}",
        outcome["aws_calls"]
    );
    all_on(&w, &rules, 10, 2);
}
