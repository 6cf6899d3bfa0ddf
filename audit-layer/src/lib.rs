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
#![deny(missing_docs)]

mod builder;
mod capture;
mod catalog;
mod config;
mod error;
mod guard;
mod layer;
mod metrics;
mod pipeline;
mod redact;
#[doc(hidden)]
pub mod support;

pub use builder::AuditBuilder;
pub use capture::DEFAULT_SPAN_FIELDS;
pub use config::ENV_VARS;
pub use error::{AuditError, ErrorKind};
pub use guard::{AuditGuard, Health};
pub use layer::{AUDIT_TARGET, AuditLayer, is_audit, non_audit};
pub use pipeline::{DEFAULT_DEADLINE, Overflow};
pub use redact::{
    DEFAULT_FIELD_RULES, Fingerprinter, MASK, Redacted, Strategy, redact_patterns, redacted,
};
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
/// `fmt` layer to standard error that never shows audit events, plus the audit layer.
///
/// Returns `Ok(None)` when `AUDIT_ENABLED=false` (after saying on standard error that
/// nothing is recorded). Services that compose their own subscriber use
/// [`AuditBuilder`] and [`non_audit`] instead.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let _guard = tracing_audit_layer::init_from_env()?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// A bad or missing variable (named in the message), a stream that cannot be
/// opened, a global subscriber already installed, or a build of `tracing` whose
/// compile-time maximum level (`max_level_*` features) removes audit events.
pub fn init_from_env() -> Result<Option<AuditGuard>, AuditError> {
    use tracing_subscriber::{Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _};
    if tracing::level_filters::STATIC_MAX_LEVEL < tracing::level_filters::LevelFilter::INFO {
        // Checked before anything is installed (check_installed repeats it after).
        check_installed()?;
    }
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(non_audit());
    let Some(builder) = AuditBuilder::from_env()? else {
        eprintln!("tracing-audit: AUDIT_ENABLED=false: audit events are NOT being recorded");
        tracing_subscriber::registry()
            .with(console)
            .try_init()
            .map_err(|e| {
                AuditError::new(
                    ErrorKind::Install,
                    format!("cannot install the global subscriber: {e}"),
                )
            })?;
        return Ok(None);
    };
    let (layer, guard) = builder.build()?;
    tracing_subscriber::registry()
        .with(console)
        .with(layer)
        .try_init()
        .map_err(|e| {
            AuditError::new(
                ErrorKind::Install,
                format!("cannot install the global subscriber: {e}"),
            )
        })?;
    check_installed()?;
    Ok(Some(guard))
}

/// Checks that an audit event emitted now, on this thread, would reach an
/// [`AuditLayer`]: the current default subscriber contains one, and no filter in it
/// (a global `EnvFilter` or `LevelFilter`, a `filter_fn` layer, …) disables the audit
/// target at INFO, nor does `tracing`'s compile-time maximum level.
///
/// Call it once after installing a subscriber you composed yourself;
/// [`init_from_env`] calls it for you.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_subscriber::{filter::LevelFilter, layer::SubscriberExt as _};
/// let dir = tempfile::tempdir()?;
/// let config = tracing_audit_core::WriterConfig::new(dir.path(), "svc", tracing_audit_core::Key::generate()?);
/// let (audit, guard) = tracing_audit_layer::AuditBuilder::new(config).build()?;
/// // A global WARN filter would silently remove every audit event (emitted at INFO):
/// let subscriber = tracing_subscriber::registry().with(LevelFilter::WARN).with(audit);
/// tracing::subscriber::with_default(subscriber, || {
///     assert!(tracing_audit_layer::check_installed().is_err());
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
    let has_layer = tracing::dispatcher::get_default(|d| d.downcast_ref::<AuditLayer>().is_some());
    if !has_layer {
        return Err(AuditError::new(
            ErrorKind::Install,
            "the current tracing subscriber has no AuditLayer, so audit events would not be recorded; expected the layer returned by AuditBuilder::build() in it (`registry().with(audit_layer)`)",
        ));
    }
    if !tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO) {
        return Err(AuditError::new(
            ErrorKind::Install,
            format!(
                "a filter in the tracing subscriber disables the audit target `{AUDIT_TARGET}` at INFO, so audit events would be dropped before reaching the audit layer; expected no global filter that removes it: put filters on the other layers instead (`fmt::layer().with_filter(…)`)"
            ),
        ));
    }
    Ok(())
}
