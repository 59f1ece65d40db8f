//! End to end: the built binary against moto (through a recording proxy) and real git repos.

use crate::common::*;
use aws_sdk_eventbridge::types::RuleState;

pub(crate) fn tag_config() -> String {
    config("batch", "")
}

#[test]
fn deploy_changes_only_the_task_definition_of_every_target_field() {
    let w = World::new();
    let old = w.aws.register("web", "v1");
    w.aws.rule(
        "nightly",
        "default",
        RuleState::Enabled,
        vec![full_target(&w.aws.net, &w.cluster, &old)],
    );
    let before = w.aws.targets("nightly", "default");

    let app = App::new(&tag_config(), &["web"]);
    w.run(&app, &["deploy", "--tag", "v2"]).ok();

    let after = w.aws.targets("nightly", "default");
    assert_eq!(after.len(), 1);
    let new_arn = after[0]
        .ecs_parameters()
        .map(|e| e.task_definition_arn().to_string());
    assert_eq!(new_arn.as_deref(), Some(td_arn("web", 2).as_str()));
    // Put the old ARN back into the new target: then it must equal the old target exactly.
    let mut restored = after[0].clone();
    restored.ecs_parameters = after[0].ecs_parameters.clone().map(|mut e| {
        e.task_definition_arn = old.clone();
        e
    });
    assert_eq!(restored, before[0]);
    assert!(w.proxy.count("PutRule") == 0, "{:?}", w.proxy.actions());
}

#[test]
fn targets_that_are_not_ours_are_left_alone() {
    let w = World::new();
    let web = w.aws.register("web", "v1");
    let api = w.aws.register("api", "v1"); // no template for api
    let other_cluster = w.aws.create_cluster("analytics");

    // Ours: a rule with an ECS target plus a non-ECS target; a DISABLED rule; a floating one.
    w.aws.put_rule("hourly", "default", RuleState::Enabled);
    let sqs = sqs_target();
    w.aws.put_targets(
        "hourly",
        "default",
        vec![
            ecs_target(&w.aws.net, "batch", &w.cluster, &web),
            sqs.clone(),
        ],
    );
    w.aws.rule(
        "paused",
        "default",
        RuleState::Disabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &web)],
    );
    let floating = web
        .rsplit_once(':')
        .map(|(f, _)| f.to_string())
        .expect("family arn");
    w.aws.rule(
        "floating",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &floating)],
    );

    // Not ours: other cluster, family without template, excluded rule, other bus.
    w.aws.rule(
        "other-cluster",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &other_cluster, &web)],
    );
    w.aws.rule(
        "api-job",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &w.cluster, &api)],
    );
    w.aws.rule(
        "legacy-cleanup",
        "default",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &w.cluster, &web)],
    );
    w.aws.rule(
        "on-data-bus",
        "data",
        RuleState::Enabled,
        vec![ecs_target(&w.aws.net, "x", &w.cluster, &web)],
    );

    let untouched = |w: &World| {
        [
            ("other-cluster", "default"),
            ("api-job", "default"),
            ("legacy-cleanup", "default"),
            ("on-data-bus", "data"),
        ]
        .map(|(r, b)| w.aws.targets(r, b))
    };
    let before = untouched(&w);

    let app = App::new(
        &format!("{}\n[rules]\nexclude = [\"legacy-*\"]\n", tag_config()),
        &["web"],
    );
    let plan = w.run(&app, &["plan", "--tag", "v2", "-v"]).ok();
    assert!(plan.stdout.contains("pinned"), "{}", plan.stdout);
    assert!(
        plan.stderr.contains("legacy-cleanup: excluded"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("target audit: not an ECS target"),
        "{}",
        plan.stderr
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();

    let new = td_arn("web", 2);
    assert_eq!(w.aws.task_definition_of("hourly", "default", "batch"), new);
    assert_eq!(w.aws.task_definition_of("paused", "default", "batch"), new);
    assert_eq!(
        w.aws.task_definition_of("floating", "default", "batch"),
        new
    );
    assert_eq!(w.aws.rule_state("paused", "default"), "DISABLED");
    let hourly = w.aws.targets("hourly", "default");
    assert_eq!(hourly.iter().find(|t| t.id() == "audit"), Some(&sqs));
    assert_eq!(untouched(&w), before);
}

#[test]
fn plan_writes_nothing_and_deploy_is_idempotent() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&tag_config(), &["web", "report"]);

    w.proxy.clear();
    let plan = w.run(&app, &["plan", "--tag", "v2", "--exit-code"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("web:1 → web:2 (new)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("report (not registered yet)"),
        "{}",
        plan.stdout
    );
    assert!(!w.proxy.actions().is_empty());
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    w.run(&app, &["deploy", "--dry-run", "--tag", "v2"]).ok();
    assert_eq!(w.proxy.writes(), Vec::<String>::new());

    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(w.proxy.count("RegisterTaskDefinition"), 2);
    assert_eq!(w.proxy.count("PutTargets"), 1);

    w.proxy.clear();
    let again = w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert!(again.stdout.contains("already live"), "{}", again.stdout);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    assert_eq!(w.aws.revisions("web").len(), 2);
    w.run(&app, &["plan", "--tag", "v2", "--exit-code"]).ok();
}

#[test]
fn registered_revisions_carry_release_tags() {
    let w = World::new();
    let manifests = ManifestRepo::new();
    let commit = manifests.release("v2");
    let app = App::new(
        &config(
            "batch",
            &format!("repo = \"{}\"\npath = \"apps/web\"\n", manifests.url()),
        ),
        &["web"],
    );
    app.run_env(&w.proxy.url, &["deploy"], &[("GITHUB_SHA", "abc123def")])
        .ok();
    let tags = w.aws.tags_of(&td_arn("web", 1));
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(tag("jobdeploy:release").as_deref(), Some("v2"));
    assert_eq!(tag("jobdeploy:manifest-commit"), Some(commit));
    assert_eq!(tag("jobdeploy:source-commit").as_deref(), Some("abc123def"));
    assert_eq!(tag("team").as_deref(), Some("batch"));
}

#[test]
fn a_new_tag_pushed_to_the_manifest_repo_flows_through() {
    let w = World::new();
    w.hourly_web_job();
    let manifests = ManifestRepo::new();
    manifests.release("v2");
    let app = App::new(
        &config(
            "batch",
            &format!(
                "repo = \"{}\"\nref = \"main\"\npath = \"apps/web\"\n",
                manifests.url()
            ),
        ),
        &["web"],
    );
    w.run(&app, &["deploy"]).ok();
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );

    manifests.release("v3");
    let plan = w.run(&app, &["plan"]).ok();
    assert!(plan.stdout.contains("Release v3"), "{}", plan.stdout);
    w.run(&app, &["deploy"]).ok();
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 3)
    );
}

