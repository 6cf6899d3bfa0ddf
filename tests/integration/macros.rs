//! `audit!` and `#[audited]`: the exact records they write.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::Value;
use tracing_audit::{AuditBuilder, AuditUnavailable, audit, audited, non_audit};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

use crate::common::{Captured, config, key, trail_events as events};

/// Runs `f` with an audit layer (and a capturing `fmt` layer beside it) and returns
/// the events of the trail and the `fmt` output.
fn record(f: impl FnOnce()) -> (Vec<Value>, String) {
    record_beside(
        |console| {
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(console)
                .with_filter(non_audit())
        },
        f,
    )
}

/// Like [`record`], with the console layer that `console` makes from the writer
/// it is given (to try other filters, or none).
fn record_beside<L>(console: impl FnOnce(Captured) -> L, f: impl FnOnce()) -> (Vec<Value>, String)
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(config(dir.path())).build().unwrap();
    let output = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(console(output.clone()))
        .with(audit);
    tracing::subscriber::with_default(subscriber, f);
    guard.shutdown().unwrap();
    (events(dir.path()), output.text())
}

/// Polls a future that never waits to completion (no runtime needed).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// The record without what changes from run to run.
fn stable(e: &Value) -> Value {
    let mut e = e.clone();
    let m = e.as_object_mut().unwrap();
    for k in [
        "v", "seq", "ts", "epoch", "prev", "id", "hash", "mac", "service", "kind",
    ] {
        m.remove(k);
    }
    if let Some(f) = m.get_mut("fields").and_then(Value::as_object_mut) {
        let d = f.remove("duration_us");
        assert!(d.is_none() || d.unwrap().is_u64());
        if f.is_empty() {
            m.remove("fields");
        }
    }
    e
}

#[test]
fn audit_macro_writes_the_action_its_category_members_and_fields() {
    let pool = String::from("pool-42");
    let details = vec![1, 2];
    let (events, _) = record(|| {
        audit!(
            action = "pool.deleted",
            actor = "alice",
            resource = %pool,
            size_gb = 128u64,
            ?details,
            reason = "decommissioned"
        );
    });
    assert_eq!(events.len(), 1);
    assert_eq!(
        stable(&events[0]),
        serde_json::json!({
            "action": "pool.deleted", "category": "resources", "outcome": "success",
            "actor": {"id": "alice"}, "resource": "pool-42", "reason": "decommissioned",
            "fields": {"size_gb": 128, "details": "[1, 2]"},
        })
    );
}

#[test]
fn sensitive_fields_are_fingerprinted_before_any_layer_sees_them() {
    let token = "tok-very-secret-123";
    let (events, console) = record(|| {
        audit!(
            action = "token.created",
            actor = "alice",
            resource = "key-1",
            token = token
        );
        tracing::info!("narration after the audit event");
    });
    let fp = tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint(token);
    assert_eq!(events[0]["fields"]["token"], fp);
    assert!(!console.contains(token));
    assert!(
        console.contains("narration after the audit event"),
        "{console}"
    );
}

#[derive(Debug)]
struct PoolError(String);

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pool error: {}", self.0)
    }
}

impl From<AuditUnavailable> for PoolError {
    fn from(e: AuditUnavailable) -> Self {
        PoolError(e.to_string())
    }
}

#[audited(action = "pool.deleted", actor = user, resource = pool_id, fields(force))]
fn delete_pool(user: &str, pool_id: &str, force: bool) -> Result<u32, PoolError> {
    if pool_id == "busy" {
        return Err(PoolError(format!(
            "{pool_id} has running tasks; token Bearer abcdefgh12345678"
        )));
    }
    let _ = force;
    Ok(3)
}

#[test]
fn audited_sync_function_records_success_and_failure_with_the_error_text() {
    let (events, _) = record(|| {
        assert_eq!(delete_pool("alice", "p-1", true).unwrap(), 3);
        assert!(delete_pool("bob", "busy", false).is_err());
    });
    assert_eq!(events.len(), 2);
    assert_eq!(
        stable(&events[0]),
        serde_json::json!({
            "action": "pool.deleted", "category": "resources", "outcome": "success",
            "actor": {"id": "alice"}, "resource": "p-1",
            "fields": {"force": true},
        })
    );
    assert_eq!(
        stable(&events[1]),
        serde_json::json!({
            "action": "pool.deleted", "category": "resources", "outcome": "failure",
            "actor": {"id": "bob"}, "resource": "busy",
            "fields": {
                "error": "pool error: busy has running tasks; token Bearer [redacted:bearer]",
                "force": false,
            },
        })
    );
}

