//! Regression tests for hostile segments (issue 9, bug 5): an overlong line is one
//! failure with its position, and `seq` never wraps after `u64::MAX`.

use std::path::Path;

use crate::encode::{self, Header, MAX_LINE_BYTES, ZERO_HASH};
use crate::record::RecordKind;
use crate::segment::SegmentName;
use crate::timestamp::{Timestamp, TsCache};
use crate::{ErrorKind, FailureKind, Key, Stream, VerifyOptions, Writer, WriterConfig, verify_dir};

/// The stream id of the crafted segments.
const STREAM: &str = "0123456789abcdef0123456789abcdef";

fn key() -> Key {
    Key::from_bytes([7; 32])
}

/// One encoded record line (with its `\n`) and its hash.
fn line(seq: u64, prev: &[u8; 32], kind: RecordKind, extra: &str) -> (Vec<u8>, [u8; 32]) {
    let mut out = Vec::new();
    encode::begin(
        &mut out,
        &Header {
            seq,
            ts: Timestamp::parse("2026-11-23T00:00:00Z").unwrap(),
            epoch: 0,
            prev,
            kind,
        },
        &mut TsCache::new(),
    );
    out.extend_from_slice(extra.as_bytes());
    let hash = encode::finish(&mut out, 0, &key());
    (out, hash)
}

/// Writes a segment starting at `first_seq` whose records are `kinds` (an open
/// record first), chained from `prev`; returns the last hash.
fn segment(dir: &Path, first_seq: u64, prev: [u8; 32], kinds: &[RecordKind]) -> [u8; 32] {
    let name = SegmentName::new(first_seq, Timestamp::parse("2026-11-23T00:00:00Z").unwrap());
    let mut content = Vec::new();
    let mut prev = prev;
    for (i, kind) in kinds.iter().enumerate() {
        let seq = first_seq.wrapping_add(i as u64); // crafted: may wrap on purpose
        // A version 2 seal carries the tree's frontier: one hash per 1 bit of its
        // seq (taken as written, the trail's start not being read).
        let frontier =
            vec![format!("\"{}\"", "ab".repeat(32)); seq.count_ones() as usize].join(",");
        let extra = match kind {
            RecordKind::Open => format!(
                r#","segment":"{}","service":"t","stream":"{STREAM}","key_id":"{}","reason":"start","writer":"t""#,
                name.file_name,
                key().id()
            ),
            RecordKind::Seal => format!(
                r#","records":{},"reason":"close","tree_size":{seq},"frontier":[{frontier}]"#,
                kinds.len()
            ),
            _ => r#","id":"x","service":"t","action":"a.b","outcome":"success","fields":{}"#
                .to_owned(),
        };
        let (l, h) = line(seq, &prev, *kind, &extra);
        content.extend_from_slice(&l);
        prev = h;
    }
    std::fs::write(dir.join(&name.file_name), content).unwrap();
    prev
}

fn opts() -> VerifyOptions {
    VerifyOptions::new().key(key())
}

#[test]
fn a_line_longer_than_the_maximum_is_one_malformed_line_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let name = SegmentName::new(0, Timestamp::parse("2026-11-23T00:00:00Z").unwrap());
    let (open, _) = line(
        0,
        &ZERO_HASH,
        RecordKind::Open,
        &format!(r#","segment":"{}","stream":"{STREAM}""#, name.file_name),
    );
    let mut content = open;
    content.resize(content.len() + MAX_LINE_BYTES + 1, b'x');
    content.extend_from_slice(b"\n");
    std::fs::write(dir.path().join(&name.file_name), &content).unwrap();
    let report = verify_dir(dir.path(), &opts()).unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let f = &report.failures[0];
    assert_eq!((f.kind, f.line), (FailureKind::MalformedLine, 2));
    assert!(
        f.detail.contains(&format!(
            "expected a record of at most {MAX_LINE_BYTES} bytes, found a line of {} bytes",
            MAX_LINE_BYTES + 1
        )),
        "{}",
        f.detail
    );
    // The reader says the same, and goes on.
    let stream = Stream::open(dir.path()).unwrap();
    let items: Vec<_> = stream.records().collect();
    assert_eq!(items.len(), 2);
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.line_number(), Some(2));
    assert_eq!(
        err.failure().map(|f| f.kind),
        Some(FailureKind::MalformedLine)
    );
}

