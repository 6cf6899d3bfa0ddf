use tracing_audit::{audit, audited};

#[audited(action = "task.completed", resource = "t", colour = "red", skip(nothing))]
fn unknown_arg(x: u32) {}

#[audited(action = "task.completed", resource = "t", resource = "u")]
fn duplicated() {}

#[audited(resource = "t")]
fn no_action() {}

#[audited(action = name(), resource = "t")]
fn action_not_a_literal() {}

fn main() {
    // On error the items are still emitted unchanged: these calls resolve.
    unknown_arg(1);
    duplicated();
    no_action();
    action_not_a_literal();
    audit!(action = "task.completed", resource = "t", category = "x", audit.action = "y");
}