struct Registry {
    nodes: Vec<String>,
}

impl Registry {
    #[audited(action = "node.registered", resource = name, skip(self))]
    fn register(&mut self, name: String) -> usize {
        self.nodes.push(name);
        self.nodes.len()
    }

    #[audited(action = "task.submitted", actor = "svc", resource = id, fields(kind = ?kind))]
    async fn submit<K: std::fmt::Debug>(&self, id: u64, kind: K) -> Result<u64, String> {
        let _ = &self.nodes;
        let _ = kind;
        if id == 0 {
            Err("id 0 is reserved".to_owned())
        } else {
            Ok(id)
        }
    }
}

#[test]
fn audited_method_async_and_generic_functions() {
    let mut reg = Registry { nodes: Vec::new() };
    let (events, _) = record(|| {
        assert_eq!(reg.register("n-1".into()), 1);
        assert_eq!(block_on(reg.submit(7, "gpu")), Ok(7));
        assert!(block_on(reg.submit(0, 'x')).is_err());
    });
    assert_eq!(events.len(), 3);
    assert_eq!(
        stable(&events[0]),
        serde_json::json!({
            "action": "node.registered", "category": "resources", "outcome": "success",
            "resource": "n-1",
        })
    );
    assert_eq!(
        stable(&events[1]),
        serde_json::json!({
            "action": "task.submitted", "category": "resources", "outcome": "success",
            "actor": {"id": "svc"}, "resource": "7",
            "fields": {"kind": "\"gpu\""},
        })
    );
    assert_eq!(events[2]["outcome"], "failure");
    assert_eq!(events[2]["fields"]["error"], "id 0 is reserved");
    assert_eq!(events[2]["fields"]["kind"], "'x'");
}

#[audited(action = "vram.allocated", resource = gpu, redact(handle))]
fn allocate(gpu: u32, handle: &str) -> impl std::fmt::Display + use<> {
    let _ = handle;
    format!("gpu{gpu}")
}

#[audited(action = "task.canceled", actor = "ops", resource = task, skip_all)]
fn cancel(task: &str) {
    if task == "boom" {
        panic!("cancel failed hard");
    }
}

#[test]
fn impl_trait_returns_redacted_arguments_and_panics() {
    let (events, _) = record(|| {
        assert_eq!(allocate(3, "0xdeadbeef").to_string(), "gpu3");
        cancel("t-1");
        let caught = std::panic::catch_unwind(|| cancel("boom"));
        assert!(caught.is_err(), "the panic goes on after the record");
    });
    assert_eq!(events.len(), 3);
    let fp = tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint("0xdeadbeef");
    assert_eq!(events[0]["fields"]["handle"], fp);
    // Not asked for: not recorded (it is the resource).
    assert_eq!(events[0]["fields"].get("gpu"), None);
    // `vram_ptr` is the catalog's sensitive field; `handle` was redacted by argument.
    assert_eq!(events[0]["resource"], "3");
    assert_eq!(
        stable(&events[1]),
        serde_json::json!({
            "action": "task.canceled", "category": "resources", "outcome": "success",
            "actor": {"id": "ops"}, "resource": "t-1",
        })
    );
    assert_eq!(events[2]["outcome"], "panic");
    assert_eq!(events[2]["resource"], "boom");
}

#[audited(action = "breakglass.activated", actor = "oncall", resource = "db-prod", reason = why, fail_closed)]
fn break_glass(why: &str) -> Result<(), PoolError> {
    let _ = why;
    Ok(())
}

#[test]
fn fail_closed_refuses_to_run_without_a_working_trail() {
    // No subscriber at all: the function does not run, and says why.
    let err = break_glass("incident 42").unwrap_err();
    assert_eq!(
        err.0,
        "the audit trail cannot record (no audit layer is installed), so the operation was not performed"
    );
    // With the trail: it runs and is recorded, with its justification.
    let (events, _) = record(|| break_glass("incident 42").unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "incident 42");
    assert_eq!(events[0]["category"], "breakglass");
}

