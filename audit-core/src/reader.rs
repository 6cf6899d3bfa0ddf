//! Reading a stream: its segments and records, raw or verified, with bounded memory.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chain::Chain;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::lock::writer_is_live;
use crate::parse::{header, split_line};
use crate::record::RecordKind;
use crate::segment::{Line, LineReader, SegmentName, list_segments, segment_path};
use crate::storage::{FileStorage, Storage};
use crate::verify::{EpochKeys, Failure, FailureKind, Integrity, SegmentScan};

/// A stream directory opened for reading: its segments, in stream order, as they
/// were when it was opened.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::storage::{Event, Key, RecordKind, Stream, Writer, WriterConfig};
/// let dir = tempfile::tempdir()?;
/// let key = Key::generate()?;
/// let mut w = Writer::open(WriterConfig::new(dir.path(), "billing", key.clone()))?;
/// w.append(&[Event::new("invoice.paid").into()])?;
/// w.close()?;
///
/// let stream = Stream::open(dir.path())?;
/// let kinds = stream
///     .verified(Some(key))
///     .map(|r| r.map(|r| r.kind))
///     .collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(kinds, [Some(RecordKind::Open), Some(RecordKind::Event), Some(RecordKind::Seal)]);
/// let event = stream.records().nth(1).unwrap()?.json()?;
/// assert_eq!(event["action"], "invoice.paid");
/// # Ok(()) }
/// ```
pub struct Stream {
    dir: PathBuf,
    segments: Vec<SegmentName>,
    storage: Arc<dyn Storage>,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("dir", &self.dir)
            .field("segments", &self.segments.len())
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// Opens the stream directory `dir` on the real file system and lists its
    /// segments.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] when the directory cannot be read.
    pub fn open(dir: impl AsRef<Path>) -> Result<Stream> {
        Stream::open_with(dir, Arc::new(FileStorage::new()))
    }

    /// Like [`Stream::open`], through another [`Storage`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] when the directory cannot be read.
    pub fn open_with(dir: impl AsRef<Path>, storage: Arc<dyn Storage>) -> Result<Stream> {
        let dir = dir.as_ref().to_path_buf();
        let segments = list_segments(&*storage, &dir)?;
        Ok(Stream {
            dir,
            segments,
            storage,
        })
    }

    /// The stream directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segments, in stream order.
    pub fn segments(&self) -> &[SegmentName] {
        &self.segments
    }

    /// The path of a segment of this stream.
    pub fn segment_path(&self, segment: &SegmentName) -> PathBuf {
        segment_path(&self.dir, segment)
    }

    /// Every record line, in stream order, as written: nothing is checked beyond
    /// the line's shape. A line that is not a record (torn, too long, no hash/mac
    /// suffix, no header) is an `Err` item naming its file and line, and reading
    /// goes on with the next line.
    pub fn records(&self) -> Records<'_> {
        Records::new(self, None, false)
    }

    /// The records of the segments `range` (indices into [`Stream::segments`]),
    /// raw as [`Stream::records`] gives them: the other segments are not opened.
    pub fn records_of(&self, range: std::ops::Range<usize>) -> Records<'_> {
        let mut r = Records::new(self, None, false);
        r.next_segment = range.start.min(self.segments.len());
        r.end_segment = range.end.min(self.segments.len());
        r
    }

    /// The record of `seq`, read from the one segment that holds it (found by the
    /// segment names), not checked beyond its own line: `None` when no segment
    /// holds it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the line of that seq is not a record;
    /// [`crate::ErrorKind::Io`].
    pub fn record(&self, seq: u64) -> Result<Option<Record>> {
        let Some(i) = self.segments.iter().rposition(|s| s.first_seq <= seq) else {
            return Ok(None);
        };
        let name = &self.segments[i];
        let file: Arc<str> = name.file_name.as_str().into();
        let mut reader = LineReader::open(&*self.storage, &self.segment_path(name))?;
        while let Some(lines) = reader.next_batch()? {
            for line in lines.iter() {
                let r = record(name, &file, line).map_err(|f| Error::from_failure(&self.dir, f))?;
                if r.seq == seq {
                    return Ok(Some(r));
                }
            }
        }
        Ok(None)
    }

    /// Every record, in stream order, checked as `verify_dir` checks them (hash,
    /// MAC with `key`, `prev`, `seq`, segment order). The first failure is an `Err`
    /// item (its [`Error::failure`] says what and where) and ends the iteration.
    /// A torn tail of the newest segment while a writer holds the stream's lock is
    /// a write in progress: the iteration ends there without an error.
    pub fn verified(&self, key: Option<Key>) -> Records<'_> {
        Records::new(self, key, true)
    }
}

