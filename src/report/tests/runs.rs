//! `jobdeploy runs` in every form.

use insta::assert_snapshot;

use super::{COLOR, PLAIN, visible};
use crate::report::Format;
use crate::report::runs::runs;
use crate::runs::RunsReport;
use crate::runs::tests_support::{observed, window};

#[test]
fn runs_human() {
    let report = RunsReport::compute(&observed(), window());
    assert_snapshot!(runs(&report, Format::Human, PLAIN));
}

#[test]
fn runs_human_colours_failures() {
    let report = RunsReport::compute(&observed(), window());
    assert_snapshot!(visible(&runs(&report, Format::Human, COLOR)));
}

#[test]
fn runs_json() {
    let report = RunsReport::compute(&observed(), window());
    assert_snapshot!(runs(&report, Format::Json, PLAIN));
}

#[test]
fn runs_markdown() {
    let report = RunsReport::compute(&observed(), window());
    assert_snapshot!(runs(&report, Format::Markdown, PLAIN));
}
