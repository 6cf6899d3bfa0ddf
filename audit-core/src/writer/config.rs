//! The writer's configuration and its parsing: [`Durability`], [`Rotation`],
//! [`Period`], [`parse_duration`] and [`WriterConfig`].

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::encode::Limits;
use crate::error::{Error, ErrorKind, Result};
use crate::key::Key;
use crate::storage::{FileStorage, Storage};
use crate::timestamp::Timestamp;

/// When the writer calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync after every batch (group commit): an acknowledged record survives a
    /// crash or power loss. The default.
    #[default]
    EveryBatch,
    /// fsync when this much time has passed since the last one; up to that much
    /// acknowledged data can be lost on power loss (not on a process crash).
    Interval(Duration),
    /// Never fsync (the operating system writes back when it likes); for tests and
    /// benchmarks. A process crash loses nothing, a power loss may lose anything recent.
    Never,
}

impl FromStr for Durability {
    type Err = Error;

    /// Parses `batch`, `never`, or `interval:<N>ms` / `interval:<N>s`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::new(
                ErrorKind::Config,
                format!("expected durability `batch`, `never` or `interval:<N>ms|s`, found {s:?}"),
            )
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "batch" | "always" => Ok(Durability::EveryBatch),
            "never" | "off" => Ok(Durability::Never),
            other => other
                .strip_prefix("interval:")
                .and_then(parse_duration)
                .map(Durability::Interval)
                .ok_or_else(bad),
        }
    }
}

/// Parses a duration written `<N>ms` or `<N>s` (as in `interval:200ms`); `None` for
/// anything else.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (num, millis_per_unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => (text.strip_suffix('s')?, 1000),
    };
    let n: u64 = num.parse().ok()?;
    Some(Duration::from_millis(n.saturating_mul(millis_per_unit)))
}

/// A time period for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A new segment at each UTC hour.
    Hourly,
    /// A new segment at each UTC midnight.
    Daily,
}

impl Period {
    /// The number of the UTC hour or day `t` falls in.
    pub(super) fn index(self, t: Timestamp) -> i64 {
        const HOUR: i64 = 3_600_000_000;
        t.unix_micros().div_euclid(match self {
            Period::Hourly => HOUR,
            Period::Daily => 24 * HOUR,
        })
    }
}

/// When the writer closes the current segment and opens the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// Rotate when the UTC day (or hour) changes.
    pub period: Option<Period>,
    /// Rotate once a segment reaches this many bytes.
    pub max_bytes: Option<u64>,
}

impl Rotation {
    /// Never rotate (one segment per writer run).
    pub fn never() -> Rotation {
        Rotation {
            period: None,
            max_bytes: None,
        }
    }

    /// Rotates when the UTC day or hour changes (builder style).
    pub fn period(mut self, period: Period) -> Rotation {
        self.period = Some(period);
        self
    }

    /// Rotates once a segment reaches `bytes` (builder style).
    pub fn max_bytes(mut self, bytes: u64) -> Rotation {
        self.max_bytes = Some(bytes);
        self
    }
}

impl Default for Rotation {
    /// Daily, and at 128 MiB.
    fn default() -> Self {
        Rotation {
            period: Some(Period::Daily),
            max_bytes: Some(128 * 1024 * 1024),
        }
    }
}

impl FromStr for Rotation {
    type Err = Error;

    /// Parses a comma-separated list of `daily`, `hourly`, `size:<N>[B|KiB|MiB|GiB]`,
    /// or `never`; e.g. `daily,size:64MiB`.
    fn from_str(s: &str) -> Result<Self> {
        let mut r = Rotation {
            period: None,
            max_bytes: None,
        };
        for part in s.split(',').map(str::trim) {
            let bad = |what: &str| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "expected rotation `daily`, `hourly`, `size:<N>[KiB|MiB|GiB]` or `never` (comma-separated), found {what:?} in {s:?}"
                    ),
                )
            };
            match part.to_ascii_lowercase().as_str() {
                "daily" => r.period = Some(Period::Daily),
                "hourly" => r.period = Some(Period::Hourly),
                "never" | "none" => {}
                p => {
                    let size = p.strip_prefix("size:").ok_or_else(|| bad(part))?;
                    let (num, mul) = [
                        ("gib", 1u64 << 30),
                        ("mib", 1 << 20),
                        ("kib", 1 << 10),
                        ("b", 1),
                    ]
                    .iter()
                    .find_map(|(suf, m)| size.strip_suffix(suf).map(|n| (n, *m)))
                    .unwrap_or((size, 1));
                    let n: u64 = num.trim().parse().map_err(|_| bad(part))?;
                    if n == 0 {
                        return Err(bad(part));
                    }
                    r.max_bytes = Some(n.saturating_mul(mul));
                }
            }
        }
        Ok(r)
    }
}

