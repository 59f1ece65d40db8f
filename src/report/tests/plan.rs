//! The plan in every form: a first deploy (adopting what runs now), a deploy with nothing to
//! repoint and adoption refused, and a rollback.

use insta::assert_snapshot;
use serde_json::Value;

use super::*;
use crate::plan::{
    Destination, FamilyChange, FamilyPlan, Plan, PlanKind, TargetAction, TargetPlan,
};
use crate::secrets::Masker;

fn masker() -> Masker {
    Masker::new(vec![SECRET.into()])
}

fn family(name: &str, live: Option<i64>, change: FamilyChange, diff: Option<&str>) -> FamilyPlan {
    FamilyPlan {
        family: name.into(),
        file: format!("taskdefs/{name}.json"),
        live: live.map(|n| revision(name, n)),
        change,
        diff: diff.map(str::to_string),
        body: Value::Null,
        same_shape: false,
    }
}

/// A target running `from` (a revision, or the family alone: floating), to go to `to`.
fn target(
    at: Trigger,
    from: &str,
    to: Destination,
    action: TargetAction,
    state: Option<&str>,
) -> TargetPlan {
    let from = TaskDefRef::parse(&format!("{ACCOUNT}:task-definition/{from}"));
    TargetPlan {
        at,
        family: from.family.clone(),
        from,
        to,
        action,
        state: state.map(str::to_string),
        raw: Value::Null,
    }
}

fn existing(family: &str, n: i64) -> Destination {
    Destination::Existing {
        arn: arn(family, n),
        revision: n,
    }
}

const WEB_DIFF: &str = r#"--- web:3 (live)
+++ taskdefs/web.json (rendered)
@@ -5,11 +5,11 @@
       "environment": [
         {
           "name": "API_TOKEN",
-          "value": "old-token-value"
+          "value": "s3cr3t-token"
         }
       ],
-      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/batch:v1.4.1",
+      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/batch:v1.4.2",
       "name": "web"
     }
   ],
"#;

const EXPORT_DIFF: &str = r#"--- export (not registered yet)
+++ taskdefs/export.json (rendered)
@@ -0,0 +1,4 @@
+{
+  "cpu": "256",
+  "family": "export"
+}
"#;

/// The first deploy of `v1.4.2`: `web` changed, `report` unchanged, `export` new; a rule
/// target repointed, one kept, a disabled one repointed, a floating schedule pinned, and a
/// schedule whose family has no revision yet.
pub fn first_deploy() -> Plan {
    let families = vec![
        family("export", None, FamilyChange::Register, Some(EXPORT_DIFF)),
        family("report", Some(5), FamilyChange::Unchanged, None),
        family("web", Some(3), FamilyChange::Register, Some(WEB_DIFF)),
    ];
    let web_new = || Destination::New {
        expected_revision: Some(4),
    };
    let targets = vec![
        target(
            hourly(),
            "web:3",
            web_new(),
            TargetAction::Repoint,
            Some("ENABLED"),
        ),
        target(
            nightly(),
            "report:5",
            existing("report", 5),
            TargetAction::Keep,
            Some("ENABLED"),
        ),
        target(
            cleanup(),
            "report:4",
            existing("report", 5),
            TargetAction::Repoint,
            Some("DISABLED"),
        ),
        target(
            backfill(),
            "web",
            web_new(),
            TargetAction::Pin,
            Some("ENABLED"),
        ),
        target(
            export_daily(),
            "export:2",
            Destination::New {
                expected_revision: None,
            },
            TargetAction::Repoint,
            None,
        ),
    ];
    let mut plan = Plan::assemble(PlanKind::Deploy, &release("v1.4.2"), families, targets);
    plan.adopt = BTreeMap::from([
        ("report".into(), revision("report", 5)),
        ("web".into(), revision("web", 3)),
    ]);
    plan
}

