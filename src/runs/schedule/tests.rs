//! Expressions from AWS's documentation, evaluated at a fixed "now".
//!
//! Cron examples and wildcards:
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html>;
//! rate(), at(), time zones, StartDate/EndDate and daylight saving:
//! <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>.

use super::*;

fn t(text: &str) -> i64 {
    text.parse::<Timestamp>().expect(text).as_second()
}

/// Friday 2026-03-06 12:34:56 UTC.
const NOW: &str = "2026-03-06T12:34:56Z";

fn next(expression: &str, zone: Option<&str>, now: &str) -> Next {
    let timing = Timing {
        expression,
        zone,
        ..Timing::default()
    };
    next_firing(&timing, t(now)).expect(expression)
}

#[test]
fn cron_examples_from_aws_docs_fire_when_aws_says() {
    let table = [
        // Every day at 10:00 / 12:15 UTC.
        ("cron(0 10 * * ? *)", "2026-03-07T10:00:00Z"),
        ("cron(15 12 * * ? *)", "2026-03-07T12:15:00Z"),
        // 6 pm Monday to Friday: today is Friday.
        ("cron(0 18 ? * MON-FRI *)", "2026-03-06T18:00:00Z"),
        // 8 am on the first day of each month.
        ("cron(0 8 1 * ? *)", "2026-04-01T08:00:00Z"),
        // Every 15 minutes; every 10 minutes Mon-Fri; every 5 minutes 8-17 Mon-Fri.
        ("cron(0/15 * * * ? *)", "2026-03-06T12:45:00Z"),
        ("cron(0/10 * ? * MON-FRI *)", "2026-03-06T12:40:00Z"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "2026-03-06T12:35:00Z"),
        // 1/10: the 11th, 21st, 31st… minute.
        ("cron(1/10 * * * ? *)", "2026-03-06T12:41:00Z"),
        // 9 am on the first Monday of the month (2 = MON): March's was the 2nd.
        ("cron(0 9 ? * 2#1 *)", "2026-04-06T09:00:00Z"),
        // 3#2: the second Tuesday.
        ("cron(0 12 ? * 3#2 *)", "2026-03-10T12:00:00Z"),
        // 3W: the weekday nearest the 3rd (April 3rd 2026 is a Friday).
        ("cron(0 9 3W * ? *)", "2026-04-03T09:00:00Z"),
        // L: the last day of the month; 6L: the last Friday; L alone in day-of-week: SAT.
        ("cron(0 23 L * ? *)", "2026-03-31T23:00:00Z"),
        ("cron(15 10 ? * 6L *)", "2026-03-27T10:15:00Z"),
        ("cron(0 0 ? * L *)", "2026-03-07T00:00:00Z"),
        // Names, lists and the year field.
        ("cron(0 12 ? JAN,FEB,MAR SUN *)", "2026-03-08T12:00:00Z"),
        ("cron(0 12 ? jan-mar 1 *)", "2026-03-08T12:00:00Z"),
        ("cron(0 0 1 1 ? 2027)", "2027-01-01T00:00:00Z"),
        ("cron(0 0 1 1 ? 2026-2030/2)", "2028-01-01T00:00:00Z"),
    ];
    for (expression, want) in table {
        assert_eq!(
            next(expression, None, NOW),
            Next::At(t(want)),
            "{expression}"
        );
    }
}

#[test]
fn nearest_weekday_and_last_weekday_stay_in_the_month() {
    // 1 August 2026 is a Saturday: 1W is Monday the 3rd, not Friday 31 July.
    assert_eq!(
        next("cron(0 9 1W * ? *)", None, "2026-07-15T00:00:00Z"),
        Next::At(t("2026-08-03T09:00:00Z"))
    );
    // 31 May 2026 is a Sunday: LW is Friday the 29th.
    assert_eq!(
        next("cron(0 9 LW * ? *)", None, "2026-05-10T00:00:00Z"),
        Next::At(t("2026-05-29T09:00:00Z"))
    );
}

#[test]
fn a_cron_whose_years_have_passed_never_fires_again() {
    assert_eq!(next("cron(0 0 1 1 ? 2025)", None, NOW), Next::Never);
}

#[test]
fn schedules_evaluate_cron_in_their_time_zone_across_daylight_saving() {
    // New York springs forward on 8 March 2026 at 02:00: 02:30 does not exist that day,
    // so Scheduler skips it; the next is 9 March 02:30 EDT.
    assert_eq!(
        next(
            "cron(30 2 * * ? *)",
            Some("America/New_York"),
            "2026-03-07T12:00:00Z"
        ),
        Next::At(t("2026-03-09T06:30:00Z"))
    );
    // 09:00 local is 14:00 UTC before the change and 13:00 UTC after it.
    assert_eq!(
        next(
            "cron(0 9 * * ? *)",
            Some("America/New_York"),
            "2026-03-07T00:00:00Z"
        ),
        Next::At(t("2026-03-07T14:00:00Z"))
    );
    assert_eq!(
        next(
            "cron(0 9 * * ? *)",
            Some("America/New_York"),
            "2026-03-08T00:00:00Z"
        ),
        Next::At(t("2026-03-08T13:00:00Z"))
    );
    // Falling back on 1 November 2026, 01:30 happens twice; Scheduler runs it once (the
    // first, 05:30 UTC): after it, the next is 2 November.
    assert_eq!(
        next(
            "cron(30 1 * * ? *)",
            Some("America/New_York"),
            "2026-11-01T05:00:00Z"
        ),
        Next::At(t("2026-11-01T05:30:00Z"))
    );
    assert_eq!(
        next(
            "cron(30 1 * * ? *)",
            Some("America/New_York"),
            "2026-11-01T05:31:00Z"
        ),
        Next::At(t("2026-11-02T06:30:00Z"))
    );
    // Berlin springs forward on 29 March 2026.
    assert_eq!(
        next(
            "cron(0 8 * * ? *)",
            Some("Europe/Berlin"),
            "2026-03-29T00:00:00Z"
        ),
        Next::At(t("2026-03-29T06:00:00Z"))
    );
}