#[test]
fn a_segment_with_no_newline_is_a_torn_tail_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let name = SegmentName::new(0, Timestamp::parse("2026-11-23T00:00:00Z").unwrap());
    let size = 3 * MAX_LINE_BYTES + 17;
    std::fs::write(dir.path().join(&name.file_name), vec![b'{'; size]).unwrap();
    let mut reader = crate::segment::LineReader::open(
        &crate::storage::FileStorage::new(),
        &dir.path().join(&name.file_name),
    )
    .unwrap();
    let lines = reader.next_batch().unwrap().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].terminated, lines[0].len()), (false, size as u64));
    drop(lines);
    assert!(reader.next_batch().unwrap().is_none());
    let report = verify_dir(dir.path(), &opts()).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].kind, FailureKind::TornTail);
    assert!(
        report.failures[0]
            .detail
            .contains(&format!("found {size} bytes"))
    );
}

#[test]
fn the_verifier_reports_a_record_after_seq_u64_max_instead_of_wrapping() {
    let dir = tempfile::tempdir().unwrap();
    // open at MAX-1, event at MAX, then an event that "wraps" to 0.
    segment(
        dir.path(),
        u64::MAX - 1,
        ZERO_HASH,
        &[RecordKind::Open, RecordKind::Event, RecordKind::Event],
    );
    let report = verify_dir(dir.path(), &opts()).unwrap();
    let kinds: Vec<_> = report.failures.iter().map(|f| (f.kind, f.line)).collect();
    // The first record does not link to the zero hash; the wrap is a seq gap.
    assert!(
        kinds.contains(&(FailureKind::SeqGap, 3)),
        "{:?}",
        report.failures
    );
    let f = report.failures.iter().find(|f| f.line == 3).unwrap();
    assert!(f.detail.contains("the largest seq"), "{}", f.detail);
}

#[test]
fn the_writer_does_not_continue_a_stream_that_ends_at_seq_u64_max() {
    let dir = tempfile::tempdir().unwrap();
    // The writer links the newest segment to the end of the one before it.
    let before = segment(
        dir.path(),
        u64::MAX - 3,
        ZERO_HASH,
        &[RecordKind::Open, RecordKind::Seal],
    );
    segment(
        dir.path(),
        u64::MAX - 1,
        before,
        &[RecordKind::Open, RecordKind::Seal],
    );
    let err = Writer::open(WriterConfig::new(dir.path(), "t", key())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains("the largest seq"), "{err}");
}

#[test]
fn recovery_does_not_overflow_after_a_segment_ending_at_seq_u64_max() {
    let dir = tempfile::tempdir().unwrap();
    let last = segment(
        dir.path(),
        u64::MAX - 1,
        ZERO_HASH,
        &[RecordKind::Open, RecordKind::Seal],
    );
    // A newer segment (by name) whose records wrapped to 0.
    segment(dir.path(), u64::MAX, last, &[RecordKind::Open]);
    let err = Writer::open(WriterConfig::new(dir.path(), "t", key())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}

#[test]
fn the_writer_refuses_to_append_after_seq_u64_max() {
    let dir = tempfile::tempdir().unwrap();
    // Unsealed: open at MAX-2, an event at MAX-1; the recovery record takes MAX.
    let before = segment(
        dir.path(),
        u64::MAX - 4,
        ZERO_HASH,
        &[RecordKind::Open, RecordKind::Seal],
    );
    segment(
        dir.path(),
        u64::MAX - 2,
        before,
        &[RecordKind::Open, RecordKind::Event],
    );
    let mut w = Writer::open(WriterConfig::new(dir.path(), "t", key())).unwrap();
    assert_eq!(w.next_seq(), None);
    let err = w.append(&[crate::Event::new("a.b").into()]).unwrap_err();
    assert!(err.to_string().contains("the largest seq"), "{err}");
    drop(w);
}
