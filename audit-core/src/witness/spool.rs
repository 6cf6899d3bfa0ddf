//! A spool directory: add-checkpoint requests and their answers exchanged through
//! a directory that the log's host and the witness's host both reach (a shared
//! mount), instead of a command. The writer writes requests
//! (`WriterConfig::witness_spool`); `audit witness serve --spool DIR` answers them
//! exactly as `audit witness add` would.
//!
//! # Files
//!
//! - `<id>.<n>.request`, written by the log's writer: an add-checkpoint request
//!   ([`ConsistencyRequest::format`](crate::note::ConsistencyRequest::format)), at
//!   most [`MAX_REQUEST_BYTES`]. `<id>` is the log's [`origin_id`] (64 lowercase
//!   hexadecimal digits), `<n>` a decimal number that increases with each request
//!   of that log.
//! - `<id>.<n>.answer`, written by the witness: the first line is the exit status
//!   `audit witness add` gives the request (`0` cosigned, `1` refused, `2` not a
//!   request or an I/O error, `3` a rollback or a fork, `4` a conflict), then
//!   exactly what it prints on standard output: the cosigned checkpoint note (`0`),
//!   the size the witness holds on one line (`4`), nothing otherwise. At most
//!   [`MAX_ANSWER_BYTES`].
//!
//! Both are written atomically ([`write_file`]): a file `.<name>.new` is created
//! (exclusively, never through a symbolic link, mode 0644), written, fsynced,
//! renamed to `<name>`, and the directory fsynced, so a reader never sees half a
//! file. Any other name (those starting with `.` included) is neither a request
//! nor an answer. The witness removes a request once its answer is written; the
//! writer removes the answer and the request once it has read the answer. Both
//! read with [`read_file`]: a regular file only (a symbolic link is not followed, a
//! FIFO not waited on), of bounded size.
//!
//! The spool carries requests, not trust: whoever can write in it can submit any
//! request, as whoever can run the witness command can. The witness's state and
//! key stay on the witness's host, named on its command line, never in the spool.

use std::path::Path;

use crate::error::Result;
use crate::note::{MAX_NOTE_BYTES, MAX_PROOF_BYTES};

pub use super::origin_id;

/// The name ending of a request.
pub const REQUEST_SUFFIX: &str = ".request";

/// The name ending of an answer.
pub const ANSWER_SUFFIX: &str = ".answer";

/// The largest request (what `audit witness add` reads).
pub const MAX_REQUEST_BYTES: usize = MAX_PROOF_BYTES;

/// The largest answer, status line included (a cosigned note is far smaller).
pub const MAX_ANSWER_BYTES: usize = 2 * MAX_NOTE_BYTES;

/// The name of request `n` of the log `id` ([`origin_id`]): `<id>.<n>.request`.
pub fn request_name(id: &str, n: u64) -> String {
    format!("{id}.{n}{REQUEST_SUFFIX}")
}

/// The name of the answer to request `n` of the log `id`: `<id>.<n>.answer`.
pub fn answer_name(id: &str, n: u64) -> String {
    format!("{id}.{n}{ANSWER_SUFFIX}")
}

/// A request's or an answer's name, parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct SpoolName {
    /// The log's [`origin_id`].
    pub id: String,
    /// The request's number.
    pub n: u64,
}

/// Parses `<id>.<n><suffix>`: `id` 64 lowercase hexadecimal digits, `n` 1 to 20
/// decimal digits that fit in a `u64`; `None` for any other name.
pub fn parse_name(name: &str, suffix: &str) -> Option<SpoolName> {
    let (id, n) = name.strip_suffix(suffix)?.split_once('.')?;
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if id.len() != 64 || !id.bytes().all(hex) {
        return None;
    }
    if n.is_empty() || n.len() > 20 || !n.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(SpoolName {
        id: id.to_owned(),
        n: n.parse().ok()?,
    })
}

/// Reads the spool file `path`: `None` when there is none; its bytes when it is
/// a regular file of at most `max` bytes.
///
/// # Errors
/// [`crate::ErrorKind::Io`] when it cannot be opened or read (a symbolic link is refused,
/// `ELOOP`, never followed); [`crate::ErrorKind::Corrupt`] when it is not a regular file
/// (a FIFO is opened without waiting for a writer, then refused) or is larger
/// than `max`.
pub fn read_file(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    crate::storage::read_small_file(path, max)
}

