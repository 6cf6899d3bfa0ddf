//! Runtime support for the `audit!` and `#[audited]` macros. Not a stable API: the
//! macros' expansions name these items through the facade's `__private` module.

use std::fmt;
use std::time::Instant;

use tracing_audit_core::Outcome;

use crate::redact::redact_patterns;
use crate::{AUDIT_TARGET, AuditLayer};

pub use crate::flush::flush;
pub use crate::redact::{Redacted, redacted};
pub use tracing;

/// The most bytes of an error's text kept in a failure record.
pub const MAX_ERROR_TEXT: usize = 1024;

/// What a `fail_closed` audited function returns, instead of running, while the
/// audit trail cannot record — or, for a durable action, instead of its success
/// when the body ran but its record could not be made durable
/// ([`performed`](AuditUnavailable::performed)). Give your error type a
/// `From<AuditUnavailable>`. Its `Debug` is its message.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditUnavailable {
    reason: &'static str,
    performed: bool,
}

impl AuditUnavailable {
    fn refused(reason: &'static str) -> AuditUnavailable {
        AuditUnavailable {
            reason,
            performed: false,
        }
    }

    /// Why the trail cannot record.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// True when the function's body ran (a durable action whose record could not
    /// be made durable): its effects may stand, its success is not reported.
    pub fn performed(&self) -> bool {
        self.performed
    }
}

impl fmt::Debug for AuditUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for AuditUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.performed {
            return write!(
                f,
                "the operation was performed, but {}; it is not reported as a success",
                self.reason
            );
        }
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
        None => Err(AuditUnavailable::refused("no audit layer is installed")),
        Some(false) => Err(AuditUnavailable::refused(
            "the audit writer is failing or has stopped",
        )),
        Some(true) if !audit_events_pass_filters() => {
            Err(AuditUnavailable::refused("a filter disables audit events"))
        }
        Some(true) => Ok(()),
    }
}

/// Whether the filters let audit events through. They are asked on a short-lived
/// thread of their own (about the cost of starting a thread: `fail_closed` is for
/// the calls that deserve it): asking (`enabled!`) leaves a per-layer filter's
/// answer on the asking thread — the next event there, the first line of the
/// audited function's body, would vanish for that layer (tokio-rs/tracing#2519) —
/// and a long-lived asking thread would keep the answers of other subscribers'
/// filters, which `tracing-subscriber` clears only when an event is dispatched. A
/// filter that decides by the caller's current span is asked without it. A
/// per-layer filter on the audit layer itself is not seen here (for per-layer
/// filters `enabled` answers "yes" and they skip the event later):
/// `check_installed` reports it at start-up.
fn audit_events_pass_filters() -> bool {
    if !tracing::level_enabled!(tracing::Level::INFO) {
        return false;
    }
    let dispatch = tracing::dispatcher::get_default(tracing::Dispatch::clone);
    // No thread could be started: ask here. A lost console line is better than a
    // fail-closed check that does not check.
    on_probe_thread(|| dispatch_enables_audit(&dispatch))
        .unwrap_or_else(|_| dispatch_enables_audit(&dispatch))
}

