//! When a rule or schedule fires next: AWS's schedule expressions, evaluated purely.
//!
//! The dialect is AWS's, not Unix cron's, and no maintained crate parses it exactly (the
//! `cron` and `croner` crates take seconds or five fields, number the days of the week from
//! 0, and know neither `?` nor the year field), so it is parsed here:
//!
//! - `cron(minutes hours day-of-month month day-of-week year)`: six fields; `, - * /` in
//!   each, `?` `L` `W` in day-of-month, `?` `L` `#` in day-of-week, month names JAN-DEC,
//!   day names SUN-SAT with 1 = SUN … 7 = SAT, years 1970-2199; one of the two day fields
//!   must be `?`
//!   (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html>);
//! - `rate(value unit)`, unit minute(s), hour(s) or day(s) (a day is 24 hours, also across a
//!   daylight-saving change);
//! - `at(yyyy-mm-ddThh:mm:ss)`, Scheduler's one-time schedule.
//!
//! Scheduler evaluates cron and at() in the schedule's `ScheduleExpressionTimezone` (UTC
//! when absent; rules are always UTC): a firing that falls into the hour skipped when
//! clocks go forward is skipped, and one in the hour repeated when they go back runs once
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>,
//! "Daylight saving time on EventBridge Scheduler"). `StartDate` and `EndDate` bound the
//! firings; a rate's first firing is its `StartDate`, and without one (and for rules, which
//! keep no start) the rate's phase is unknown: the next firing is then known only to be
//! within one period.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// `rate(…)`: the period in seconds.
    Rate(i64),
    Cron(Box<Cron>),
    /// `at(…)`: a wall-clock time in the schedule's zone.
    At(DateTime),
}

/// When the trigger fires next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Exactly then (Unix seconds).
    At(i64),
    /// A rate whose phase is unknown: some time up to then.
    Within(i64),
    /// It will not fire again (a past `at()`, past its `EndDate`, or no match before 2199).
    Never,
}

/// What decides a trigger's firings, as AWS holds them.
#[derive(Debug, Clone, Default)]
pub struct Timing<'a> {
    pub expression: &'a str,
    /// Scheduler's `ScheduleExpressionTimezone`; `None` is UTC.
    pub zone: Option<&'a str>,
    /// Scheduler's `StartDate` and `EndDate` (Unix seconds).
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// The time zone of `name` (IANA), from the tz database jiff bundles, so the answer does not
/// depend on the machine's zoneinfo.
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None | Some("") | Some("UTC") | Some("Etc/UTC") => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|_| format!("unknown time zone `{name}`")),
    }
}

/// The next firing strictly after `now` (Unix seconds).
pub fn next_firing(timing: &Timing<'_>, now: i64) -> Result<Next, String> {
    let expression = parse(timing.expression)?;
    let tz = zone(timing.zone)?;
    let next = match &expression {
        Expression::At(local) => match earliest(&tz, *local) {
            Some(at) if at > now && timing.start.is_none_or(|s| at >= s) => Next::At(at),
            _ => Next::Never,
        },
        // Times past what i64 seconds hold (a rate of billions of days) never come.
        Expression::Rate(period) => match timing.start {
            Some(start) if start > now => Next::At(start),
            Some(start) => ((now - start) / period + 1)
                .checked_mul(*period)
                .and_then(|d| start.checked_add(d))
                .map_or(Next::Never, Next::At),
            None => now.checked_add(*period).map_or(Next::Never, Next::Within),
        },
        Expression::Cron(cron) => {
            // The first firing at or after StartDate: search from just before it.
            let after = match timing.start {
                Some(start) if start > now => start - 1,
                _ => now,
            };
            cron.next_after(&tz, after).map_or(Next::Never, Next::At)
        }
    };
    Ok(match (next, timing.end) {
        (Next::At(t), Some(end)) if t > end => Next::Never,
        // A rate whose phase is unknown fires within a period: by EndDate, if it is still to
        // come, else no more.
        (Next::Within(t), Some(end)) if t > end => {
            if now < end {
                Next::Within(end)
            } else {
                Next::Never
            }
        }
        _ => next,
    })
}

/// `2026-03-08 03:00 EDT`: a time as the schedule's zone shows it.
pub fn local_time(at: i64, zone_name: &str) -> Option<String> {
    let tz = zone(Some(zone_name)).ok()?;
    let zoned = Timestamp::from_second(at).ok()?.to_zoned_datetime(tz);
    Some(zoned.strftime("%Y-%m-%d %H:%M %Z").to_string())
}

