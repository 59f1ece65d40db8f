//! Release coherence: `deploy` waits (after plan and verify, before its first write) until
//! the stand-in Argo CD (common/argocd.rs) says k8s runs the release, and refuses with
//! nothing written when it will not. The proxy counts AWS writes: none on a failure, and
//! none before the timeline's final frame on success.

use crate::common::argocd::{self, ArgoCd, Frame, Script, TOKEN, at, sync_timeline};
use crate::common::*;

const APP: &str = "web-production";

struct Setup {
    w: World,
    manifests: ManifestRepo,
    argo: ArgoCd,
    old: String,
    c: String,
}

/// A batch job on v1, a manifest repo at v1 (`old`) then v2 (`c`), an Argo CD stand-in.
fn setup(tls: bool) -> Setup {
    let w = World::new();
    w.hourly_web_job();
    let manifests = ManifestRepo::new();
    let old = manifests.release("v1");
    let c = manifests.release("v2");
    let argo = if tls {
        ArgoCd::start_tls(w.proxy.write_counter())
    } else {
        ArgoCd::start(w.proxy.write_counter())
    };
    Setup {
        w,
        manifests,
        argo,
        old,
        c,
    }
}

impl Setup {
    fn config(&self, manifest_extra: &str, k8s: &str) -> String {
        let manifest = format!(
            "repo = \"{}\"\npath = \"{}\"\napp = \"{APP}\"\n{manifest_extra}",
            self.manifests.url(),
            argocd::MANIFEST_PATH
        );
        format!(
            "{}\n[k8s]\npoll = \"1s\"\ntimeout = \"60s\"\n{k8s}\n[k8s.argocd]\nserver = \"{}\"\n",
            config(&self.w.cluster, &manifest),
            self.argo.url
        )
    }

    fn app(&self, k8s: &str) -> App {
        App::new(&self.config("", k8s), &["web"])
    }

    fn deploy(&self, app: &App, args: &[&str]) -> Run {
        let mut all = vec!["deploy"];
        all.extend_from_slice(args);
        app.run_env(
            &self.w.proxy.url,
            &all,
            &[("JOBDEPLOY_ARGOCD_TOKEN", TOKEN)],
        )
    }

    fn timeline(&self) -> Vec<serde_json::Value> {
        sync_timeline(&self.old, "v1", &self.c, "v2", &self.manifests.url())
    }

    #[track_caller]
    fn nothing_written(&self, run: &Run) {
        assert!(
            self.w.proxy.writes().is_empty(),
            "{:?}",
            self.w.proxy.writes()
        );
        assert!(run.stderr.contains("Nothing was written"), "{}", run.stderr);
        assert_eq!(
            self.w.aws.task_definition_of("hourly", "default", "batch"),
            td_arn("web", 1)
        );
    }
}

