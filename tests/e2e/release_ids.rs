//! End to end: what one release is — the first deploy's `adopted` release, a template change
//! or a tag deployed again at the same tag each a release of its own, rollback by manifest
//! commit, and `status` against the manifest's tag.

use crate::common::*;
use crate::releases::{json, on, pair, releases, two_family_world};

/// Issue 13 item 4: right after `init`, the rules ran revisions jobdeploy did not register,
/// so after the first deploy `rollback` had nothing to go back to.
#[test]
fn the_first_deploy_can_be_rolled_back_to_what_ran_before() {
    let (w, app) = two_family_world();
    let hourly_before = w.aws.targets("hourly", "default");
    let plan = w.run(&app, &["plan", "--tag", "v2"]).ok().stdout;
    assert!(
        plan.contains("(report:1, web:1) is recorded as release `adopted`"),
        "{plan}"
    );
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(on(&w), pair(2, 2));
    assert!(
        w.aws
            .tags_of(&td_arn("web", 1))
            .contains(&("jobdeploy:release".into(), "adopted".into())),
    );

    w.run(&app, &["rollback", "adopted"]).ok();
    assert_eq!(on(&w), pair(1, 1));
    assert_eq!(w.aws.targets("hourly", "default"), hourly_before);
    let status = json(&w.run(&app, &["status", "--format", "json"]).ok());
    assert_eq!(status["live"]["release"], "adopted");

    // Later deploys adopt nothing more; `previous` from the first release is `adopted`.
    w.run(&app, &["deploy", "--tag", "v2"]).ok();
    assert_eq!(on(&w), pair(2, 2));
    w.proxy.clear();
    w.run(&app, &["deploy", "--tag", "v3"]).ok();
    assert_eq!(w.proxy.count("TagResource"), 0);
    w.run(&app, &["rollback", "v2"]).ok();
    w.run(&app, &["rollback", "previous"]).ok();
    assert_eq!(on(&w), pair(1, 1));
    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    let ids: Vec<String> = releases(&history).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["v3", "v2", "adopted"]);
}

