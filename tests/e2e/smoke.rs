//! `deploy --smoke RULE`: the rule's task runs on the new revision after registering and
//! before any repoint, and a failing run blocks every repoint. The task is played by the
//! proxy (see common/tasks.rs).

use crate::common::tasks::Script;
use crate::common::*;

#[test]
fn a_failing_smoke_run_blocks_every_repoint() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    w.proxy.script_task(Script::exits("app", 2));
    let run = w
        .run(&app, &["deploy", "--tag", "v2", "--smoke", "hourly"])
        .fails();
    // The smoke ran the new revision, as the rule would.
    let request = w.proxy.bodies("RunTask").remove(0);
    assert_eq!(request["taskDefinition"], td_arn("web", 2));
    assert_eq!(request["cluster"], w.cluster);
    assert!(run.stderr.contains("exited with code 2"), "{}", run.stderr);
    assert!(
        run.stderr.contains("No target was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.count("PutTargets"), 0);
    assert_eq!(w.proxy.count("UpdateSchedule"), 0);
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 1)
    );

    // From the config, passing: the deploy goes on and repoints.
    w.proxy.clear();
    let with_smoke =
        config(&w.cluster, "").replace("[manifest]", "smoke = [\"default/hourly\"]\n\n[manifest]");
    let app = App::new(&with_smoke, &["web"]);
    w.proxy.script_task(Script::exits("app", 0));
    let summary = app.path().join("summary.md");
    let run = app.run_env(
        &w.proxy.url,
        &["deploy", "--tag", "v2"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(w.proxy.count("RunTask"), 1);
    assert!(
        run.stderr
            .contains("::group::jobdeploy smoke default/hourly"),
        "{}",
        run.stderr
    );
    let written = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        written.contains("Smoke run of `default/hourly target batch`"),
        "{written}"
    );
    assert!(written.contains("passed (exit 0)"), "{written}");
    let actions = w.proxy.actions();
    let run_at = actions
        .iter()
        .position(|a| a == "RunTask")
        .expect("RunTask");
    let put_at = actions
        .iter()
        .position(|a| a == "PutTargets")
        .expect("PutTargets");
    assert!(run_at < put_at, "{actions:?}");
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
}

#[test]
fn an_unknown_smoke_name_fails_before_any_write() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    let run = w
        .run(&app, &["deploy", "--tag", "v2", "--smoke", "hourli"])
        .fails();
    assert!(
        run.stderr
            .contains("--smoke: no rule or schedule named `hourli`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean: default/hourly"),
        "{}",
        run.stderr
    );
    assert!(w.proxy.writes().is_empty(), "{:?}", w.proxy.writes());
}

/// The smoke run's signal handler stays installed for the life of the process; Ctrl-C after
/// it (here: during the repoint) must still end the deploy, not be swallowed.
#[test]
fn ctrl_c_after_a_smoke_run_still_ends_the_deploy() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&config(&w.cluster, ""), &["web"]);
    w.proxy.script_task(Script::exits("app", 0));
    // Every call slow from the first write on, so the deploy is still repointing when the
    // signal comes.
    let child = app.spawn(
        &w.proxy.url,
        &["deploy", "--tag", "v2", "--smoke", "hourly"],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while w.proxy.count("RunTask") == 0 {
        assert!(std::time::Instant::now() < deadline, "the smoke never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    w.proxy.set_latency(std::time::Duration::from_millis(1500));
    while w.proxy.count("PutTargets") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the deploy never repointed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::run::interrupt(&child, "INT");
    let run = Run::from(child.wait_with_output().expect("jobdeploy exits"));
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
}
