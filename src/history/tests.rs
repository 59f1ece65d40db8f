use super::*;
use crate::model::{ADOPTED, TaskDefRef};
use serde_json::json;

fn rev(family: &str, revision: i64, time: Option<f64>, release: Option<&str>) -> RevisionInfo {
    RevisionInfo {
        family: family.into(),
        revision,
        arn: format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:{revision}"),
        status: "ACTIVE".into(),
        registered_at: time,
        release: release.map(str::to_string),
        manifest_commit: release.map(|r| format!("commit-{r}")),
        source_commit: None,
        image_digest: None,
    }
}

fn log(revisions: Vec<RevisionInfo>) -> FamilyLog {
    FamilyLog {
        revisions,
        complete: true,
    }
}

fn target(rule: &str, family: &str, revision: Option<i64>) -> LiveTarget {
    let arn = match revision {
        Some(n) => format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:{n}"),
        None => format!("arn:aws:ecs:us-east-1:1:task-definition/{family}"),
    };
    LiveTarget {
        at: Trigger::rule_target("default", rule, "t"),
        task_definition: TaskDefRef::parse(&arn),
        raw: json!({}),
    }
}

/// web registered in v1, v2, v3; report only in v1 and v3 (v2 did not change it);
/// each family also has a revision 1 registered by hand before jobdeploy.
fn three_releases() -> History {
    History {
        families: [
            (
                "web".to_string(),
                log(vec![
                    rev("web", 4, Some(300.0), Some("v3")),
                    rev("web", 3, Some(200.0), Some("v2")),
                    rev("web", 2, Some(100.0), Some("v1")),
                    rev("web", 1, None, None),
                ]),
            ),
            (
                "report".to_string(),
                log(vec![
                    rev("report", 3, Some(301.0), Some("v3")),
                    rev("report", 2, Some(101.0), Some("v1")),
                    rev("report", 1, None, None),
                ]),
            ),
        ]
        .into(),
    }
}

#[test]
fn releases_newest_first_with_unchanged_families_keeping_their_revision() {
    let releases = three_releases().releases();
    let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["v3", "v2", "v1"]);
    let v2 = &releases[1];
    assert_eq!(v2.revisions["web"].revision(), Some(3));
    assert_eq!(
        v2.revisions["report"].revision(),
        Some(2),
        "v2 kept report:2"
    );
    assert_eq!(v2.registered, BTreeSet::from(["web".to_string()]));
    assert_eq!(
        releases[0].time, 301.0,
        "a release's time is its last registration"
    );
    assert_eq!(releases[2].manifest_commit.as_deref(), Some("commit-v1"));
}

#[test]
fn a_family_younger_than_a_release_is_absent_from_it() {
    let mut h = three_releases();
    h.families.insert(
        "cleanup".into(),
        log(vec![rev("cleanup", 1, Some(250.0), Some("v3"))]),
    );
    let releases = h.releases();
    assert_eq!(releases[0].revisions["cleanup"].revision(), Some(1));
    assert_eq!(releases[1].revisions["cleanup"], Slot::Absent);
    let families = BTreeSet::from(["cleanup".to_string(), "web".to_string()]);
    assert_eq!(
        releases[1].unusable(&families),
        ["cleanup had no revision yet"]
    );
    assert!(releases[0].unusable(&families).is_empty());
}

#[test]
fn an_incomplete_log_says_unknown_instead_of_absent() {
    let mut h = three_releases();
    if let Some(l) = h.families.get_mut("web") {
        l.revisions.truncate(1);
        l.complete = false;
    }
    let releases = h.releases();
    let v2 = releases.iter().find(|r| r.id == "v2");
    assert!(
        v2.is_none(),
        "v2 is only known from web:3, which was not read"
    );
    let v1 = releases
        .iter()
        .find(|r| r.id == "v1")
        .map(|r| r.revisions["web"].clone());
    assert_eq!(v1, Some(Slot::Unknown));
    assert!(h.families["web"].reached_time(300.0));
    assert!(!h.families["web"].reached_time(299.0));
    assert!(h.families["web"].reached_revision(4));
    assert!(!h.families["web"].reached_revision(3));
}

#[test]
fn inactive_revisions_make_a_release_unusable() {
    let mut h = three_releases();
    if let Some(l) = h.families.get_mut("web") {
        l.revisions[2].status = "INACTIVE".into();
    }
    let releases = h.releases();
    let families = BTreeSet::from(["web".to_string(), "report".to_string()]);
    assert_eq!(
        releases[2].unusable(&families),
        ["web:2 is INACTIVE (deregistered)"]
    );
    assert!(releases[1].unusable(&families).is_empty());
}

