//! Every supported function shape compiles under #[audited], and `audit!` in sync
//! and async code.
use tracing_audit::{AuditUnavailable, audit, audited};

#[derive(Debug)]
struct MyError(String);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<AuditUnavailable> for MyError {
    fn from(e: AuditUnavailable) -> Self {
        MyError(e.to_string())
    }
}

impl From<std::num::ParseIntError> for MyError {
    fn from(e: std::num::ParseIntError) -> Self {
        MyError(e.to_string())
    }
}

#[audited(action = "pool.created", actor = "alice", resource = name)]
pub fn free(name: &str) -> Result<u32, MyError> {
    let n: u32 = "42".parse()?; // `?` with a From conversion
    let _ = name;
    Ok(n)
}

#[audited(action = "pool.modified", actor = "alice", resource = id, fail_closed)]
fn fail_closed(id: u64) -> Result<(), MyError> {
    let _ = id;
    Ok(())
}

#[audited(action = "task.completed", resource = "t", skip_all)]
fn unit() {}

#[audited(action = "task.completed", resource = "t")]
fn generic<T: std::fmt::Display + Clone>(item: T, count: usize) -> Vec<T> {
    vec![item; count]
}

#[audited(action = "task.completed", resource = "t")]
fn returns_impl(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[audited(action = "task.completed", resource = "t")]
fn returns_ref<'a>(names: &'a [String], i: usize) -> &'a str {
    &names[i]
}

struct Service {
    calls: u32,
}

impl Service {
    #[audited(action = "node.registered", resource = node, skip(self))]
    fn method(&mut self, node: &str) -> u32 {
        let _ = node;
        self.calls += 1;
        self.calls
    }

    #[audited(action = "node.deregistered", resource = node)]
    async fn async_method(&self, node: String) -> Result<u32, MyError> {
        let n: u32 = "7".parse()?;
        let _ = node;
        Ok(n + self.calls)
    }

    #[audited(action = "data.deleted", actor = "gdpr-bot", resource = subject)]
    fn by_value(self, subject: u64) -> Self {
        let _ = subject;
        self
    }
}

#[audited(action = "auth.failure", reason = "bad password", fields(user = %name, attempts = tries))]
async fn async_free(name: String, tries: u32, password: &str) -> Result<(), String> {
    let _ = (name, tries, password);
    Err("denied".into())
}

async fn emits_in_async(pool: &str) {
    audit!(action = "pool.deleted", actor = "alice", resource = %pool);
}

fn emits_with_context() {
    // A `?name` shorthand field records a local binding's Debug text.
    let reason_code: (u8, u8) = (4, 3);
    audit!(action = "authz.denied", context(actor), resource = "db", ?reason_code);
}

fn main() {
    let _ = free("p");
    let _ = fail_closed(1);
    unit();
    let _ = generic("x", 2);
    let _ = returns_impl(3).count();
    let names = vec!["a".to_owned()];
    let _ = returns_ref(&names, 0);
    let mut s = Service { calls: 0 };
    let _ = s.method("n");
    let _ = s.async_method("n".into());
    let _ = s.by_value(9);
    let _ = async_free("u".into(), 1, "pw");
    let _ = emits_in_async("p");
    emits_with_context();
}
