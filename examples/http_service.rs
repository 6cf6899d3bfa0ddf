//! An HTTP service (axum) whose handlers are annotated with `#[audited]`. A
//! middleware takes the actor from the `x-actor` request header (in a real service:
//! from the verified token) and the request id from `x-request-id`, and puts them in
//! the request's span, where the audit layer finds them.
//!
//! ```text
//! cargo run --example http_service              # serves, sends itself a few requests, verifies the trail
//!
//! # As a service: configured from the environment (`init_from_env`), serving until
//! # SIGTERM or Ctrl-C, then finishing its requests, writing and sealing the trail.
//! audit keygen audit.key
//! AUDIT_HMAC_KEY_FILE=audit.key AUDIT_STORAGE_PATH=trail \
//!     cargo run --example http_service -- --serve 127.0.0.1:8080
//! curl -X DELETE -H 'x-actor: alice' http://127.0.0.1:8080/pools/p-1
//! audit verify trail --key-file audit.key
//! ```
//!
//! `pool.deleted` is a durable action (severity `high` in the catalog): its handler
//! answers only once the record is on disk, so even a `SIGKILL` right after the
//! answer cannot lose it.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tracing::Instrument as _;
use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit::{AuditBuilder, Key, WriterConfig, audited, non_audit};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _};

/// A handler's error: its text is what the audit record keeps.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.as_u16(), self.1)
    }
}

/// A durable handler (`pool.deleted`) whose record could not be made durable
/// answers 503 instead of its success.
impl From<tracing_audit::AuditUnavailable> for ApiError {
    fn from(e: tracing_audit::AuditUnavailable) -> Self {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// `POST /pools/{id}`: creates a pool.
#[audited(action = "pool.created", context(actor), resource = id)]
async fn create_pool(Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if id.len() > 32 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("pool id too long: {} bytes", id.len()),
        ));
    }
    Ok(StatusCode::CREATED)
}

/// `DELETE /pools/{id}`: deletes a pool — refused while it has tasks.
#[audited(action = "pool.deleted", context(actor), resource = id)]
async fn delete_pool(Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if id == "busy" {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "pool busy has running tasks".into(),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Puts the actor and request id of each request into its span.
async fn request_context(req: Request, next: Next) -> Response {
    let span = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("anonymous")
                .to_owned()
        };
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            actor = %header("x-actor"),
            request_id = %header("x-request-id"),
        )
    };
    next.run(req).instrument(span).await
}

fn app() -> Router {
    Router::new()
        .route("/pools/{id}", post(create_pool))
        .route("/pools/{id}", delete(delete_pool))
        .layer(axum::middleware::from_fn(request_context))
}

/// One HTTP/1.1 request over a fresh connection; returns the status line.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    actor: &str,
    id: u32,
) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nx-actor: {actor}\r\nx-request-id: req-{id}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out.lines().next().unwrap_or("").to_owned())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("http_service: {e}");
            ExitCode::from(2)
        }
    }
}

/// The service as it runs in production: configured from the environment, stopped
/// by SIGTERM (Docker, Kubernetes, systemd) or Ctrl-C.
fn serve(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    // `None` when AUDIT_ENABLED=false (said on standard error): serve anyway.
    let _guard = tracing_audit::init_from_env()?;
    let stop = tracing_audit::shutdown_signal()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        // On standard output, for the scripts that start it.
        println!("listening on {}", listener.local_addr()?);
        tracing::info!("serving on http://{}", listener.local_addr()?);
        axum::serve(listener, app())
            .with_graceful_shutdown(stop)
            .await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    tracing::info!("stopped: the audit trail is written and sealed as the guard drops");
    Ok(())
    // `_guard` drops here: what is queued is written and the segment sealed.
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => {}
        [flag, addr] if flag == "--serve" => {
            serve(addr.parse()?)?;
            return Ok(true);
        }
        other => {
            return Err(format!("expected no arguments or `--serve ADDR`, found {other:?}").into());
        }
    }
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("http-trail");
    let key = Key::generate()?;
    let (audit, guard) =
        AuditBuilder::new(WriterConfig::new(&dir, "pool-api", key.clone())).build()?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(non_audit()),
        )
        .with(audit)
        .init();
    tracing_audit::check_installed()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        tracing::info!(
            "serving on http://{addr}; trail in {} (temporary)",
            dir.display()
        );
        let server = tokio::spawn(async move { axum::serve(listener, app()).await });
        let calls = [
            ("POST", "/pools/p-1", "alice"),
            ("POST", "/pools/p-2", "bob"),
            ("DELETE", "/pools/p-1", "alice"),
            ("DELETE", "/pools/busy", "carol"),
        ];
        for (i, (method, path, actor)) in (1..).zip(calls) {
            let status = send(addr, method, path, actor, i).await?;
            tracing::info!("{method} {path} as {actor}: {status}");
        }
        server.abort();
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    guard.shutdown()?;

    let report = verify_dir(&dir, &VerifyOptions::new().key(key))?;
    for record in tracing_audit::storage::Stream::open(&dir)?.records() {
        let v = record?.json()?;
        if v["kind"] == "event" {
            println!(
                "  {:<14} {:<8} actor={:<6} resource={:<6} request={:<6} {}",
                v["action"].as_str().unwrap_or(""),
                v["outcome"].as_str().unwrap_or(""),
                v["actor"]["id"].as_str().unwrap_or("-"),
                v["resource"].as_str().unwrap_or("-"),
                v["request_id"].as_str().unwrap_or("-"),
                v["fields"]["error"].as_str().unwrap_or("")
            );
        }
    }
    println!(
        "audit verify: {} records: {}",
        report.records,
        if report.ok() {
            "trail intact"
        } else {
            "FAILED"
        }
    );
    Ok(report.ok())
}