#[test]
fn a_local_clone_works_like_a_url() {
    let w = World::new();
    let manifests = ManifestRepo::new();
    manifests.release("v3");
    let app = App::new(
        &config(
            "batch",
            &format!(
                "repo = \"{}\"\npath = \"apps/web/kustomization.yaml\"\n",
                manifests.dir.path().display()
            ),
        ),
        &["web"],
    );
    let plan = w.run(&app, &["plan"]).ok();
    assert!(plan.stdout.contains("Release v3"), "{}", plan.stdout);
}

#[test]
fn a_tag_missing_from_ecr_fails_before_any_write() {
    let w = World::new();
    let web = w.hourly_web_job();
    let app = App::new(&tag_config(), &["web"]);
    w.proxy.clear();
    let run = w.run(&app, &["deploy", "--tag", "v9"]).fails();
    assert!(
        run.stderr.contains("web:v9") && run.stderr.contains("does not exist in ECR"),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    assert_eq!(w.aws.task_definition_of("hourly", "default", "batch"), web);
}

#[test]
fn a_missing_cluster_is_named() {
    let w = World::new();
    let app = App::new(&config("nope", ""), &["web"]);
    let run = w.run(&app, &["plan", "--tag", "v1"]).fails();
    assert!(
        run.stderr.contains("`nope` does not exist"),
        "{}",
        run.stderr
    );
}

/// Issue 23: the seeded images had no layers, so moto gave every tag the digest of the empty
/// string (`sha256:e3b0c442…`) and `v2@<v1's digest>` passed the tag@digest check by accident.
/// Each seeded tag now has a manifest of its own.
#[test]
fn every_seeded_tag_had_the_empty_digest_so_another_tags_digest_passed() {
    let w = World::new();
    let web = w.hourly_web_job();
    let digests: Vec<String> = ["v1", "v2", "v3"]
        .iter()
        .map(|tag| w.aws.image_digest("web", tag))
        .collect();
    let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert!(!digests.iter().any(|d| d == empty), "{digests:?}");
    assert_ne!(digests[0], digests[1]);
    assert_ne!(digests[1], digests[2]);
    let app = App::new(&tag_config(), &["web"]);
    let wrong = format!("v2@{}", digests[0]);
    let run = w.run(&app, &["deploy", "--tag", &wrong]).fails();
    assert!(
        run.stderr.contains(&digests[0]) && run.stderr.contains(&digests[1]),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    assert_eq!(w.aws.task_definition_of("hourly", "default", "batch"), web);
}

/// Issue 13 item 3: `--tag v2@sha256:…` was accepted when tag v2 in ECR is another image.
#[test]
fn a_tag_pinned_to_another_digest_is_refused_naming_both() {
    let w = World::new();
    let web = w.hourly_web_job();
    // Another image than v2's: moto's digest is made from the layers.
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"digest":"sha256:{:0>64}"}},"layers":[{{"digest":"sha256:{:1>64}","size":1}}]}}"#,
        "", ""
    );
    w.aws
        .rt
        .block_on(
            w.aws
                .ecr
                .put_image()
                .repository_name("web")
                .image_manifest(manifest)
                .image_tag("v10")
                .send(),
        )
        .expect("put image");
    let v2 = w.aws.image_digest("web", "v2");
    let v10 = w.aws.image_digest("web", "v10");
    assert_ne!(v2, v10);
    let app = App::new(&tag_config(), &["web"]);
    let wrong = format!("v2@{v10}");
    for command in ["plan", "deploy"] {
        w.proxy.clear();
        let run = w.run(&app, &[command, "--tag", &wrong]).fails();
        assert!(
            run.stderr.contains(&v2) && run.stderr.contains(&v10),
            "{command}: {}",
            run.stderr
        );
        assert_eq!(w.proxy.writes(), Vec::<String>::new());
    }
    assert_eq!(w.aws.task_definition_of("hourly", "default", "batch"), web);

    // The right digest deploys, and the revision and history record it beside the tag.
    w.run(&app, &["deploy", "--tag", &format!("v2@{v2}")]).ok();
    assert_eq!(
        w.aws.task_definition_of("hourly", "default", "batch"),
        td_arn("web", 2)
    );
    let tags = w.aws.tags_of(&td_arn("web", 2));
    assert!(
        tags.contains(&("jobdeploy:image-digest".to_string(), v2.clone())),
        "{tags:?}"
    );
    let history = w.run(&app, &["history", "--format", "json"]).ok();
    let history: serde_json::Value = serde_json::from_str(&history.stdout).expect("JSON");
    assert_eq!(history["releases"][0]["id"], "v2");
    assert_eq!(history["releases"][0]["tag"], "v2");
    assert_eq!(history["releases"][0]["digest"], v2.as_str());
    let human = w.run(&app, &["history"]).ok().stdout;
    assert!(human.contains(&format!("image {v2}")), "{human}");
}

