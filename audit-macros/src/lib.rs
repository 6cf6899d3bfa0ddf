//! The `audit!` and `#[audited]` macros of tracing-audit. Use them through the
//! `tracing-audit` crate, which re-exports them and provides what they expand to.
//!
//! Both check their arguments against the action catalog (see
//! [CATALOG.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/catalog/index.html)) at
//! compile time: an unknown action (with "did you mean" for a close name), a
//! required field missing, a justification missing, an unknown or duplicated
//! argument are errors on the offending token, all reported at once.
//!
//! Each invocation goes through the same pipeline, as in thiserror: `attr` parses
//! the arguments into the typed syntax of `ast` (members are
//! [`tracing_audit_schema::Member`]s, not strings), `valid` checks them against the
//! function and the catalog (parsed once per compilation, by `catalog`), and
//! `expand` generates the code. Errors go to one collector (`ctxt`) that must be
//! checked before anything is generated.
#![deny(missing_docs)]

mod ast;
mod attr;
mod catalog;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Emits one audit event (a `tracing` event on the audit target), checked against
/// the action catalog at compile time.
///
/// Arguments: `action = "…"` (a string literal, required); the record members
/// `outcome`, `actor` (or `actor.id`, `actor.ip`, `actor.auth`, `actor.session`),
/// `resource`, `reason`, `request_id`, `trace_id`, `org_id`, `project_id`,
/// `legal_hold_id`; any other `name = value` (with `%` for `Display`, `?` for
/// `Debug`, as in `tracing`), or `%var` / `?var` / `var`; `context(member, …)` to
/// declare required members that an enclosing span provides; and `crate = path`
/// when the `tracing-audit` dependency is renamed. Fields (and members) the catalog
/// marks sensitive, and fields named like secrets (`password`, `token`, `api_key`,
/// `db_password`, …), are redacted before the event exists.
///
/// # Example
///
/// ```
/// use tracing_audit::audit;
///
/// let pool = String::from("pool-42");
/// let details = vec![1, 2];
/// audit!(
///     action = "pool.deleted",
///     actor = "alice",
///     resource = %pool,
///     reason = "decommissioned",
///     size_gb = 128u64,
///     ?details,
/// );
/// // Refused requests: the outcome is one of the record's outcomes.
/// audit!(action = "authz.denied", actor = "mallory", resource = %pool, outcome = "denied");
/// ```
///
/// # The actor from the request span
///
/// Middleware usually knows who is asking and opens the request's span with it;
/// `context(actor)` says that an enclosing span provides the actor, so the code
/// deep inside need not pass it (and the catalog's `required = ["actor"]` is met).
/// A record whose spans did not provide it is still written, with the field
/// `context_missing` naming the member. The span fields the layer reads are
/// [`DEFAULT_SPAN_FIELDS`](https://docs.rs/tracing-audit/latest/tracing_audit/schema/constant.DEFAULT_SPAN_FIELDS.html).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::{AuditBuilder, Key, WriterConfig, audit};
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let dir = tempfile::tempdir()?;
/// let (layer, guard) =
///     AuditBuilder::new(WriterConfig::new(dir.path(), "pools", Key::generate()?)).build()?;
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     let span = tracing::info_span!("request", actor = "alice", request_id = "r-7");
///     let _entered = span.enter();
///     audit!(action = "pool.deleted", context(actor), resource = "p-42");
/// });
/// guard.shutdown()?;
///
/// // The trail's records: the segment's `open`, the event, the `seal`.
/// let trail = tracing_audit::storage::Stream::open(dir.path())?;
/// let event = trail.records().nth(1).expect("the event")?.json()?;
/// assert_eq!(event["actor"]["id"], "alice");
/// assert_eq!(event["request_id"], "r-7");
/// # Ok(()) }
/// ```
///
/// With the dependency renamed (`trail = { package = "tracing-audit", … }`):
///
/// ```
/// use tracing_audit as trail;
///
/// trail::audit!(crate = trail, action = "task.completed", resource = "t-1");
/// ```
///
/// # Errors (at compile time)
///
/// ```compile_fail
/// // `pool.delete` is not in the catalog: "did you mean `pool.deleted`?"
/// tracing_audit::audit!(action = "pool.delete", actor = "alice", resource = "p-1");
/// ```
///
/// ```compile_fail
/// // `pool.deleted` requires an actor.
/// tracing_audit::audit!(action = "pool.deleted", resource = "p-1");
/// ```
#[proc_macro]
pub fn audit(input: TokenStream) -> TokenStream {
    expand::audit(input.into()).into()
}

