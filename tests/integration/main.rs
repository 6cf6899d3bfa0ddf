//! Cross-crate integration tests, in one binary to keep builds and runs short.

mod common;
mod crash;
mod encoding;
mod interop;
mod restart;
mod tamper;