/// Runs `question` on a short-lived thread of its own and returns its answer: the
/// per-layer filter state that asking the filters leaves behind
/// (tokio-rs/tracing#2519) dies with that thread instead of eating the caller's
/// next event. A panic in `question` (a filter that panics) goes on here, as it
/// would have on the caller's thread.
///
/// # Errors
/// The thread could not be started.
pub(crate) fn on_probe_thread<R: Send>(question: impl FnOnce() -> R + Send) -> std::io::Result<R> {
    std::thread::scope(|s| {
        let probe = std::thread::Builder::new()
            .name("audit-filter-probe".into())
            .spawn_scoped(s, question)?;
        Ok(probe
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Asks `dispatch` itself whether it records an audit event now — not through a
/// macro's callsite, whose cached interest is the union over every subscriber of
/// the process (a scoped one would be answered for all of them).
fn dispatch_enables_audit(dispatch: &tracing::Dispatch) -> bool {
    use tracing_core::callsite::{DefaultCallsite, Identifier};
    use tracing_core::field::FieldSet;
    use tracing_core::metadata::{Kind, Metadata};

    static META: Metadata<'static> = Metadata::new(
        "audit availability",
        AUDIT_TARGET,
        tracing::Level::INFO,
        Some(file!()),
        Some(line!()),
        Some(module_path!()),
        FieldSet::new(&[tracing_audit_schema::MARKER_FIELD], Identifier(&CALLSITE)),
        Kind::EVENT,
    );
    static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
    // `CALLSITE` is only the metadata's identity: it is never registered, and its
    // cached interest (the union over every subscriber of the process, stale once
    // a scoped one is dropped) is not consulted.
    dispatch.enabled(&META)
}

/// A return type a `fail_closed` function can refuse with: `Result<_, E>` where
/// `E: From<AuditUnavailable>`.
#[diagnostic::on_unimplemented(
    message = "`fail_closed` needs a function returning `Result<_, E>` with `E: From<AuditUnavailable>`; this one returns `{Self}`",
    label = "cannot carry the refusal",
    note = "return a `Result` whose error type implements `From<tracing_audit::AuditUnavailable>`, or remove `fail_closed`"
)]
pub trait FailClosedReturn {}

impl<T, E: From<AuditUnavailable>> FailClosedReturn for Result<T, E> {}

/// Checks, at compile time, that `T` is a [`FailClosedReturn`].
pub fn fail_closed_returns<T: FailClosedReturn>() {}

/// Whether the spans around the call provide the members a `context(…)`
/// declaration names (`"actor"`, `"request_id"`, …), for `fail_closed`: without
/// them the record would be written with the member missing (and marked so).
/// When the subscriber's span store is not a `tracing_subscriber::Registry`, the
/// spans cannot be read here: the layer still marks the record.
///
/// # Errors
/// [`AuditUnavailable`] naming a member no enclosing span provides.
pub fn context_available(members: &[&'static str]) -> Result<(), AuditUnavailable> {
    use tracing_subscriber::registry::LookupSpan as _;
    let missing = tracing::dispatcher::get_default(|d| {
        let registry = d.downcast_ref::<tracing_subscriber::Registry>()?;
        let current = d.current_span();
        let provided = |m: tracing_audit_core::Member| {
            current
                .id()
                .and_then(|id| registry.span(id))
                .is_some_and(|span| {
                    span.scope().any(|s| {
                        s.extensions()
                            .get::<crate::capture::SpanContext>()
                            .is_some_and(|c| c.provides(m))
                    })
                })
        };
        members
            .iter()
            .copied()
            .find(|name| tracing_audit_core::Member::from_name(name).is_some_and(|m| !provided(m)))
    });
    match missing {
        None => Ok(()),
        Some(_) => Err(AuditUnavailable::refused(
            "a member that `context(…)` promises is provided by no enclosing span",
        )),
    }
}

/// Before a durable call's record is emitted: sets this thread's marks aside (they
/// belong to earlier events; [`durable_record`] puts the dropped mark back) and
/// returns the dropped one.
pub fn durable_begin() -> bool {
    crate::pipeline::RECORD_ACCEPTED.set(false);
    crate::pipeline::RECORD_LOST.replace(false)
}

/// After a durable call's record was emitted on this thread (in the same poll as
/// [`durable_begin`], whose result is `earlier_lost`): a [`Flush`](crate::Flush) of
/// it, which fails at once if the record was dropped by the queue or never reached
/// an audit layer (a filter kept it out): a durable call never succeeds on a record
/// that is not in the trail. With no audit layer in the subscriber at all, there is
/// nothing to wait for ([`durable`] lets that pass).
pub fn durable_record(earlier_lost: bool) -> crate::Flush {
    let lost = crate::pipeline::RECORD_LOST.replace(earlier_lost);
    let accepted = crate::pipeline::RECORD_ACCEPTED.take();
    if lost {
        return crate::Flush::failed(crate::AuditError::new(
            crate::ErrorKind::Dropped,
            "the audit record was not accepted (the queue was full under a dropping overflow policy, or the writer had stopped)",
        ));
    }
    let layer = tracing::dispatcher::get_default(|d| d.downcast_ref::<AuditLayer>().is_some());
    if !accepted && layer {
        return crate::Flush::failed(crate::AuditError::new(
            crate::ErrorKind::Dropped,
            "the audit record did not reach the audit layer (a filter kept it out)",
        ));
    }
    crate::flush::flush_accepted()
}

/// A durable call that recorded nothing because no subscriber wants INFO events:
/// with an audit layer in the subscriber (filtered out), its record is missing —
/// counted and logged as [`durable`] does, and the failure returned; with none,
/// there is no trail to wait for.
pub fn durable_unrecorded(action: &'static str) -> Option<AuditUnavailable> {
    let layer = tracing::dispatcher::get_default(|d| d.downcast_ref::<AuditLayer>().is_some());
    if !layer {
        return None;
    }
    durable(
        action,
        Err(crate::AuditError::new(
            crate::ErrorKind::Dropped,
            "the audit record was not emitted: a filter disables INFO events",
        )),
    )
    .err()
}

/// A durable call's return value, held until its record's fate is known:
/// `(&&DurableReturn::new(value)).audit_durable(failure)` picks, by autoref,
/// [`DurableErr`] (a `Result` whose error converts from [`AuditUnavailable`]: the
/// failure becomes its `Err`) or else [`DurableAny`] (the value as it is).
pub struct DurableReturn<T>(std::cell::Cell<Option<T>>);

impl<T> DurableReturn<T> {
    /// Holds `value`.
    pub fn new(value: T) -> Self {
        DurableReturn(std::cell::Cell::new(Some(value)))
    }

    fn take(&self) -> T {
        match self.0.take() {
            Some(v) => v,
            // The expansion calls `audit_durable` once per value.
            None => unreachable!("a durable return value is taken once"),
        }
    }
}

impl<T> fmt::Debug for DurableReturn<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DurableReturn(..)")
    }
}

