//! The one error type of `audit-core`.

use std::fmt;
use std::path::PathBuf;

/// An error from `audit-core`: what went wrong ([`ErrorKind`]), and where.
///
/// Every error names the file (and line, where there is one) it concerns, says what
/// was expected and what was found. Use [`Error::kind`] to react to a class of error.
///
/// Its `Debug` form (what `fn main() -> Result<…>` prints) is the message with the
/// kind, readable as it is; `{:#?}` shows every part.
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    line: Option<u64>,
    message: String,
    source: Option<std::io::Error>,
    failure: Option<Box<crate::verify::Failure>>,
}

/// The class of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An operating-system I/O call failed.
    Io,
    /// Another process holds the writer lock of the stream directory.
    Locked,
    /// A key file is missing, malformed or readable by group or others.
    Key,
    /// A configuration value is invalid.
    Config,
    /// Stored data is corrupt in a place where a crash cannot explain it.
    Corrupt,
    /// A record's value cannot be encoded (for example a non-finite float).
    Encode,
    /// A signature by the expected key is there but does not verify: the signed
    /// text or the signature was altered (a [`note`](crate::note) or cosignature).
    BadSignature,
    /// A signed note carries no signature by the expected key (its name and key id).
    NoSignature,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            path: None,
            line: None,
            message: message.into(),
            source: None,
            failure: None,
        }
    }

    /// A [`ErrorKind::Corrupt`] error for a verification failure, at its file and line.
    pub(crate) fn from_failure(dir: &std::path::Path, failure: crate::verify::Failure) -> Self {
        let mut e = Error::new(
            ErrorKind::Corrupt,
            format!("{}: {}", failure.kind.as_str(), failure.detail),
        )
        .at(dir.join(&failure.file))
        .line(failure.line);
        e.failure = Some(Box::new(failure));
        e
    }

    pub(crate) fn io(path: impl Into<PathBuf>, what: &str, err: std::io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            path: Some(path.into()),
            line: None,
            message: format!("{what}: {err}"),
            source: Some(err),
            failure: None,
        }
    }

    pub(crate) fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub(crate) fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file this error concerns, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The 1-based line this error concerns, if any.
    pub fn line_number(&self) -> Option<u64> {
        self.line
    }

    /// The verification failure behind this error (from a verified reader), if any.
    pub fn failure(&self) -> Option<&crate::verify::Failure> {
        self.failure.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("Error")
                .field("kind", &self.kind)
                .field("path", &self.path)
                .field("line", &self.line)
                .field("message", &self.message)
                .field("source", &self.source)
                .field("failure", &self.failure)
                .finish();
        }
        write!(f, "{self} [{:?}]", self.kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: {}", p.display(), self.message),
            (Some(p), None) => write!(f, "{}: {}", p.display(), self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_is_the_readable_message_with_its_kind() {
        let e = Error::new(ErrorKind::Key, "key file permissions are 0644").at("/k.key");
        assert_eq!(
            format!("{e:?}"),
            "/k.key: key file permissions are 0644 [Key]"
        );
        assert!(format!("{e:#?}").contains("path: Some("));
    }
}