/// Everything the writer needs to know.
///
/// A clone keeps the [`Storage`] (the layer reopens a stream with a clone of the
/// writer's configuration).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriterConfig {
    /// The stream directory (created 0700 if missing).
    pub dir: PathBuf,
    /// The service name written in every event.
    pub service: String,
    /// The HMAC key (epoch 0).
    pub key: Key,
    /// When to fsync.
    pub durability: Durability,
    /// When to rotate.
    pub rotation: Rotation,
    /// Value size limits.
    pub limits: Limits,
    /// Where the files live: the real file system unless a test chose otherwise.
    storage: Arc<dyn Storage>,
}

impl WriterConfig {
    /// A configuration with the defaults: fsync every batch, daily and 128 MiB rotation.
    pub fn new(dir: impl Into<PathBuf>, service: impl Into<String>, key: Key) -> WriterConfig {
        WriterConfig {
            dir: dir.into(),
            service: service.into(),
            key,
            durability: Durability::default(),
            rotation: Rotation::default(),
            limits: Limits::default(),
            storage: Arc::new(FileStorage::new()),
        }
    }

    /// Sets when to fsync (builder style).
    pub fn durability(mut self, durability: Durability) -> WriterConfig {
        self.durability = durability;
        self
    }

    /// Sets when to rotate (builder style).
    pub fn rotation(mut self, rotation: Rotation) -> WriterConfig {
        self.rotation = rotation;
        self
    }

    /// Sets the value size limits (builder style).
    pub fn limits(mut self, limits: Limits) -> WriterConfig {
        self.limits = limits;
        self
    }

    /// Sets the storage backend (builder style); the default is [`FileStorage`].
    /// Every I/O call of the writer and of its recovery goes through it.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> WriterConfig {
        self.storage = storage;
        self
    }

    /// The storage backend.
    pub fn storage_backend(&self) -> &Arc<dyn Storage> {
        &self.storage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_parses_and_explains_bad_values() {
        assert_eq!(
            "batch".parse::<Durability>().unwrap(),
            Durability::EveryBatch
        );
        assert_eq!("never".parse::<Durability>().unwrap(), Durability::Never);
        assert_eq!(
            "interval:250ms".parse::<Durability>().unwrap(),
            Durability::Interval(Duration::from_millis(250))
        );
        assert_eq!(
            "interval:2s".parse::<Durability>().unwrap(),
            Durability::Interval(Duration::from_secs(2))
        );
        let err = "sometimes".parse::<Durability>().unwrap_err();
        assert!(err.to_string().contains("\"sometimes\""), "{err}");
    }

    #[test]
    fn periods_change_at_utc_midnight_and_on_the_hour() {
        let t = |s| Timestamp::parse(s).unwrap();
        let d = Period::Daily;
        assert_eq!(
            d.index(t("2026-11-23T00:00:00Z")),
            d.index(t("2026-11-23T23:59:59.999999Z"))
        );
        assert_ne!(
            d.index(t("2026-11-23T23:59:59.999999Z")),
            d.index(t("2026-11-24T00:00:00Z"))
        );
        // 23:30 in UTC-01:00 is already the next UTC day.
        assert_eq!(
            d.index(t("2026-11-23T23:30:00-01:00")),
            d.index(t("2026-11-24T00:00:00Z"))
        );
        let h = Period::Hourly;
        assert_eq!(
            h.index(t("2026-11-23T08:00:00Z")),
            h.index(t("2026-11-23T08:59:59Z"))
        );
        assert_ne!(
            h.index(t("2026-11-23T08:59:59Z")),
            h.index(t("2026-11-23T09:00:00Z"))
        );
    }

    #[test]
    fn rotation_parses_periods_sizes_and_mixes() {
        let r: Rotation = "daily".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (Some(Period::Daily), None));
        let r: Rotation = "hourly, size:64KiB".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (Some(Period::Hourly), Some(65536)));
        let r: Rotation = "size:3MiB".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (None, Some(3 << 20)));
        assert_eq!("size:100".parse::<Rotation>().unwrap().max_bytes, Some(100));
        for bad in ["weekly", "size:", "size:0", "size:1TB"] {
            let err = bad.parse::<Rotation>().unwrap_err();
            assert!(
                err.to_string().contains("expected rotation"),
                "{bad}: {err}"
            );
        }
    }
}
