//! The `tracing` side of tracing-audit: a [`tracing_subscriber::Layer`] that records
//! audit events into a hash-chained trail, and the writer pipeline behind it.
//!
//! # Overview
//!
//! Audit events are ordinary `tracing` events with the target [`AUDIT_TARGET`] and the
//! marker field `audit.action`. [`AuditLayer`] picks them out (everything else passes
//! by untouched), captures their fields and the actor / request / tenancy context of
//! the enclosing spans, and queues them to one writer thread, which assigns `seq`,
//! hash-chains, MACs and appends them (see `audit-core`).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::{Key, WriterConfig};
//! use tracing_audit_layer::{AUDIT_TARGET, AuditBuilder, non_audit};
//! use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
//!
//! let dir = tempfile::tempdir()?;
//! let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "billing", Key::generate()?)).build()?;
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_filter(non_audit()))
//!     .with(audit);
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", actor = "alice", request_id = "r-1");
//!     let _enter = span.enter();
//!     tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "invoice.refund", amount_cents = 1299u64);
//!     tracing::info!("ordinary narration passes by untouched");
//! });
//! guard.shutdown()?; // flushes, seals, and reports any error
//! # Ok(()) }
//! ```
//!
//! # Metrics
//!
//! The pipeline reports through the [`metrics`](https://docs.rs/metrics) facade, so
//! any exporter works (install its recorder before building the layer). Every metric
//! carries the label `service`.
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `audit_events_written_total` | counter | events written, also labelled `action` and `outcome` |
//! | `audit_events_dropped_total` | counter | events dropped by the overflow policy or refused after shutdown |
//! | `audit_write_errors_total` | counter | failed write attempts (each is retried) |
//! | `audit_queue_depth` | gauge | events waiting for the writer, at the start of each batch |
//! | `audit_flush_latency_seconds` | histogram | time to write one batch and make it durable, per the durability setting |
//! | `audit_healthy` | gauge | 1 after a successful write, 0 after a failed one |
//! | `audit_last_write_timestamp_seconds` | gauge | Unix time of the last successful write |
//! | `audit_events_not_in_catalog_total` | counter | events whose action is not in the run-time catalog ([`AuditBuilder::catalog`]), also labelled `action`; they are recorded all the same |
//! | `audit_context_missing_total` | counter | records whose `context(…)` promised a member no enclosing span provided, also labelled `action` and `member`; the record is written with the field `context_missing` naming them |
//! | `audit_durable_wait_failures_total` | counter | calls of a durable action whose record could not be made durable before they returned, also labelled `action` |
//!
//! # Errors
//!
//! Every fallible function returns [`AuditError`]: its [`ErrorKind`] tells the class,
//! its message says what was expected and found, and its
//! [`source`](std::error::Error::source) is the storage error behind it, if any.
//! [`AuditBuilder::build`] fails when the stream cannot be opened
//! ([`ErrorKind::Open`]); [`AuditGuard::flush`] and [`AuditGuard::shutdown`] fail when
//! records could not be made durable ([`ErrorKind::Write`]) or not within their
//! deadline ([`ErrorKind::Timeout`], with [`AuditError::unwritten`] saying how many
//! events were left).
//!
//! # Flush, shutdown and deadlines
//!
//! Events travel to the writer thread on a bounded data queue; flush and shutdown
//! requests travel on a control channel of their own, so they never wait behind
//! events. Every wait has a deadline ([`DEFAULT_DEADLINE`], or the one given to
//! [`AuditGuard::flush_within`] / [`AuditGuard::shutdown_within`]): with a disk that
//! stays broken, a flush or shutdown returns an error saying how many accepted events
//! were not written, and the guard's `Drop` prints it. With
//! `Durability::Interval`, the writer thread fsyncs when the interval passes even if
//! no further event arrives.
//!
//! Code that does not hold the guard — a handler — makes the records emitted so
//! far durable with [`flush()`]: `flush().await` in async code (a timer thread
//! enforces the deadline even on a hung disk), `flush().wait()` in a thread.
//! Concurrent flushes share one fsync. [`shutdown_signal()`] resolves on `SIGTERM`
//! or `SIGINT`, for a server's graceful shutdown, after which the guard is dropped.
#![deny(missing_docs)]

