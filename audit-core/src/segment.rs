//! Segment files: names, ordering, and line-by-line reading.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::timestamp::Timestamp;

/// The name of the lock file in a stream directory.
pub const LOCK_FILE: &str = ".lock";

/// A segment file of a stream: `seg-<first seq, 20 digits>-<UTC start>.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentName {
    /// The file name.
    pub file_name: String,
    /// The `seq` of the segment's first (open) record, from the name.
    pub first_seq: u64,
    /// When the segment was opened (second precision), from the name.
    pub start: Timestamp,
}

impl SegmentName {
    /// The name of a segment whose first record has `first_seq`, opened at `start`.
    pub fn new(first_seq: u64, start: Timestamp) -> SegmentName {
        SegmentName {
            file_name: format!("seg-{first_seq:020}-{}.jsonl", start.compact()),
            first_seq,
            start,
        }
    }

    /// Parses a file name; `None` when it is not a segment name.
    pub fn parse(file_name: &str) -> Option<SegmentName> {
        let rest = file_name.strip_prefix("seg-")?.strip_suffix(".jsonl")?;
        let (seq, ts) = rest.split_once('-')?;
        if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(SegmentName {
            file_name: file_name.to_owned(),
            first_seq: seq.parse().ok()?,
            start: Timestamp::parse_compact(ts)?,
        })
    }
}

/// Lists the segments of a stream directory in stream order (by first `seq`).
///
/// Files that are not segments (the lock file, notes an operator left) are ignored.
///
/// # Errors
/// [`crate::ErrorKind::Io`] when the directory cannot be read.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentName>> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot read stream directory", e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, "cannot read stream directory", e))?;
        if let Some(name) = entry.file_name().to_str().and_then(SegmentName::parse) {
            out.push(name);
        }
    }
    out.sort_by(|a, b| (a.first_seq, &a.file_name).cmp(&(b.first_seq, &b.file_name)));
    Ok(out)
}

/// One line of a segment file, as read.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The line's bytes without the `\n`.
    pub bytes: &'a [u8],
    /// False for a final line that has no `\n` (a torn tail).
    pub terminated: bool,
}

/// Calls `f` for each line of the file, in order, reading in large chunks.
///
/// # Errors
/// [`crate::ErrorKind::Io`] naming the file.
pub fn for_each_line(path: &Path, mut f: impl FnMut(Line<'_>)) -> Result<()> {
    for_each_chunk(path, |lines| {
        for l in lines {
            f(Line { ..*l });
        }
    })
}

/// Calls `f` with the lines of the file a few MiB at a time, in order. The last line
/// of the last call may be unterminated (a torn tail).
///
/// # Errors
/// [`crate::ErrorKind::Io`] naming the file.
pub fn for_each_chunk(path: &Path, mut f: impl FnMut(&[Line<'_>])) -> Result<()> {
    let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open segment", e))?;
    let mut buf = vec![0u8; 1 << 22];
    let mut filled = 0usize;
    let mut number = 0u64;
    let mut offset = 0u64;
    let mut capacity = 1024;
    loop {
        if filled == buf.len() {
            // One line is longer than the buffer: grow it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = file
            .read(&mut buf[filled..])
            .map_err(|e| Error::io(path, "cannot read segment", e))?;
        let eof = n == 0;
        filled += n;
        let mut start = 0usize;
        let mut lines = Vec::with_capacity(capacity);
        for pos in memchr::memchr_iter(b'\n', &buf[..filled]) {
            number += 1;
            lines.push(Line {
                number,
                offset,
                bytes: &buf[start..pos],
                terminated: true,
            });
            offset += (pos - start) as u64 + 1;
            start = pos + 1;
        }
        if eof && start < filled {
            number += 1;
            lines.push(Line {
                number,
                offset,
                bytes: &buf[start..filled],
                terminated: false,
            });
        }
        f(&lines);
        capacity = capacity.max(lines.len());
        drop(lines);
        if eof {
            return Ok(());
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

/// The last complete (`\n`-terminated) line of a file and its 1-based line number is
/// not known cheaply, so this returns the line's bytes and its byte offset.
/// Bytes after the last `\n` (a torn tail) are ignored.
///
/// # Errors
/// [`crate::ErrorKind::Io`] naming the file.
pub fn last_complete_line(path: &Path) -> Result<Option<(Vec<u8>, u64)>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open segment", e))?;
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| Error::io(path, "cannot read segment", e))?;
    let mut end: Option<u64> = None; // offset of the final '\n'
    let mut tail: Vec<u8> = Vec::new(); // bytes from `pos` to the end
    let mut pos = len;
    let chunk = 64 * 1024u64;
    while pos > 0 {
        let start = pos.saturating_sub(chunk);
        let mut part = vec![0u8; usize::try_from(pos - start).unwrap_or(usize::MAX)];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut part))
            .map_err(|e| Error::io(path, "cannot read segment", e))?;
        part.extend_from_slice(&tail);
        tail = part;
        pos = start;
        let search_to = match end {
            Some(e) => usize::try_from(e - pos).unwrap_or(usize::MAX),
            None => match memchr::memrchr(b'\n', &tail) {
                Some(i) => {
                    end = Some(pos + i as u64);
                    i
                }
                None => continue,
            },
        };
        if let Some(i) = memchr::memrchr(b'\n', &tail[..search_to]) {
            return Ok(Some((tail[i + 1..search_to].to_vec(), pos + i as u64 + 1)));
        }
        if pos == 0 {
            return Ok(Some((tail[..search_to].to_vec(), 0)));
        }
    }
    Ok(None)
}

/// Opens a directory and fsyncs it, so that a create, rename or remove in it is durable.
///
/// # Errors
/// [`crate::ErrorKind::Io`] naming the directory.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "cannot fsync directory", e))
}

/// The path of a segment in a stream directory.
pub fn segment_path(dir: &Path, name: &SegmentName) -> PathBuf {
    dir.join(&name.file_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn names_round_trip_and_sort_by_seq() {
        let t = Timestamp::parse("2026-11-23T08:09:10Z").unwrap();
        let n = SegmentName::new(42, t);
        assert_eq!(
            n.file_name,
            "seg-00000000000000000042-20261123T080910Z.jsonl"
        );
        assert_eq!(SegmentName::parse(&n.file_name), Some(n));
        assert_eq!(SegmentName::parse("seg-42-20261123T080910Z.jsonl"), None);
        assert_eq!(SegmentName::parse(".lock"), None);
    }

    #[test]
    fn last_complete_line_skips_a_torn_tail_and_spans_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let long = "x".repeat(200_000);
        let mut f = File::create(&p).unwrap();
        write!(f, "a\n{long}\ntorn").unwrap();
        let (line, off) = last_complete_line(&p).unwrap().unwrap();
        assert_eq!(line, long.as_bytes());
        assert_eq!(off, 2);
        std::fs::write(&p, "only\n").unwrap();
        assert_eq!(last_complete_line(&p).unwrap(), Some((b"only".to_vec(), 0)));
        std::fs::write(&p, "torn").unwrap();
        assert_eq!(last_complete_line(&p).unwrap(), None);
    }

    #[test]
    fn for_each_line_reports_the_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a\nbb\nccc").unwrap();
        let mut seen = Vec::new();
        for_each_line(&p, |l| {
            seen.push((l.number, l.offset, l.bytes.to_vec(), l.terminated))
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (1, 0, b"a".to_vec(), true),
                (2, 2, b"bb".to_vec(), true),
                (3, 5, b"ccc".to_vec(), false)
            ]
        );
    }
}
