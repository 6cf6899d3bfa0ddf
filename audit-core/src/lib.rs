//! The core of `tracing-audit`: the record model, the canonical line encoding, the
//! hash-chained segment writer, and verification. No `tracing` dependency.
//!
//! # Overview
//!
//! A *stream* is one service's trail: a directory of segment files, each a JSON Lines
//! file whose every line is a record. Every record carries a gapless `seq`, the hash
//! of the previous record (`prev`), its own SHA-256 `hash` and an HMAC-SHA256 `mac`
//! over that hash. The exact format is in [FORMAT.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/format/index.html) (`docs/FORMAT.md` in
//! the repository).
//!
//! - [`Writer`] appends batches of [`Entry`]s to a stream with group commit
//!   ([`Durability`]), rotation ([`Rotation`]), a lock file, and crash recovery.
//! - [`verify_dir`] checks a stream and returns a [`Report`] that pinpoints the first
//!   failing record and says whether the end of the trail is proven ([`End`]).
//! - [`Stream`] reads a stream's records in order, raw ([`Stream::records`]) or
//!   checked as they are read ([`Stream::verified`]), with bounded memory.
//! - [`storage`] is the I/O seam: every file-system call of the writer and of
//!   recovery goes through a [`storage::Storage`] ([`storage::FileStorage`] by
//!   default; `FaultStorage` with the `fault-injection` feature, for tests).
//! - [`merkle`] is the RFC 6962 Merkle tree over the records' hashes: an incremental
//!   [`merkle::Frontier`], inclusion and consistency proofs and their verification
//!   (maintained by the writer, recorded in every `seal`, checked by verification).
//! - [`note`] reads and writes the C2SP transparency-log texts with Ed25519 keys:
//!   signed notes, checkpoints, witness cosignatures, proof files and witness
//!   requests. The writer signs checkpoints with them; verification checks them.
//! - [`proof`] builds inclusion and consistency proofs of a stream's records in one
//!   pass over the trail, in O(log n) memory; [`witness`] is a C2SP tlog-witness
//!   that cosigns a log's checkpoints only when consistent with those it cosigned.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::{Event, Key, Outcome, VerifyOptions, Writer, WriterConfig, verify_dir};
//!
//! let dir = tempfile::tempdir()?;
//! let key = Key::generate()?;
//! let mut writer = Writer::open(WriterConfig::new(dir.path(), "pool-manager", key.clone()))?;
//! let mut event = Event::new("pool.delete").field("pool_id", "p-42");
//! event.actor.id = Some("alice".into());
//! event.outcome = Outcome::Success;
//! let appended = writer.append(&[event.into()])?;
//! assert!(appended.durable); // fsynced: the default durability
//! writer.close()?;
//!
//! let report = verify_dir(dir.path(), &VerifyOptions::new().key(key))?;
//! assert!(report.ok(), "{:?}", report.first_failure());
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every fallible function returns [`Error`], whose [`ErrorKind`] tells the class and
//! whose message names the file (and line) and says what was expected and found.
//! Tampering found by verification is not an error: it is in the [`Report`].
//!
//! # Features
//!
//! - `fault-injection` (off by default): `storage::FaultStorage`, a backend that
//!   fails chosen calls or simulates a crash. For tests only.
#![deny(missing_docs)]

mod chain;
mod encode;
mod error;
mod key;
mod lock;
pub mod merkle;
pub mod note;
mod parse;
pub mod proof;
pub mod query;
mod reader;
mod record;
mod segment;
pub mod storage;
mod timestamp;
pub mod tree_index;
mod verify;
pub mod witness;
mod writer;

#[cfg(test)]
mod hostile_tests;

pub use encode::{Limits, MAX_LINE_BYTES, SUFFIX_LEN, ZERO_HASH};

/// The checkpoint origin of a stream (docs/FORMAT.md §4.2):
/// `tracing-audit/<service>/<stream id>`, with every character of the service
/// name other than ASCII letters, digits, `.`, `_` and `-` written as `_`.
///
/// ```
/// assert_eq!(
///     tracing_audit_core::checkpoint_origin("pool manager", "00ff"),
///     "tracing-audit/pool_manager/00ff"
/// );
/// ```
pub fn checkpoint_origin(service: &str, stream: &str) -> String {
    writer::origin(service, stream)
}

/// Entry points for the criterion benchmarks only; not a stable API.
#[doc(hidden)]
pub mod bench_support {
    use crate::encode::{self, Header};
    use crate::record::{Entry, RecordKind};
    use crate::timestamp::TsCache;

    /// Encodes the header and body of an event record (everything before the
    /// hash) into `out`, as the writer does.
    pub fn encode_unsealed(out: &mut Vec<u8>, entry: &Entry, seq: u64, prev: &[u8; 32]) {
        let ts = match entry {
            Entry::Event(e) => e.ts,
            Entry::Gap(g) => g.to,
        };
        let kind = match entry {
            Entry::Event(_) => RecordKind::Event,
            Entry::Gap(_) => RecordKind::Gap,
        };
        let header = Header {
            seq,
            ts,
            epoch: 0,
            prev,
            kind,
        };
        encode::begin(out, &header, &mut TsCache::new());
        encode::entry_body(out, entry, "bench", &crate::Limits::default());
    }

    /// Appends the 64 lowercase hexadecimal digits of `bytes`, as the encoder writes
    /// `prev`, `hash` and `mac`.
    pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8; 32]) {
        encode::push_hex(out, bytes);
    }

    /// The encoder's per-second timestamp cache.
    #[derive(Debug)]
    pub struct TimestampCache(TsCache);

    impl TimestampCache {
        /// An empty cache.
        pub fn new() -> TimestampCache {
            TimestampCache(TsCache::new())
        }

        /// Appends `ts` as the encoder writes it.
        pub fn write(&mut self, ts: crate::Timestamp, out: &mut Vec<u8>) {
            self.0.write(ts, out);
        }
    }

    impl Default for TimestampCache {
        fn default() -> TimestampCache {
            TimestampCache::new()
        }
    }
}
pub use error::{Error, ErrorKind, Result};
pub use key::{Fingerprinter, Key};
pub use reader::{Record, Records, Stream};
pub use record::{
    Actor, Entry, Event, FORMAT_VERSION, FieldValue, Gap, Member, Outcome, RecordKind,
};
pub use segment::SegmentName;
pub use timestamp::Timestamp;
pub use verify::{
    End, Failure, FailureKind, MAX_TIME_GAPS, Report, SegmentReport, TimeGap, VerifyOptions,
    verify_dir,
};
pub use writer::{
    Appended, Checkpoints, DEFAULT_CHECKPOINT_HEARTBEAT, DEFAULT_CHECKPOINT_INTERVAL,
    DEFAULT_EPOCH_INTERVAL, Durability, Opened, PartialAppend, Period, Rotation, WitnessTransport,
    Writer, WriterConfig, parse_duration,
};
