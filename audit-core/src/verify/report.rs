//! What verification found: failures, per-segment results, the report, and the
//! options that choose what to verify.

use crate::key::Key;
use crate::timestamp::Timestamp;

/// What is wrong with a record or segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The SHA-256 of the body differs from the record's `hash`.
    HashMismatch,
    /// The HMAC of the hash differs from the record's `mac`.
    MacMismatch,
    /// `prev` differs from the previous record's `hash`.
    PrevMismatch,
    /// `seq` is not the previous record's `seq` plus one.
    SeqGap,
    /// The line is not a record (no hash/mac suffix, no header, or longer than
    /// [`crate::MAX_LINE_BYTES`]).
    MalformedLine,
    /// The file ends in bytes without a final newline (a write cut short).
    TornTail,
    /// A segment is missing before this one (the stream jumps forward at a segment start).
    MissingSegment,
    /// Segments are out of order, renamed, unsealed where they must be sealed, or
    /// records follow a seal.
    SegmentOrder,
    /// The record's format version is not one this verifier knows.
    UnknownVersion,
}

impl FailureKind {
    /// The name used in reports and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::HashMismatch => "hash_mismatch",
            FailureKind::MacMismatch => "mac_mismatch",
            FailureKind::PrevMismatch => "prev_mismatch",
            FailureKind::SeqGap => "seq_gap",
            FailureKind::MalformedLine => "malformed_line",
            FailureKind::TornTail => "torn_tail",
            FailureKind::MissingSegment => "missing_segment",
            FailureKind::SegmentOrder => "segment_order",
            FailureKind::UnknownVersion => "unknown_version",
        }
    }
}

/// One failure: what, and exactly where.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// What is wrong.
    pub kind: FailureKind,
    /// The segment file name.
    pub file: String,
    /// The 1-based line in that file.
    pub line: u64,
    /// The record's `seq`, when it could be read.
    pub seq: Option<u64>,
    /// The record's `kind`, when it could be read.
    pub record_kind: Option<String>,
    /// What was expected and what was found.
    pub detail: String,
}

/// The verification result of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentReport {
    /// The segment file name.
    pub file: String,
    /// Records (complete lines) read.
    pub records: u64,
    /// `seq` of the first record read.
    pub first_seq: Option<u64>,
    /// `seq` of the last record read.
    pub last_seq: Option<u64>,
    /// Whether the segment ends with a seal record.
    pub sealed: bool,
    /// How many failures are in this segment.
    pub failures: usize,
}

impl SegmentReport {
    pub(crate) fn new(file: &str) -> SegmentReport {
        SegmentReport {
            file: file.to_owned(),
            records: 0,
            first_seq: None,
            last_seq: None,
            sealed: false,
            failures: 0,
        }
    }
}

/// The result of verifying a stream directory.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// Per-segment results, in stream order.
    pub segments: Vec<SegmentReport>,
    /// Segments left out because they lie wholly outside the `--from/--to` window.
    pub skipped_segments: usize,
    /// Every failure found, in stream order.
    pub failures: Vec<Failure>,
    /// Whether MACs were checked (a key was given).
    pub mac_checked: bool,
    /// Key ids named by the open records that were read.
    pub trail_key_ids: Vec<String>,
    /// A live writer held the stream's lock and the newest segment ended in a
    /// partial line: a write in progress, not counted as a failure.
    pub write_in_progress: bool,
}

impl Report {
    /// True when no failure was found.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The first failure in stream order.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }
}

/// What to verify and with which key.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::{Key, Timestamp, VerifyOptions};
/// let opts = VerifyOptions::new()
///     .key(Key::generate()?)
///     .from(Timestamp::parse("2026-11-23")?);
/// assert!(opts.key.is_some() && opts.to.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The HMAC key; without it hashes, links and order are checked but not MACs
    /// (so a forger who recomputes SHA-256 goes unnoticed).
    pub key: Option<Key>,
    /// Verify only segments that may hold records at or after this time.
    pub from: Option<Timestamp>,
    /// Verify only segments that may hold records at or before this time.
    pub to: Option<Timestamp>,
}

impl VerifyOptions {
    /// Everything, without a key.
    pub fn new() -> VerifyOptions {
        VerifyOptions::default()
    }

    /// Checks MACs with `key`.
    pub fn key(mut self, key: Key) -> VerifyOptions {
        self.key = Some(key);
        self
    }

    /// Verifies only segments that may hold records at or after `from`.
    pub fn from(mut self, from: Timestamp) -> VerifyOptions {
        self.from = Some(from);
        self
    }

    /// Verifies only segments that may hold records at or before `to`.
    pub fn to(mut self, to: Timestamp) -> VerifyOptions {
        self.to = Some(to);
        self
    }
}
