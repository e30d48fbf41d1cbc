//! UTC timestamps in the one format the collector aggregates correctly:
//! `YYYY-MM-DDTHH:MM:SSZ`.

use crate::decimal::write_padded;

/// The latest second that fits four year digits: 9999-12-31T23:59:59Z.
pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// A formatted UTC timestamp, 20 ASCII bytes, no allocation.
///
/// ```
/// use monlight_core::UtcTimestamp;
///
/// let t = UtcTimestamp::from_unix(1_709_164_800).unwrap();
/// assert_eq!(t.as_str(), "2024-02-29T00:00:00Z");
/// assert!(UtcTimestamp::from_unix(u64::MAX).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UtcTimestamp([u8; 20]);

impl UtcTimestamp {
    /// Formats Unix seconds; `None` after year 9999 (no four-digit year).
    pub fn from_unix(unix_seconds: u64) -> Option<Self> {
        if unix_seconds > MAX_UNIX_SECONDS {
            return None;
        }
        // One 64-bit division; the rest fits u32 (2,932,896 days at most),
        // which a 32-bit core divides without a library call.
        let days = (unix_seconds / 86_400) as u32;
        let secs_of_day = (unix_seconds % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00Z";
        write_padded(&mut out[0..4], year);
        write_padded(&mut out[5..7], month);
        write_padded(&mut out[8..10], day);
        write_padded(&mut out[11..13], secs_of_day / 3600);
        write_padded(&mut out[14..16], secs_of_day % 3600 / 60);
        write_padded(&mut out[17..19], secs_of_day % 60);
        Some(Self(out))
    }

    /// The timestamp as ASCII bytes (`2026-11-26T03:04:05Z`).
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The timestamp as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl core::fmt::Debug for UtcTimestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for UtcTimestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`, unsigned since we start at
/// the epoch).
fn civil_from_days(days: u32) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u32::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fmt(secs: u64) -> std::string::String {
        UtcTimestamp::from_unix(secs)
            .map(|t| t.as_str().into())
            .unwrap_or_default()
    }

    #[test]
    fn known_dates() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00Z");
        // Leap days, including the 400-year rule.
        assert_eq!(fmt(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(fmt(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(fmt(4_107_542_400), "2100-03-01T00:00:00Z"); // 2100 is not leap
        // Year ends.
        assert_eq!(fmt(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(fmt(1_735_689_600), "2025-01-01T00:00:00Z");
        // After the 32-bit rollover.
        assert_eq!(fmt(2_147_483_647), "2038-01-19T03:14:07Z");
        assert_eq!(fmt(2_147_483_648), "2038-01-19T03:14:08Z");
        assert_eq!(fmt(4_294_967_296), "2106-02-07T06:28:16Z");
        assert_eq!(fmt(MAX_UNIX_SECONDS), "9999-12-31T23:59:59Z");
        assert!(UtcTimestamp::from_unix(MAX_UNIX_SECONDS + 1).is_none());
    }

    proptest! {
        #[test]
        fn matches_chrono(secs in 0..=MAX_UNIX_SECONDS) {
            let expected = chrono::DateTime::from_timestamp(secs as i64, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            prop_assert_eq!(fmt(secs), expected);
        }
    }
}
