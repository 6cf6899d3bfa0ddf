//! Issue 9, bug 4: inner attributes stay inside the body of an audited function
//! (they became outer attributes, which does not compile).
#![deny(warnings)]
use tracing_audit::audited;

#[audited(action = "task.completed", resource = "t")]
fn sync_fn(count: u32) -> u32 {
    #![allow(clippy::let_and_return)]
    //! Inner doc comments are inner attributes too.
    let next = count + 1;
    next
}

#[audited(action = "task.completed", resource = "t")]
async fn async_fn(count: u32) -> Result<u32, String> {
    #![allow(unused_mut)]
    let mut next = count + 1;
    Ok(next)
}

struct Service;

impl Service {
    #[audited(action = "node.registered", resource = node, skip(self))]
    fn method(&self, node: &str) -> usize {
        #![allow(clippy::needless_return)]
        return node.len();
    }
}

fn main() {
    let _ = sync_fn(1);
    let _ = async_fn(2);
    let _ = Service.method("n");
}
