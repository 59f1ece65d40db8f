use super::*;
use crate::image::ImageRef;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

const ACCOUNT: &str = "arn:aws:ecs:us-east-1:123456789012";

fn release(tag: &str) -> Release {
    Release::from_tag(tag, &ImageRef::parse("web").unwrap()).unwrap()
}

fn body(family: &str, tag: &str) -> Value {
    json!({"family": family, "containerDefinitions": [{"name": "app", "image": format!("web:{tag}")}]})
}

fn rendered(family: &str, tag: &str) -> Rendered {
    Rendered {
        family: family.into(),
        path: PathBuf::from(format!("taskdefs/{family}.json")),
        body: body(family, tag),
        warnings: vec![],
        secrets: vec![],
    }
}

fn live_td(family: &str, revision: i64, tag: &str) -> LiveTaskDef {
    let mut b = body(family, tag);
    b["taskDefinitionArn"] = json!(format!("{ACCOUNT}:task-definition/{family}:{revision}"));
    b["revision"] = json!(revision);
    b["containerDefinitions"][0]["cpu"] = json!(0);
    LiveTaskDef {
        arn: format!("{ACCOUNT}:task-definition/{family}:{revision}"),
        family: family.into(),
        revision,
        status: "ACTIVE".into(),
        registered_at: None,
        body: b,
    }
}

fn target(rule: &str, id: &str, td: &str) -> LiveTarget {
    LiveTarget {
        at: Trigger::rule_target("default", rule, id),
        task_definition: TaskDefRef::parse(&format!("{ACCOUNT}:task-definition/{td}")),
        raw: json!({"Id": id}),
    }
}

fn live(families: Vec<LiveTaskDef>, targets: Vec<LiveTarget>) -> LiveState {
    LiveState {
        cluster_arn: format!("{ACCOUNT}:cluster/batch"),
        families: families
            .into_iter()
            .map(|f| (f.family.clone(), Some(f)))
            .collect::<BTreeMap<_, _>>(),
        targets,
        skipped: vec![],
        ..LiveState::default()
    }
}

#[test]
fn new_tag_registers_and_repoints() {
    let state = live(
        vec![live_td("web", 4, "v1")],
        vec![
            target("nightly", "t1", "web:4"),
            target("hourly", "t1", "web:3"),
        ],
    );
    let plan = Plan::compute(&release("v2"), &[rendered("web", "v2")], &state);
    assert_eq!(plan.families[0].change, FamilyChange::Register);
    let diff = plan.families[0].diff.as_deref().unwrap();
    assert!(
        diff.contains("-") && diff.contains("web:v1") && diff.contains("web:v2"),
        "{diff}"
    );
    assert!(diff.contains("web:4 (live)"), "{diff}");
    assert!(
        plan.targets
            .iter()
            .all(|t| t.action == TargetAction::Repoint)
    );
    assert!(plan.targets.iter().all(|t| t.to
        == Destination::New {
            expected_revision: Some(5)
        }));
    assert!(plan.has_changes());
    assert_eq!(plan.summary.targets_to_repoint, 2);
}

#[test]
fn same_tag_is_no_change_despite_ecs_defaults() {
    let state = live(
        vec![live_td("web", 4, "v1")],
        vec![target("nightly", "t1", "web:4")],
    );
    let plan = Plan::compute(&release("v1"), &[rendered("web", "v1")], &state);
    assert_eq!(plan.families[0].change, FamilyChange::Unchanged);
    assert!(plan.families[0].diff.is_none());
    assert_eq!(plan.targets[0].action, TargetAction::Keep);
    assert!(!plan.has_changes());
    assert!(plan.summary_line().starts_with("No changes"));
}

#[test]
fn stale_target_moves_to_existing_revision() {
    let state = live(
        vec![live_td("web", 4, "v1")],
        vec![target("nightly", "t1", "web:2")],
    );
    let plan = Plan::compute(&release("v1"), &[rendered("web", "v1")], &state);
    assert_eq!(plan.targets[0].action, TargetAction::Repoint);
    assert_eq!(
        plan.targets[0].to,
        Destination::Existing {
            arn: format!("{ACCOUNT}:task-definition/web:4"),
            revision: 4
        }
    );
}

