use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t")]
struct NotAFunction;

fn main() {}