// `token` is asked for; the catalog marks it sensitive.
#[audited(action = "token.created", actor = user, resource = key_id, fields(token))]
fn issue_token(user: &str, key_id: &str, token: &str) -> Result<(), String> {
    let _ = token;
    Ok(())
}

// `value` is sensitive in the catalog.
#[audited(action = "secret.rotated", actor = "rotator", resource = name, fields(value = new_value.clone()))]
fn rotate(name: &str, new_value: String) {
    let _ = (name, new_value);
}

#[test]
fn sensitive_values_reach_no_layer_even_one_without_the_non_audit_filter() {
    const TOKEN: &str = "tok-raw-6f1d2c";
    const SECRET: &str = "s3cr3t-v2-value";
    const SHOWN: &str = "tok-in-audit-macro";
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(config(dir.path())).build().unwrap();
    // A careless set-up: this fmt layer sees every event, audit events included.
    let console = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(console.clone()),
        )
        .with(audit);
    tracing::subscriber::with_default(subscriber, || {
        issue_token("alice", "key-7", TOKEN).unwrap();
        rotate("db-password", SECRET.to_owned());
        audit!(
            action = "token.revoked",
            actor = "alice",
            resource = "key-7",
            token = SHOWN
        );
    });
    guard.shutdown().unwrap();
    let console = console.text();
    let mut trail = String::new();
    for record in tracing_audit::storage::Stream::open(dir.path())
        .unwrap()
        .records()
    {
        trail.push_str(record.unwrap().text().unwrap());
        trail.push('\n');
    }
    for raw in [TOKEN, SECRET, SHOWN] {
        assert!(
            !console.contains(raw),
            "{raw} in the fmt output:\n{console}"
        );
        assert!(!trail.contains(raw), "{raw} in the trail:\n{trail}");
    }
    let fp = |v: &str| tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint(v);
    // The fmt layer saw the events — with fingerprints in place of the values.
    assert!(console.contains(&fp(TOKEN)), "{console}");
    assert!(console.contains(&fp(SECRET)), "{console}");
    let events = events(dir.path());
    assert_eq!(events[0]["fields"]["token"], fp(TOKEN));
    assert_eq!(events[1]["fields"]["value"], fp(SECRET));
    assert_eq!(events[2]["fields"]["token"], fp(SHOWN));
}

/// Neither `Display` nor `Debug`: recording it would not compile.
struct AppState;

#[audited(
    action = "task.completed",
    resource = "t-9",
    fields(attempts),
    redact(_token)
)]
fn with_unused_state(_state: &AppState, attempts: u32, _token: &str) {}

#[test]
fn arguments_named_with_a_leading_underscore_are_not_recorded() {
    let (events, _) = record(|| with_unused_state(&AppState, 2, "t0k"));
    let fp = tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint("t0k");
    assert_eq!(
        stable(&events[0]),
        serde_json::json!({
            "action": "task.completed", "category": "resources", "outcome": "success",
            "resource": "t-9", "fields": {"attempts": 2, "_token": fp},
        })
    );
}

#[audited(action = "task.submitted", actor = "svc", resource = "t-1")]
async fn waits_forever() -> Result<(), String> {
    std::future::pending::<()>().await;
    Ok(())
}