#[test]
fn live_release_mixed_untracked() {
    let h = three_releases();
    let releases = h.releases();
    let on_v2 = [target("a", "web", Some(3)), target("b", "report", Some(2))];
    assert_eq!(h.live(&releases, &on_v2), Live::Release("v2".into()));
    // report:2 is in v1 and v2; web:2 only in v1.
    let on_v1 = [target("a", "web", Some(2)), target("b", "report", Some(2))];
    assert_eq!(h.live(&releases, &on_v1), Live::Release("v1".into()));
    let mixed = [target("a", "web", Some(4)), target("b", "report", Some(2))];
    assert_eq!(h.live(&releases, &mixed), Live::Mixed);
    let by_hand = [target("a", "web", Some(1))];
    assert_eq!(h.live(&releases, &by_hand), Live::Untracked);
    assert_eq!(h.live(&releases, &[]), Live::NoTargets);
    // Floating resolves to the newest ACTIVE revision.
    let floating = [target("a", "web", None), target("b", "report", None)];
    assert_eq!(h.live(&releases, &floating), Live::Release("v3".into()));
}

#[test]
fn status_flags_drift() {
    let h = three_releases();
    let targets = [
        target("a", "web", Some(4)),
        target("b", "report", Some(2)),
        target("c", "web", None),
        target("d", "web", Some(9)),
    ];
    let skipped = [Skipped {
        at: Trigger::rule_target("default", "e", "x"),
        kind: SkipKind::NoTemplate,
        reason: "family `api` has no template".into(),
    }];
    let status = Status::compute(&h, &targets, &skipped);
    assert_eq!(status.live, Live::Mixed);
    let releases: Vec<Option<&str>> = status
        .targets
        .iter()
        .map(|t| t.release.as_deref())
        .collect();
    assert_eq!(releases, [Some("v3"), Some("v2"), Some("v3"), None]);
    assert_eq!(status.targets[3].state, "missing");
    assert!(status.targets[2].floating);
    let codes: Vec<String> = status
        .drift
        .iter()
        .map(|d| serde_json::to_value(d).expect("json")["drift"].to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "\"mixed\"",
            "\"floating\"",
            "\"missing\"",
            "\"untemplated\""
        ]
    );
    let Drift::Mixed { releases } = &status.drift[0] else {
        panic!("{:?}", status.drift[0]);
    };
    let on: Vec<(Option<&str>, usize)> = releases
        .iter()
        .map(|(r, at)| (r.as_deref(), at.len()))
        .collect();
    assert_eq!(on, [(None, 1), (Some("v2"), 1), (Some("v3"), 2)]);
    assert_eq!(
        status.drift[1],
        Drift::Floating {
            at: Trigger::rule_target("default", "c", "t"),
            family: "web".into()
        }
    );
    assert_eq!(status.untemplated.len(), 1);
}

#[test]
fn horizon_waits_for_target_revisions() {
    let mut h = three_releases();
    let targets = [target("a", "web", Some(3))];
    assert_eq!(h.targets_horizon(&targets), Some(200.0));
    if let Some(l) = h.families.get_mut("web") {
        l.revisions.truncate(1);
        l.complete = false;
    }
    assert_eq!(h.targets_horizon(&targets), None);
    assert_eq!(h.targets_horizon(&[]), Some(f64::INFINITY));
}

#[test]
fn release_ids_number_the_releases_of_one_tag() {
    assert_eq!(release_tag("v1.4.2"), "v1.4.2");
    assert_eq!(release_tag("v1.4.2+3"), "v1.4.2");
    assert_eq!(release_tag("v1+x"), "v1+x", "only a number is a suffix");
    assert_eq!(next_release_id("v1.4.2", []), "v1.4.2");
    assert_eq!(next_release_id("v1.4.2", ["v1.4.1", "v1.4.2"]), "v1.4.2+2");
    assert_eq!(
        next_release_id("v1.4.2", ["v1.4.2+2", "v1.4.2", "v1.4.2+10", "v1.4.20"]),
        "v1.4.2+11"
    );
    assert_eq!(
        newest_release_of("v1", ["v1", "v1+3", "v2", "v1+2"]),
        Some("v1+3")
    );
    assert_eq!(newest_release_of("v3", ["v1", "v2"]), None);
}

fn commit(c: &str) -> Option<String> {
    Some(c.to_string())
}

