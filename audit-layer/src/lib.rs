//! The `tracing` side of audit-trail: a [`tracing_subscriber::Layer`] that records
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
//! [`AuditBuilder::build`] fails when the stream cannot be opened (see
//! `tracing_audit_core::Error`); [`AuditGuard::flush`] and [`AuditGuard::shutdown`] return an
//! [`AuditError`] when records could not be made durable.
#![deny(missing_docs)]

mod capture;
mod config;
mod layer;
mod pipeline;
mod redact;
#[doc(hidden)]
pub mod support;

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use tracing_audit_core::{Timestamp, Writer, WriterConfig};

pub use capture::{DEFAULT_SPAN_FIELDS, MARKER_FIELD, SpanTarget};
pub use config::ENV_VARS;
pub use layer::{AUDIT_TARGET, AuditLayer, is_audit, non_audit};
pub use pipeline::Overflow;
pub use redact::{
    Catalogued, DEFAULT_FIELD_RULES, Fingerprinter, MASK, Redacted, Redactor, Strategy,
    redact_patterns, redacted,
};

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
        eprintln!("audit-trail: AUDIT_ENABLED=false: audit events are NOT being recorded");
        tracing_subscriber::registry()
            .with(console)
            .try_init()
            .map_err(|e| AuditError::msg(format!("cannot install the global subscriber: {e}")))?;
        return Ok(None);
    };
    let (layer, guard) = builder.build()?;
    tracing_subscriber::registry()
        .with(console)
        .with(layer)
        .try_init()
        .map_err(|e| AuditError::msg(format!("cannot install the global subscriber: {e}")))?;
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
        return Err(AuditError::msg(format!(
            "tracing was built with a compile-time maximum level of {} (a `max_level_*` feature): audit events, emitted at INFO, would be removed; expected INFO or more verbose",
            tracing::level_filters::STATIC_MAX_LEVEL
        )));
    }
    let has_layer = tracing::dispatcher::get_default(|d| d.downcast_ref::<AuditLayer>().is_some());
    if !has_layer {
        return Err(AuditError::msg(
            "the current tracing subscriber has no AuditLayer, so audit events would not be recorded; expected the layer returned by AuditBuilder::build() in it (`registry().with(tracing_audit_layer)`)".into(),
        ));
    }
    if !tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO) {
        return Err(AuditError::msg(format!(
            "a filter in the tracing subscriber disables the audit target `{AUDIT_TARGET}` at INFO, so audit events would be dropped before reaching the audit layer; expected no global filter that removes it: put filters on the other layers instead (`fmt::layer().with_filter(…)`)"
        )));
    }
    Ok(())
}

/// An audit pipeline error: the stream could not be opened, or records could not be
/// made durable.
#[derive(Debug)]
pub struct AuditError {
    message: String,
    core: Option<tracing_audit_core::Error>,
}

impl AuditError {
    fn msg(message: String) -> AuditError {
        AuditError {
            message,
            core: None,
        }
    }

    /// The storage error behind this one, if any (its `kind()` tells the class).
    pub fn core(&self) -> Option<&tracing_audit_core::Error> {
        self.core.as_ref()
    }
}

impl From<tracing_audit_core::Error> for AuditError {
    fn from(e: tracing_audit_core::Error) -> Self {
        AuditError {
            message: e.to_string(),
            core: Some(e),
        }
    }
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.core
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Builds an [`AuditLayer`] and its [`AuditGuard`].
#[derive(Debug, Clone)]
pub struct AuditBuilder {
    writer: WriterConfig,
    overflow: Overflow,
    capacity: usize,
    span_fields: Vec<(String, SpanTarget)>,
    redactor: Redactor,
}

impl AuditBuilder {
    /// A builder writing to the stream `writer` describes, with lossless
    /// backpressure ([`Overflow::Block`]), a queue of 65,536 events, the
    /// [`DEFAULT_SPAN_FIELDS`], and the default redaction ([`DEFAULT_FIELD_RULES`]
    /// and every value pattern of [`redact_patterns`]).
    pub fn new(writer: WriterConfig) -> AuditBuilder {
        AuditBuilder {
            redactor: Redactor::new(&writer.key),
            writer,
            overflow: Overflow::default(),
            capacity: 65_536,
            span_fields: DEFAULT_SPAN_FIELDS
                .iter()
                .map(|(n, t)| ((*n).to_owned(), *t))
                .collect(),
        }
    }

    /// What to do when the queue is full.
    pub fn overflow(mut self, overflow: Overflow) -> AuditBuilder {
        self.overflow = overflow;
        self
    }

    /// How many events the queue holds.
    pub fn queue_capacity(mut self, capacity: usize) -> AuditBuilder {
        self.capacity = capacity;
        self
    }

    /// Also read span field `name` as `target` (in addition to the defaults).
    pub fn span_field(mut self, name: impl Into<String>, target: SpanTarget) -> AuditBuilder {
        self.span_fields.push((name.into(), target));
        self
    }

