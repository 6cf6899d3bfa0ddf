//! Issue 9, bug 4: a body that does not parse gets the real parse error, not
//! "#[audited] goes on a function with a body"; the function still resolves.
use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t")]
fn broken(count: u32) -> u32 {
    let next = ;
    count
}

fn main() {
    let _ = broken(1);
}
