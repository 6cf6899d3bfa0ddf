use tracing_audit::{audit, audited};

// An argument named `reason` is a field, not the record's justification.
#[audited(action = "breakglass.activated", actor = "oncall", resource = "db-prod")]
fn break_glass(reason: &str) {}

fn main() {
    // A span cannot supply the justification either.
    audit!(action = "breakglass.activated", actor = "oncall", resource = "db", context(reason));
}