/// A `Result` whose error converts from [`AuditUnavailable`].
pub trait DurableErr {
    /// The function's return type.
    type Out;
    /// The value, or `Err(failure.into())` in place of a success whose record is
    /// not durable.
    fn audit_durable(self, failure: Option<AuditUnavailable>) -> Self::Out;
}

impl<T, E: From<AuditUnavailable>> DurableErr for &&DurableReturn<Result<T, E>> {
    type Out = Result<T, E>;
    /// Only a success is replaced: a call that failed keeps its own error.
    fn audit_durable(self, failure: Option<AuditUnavailable>) -> Result<T, E> {
        match (self.take(), failure) {
            (Ok(_), Some(e)) => Err(e.into()),
            (value, _) => value,
        }
    }
}

/// Any other value: returned as it is (the failure was counted and logged).
pub trait DurableAny {
    /// The function's return type.
    type Out;
    /// The value.
    fn audit_durable(self, failure: Option<AuditUnavailable>) -> Self::Out;
}

impl<T> DurableAny for &DurableReturn<T> {
    type Out = T;
    fn audit_durable(self, _: Option<AuditUnavailable>) -> T {
        self.take()
    }
}

/// The end of a durable action's call: the result of waiting for its record to be
/// durable. A failure is counted (`audit_durable_wait_failures_total`), said on the
/// console log (a non-audit event), and returned as the [`AuditUnavailable`] a
/// `fail_closed` function returns instead of its success. With no audit layer in
/// the subscriber there was nothing to wait for (a `fail_closed` function refused
/// before running).
///
/// # Errors
/// The record could not be made durable.
pub fn durable(
    action: &'static str,
    result: Result<(), crate::AuditError>,
) -> Result<(), AuditUnavailable> {
    let e = match result {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == crate::ErrorKind::Install => return Ok(()),
        Err(e) => e,
    };
    let service = tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<AuditLayer>()
            .map(|l| l.queue.shared.service.clone())
    })
    .unwrap_or_default();
    metrics::counter!(
        crate::metrics::metric::NOT_DURABLE,
        "service" => service,
        "action" => action,
    )
    .increment(1);
    tracing::error!(
        target: "tracing_audit",
        action,
        error = %e,
        "the audit record of a durable action could not be made durable before the call returned"
    );
    Err(AuditUnavailable {
        reason: match e.kind() {
            crate::ErrorKind::Dropped => {
                "its audit record did not reach the trail (the queue dropped it, or a filter kept it out)"
            }
            crate::ErrorKind::Timeout => "its audit record was not durable within the deadline",
            _ => "its audit record could not be made durable",
        },
        performed: true,
    })
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
    // The marker counts the text as given, not as redacted.
    format!("{}…[truncated, {} bytes in all]", &clean[..cut], text.len())
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
/// or change it): `recordable((&&&Capture(&value)).audit_capture())` keeps numbers
/// and booleans as they are, else takes their `Display` text, else their `Debug`
/// text; a value that is neither fails to compile, with [`Recordable`]'s message at
/// the value.
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
        impl CaptureCopy for &&&Capture<'_, $t> {
            type Out = $t;
            fn audit_capture(self) -> $t {
                *self.0
            }
        }
        impl Recordable for $t {
            type Out = $t;
            fn recorded(self) -> $t {
                self
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

impl<T: fmt::Display + ?Sized> CaptureDisplay for &&Capture<'_, T> {
    fn audit_capture(self) -> String {
        self.0.to_string()
    }
}

/// `Debug` values: their `{:?}` text.
pub trait CaptureDebug {
    /// The text.
    fn audit_capture(self) -> String;
}

impl<T: fmt::Debug + ?Sized> CaptureDebug for &Capture<'_, T> {
    fn audit_capture(self) -> String {
        format!("{:?}", self.0)
    }
}