    /// Redacts the field called exactly `name` (ignoring case) with `strategy`,
    /// before the default rules; [`Strategy::Keep`] exempts a field they would catch.
    pub fn redact_field(mut self, name: &str, strategy: Strategy) -> AuditBuilder {
        self.redactor.field(name, strategy);
        self
    }

    /// The action catalog, for events emitted without the macros (plain
    /// `tracing::event!` on the audit target): the layer fills their `category` and
    /// fingerprints their sensitive fields, as the macros do at compile time, and
    /// counts actions missing from it (`audit_events_not_in_catalog_total`) while
    /// still recording them.
    pub fn catalog(mut self, catalog: tracing_audit_catalog::Catalog) -> AuditBuilder {
        self.redactor.catalog(catalog);
        self
    }

    /// Turns off the default field-name rules ([`DEFAULT_FIELD_RULES`]). The value
    /// patterns (bearer tokens, JWTs, private keys, URL passwords, cloud keys) stay
    /// on: they cannot be turned off.
    pub fn without_default_redaction(mut self) -> AuditBuilder {
        self.redactor.without_default_rules();
        self
    }

    /// Opens the stream (continuing its chain) and starts the writer thread.
    ///
    /// From then on, [`redacted`] values fingerprint with this stream's key.
    ///
    /// # Errors
    /// The stream cannot be opened (locked, corrupt, wrong key, I/O), or the thread
    /// cannot be started.
    pub fn build(self) -> Result<(AuditLayer, AuditGuard), AuditError> {
        let service = self.writer.service.clone();
        let writer = Writer::open(self.writer)?;
        redact::set_current(std::sync::Arc::clone(self.redactor.fingerprinter()));
        let (queue, handle) =
            pipeline::start(writer, service, self.redactor, self.capacity, self.overflow).map_err(
                |e| AuditError::msg(format!("cannot start the audit writer thread: {e}")),
            )?;
        let guard = AuditGuard {
            queue: queue.clone(),
            handle: Some(handle),
        };
        Ok((
            AuditLayer {
                queue,
                span_fields: self.span_fields,
            },
            guard,
        ))
    }
}

/// Keeps the audit writer running. Dropping it flushes, seals the segment and joins
/// the writer thread (printing any error to standard error); call
/// [`AuditGuard::shutdown`] to get that error as a `Result` instead.
#[must_use = "dropping the guard stops the audit writer; keep it alive as long as the program runs"]
pub struct AuditGuard {
    queue: pipeline::Queue,
    handle: Option<JoinHandle<Result<(), String>>>,
}

/// A snapshot of the pipeline's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// False after a failed write, until a write succeeds again.
    pub healthy: bool,
    /// When the last batch was written.
    pub last_write: Option<Timestamp>,
    /// The last write error.
    pub last_error: Option<String>,
    /// Events written so far.
    pub written: u64,
    /// Events dropped so far (overflow policy `Drop` / `BlockTimeout`, or after shutdown).
    pub dropped: u64,
    /// Failed write attempts so far.
    pub write_errors: u64,
    /// Events waiting in the queue.
    pub queue_depth: usize,
}

impl AuditGuard {
    /// Returns when every event emitted before this call is durable.
    ///
    /// # Errors
    /// The writer has stopped or could not make the records durable.
    pub fn flush(&self) -> Result<(), AuditError> {
        self.queue.flush().map_err(AuditError::msg)
    }

    /// True while the writer is running and its last write succeeded.
    pub fn is_healthy(&self) -> bool {
        self.queue.shared.is_healthy()
    }

    /// The pipeline's health now.
    pub fn health(&self) -> Health {
        let s = &self.queue.shared;
        let last = s.last_write_micros.load(Ordering::Relaxed);
        Health {
            healthy: s.is_healthy(),
            last_write: (last != 0).then(|| Timestamp::from_unix_micros(last)),
            last_error: s
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            written: s.written_total.load(Ordering::Relaxed),
            dropped: s.dropped_total.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Relaxed),
            queue_depth: self.queue.queue_depth(),
        }
    }

    /// Writes everything queued, seals the segment, and stops the writer thread.
    ///
    /// # Errors
    /// Records could not be written (after retrying) or the segment not sealed.
    pub fn shutdown(mut self) -> Result<(), AuditError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), AuditError> {
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        self.queue.send_shutdown();
        match handle.join() {
            Ok(r) => r.map_err(AuditError::msg),
            Err(_) => Err(AuditError::msg("the audit writer thread panicked".into())),
        }
    }

    #[doc(hidden)]
    /// Test seam: holds the writer thread before its next batch while the returned
    /// guard lives.
    pub fn stall_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.queue
            .shared
            .stall
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("audit-trail: shutting down the audit writer failed: {e}");
        }
    }
}
