//! Runtime support for the `audit!` and `#[audited]` macros. Not a stable API: the
//! macros' expansions name these items through the facade's `__private` module.

use std::fmt;
use std::time::Instant;

use tracing_audit_core::Outcome;

use crate::redact::redact_patterns;
use crate::{AUDIT_TARGET, AuditLayer};

pub use crate::redact::{Redacted, redacted};
pub use tracing;

/// The most bytes of an error's text kept in a failure record.
pub const MAX_ERROR_TEXT: usize = 1024;

/// What a `fail_closed` audited function returns, instead of running, while the
/// audit trail cannot record. Give your error type a `From<AuditUnavailable>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditUnavailable {
    reason: &'static str,
}

impl AuditUnavailable {
    /// Why the trail cannot record.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for AuditUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the audit trail cannot record ({}), so the operation was not performed",
            self.reason
        )
    }
}

impl std::error::Error for AuditUnavailable {}

/// Whether an audit event emitted now, on this thread, would be recorded: an
/// [`AuditLayer`] is in the current subscriber, its writer is healthy, and no filter
/// disables the audit target.
///
/// # Errors
/// [`AuditUnavailable`] saying which of these fails.
pub fn availability() -> Result<(), AuditUnavailable> {
    let layer = tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<AuditLayer>().map(AuditLayer::is_healthy)
    });
    match layer {
        None => Err(AuditUnavailable {
            reason: "no audit layer is installed",
        }),
        Some(false) => Err(AuditUnavailable {
            reason: "the audit writer is failing or has stopped",
        }),
        Some(true) if !tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO) => {
            Err(AuditUnavailable {
                reason: "a filter disables audit events",
            })
        }
        Some(true) => Ok(()),
    }
}

/// An error's text for a failure record: value patterns redacted, cut to
/// [`MAX_ERROR_TEXT`] bytes with a visible marker.
pub fn error_text(text: &str) -> String {
    let clean = redact_patterns(text);
    if clean.len() <= MAX_ERROR_TEXT {
        return clean.into_owned();
    }
    let mut cut = MAX_ERROR_TEXT;
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}…[truncated, {} bytes in all]",
        &clean[..cut],
        clean.len()
    )
}

/// Wraps the return value of an audited function to find its outcome:
/// `(&&Probe(&value)).audit_outcome()` picks, by autoref, the first that applies of
/// [`OutcomeOfDisplayErr`], [`OutcomeOfDebugErr`], [`OutcomeOfAny`].
pub struct Probe<'a, T>(pub &'a T);

impl<T> Clone for Probe<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Probe<'_, T> {}

/// A `Result` whose error is `Display`: `Err` is a failure with the error's text.
pub trait OutcomeOfDisplayErr {
    /// `("success" | "failure", error text)`.
    fn audit_outcome(self) -> (&'static str, Option<String>);
}

impl<T, E: fmt::Display> OutcomeOfDisplayErr for &&Probe<'_, Result<T, E>> {
    fn audit_outcome(self) -> (&'static str, Option<String>) {
        match self.0 {
            Ok(_) => (Outcome::Success.as_str(), None),
            Err(e) => (Outcome::Failure.as_str(), Some(error_text(&e.to_string()))),
        }
    }
}

/// A `Result` whose error is only `Debug`.
pub trait OutcomeOfDebugErr {
    /// `("success" | "failure", error text)`.
    fn audit_outcome(self) -> (&'static str, Option<String>);
}

impl<T, E: fmt::Debug> OutcomeOfDebugErr for &Probe<'_, Result<T, E>> {
    fn audit_outcome(self) -> (&'static str, Option<String>) {
        match self.0 {
            Ok(_) => (Outcome::Success.as_str(), None),
            Err(e) => (
                Outcome::Failure.as_str(),
                Some(error_text(&format!("{e:?}"))),
            ),
        }
    }
}

