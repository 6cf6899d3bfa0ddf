//! Segment files: names, ordering, and bounded line-by-line reading.

use std::io::{self, Read as _, SeekFrom};
use std::path::{Path, PathBuf};

use crate::encode::MAX_LINE_BYTES;
use crate::error::{Error, Result};
use crate::storage::{ReadFile, Storage};
use crate::timestamp::Timestamp;

/// The name of the lock file in a stream directory.
pub(crate) const LOCK_FILE: &str = ".lock";

/// How much a line reader reads at a time (it grows, up to one maximal line, only
/// for a line longer than this).
const CHUNK: usize = 4 << 20;

/// A segment file of a stream: `seg-<first seq, 20 digits>-<UTC start>.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    pub(crate) fn new(first_seq: u64, start: Timestamp) -> SegmentName {
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
pub(crate) fn list_segments(storage: &dyn Storage, dir: &Path) -> Result<Vec<SegmentName>> {
    let names = storage
        .list(dir)
        .map_err(|e| Error::io(dir, "cannot read stream directory", e))?;
    let mut out: Vec<SegmentName> = names
        .iter()
        .filter_map(|n| n.to_str().and_then(SegmentName::parse))
        .collect();
    out.sort_by(|a, b| (a.first_seq, &a.file_name).cmp(&(b.first_seq, &b.file_name)));
    Ok(out)
}

/// An entry of a stream directory named like a segment that is not a regular file
/// (a FIFO, a directory, a symlink, a socket or a device): never opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotASegment {
    /// Its name.
    pub name: SegmentName,
    /// What it is (`"FIFO"`, `"directory"`, `"symlink"`, …).
    pub what: &'static str,
}

impl NotASegment {
    /// What is wrong with it, for a report or an error.
    pub(crate) fn describe(&self) -> String {
        format!(
            "expected a regular file named like a segment, found a {}: not opened, not verified (move it out of the stream directory)",
            self.what
        )
    }
}

/// Lists the segments of a stream directory in stream order, apart from the
/// entries named like segments that are not regular files (looked at with
/// `lstat`, never opened: a FIFO cannot block, a symlink is not followed).
///
/// # Errors
/// The directory cannot be read, or an entry cannot be looked at (other than one
/// removed meanwhile, which is left out).
pub(crate) fn list_stream(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<(Vec<SegmentName>, Vec<NotASegment>)> {
    let mut segments = Vec::new();
    let mut others = Vec::new();
    for name in list_segments(storage, dir)? {
        let path = segment_path(dir, &name);
        match storage.not_regular(&path) {
            Ok(None) => segments.push(name),
            Ok(Some(what)) => others.push(NotASegment { name, what }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, "cannot look at segment", e)),
        }
    }
    Ok((segments, others))
}

/// The path of a segment in a stream directory.
pub(crate) fn segment_path(dir: &Path, name: &SegmentName) -> PathBuf {
    dir.join(&name.file_name)
}

/// One line of a segment file, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The line's bytes without the `\n` (empty for an overlong line).
    pub bytes: &'a [u8],
    /// False for a final line that has no `\n` (a torn tail).
    pub terminated: bool,
    /// `Some(length)` for a line longer than [`MAX_LINE_BYTES`]: its bytes were
    /// skipped, not kept.
    pub overlong: Option<u64>,
}

impl Line<'_> {
    /// The line's length in bytes, without the `\n`.
    pub(crate) fn len(&self) -> u64 {
        self.overlong.unwrap_or(self.bytes.len() as u64)
    }
}

/// Reads a file line by line, in large chunks, with bounded memory: a line longer
/// than [`MAX_LINE_BYTES`] is skipped and reported as overlong, never buffered.
pub(crate) struct LineReader {
    file: Box<dyn ReadFile>,
    path: PathBuf,
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
    number: u64,
    /// File offset of `buf[consumed]` (or of the overlong line being skipped).
    offset: u64,
    /// Bytes of an overlong line skipped so far.
    overlong: Option<u64>,
    done: bool,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader")
            .field("path", &self.path)
            .field("line", &self.number)
            .finish_non_exhaustive()
    }
}

impl LineReader {
    /// Opens `path` through `storage`.
    pub(crate) fn open(storage: &dyn Storage, path: &Path) -> Result<LineReader> {
        let file = storage
            .open_read(path)
            .map_err(|e| Error::io(path, "cannot open segment", e))?;
        Ok(LineReader {
            file,
            path: path.to_path_buf(),
            buf: vec![0u8; CHUNK.min(MAX_LINE_BYTES + 1)],
            filled: 0,
            consumed: 0,
            number: 0,
            offset: 0,
            overlong: None,
            done: false,
        })
    }