/// Writes `DIR/name` atomically: `.<name>.new` created exclusively (never through
/// a symbolic link), written, fsynced, renamed to `name`; then the directory is
/// fsynced.
///
/// # Errors
/// [`crate::ErrorKind::Io`] when a step fails.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    crate::writer::write_atomic(dir, name, bytes)
}

/// An answer's text: the status line, then the standard output.
pub fn format_answer(status: u8, stdout: &str) -> String {
    format!("{status}\n{stdout}")
}

/// Parses an answer's bytes into its status and its standard output.
///
/// # Errors
/// A message saying what was expected and what was found: no first line of 1 to
/// 3 decimal digits (a status from 0 to 255).
pub fn parse_answer(bytes: &[u8]) -> std::result::Result<(u8, String), String> {
    let status = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| (&bytes[..i], &bytes[i + 1..]))
        .filter(|(line, _)| (1..=3).contains(&line.len()) && line.iter().all(u8::is_ascii_digit))
        .and_then(|(line, rest)| {
            let status = std::str::from_utf8(line).ok()?.parse::<u8>().ok()?;
            Some((status, rest))
        });
    match status {
        Some((status, rest)) => Ok((status, String::from_utf8_lossy(rest).into_owned())),
        None => {
            let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
                .chars()
                .flat_map(char::escape_debug)
                .collect();
            Err(format!(
                "expected an answer starting with its status line (`0` to `4`), found {shown:?}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        let id = origin_id("example.com/log");
        let name = request_name(&id, 42);
        assert_eq!(
            parse_name(&name, REQUEST_SUFFIX),
            Some(SpoolName {
                id: id.clone(),
                n: 42
            })
        );
        assert_eq!(parse_name(&name, ANSWER_SUFFIX), None);
        assert_eq!(
            parse_name(&answer_name(&id, u64::MAX), ANSWER_SUFFIX).map(|n| n.n),
            Some(u64::MAX)
        );
        for bad in [
            format!(".{id}.1.request"),
            format!("{id}.1.request.new"),
            format!("{id}.+1.request"),
            format!("{id}.-1.request"),
            format!("{id}..request"),
            format!("{id}.1.2.request"),
            format!("{id}.18446744073709551616.request"),
            format!("{}.1.request", id.to_uppercase()),
            format!("{}.1.request", &id[1..]),
            format!("../{}.1.request", &id[3..]),
            "x.1.request".to_owned(),
        ] {
            assert_eq!(parse_name(&bad, REQUEST_SUFFIX), None, "{bad}");
        }
    }

    #[test]
    fn answers_parse_their_status_line_and_refuse_anything_else() {
        assert_eq!(
            parse_answer(format_answer(4, "17\n").as_bytes()),
            Ok((4, "17\n".to_owned()))
        );
        assert_eq!(parse_answer(b"1\n"), Ok((1, String::new())));
        for bad in [
            &b""[..],
            b"0",
            b"\n",
            b"256\n",
            b"0000\n",
            b"-1\n",
            b" 0\n",
            b"Welcome\n",
        ] {
            let err = parse_answer(bad).unwrap_err();
            assert!(err.starts_with("expected an answer starting"), "{err}");
        }
    }

    #[test]
    fn read_file_refuses_symlinks_fifos_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        assert!(read_file(&p.join("missing"), 10).unwrap().is_none());
        write_file(p, "small", b"12345").unwrap();
        assert_eq!(read_file(&p.join("small"), 5).unwrap().unwrap(), b"12345");
        let err = read_file(&p.join("small"), 4).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        std::os::unix::fs::symlink(p.join("small"), p.join("link")).unwrap();
        let err = read_file(&p.join("link"), 10).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let made = std::process::Command::new("mkfifo")
            .arg(p.join("fifo"))
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_file(&p.join("fifo"), 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        // write_file replaces a symbolic link, never writes through it.
        write_file(p, "link", b"new").unwrap();
        assert_eq!(std::fs::read(p.join("small")).unwrap(), b"12345");
        assert_eq!(read_file(&p.join("link"), 10).unwrap().unwrap(), b"new");
    }
}
