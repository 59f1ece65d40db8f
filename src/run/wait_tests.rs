use super::*;
use serde_json::json;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn polls_are_quick_at_first_and_never_more_than_six_seconds_apart() {
    let mut w = Waiter::new(secs(0), secs(3600));
    let mut now = secs(0);
    let mut sleeps = Vec::new();
    for _ in 0..12 {
        let Step::Sleep(d) = w.next(now) else {
            panic!("timed out early")
        };
        sleeps.push(d.as_secs());
        now += d;
    }
    assert_eq!(sleeps, [1, 1, 2, 2, 3, 4, 5, 6, 6, 6, 6, 6]);
    assert!(
        sleeps
            .iter()
            .all(|s| Duration::from_secs(*s) <= MAX_INTERVAL)
    );
}

#[test]
fn the_timeout_is_never_overslept() {
    let mut w = Waiter::new(secs(100), secs(10));
    let mut now = secs(100);
    while let Step::Sleep(d) = w.next(now) {
        now += d;
    }
    assert_eq!(now, secs(110));
}

#[test]
fn only_changes_of_status_are_reported() {
    let mut w = Waiter::new(secs(0), secs(60));
    let seen: Vec<Option<String>> = [
        "PROVISIONING",
        "PROVISIONING",
        "PENDING",
        "RUNNING",
        "RUNNING",
        "STOPPED",
    ]
    .iter()
    .map(|s| w.observe(s))
    .collect();
    let changes: Vec<&str> = seen.iter().flatten().map(String::as_str).collect();
    assert_eq!(changes, ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]);
}

fn essential() -> Vec<String> {
    vec!["app".to_string()]
}

