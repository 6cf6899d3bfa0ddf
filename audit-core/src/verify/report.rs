//! What verification found: failures, per-segment results, the report, and the
//! options that choose what to verify.

use crate::key::Key;
use crate::note::VerifierKey;
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
    /// The record's format version is not one this verifier knows, or is older
    /// than the records before it.
    UnknownVersion,
    /// A record's key epoch does not fit its position: epochs change only at an
    /// `epoch` record (or where a writer starts) and never go back.
    EpochMismatch,
    /// An open record names another stream (or service) than the segments before it.
    StreamMismatch,
    /// The Merkle tree of the records differs from what a checkpoint (or a seal)
    /// of the same size commits to: records were changed after it was signed.
    CheckpointMismatch,
    /// A checkpoint's signature does not verify with the verifier key given (or a
    /// required witness cosignature is missing).
    BadSignature,
    /// The trail holds fewer records than a copied checkpoint commits to: records
    /// were cut off its end.
    Truncated,
    /// The trail is not an extension of a copied checkpoint: it was rolled back to
    /// an older copy and continued, or forked.
    Inconsistent,
    /// An entry of the stream directory is named like a segment but is not a
    /// regular file (a FIFO, a directory, a symlink, a socket or a device): it was
    /// not opened, and the records it stands for are not verified. Reported at
    /// line 0 of that name.
    NotASegment,
    /// With a key, an `open` record names another key id than the key given's,
    /// although its MAC verifies with that key: the trail was MACed again with
    /// another key (a plain wrong key fails every MAC instead).
    KeyMismatch,
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
            FailureKind::EpochMismatch => "epoch_mismatch",
            FailureKind::StreamMismatch => "stream_mismatch",
            FailureKind::CheckpointMismatch => "checkpoint_mismatch",
            FailureKind::BadSignature => "bad_signature",
            FailureKind::Truncated => "truncated",
            FailureKind::Inconsistent => "inconsistent",
            FailureKind::NotASegment => "not_a_segment",
            FailureKind::KeyMismatch => "key_mismatch",
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

/// What shows that the verified records are all there is: that nothing was cut off
/// the end ([FORMAT.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/format/index.html) §4, "The end of a trail").
///
/// The chain proves every record links to the one before it, but not that the last
/// record read is the last one written: deleting the newest segment, or the last
/// lines of a segment (its seal included), leaves a chain that verifies. Until
/// signed checkpoints can prove the end, a report says what it has.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// The last segment verified ends with a seal that does not announce a missing
    /// successor: a seal whose reason is not `rotate` (`close`: the writer shut
    /// down), or any seal of a segment that the stream continues after (a window
    /// that stops before the newest segment).
    Sealed,
    /// The newest segment is open (unsealed, or sealed for a rotation whose next
    /// segment is not created yet) and a live writer holds the stream's lock: the
    /// trail is being written. Records it writes after the verification are not
    /// covered.
    LiveWriter,
    /// Nothing shows the trail was not cut: the newest segment is unsealed, or
    /// sealed for a rotation whose next segment is missing, and no writer holds the
    /// lock. The records read may all verify; this is not tampering, but the end
    /// is not proven.
    NotProven {
        /// Why: which segment, what it ends with, what is missing.
        reason: String,
    },
}

impl End {
    /// The name used in `--json` output: `sealed`, `live_writer` or `not_proven`.
    pub fn as_str(&self) -> &'static str {
        match self {
            End::Sealed => "sealed",
            End::LiveWriter => "live_writer",
            End::NotProven { .. } => "not_proven",
        }
    }

    /// True unless the end is [`End::NotProven`].
    pub fn is_proven(&self) -> bool {
        !matches!(self, End::NotProven { .. })
    }
}

impl Default for End {
    /// Not proven: nothing was verified.
    fn default() -> End {
        End::NotProven {
            reason: "no segment was verified".to_owned(),
        }
    }
}

/// The result of verifying a stream directory.
///
/// Two questions, answered apart: were the records read tampered with or
/// corrupted ([`Report::ok`]), and is the end of the trail proven
/// ([`Report::end_proven`], [`Report::end`])? `audit verify` exits 0 only when
/// both answers are good (and no time gap was found), 1 on tampering, 3 when the
/// records are intact but the end is not proven, 4 when only time gaps were found
/// ([`Report::time_gaps`]).
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
    /// Whether the end of what was verified is proven (see [`End`]).
    pub end: End,
    /// With a `--from/--to` window, how many of the records read have a `ts` inside
    /// it (`Some(0)`: the window holds no record); `None` without a window.
    pub records_in_window: Option<u64>,
    /// The stream id carried by the open records (version 2), if any was read.
    pub stream: Option<String>,
    /// The service named by the open records read.
    pub service: Option<String>,
    /// Records whose MAC could not be checked because their key epoch is earlier
    /// than the key given (give the initial key, kept offline, to check them).
    pub macs_unchecked: u64,
    /// In-trail `checkpoint` records read, and how many of their signatures were
    /// checked (with [`VerifyOptions::pubkey`]).
    pub checkpoint_records: u64,
    /// Signatures of in-trail checkpoints checked with the verifier key.
    pub signatures_checked: u64,
    /// The Merkle tree of the records read (size and root), when the
    /// verification began at the first record or a seal gave it.
    pub tree: Option<(u64, [u8; 32])>,
    /// The size of the copied checkpoint the trail was found to extend
    /// ([`VerifyOptions::checkpoint`]).
    pub checkpoint_verified: Option<u64>,
    /// With [`VerifyOptions::max_gap`], the periods longer than it without any
    /// record (the first [`MAX_TIME_GAPS`], in stream order). Not failures: the
    /// records around a gap may all verify; see [`Report::time_gaps_found`].
    pub time_gaps: Vec<TimeGap>,
    /// How many time gaps were found (also those beyond [`MAX_TIME_GAPS`]).
    pub time_gaps_found: u64,
}