    fn read_more(&mut self) -> Result<usize> {
        loop {
            match self.file.read(&mut self.buf[self.filled..]) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, "cannot read segment", e)),
            }
        }
    }

    /// The next lines, in order (at least one); `None` at the end of the file.
    pub(crate) fn next_batch(&mut self) -> Result<Option<Vec<Line<'_>>>> {
        if self.done {
            return Ok(None);
        }
        let spans = self.next_spans()?;
        if spans.is_empty() {
            return Ok(None);
        }
        let buf = &self.buf;
        Ok(Some(
            spans
                .into_iter()
                .map(|s| Line {
                    number: s.number,
                    offset: s.offset,
                    bytes: &buf[s.start..s.end],
                    terminated: s.terminated,
                    overlong: s.overlong,
                })
                .collect(),
        ))
    }

    /// Reads until at least one line ends (or the file does); the lines as spans
    /// of `buf`.
    fn next_spans(&mut self) -> Result<Vec<Span>> {
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        let mut spans = Vec::new();
        loop {
            if self.overlong.is_none() && self.filled == self.buf.len() {
                if self.buf.len() <= MAX_LINE_BYTES {
                    // One line is longer than the buffer: grow it, up to one maximal line.
                    let len = (self.buf.len() * 2).min(MAX_LINE_BYTES + 1);
                    self.buf.resize(len, 0);
                } else {
                    // Longer than any record may be: skip it, keeping only its length.
                    self.overlong = Some(self.filled as u64);
                    self.filled = 0;
                }
            }
            let n = self.read_more()?;
            let eof = n == 0;
            self.filled += n;
            let mut start = 0usize;
            if let Some(skipped) = self.overlong {
                match memchr::memchr(b'\n', &self.buf[..self.filled]) {
                    Some(pos) => {
                        self.number += 1;
                        let len = skipped + pos as u64;
                        spans.push(Span::overlong(self.number, self.offset, len, true));
                        self.offset += len + 1;
                        self.overlong = None;
                        start = pos + 1;
                    }
                    None if eof => {
                        self.number += 1;
                        let len = skipped + self.filled as u64;
                        spans.push(Span::overlong(self.number, self.offset, len, false));
                        self.done = true;
                        self.overlong = None;
                        self.filled = 0;
                        return Ok(spans);
                    }
                    None => {
                        self.overlong = Some(skipped + self.filled as u64);
                        self.filled = 0;
                        continue;
                    }
                }
            }
            while let Some(i) = memchr::memchr(b'\n', &self.buf[start..self.filled]) {
                let pos = start + i;
                self.number += 1;
                spans.push(Span {
                    number: self.number,
                    offset: self.offset,
                    start,
                    end: pos,
                    terminated: true,
                    overlong: None,
                });
                self.offset += (pos - start) as u64 + 1;
                start = pos + 1;
            }
            if eof {
                if start < self.filled {
                    self.number += 1;
                    spans.push(Span {
                        number: self.number,
                        offset: self.offset,
                        start,
                        end: self.filled,
                        terminated: false,
                        overlong: None,
                    });
                }
                self.done = true;
                self.consumed = self.filled;
                return Ok(spans);
            }
            if !spans.is_empty() {
                self.consumed = start;
                return Ok(spans);
            }
        }
    }
}

/// Where a line lies in the reader's buffer.
#[derive(Debug, Clone, Copy)]
struct Span {
    number: u64,
    offset: u64,
    start: usize,
    end: usize,
    terminated: bool,
    overlong: Option<u64>,
}

impl Span {
    fn overlong(number: u64, offset: u64, len: u64, terminated: bool) -> Span {
        Span {
            number,
            offset,
            start: 0,
            end: 0,
            terminated,
            overlong: Some(len),
        }
    }
}