/// Issue 13 item 7: `plan` did not check the image, so a PR's plan passed with a tag that
/// was never pushed and only the deploy failed.
#[test]
fn plan_refuses_a_tag_never_pushed_like_deploy() {
    let w = World::new();
    w.hourly_web_job();
    let app = App::new(&tag_config(), &["web"]);
    w.proxy.clear();
    let run = w.run(&app, &["plan", "--tag", "v9"]).fails();
    assert!(
        run.stderr.contains("web:v9") && run.stderr.contains("does not exist in ECR"),
        "{}",
        run.stderr
    );
    assert_eq!(w.proxy.count("DescribeImages"), 1);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
}

/// Issue 13 item 7: a disabled rule or schedule was planned like an enabled one, so the
/// reviewer could not tell that the job will not run.
#[test]
fn plan_shows_a_disabled_rule_and_schedule() {
    let w = World::new();
    let web = w.hourly_web_job();
    w.aws.rule(
        "paused",
        "default",
        RuleState::Disabled,
        vec![ecs_target(&w.aws.net, "batch", &w.cluster, &web)],
    );
    w.aws.schedule_group("jobs");
    w.aws.create_schedule(
        "export",
        &full_schedule(&w.aws.net, "jobs", &w.cluster, &web, "DISABLED"),
    );
    let app = App::new(
        &format!("{}\n[schedules]\ngroups = [\"jobs\"]\n", tag_config()),
        &["web"],
    );
    let human = w.run(&app, &["plan", "--tag", "v2"]).ok().stdout;
    let line = |what: &str| {
        human
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line for {what}:\n{human}"))
            .to_string()
    };
    assert!(line("default/paused").ends_with("(DISABLED)"), "{human}");
    assert!(
        line("schedule jobs/export").ends_with("(DISABLED)"),
        "{human}"
    );
    assert!(!line("default/hourly").contains("DISABLED"), "{human}");

    let json = w
        .run(&app, &["plan", "--tag", "v2", "--format", "json"])
        .ok();
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let state = |name: &str| {
        plan["targets"]
            .as_array()
            .and_then(|ts| {
                ts.iter()
                    .find(|t| t["rule"] == name || t["schedule"] == name)
            })
            .map(|t| t["state"].clone())
            .unwrap_or_default()
    };
    assert_eq!(state("paused"), "DISABLED");
    assert_eq!(state("export"), "DISABLED");
    assert_eq!(state("hourly"), "ENABLED");
    let md = w
        .run(&app, &["plan", "--tag", "v2", "--format", "markdown"])
        .ok()
        .stdout;
    assert!(
        md.contains("| `default/paused` | `batch` | `web:1` | `web:2 (new)` (DISABLED) |"),
        "{md}"
    );
}
