//! Issue 9, bug 4: an inner attribute of an audited function still applies to its
//! body (here it turns the unused variable into an error).
use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t")]
fn with_lint(count: u32) -> u32 {
    #![deny(unused_variables)]
    let unused = 1;
    count
}

fn main() {
    let _ = with_lint(1);
}
