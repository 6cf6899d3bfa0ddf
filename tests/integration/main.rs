//! Cross-crate integration tests, in one binary to keep builds and runs short.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod common;
mod crash;
mod disk_full;
mod encoding;
mod interop;
mod macros;
mod restart;
mod tamper;