/// Records one audit event after each call of the function: its outcome (`Ok` →
/// success; `Err` → failure, with the error's text, redacted and cut to 1 KiB; any
/// other return → success; a panic → `panic`, and the panic goes on; an `async fn`
/// whose future is dropped before it completes → `unknown`, with the error
/// "canceled: …"), its duration (`duration_us`), and the chosen fields.
///
/// Arguments: `action = "…"` (required, checked against the catalog); `resource =
/// expr`, `actor = expr` (or `actor.id`, `actor.ip`, …), `reason = expr` and the
/// other record members; `fields(name = expr, …)`, and `fields(arg, …)` for
/// arguments recorded under their own names; `redact(arg, …)` records arguments as
/// keyed fingerprints; `skip(arg, …)` / `skip_all` keep out arguments the catalog
/// would record; `context(member, …)` declares required members an enclosing span
/// provides; `durable` returns only once the record is on disk (see below);
/// `fail_closed` returns `Err(AuditUnavailable.into())` without running the body
/// while the trail cannot record; `crate = path` names a renamed `tracing-audit`
/// dependency. Members, fields and arguments the catalog marks sensitive, and
/// fields and arguments named like secrets (`password`, `token`, `api_key`, …), are
/// recorded as keyed fingerprints.
///
/// # What is recorded: only what you ask for
///
/// The function's arguments are **not** recorded unless asked for: listed in
/// `fields(…)` or `redact(…)`, or named in the catalog action's `required` list
/// (`required = ["pool_id"]` records an argument `pool_id`). Unlike
/// `#[instrument]`, which records every argument's `Debug` text: a request body's
/// `Debug` text can hold a password, redaction by field name cannot see inside it,
/// and an audit trail cannot be edited afterwards without breaking its
/// verification. A value recorded must be `Display` or `Debug` (numbers and
/// booleans are kept as they are); one that is neither is a compile error at its
/// name, saying what to do.
///
/// # Durable actions
///
/// With `durable`, or for an action the catalog marks `durable` (by default those
/// of severity `high` and `critical`), the function returns only once its record
/// is durable (fsynced), so a client that saw the answer can rely on the record
/// surviving a crash or a `SIGKILL`. An `async fn` awaits it (the thread is free
/// meanwhile); a sync function blocks. Concurrent calls share one fsync. If the
/// record cannot be made durable within the flush deadline — or was dropped by a
/// dropping overflow policy — the failure is counted
/// (`audit_durable_wait_failures_total`) and logged, and a function returning
/// `Result<_, E>` with `E: From<AuditUnavailable>` returns
/// `Err(AuditUnavailable.into())` instead of its value (with
/// `AuditUnavailable::performed()` true: the body ran); any other return value is
/// returned as it is. (The choice is made on the concrete return type: in a
/// function generic over its error type, the value is returned.)
///
/// Works on free functions, methods, `async fn`, generic functions and functions
/// returning `impl Trait`; inner attributes (`#![allow(…)]`) stay in the body.
/// Field values are captured before the body runs. Without an audit layer, the
/// function costs what it costs without the attribute, give or take a branch.
///
/// # Example
///
/// ```
/// use tracing_audit::{AuditUnavailable, audited};
///
/// #[derive(Debug)]
/// struct ApiError(String);
/// impl std::fmt::Display for ApiError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str(&self.0)
///     }
/// }
/// impl From<AuditUnavailable> for ApiError {
///     fn from(e: AuditUnavailable) -> Self {
///         ApiError(e.to_string())
///     }
/// }
///
/// struct User {
///     id: String,
/// }
///
/// // One record per call: actor, resource, outcome, duration, and `force`
/// // (asked for); nothing of `user` but its id.
/// #[audited(action = "pool.deleted", actor = user.id, resource = pool_id, fields(force))]
/// fn delete_pool(user: &User, pool_id: &str, force: bool) -> Result<(), ApiError> {
///     let _ = force;
///     Ok(())
/// }
///
/// // Break-glass: a justification is required, and the call is refused while
/// // the trail cannot record it.
/// #[audited(action = "breakglass.activated", actor = "oncall", resource = "db-prod",
///           reason = why, fail_closed)]
/// fn break_glass(why: &str) -> Result<(), ApiError> {
///     let _ = why;
///     Ok(())
/// }
///
/// let alice = User { id: "alice".into() };
/// delete_pool(&alice, "p-42", true)?;
/// // No audit layer is installed here: a fail-closed function does not run.
/// let refused = break_glass("incident 42").unwrap_err();
/// assert!(refused.0.contains("no audit layer is installed"), "{refused}");
/// # Ok::<(), ApiError>(())
/// ```
///
/// # The actor from the request span
///
/// With `context(actor)`, the actor comes from an enclosing span (opened by the
/// request's middleware) instead of an argument; a call outside any span that
/// provides it is still recorded, with the field `context_missing` naming the
/// member (and, with `fail_closed`, refused). For an `async fn`, attach the span
/// to the future (`.instrument(span)`) rather than entering it.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::{AuditBuilder, Key, WriterConfig, audited};
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// #[audited(action = "pool.deleted", context(actor), resource = pool_id)]
/// fn delete_pool(pool_id: &str) -> Result<(), String> {
///     let _ = pool_id;
///     Ok(())
/// }
///
/// let dir = tempfile::tempdir()?;
/// let (layer, guard) =
///     AuditBuilder::new(WriterConfig::new(dir.path(), "pools", Key::generate()?)).build()?;
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     let span = tracing::info_span!("request", actor = "alice");
///     span.in_scope(|| delete_pool("p-42"))
/// })?;
/// guard.shutdown()?;
///
/// // The trail's records: the segment's `open`, the event, the `seal`.
/// let trail = tracing_audit::storage::Stream::open(dir.path())?;
/// let event = trail.records().nth(1).expect("the event")?.json()?;
/// assert_eq!(event["actor"]["id"], "alice");
/// assert_eq!(event["resource"], "p-42");
/// assert_eq!(event["outcome"], "success");
/// # Ok(()) }
/// ```
///
/// # Errors (at compile time)
///
/// ```compile_fail
/// // `breakglass.activated` requires a justification: `reason = …`.
/// #[tracing_audit::audited(action = "breakglass.activated", actor = "oncall", resource = "db")]
/// fn break_glass() {}
/// ```
#[proc_macro_attribute]
pub fn audited(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::audited(attr.into(), item.into()).into()
}
