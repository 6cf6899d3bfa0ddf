//! The writer's configuration and its parsing: [`Durability`], [`Rotation`],
//! [`Period`], [`parse_duration`] and [`WriterConfig`].

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::encode::Limits;
use crate::error::{Error, ErrorKind, Result};
use crate::key::Key;
use crate::note::SigningKey;
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
    /// Never fsync records (the operating system writes back when it likes); for
    /// tests and benchmarks. A process crash loses nothing, a power loss may lose
    /// anything recent. A segment is still fsynced when it is sealed, so that a
    /// power cut cannot leave a torn older segment before a newer one.
    Never,
}

impl FromStr for Durability {
    type Err = Error;

    /// Parses `batch`, `never`, or `interval:<duration>` with a duration as
    /// [`parse_duration`] reads it (`interval:200ms`, `interval:2s`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] saying what was expected and what was found.
    fn from_str(s: &str) -> Result<Self> {
        const EXPECTED: &str = "expected durability `batch`, `never` or `interval:<duration>` (such as `interval:200ms`)";
        match s.trim() {
            "batch" => Ok(Durability::EveryBatch),
            "never" => Ok(Durability::Never),
            other => match other.strip_prefix("interval:") {
                Some(d) => parse_duration(d).map(Durability::Interval).map_err(|e| {
                    Error::new(ErrorKind::Config, format!("{EXPECTED}, found {s:?}: {e}"))
                }),
                None => Err(Error::new(
                    ErrorKind::Config,
                    format!("{EXPECTED}, found {s:?}"),
                )),
            },
        }
    }
}

/// Parses a duration as the `humantime` crate reads it: a number and a unit, such
/// as `200ms`, `2s`, `1min` or `1h 30min` (as in `interval:200ms`).
///
/// # Errors
/// [`ErrorKind::Config`] saying what was expected and what was found.
pub fn parse_duration(text: &str) -> Result<Duration> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("expected a duration such as `200ms`, `2s` or `1min`, found {text:?} ({e})"),
        )
    })
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
    /// The name `AUDIT_ROTATION` uses: `hourly` or `daily`.
    pub fn name(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
        }
    }

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

    /// Parses `never`, or at most one period (`daily` or `hourly`) and at most one
    /// size (`size:<size>`, with a size as the `bytesize` crate reads it: `64MiB`,
    /// `1GiB`, `500MB`), comma-separated: `daily`, `size:64MiB`, `daily,size:64MiB`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] saying what was expected and what was found: an unknown
    /// rule, two periods (`daily,hourly`), two sizes, `never` beside another rule, or
    /// a size that does not parse or is zero.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "expected rotation `daily`, `hourly`, `size:<size>` (such as `size:64MiB`), one period and one size comma-separated (`daily,size:64MiB`), or `never`; found {s:?}: {why}"
                ),
            )
        };
        let mut r = Rotation::never();
        let mut never = false;
        for part in s.split(',').map(str::trim) {
            let period = match part {
                "daily" => Some(Period::Daily),
                "hourly" => Some(Period::Hourly),
                _ => None,
            };
            if let Some(p) = period {
                if let Some(earlier) = r.period {
                    return Err(bad(format!(
                        "two periods, `{}` and `{}`",
                        earlier.name(),
                        p.name()
                    )));
                }
                r.period = Some(p);
            } else if part == "never" {
                never = true;
            } else if let Some(size) = part.strip_prefix("size:") {
                let bytes = size
                    .trim()
                    .parse::<bytesize::ByteSize>()
                    .map_err(|e| bad(format!("{size:?} is not a size ({e})")))?
                    .as_u64();
                if bytes == 0 {
                    return Err(bad("a size of zero".into()));
                }
                if r.max_bytes.is_some() {
                    return Err(bad("two sizes".into()));
                }
                r.max_bytes = Some(bytes);
            } else {
                return Err(bad(format!("{part:?} is none of these")));
            }
        }
        if never && r != Rotation::never() {
            return Err(bad("`never` beside another rule".into()));
        }
        Ok(r)
    }
}