#[test]
fn deploy_waits_through_a_sync_then_switches() {
    let s = setup(false);
    s.argo.script(APP, Script::Frames(s.timeline()));
    let app = s.app("");
    let run = s.deploy(&app, &[]).ok();
    let seen = s.argo.seen();
    // One GET per poll, the first asking Argo CD to refresh, every one with the token.
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[0].path, "/api/v1/applications/web-production");
    assert_eq!(seen[0].query, "refresh=normal");
    assert!(seen[1..].iter().all(|r| r.query.is_empty()), "{seen:?}");
    assert!(
        seen.iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")[..]))
    );
    // No AWS write before the final frame was served; the switch after it.
    assert!(seen.iter().all(|r| r.writes_before == 0), "{seen:?}");
    assert_eq!(seen.last().and_then(|r| r.frame), Some(4));
    assert_eq!(s.w.proxy.count("PutTargets"), 1);
    assert_eq!(
        s.w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    // A line per change, in the API's words; the token never.
    for words in [
        "waiting up to 1m for k8s to run release v2",
        "PreSync Job web/db-migrate Running",
        "health Progressing, want Healthy",
        "health is stale",
        "waited ",
        &format!(
            "for argocd app web-production: Synced, Healthy at {}",
            &s.c[..7]
        ),
        "server http://127.0.0.1",
    ] {
        assert!(run.stderr.contains(words), "{words}:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
}

#[test]
fn a_failed_presync_hook_fails_with_nothing_written() {
    let s = setup(false);
    let mut frames = s.timeline();
    frames.truncate(2);
    let failed = Frame {
        sync: "OutOfSync",
        phase: Some("Failed"),
        op_revision: s.c.clone(),
        started: at(-5),
        finished: Some(at(-1)),
        hook: Some("Failed"),
        message: "one or more synchronization tasks completed unsuccessfully",
        ..Frame::settled(&s.old, "v1", &s.manifests.url())
    };
    frames.push(failed.json());
    s.argo.script(APP, Script::Frames(frames));
    let run = s.deploy(&s.app(""), &[]).fails();
    assert!(
        run.stderr.contains(
            "PreSync Job web/db-migrate Failed: Job has reached the specified backoff limit"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("argocd app get web-production --show-operation"),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);
}

#[test]
fn a_retrying_operation_is_waited_for() {
    let s = setup(false);
    let base = Frame::settled(&s.old, "v1", &s.manifests.url());
    let running = |retry, message| Frame {
        sync: "OutOfSync",
        phase: Some("Running"),
        op_revision: s.c.clone(),
        started: at(-5),
        finished: None,
        retry,
        message,
        ..base.clone()
    };
    let mut frames = vec![
        running(0, "one or more objects failed to apply").json(),
        running(
            1,
            "Retrying attempt #1 at 10:02AM: one or more objects failed to apply",
        )
        .json(),
    ];
    frames.extend(s.timeline().split_off(4));
    s.argo.script(APP, Script::Frames(frames));
    let run = s.deploy(&s.app(""), &[]).ok();
    assert!(
        run.stderr.contains("(retry 1): Retrying attempt #1"),
        "{}",
        run.stderr
    );
    assert!(s.argo.seen().iter().all(|r| r.writes_before == 0));
    assert_eq!(s.w.proxy.count("PutTargets"), 1);
}

#[test]
fn a_sync_back_to_an_older_commit_is_a_rollback() {
    let s = setup(false);
    let mut frames = s.timeline();
    frames.truncate(2);
    // C was deployed, then Argo CD synced the old commit again.
    let back = Frame {
        history: vec![
            (s.old.clone(), at(-3600)),
            (s.c.clone(), at(-10)),
            (s.old.clone(), at(-2)),
        ],
        started: at(-2),
        finished: Some(at(-1)),
        ..Frame::settled(&s.old, "v1", &s.manifests.url())
    };
    frames.push(back.json());
    s.argo.script(APP, Script::Frames(frames));
    let run = s.deploy(&s.app(""), &[]).fails();
    assert!(
        run.stderr.contains("rolled back: Argo CD synced"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&s.old[..7]), "{}", run.stderr);
    s.nothing_written(&run);
}

#[test]
fn a_newer_commit_on_another_tag_supersedes_the_release() {
    let s = setup(false);
    let newer = s.manifests.release("v3");
    s.argo.script(
        APP,
        Script::Frames(vec![
            Frame::settled(&newer, "v3", &s.manifests.url()).json(),
        ]),
    );
    // The release is C, pinned; main has moved on to v3.
    let app = App::new(&s.config(&format!("ref = \"{}\"\n", s.c), ""), &["web"]);
    let run = s.deploy(&app, &[]).ok();
    assert!(
        run.stdout.contains("release v2 was superseded in k8s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("warning: release v2 was superseded"),
        "{}",
        run.stderr
    );
    assert!(s.w.proxy.writes().is_empty(), "{:?}", s.w.proxy.writes());
}

/// Issue 24: a commit pushed to the manifest repo while the gate waits (another change merged
/// on top of the release) was never fetched: Argo CD synced it, the gate called it "a commit
/// the manifest repo did not have" until the timeout, and a good deploy failed. Now the repo
/// is fetched again once per such commit: a later commit that carries C counts as C.
#[test]
fn a_manifest_commit_pushed_during_the_wait_is_fetched_and_counts() {
    let s = setup(false);
    // D: after C, same tag (a docs change); pushed only once the gate has looked once.
    let d = s
        .manifests
        .prepare_commit(&[("README.md", "web, production\n")], "docs");
    s.argo.script(
        APP,
        Script::Frames(sync_timeline(&s.old, "v1", &d, "v2", &s.manifests.url())),
    );
    s.argo.before_frame(APP, 1, s.manifests.push_of(&d));
    let run = s.deploy(&s.app(""), &[]).ok();
    assert!(
        run.stderr.contains(&format!(
            "k8s reports manifest commit {} that the repo did not hold when read: fetching it again",
            &d[..7]
        )),
        "{}",
        run.stderr
    );
    // One fetch again, not one per poll.
    assert_eq!(run.stderr.matches("fetching it again").count(), 1);
    assert_eq!(s.w.proxy.count("PutTargets"), 1);
    assert_eq!(
        s.w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
}

/// A fetch again that fails (the repo gone, the network down) is a warning: the gate keeps
/// waiting, and the timeout, not the fetch, ends it.
#[test]
fn a_failed_fetch_again_is_a_warning_and_the_wait_goes_on() {
    let s = setup(false);
    let d = s
        .manifests
        .prepare_commit(&[("README.md", "web, production\n")], "docs");
    s.argo.script(
        APP,
        Script::Frames(sync_timeline(&s.old, "v1", &d, "v2", &s.manifests.url())),
    );
    let repo = s.manifests.dir.path().to_path_buf();
    s.argo.before_frame(APP, 1, move || {
        let _ = std::fs::rename(&repo, repo.with_extension("gone"));
    });
    let run = s.deploy(&s.app(""), &["--wait-for-k8s=4s"]).fails();
    assert!(
        run.stderr
            .contains("warning: cannot fetch the manifest repo again"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("k8s did not run release v2 within 4s"),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);
    let _ = std::fs::rename(
        s.manifests.dir.path().with_extension("gone"),
        s.manifests.dir.path(),
    );
}

/// The same push, but the new commit moves the image on (v3): once fetched, it is a later
/// commit on another tag — the release is superseded (exit 0, nothing written), not a
/// timeout.
#[test]
fn a_newer_release_pushed_during_the_wait_supersedes_it() {
    let s = setup(false);
    let e = s.manifests.prepare_commit(
        &[(
            "apps/web/kustomization.yaml",
            &ManifestRepo::kustomization("v3"),
        )],
        "web v3",
    );
    s.argo.script(
        APP,
        Script::Frames(sync_timeline(&s.old, "v1", &e, "v3", &s.manifests.url())),
    );
    s.argo.before_frame(APP, 1, s.manifests.push_of(&e));
    let run = s.deploy(&s.app(""), &[]).ok();
    assert!(run.stderr.contains("fetching it again"), "{}", run.stderr);
    assert!(
        run.stdout.contains("release v2 was superseded in k8s"),
        "{}",
        run.stdout
    );
    assert!(s.w.proxy.writes().is_empty(), "{:?}", s.w.proxy.writes());
}

#[test]
fn a_timeout_lists_every_unmet_condition() {
    let s = setup(false);
    let frames = s.timeline();
    s.argo.script(APP, Script::Frames(vec![frames[2].clone()]));
    let run = s.deploy(&s.app(""), &["--wait-for-k8s=2s"]).fails();
    assert!(
        run.stderr.contains("k8s did not run release v2 within 2s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("argocd app web-production: health Progressing, want Healthy"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("also holds"), "{}", run.stderr);
    assert!(run.stderr.contains("--wait-for-k8s=4s"), "{}", run.stderr);
    assert!(s.argo.seen().len() >= 2);
    s.nothing_written(&run);
}

#[test]
fn check_mode_looks_once() {
    let s = setup(false);
    s.argo.script(APP, Script::Frames(s.timeline()));
    let run = s.deploy(&s.app("gate = \"check\"\n"), &[]).fails();
    assert!(
        run.stderr.contains("[k8s] gate = \"check\""),
        "{}",
        run.stderr
    );
    assert_eq!(s.argo.seen().len(), 1);
    s.nothing_written(&run);
    // --no-k8s-gate: not asked at all.
    s.deploy(&s.app("gate = \"check\"\n"), &["--no-k8s-gate"])
        .ok();
    assert_eq!(s.argo.seen().len(), 1);
}

#[test]
fn server_refusals_name_the_token_or_the_app() {
    let s = setup(false);
    s.argo.script(APP, Script::Frames(s.timeline()));
    let app = s.app("");
    let run = app
        .run_env(
            &s.w.proxy.url,
            &["deploy"],
            &[("ARGOCD_AUTH_TOKEN", "wrong-token-123")],
        )
        .fails();
    assert!(
        run.stderr.contains("401 Unauthorized: invalid session"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the token from ARGOCD_AUTH_TOKEN was refused"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong-token-123"), "{}", run.stderr);
    s.nothing_written(&run);

    s.argo.script(APP, Script::Forbidden);
    let run = s.deploy(&app, &[]).fails();
    assert!(
        run.stderr.contains("403 Forbidden: permission denied"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`applications, get`"), "{}", run.stderr);
    s.nothing_written(&run);

    let unknown = App::new(
        &s.config("", "")
            .replace("[k8s.argocd]\n", "[k8s.argocd]\napps = [\"web-staging\"]\n"),
        &["web"],
    );
    let run = s.deploy(&unknown, &[]).fails();
    assert!(run.stderr.contains("404 Not Found"), "{}", run.stderr);
    assert!(
        run.stderr.contains("has no app web-staging"),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);

    let run = app.run(&s.w.proxy.url, &["deploy"]).fails();
    assert!(
        run.stderr
            .contains("no Argo CD token: set JOBDEPLOY_ARGOCD_TOKEN"),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);
}

#[test]
fn tls_with_a_private_ca_file() {
    let s = setup(true);
    s.argo.script(
        APP,
        Script::Frames(vec![Frame::settled(&s.c, "v2", &s.manifests.url()).json()]),
    );
    // Without the CA: the system roots do not know it.
    let run = s.deploy(&s.app(""), &[]).fails();
    assert!(
        run.stderr.contains("TLS with https://127.0.0.1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ca_file"), "{}", run.stderr);
    s.nothing_written(&run);
    // A file that is no certificate, and one that is not there.
    let with_ca = |file: &str| {
        App::new(
            &format!("{}ca_file = \"{file}\"\n", s.config("", "")),
            &["web"],
        )
    };
    let bad = with_ca("ci/argocd-ca.pem");
    bad.write("ci/argocd-ca.pem", "not a certificate\n");
    let run = s.deploy(&bad, &[]).fails();
    assert!(
        run.stderr.contains("key `k8s.argocd.ca_file`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no PEM certificate"), "{}", run.stderr);
    let run = s.deploy(&with_ca("ci/missing.pem"), &[]).fails();
    assert!(
        run.stderr.contains("key `k8s.argocd.ca_file`: cannot read"),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);
    // The CA that signed the server's certificate.
    let good = with_ca("ci/argocd-ca.pem");
    good.write(
        "ci/argocd-ca.pem",
        &String::from_utf8(argocd::ca_pem()).expect("pem"),
    );
    let run = s.deploy(&good, &[]).ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(s.w.proxy.count("PutTargets"), 1);
}

#[test]
fn insecure_skips_the_check_and_is_warned() {
    let s = setup(true);
    s.argo.script(
        APP,
        Script::Frames(vec![Frame::settled(&s.c, "v2", &s.manifests.url()).json()]),
    );
    let app = App::new(&format!("{}insecure = true\n", s.config("", "")), &["web"]);
    let run = s.deploy(&app, &[]).ok();
    assert!(
        run.stderr.contains("warning: [k8s.argocd] insecure = true"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreachable_server_fails_before_any_write() {
    let s = setup(false);
    let app = App::new(
        &s.config("", "").replace(&s.argo.url, "http://127.0.0.1:9"),
        &["web"],
    );
    let run = s.deploy(&app, &[]).fails();
    assert!(
        run.stderr
            .contains("cannot connect to http://127.0.0.1:9/api/v1/applications/web-production"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("[k8s.argocd] server = \"http://127.0.0.1:9\""),
        "{}",
        run.stderr
    );
    s.nothing_written(&run);
}

#[test]
fn without_a_k8s_table_nothing_changes() {
    let s = setup(false);
    s.argo.script(APP, Script::Frames(s.timeline()));
    let manifest = format!(
        "repo = \"{}\"\npath = \"{}\"\napp = \"{APP}\"\n",
        s.manifests.url(),
        argocd::MANIFEST_PATH
    );
    let app = App::new(&config(&s.w.cluster, &manifest), &["web"]);
    for args in [&["plan"][..], &["deploy"], &["status"]] {
        let run = app
            .run_env(&s.w.proxy.url, args, &[("JOBDEPLOY_ARGOCD_TOKEN", TOKEN)])
            .ok();
        assert!(!run.stderr.contains("k8s"), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("k8s"), "{args:?}: {}", run.stdout);
    }
    assert!(s.argo.seen().is_empty());
    let run = app
        .run_env(&s.w.proxy.url, &["deploy", "--wait-for-k8s"], &[])
        .fails();
    assert!(run.stderr.contains("--wait-for-k8s: "), "{}", run.stderr);
    assert!(run.stderr.contains("has no [k8s] table"), "{}", run.stderr);
}

#[test]
fn bad_k8s_input_is_refused_before_any_write() {
    let s = setup(false);
    let run = s.deploy(&s.app(""), &["--wait-for-k8s=soon"]).fails();
    assert!(
        run.stderr.contains("--wait-for-k8s: `soon`"),
        "{}",
        run.stderr
    );
    let app = App::new(
        &s.config("", "")
            .replace("timeout = \"60s\"", "timeout = \"15x\""),
        &["web"],
    );
    let run = s.deploy(&app, &[]).fails();
    assert!(run.stderr.contains("key `k8s.timeout`"), "{}", run.stderr);
    let app = App::new(&s.config("", "wait = \"1m\"\n"), &["web"]);
    let run = s.deploy(&app, &[]).fails();
    assert!(run.stderr.contains("wait"), "{}", run.stderr);
    assert!(s.w.proxy.writes().is_empty());
    assert!(s.argo.seen().is_empty());
}

#[test]
fn plan_says_what_deploy_waits_for_and_what_k8s_runs() {
    let s = setup(false);
    s.argo.script(APP, Script::Frames(s.timeline()));
    let run = s.s_run(&["plan"]).ok();
    assert!(
        run.stdout.contains(&format!(
            "k8s gate (wait, up to 1m): deploy waits until k8s runs v2 at manifest commit {}",
            &s.c[..7]
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "argocd app web-production: now OutOfSync, Healthy at {}, runs {IMAGE}:v1",
            &s.old[..7]
        )),
        "{}",
        run.stdout
    );
    assert!(s.w.proxy.writes().is_empty());
    assert_eq!(s.argo.seen().len(), 1);
}

impl Setup {
    fn s_run(&self, args: &[&str]) -> Run {
        self.app("").run_env(
            &self.w.proxy.url,
            args,
            &[("JOBDEPLOY_ARGOCD_TOKEN", TOKEN)],
        )
    }
}

#[test]
fn status_shows_k8s_and_counts_a_mismatch_as_drift() {
    let s = setup(false);
    let app = s.app("");
    s.deploy(&app, &["--no-k8s-gate"]).ok();
    s.argo.script(
        APP,
        Script::Frames(vec![Frame::settled(&s.c, "v2", &s.manifests.url()).json()]),
    );
    let env = [("JOBDEPLOY_ARGOCD_TOKEN", TOKEN)];
    let run = app
        .run_env(&s.w.proxy.url, &["status", "--exit-code"], &env)
        .ok();
    assert!(
        run.stdout.contains(&format!(
            "argocd app web-production: Synced, Healthy at {}",
            &s.c[..7]
        )),
        "{}",
        run.stdout
    );
    // k8s moved on to v3: the batch jobs run v2.
    s.argo.script(
        APP,
        Script::Frames(vec![Frame::settled(&s.c, "v3", &s.manifests.url()).json()]),
    );
    let run = app.run_env(&s.w.proxy.url, &["status", "--exit-code"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("k8s mismatch: the batch jobs run v2, argocd app web-production runs v3"),
        "{}",
        run.stdout
    );
    let run = app
        .run_env(&s.w.proxy.url, &["status", "--format", "json"], &env)
        .ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["k8s"][0]["source"], "argocd app web-production");
    assert_eq!(json["k8s"][0]["health"], "Healthy");
    assert_eq!(json["k8s"][0]["images"][0], format!("{IMAGE}:v3"));
    assert!(
        json["drift"]
            .as_array()
            .expect("drift")
            .iter()
            .any(|d| d["drift"] == "k8s_mismatch" && d["k8s"][0] == "v3"),
        "{json}"
    );
    // An unreachable server is a warning, not drift.
    let down = App::new(
        &s.config("", "").replace(&s.argo.url, "http://127.0.0.1:9"),
        &["web"],
    );
    let run = down
        .run_env(&s.w.proxy.url, &["status", "--exit-code"], &env)
        .ok();
    assert!(
        run.stderr
            .contains("warning: k8s: argocd app web-production"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("cannot look"), "{}", run.stdout);
}

#[test]
fn rollback_waits_only_when_asked() {
    let s = setup(false);
    let app = s.app("");
    s.deploy(&app, &["--no-k8s-gate"]).ok();
    let v2_revision = s.w.aws.task_definition_of("hourly", "default", "batch");
    s.deploy(&app, &["--tag", "v3", "--no-k8s-gate"]).ok();
    let env = [("JOBDEPLOY_ARGOCD_TOKEN", TOKEN)];
    // k8s still on v3, then back on v2: rollback --wait-for-k8s waits for v2's image.
    let on_v3 = Frame::settled(&s.c, "v3", &s.manifests.url());
    let on_v2 = Frame::settled(&s.c, "v2", &s.manifests.url());
    s.argo
        .script(APP, Script::Frames(vec![on_v3.json(), on_v2.json()]));
    let run = app
        .run_env(
            &s.w.proxy.url,
            &["rollback", "v2", "--wait-for-k8s=30s"],
            &env,
        )
        .ok();
    assert!(
        run.stderr.contains("summary.images lacks"),
        "{}",
        run.stderr
    );
    assert_eq!(s.argo.seen().len(), 2);
    assert!(
        s.argo
            .seen()
            .iter()
            .all(|r| r.writes_before == s.argo.seen()[0].writes_before)
    );
    assert_eq!(
        s.w.aws.task_definition_of("hourly", "default", "batch"),
        v2_revision
    );
    // Without the flag: not asked.
    app.run_env(&s.w.proxy.url, &["rollback", "v3"], &env).ok();
    assert_eq!(s.argo.seen().len(), 2);
}

#[test]
fn github_actions_groups_the_wait_and_summarizes_it() {
    let s = setup(false);
    s.argo
        .script(APP, Script::Frames(s.timeline().split_off(3)));
    let app = s.app("");
    let summary = app.path().join("summary.md");
    let run = app.run_env(
        &s.w.proxy.url,
        &["deploy"],
        &[
            ("JOBDEPLOY_ARGOCD_TOKEN", TOKEN),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("::group::jobdeploy: waiting up to 1m for k8s to run release v2"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("::endgroup::"), "{}", run.stderr);
    let written = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        written.contains(&format!(
            "for argocd app web-production: Synced, Healthy at {}",
            &s.c[..7]
        )),
        "{written}"
    );
}