#[test]
fn the_essential_containers_exit_code_is_the_exit_code() {
    let task = json!({"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "sidecar", "exitCode": 0}, {"name": "app", "exitCode": 3}]});
    let e = ending(&task, &essential(), None);
    assert_eq!(
        e,
        Ending::Exited {
            container: "app".into(),
            code: 3
        }
    );
    assert_eq!(e.exit_code(), 3);
    // --container picks another one.
    let e = ending(&task, &essential(), Some("sidecar"));
    assert_eq!(e.exit_code(), 0);
    // Of two essential containers, the one that failed stopped the task.
    let two = vec!["app".to_string(), "sidecar".to_string()];
    assert_eq!(ending(&task, &two, None).exit_code(), 3);
    // An exit code beyond a byte is still a failure.
    let odd = json!({"containers": [{"name": "app", "exitCode": 256}]});
    assert_eq!(ending(&odd, &essential(), None).exit_code(), 1);
}

#[test]
fn a_container_without_an_exit_code_is_never_a_success() {
    let task = json!({"stopCode": "SpotInterruption", "stoppedReason": "Your Spot Task was interrupted.",
        "containers": [{"name": "app"}]});
    let e = ending(&task, &essential(), None);
    assert!(
        matches!(&e, Ending::NoExitCode { reason, .. } if reason.contains("Spot")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 1);
    let e = ending(&task, &essential(), Some("missing"));
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn a_task_that_never_started_says_why_with_hints() {
    let task = json!({"stopCode": "TaskFailedToStart",
        "stoppedReason": "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: dial tcp 52.0.0.1:443: i/o timeout",
        "containers": [{"name": "app", "lastStatus": "STOPPED"}]});
    let Ending::NeverStarted { reason, hints } = ending(&task, &essential(), None) else {
        panic!("not never-started")
    };
    assert!(reason.contains("CannotPullContainerError"));
    assert_eq!(hints.len(), 1);
    assert!(hints[0].contains("assignPublicIp"), "{hints:?}");
    let secrets = json!({"stopCode": "TaskFailedToStart",
        "stoppedReason": "ResourceInitializationError: unable to pull secrets or registry auth: retrieve secret from ssm: AccessDeniedException"});
    let Ending::NeverStarted { hints, .. } = ending(&secrets, &essential(), None) else {
        panic!("not never-started")
    };
    assert!(
        hints.iter().any(|h| h.contains("secretsmanager")),
        "{hints:?}"
    );
    assert!(
        hints.iter().any(|h| h.contains("execution role")),
        "{hints:?}"
    );
    // Without a stop code, a pull error and no exit code still means it never started.
    let pull =
        json!({"containers": [{"name": "app", "reason": "CannotPullContainerError: not found"}]});
    assert!(matches!(
        ending(&pull, &essential(), None),
        Ending::NeverStarted { .. }
    ));
}

/// A task stopped from outside (a Spot interruption, someone's StopTask) whose container
/// exits 0 on the SIGTERM did not finish its job: never a success. Its own non-zero code
/// still passes through.
#[test]
fn a_task_stopped_from_outside_is_not_a_success_even_when_the_container_exits_0() {
    let spot = json!({"stopCode": "SpotInterruption", "stoppedReason": "Your Spot Task was interrupted.",
        "containers": [{"name": "app", "exitCode": 0}]});
    let e = ending(&spot, &essential(), None);
    assert!(
        matches!(&e, Ending::CutShort { stop_code, reason, .. } if stop_code == "SpotInterruption" && reason.contains("Spot")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 1);
    let user = json!({"stopCode": "UserInitiated", "stoppedReason": "Task stopped by user",
        "containers": [{"name": "app", "exitCode": 0}]});
    assert_eq!(ending(&user, &essential(), None).exit_code(), 1);
    let killed =
        json!({"stopCode": "UserInitiated", "containers": [{"name": "app", "exitCode": 143}]});
    assert_eq!(ending(&killed, &essential(), None).exit_code(), 143);
    // Without a stop code (an older agent, an emulator) the container's code is the answer.
    let plain = json!({"containers": [{"name": "app", "exitCode": 0}]});
    assert_eq!(ending(&plain, &essential(), None).exit_code(), 0);
}

fn app_and_sidecar() -> Vec<String> {
    vec!["app".to_string(), "log-router".to_string()]
}

fn stopped(containers: Value) -> Value {
    json!({"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited", "containers": containers})
}

/// Two essential containers: the app exits, ECS stops the task, and the essential log router
/// gets SIGTERM (143) or SIGKILL (137). The app's code is the result, not the sidecar's.
#[test]
fn an_essential_sidecar_stopped_with_the_task_does_not_decide() {
    for signal in [143, 137] {
        let ok = stopped(json!([
            {"name": "app", "exitCode": 0},
            {"name": "log-router", "exitCode": signal}
        ]));
        assert_eq!(
            ending(&ok, &app_and_sidecar(), None),
            Ending::Exited {
                container: "app".into(),
                code: 0
            },
            "{signal}"
        );
        // The sidecar listed first changes nothing.
        let first = stopped(json!([
            {"name": "log-router", "exitCode": signal},
            {"name": "app", "exitCode": 3}
        ]));
        assert_eq!(ending(&first, &app_and_sidecar(), None).exit_code(), 3);
    }
    // --container still picks one: the sidecar's own code.
    let ok = stopped(json!([
        {"name": "app", "exitCode": 0},
        {"name": "log-router", "exitCode": 143}
    ]));
    assert_eq!(
        ending(&ok, &app_and_sidecar(), Some("log-router")).exit_code(),
        143
    );
    // Every essential container killed (someone's StopTask): the signal is the answer.
    let all = json!({"stopCode": "UserInitiated", "containers": [
        {"name": "app", "exitCode": 143}, {"name": "log-router", "exitCode": 143}
    ]});
    assert_eq!(ending(&all, &app_and_sidecar(), None).exit_code(), 143);
    // A sidecar that failed on its own (not a signal) still fails the task.
    let crashed = stopped(json!([
        {"name": "app", "exitCode": 143},
        {"name": "log-router", "exitCode": 1}
    ]));
    assert_eq!(
        ending(&crashed, &app_and_sidecar(), None),
        Ending::Exited {
            container: "log-router".into(),
            code: 1
        }
    );
}

/// A container the kernel killed for memory exits 137 like one stopped with the task; ECS's
/// reason tells them apart, and it is a failure with that reason.
#[test]
fn an_out_of_memory_kill_is_a_failure_with_its_reason() {
    let reason = "OutOfMemoryError: Container killed due to memory usage";
    let oom = stopped(json!([
        {"name": "app", "exitCode": 137, "reason": reason},
        {"name": "log-router", "exitCode": 143}
    ]));
    let e = ending(&oom, &app_and_sidecar(), None);
    assert_eq!(
        e,
        Ending::OutOfMemory {
            container: "app".into(),
            code: Some(137),
            reason: reason.into()
        }
    );
    assert_eq!(e.exit_code(), 137);
    // The sidecar killed for memory while the app exited 0: still a failure.
    let sidecar = stopped(json!([
        {"name": "app", "exitCode": 0},
        {"name": "log-router", "exitCode": 137, "reason": reason}
    ]));
    let e = ending(&sidecar, &app_and_sidecar(), None);
    assert!(
        matches!(&e, Ending::OutOfMemory { container, .. } if container == "log-router"),
        "{e:?}"
    );
    assert_ne!(e.exit_code(), 0);
    // Without an exit code, or with 0, an out-of-memory kill is still not a success.
    let no_code = stopped(json!([{"name": "app", "reason": reason}]));
    assert_eq!(ending(&no_code, &essential(), None).exit_code(), 1);
    let zero = stopped(json!([{"name": "app", "exitCode": 0, "reason": reason}]));
    assert_eq!(ending(&zero, &essential(), None).exit_code(), 1);
    // --container names the killed one: its reason is kept.
    assert!(matches!(
        ending(&oom, &app_and_sidecar(), Some("app")),
        Ending::OutOfMemory { .. }
    ));
}