/// One record line of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The segment file name.
    pub segment: Arc<str>,
    /// The 1-based line number in the segment.
    pub line: u64,
    /// The byte offset of the line in the segment.
    pub offset: u64,
    /// The record's `seq`.
    pub seq: u64,
    /// The record's `kind`; `None` for a kind this version does not know.
    pub kind: Option<RecordKind>,
    /// The written `hash`.
    pub hash: [u8; 32],
    /// The line's bytes, without the `\n`.
    pub raw: Vec<u8>,
}

impl Record {
    /// The whole record (hash and mac included) parsed as JSON.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the line is not valid JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.raw).map_err(|e| {
            Error::new(
                crate::ErrorKind::Corrupt,
                format!("expected a JSON object, found invalid JSON: {e}"),
            )
            .at(&*self.segment)
            .line(self.line)
        })
    }

    /// The body (what `hash` covers: every member but `hash` and `mac`) parsed as JSON.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the body is not valid JSON.
    pub fn body(&self) -> Result<serde_json::Value> {
        let mut body = self.raw[..self.raw.len() - crate::SUFFIX_LEN].to_vec();
        body.push(b'}');
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                crate::ErrorKind::Corrupt,
                format!("expected a JSON object as the body, found invalid JSON: {e}"),
            )
            .at(&*self.segment)
            .line(self.line)
        })
    }

    /// The line as text (records are UTF-8); `None` when it is not UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.raw).ok()
    }
}

/// A check of a raw line before a record is made of it.
type KeepLine<'s> = Box<dyn Fn(&[u8]) -> bool + 's>;

/// The records of a [`Stream`], raw or verified (see [`Stream::records`] and
/// [`Stream::verified`]). Memory is bounded by one read chunk: a line longer than
/// [`crate::MAX_LINE_BYTES`] is an error item, never buffered.
pub struct Records<'s> {
    stream: &'s Stream,
    integ: Integrity,
    verify: bool,
    next_segment: usize,
    /// The segments read are those before this index.
    end_segment: usize,
    reader: Option<(LineReader, SegmentScan, Arc<str>)>,
    pending: VecDeque<Result<Record>>,
    chain: Chain,
    failures: Vec<Failure>,
    done: bool,
    /// Whole lines for which this is false are passed over before a record is
    /// made of them (a query's cheap pre-check); `None`: none are.
    keep: Option<KeepLine<'s>>,
}

impl fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("dir", &self.stream.dir)
            .field("verify", &self.verify)
            .field("next_segment", &self.next_segment)
            .finish_non_exhaustive()
    }
}

