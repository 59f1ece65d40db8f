//! Snapshot tests of every report form (human, JSON, markdown) of every command, from fixed,
//! representative values: several families, changed, unchanged and new ones, rule targets
//! and schedules, drift of each kind, prune reasons of each kind, an error with hints. The
//! snapshots are in `snapshots/`; a changed output fails `cargo test` until it is reviewed
//! (`cargo insta review`) and the `.snap` file committed with the change.

mod errors;
mod outcome;
mod plan;
mod releases;
mod runs;

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::history::{ReleaseInfo, Slot};
use crate::image::ImageRef;
use crate::manifest::Release;
use crate::plan::Revision;

/// no-color.org: only a non-empty NO_COLOR turns colour off.
#[test]
fn an_empty_no_color_keeps_colour_a_set_one_turns_it_off() {
    assert!(no_color_unset(None));
    assert!(no_color_unset(Some("".into())));
    assert!(!no_color_unset(Some("1".into())));
    assert!(!Style { color: false }.paint("1", "x").contains('\x1b'));
}

pub const PLAIN: Style = Style { color: false };
pub const COLOR: Style = Style { color: true };

/// A coloured report with its escape character spelled `\e`, so the snapshot is readable.
pub fn visible(text: &str) -> String {
    assert!(text.contains('\x1b'), "no colour in:\n{text}");
    text.replace('\x1b', "\\e")
}

pub const ACCOUNT: &str = "arn:aws:ecs:eu-west-1:123456789012";
pub const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/batch";
pub const DIGEST: &str = "sha256:4f2a9c0de1b7a6e5f4d3c2b1a0918273645546372819abcdef0123456789abcd";
pub const MANIFEST_COMMIT: &str = "3c9d2e1f0a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
pub const SOURCE_COMMIT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
/// A secret value in a rendered template: masked in every form.
pub const SECRET: &str = "s3cr3t-token";

pub fn arn(family: &str, revision: i64) -> String {
    format!("{ACCOUNT}:task-definition/{family}:{revision}")
}

pub fn revision(family: &str, revision: i64) -> Revision {
    Revision {
        arn: arn(family, revision),
        revision,
    }
}

// The triggers of the fixtures: three rule targets on two buses, and two schedules.

/// `default/hourly target web`.
pub fn hourly() -> Trigger {
    Trigger::rule_target("default", "hourly", "web")
}

pub fn nightly() -> Trigger {
    Trigger::rule_target("default", "nightly", "report")
}

pub fn cleanup() -> Trigger {
    Trigger::rule_target("ops", "cleanup", "report-weekly")
}

pub fn backfill() -> Trigger {
    Trigger::schedule("jobs", "web-backfill")
}

pub fn export_daily() -> Trigger {
    Trigger::schedule("jobs", "export-daily")
}

/// Release `v1.4.2` from the manifest repo: an ECR image whose digest ECR reported.
pub fn release(id: &str) -> Release {
    Release {
        id: id.into(),
        tag: "v1.4.2".into(),
        digest: Some(DIGEST.into()),
        image: ImageRef::parse(&format!("{IMAGE}:v1.4.2")).expect("image"),
        manifest_commit: Some(MANIFEST_COMMIT.into()),
        origin: "git@github.com:acme/k8s.git@main:apps/batch/kustomization.yaml".into(),
    }
}

/// `v1.4.2` (live: `export:1` and `web:4` new), `v1.4.1`, and the adopted release, which has
/// no time, no commits, a deregistered revision and one not read.
pub fn releases() -> Vec<ReleaseInfo> {
    let active = |family: &str, n: i64| Slot::Revision {
        revision: n,
        arn: arn(family, n),
        status: "ACTIVE".into(),
    };
    vec![
        ReleaseInfo {
            id: "v1.4.2".into(),
            tag: "v1.4.2".into(),
            digest: Some(DIGEST.into()),
            time: 1_795_948_500.0,
            time_text: Some("2026-11-29T10:35:00Z".into()),
            manifest_commit: Some(MANIFEST_COMMIT.into()),
            source_commit: Some(SOURCE_COMMIT.into()),
            registered: BTreeSet::from(["export".into(), "web".into()]),
            revisions: BTreeMap::from([
                ("export".into(), active("export", 1)),
                ("report".into(), active("report", 5)),
                ("web".into(), active("web", 4)),
            ]),
        },
        ReleaseInfo {
            id: "v1.4.1".into(),
            tag: "v1.4.1".into(),
            digest: None,
            time: 1_795_600_000.0,
            time_text: Some("2026-11-25T09:46:40Z".into()),
            manifest_commit: Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into()),
            source_commit: None,
            registered: BTreeSet::from(["report".into(), "web".into()]),
            revisions: BTreeMap::from([
                ("export".into(), Slot::Absent),
                ("report".into(), active("report", 5)),
                ("web".into(), active("web", 3)),
            ]),
        },
        ReleaseInfo {
            id: crate::model::ADOPTED.into(),
            tag: crate::model::ADOPTED.into(),
            digest: None,
            time: 0.0,
            time_text: None,
            manifest_commit: None,
            source_commit: None,
            registered: BTreeSet::new(),
            revisions: BTreeMap::from([
                ("export".into(), Slot::Absent),
                (
                    "report".into(),
                    Slot::Revision {
                        revision: 4,
                        arn: arn("report", 4),
                        status: "INACTIVE".into(),
                    },
                ),
                ("web".into(), Slot::Unknown),
            ]),
        },
    ]
}