/// Issue 13 item 5: the release id was the tag alone, so a template-only change deployed at
/// the same tag merged into the previous release.
#[test]
fn a_template_change_at_the_same_tag_is_a_release_of_its_own() {
    let (w, app) = two_family_world();
    let with_env = |value: &str| {
        APP_TEMPLATE.replace("FAMILY", "web").replace(
            r#"{"name": "RELEASE", "value": "{{ release }}"}"#,
            &format!(
                r#"{{"name": "RELEASE", "value": "{{{{ release }}}}"}}, {{"name": "MODE", "value": "{value}"}}"#
            ),
        )
    };
    w.run(&app, &["deploy", "--tag", "v2"]).ok(); // web:2, report:2
    app.write("taskdefs/web.json", &with_env("fast"));
    let plan = w.run(&app, &["plan", "--tag", "v2"]).ok().stdout;
    assert!(plan.contains("Release v2+2 "), "{plan}");
    let deployed = w
        .run(&app, &["deploy", "--tag", "v2", "--format", "json"])
        .ok();
    assert_eq!(json(&deployed)["release"], "v2+2"); // web:3
    app.write("taskdefs/web.json", &with_env("safe"));
    w.run(&app, &["deploy", "--tag", "v2"]).ok(); // web:4 as v2+3
    assert_eq!(on(&w), pair(4, 2));
    // Nothing changed: no new release, and the id shown is the live one.
    let again = w.run(&app, &["plan", "--tag", "v2"]).ok().stdout;
    assert!(again.contains("release v2+3 is live"), "{again}");

    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    assert_eq!(
        releases(&history),
        [
            ("v2+3".into(), vec![("report".into(), 2), ("web".into(), 4)]),
            ("v2+2".into(), vec![("report".into(), 2), ("web".into(), 3)]),
            ("v2".into(), vec![("report".into(), 2), ("web".into(), 2)]),
            (
                "adopted".into(),
                vec![("report".into(), 1), ("web".into(), 1)]
            ),
        ]
    );
    for r in history["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .take(3)
    {
        assert_eq!(r["tag"], "v2", "{r}");
    }
    assert!(w.run(&app, &["history"]).ok().stdout.contains("v2+2"));

    w.run(&app, &["rollback", "v2+2"]).ok();
    assert_eq!(on(&w), pair(3, 2));
    // A tag names its newest release.
    w.run(&app, &["rollback", "v2"]).ok();
    assert_eq!(on(&w), pair(4, 2));
}

/// Issue 13 item 12: `rollback` took only release ids, but a GitOps user thinks in manifest
/// commits.
#[test]
fn rollback_takes_the_manifest_commit_a_release_was_made_from() {
    let (w, _) = two_family_world();
    let manifests = ManifestRepo::new();
    let app = App::new(
        &config(
            "batch",
            &format!("repo = \"{}\"\npath = \"apps/web\"\n", manifests.url()),
        ),
        &["web", "report"],
    );
    let mut commits = Vec::new();
    for tag in ["v2", "v3", "v4"] {
        commits.push(manifests.release(tag));
        w.run(&app, &["deploy"]).ok();
    }
    assert_eq!(on(&w), pair(4, 4));
    let human = w.run(&app, &["history"]).ok().stdout;
    assert!(human.contains(&commits[0][..7]), "{human}");

    w.run(&app, &["rollback", &commits[0][..7]]).ok();
    assert_eq!(on(&w), pair(2, 2));
    w.run(&app, &["rollback", &commits[1].to_uppercase()]).ok();
    assert_eq!(on(&w), pair(3, 3));

    // Unknown: named; nothing written.
    w.proxy.clear();
    let unknown = w.run(&app, &["rollback", "0000000"]).fails();
    assert!(
        unknown
            .stderr
            .contains("release or manifest commit `0000000` not found"),
        "{}",
        unknown.stderr
    );
    // Too short to be a commit: only a release id could match.
    let short = w.run(&app, &["rollback", &commits[0][..6]]).fails();
    assert!(short.stderr.contains("release `"), "{}", short.stderr);
    assert_eq!(w.proxy.writes(), Vec::<String>::new());
    assert_eq!(on(&w), pair(3, 3));
}

/// Issue 13 item 8: `status` did not compare the live release with the manifest's tag, so a
/// release whose deploy never ran looked healthy.
#[test]
fn status_says_when_the_live_release_is_behind_the_manifest() {
    let (w, _) = two_family_world();
    let manifests = ManifestRepo::new();
    let app = App::new(
        &config(
            "batch",
            &format!("repo = \"{}\"\npath = \"apps/web\"\n", manifests.url()),
        ),
        &["web", "report"],
    );
    manifests.release("v2");
    w.run(&app, &["deploy"]).ok();
    let human = w.run(&app, &["status"]).ok().stdout;
    assert!(
        human.contains("live v2, manifest says v2: up to date"),
        "{human}"
    );

    let commit = manifests.release("v3");
    let human = w.run(&app, &["status"]).ok().stdout;
    assert!(
        human.contains("live v2, manifest says v3: behind — run jobdeploy deploy"),
        "{human}"
    );
    let status = json(&w.run(&app, &["status", "--format", "json"]).ok());
    assert_eq!(status["manifest"]["tag"], "v3");
    assert_eq!(status["manifest"]["commit"], commit.as_str());
    assert_eq!(status["manifest"]["behind"], true);
    let markdown = w.run(&app, &["status", "--format", "markdown"]).ok().stdout;
    assert!(markdown.contains("manifest says v3: behind"), "{markdown}");

    w.run(&app, &["deploy"]).ok();
    let status = json(&w.run(&app, &["status", "--format", "json"]).ok());
    assert_eq!(status["manifest"]["behind"], false);
    // `--tag` stands in for the manifest, as everywhere.
    let tagged = w.run(&app, &["status", "--tag", "v4"]).ok().stdout;
    assert!(tagged.contains("manifest says v4: behind"), "{tagged}");
}

/// Issue 13 item 5, the manifest-revert case: a tag deployed again after another tag (no
/// family's newest revision carries it) got the bare tag again and merged with its first
/// release.
#[test]
fn a_tag_deployed_again_after_another_is_a_release_of_its_own() {
    let (w, app) = two_family_world();
    for tag in ["v2", "v3"] {
        w.run(&app, &["deploy", "--tag", tag]).ok();
    }
    let plan = w.run(&app, &["plan", "--tag", "v2"]).ok().stdout;
    assert!(plan.contains("Release v2+2 "), "{plan}");
    let again = w
        .run(&app, &["deploy", "--tag", "v2", "--format", "json"])
        .ok();
    assert_eq!(json(&again)["release"], "v2+2");
    assert_eq!(on(&w), pair(4, 4));
    let history = json(&w.run(&app, &["history", "--format", "json"]).ok());
    let ids: Vec<String> = releases(&history).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["v2+2", "v3", "v2", "adopted"]);
    // The first release of the tag is still there to go back to.
    w.run(&app, &["rollback", "v2+1"]).ok();
    assert_eq!(on(&w), pair(2, 2));
    w.run(&app, &["rollback", "v2"]).ok();
    assert_eq!(on(&w), pair(4, 4));
}
