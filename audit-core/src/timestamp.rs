//! Record timestamps: RFC 3339 in UTC with microseconds, e.g. `2026-11-23T12:00:00.123456Z`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};

/// A point in time with microsecond precision, written as RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_micros: i64,
}

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// A timestamp from microseconds since the Unix epoch.
    pub fn from_unix_micros(unix_micros: i64) -> Timestamp {
        Timestamp { unix_micros }
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.unix_micros
    }

    fn datetime(self) -> OffsetDateTime {
        let nanos = i128::from(self.unix_micros) * 1000;
        // Every i64 microsecond count is within OffsetDateTime's range except the far
        // ends; clamp those rather than panic.
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if nanos < 0 {
            OffsetDateTime::UNIX_EPOCH
        } else {
            time::macros::datetime!(9999-12-31 23:59:59.999999 UTC)
        })
    }

    /// Appends the RFC 3339 form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 27 bytes for
    /// years 0000–9999) to `out`.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        let dt = self.datetime();
        let mut buf = [0u8; 27];
        let year = dt.year().clamp(0, 9999).unsigned_abs();
        put_digits(&mut buf[0..4], u64::from(year));
        buf[4] = b'-';
        put_digits(&mut buf[5..7], u64::from(u8::from(dt.month())));
        buf[7] = b'-';
        put_digits(&mut buf[8..10], u64::from(dt.day()));
        buf[10] = b'T';
        put_digits(&mut buf[11..13], u64::from(dt.hour()));
        buf[13] = b':';
        put_digits(&mut buf[14..16], u64::from(dt.minute()));
        buf[16] = b':';
        put_digits(&mut buf[17..19], u64::from(dt.second()));
        buf[19] = b'.';
        put_digits(&mut buf[20..26], u64::from(dt.microsecond()));
        buf[26] = b'Z';
        out.extend_from_slice(&buf);
    }

    /// The compact form used in segment file names: `YYYYMMDDTHHMMSSZ`.
    pub fn compact(self) -> String {
        let dt = self.datetime();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }

    /// Parses an RFC 3339 time (any offset), or a date `YYYY-MM-DD` / `YYYY/MM/DD`
    /// meaning its first instant in UTC.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] saying what was expected and what was found.
    pub fn parse(text: &str) -> Result<Timestamp> {
        let t = text.trim();
        if let Ok(dt) = OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
            return Ok(Timestamp::from_datetime(dt));
        }
        let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
        if let Ok(d) = time::Date::parse(&t.replace('/', "-"), &date_fmt) {
            return Ok(Timestamp::from_datetime(d.midnight().assume_utc()));
        }
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "expected an RFC 3339 time (2026-11-23T08:00:00Z) or a date (2026-11-23), found {text:?}"
            ),
        ))
    }

    /// Parses the compact file-name form `YYYYMMDDTHHMMSSZ`.
    pub(crate) fn parse_compact(text: &str) -> Option<Timestamp> {
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        time::PrimitiveDateTime::parse(text, &fmt)
            .ok()
            .map(|p| Timestamp::from_datetime(p.assume_utc()))
    }

    fn from_datetime(dt: OffsetDateTime) -> Timestamp {
        let micros = dt.unix_timestamp_nanos().div_euclid(1000);
        Timestamp {
            unix_micros: i64::try_from(micros).unwrap_or(i64::MAX),
        }
    }
}

/// Formats timestamps fast when many fall in the same second: the calendar part is
/// computed once per second and only the microseconds are written per record.
///
/// It pays: 5.9 ns per record against 30.3 ns for [`Timestamp::write_rfc3339`]
/// (through the `time` crate) every time, when encoding a typical record takes
/// 197 ns in the same run. Criterion `timestamp/*` and `encode/*` of
/// `cargo bench -p tracing-audit-core`, docs/BENCHMARKS.md, 2026-12-01.
#[derive(Debug, Clone)]
pub(crate) struct TsCache {
    second: i64,
    /// `YYYY-MM-DDTHH:MM:SS.` for `second`.
    prefix: [u8; 20],
}

impl TsCache {
    pub(crate) fn new() -> TsCache {
        TsCache {
            second: i64::MIN,
            prefix: [0; 20],
        }
    }

    /// Appends the same bytes as [`Timestamp::write_rfc3339`].
    pub(crate) fn write(&mut self, ts: Timestamp, out: &mut Vec<u8>) {
        let second = ts.unix_micros.div_euclid(1_000_000);
        if second != self.second {
            let mut full = Vec::with_capacity(27);
            ts.write_rfc3339(&mut full);
            self.prefix.copy_from_slice(&full[..20]);
            self.second = second;
        }
        out.extend_from_slice(&self.prefix);
        let mut micros = [0u8; 7];
        put_digits(
            &mut micros[..6],
            ts.unix_micros.rem_euclid(1_000_000).unsigned_abs(),
        );
        micros[6] = b'Z';
        out.extend_from_slice(&micros);
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        let micros = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Timestamp {
            unix_micros: micros,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::with_capacity(27);
        self.write_rfc3339(&mut v);
        f.write_str(&String::from_utf8_lossy(&v))
    }
}

fn put_digits(dst: &mut [u8], mut n: u64) {
    for b in dst.iter_mut().rev() {
        // n % 10 < 10, so the cast cannot truncate.
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp::parse("2026-11-23T08:09:10.123456Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T08:09:10.123456Z");
        assert_eq!(t.compact(), "20261123T080910Z");
        let t2 = Timestamp::parse("2026-11-23T09:09:10.123456+01:00").unwrap();
        assert_eq!(t, t2);
    }

    #[test]
    fn cache_writes_what_the_formatter_writes() {
        let mut cache = TsCache::new();
        for micros in [
            0i64,
            999_999,
            1_000_000,
            1_763_942_400_123_456,
            1_763_942_400_999_999,
            1_763_942_401_000_000,
            -1,
        ] {
            let t = Timestamp::from_unix_micros(micros);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            cache.write(t, &mut a);
            t.write_rfc3339(&mut b);
            assert_eq!(
                String::from_utf8(a).unwrap(),
                String::from_utf8(b).unwrap(),
                "{micros}"
            );
        }
    }

    #[test]
    fn dates_mean_midnight_utc() {
        let a = Timestamp::parse("2025/10/24").unwrap();
        let b = Timestamp::parse("2025-10-24").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2025-10-24T00:00:00.000000Z");
    }

    #[test]
    fn bad_time_says_what_it_found() {
        let err = Timestamp::parse("yesterday").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }
}
