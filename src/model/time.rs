//! Times as jobdeploy writes them: RFC 3339.

/// RFC 3339, as the `jobdeploy:registered-at` tag and the reports write times.
pub fn format_time(seconds: f64) -> String {
    aws_smithy_types::DateTime::from_secs_f64(seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| seconds.to_string())
}

/// RFC 3339 to the second, for people.
pub fn display_time(seconds: f64) -> String {
    format_time(seconds.floor())
}

pub fn parse_time(text: &str) -> Option<f64> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|t| t.as_secs_f64())
}

/// A duration as flags and config write it: `90`, `90s`, `30m`, `1h`, `1h30m` (`run --timeout`,
/// `[k8s] timeout`, `--wait-for-k8s=DURATION`).
pub fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("`{text}`: use seconds or 1h30m, 30m, 90s")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}`: a number must come before `{c}`"))?;
        total = n
            .checked_mul(unit)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(|| format!("`{text}` is too long"))?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(format!("`{text}`: use seconds or 1h30m, 30m, 90s"));
    }
    Ok(std::time::Duration::from_secs(total))
}

/// `4m12s`, `15m`, `1h30m`, `45s`: how waits are told.
pub fn short_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        use std::time::Duration;
        assert_eq!(short_duration(Duration::from_secs(252)), "4m12s");
        assert_eq!(short_duration(Duration::from_secs(900)), "15m");
        assert_eq!(short_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(short_duration(Duration::ZERO), "0s");
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
    }

    #[test]
    fn times_round_trip() {
        let text = format_time(1_700_000_000.5);
        assert_eq!(parse_time(&text), Some(1_700_000_000.5));
        assert_eq!(display_time(1_700_000_000.5), "2023-11-14T22:13:20Z");
        assert_eq!(parse_time("yesterday"), None);
    }
}