impl<'s> Records<'s> {
    fn new(stream: &'s Stream, key: Option<Key>, verify: bool) -> Records<'s> {
        Records {
            stream,
            integ: Integrity {
                keys: key.map(EpochKeys::new),
                ..Integrity::default()
            },
            verify,
            next_segment: 0,
            end_segment: stream.segments.len(),
            reader: None,
            pending: VecDeque::new(),
            chain: Chain::start(),
            failures: Vec::new(),
            done: false,
            keep: None,
        }
    }

    /// Passes over every whole line for which `keep` is false, before a record
    /// is made of it (unverified reading only: a query's cheap pre-check).
    pub(crate) fn keeping(mut self, keep: impl Fn(&[u8]) -> bool + 's) -> Records<'s> {
        debug_assert!(!self.verify);
        self.keep = Some(Box::new(keep));
        self
    }

    /// Reads the next batch of lines into `pending` (or moves to the next segment).
    fn fill(&mut self) -> Result<()> {
        let segments = &self.stream.segments;
        let Some((reader, scan, file)) = &mut self.reader else {
            let Some(name) = segments
                .get(self.next_segment)
                .filter(|_| self.next_segment < self.end_segment)
            else {
                self.done = true;
                return Ok(());
            };
            let reader = LineReader::open(&*self.stream.storage, &self.stream.segment_path(name));
            self.next_segment += 1;
            self.reader = Some((
                reader?,
                SegmentScan::new(name),
                name.file_name.as_str().into(),
            ));
            return Ok(());
        };
        let index = self.next_segment - 1;
        let name = &segments[index];
        let Some(lines) = reader.next_batch()? else {
            // The end of a segment.
            if self.verify {
                if scan.report.sealed {
                    self.chain.prev_sealed = true;
                } else if let Some(f) = segments
                    .get(index + 1)
                    .and_then(|next| scan.end_failure(name, next))
                {
                    self.pending
                        .push_back(Err(Error::from_failure(&self.stream.dir, f)));
                }
            }
            self.reader = None;
            return Ok(());
        };
        let first_failure = self.failures.len();
        if self.verify {
            scan.check_lines(
                &lines,
                name,
                &mut self.chain,
                &mut self.integ,
                &mut self.failures,
            );
        }
        let is_last = index + 1 == segments.len();
        let mut failures = self.failures[first_failure..].iter().peekable();
        for line in &lines {
            if let Some(f) = failures.next_if(|f| f.line == line.number) {
                if f.kind == FailureKind::TornTail
                    && is_last
                    && writer_is_live(&*self.stream.storage, &self.stream.dir)
                {
                    // A write in progress, not damage.
                    self.done = true;
                } else {
                    self.pending
                        .push_back(Err(Error::from_failure(&self.stream.dir, f.clone())));
                }
                break;
            }
            if let Some(keep) = &self.keep
                && line.terminated
                && line.overlong.is_none()
                && !keep(line.bytes)
            {
                continue;
            }
            let dir = &self.stream.dir;
            self.pending
                .push_back(record(name, file, line).map_err(|f| Error::from_failure(dir, f)));
        }
        Ok(())
    }
}

/// The record on `line`, or why the line is not one.
fn record(
    name: &SegmentName,
    file: &Arc<str>,
    line: &Line<'_>,
) -> std::result::Result<Record, Failure> {
    let failure = |kind: FailureKind, detail: String| Failure {
        kind,
        file: name.file_name.clone(),
        line: line.number,
        seq: None,
        record_kind: None,
        detail,
    };
    if !line.terminated {
        return Err(failure(
            FailureKind::TornTail,
            format!(
                "expected a newline-terminated record, found {} bytes with no final newline at byte offset {} (a write cut short)",
                line.len(),
                line.offset
            ),
        ));
    }
    if let Some(len) = line.overlong {
        return Err(failure(
            FailureKind::MalformedLine,
            format!(
                "expected a record of at most {} bytes, found a line of {len} bytes at byte offset {}",
                crate::MAX_LINE_BYTES,
                line.offset
            ),
        ));
    }
    let parsed = split_line(line.bytes).map_err(|d| failure(FailureKind::MalformedLine, d))?;
    let h = header(parsed.body_open).map_err(|d| failure(FailureKind::MalformedLine, d))?;
    Ok(Record {
        segment: Arc::clone(file),
        line: line.number,
        offset: line.offset,
        seq: h.seq,
        kind: RecordKind::parse(&h.kind),
        hash: parsed.hash,
        raw: line.bytes.to_vec(),
    })
}

impl Iterator for Records<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                if item.is_err() && self.verify {
                    self.done = true;
                    self.pending.clear();
                }
                return Some(item);
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fill() {
                if self.verify {
                    self.done = true;
                } else {
                    // Skip the unreadable segment, report it, and go on.
                    self.reader = None;
                }
                return Some(Err(e));
            }
        }
    }
}

impl std::iter::FusedIterator for Records<'_> {}
