//! A tamper-evident, compliance-grade audit trail for Rust services.
//!
//! This is the facade crate: the one dependency a service adds. It provides the
//! macros ([`audited`], [`audit!`]), the `tracing` side ([`AuditLayer`], built by
//! [`AuditBuilder`] or [`init_from_env`], and the [`non_audit`] filter for other
//! layers), and re-exports the storage core ([`tracing_audit_core`]: the record model, the
//! hash-chained [`Writer`], [`verify_dir`]).
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
//! # Ok(()) }
//! ```
//!
//! The action catalog is described in `docs/CATALOG.md`, the record format in
//! `docs/FORMAT.md`; operators verify trails with the `audit` command
//! (`audit verify DIR --key-file KEY`).
#![deny(missing_docs)]

pub use tracing_audit_core;
pub use tracing_audit_core::{
    Actor, Appended, Durability, Entry, Error, ErrorKind, Event, Failure, FailureKind, FieldValue,
    Gap, Key, Limits, Opened, Outcome, Period, Report, Rotation, Timestamp, VerifyOptions, Writer,
    WriterConfig, verify_dir,
};
pub use tracing_audit_layer;
pub use tracing_audit_layer::support::AuditUnavailable;
pub use tracing_audit_layer::{
    AUDIT_TARGET, AuditBuilder, AuditError, AuditGuard, AuditLayer, Health, Overflow, SpanTarget,
    Strategy, check_installed, init_from_env, non_audit, redacted,
};
pub use tracing_audit_macros::{audit, audited};

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use tracing_audit_layer::support::*;
}
