use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t", fail_closed)]
fn returns_nothing() {}

fn main() {}