/// A deploy registering `web` with no target of ours, and adoption refused.
fn no_targets() -> Plan {
    let mut release = release("v1.4.2+1");
    release.manifest_commit = None;
    release.digest = None;
    release.origin = "--tag".into();
    let families = vec![family(
        "web",
        Some(3),
        FamilyChange::Register,
        Some(WEB_DIFF),
    )];
    let mut plan = Plan::assemble(PlanKind::Deploy, &release, families, Vec::new());
    plan.adopt_refused = Some(
        "the targets run different revisions of web (web:2, web:3), so what they run now is not one release and cannot be recorded as release `adopted`".into(),
    );
    plan
}

/// Rollback to `v1.4.1`: `web` back to 3, `report` already there, `export` had no revision.
pub fn rollback() -> Plan {
    let mut release = release("v1.4.1");
    release.tag = "v1.4.1".into();
    release.digest = None;
    release.image = ImageRef::parse(&format!("{IMAGE}:v1.4.1")).expect("image");
    release.origin = "history".into();
    let families = vec![
        family("export", None, FamilyChange::Reuse, None),
        family("report", Some(5), FamilyChange::Reuse, None),
        family("web", Some(3), FamilyChange::Reuse, None),
    ];
    let targets = vec![
        target(
            hourly(),
            "web:4",
            existing("web", 3),
            TargetAction::Repoint,
            Some("ENABLED"),
        ),
        target(
            nightly(),
            "report:5",
            existing("report", 5),
            TargetAction::Keep,
            Some("ENABLED"),
        ),
        target(
            backfill(),
            "web:4",
            existing("web", 3),
            TargetAction::Repoint,
            Some("DISABLED"),
        ),
    ];
    Plan::assemble(PlanKind::Rollback, &release, families, targets)
}

#[test]
fn first_deploy_in_every_form() {
    let plan = first_deploy();
    for form in [
        super::plan(&plan, Format::Human, PLAIN, &masker()),
        super::plan(&plan, Format::Json, PLAIN, &masker()),
        super::plan(&plan, Format::Markdown, PLAIN, &masker()),
    ] {
        assert!(!form.contains(SECRET), "a secret unmasked:\n{form}");
        assert!(!form.contains('\x1b'), "colour without a terminal:\n{form}");
    }
    assert_snapshot!("first_deploy_human", plan_human(&plan, PLAIN, &masker()));
    assert_snapshot!("first_deploy_json", plan_json(&plan, &masker()));
    assert_snapshot!("first_deploy_markdown", plan_markdown(&plan, &masker()));
}

#[test]
fn first_deploy_in_colour() {
    assert_snapshot!(
        "first_deploy_human_colour",
        visible(&plan_human(&first_deploy(), COLOR, &masker()))
    );
}

#[test]
fn no_targets_and_adoption_refused_in_every_form() {
    let plan = no_targets();
    assert_snapshot!("no_targets_human", plan_human(&plan, PLAIN, &masker()));
    assert_snapshot!("no_targets_json", plan_json(&plan, &masker()));
    assert_snapshot!("no_targets_markdown", plan_markdown(&plan, &masker()));
}

#[test]
fn rollback_in_every_form() {
    let plan = rollback();
    assert_snapshot!("rollback_human", plan_human(&plan, PLAIN, &masker()));
    assert_snapshot!("rollback_json", plan_json(&plan, &masker()));
    assert_snapshot!("rollback_markdown", plan_markdown(&plan, &masker()));
}

/// The summary line of a plan that changes nothing, deploy and rollback.
#[test]
fn plans_without_changes_say_so() {
    let mut deploy = first_deploy();
    deploy.families.retain(|f| f.family == "report");
    deploy.targets.retain(|t| t.action == TargetAction::Keep);
    let deploy = Plan::assemble(
        PlanKind::Deploy,
        &deploy.release,
        deploy.families,
        deploy.targets,
    );
    let mut back = rollback();
    back.targets.retain(|t| t.action == TargetAction::Keep);
    let back = Plan::assemble(
        PlanKind::Rollback,
        &back.release,
        back.families,
        back.targets,
    );
    assert_snapshot!(
        "no_changes",
        format!("{}\n{}", deploy.summary_line(), back.summary_line())
    );
    assert_snapshot!("no_changes_human", plan_human(&deploy, PLAIN, &masker()));
}