/// Anything else: returning is success.
pub trait OutcomeOfAny {
    /// `("success", None)`.
    fn audit_outcome(self) -> (&'static str, Option<String>);
}

impl<T> OutcomeOfAny for Probe<'_, T> {
    fn audit_outcome(self) -> (&'static str, Option<String>) {
        (Outcome::Success.as_str(), None)
    }
}

/// Captures a field value before an audited function's body runs (which may move
/// or change it): `(&&Capture(&value)).audit_capture()` keeps numbers and booleans
/// as they are, else takes their `Display` text, else their `Debug` text.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> Clone for Capture<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Capture<'_, T> {}

/// Numbers and booleans, which `tracing` records natively.
pub trait CaptureCopy {
    /// The value itself.
    type Out;
    /// Copies the value.
    fn audit_capture(self) -> Self::Out;
}

macro_rules! capture_copy {
    ($($t:ty),*) => {$(
        impl CaptureCopy for &&Capture<'_, $t> {
            type Out = $t;
            fn audit_capture(self) -> $t {
                *self.0
            }
        }
    )*};
}

capture_copy!(
    u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64, bool
);

/// `Display` values: their text.
pub trait CaptureDisplay {
    /// The text.
    fn audit_capture(self) -> String;
}

impl<T: fmt::Display + ?Sized> CaptureDisplay for &Capture<'_, T> {
    fn audit_capture(self) -> String {
        self.0.to_string()
    }
}

/// `Debug` values: their `{:?}` text.
pub trait CaptureDebug {
    /// The text.
    fn audit_capture(self) -> String;
}

impl<T: fmt::Debug + ?Sized> CaptureDebug for Capture<'_, T> {
    fn audit_capture(self) -> String {
        format!("{:?}", self.0)
    }
}

/// The `Debug` text of a value, formatted with `Display` (to pass a `?value` to
/// [`redacted`]).
pub struct DebugText<T>(pub T);

impl<T: fmt::Debug> fmt::Display for DebugText<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The redacted text of a sensitive value, computed now (a keyed fingerprint, or
/// `[redacted]` before any audit layer exists).
pub fn redacted_text<T: fmt::Display>(value: T) -> String {
    Redacted::new(value).to_string()
}

/// Emits the record of an audited function that did not return: it panicked
/// (outcome `panic`; the panic then goes on), or, for an `async fn`, its future was
/// dropped before it completed (outcome `unknown`, with the error
/// [`CANCELED`]): what it had done by then is not known.
pub struct PanicGuard<F: FnMut(&'static str, Option<&str>)> {
    on_drop: Option<F>,
}

/// The error text of the record of a future dropped before it completed.
pub const CANCELED: &str = "canceled: the call was dropped before it completed";

impl<F: FnMut(&'static str, Option<&str>)> PanicGuard<F> {
    /// Arms the guard.
    pub fn new(on_drop: F) -> Self {
        PanicGuard {
            on_drop: Some(on_drop),
        }
    }

    /// The function returned: nothing to do on drop.
    pub fn disarm(&mut self) {
        self.on_drop = None;
    }
}

impl<F: FnMut(&'static str, Option<&str>)> Drop for PanicGuard<F> {
    fn drop(&mut self) {
        // Disarmed (the common case) costs no thread-local lookup.
        if let Some(mut f) = self.on_drop.take() {
            if std::thread::panicking() {
                f(Outcome::Panic.as_str(), None);
            } else {
                f(Outcome::Unknown.as_str(), Some(CANCELED));
            }
        }
    }
}

/// Microseconds since `start`, saturating.
pub fn elapsed_micros(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

// `Debug` without requiring it of the wrapped values (which are the user's).
impl<T> fmt::Debug for Probe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Probe(..)")
    }
}

impl<T: ?Sized> fmt::Debug for Capture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Capture(..)")
    }
}

impl<T: fmt::Debug> fmt::Debug for DebugText<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DebugText").field(&self.0).finish()
    }
}

impl<F: FnMut(&'static str, Option<&str>)> fmt::Debug for PanicGuard<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicGuard")
            .field("armed", &self.on_drop.is_some())
            .finish()
    }
}
