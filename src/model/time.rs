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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let text = format_time(1_700_000_000.5);
        assert_eq!(parse_time(&text), Some(1_700_000_000.5));
        assert_eq!(display_time(1_700_000_000.5), "2023-11-14T22:13:20Z");
        assert_eq!(parse_time("yesterday"), None);
    }
}
