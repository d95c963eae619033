//! Timestamps as feeds write them: RFC 3339, `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DD` (read as
//! UTC), and Unix epoch seconds (MISP writes them as strings).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::fields::shorten;

/// Parses a timestamp; the error reads as a sentence.
pub(crate) fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| format!("epoch time `{}` is out of range", shorten(text)));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "`{}` is not a time (RFC 3339, `YYYY-MM-DD[ HH:MM:SS]` or epoch seconds)",
        shorten(text)
    ))
}

/// Epoch seconds given as a JSON number.
pub(crate) fn from_epoch(secs: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("epoch time {secs} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_common_forms() {
        let expected = "2026-03-01T12:30:00Z";
        for text in [
            "2026-03-01T12:30:00Z",
            "2026-03-01T13:30:00+01:00",
            "2026-03-01 12:30:00",
            "2026-03-01T12:30:00",
            "1772368200",
        ] {
            assert_eq!(
                parse(text)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{text}"
            );
        }
        assert_eq!(
            parse("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
    }

    #[test]
    fn rejects_other_text_with_the_value_in_the_message() {
        let err = parse("next tuesday").unwrap_err();
        assert!(err.contains("next tuesday"), "{err}");
        assert!(parse("99999999999999999999").is_err());
        assert!(parse("").is_err());
    }
}
