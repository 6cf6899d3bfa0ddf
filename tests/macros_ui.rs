//! Compile-time checks of `audit!` and `#[audited]` (trybuild), against the default
//! catalog (no `audit-catalog.toml` sits above the trybuild crates).
//!
//! Refresh the `.stderr` snapshots after an intended change with
//! `TRYBUILD=overwrite cargo test --test macros_ui`, and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
