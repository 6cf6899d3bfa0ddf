// A typo in a member's name must not silently become an extra field.
use tracing_audit::audit;

fn main() {
    audit!(action = "pool.deleted", actor = "alice", resouce = "p-1");
    audit!(action = "pool.deleted", actr = "alice", resource = "p-1", reasn = "cleanup");
}
