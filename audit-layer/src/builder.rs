//! [`AuditBuilder`]: configures and starts the audit layer and its writer.

use std::sync::Arc;

use tracing_audit_core::{Member, Writer, WriterConfig};

use crate::capture::DEFAULT_SPAN_FIELDS;
use crate::error::{AuditError, ErrorKind};
use crate::guard::AuditGuard;
use crate::layer::AuditLayer;
use crate::pipeline::{self, Overflow};
use crate::redact::{Redactor, Strategy};

/// Builds an [`AuditLayer`] and its [`AuditGuard`].
#[derive(Debug, Clone)]
pub struct AuditBuilder {
    pub(crate) writer: WriterConfig,
    pub(crate) overflow: Overflow,
    capacity: usize,
    span_fields: Vec<(String, Member)>,
    redactor: Redactor,
}

impl AuditBuilder {
    /// A builder writing to the stream `writer` describes, with lossless
    /// backpressure ([`Overflow::Block`]), a queue of 65,536 events, the
    /// [`DEFAULT_SPAN_FIELDS`], and the default redaction ([`DEFAULT_FIELD_RULES`](crate::DEFAULT_FIELD_RULES)
    /// and every value pattern of [`redact_patterns`](crate::redact_patterns)).
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

    /// Also read span field `name` as the record member `member` (in addition to
    /// the [`DEFAULT_SPAN_FIELDS`]).
    pub fn span_field(mut self, name: impl Into<String>, member: Member) -> AuditBuilder {
        self.span_fields.push((name.into(), member));
        self
    }

    /// Redacts the field called exactly `name` (ignoring case), and the record
    /// member so named (`actor.session`, `reason`, …), with `strategy`, before the
    /// default rules; [`Strategy::Keep`] exempts a field they would catch, or the
    /// session id, which is fingerprinted by default
    /// (`redact_field("actor.session", Strategy::Keep)`).
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

    /// Turns off the default field-name rules ([`DEFAULT_FIELD_RULES`](crate::DEFAULT_FIELD_RULES)). The value
    /// patterns (bearer tokens, JWTs, private keys, URL passwords, cloud keys,
    /// secret fields' values in text) stay on: they cannot be turned off. The
    /// session id stays fingerprinted (see [`redact_field`](Self::redact_field)).
    pub fn without_default_redaction(mut self) -> AuditBuilder {
        self.redactor.without_default_rules();
        self
    }

    /// Opens the stream (continuing its chain) and starts the writer thread.
    ///
    /// [`redacted`](crate::redacted) values made where this layer is in the current
    /// subscriber fingerprint with this stream's key.
    ///
    /// # Errors
    /// The stream cannot be opened (locked, corrupt, wrong key, I/O), or the thread
    /// cannot be started.
    pub fn build(self) -> Result<(AuditLayer, AuditGuard), AuditError> {
        let service = self.writer.service.clone();
        let dir = self.writer.dir.display().to_string();
        let writer = Writer::open(self.writer).map_err(|e| {
            AuditError::with_core(
                ErrorKind::Open,
                format_args!("cannot open the audit stream {dir}"),
                e,
            )
        })?;
        let fingerprinter = Arc::clone(self.redactor.fingerprinter());
        let (queue, handle) =
            pipeline::start(writer, service, self.redactor, self.capacity, self.overflow).map_err(
                |e| {
                    AuditError::new(
                        ErrorKind::Open,
                        format!("cannot start the audit writer thread: {e}"),
                    )
                },
            )?;
        let guard = AuditGuard {
            queue: queue.clone(),
            handle: Some(handle),
        };
        Ok((
            AuditLayer {
                queue,
                span_fields: self.span_fields,
                fingerprinter,
            },
            guard,
        ))
    }
}
