use tracing_audit::{audit, audited};

#[audited(action = "pool.delete", actor = "a", resource = "p")]
fn close_typo() {}

fn far() {
    audit!(action = "billing.refund", amount = 3);
}

fn main() {}
