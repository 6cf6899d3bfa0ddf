use tracing_audit::{audit, audited};

#[audited(action = "pool.deleted", resource = id)]
fn delete(id: &str) {}

fn main() {
    audit!(action = "kernel.capability.denied");
}