/// Anything else: a marker that is not [`Recordable`], so that the expansion fails
/// to compile with that trait's message, at the value.
pub trait CaptureNeither {
    /// The marker.
    fn audit_capture(self) -> NeitherDisplayNorDebug<Self>
    where
        Self: Sized;
}

impl<T: ?Sized> CaptureNeither for Capture<'_, T> {
    fn audit_capture(self) -> NeitherDisplayNorDebug<Self> {
        NeitherDisplayNorDebug(std::marker::PhantomData)
    }
}

/// What capturing a value that is neither `Display` nor `Debug` gives: never
/// recorded (it is not [`Recordable`]).
pub struct NeitherDisplayNorDebug<T>(std::marker::PhantomData<T>);

impl<T> fmt::Debug for NeitherDisplayNorDebug<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NeitherDisplayNorDebug")
    }
}

impl<T> fmt::Display for NeitherDisplayNorDebug<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never reached: `recordable` refuses the type at compile time.
        f.write_str("<neither Display nor Debug>")
    }
}

/// A value `#[audited]` can record: the captured number, boolean or text.
#[diagnostic::on_unimplemented(
    message = "#[audited] cannot record this value: its type implements neither `Display` nor `Debug`",
    label = "recorded by #[audited], but neither `Display` nor `Debug`",
    note = "record a part of it that is (`fields(id = value.id)`), derive or implement `Debug` for its type, or do not record it"
)]
pub trait Recordable {
    /// The value as recorded.
    type Out;
    /// The value as recorded.
    fn recorded(self) -> Self::Out;
}

impl Recordable for String {
    type Out = String;
    fn recorded(self) -> String {
        self
    }
}

/// Passes a captured value on; refuses, at compile time, what cannot be recorded
/// (with one error: the result's type is then unknown, not a second mismatch).
pub fn recordable<T: Recordable>(value: T) -> T::Out {
    value.recorded()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13, finding 10 (b): the marker of a cut error text counted the text
    /// after its secrets were redacted, not the text given.
    #[test]
    fn finding_10b_a_cut_error_text_counts_the_text_as_given() {
        let text = format!(
            "login failed: Bearer {} then {}",
            "t".repeat(3000),
            "x".repeat(2000)
        );
        let got = error_text(&text);
        assert!(
            got.starts_with("login failed: Bearer [redacted:bearer] then xx"),
            "{got}"
        );
        assert!(
            got.ends_with(&format!("…[truncated, {} bytes in all]", text.len())),
            "{got}"
        );
    }
}