/// Calls `f` with the lines of the file a few MiB at a time, in order. The last line
/// of the last call may be unterminated (a torn tail).
#[cfg(test)]
pub(crate) fn for_each_chunk(
    storage: &dyn Storage,
    path: &Path,
    mut f: impl FnMut(&[Line<'_>]),
) -> Result<()> {
    let mut reader = LineReader::open(storage, path)?;
    while let Some(lines) = reader.next_batch()? {
        f(&lines);
    }
    Ok(())
}

/// The last complete (`\n`-terminated) line of a file, read from its end. Bytes
/// after the last `\n` (a torn tail) are ignored. `None` when the file has no
/// complete line, or when that line is longer than [`MAX_LINE_BYTES`].
pub(crate) fn last_complete_line(storage: &dyn Storage, path: &Path) -> Result<Option<Vec<u8>>> {
    let io_err = |e| Error::io(path, "cannot read segment", e);
    let mut file = storage
        .open_read(path)
        .map_err(|e| Error::io(path, "cannot open segment", e))?;
    let len = file.seek(SeekFrom::End(0)).map_err(io_err)?;
    let chunk = 64 * 1024u64;
    let read_at = |file: &mut Box<dyn ReadFile>, start: u64, end: u64| -> Result<Vec<u8>> {
        let mut part = vec![0u8; usize::try_from(end - start).unwrap_or(usize::MAX)];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut part))
            .map_err(io_err)?;
        Ok(part)
    };
    // Find the final '\n', keeping nothing of the torn tail after it.
    let mut pos = len;
    let end = loop {
        if pos == 0 {
            return Ok(None);
        }
        let start = pos.saturating_sub(chunk);
        let part = read_at(&mut file, start, pos)?;
        if let Some(i) = memchr::memrchr(b'\n', &part) {
            break start + i as u64;
        }
        pos = start;
    };
    // Then the '\n' before it, keeping at most one maximal line.
    let mut line: Vec<u8> = Vec::new();
    let mut pos = end;
    loop {
        if pos == 0 {
            return Ok(Some(line));
        }
        let start = pos.saturating_sub(chunk);
        let mut part = read_at(&mut file, start, pos)?;
        if let Some(i) = memchr::memrchr(b'\n', &part) {
            part.drain(..=i);
            part.extend_from_slice(&line);
            return Ok((part.len() <= MAX_LINE_BYTES).then_some(part));
        }
        part.extend_from_slice(&line);
        line = part;
        if line.len() > MAX_LINE_BYTES {
            return Ok(None);
        }
        pos = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FileStorage;
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
        let mut f = std::fs::File::create(&p).unwrap();
        write!(f, "a\n{long}\ntorn").unwrap();
        let s = FileStorage::new();
        assert_eq!(
            last_complete_line(&s, &p).unwrap().unwrap(),
            long.as_bytes()
        );
        std::fs::write(&p, "only\n").unwrap();
        assert_eq!(last_complete_line(&s, &p).unwrap(), Some(b"only".to_vec()));
        std::fs::write(&p, "torn").unwrap();
        assert_eq!(last_complete_line(&s, &p).unwrap(), None);
    }

    /// Number, offset, bytes, terminated, overlong length.
    type Seen = (u64, u64, Vec<u8>, bool, Option<u64>);

    fn all_lines(p: &Path) -> Vec<Seen> {
        let mut seen = Vec::new();
        for_each_chunk(&FileStorage::new(), p, |lines| {
            for l in lines {
                seen.push((
                    l.number,
                    l.offset,
                    l.bytes.to_vec(),
                    l.terminated,
                    l.overlong,
                ));
            }
        })
        .unwrap();
        seen
    }

    #[test]
    fn for_each_line_reports_the_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a\nbb\nccc").unwrap();
        assert_eq!(
            all_lines(&p),
            vec![
                (1, 0, b"a".to_vec(), true, None),
                (2, 2, b"bb".to_vec(), true, None),
                (3, 5, b"ccc".to_vec(), false, None)
            ]
        );
    }

    #[test]
    fn overlong_lines_are_skipped_with_their_position_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let long = MAX_LINE_BYTES + 10;
        let mut content = b"a\n".to_vec();
        content.resize(2 + long, b'x');
        content.extend_from_slice(b"\nb\n");
        let at = content.len();
        content.resize(at + long + 5, b'y'); // an overlong torn tail
        std::fs::write(&p, &content).unwrap();
        let long = long as u64;
        assert_eq!(
            all_lines(&p),
            vec![
                (1, 0, b"a".to_vec(), true, None),
                (2, 2, vec![], true, Some(long)),
                (3, 3 + long, b"b".to_vec(), true, None),
                (4, 5 + long, vec![], false, Some(long + 5)),
            ]
        );
    }
}