mod builder;
mod capture;
mod catalog;
mod config;
mod error;
mod flush;
mod guard;
mod layer;
mod metrics;
mod pipeline;
mod redact;
mod signal;
#[doc(hidden)]
pub mod support;

pub use builder::AuditBuilder;
pub use capture::DEFAULT_SPAN_FIELDS;
pub use config::ENV_VARS;
pub use error::{AuditError, ErrorKind};
pub use flush::{Flush, flush};
pub use guard::{AuditGuard, Health};
pub use layer::{AUDIT_TARGET, AuditLayer, Everything, NonAudit, is_audit, non_audit};
pub use pipeline::{DEFAULT_DEADLINE, Overflow};
pub use redact::{
    DEFAULT_FIELD_RULES, Fingerprinter, MASK, Redacted, Strategy, redact_patterns, redacted,
};
pub use signal::{ShutdownSignal, shutdown_signal};
pub use tracing_audit_core::Member;
pub use tracing_audit_schema::MARKER_FIELD;

/// Internals for the benchmarks; not a stable API.
#[doc(hidden)]
pub mod bench_support {
    pub use crate::catalog::Catalogued;
    pub use crate::redact::Redactor;
}

/// The one-line set-up: reads the configuration from the environment
/// ([`ENV_VARS`]), starts the audit writer, and installs the global subscriber — a
/// `fmt` layer to standard error filtered by `RUST_LOG` (`EnvFilter` directives,
/// `info` when unset) that never shows audit events, plus the audit layer — and
/// forwards `log` records to it (`tracing-log`'s `LogTracer`).
///
/// `RUST_LOG` filters the console alone: it is a per-layer filter, so no directive
/// can turn audit events off.
///
/// Returns `Ok(None)` when `AUDIT_ENABLED=false`: an ordinary outcome, not an error.
/// The console is installed all the same and says on standard error that nothing is
/// recorded; the service runs without a trail. Services that compose their own
/// subscriber use [`AuditBuilder`] and [`non_audit`] instead.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `None` when AUDIT_ENABLED=false; kept until the end of `main` either way.
/// let _guard = tracing_audit::init_from_env()?;
/// tracing::info!("serving on 127.0.0.1:8080");
/// # Ok(()) }
/// ```
///
/// # Errors
/// A bad or missing variable (named in the message, `RUST_LOG` included), a stream
/// that cannot be opened, a global subscriber or a `log` logger already installed,
/// or a build of `tracing` whose compile-time maximum level (`max_level_*` features)
/// removes audit events.
pub fn init_from_env() -> Result<Option<AuditGuard>, AuditError> {
    use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
    if tracing::level_filters::STATIC_MAX_LEVEL < tracing::level_filters::LevelFilter::INFO {
        // Checked before anything is installed (check_installed repeats it after).
        check_installed()?;
    }
    let rust_log = match std::env::var("RUST_LOG") {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(v)) => {
            return Err(AuditError::new(
                ErrorKind::Config,
                format!("RUST_LOG: expected `EnvFilter` directives, found non-UTF-8 {v:?}"),
            ));
        }
    };
    let filter = config::console_filter(rust_log.as_deref())?;
    let log_level = filter
        .max_level_hint()
        .unwrap_or(tracing::level_filters::LevelFilter::TRACE);
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(non_audit().and(filter));
    let builder = AuditBuilder::from_env()?;
    // The `log` bridge goes first (not after the subscriber, as
    // `SubscriberInitExt::try_init` does it): when another `log` logger is already
    // installed, nothing has been changed yet, no trail opened.
    forward_log_records(log_level)?;
    let Some(builder) = builder else {
        eprintln!("tracing-audit: AUDIT_ENABLED=false: audit events are NOT being recorded");
        set_global_default(tracing_subscriber::registry().with(console))?;
        return Ok(None);
    };
    let (layer, guard) = builder.build()?;
    set_global_default(tracing_subscriber::registry().with(console).with(layer))?;
    check_installed()?;
    Ok(Some(guard))
}

