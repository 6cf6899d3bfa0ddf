// An argument asked for (`fields(body)`) whose type is neither Display nor Debug:
// the error is at the argument, and says what to do.
use tracing_audit::audited;

struct Signup {
    password: String,
}

#[audited(action = "pool.created", actor = "admin", resource = "u-1", fields(body))]
fn signup(body: Signup) {
    let _ = body.password;
}

fn main() {
    signup(Signup { password: String::new() });
}