/// The instant of a wall-clock time in `tz`: `None` inside a gap (skipped when clocks go
/// forward), the earlier of the two in a fold (Scheduler runs it once).
fn earliest(tz: &TimeZone, local: DateTime) -> Option<i64> {
    let ambiguous = tz.to_ambiguous_timestamp(local);
    if let AmbiguousOffset::Gap { .. } = ambiguous.offset() {
        return None;
    }
    ambiguous.earlier().ok().map(Timestamp::as_second)
}

pub fn parse(expression: &str) -> Result<Expression, String> {
    let text = expression.trim();
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(body) = inner("rate(") {
        return parse_rate(body).map(Expression::Rate);
    }
    if let Some(body) = inner("cron(") {
        return Cron::parse(body).map(|c| Expression::Cron(Box::new(c)));
    }
    if let Some(body) = inner("at(") {
        return body
            .parse::<DateTime>()
            .ok()
            .filter(|_| body.len() == 19)
            .map(Expression::At)
            .ok_or_else(|| format!("`{text}`: at() takes yyyy-mm-ddThh:mm:ss"));
    }
    Err(format!(
        "`{text}` is not a schedule expression (rate(…), cron(…) or at(…))"
    ))
}

fn parse_rate(body: &str) -> Result<i64, String> {
    let bad =
        || format!("`rate({body})`: takes a positive number and minute(s), hour(s) or day(s)");
    let mut parts = body.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let value: i64 = value.parse().ok().filter(|v| *v > 0).ok_or_else(bad)?;
    let unit = match unit {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    value.checked_mul(unit).ok_or_else(bad)
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

/// A parsed `cron(…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    months: Vec<bool>,
    years: Vec<bool>,
    days: DayRule,
}

/// Which days match: day-of-month items, or day-of-week items (the other field is `?`).
#[derive(Debug, Clone, PartialEq)]
enum DayRule {
    Month(Vec<MonthDay>),
    Week(Vec<WeekDay>),
}

#[derive(Debug, Clone, PartialEq)]
enum MonthDay {
    /// Days 1-31 (index 1..=31).
    Days(Vec<bool>),
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Mon-Fri) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest day n, within the month.
    NearestWeekday(i8),
}

#[derive(Debug, Clone, PartialEq)]
enum WeekDay {
    /// Days 1 (SUN) to 7 (SAT) (index 1..=7).
    Days(Vec<bool>),
    /// `dL`: the last such day of the month.
    Last(i8),
    /// `d#n`: the n-th such day of the month.
    Nth(i8, i8),
}