#[test]
fn floating_target_is_pinned() {
    let state = live(
        vec![live_td("web", 4, "v1")],
        vec![target("nightly", "t1", "web")],
    );
    let plan = Plan::compute(&release("v1"), &[rendered("web", "v1")], &state);
    assert_eq!(plan.targets[0].action, TargetAction::Pin);
    assert!(plan.has_changes());
}

#[test]
fn new_family_is_registered() {
    let state = live(vec![], vec![]);
    let plan = Plan::compute(&release("v1"), &[rendered("report", "v1")], &state);
    assert_eq!(plan.families[0].change, FamilyChange::Register);
    assert!(
        plan.families[0]
            .diff
            .as_deref()
            .unwrap()
            .contains("not registered yet")
    );
    assert_eq!(plan.summary.families_to_register, 1);
}

#[test]
fn only_changed_families_register() {
    let state = live(
        vec![live_td("web", 4, "v1"), live_td("report", 9, "v2")],
        vec![target("a", "t", "web:4"), target("b", "t", "report:9")],
    );
    let plan = Plan::compute(
        &release("v2"),
        &[rendered("report", "v2"), rendered("web", "v2")],
        &state,
    );
    let by = |f: &str| plan.families.iter().find(|p| p.family == f).unwrap().change;
    assert_eq!(by("report"), FamilyChange::Unchanged);
    assert_eq!(by("web"), FamilyChange::Register);
    assert_eq!(plan.summary.targets_to_repoint, 1);
    assert_eq!(plan.summary.targets_unchanged, 1);
}

fn released(mut td: LiveTaskDef, id: &str) -> LiveTaskDef {
    td.body["tags"] = json!([{"key": TAG_RELEASE, "value": id}]);
    td
}

#[test]
fn a_template_change_at_a_released_tag_is_a_release_of_its_own() {
    let state = live(
        vec![
            released(live_td("web", 4, "v2"), "v2+2"),
            released(live_td("report", 9, "v2"), "v2"),
        ],
        vec![target("a", "t", "web:4")],
    );
    let mut changed = rendered("web", "v2");
    changed.body["containerDefinitions"][0]["command"] = json!(["run"]);
    let plan = Plan::compute(&release("v2"), &[changed, rendered("report", "v2")], &state);
    assert_eq!(plan.release.id, "v2+3");
    assert_eq!(plan.release.tag, "v2");
    assert!(
        plan.summary_line().contains("release v2+3"),
        "{}",
        plan.summary_line()
    );
    // Nothing to register: the release is the newest of the tag, as it is.
    let plan = Plan::compute(
        &release("v2"),
        &[rendered("web", "v2"), rendered("report", "v2")],
        &state,
    );
    assert_eq!(plan.release.id, "v2+2");
    // A new tag starts again at its own name.
    let plan = Plan::compute(&release("v3"), &[rendered("web", "v3")], &state);
    assert_eq!(plan.release.id, "v3");
    assert!(plan.adopt.is_empty(), "jobdeploy released here before");
}

#[test]
fn first_deploy_adopts_what_the_targets_run() {
    let state = live(
        vec![live_td("web", 4, "v1"), live_td("report", 2, "v1")],
        vec![
            target("a", "t", "web:3"),
            target("b", "t", "web:3"),
            target("c", "t", "report"),
        ],
    );
    let both = [rendered("web", "v2"), rendered("report", "v2")];
    let plan = Plan::compute(&release("v2"), &both, &state);
    let adopted: Vec<(&str, i64)> = plan
        .adopt
        .iter()
        .map(|(f, r)| (f.as_str(), r.revision))
        .collect();
    assert_eq!(adopted, [("report", 2), ("web", 3)], "floating: the newest");
    assert!(plan.adopt_refused.is_none());

    let mixed = live(
        vec![live_td("web", 4, "v1")],
        vec![target("a", "t", "web:3"), target("b", "t", "web:4")],
    );
    let plan = Plan::compute(&release("v2"), &[rendered("web", "v2")], &mixed);
    assert!(plan.adopt.is_empty());
    let why = plan.adopt_refused.unwrap_or_default();
    assert!(why.contains("web:3, web:4"), "{why}");

    // A first deploy that failed after tagging part of it: the next one completes it.
    let half = live(
        vec![
            released(live_td("web", 3, "v1"), ADOPTED),
            live_td("report", 2, "v1"),
        ],
        vec![target("a", "t", "web:3"), target("c", "t", "report:2")],
    );
    let plan = Plan::compute(&release("v2"), &both, &half);
    assert_eq!(plan.adopt.len(), 2);
    assert_eq!(plan.release.id, "v2");

    // Nothing to change: nothing to adopt either.
    let plan = Plan::compute(
        &release("v1"),
        &[rendered("web", "v1")],
        &live(
            vec![live_td("web", 4, "v1")],
            vec![target("a", "t", "web:4")],
        ),
    );
    assert!(plan.adopt.is_empty() && !plan.has_changes());
}

