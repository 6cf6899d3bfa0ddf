//! The one error type of the layer: [`AuditError`], with an [`ErrorKind`].

use std::fmt;
use std::sync::Arc;

use crate::pipeline::WriteFailure;

/// What kind of failure an [`AuditError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configuration value (an environment variable, a key file, a catalog) is
    /// missing or wrong; the message names it.
    Config,
    /// The stream could not be opened (locked by another writer, corrupt, another
    /// key, I/O); [`AuditError::core`] has the storage error.
    Open,
    /// The subscriber is not set up to record audit events: no audit layer, a filter
    /// that drops them, or a global subscriber that could not be installed.
    Install,
    /// Records could not be written or made durable (the storage error, if any, is
    /// the [`source`](std::error::Error::source)).
    Write,
    /// A flush or shutdown did not complete within its deadline;
    /// [`AuditError::unwritten`] says how many events were not yet durable.
    Timeout,
    /// The writer thread has stopped (after a shutdown, or because it panicked).
    Stopped,
    /// The event was not accepted: the queue was full under a dropping overflow
    /// policy (the trail has a `gap` record for it), or the writer had stopped.
    Dropped,
}

/// An error of the audit pipeline: what kind ([`ErrorKind`]), what happened, and the
/// storage error behind it, if any (its [`source`](std::error::Error::source)).
///
/// Its `Debug` form (what `fn main() -> Result<…>` prints) is the message with the
/// kind, readable as it is; `{:#?}` shows every part.
pub struct AuditError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    core: Option<Arc<tracing_audit_core::Error>>,
    unwritten: u64,
}

impl AuditError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> AuditError {
        AuditError(Box::new(Inner {
            kind,
            message: message.into(),
            core: None,
            unwritten: 0,
        }))
    }

    /// An error of `kind` caused by a storage error; `context` says what was being
    /// done (the storage error's own text follows it).
    pub(crate) fn with_core(
        kind: ErrorKind,
        context: impl fmt::Display,
        core: tracing_audit_core::Error,
    ) -> AuditError {
        AuditError(Box::new(Inner {
            kind,
            message: format!("{context}: {core}"),
            core: Some(Arc::new(core)),
            unwritten: 0,
        }))
    }

    /// An error of `kind`: `message`, then the writer's failure (whose storage
    /// error, if any, becomes the source).
    pub(crate) fn from_failure(
        kind: ErrorKind,
        message: impl fmt::Display,
        failure: WriteFailure,
    ) -> AuditError {
        AuditError(Box::new(Inner {
            kind,
            message: format!("{message}: {failure}"),
            core: failure.core,
            unwritten: 0,
        }))
    }

    /// Records how many events this failure left unwritten.
    pub(crate) fn unwritten_events(mut self, count: u64) -> AuditError {
        self.0.unwritten = count;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The storage error behind this one, if any (its `kind()` tells the class).
    pub fn core(&self) -> Option<&tracing_audit_core::Error> {
        self.0.core.as_deref()
    }

    /// How many accepted events were not written (or not made durable) because of
    /// this failure: non-zero only for a flush or shutdown that gave up. They are
    /// never dropped silently: this count, the message and standard error say so.
    pub fn unwritten(&self) -> u64 {
        self.0.unwritten
    }
}

impl From<tracing_audit_core::Error> for AuditError {
    fn from(e: tracing_audit_core::Error) -> Self {
        AuditError(Box::new(Inner {
            kind: ErrorKind::Open,
            message: e.to_string(),
            core: Some(Arc::new(e)),
            unwritten: 0,
        }))
    }
}

impl fmt::Debug for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.0;
        if f.alternate() {
            return f
                .debug_struct("AuditError")
                .field("kind", &i.kind)
                .field("message", &i.message)
                .field("core", &i.core)
                .field("unwritten", &i.unwritten)
                .finish();
        }
        write!(f, "{} [{:?}", i.message, i.kind)?;
        if i.unwritten > 0 {
            write!(f, "; {} events unwritten", i.unwritten)?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .core
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_readable_message_with_its_kind_and_alternate_shows_every_part() {
        let e = AuditError::new(ErrorKind::Timeout, "the audit flush reached its deadline")
            .unwritten_events(3);
        assert_eq!(
            format!("{e:?}"),
            "the audit flush reached its deadline [Timeout; 3 events unwritten]"
        );
        assert!(format!("{e:#?}").contains("unwritten: 3"));
        let e = AuditError::new(ErrorKind::Config, "AUDIT_FSYNC: expected …");
        assert_eq!(format!("{e:?}"), "AUDIT_FSYNC: expected … [Config]");
    }
}