/// v1 from commit aaaaaaa111, v1+2 from the same commit (a template change), v2 from
/// aaaaaaa222.
fn releases_with_commits() -> Vec<ReleaseInfo> {
    let mut h = three_releases();
    for log in h.families.values_mut() {
        for r in &mut log.revisions {
            r.release = r.release.as_deref().map(|id| match id {
                "v3" => "v2".to_string(),
                "v2" => "v1+2".to_string(),
                other => other.to_string(),
            });
            r.manifest_commit = match r.release.as_deref() {
                Some("v1" | "v1+2") => commit("aaaaaaa111"),
                Some("v2") => commit("aaaaaaa222"),
                _ => None,
            };
        }
    }
    h.releases()
}

#[test]
fn rollback_names_a_release_its_tag_or_its_manifest_commit() {
    let releases = releases_with_commits();
    let found = |wanted: &str| {
        find_release(&releases, wanted)
            .map(|r| r.map(|r| r.id.clone()))
            .map_err(|e| e.message().to_string())
    };
    assert_eq!(found("v1+2"), Ok(Some("v1+2".into())));
    assert_eq!(
        found("v1"),
        Ok(Some("v1+2".into())),
        "a tag: its newest release"
    );
    assert_eq!(
        found("v1+1"),
        Ok(Some("v1".into())),
        "the first release of v1"
    );
    assert_eq!(found("v1+3"), Ok(None));
    assert_eq!(releases[1].tag, "v1");
    assert_eq!(found("aaaaaaa2"), Ok(Some("v2".into())));
    assert_eq!(
        found("AAAAAAA1"),
        Ok(Some("v1+2".into())),
        "of two releases from one commit, the newest"
    );
    let ambiguous = found("aaaaaaa").unwrap_err();
    assert!(
        ambiguous.contains("ambiguous")
            && ambiguous.contains("aaaaaaa111 (release v1+2)")
            && ambiguous.contains("aaaaaaa222 (release v2)"),
        "{ambiguous}"
    );
    assert_eq!(found("bbbbbbb"), Ok(None));
    assert_eq!(found("aaaaaa"), Ok(None), "six characters are not a commit");
}

#[test]
fn a_tag_names_its_newest_release() {
    let mut h = three_releases();
    for log in h.families.values_mut() {
        for r in &mut log.revisions {
            if r.release.as_deref() == Some("v3") {
                r.release = Some("v2+2".into());
            }
        }
    }
    let releases = h.releases();
    let found = find_release(&releases, "v2")
        .ok()
        .flatten()
        .map(|r| r.id.as_str());
    assert_eq!(found, Some("v2+2"));
}

#[test]
fn the_adopted_release_has_the_revisions_tagged_with_it() {
    // web:1 and report:1 ran before jobdeploy; web:2 was registered by hand before
    // report:1 and never used: the release's time alone would take web:2.
    let h = History {
        families: [
            (
                "web".to_string(),
                log(vec![
                    rev("web", 3, Some(300.0), Some("v1")),
                    rev("web", 2, Some(200.0), None),
                    rev("web", 1, Some(100.0), Some(ADOPTED)),
                ]),
            ),
            (
                "report".to_string(),
                log(vec![rev("report", 1, Some(250.0), Some(ADOPTED))]),
            ),
        ]
        .into(),
    };
    let releases = h.releases();
    let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["v1", ADOPTED]);
    assert_eq!(releases[1].revisions["web"].revision(), Some(1));
    assert_eq!(releases[1].revisions["report"].revision(), Some(1));
    let targets = [target("a", "web", Some(1)), target("b", "report", Some(1))];
    assert_eq!(h.live(&releases, &targets), Live::Release(ADOPTED.into()));
}

#[test]
fn status_is_behind_the_manifest_until_its_tag_is_live() {
    let h = three_releases();
    let releases = h.releases();
    let on_v3 = Live::Release("v3".into());
    let behind = Wanted::compare("v4", None, None, &on_v3, &releases);
    assert!(behind.behind);
    assert_eq!(
        behind.describe(&on_v3),
        "live v3, manifest says v4: behind — run jobdeploy deploy"
    );
    let current = Wanted::compare("v3", None, None, &on_v3, &releases);
    assert!(!current.behind);
    assert!(current.describe(&on_v3).ends_with("up to date"));
    let template_change = Live::Release("v3+2".into());
    assert!(!Wanted::compare("v3", None, None, &template_change, &releases).behind);
    assert!(Wanted::compare("v3", None, None, &Live::Mixed, &releases).behind);
    assert!(!Wanted::compare("v3", None, None, &Live::NoTargets, &releases).behind);
    // Same tag, another digest: the tag was moved and re-pinned.
    let mut with_digest = releases.clone();
    with_digest[0].digest = Some("sha256:aa".into());
    assert!(Wanted::compare("v3", Some("sha256:bb"), None, &on_v3, &with_digest).behind);
    assert!(!Wanted::compare("v3", Some("sha256:aa"), None, &on_v3, &with_digest).behind);
}
