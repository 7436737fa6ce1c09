//! Points in time (`--as-of`, `--from`, `--to`): one parser for every command.
//!
//! Accepted: `latest`, `run:N`, `YYYY-MM-DD` (the end of that day, UTC), an RFC 3339 date-time,
//! or a duration ago (`90s`, `30m`, `36h`, `7d`, `2w`). Which committed run a point refers to is
//! the store's business ([`crate::store::Store::resolve`]).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Latest,
    Run(i64),
    At(DateTime<Utc>),
}

impl When {
    /// Parses a point in time relative to `now`.
    pub fn parse(s: &str, now: DateTime<Utc>) -> Result<When> {
        let s = s.trim();
        let err = || {
            Error::usage(format!(
                "invalid point in time {s:?}: use YYYY-MM-DD, an RFC 3339 date-time, run:N, \
                 latest, or a duration ago such as 36h or 7d"
            ))
        };
        if s.eq_ignore_ascii_case("latest") {
            return Ok(When::Latest);
        }
        if let Some(n) = s.strip_prefix("run:") {
            return match n.parse::<i64>() {
                Ok(n) if n > 0 => Ok(When::Run(n)),
                _ => Err(err()),
            };
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let end = d.and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).ok_or_else(err)?);
            return Ok(When::At(end.and_utc()));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = s.split_at(unit_at);
        let n: i64 = num.parse().map_err(|_| err())?;
        let ago = match unit {
            "s" => Duration::try_seconds(n),
            "m" => Duration::try_minutes(n),
            "h" => Duration::try_hours(n),
            "d" => Duration::try_days(n),
            "w" => Duration::try_weeks(n),
            _ => None,
        }
        .ok_or_else(err)?;
        now.checked_sub_signed(ago).map(When::At).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_form() {
        assert_eq!(When::parse("latest", now()).unwrap(), When::Latest);
        assert_eq!(When::parse("run:7", now()).unwrap(), When::Run(7));
        let at = |s: &str| match When::parse(s, now()).unwrap() {
            When::At(t) => t.to_rfc3339(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at("2026-01-19"), "2026-01-19T23:59:59.999+00:00");
        assert_eq!(at("2026-01-19T08:00:00+08:00"), "2026-01-19T00:00:00+00:00");
        assert_eq!(at("36h"), "2026-11-27T00:00:00+00:00");
        assert_eq!(at("7d"), "2026-11-21T12:00:00+00:00");
    }

    #[test]
    fn malformed_values_are_usage_errors() {
        for s in [
            "",
            "yesterday",
            "run:",
            "run:-1",
            "run:x",
            "2026-13-01",
            "5y",
            "h",
            "99999999999999999999d",
        ] {
            let e = When::parse(s, now()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{s}");
        }
    }
}
