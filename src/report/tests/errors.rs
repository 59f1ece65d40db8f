//! How a failure is printed: the message, its hints, and the GitHub Actions annotation.

use insta::assert_snapshot;

use crate::error::{EXIT_FAILURE, EXIT_SPLIT, Error};
use crate::report::errors::error;

/// A write refused and reverted, with two hints; the message has two lines and a `%`.
fn denied() -> Error {
    Error::new(
        "deploy failed, nothing was left half-done:\n  rule nightly (bus default) target report: PutTargets: AccessDeniedException: User arn:aws:iam::123456789012:user/ci is not authorized to perform events:PutTargets (100% of the policy checked)",
    )
    .note("Every target is back on the revision it had before.")
    .hint("fix the cause and run `jobdeploy deploy --tag v1.4.2` again")
    .hint("grant events:PutTargets on the rule: `jobdeploy iam-policy` prints the policy")
}

#[test]
fn an_error_with_hints() {
    let err = denied();
    assert_eq!(err.exit_code(), EXIT_FAILURE);
    assert_snapshot!("denied", error(&err, false));
}

/// In Actions the message is also an annotation, on one line: `%`, CR and LF escaped.
#[test]
fn an_error_in_github_actions() {
    assert_snapshot!("denied_in_actions", error(&denied(), true));
}

#[test]
fn an_error_that_left_targets_split() {
    let err = Error::new(
        "deploy failed, and putting targets back failed too:\n  schedule jobs/web-backfill: UpdateSchedule: ThrottlingException: Rate exceeded",
    )
    .note("Targets this run changed, and where they are now:")
    .note("  rule hourly (bus default) target web: web:3 (put back)")
    .note("  schedule jobs/web-backfill: web:4 as written, or still web (floating) (unknown: putting back failed: ThrottlingException: Rate exceeded)")
    .hint("run `jobdeploy deploy --tag v1.4.2` again: it converges from any mix of old and new")
    .split();
    assert_eq!(err.exit_code(), EXIT_SPLIT);
    assert_snapshot!("split", error(&err, false));
}

#[test]
fn an_error_without_hints() {
    assert_snapshot!(
        "no_hints",
        error(
            &Error::new("unknown key `clustr`").context("jobdeploy.toml"),
            false
        )
    );
}
