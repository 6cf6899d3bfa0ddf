//! A tamper-evident, compliance-grade audit trail for Rust services.
//!
//! This is the facade crate: the one dependency a service adds. Today it re-exports
//! the storage core ([`audit_core`]): the record model, the hash-chained
//! [`Writer`], and [`verify_dir`]. The `tracing` layer and the `#[audited]` /
//! `audit!` macros build on exactly this storage.
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