/// The default interval between key epochs when no rotation advances it.
pub const DEFAULT_EPOCH_INTERVAL: Duration = Duration::from_secs(3600);
/// The default interval between checkpoints while records arrive.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// The default heartbeat: the longest time without a checkpoint, even when idle.
pub const DEFAULT_CHECKPOINT_HEARTBEAT: Duration = Duration::from_secs(300);

/// Signed checkpoints (docs/FORMAT.md §4.2): who signs them, how often they are
/// written, and where copies go.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Checkpoints {
    /// The Ed25519 key that signs them; `None`: no checkpoints.
    pub signing_key: Option<Arc<SigningKey>>,
    /// The interval between checkpoints while records arrive.
    pub interval: Duration,
    /// The longest time without a checkpoint, even when idle.
    pub heartbeat: Duration,
    /// Directories that receive a copy of every checkpoint.
    pub copies: Vec<PathBuf>,
    /// How each checkpoint reaches a witness, as an add-checkpoint request (a
    /// command or a spool directory); `None`: no witness.
    pub witness: Option<WitnessTransport>,
}

/// How the writer submits its checkpoints to a witness: both carry the same
/// add-checkpoint requests and the same answers (an exit status and what `audit
/// witness add` prints), on a thread of the writer's own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessTransport {
    /// A command (program, then arguments) run for each request, the request on
    /// its standard input, such as `ssh -T audit-witness@witness-host` with
    /// `audit witness add …` fixed on the witness host.
    Command(Vec<String>),
    /// A spool directory that the witness host also reaches (a shared mount),
    /// where `audit witness serve --spool DIR` answers requests
    /// ([`crate::witness::spool`] gives the files).
    Spool(PathBuf),
}

impl Default for Checkpoints {
    fn default() -> Checkpoints {
        Checkpoints {
            signing_key: None,
            interval: DEFAULT_CHECKPOINT_INTERVAL,
            heartbeat: DEFAULT_CHECKPOINT_HEARTBEAT,
            copies: Vec::new(),
            witness: None,
        }
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
    /// The HMAC key: the stream's initial key, or the key of a later epoch (the
    /// writer derives forward to the trail's epoch). The writer replaces it with
    /// each new epoch's key, so a reopen with this configuration's clone
    /// continues where the writer stopped.
    pub key: Key,
    /// The key file the writer replaces (atomically) with each new epoch's key,
    /// so that the host holds only the current epoch's key. Without one, epochs
    /// advance in memory only, and whoever holds the key the writer was started
    /// with can forge every epoch since.
    pub key_file: Option<PathBuf>,
    /// How often the key epoch advances even without a rotation (default one
    /// hour; `None`: only on rotation).
    pub epoch_interval: Option<Duration>,
    /// Signed checkpoints: the key and when to write them.
    pub checkpoints: Checkpoints,
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
            key_file: None,
            epoch_interval: Some(DEFAULT_EPOCH_INTERVAL),
            checkpoints: Checkpoints::default(),
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

    /// Sets the key file the writer replaces with each new epoch's key (builder
    /// style). Give the file `key` was read from.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> WriterConfig {
        self.key_file = Some(path.into());
        self
    }

    /// Sets how often the key epoch advances when no rotation does it (builder
    /// style); `None` advances it only on rotation.
    pub fn epoch_interval(mut self, interval: Option<Duration>) -> WriterConfig {
        self.epoch_interval = interval;
        self
    }

    /// Sets the key that signs checkpoints (builder style). Without one, no
    /// checkpoint is written.
    pub fn signing_key(mut self, key: SigningKey) -> WriterConfig {
        self.checkpoints.signing_key = Some(Arc::new(key));
        self
    }

    /// Sets the checkpoint interval while records arrive (builder style; default
    /// one second).
    pub fn checkpoint_interval(mut self, interval: Duration) -> WriterConfig {
        self.checkpoints.interval = interval;
        self
    }

    /// Sets the heartbeat: the longest time without a checkpoint, even when idle
    /// (builder style; default five minutes).
    pub fn checkpoint_heartbeat(mut self, interval: Duration) -> WriterConfig {
        self.checkpoints.heartbeat = interval;
        self
    }