#[test]
fn an_async_call_dropped_before_it_completes_is_recorded_as_canceled() {
    let (events, _) = record(|| {
        let mut fut = Box::pin(waits_forever());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(fut); // a client went away, a timeout fired, a select! picked another branch
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outcome"], "unknown");
    assert_eq!(
        events[0]["fields"]["error"],
        "canceled: the call was dropped before it completed"
    );
    assert!(events[0]["fields"].get("audit.outcome").is_none());
}

/// A request body as a web framework hands it over (axum's `Json<T>` is the same
/// shape): its `Debug` text holds every field, the password included.
#[derive(Debug)]
struct Json<T>(T);

#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
struct Signup {
    login: String,
    password: String,
}

#[audited(action = "auth.success", actor = "signup-service")]
async fn signup(body: Json<Signup>, remote: &str) -> Result<(), String> {
    let Json(s) = body;
    let _ = (s.login, s.password, remote);
    Ok(())
}

#[test]
fn an_audited_handler_records_no_argument_it_was_not_asked_for() {
    const PASSWORD: &str = "hunter2-Sup3rSecret";
    let (events, console) = record(|| {
        let body = Json(Signup {
            login: "alice".into(),
            password: PASSWORD.into(),
        });
        block_on(signup(body, "203.0.113.9")).unwrap();
    });
    assert_eq!(events.len(), 1);
    assert_eq!(
        stable(&events[0]),
        serde_json::json!({
            "action": "auth.success", "category": "auth", "outcome": "success",
            "actor": {"id": "signup-service"},
        })
    );
    let mut trail = String::new();
    for e in &events {
        trail.push_str(&e.to_string());
    }
    for secret in [PASSWORD, "alice", "203.0.113.9"] {
        assert!(!trail.contains(secret), "{secret} in the trail: {trail}");
        assert!(
            !console.contains(secret),
            "{secret} on the console: {console}"
        );
    }
}

#[audited(action = "pool.modified", context(actor), resource = id)]
fn modify_pool(id: &str) {
    let _ = id;
}

#[audited(action = "pool.modified", context(actor), resource = id, fail_closed)]
fn modify_pool_strictly(id: &str) -> Result<(), PoolError> {
    let _ = id;
    Ok(())
}

/// `context(actor)` promises that a span provides the actor; when none does, the
/// record used to say `"actor": null` without a word.
#[test]
fn a_context_member_no_span_provides_is_marked_and_refused_by_fail_closed() {
    let (events, _) = record(|| {
        modify_pool("p-1"); // no span: marked
        let err = modify_pool_strictly("p-2").unwrap_err(); // refused: no record
        assert!(err.0.contains("no enclosing span"), "{}", err.0);
        let span = tracing::info_span!("request", actor = "alice");
        span.in_scope(|| {
            modify_pool("p-3");
            modify_pool_strictly("p-4").unwrap();
        });
    });
    let summary: Vec<(String, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["resource"].as_str().unwrap().to_owned(),
                e["actor"]["id"].clone(),
                e["fields"]["context_missing"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("p-1".to_owned(), Value::Null, Value::from("actor")),
            ("p-3".to_owned(), Value::from("alice"), Value::Null),
            ("p-4".to_owned(), Value::from("alice"), Value::Null),
        ]
    );
}

// `pool.deleted` is of severity high: durable by the catalog's default.
#[audited(action = "pool.deleted", actor = "ops", resource = id)]
fn delete_durably(id: &str) {
    let _ = id;
}

#[audited(action = "pool.deleted", actor = "ops", resource = id)]
async fn delete_durably_async(id: &str) -> Result<(), PoolError> {
    let _ = id;
    Ok(())
}

// `pool.created` is of severity medium: not durable unless asked.
#[audited(action = "pool.created", actor = "ops", resource = id)]
fn create_pool(id: &str) {
    let _ = id;
}

#[audited(action = "pool.created", actor = "ops", resource = id, durable)]
fn create_pool_durably(id: &str) {
    let _ = id;
}

/// A durable action's call returns only once its record is on disk: on a stream
/// that never fsyncs by itself, a power cut right after the calls keeps the records
/// of the durable calls (and of everything before them), and loses the rest.
#[test]
fn durable_calls_return_only_once_their_record_survives_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let faults = tracing_audit_core::storage::FaultStorage::new();
    let mut cfg = config(&trail).storage(std::sync::Arc::new(faults.clone()));
    cfg.durability = tracing_audit::Durability::Never;
    let (audit, guard) = AuditBuilder::new(cfg).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(audit);
    tracing::subscriber::with_default(subscriber, || {
        create_pool("c-1");
        delete_durably("d-1");
        tracing_audit_testkit::block_on(delete_durably_async("d-2")).unwrap();
        create_pool("c-2");
        create_pool_durably("c-3");
        create_pool("c-4"); // written, never fsynced
    });
    tracing_audit_testkit::wait_until("c-4 is written", || guard.health().written == 6);
    faults.crash_now();
    let _ = guard.shutdown_within(std::time::Duration::from_millis(100));
    tracing_audit::storage::Writer::open(config(&trail))
        .unwrap()
        .close()
        .unwrap();
    let resources: Vec<String> = events(&trail)
        .iter()
        .map(|e| e["resource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(resources, ["c-1", "d-1", "d-2", "c-2", "c-3"]);
}

#[audited(action = "task.completed", resource = "t-1")]
fn narrates() {
    tracing::info!("first line inside the audited function");
}

/// Regression (issue 10, item 4): `#[audited]` asked the filters whether audit
/// events were enabled on every call (`enabled!`); a per-layer filter that said no
/// left a mark on the thread (tokio-rs/tracing#2519), and the next console line
/// — the first one inside the function — vanished. The gate now reads only the
/// global maximum level.
#[test]
fn an_audited_call_does_not_swallow_the_first_line_of_its_body() {
    let (events, console) = record_beside(
        |console| {
            // A service's own "everything but audit" filter, written by hand.
            let own_filter = tracing_subscriber::filter::filter_fn(|m| {
                m.target() != tracing_audit::AUDIT_TARGET
            });
            tracing_subscriber::fmt::layer()
                .with_writer(console)
                .with_filter(own_filter)
        },
        || {
            narrates();
            narrates();
        },
    );
    assert_eq!(
        console
            .matches("first line inside the audited function")
            .count(),
        2,
        "{console}"
    );
    assert_eq!(events.len(), 2);
}

#[audited(action = "pool.deleted", actor = "ops", resource = id, fail_closed)]
fn delete_or_refuse(id: &str) -> Result<(), PoolError> {
    let _ = id;
    Ok(())
}

// Durable by the catalog, not fail_closed: its error type converts from
// `AuditUnavailable`, so a record that is not durable is an `Err` all the same.
#[audited(action = "pool.deleted", actor = "ops", resource = id)]
fn delete_plainly(id: &str) -> Result<(), PoolError> {
    let _ = id;
    Ok(())
}

#[audited(action = "pool.deleted", actor = "ops", resource = id)]
fn delete_failing(id: &str) -> Result<(), PoolError> {
    Err(PoolError(format!("no such pool: {id}")))
}

// Durable, returning no `Result`: the value is returned; the failure is counted
// and logged.
#[audited(action = "pool.deleted", actor = "ops", resource = id)]
fn delete_quietly(id: &str) -> u8 {
    let _ = id;
    7
}

/// A durable call whose record the queue dropped (overflow policy `Drop`, queue
/// full) must not succeed as if it were on disk: `fail_closed` turns it into an
/// error at once, and without `fail_closed` it is counted.
#[test]
fn a_durable_call_whose_record_was_dropped_does_not_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(config(dir.path()))
        .overflow(tracing_audit::Overflow::Drop)
        .queue_capacity(1)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(audit);
    let stall = guard.stall_writer();
    tracing::subscriber::with_default(subscriber, || {
        // Fill the queue behind the stalled writer.
        for _ in 0..3 {
            audit!(action = "task.completed", resource = "t");
        }
        tracing_audit_testkit::wait_until("the queue is full behind the stalled writer", || {
            let full = stall.engaged() && guard.health().queue_depth == 1;
            if !full {
                audit!(action = "task.completed", resource = "t");
            }
            full
        });
        let err = delete_or_refuse("p-1").unwrap_err();
        assert_eq!(
            err.0,
            "the operation was performed, but its audit record did not reach the trail (the queue dropped it, or a filter kept it out); it is not reported as a success"
        );
        let err = delete_plainly("p-1b").unwrap_err();
        assert_eq!(
            err.0,
            "the operation was performed, but its audit record did not reach the trail (the queue dropped it, or a filter kept it out); it is not reported as a success"
        );
        assert_eq!(delete_quietly("p-1c"), 7);
        // Review finding: a call that failed keeps its own error.
        let err = delete_failing("p-1d").unwrap_err();
        assert_eq!(err.0, "no such pool: p-1d");
        // Review finding: a durable call did not forget an earlier dropped event
        // of this thread for the next flush.
        audit!(action = "task.completed", resource = "t");
        assert_eq!(delete_quietly("p-1e"), 7);
        let err = tracing_audit::flush().wait().unwrap_err();
        assert_eq!(err.kind(), tracing_audit::ErrorKind::Dropped, "{err}");
        drop(stall);
        guard.flush().unwrap(); // the queue has room again
        // With room again, the same call succeeds and is recorded.
        delete_or_refuse("p-2").unwrap();
    });
    guard.shutdown().unwrap();
    let deleted: Vec<String> = events(dir.path())
        .iter()
        .filter(|e| e["action"] == "pool.deleted")
        .map(|e| e["resource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deleted, ["p-2"]);
}

#[audited(action = "task.completed", resource = "t-2", fail_closed)]
fn narrates_strictly() -> Result<(), PoolError> {
    tracing::info!("first line inside the fail-closed function");
    Ok(())
}

/// Red-team finding: `fail_closed` still asked the filters (`enabled!`) on every
/// call, and a per-layer filter's "no" swallowed the first line of the body.
/// Filters that turn audit events off are still seen, without asking.
#[test]
fn fail_closed_sees_filters_without_swallowing_the_first_line_of_its_body() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let (events, console) = record_beside(
        |console| {
            tracing_subscriber::fmt::layer()
                .with_writer(console)
                .with_filter(
                    Targets::new()
                        .with_default(LevelFilter::INFO)
                        .with_target("@audit", LevelFilter::OFF),
                )
        },
        || {
            narrates_strictly().unwrap();
            narrates_strictly().unwrap();
        },
    );
    assert_eq!(
        console
            .matches("first line inside the fail-closed function")
            .count(),
        2,
        "{console}"
    );
    assert_eq!(events.len(), 2);

    // A global filter: refused, not run. (A per-layer filter on the audit layer
    // itself answers "yes" to `enabled`, so only `check_installed`, at start-up,
    // sees it: its tests cover that.)
    {
        let global = true;
        let dir = tempfile::tempdir().unwrap();
        let (audit, guard) = AuditBuilder::new(config(dir.path())).build().unwrap();
        let refused = if global {
            let s = tracing_subscriber::registry()
                .with(LevelFilter::WARN)
                .with(audit);
            tracing::subscriber::with_default(s, narrates_strictly)
        } else {
            let s = tracing_subscriber::registry().with(audit.with_filter(LevelFilter::WARN));
            tracing::subscriber::with_default(s, narrates_strictly)
        };
        let Err(err) = refused else {
            panic!("a filter (global: {global}) disables audit events, yet the call ran");
        };
        assert!(
            err.0.contains("a filter disables audit events"),
            "{}",
            err.0
        );
        guard.shutdown().unwrap();
    }
}

#[audited(action = "task.completed", resource = "t-3", fields(password))]
fn set_password(password: &str) {
    let _ = password;
}

/// Red-team finding: a field asked for whose name says it is a secret, but which
/// the catalog does not mark sensitive, reached other layers in clear (the trail
/// got a fingerprint only later, on the writer thread).
#[test]
fn fields_named_like_secrets_are_fingerprinted_before_any_layer_sees_them() {
    const PASSWORD: &str = "hunter2-TWO";
    const KEY: &str = "ak-9f8e7d";
    // No `non_audit()`: this layer sees every event.
    let (events, console) = record_beside(
        |console| tracing_subscriber::fmt::layer().json().with_writer(console),
        || {
            set_password(PASSWORD);
            audit!(
                action = "task.completed",
                resource = "t-4",
                db_api_key = KEY
            );
        },
    );
    let fp = |v: &str| tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint(v);
    for secret in [PASSWORD, KEY] {
        assert!(
            !console.contains(secret),
            "{secret} on the console: {console}"
        );
        assert!(console.contains(&fp(secret)), "{console}");
    }
    assert_eq!(events[0]["fields"]["password"], fp(PASSWORD));
    assert_eq!(events[1]["fields"]["db_api_key"], fp(KEY));
}

/// An error type that is only `Debug`, holding the password it was given.
#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum LoginError {
    Rejected { user: String, password: String },
}

#[audited(action = "task.completed", resource = "t-6")]
fn login_failing_with_a_debug_error(password: &str) -> Result<(), LoginError> {
    Err(LoginError::Rejected {
        user: "alice".into(),
        password: password.into(),
    })
}

#[audited(action = "task.completed", resource = "t-7")]
fn login_failing_with_a_display_error(password: &str) -> Result<(), String> {
    Err(format!(
        "connect: host=db user=app password={password} dbname=app"
    ))
}

/// Request bodies, as in `an_audited_handler_records_no_argument_it_was_not_asked_for`.
#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
struct Credentials {
    user: &'static str,
    password: &'static str,
}

/// Issue 13, finding 7: camelCase and short names, the session id, `?Debug`
/// values and the text of errors (`Debug`-only, or `Display` with `password=…`)
/// reached the trail in clear. Names are fingerprinted by the macros before any
/// layer sees them; error texts are redacted at the source; `Debug` text is
/// redacted by the layer.
#[test]
fn camel_case_names_sessions_debug_values_and_error_texts_hold_no_secret() {
    const ACCESS_TOKEN: &str = "access-tok-a1";
    const PW: &str = "short-pw-b2";
    const USER_PASSWORD: &str = "user-pw-c3";
    const SESSION: &str = "sess-d4";
    const DEBUG_PASSWORD: &str = "debug-pw-e5";
    const ERROR_DEBUG_PASSWORD: &str = "error-debug-pw-f6";
    const ERROR_PASSWORD: &str = "error-pw-g7";
    // No `non_audit()`: this layer sees every event.
    let (events, console) = record_beside(
        |console| tracing_subscriber::fmt::layer().json().with_writer(console),
        || {
            audit!(
                action = "task.completed",
                resource = "t-5",
                actor.session = SESSION,
                accessToken = ACCESS_TOKEN,
                pw = PW,
                userPassword = %USER_PASSWORD,
            );
            audit!(
                action = "task.completed",
                resource = "t-5",
                body = ?Credentials { user: "alice", password: DEBUG_PASSWORD },
            );
            assert!(login_failing_with_a_debug_error(ERROR_DEBUG_PASSWORD).is_err());
            assert!(login_failing_with_a_display_error(ERROR_PASSWORD).is_err());
        },
    );
    let fp = |v: &str| tracing_audit::redaction::Fingerprinter::new(&key()).fingerprint(v);
    // Fingerprinted at the source: no layer sees them.
    for secret in [
        ACCESS_TOKEN,
        PW,
        USER_PASSWORD,
        SESSION,
        ERROR_DEBUG_PASSWORD,
        ERROR_PASSWORD,
    ] {
        assert!(
            !console.contains(secret),
            "{secret} on the console: {console}"
        );
    }
    let mut trail = String::new();
    for e in &events {
        trail.push_str(&e.to_string());
    }
    for secret in [
        ACCESS_TOKEN,
        PW,
        USER_PASSWORD,
        SESSION,
        DEBUG_PASSWORD,
        ERROR_DEBUG_PASSWORD,
        ERROR_PASSWORD,
    ] {
        assert!(!trail.contains(secret), "{secret} in the trail: {trail}");
    }
    assert_eq!(events[0]["actor"]["session"], fp(SESSION));
    assert_eq!(events[0]["fields"]["accessToken"], fp(ACCESS_TOKEN));
    assert_eq!(events[0]["fields"]["pw"], fp(PW));
    assert_eq!(events[0]["fields"]["userPassword"], fp(USER_PASSWORD));
    assert_eq!(
        events[1]["fields"]["body"],
        "Credentials { user: \"alice\", password: \"[redacted:secret-field]\" }"
    );
    assert_eq!(
        events[2]["fields"]["error"],
        "Rejected { user: \"alice\", password: \"[redacted:secret-field]\" }"
    );
    assert_eq!(
        events[3]["fields"]["error"],
        "connect: host=db user=app password=[redacted:secret-field] dbname=app"
    );
}

/// Review finding: a durable call whose audit layer is filtered out recorded
/// nothing and still reported success.
#[test]
fn a_durable_call_whose_audit_layer_is_filtered_out_does_not_succeed() {
    use tracing_subscriber::filter::LevelFilter;
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(config(dir.path())).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(audit.with_filter(LevelFilter::WARN));
    let result = tracing::subscriber::with_default(subscriber, || delete_plainly("p-9"));
    guard.shutdown().unwrap();
    let Err(err) = result else {
        panic!("a durable call without a record reported success");
    };
    assert!(
        err.0
            .starts_with("the operation was performed, but its audit record"),
        "{}",
        err.0
    );
    assert_eq!(events(dir.path()).len(), 0);
}

/// Review finding: an empty actor in an inner span hid the outer span's actor
/// from the record while `fail_closed` accepted the call.
#[test]
fn an_empty_span_value_gives_way_to_an_outer_one() {
    let (events, _) = record(|| {
        let outer = tracing::info_span!("request", actor = "alice");
        let _o = outer.enter();
        let inner = tracing::info_span!("step", actor = "");
        let _i = inner.enter();
        modify_pool_strictly("p-5").unwrap();
    });
    assert_eq!(events[0]["actor"]["id"], "alice");
    assert_eq!(events[0]["fields"].get("context_missing"), None);
}