#[test]
fn a_disabled_rule_says_so_in_the_plan() {
    let mut state = live(
        vec![live_td("web", 4, "v1")],
        vec![target("a", "t", "web:4"), target("b", "t", "web:4")],
    );
    state.states.insert(
        Owner::Rule {
            event_bus: "default".into(),
            rule: "b".into(),
        },
        "DISABLED".into(),
    );
    let plan = Plan::compute(&release("v2"), &[rendered("web", "v2")], &state);
    let states: Vec<Option<&str>> = plan.targets.iter().map(|t| t.state.as_deref()).collect();
    assert_eq!(states, [None, Some("DISABLED")]);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["targets"][1]["state"], "DISABLED");
}

/// verify asks whether each target's role may run the revision the target runs after the
/// deploy: the one the deploy registers (by its expected number), or the existing one.
#[test]
fn a_target_runs_the_registered_or_the_existing_revision_after_the_deploy() {
    let state = live(
        vec![live_td("web", 4, "v1")],
        vec![target("nightly", "t1", "web:3")],
    );
    let registers = Plan::compute(&release("v2"), &[rendered("web", "v2")], &state);
    assert_eq!(
        registers.targets[0].revision_arn().as_deref(),
        Some(format!("{ACCOUNT}:task-definition/web:5").as_str())
    );
    let keeps = Plan::compute(&release("v1"), &[rendered("web", "v1")], &state);
    assert_eq!(
        keeps.targets[0].revision_arn().as_deref(),
        Some(format!("{ACCOUNT}:task-definition/web:4").as_str())
    );
}

#[test]
fn a_family_whose_containers_changed_only_images_and_environment_values_says_so() {
    let with_env = |tag: &str| {
        let mut r = rendered("web", tag);
        r.body["containerDefinitions"][0]["environment"] =
            json!([{"name": "RELEASE", "value": tag}, {"name": "MODE", "value": "batch"}]);
        r
    };
    let mut was = live_td("web", 3, "v1");
    was.body["containerDefinitions"][0]["environment"] =
        with_env("v1").body["containerDefinitions"][0]["environment"].clone();
    assert!(same_shape(&with_env("v2"), Some(&was)));
    let mut more = with_env("v2");
    more.body["containerDefinitions"][0]["memory"] = json!(512);
    assert!(!same_shape(&more, Some(&was)), "a memory change too");
    let mut added = with_env("v2");
    if let Some(env) = added.body["containerDefinitions"][0]["environment"].as_array_mut() {
        env.push(json!({"name": "NEW", "value": "1"}));
    }
    assert!(!same_shape(&added, Some(&was)), "a variable added");
    let mut renamed = with_env("v2");
    renamed.body["containerDefinitions"][0]["name"] = json!("main");
    assert!(!same_shape(&renamed, Some(&was)), "a container renamed");
    assert!(!same_shape(&with_env("v2"), None), "nothing live");
    let mut secret = with_env("v2");
    secret.body["containerDefinitions"][0]["secrets"] = json!([{"name": "DB", "valueFrom": "/db"}]);
    assert!(!same_shape(&secret, Some(&was)), "a secret added");
    let mut task_level = with_env("v2");
    task_level.body["cpu"] = json!("1024");
    assert!(!same_shape(&task_level, Some(&was)), "a task-level change");
    let mut sidecar = with_env("v2");
    if let Some(containers) = sidecar.body["containerDefinitions"].as_array_mut() {
        containers.push(json!({"name": "agent", "image": "agent:1"}));
    }
    assert!(!same_shape(&sidecar, Some(&was)), "a container added");
    let plan = Plan::compute(
        &release("v2"),
        &[rendered("web", "v2")],
        &live(vec![live_td("web", 3, "v1")], vec![]),
    );
    assert!(plan.families[0].same_shape);
}
