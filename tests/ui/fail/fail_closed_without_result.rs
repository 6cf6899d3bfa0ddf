use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t", fail_closed)]
fn returns_nothing() {}

fn main() {}

#[derive(Debug)]
struct StatusCode(u16);

// A return type that is not a `Result`: one error in words, at the type.
#[audited(action = "task.completed", resource = "t", fail_closed)]
fn returns_a_status() -> StatusCode {
    StatusCode(204)
}