#[test]
fn at_fires_once_in_its_zone_and_never_when_past() {
    assert_eq!(
        next("at(2026-03-07T09:00:00)", None, NOW),
        Next::At(t("2026-03-07T09:00:00Z"))
    );
    assert_eq!(
        next("at(2026-03-07T09:00:00)", Some("Asia/Tokyo"), NOW),
        Next::At(t("2026-03-07T00:00:00Z"))
    );
    assert_eq!(next("at(2026-03-01T09:00:00)", None, NOW), Next::Never);
}

#[test]
fn rate_is_exact_from_its_start_date_and_within_a_period_without_one() {
    assert_eq!(
        next("rate(5 minutes)", None, NOW),
        Next::Within(t(NOW) + 300)
    );
    assert_eq!(next("rate(1 hour)", None, NOW), Next::Within(t(NOW) + 3600));
    let timing = |start: &str| Timing {
        expression: "rate(5 minutes)",
        zone: None,
        start: Some(t(start)),
        end: None,
    };
    assert_eq!(
        next_firing(&timing("2026-03-06T12:00:00Z"), t(NOW)),
        Ok(Next::At(t("2026-03-06T12:35:00Z")))
    );
    assert_eq!(
        next_firing(&timing("2026-04-01T00:00:00Z"), t(NOW)),
        Ok(Next::At(t("2026-04-01T00:00:00Z")))
    );
}

#[test]
fn start_and_end_dates_bound_the_firings() {
    let timing = Timing {
        expression: "cron(0 10 * * ? *)",
        zone: None,
        start: Some(t("2026-04-01T00:00:00Z")),
        end: None,
    };
    assert_eq!(
        next_firing(&timing, t(NOW)),
        Ok(Next::At(t("2026-04-01T10:00:00Z")))
    );
    let ended = Timing {
        end: Some(t("2026-03-07T09:00:00Z")),
        start: None,
        ..timing
    };
    assert_eq!(next_firing(&ended, t(NOW)), Ok(Next::Never));
}

#[test]
fn expressions_aws_refuses_are_errors_naming_the_field() {
    for (expression, says) in [
        ("cron(0 10 * * *)", "six fields"),
        ("cron(0 10 * * MON *)", "must be `?`"),
        ("cron(0 10 ? * ? *)", "not both"),
        ("cron(0 10 ? * 3#1,6#3 *)", "one expression"),
        ("cron(61 10 * * ? *)", "bad minutes"),
        ("cron(0 10 ? * 8 *)", "bad day-of-week"),
        ("cron(0 10 32 * ? *)", "bad day-of-month"),
        ("cron(0 10 * FOO ? *)", "bad month"),
        ("cron(0 10 * * ? 2200)", "bad year"),
        ("rate(0 minutes)", "positive number"),
        ("rate(5 weeks)", "positive number"),
        ("at(2026-03-07)", "yyyy-mm-ddThh:mm:ss"),
        ("every day", "not a schedule expression"),
    ] {
        let err = parse(expression).expect_err(expression);
        assert!(err.contains(says), "{expression}: {err}");
    }
    assert_eq!(
        zone(Some("Mars/Olympus")).unwrap_err(),
        "unknown time zone `Mars/Olympus`"
    );
}

#[test]
fn local_time_names_the_zone_abbreviation() {
    assert_eq!(
        local_time(t("2026-03-09T06:30:00Z"), "America/New_York").as_deref(),
        Some("2026-03-09 02:30 EDT")
    );
}

/// Review of issue 25: a step or a rate as large as AWS data may carry overflowed (a panic
/// in a debug build, a wrapped index in release). Now a step past the field's end stops the
/// walk, and a firing past what i64 seconds hold never comes.
#[test]
fn huge_steps_and_rates_do_not_overflow() {
    assert!(matches!(
        next(
            "cron(0 10 * * ? 2100/2147483647)",
            None,
            "2026-03-07T00:00:00Z"
        ),
        Next::At(_)
    ));
    assert_eq!(
        next("rate(106751991167300 days)", None, "2026-03-07T00:00:00Z"),
        Next::Never
    );
}

/// Review of issue 25: a rate of unknown phase whose next "by" time fell past EndDate was
/// "never", though it may still fire before EndDate; now it fires by EndDate while that is
/// to come, and never after.
#[test]
fn a_rate_near_its_end_date_fires_by_the_end_date() {
    let timing = |end: &str| Timing {
        expression: "rate(1 day)",
        end: Some(t(end)),
        ..Timing::default()
    };
    let now = t("2026-03-06T12:00:00Z");
    assert_eq!(
        next_firing(&timing("2026-03-06T18:00:00Z"), now),
        Ok(Next::Within(t("2026-03-06T18:00:00Z")))
    );
    assert_eq!(
        next_firing(&timing("2026-03-06T11:00:00Z"), now),
        Ok(Next::Never)
    );
}
