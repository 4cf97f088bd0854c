//! Timestamps as Okta prints them: RFC 3339, UTC, millisecond precision (`2026-11-26T15:54:00.000Z`).

use time::{OffsetDateTime, UtcOffset, format_description::FormatItem, macros::format_description};

const OKTA: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats a timestamp the way the management API returns it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(OKTA)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Milliseconds since the Unix epoch, the form timestamps take in the database.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_millis`].
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Formats database milliseconds directly.
pub fn millis_rfc3339(ms: i64) -> String {
    rfc3339(from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_when_formatted_then_utc_with_millis() {
        let t = time::macros::datetime!(2026-11-26 15:54:01.123456 +02:00);
        assert_eq!(rfc3339(t), "2026-11-26T13:54:01.123Z");
        assert_eq!(millis_rfc3339(to_millis(t)), "2026-11-26T13:54:01.123Z");
    }
}