/// The most time gaps a [`Report`] lists (it counts them all).
pub const MAX_TIME_GAPS: usize = 1000;

/// A period longer than [`VerifyOptions::max_gap`] between the `ts` of two
/// consecutive records read, named by the record after it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeGap {
    /// The segment file name of the record after the gap.
    pub file: String,
    /// Its 1-based line in that file.
    pub line: u64,
    /// Its `seq`.
    pub seq: u64,
    /// The `ts` of the record before the gap.
    pub after: Timestamp,
    /// The `ts` of the record after the gap.
    pub until: Timestamp,
}

impl TimeGap {
    /// The length of the gap.
    pub fn duration(&self) -> std::time::Duration {
        let micros = self
            .until
            .unix_micros()
            .saturating_sub(self.after.unix_micros());
        std::time::Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }
}

impl Report {
    /// True when no failure was found: no tampering or corruption in the records
    /// read. It says nothing about records cut off the end; see
    /// [`Report::end_proven`].
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// True when the end of the trail is proven: sealed by its writer, or held
    /// open by a live writer ([`End::Sealed`], [`End::LiveWriter`]). False for
    /// [`End::NotProven`], which is not a failure: see [`Report::end`].
    pub fn end_proven(&self) -> bool {
        self.end.is_proven()
    }

    /// The first failure in stream order.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    /// True when a time gap was found ([`VerifyOptions::max_gap`]).
    pub fn has_time_gaps(&self) -> bool {
        self.time_gaps_found > 0
    }
}

/// What to verify and with which key.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::storage::{Key, Timestamp};
/// use tracing_audit::verify::VerifyOptions;
///
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
    /// The checkpoint signer's verifier key: checks the signature of every
    /// in-trail checkpoint and of [`VerifyOptions::checkpoint`].
    pub pubkey: Option<VerifierKey>,
    /// A copied checkpoint (the signed note's text, and a name for it in
    /// reports): the trail must extend it (`truncated`, `checkpoint_mismatch`,
    /// `inconsistent`, `bad_signature`, `stream_mismatch` otherwise).
    pub checkpoint: Option<(String, String)>,
    /// Witnesses whose cosignature the copied checkpoint must carry.
    pub witnesses: Vec<VerifierKey>,
    /// Verify only the segments holding the last `n` records (at least one),
    /// linked to the record before them as a window is; [`Report::records_in_window`]
    /// counts the records from the `n`-th last `seq` on. Takes the place of
    /// `from`/`to`.
    pub last: Option<u64>,
    /// Report every period longer than this between the `ts` of two consecutive
    /// records read ([`Report::time_gaps`]).
    pub max_gap: Option<std::time::Duration>,
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

    /// Checks checkpoint signatures with `key` (the signer's verifier key).
    pub fn pubkey(mut self, key: VerifierKey) -> VerifyOptions {
        self.pubkey = Some(key);
        self
    }

    /// Requires the trail to extend the checkpoint whose signed note is `note`
    /// (`name` names it in reports, say its file name). Its signature is checked
    /// only with [`VerifyOptions::pubkey`]: without it, anyone could have written
    /// the note (`audit verify` requires both).
    pub fn checkpoint(mut self, name: impl Into<String>, note: impl Into<String>) -> VerifyOptions {
        self.checkpoint = Some((name.into(), note.into()));
        self
    }

    /// Requires a cosignature of the copied checkpoint by the witness `key`.
    pub fn witness(mut self, key: VerifierKey) -> VerifyOptions {
        self.witnesses.push(key);
        self
    }

    /// Verifies only the segments holding the last `n` records (see
    /// [`VerifyOptions::last`]).
    pub fn last(mut self, n: u64) -> VerifyOptions {
        self.last = Some(n);
        self
    }

    /// Reports periods longer than `gap` without any record.
    pub fn max_gap(mut self, gap: std::time::Duration) -> VerifyOptions {
        self.max_gap = Some(gap);
        self
    }
}
