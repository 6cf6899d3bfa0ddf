//! A tamper-evident, compliance-grade audit trail for Rust services, on top of
//! [`tracing`](https://docs.rs/tracing).
//!
//! This is the facade crate: the one package of the family a service depends on (see
//! [Dependencies](#dependencies) for the others it may need). At the root is what a
//! service needs: the macros ([`audited`], [`audit!`]), the layer ([`AuditLayer`],
//! built by [`AuditBuilder`] or [`init_from_env`]), its [`AuditGuard`], the
//! [`non_audit`] filter for the other layers, [`redacted`] for secrets in spans, and
//! the errors. Writing and reading trails without `tracing` is in [`storage`],
//! verification in [`verify`], the action catalog in [`catalog`], redaction details
//! in [`redaction`], and the names of the record schema in [`schema`].
//!
//! Three tables say what the layer does without being told: the environment
//! variables that [`init_from_env`] and [`AuditBuilder::from_env`] read
//! ([`schema::ENV_VARS`]), the span fields that give a record its actor, request and
//! tenant ([`schema::DEFAULT_SPAN_FIELDS`]), and the field names redacted by default
//! ([`redaction::DEFAULT_FIELD_RULES`]).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit::{AuditBuilder, Key, WriterConfig, audit, audited, non_audit};
//! use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
//!
//! #[derive(Debug)]
//! struct ApiError(String);
//! impl std::fmt::Display for ApiError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str(&self.0)
//!     }
//! }
//!
//! // Checked against the action catalog at compile time; one record per call.
//! #[audited(action = "pool.deleted", actor = user, resource = pool_id)]
//! fn delete_pool(user: &str, pool_id: &str) -> Result<(), ApiError> {
//!     Ok(())
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let (audit, guard) =
//!     AuditBuilder::new(WriterConfig::new(dir.path(), "pools", Key::generate()?)).build()?;
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_filter(non_audit()))
//!     .with(audit);
//! tracing::subscriber::with_default(subscriber, || {
//!     delete_pool("alice", "p-42").unwrap();
//!     audit!(action = "authz.denied", actor = "mallory", resource = "p-42", outcome = "denied");
//! });
//! guard.shutdown()?; // flushes, seals, and reports any error
//!
//! // What an operator's `audit verify` does:
//! let report = tracing_audit::verify::verify_dir(dir.path(), &Default::default())?;
//! assert!(report.ok());
//! # Ok(()) }
//! ```
//!
//! The action catalog is described in [CATALOG.md](docs::catalog), the record format
//! in [FORMAT.md](docs::format), the measured figures in
//! [BENCHMARKS.md](docs::benchmarks). Operators verify trails with the `audit`
//! command of the `tracing-audit-cli` package (`cargo install tracing-audit-cli`, or
//! `cargo install --path audit-cli` from a checkout): `audit verify DIR --key-file KEY`.
//!
//! # Dependencies
//!
//! The macros, [`init_from_env`] and [`storage`] need no other dependency (the
//! spans that carry the actor and the request come from `tracing = "0.1"`, which a
//! service has anyway). A service that composes its own subscriber, as the example
//! above does, also depends on `tracing-subscriber = "0.3"`: its default features
//! give `registry()` and the `fmt` layer; add the `env-filter` feature for
//! `EnvFilter`.
//!
//! # Errors
//!
//! The layer's functions return [`AuditError`], whose [`ErrorKind`] tells the class
//! and whose [`source`](std::error::Error::source) is the storage error behind it, if
//! any ([`storage::Error`]).
#![deny(missing_docs)]

pub use tracing_audit_core::{Durability, Key, Rotation, WriterConfig};
pub use tracing_audit_layer::support::AuditUnavailable;
pub use tracing_audit_layer::{
    AUDIT_TARGET, AuditBuilder, AuditError, AuditGuard, AuditLayer, DEFAULT_DEADLINE, ErrorKind,
    Everything, Flush, Health, NonAudit, Overflow, ShutdownSignal, Strategy, check_installed,
    flush, init_from_env, non_audit, redacted, shutdown_signal,
};
pub use tracing_audit_macros::{audit, audited};
/// The record's members (`actor.id`, `resource`, …): what a span field provides
/// ([`AuditBuilder::span_field`]). Also in [`schema`].
pub use tracing_audit_schema::Member;

