use tracing_audit::audited;

#[audited(action = "breakglass.activated", actor = "oncall", resource = "db-prod")]
fn break_glass() {}

fn main() {}
