use audit_trail::audited;

#[audited(action = "task.completed", resource = "t")]
struct NotAFunction;

fn main() {}