impl Cron {
    fn parse(body: &str) -> Result<Self, String> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(format!(
                "`cron({body})`: AWS cron takes six fields (minutes hours day-of-month month day-of-week year), not {}",
                fields.len()
            ));
        };
        let at = |field: &str, what: &str| format!("`cron({body})`: {what} `{field}`");
        let days = match (dom, dow) {
            ("?", "?") => {
                return Err(at(
                    "?",
                    "only one of day-of-month and day-of-week may be `?`, not both:",
                ));
            }
            (dom, "?") => DayRule::Month(
                dom.split(',')
                    .map(month_day)
                    .collect::<Option<_>>()
                    .ok_or_else(|| at(dom, "bad day-of-month"))?,
            ),
            ("?", dow) => {
                if dow.contains('#') && dow.contains(',') {
                    return Err(at(dow, "with `#`, day-of-week takes one expression:"));
                }
                DayRule::Week(
                    dow.split(',')
                        .map(week_day)
                        .collect::<Option<_>>()
                        .ok_or_else(|| at(dow, "bad day-of-week"))?,
                )
            }
            _ => {
                return Err(format!(
                    "`cron({body})`: one of day-of-month (`{dom}`) and day-of-week (`{dow}`) must be `?`"
                ));
            }
        };
        Ok(Self {
            minutes: set(minutes, 0, 59, &[]).ok_or_else(|| at(minutes, "bad minutes"))?,
            hours: set(hours, 0, 23, &[]).ok_or_else(|| at(hours, "bad hours"))?,
            months: set(month, 1, 12, &MONTHS).ok_or_else(|| at(month, "bad month"))?,
            years: set(year, FIRST_YEAR, LAST_YEAR, &[])
                .map(|all| all[FIRST_YEAR as usize..].to_vec())
                .ok_or_else(|| at(year, "bad year"))?,
            days,
        })
    }

    fn year_matches(&self, year: i32) -> bool {
        (FIRST_YEAR..=LAST_YEAR).contains(&year) && self.years[(year - FIRST_YEAR) as usize]
    }

    fn day_matches(&self, date: Date) -> bool {
        let day = date.day();
        let last = date.days_in_month();
        match &self.days {
            DayRule::Month(items) => items.iter().any(|item| match item {
                MonthDay::Days(days) => days[day as usize],
                MonthDay::Last => day == last,
                MonthDay::LastWeekday => day == nearest_weekday(date, last),
                MonthDay::NearestWeekday(n) => *n <= last && day == nearest_weekday(date, *n),
            }),
            DayRule::Week(items) => {
                let weekday = date.weekday().to_sunday_one_offset();
                items.iter().any(|item| match item {
                    WeekDay::Days(days) => days[weekday as usize],
                    WeekDay::Last(d) => *d == weekday && day + 7 > last,
                    WeekDay::Nth(d, n) => *d == weekday && (day - 1) / 7 + 1 == *n,
                })
            }
        }
    }

    /// The first firing strictly after `after` (Unix seconds), evaluated in `tz`.
    fn next_after(&self, tz: &TimeZone, after: i64) -> Option<i64> {
        let start = Timestamp::from_second(after)
            .ok()?
            .to_zoned_datetime(tz.clone())
            .datetime();
        let mut date = start.date();
        while i32::from(date.year()) <= LAST_YEAR {
            let year = i32::from(date.year());
            if !self.year_matches(year) {
                date = Date::new(date.year().checked_add(1)?, 1, 1).ok()?;
                continue;
            }
            if !self.months[date.month() as usize] {
                date = date
                    .first_of_month()
                    .checked_add(jiff::Span::new().months(1))
                    .ok()?;
                continue;
            }
            if self.day_matches(date) {
                for hour in (0..24).filter(|h| self.hours[*h as usize]) {
                    for minute in (0..60).filter(|m| self.minutes[*m as usize]) {
                        let local = date.at(hour, minute, 0, 0);
                        if let Some(at) = earliest(tz, local)
                            && at > after
                        {
                            return Some(at);
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// The weekday (Mon-Fri) nearest day `n` of `date`'s month, never leaving the month:
/// Saturday the 1st moves to Monday the 3rd, Sunday the last to Friday.
fn nearest_weekday(date: Date, n: i8) -> i8 {
    let Ok(target) = Date::new(date.year(), date.month(), n) else {
        return 0;
    };
    let last = date.days_in_month();
    match target.weekday().to_sunday_one_offset() {
        7 if n == 1 => 3,
        7 => n - 1,
        1 if n == last => n - 2,
        1 => n + 1,
        _ => n,
    }
}

fn number(text: &str, names: &[&str], offset: i32) -> Option<i32> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Some(i as i32 + offset);
    }
    text.parse().ok()
}

/// A field of `, - * /` items over `lo..=hi` (`names[i]` is `lo + i`), as a table indexed by
/// value.
fn set(field: &str, lo: i32, hi: i32, names: &[&str]) -> Option<Vec<bool>> {
    let mut table = vec![false; hi as usize + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step.parse::<i32>().ok().filter(|s| *s > 0)?)),
            None => (item, None),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            _ => match range.split_once('-') {
                Some((a, b)) => (number(a, names, lo)?, number(b, names, lo)?),
                // `5/15`: from 5 to the end in steps of 15; `5`: just 5.
                None => {
                    let n = number(range, names, lo)?;
                    (n, if step.is_some() { hi } else { n })
                }
            },
        };
        if from < lo || to > hi || from > to {
            return None;
        }
        // A step past the field's end (`2100/2147483647`) ends the walk, never overflows.
        let mut v = Some(from);
        while let Some(at) = v.filter(|at| *at <= to) {
            table[at as usize] = true;
            v = at.checked_add(step.unwrap_or(1));
        }
    }
    Some(table)
}

fn month_day(item: &str) -> Option<MonthDay> {
    match item {
        "L" => Some(MonthDay::Last),
        "LW" => Some(MonthDay::LastWeekday),
        _ => match item.strip_suffix('W') {
            Some(n) => {
                let n: i8 = n.parse().ok()?;
                (1..=31).contains(&n).then_some(MonthDay::NearestWeekday(n))
            }
            None => set(item, 1, 31, &[]).map(MonthDay::Days),
        },
    }
}

fn week_day(item: &str) -> Option<WeekDay> {
    let day = |text: &str| {
        number(text, &DAYS, 1)
            .filter(|d| (1..=7).contains(d))
            .map(|d| d as i8)
    };
    // `L` alone: the last day of the week, Saturday, every week.
    if item == "L" {
        return set("7", 1, 7, &DAYS).map(WeekDay::Days);
    }
    if let Some((d, n)) = item.split_once('#') {
        let n: i8 = n.parse().ok().filter(|n| (1..=5).contains(n))?;
        return Some(WeekDay::Nth(day(d)?, n));
    }
    if let Some(d) = item.strip_suffix('L') {
        return Some(WeekDay::Last(day(d)?));
    }
    set(item, 1, 7, &DAYS).map(WeekDay::Days)
}

#[cfg(test)]
mod tests;
