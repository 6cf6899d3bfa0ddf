//! A tamper-evident, compliance-grade audit trail for Rust services.
//!
//! This is the facade crate: the one dependency a service adds. It re-exports the
//! storage core ([`audit_core`]: the record model, the hash-chained [`Writer`],
//! [`verify_dir`]) and the `tracing` side ([`audit_layer`]: [`AuditLayer`], built by
//! [`AuditBuilder`], and the [`non_audit`] filter for other layers). The `#[audited]` /
//! `audit!` macros come next.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use audit_trail::{Event, Key, Writer, WriterConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let mut writer = Writer::open(WriterConfig::new(dir.path(), "billing", Key::generate()?))?;
//! writer.append(&[Event::new("invoice.refund").field("amount_cents", 1299u64).into()])?;
//! writer.close()?;
//! # Ok(()) }
//! ```
//!
//! The record format is specified in `docs/FORMAT.md`; operators verify trails with
//! the `audit` command (`audit verify DIR --key-file KEY`).
#![deny(missing_docs)]

pub use audit_core;
pub use audit_core::{
    Actor, Appended, Durability, Entry, Error, ErrorKind, Event, Failure, FailureKind, FieldValue,
    Gap, Key, Limits, Opened, Outcome, Period, Report, Rotation, Timestamp, VerifyOptions, Writer,
    WriterConfig, verify_dir,
};
pub use audit_layer;
pub use audit_layer::support::AuditUnavailable;
pub use audit_layer::{
    AUDIT_TARGET, AuditBuilder, AuditError, AuditGuard, AuditLayer, Health, Overflow, SpanTarget,
    Strategy, check_installed, init_from_env, non_audit, redacted,
};
pub use audit_macros::{audit, audited};

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use audit_layer::support::*;
}