/// Installs `tracing-log`'s `LogTracer` as the `log` logger, passing records up to
/// `level` to the current `tracing` subscriber.
fn forward_log_records(level: tracing::level_filters::LevelFilter) -> Result<(), AuditError> {
    use tracing_log::AsLog as _;
    tracing_log::LogTracer::builder()
        .with_max_level(level.as_log())
        .init()
        .map_err(|e| {
            AuditError::new(
                ErrorKind::Install,
                format!(
                    "cannot forward `log` records to tracing ({e}): expected no `log` logger installed before init_from_env; to keep your own, compose the subscriber yourself with AuditBuilder"
                ),
            )
        })
}

fn set_global_default(subscriber: impl Into<tracing::Dispatch>) -> Result<(), AuditError> {
    tracing::dispatcher::set_global_default(subscriber.into()).map_err(|e| {
        AuditError::new(
            ErrorKind::Install,
            format!("cannot install the global subscriber: {e}"),
        )
    })
}

/// Checks that an audit event emitted now, on this thread, would reach an
/// [`AuditLayer`]: the current default subscriber contains one, and no filter in it
/// (a global `EnvFilter` or `LevelFilter`, a `filter_fn` layer, …) disables the audit
/// target at INFO, nor does `tracing`'s compile-time maximum level.
///
/// The filters are asked on a short-lived thread of their own (outside any span),
/// with this thread's subscriber: asking on this thread would leave the per-layer
/// filters that reject audit events in a state that makes their layers skip the
/// next event here (tokio-rs/tracing#2519).
///
/// Call it once after installing a subscriber you composed yourself;
/// [`init_from_env`] calls it for you.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::{AuditBuilder, Key, WriterConfig};
/// use tracing_subscriber::{filter::LevelFilter, layer::SubscriberExt as _};
///
/// let dir = tempfile::tempdir()?;
/// let config = WriterConfig::new(dir.path(), "svc", Key::generate()?);
/// let (audit, guard) = AuditBuilder::new(config).build()?;
/// // A global WARN filter would silently remove every audit event (emitted at INFO):
/// let subscriber = tracing_subscriber::registry().with(LevelFilter::WARN).with(audit);
/// tracing::subscriber::with_default(subscriber, || {
///     assert!(tracing_audit::check_installed().is_err());
/// });
/// # guard.shutdown()?; Ok(()) }
/// ```
///
/// # Errors
/// What would stop audit events, and how to fix it.
pub fn check_installed() -> Result<(), AuditError> {
    if tracing::level_filters::STATIC_MAX_LEVEL < tracing::level_filters::LevelFilter::INFO {
        return Err(AuditError::new(
            ErrorKind::Install,
            format!(
                "tracing was built with a compile-time maximum level of {} (a `max_level_*` feature): audit events, emitted at INFO, would be removed; expected INFO or more verbose",
                tracing::level_filters::STATIC_MAX_LEVEL
            ),
        ));
    }
    let dispatch = tracing::dispatcher::get_default(tracing::Dispatch::clone);
    if dispatch.downcast_ref::<AuditLayer>().is_none() {
        return Err(AuditError::new(
            ErrorKind::Install,
            "the current tracing subscriber has no AuditLayer, so audit events would not be recorded; expected the layer returned by AuditBuilder::build() in it (`registry().with(audit_layer)`)",
        ));
    }
    if !audit_target_enabled(dispatch)? {
        return Err(AuditError::new(
            ErrorKind::Install,
            format!(
                "a filter in the tracing subscriber disables the audit target `{AUDIT_TARGET}` at INFO, so audit events would be dropped before reaching the audit layer; expected no global filter that removes it: put filters on the other layers instead (`fmt::layer().with_filter(…)`)"
            ),
        ));
    }
    Ok(())
}

/// Whether `dispatch` enables the audit target at INFO, asked on a thread of its own
/// so that the per-layer filter state the question leaves behind (tokio-rs/tracing#2519)
/// dies with that thread instead of eating the caller's next event.
fn audit_target_enabled(dispatch: tracing::Dispatch) -> Result<bool, AuditError> {
    support::on_probe_thread(|| {
        tracing::dispatcher::with_default(
            &dispatch,
            || tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO),
        )
    })
    .map_err(|e| {
        AuditError::new(
            ErrorKind::Install,
            format!("cannot start a thread to check the subscriber's filters: {e}"),
        )
    })
}
