//! One check per failure kind (docs/FORMAT.md §4). Each returns what was expected
//! and what was found, or `None` when the record passes.

use crate::chain::Chain;
use crate::encode::MAX_LINE_BYTES;
use crate::key::Key;
use crate::record::{FORMAT_VERSION, RecordKind};
use crate::segment::{Line, SegmentName};

use super::integrity::Integrity;
use super::report::FailureKind;

/// Check 1: a final line without `\n` is a torn tail (a write cut short).
pub(super) fn torn_tail(line: &Line<'_>) -> Option<String> {
    (!line.terminated).then(|| {
        format!(
            "expected a newline-terminated record, found {} bytes with no final newline at byte offset {} (a write cut short)",
            line.len(),
            line.offset
        )
    })
}

/// Check 2, first part: no record is longer than [`MAX_LINE_BYTES`].
pub(super) fn overlong(line: &Line<'_>) -> Option<String> {
    line.overlong.map(|len| {
        format!(
            "expected a record of at most {MAX_LINE_BYTES} bytes, found a line of {len} bytes at byte offset {}",
            line.offset
        )
    })
}

/// Check 3: the SHA-256 of the body is the written `hash`.
pub(super) fn hash_mismatch(computed: &[u8; 32], written: &[u8; 32]) -> Option<String> {
    (computed != written).then(|| {
        format!(
            "expected hash {} (SHA-256 of the body), found {}",
            hex::encode(computed),
            hex::encode(written)
        )
    })
}

/// Check 4: with a key, the HMAC of the hash is the written `mac`.
pub(super) fn mac_mismatch(
    key: &Key,
    mac_ok: bool,
    hash: &[u8; 32],
    written: &[u8; 32],
    segment_key_id: Option<&str>,
) -> Option<String> {
    if mac_ok {
        return None;
    }
    let written_with = match segment_key_id {
        Some(id) if id != key.id() => format!("; the segment was written with key id {id}"),
        _ => String::new(),
    };
    Some(format!(
        "expected mac {} (HMAC with key id {}), found {}{written_with}",
        hex::encode(key.mac(hash)),
        key.id(),
        hex::encode(written)
    ))
}

/// Check 6: with a key, an `open` record's `key_id` is the key id of the key given
/// (a record whose MAC failed was reported already: a plain wrong key gives
/// `mac_mismatch` only).
pub(super) fn key_id(key: Option<&Key>, named: Option<&str>) -> Option<String> {
    let (key, named) = (key?, named?);
    (named != key.id()).then(|| {
        format!(
            "expected key id {} (the key given), found key id {named:?} although the MAC verifies with the key given: the trail was MACed again with another key",
            key.id()
        )
    })
}

/// Check 5: the format version is one this verifier knows (1 or 2), and not
/// older than a record before it (a version 2 stream never goes back).
pub(super) fn unknown_version(v: u64, highest: u64) -> Option<String> {
    if !(1..=u64::from(FORMAT_VERSION)).contains(&v) {
        return Some(format!(
            "expected format version 1 to {FORMAT_VERSION}, found {v}"
        ));
    }
    (v < highest).then(|| {
        format!("expected format version {highest} (as the records before it), found {v}: a stream never goes back to an older version")
    })
}

/// Check 5: the kind is one of the version's kinds.
pub(super) fn unknown_kind(kind_text: &str, kind: Option<RecordKind>, v: u64) -> Option<String> {
    match kind {
        Some(RecordKind::Checkpoint | RecordKind::Epoch) if v < 2 => Some(format!(
            "expected kind open, seal, recovery, gap or event in a version 1 record, found {kind_text:?}"
        )),
        Some(_) => None,
        None => Some(format!(
            "expected kind open, seal, recovery, gap, event, checkpoint or epoch, found {kind_text:?}"
        )),
    }
}

/// Check 6 (version 2): every open record carries the stream id of the first,
/// and the same service.
pub(super) fn stream(
    integ: &Integrity,
    v: u64,
    stream: Option<&str>,
    service: Option<&str>,
) -> Option<String> {
    if v >= 2 {
        match stream {
            Some(s)
                if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {}
            other => {
                return Some(format!(
                    "expected the open record to carry the stream id (32 lowercase hexadecimal digits), found {other:?}"
                ));
            }
        }
    }
    if let (Some(known), Some(found)) = (integ.stream.as_deref(), stream)
        && known != found
    {
        return Some(format!(
            "expected stream {known} (the stream of the segments before), found stream {found}: this segment belongs to another stream or to another fork of this one"
        ));
    }
    if integ.stream.is_some() && stream.is_none() {
        return Some(
            "expected the open record to carry the stream id of the segments before, found none"
                .to_owned(),
        );
    }
    if let Some(known) = integ.service.as_deref()
        && service != Some(known)
    {
        return Some(format!(
            "expected service {known:?} (the service of the segments before), found {service:?}"
        ));
    }
    None
}

/// Check 6: an open record names its own file.
pub(super) fn renamed(name: &SegmentName, written: Option<&str>) -> Option<String> {
    (written != Some(name.file_name.as_str())).then(|| {
        format!(
            "expected the open record to name this file ({}), found {written:?}: the segment was renamed or moved",
            name.file_name
        )
    })
}

/// Check 6: a file begins with an open record whose seq is the one in its name.
pub(super) fn bad_first_record(
    name: &SegmentName,
    kind_text: &str,
    kind: Option<RecordKind>,
    seq: u64,
) -> Option<String> {
    if kind != Some(RecordKind::Open) {
        Some(format!(
            "expected the segment to begin with an open record, found kind {kind_text:?}"
        ))
    } else if seq != name.first_seq {
        Some(format!(
            "expected seq {} as the file name says, found {seq}",
            name.first_seq
        ))
    } else {
        None
    }
}

/// Check 6: nothing follows a seal in its file.
pub(super) fn after_seal(sealed_before: bool) -> Option<String> {
    sealed_before.then(|| "expected nothing after the seal record, found another record".to_owned())
}

/// Check 7: `seq` is the expected one; a forward jump at the start of a segment
/// after a sealed one is a missing segment.
pub(super) fn seq(chain: &Chain, seq: u64, first_line: bool) -> Option<(FailureKind, String)> {
    if chain.resync || chain.next_seq == Some(seq) {
        return None;
    }
    let Some(next) = chain.next_seq else {
        return Some((
            FailureKind::SeqGap,
            format!(
                "expected no record after seq {} (the largest seq), found seq {seq}",
                u64::MAX
            ),
        ));
    };
    if first_line && chain.prev_sealed && seq > next {
        Some((
            FailureKind::MissingSegment,
            format!(
                "expected the stream to continue at seq {next}, found a segment starting at {seq}: records {next}..{} are missing",
                seq - 1
            ),
        ))
    } else {
        Some((
            FailureKind::SeqGap,
            format!("expected seq {next}, found {seq}"),
        ))
    }
}

/// Check 8: `prev` is the previous record's written hash.
pub(super) fn prev_mismatch(chain: &Chain, prev: &[u8; 32]) -> Option<String> {
    (!chain.resync && *prev != chain.prev).then(|| {
        format!(
            "expected prev {} (the previous record's hash), found {}",
            hex::encode(chain.prev),
            hex::encode(prev)
        )
    })
}

/// At the end of a segment that has a successor: it must end with a seal.
pub(super) fn unsealed_with_successor(sealed: bool, successor: &SegmentName) -> Option<String> {
    (!sealed).then(|| {
        format!(
            "expected a seal record at the end of a segment that has a successor ({}), found none",
            successor.file_name
        )
    })
}