/// Writing and reading trails directly, without `tracing`: the record model, the
/// hash-chained [`Writer`](storage::Writer), the [`Stream`](storage::Stream) reader,
/// and the [`Storage`](storage::Storage) seam.
pub mod storage {
    pub use tracing_audit_core::storage::{
        AppendFile, FileStorage, LockGuard, ReadFile, Storage, TryLock,
    };
    pub use tracing_audit_core::{
        Actor, Appended, Checkpoints, Durability, Entry, Error, ErrorKind, Event, FORMAT_VERSION,
        FieldValue, Gap, Key, Limits, MAX_LINE_BYTES, Opened, Outcome, PartialAppend, Period,
        Record, RecordKind, Records, Rotation, SegmentName, Stream, Timestamp, Writer,
        WriterConfig,
    };
}

/// Signed checkpoints and their keys (C2SP signed notes), and the Merkle tree
/// they commit to: what auditors check with a public key alone.
pub mod note {
    pub use tracing_audit_core::merkle;
    pub use tracing_audit_core::note::*;
}

/// Proofs of a stream's records: built in one pass over the trail, or from a
/// proof index in well under a millisecond.
pub mod proof {
    pub use tracing_audit_core::proof::*;
}

/// Finding records: [`query::Query`] (what `audit query` runs).
pub mod query {
    pub use tracing_audit_core::query::*;
}

/// The proof index of a stream's Merkle tree (see [`tree_index::TreeIndex`]).
pub mod tree_index {
    pub use tracing_audit_core::tree_index::*;
}

/// Verifying a trail: what `audit verify` does.
pub mod verify {
    pub use tracing_audit_core::{
        End, Failure, FailureKind, MAX_TIME_GAPS, Report, SegmentReport, TimeGap, VerifyOptions,
        verify_dir,
    };
}

/// The action catalog the macros check at compile time and the layer can use at run
/// time ([`AuditBuilder::catalog`]).
pub mod catalog {
    pub use tracing_audit_catalog::{
        Action, CATALOG_VERSION, Catalog, CatalogError, DEFAULT_CATALOG, ENV_VAR, FILE_NAME,
        Severity, Source,
    };
}

/// Redaction: strategies, the default field-name rules, value patterns, and keyed
/// fingerprints (to find the records that mention a known value).
pub mod redaction {
    pub use tracing_audit_layer::{
        DEFAULT_FIELD_RULES, Fingerprinter, MASK, Redacted, Strategy, redact_patterns, redacted,
    };
}

/// The names of the record schema: the audit target, the marker field, the members
/// and the outcomes, and the span fields and environment variables the layer reads.
pub mod schema {
    pub use tracing_audit_layer::{DEFAULT_SPAN_FIELDS, ENV_VARS, is_audit};
    pub use tracing_audit_schema::*;
}

/// The project's documents, rendered here so that they are one click away on
/// docs.rs: the record format (the contract every verifier is written from), the
/// action catalog's format, the measured figures, and the threat model of the
/// trail's integrity mechanisms.
///
/// In the repository they are `docs/FORMAT.md`, `docs/CATALOG.md`,
/// `docs/BENCHMARKS.md` and `docs/SECURITY.md`.
pub mod docs {
    #[doc = include_str!("../docs/FORMAT.md")]
    pub mod format {}

    #[doc = include_str!("../docs/CATALOG.md")]
    pub mod catalog {}

    #[doc = include_str!("../docs/BENCHMARKS.md")]
    pub mod benchmarks {}

    #[doc = include_str!("../docs/SECURITY.md")]
    pub mod security {}
}

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use tracing_audit_layer::support::*;
}