    /// Adds a directory that receives a copy of every checkpoint (builder style):
    /// keep it in another trust domain (another host's mount, another account).
    pub fn checkpoint_copy(mut self, dir: impl Into<PathBuf>) -> WriterConfig {
        self.checkpoints.copies.push(dir.into());
        self
    }

    /// Submits every checkpoint to a witness through `command` (program, then
    /// arguments; builder style), for example `ssh -T audit-witness@witness-host`
    /// where the witness host fixes `audit witness add --state … --key …
    /// --log-key …` as the forced command. It runs on a thread of its own; the
    /// cosigned checkpoint is kept as `checkpoint.cosigned`. Replaces a witness
    /// spool set before.
    pub fn witness_command(mut self, command: Vec<String>) -> WriterConfig {
        self.checkpoints.witness = Some(WitnessTransport::Command(command));
        self
    }

    /// Submits every checkpoint to a witness through the spool directory `dir`
    /// (builder style): each request is written there as a file, and the answer
    /// of `audit witness serve --spool DIR` on the witness host is awaited (30 s
    /// at most; [`crate::witness::spool`] gives the files). It runs on a thread of
    /// its own; the cosigned checkpoint is kept as `checkpoint.cosigned`.
    /// Replaces a witness command set before.
    pub fn witness_spool(mut self, dir: impl Into<PathBuf>) -> WriterConfig {
        self.checkpoints.witness = Some(WitnessTransport::Spool(dir.into()));
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
        assert_eq!(
            "interval:1min".parse::<Durability>().unwrap(),
            Durability::Interval(Duration::from_secs(60))
        );
    }

    /// Issue 10, item 8: `always` and `off` worked undocumented, and any case did.
    #[test]
    fn durability_accepts_the_documented_values_only_and_says_what_it_found() {
        let expected = "expected durability `batch`, `never` or `interval:<duration>` (such as `interval:200ms`), found";
        for (text, found) in [
            ("sometimes", "found \"sometimes\""),
            ("always", "found \"always\""),
            ("off", "found \"off\""),
            ("BATCH", "found \"BATCH\""),
            ("interval:", "found \"interval:\": expected a duration"),
            (
                "interval:200",
                "found \"interval:200\": expected a duration",
            ),
            ("interval:5x", "unknown time unit \"x\""),
        ] {
            let err = text.parse::<Durability>().unwrap_err().to_string();
            assert!(
                err.starts_with(expected) && err.contains(found),
                "{text}: {err}"
            );
        }
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
        assert_eq!(
            "size:1.5GiB".parse::<Rotation>().unwrap().max_bytes,
            Some(3 << 29)
        );
        assert_eq!(
            "size:500MB".parse::<Rotation>().unwrap().max_bytes,
            Some(500_000_000)
        );
        assert_eq!("never".parse::<Rotation>().unwrap(), Rotation::never());
    }

    /// Issue 10, item 8: `none` worked undocumented, and `daily,hourly` silently
    /// kept the last period.
    #[test]
    fn rotation_accepts_the_documented_values_only_and_says_what_it_found() {
        let expected = "expected rotation `daily`, `hourly`, `size:<size>` (such as `size:64MiB`), one period and one size comma-separated (`daily,size:64MiB`), or `never`; found";
        for (text, why) in [
            ("weekly", "\"weekly\" is none of these"),
            ("none", "\"none\" is none of these"),
            ("Daily", "\"Daily\" is none of these"),
            ("daily,hourly", "two periods, `daily` and `hourly`"),
            ("hourly, daily", "two periods, `hourly` and `daily`"),
            ("size:1MiB,size:2MiB", "two sizes"),
            ("never,daily", "`never` beside another rule"),
            ("size:0", "a size of zero"),
            ("size:", "\"\" is not a size"),
            ("size:12 parsecs", "\"12 parsecs\" is not a size"),
            ("daily,", "\"\" is none of these"),
        ] {
            let err = text.parse::<Rotation>().unwrap_err().to_string();
            assert!(
                err.starts_with(expected) && err.contains(&format!("found {text:?}: {why}")),
                "{text}: {err}"
            );
        }
    }
}
