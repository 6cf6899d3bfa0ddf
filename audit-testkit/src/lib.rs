//! Test helpers shared by the test suites of the workspace (the layer's and the
//! facade's integration tests), so that each exists once. Not published.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Dispatch;
use tracing_audit_core::{RecordKind, Stream};
use tracing_audit_layer::{AUDIT_TARGET, AuditLayer, non_audit};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

/// A `fmt` writer that keeps everything in memory.
#[derive(Clone, Default, Debug)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// A subscriber as a service sets it up: a JSON `fmt` layer (into `console`) that
/// never shows audit events, and the audit layer.
pub fn dispatch(audit: AuditLayer, console: &Captured) -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(console.clone())
                    .with_filter(non_audit()),
            )
            .with(audit),
    )
}

/// Emits `task.submitted` audit events whose field `n` runs from `from` to `to - 1`.
pub fn emit_range(dispatch: &Dispatch, from: u64, to: u64) {
    tracing::dispatcher::with_default(dispatch, || {
        for n in from..to {
            tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "task.submitted", n = n);
        }
    });
}

/// Every record of the trail in `dir`, in stream order, parsed.
pub fn records(dir: &Path) -> Vec<Value> {
    Stream::open(dir)
        .unwrap()
        .records()
        .map(|r| r.unwrap().json().unwrap())
        .collect()
}

/// The `event` records of the trail in `dir`, in stream order, parsed.
pub fn events(dir: &Path) -> Vec<Value> {
    Stream::open(dir)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r.kind == Some(RecordKind::Event))
        .map(|r| r.json().unwrap())
        .collect()
}

/// The whole trail in `dir` as text, one record per line.
pub fn trail_text(dir: &Path) -> String {
    let mut text = String::new();
    for record in Stream::open(dir).unwrap().records() {
        text.push_str(record.unwrap().text().unwrap());
        text.push('\n');
    }
    text
}

/// Waits until `done()` holds; fails the test (instead of hanging) after a minute,
/// which only a broken pipeline takes on any machine.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited a minute for: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs a future to completion on this thread, parking between polls until its
/// waker is woken (a future that is never woken hangs here: pair it with a
/// deadline of its own). No runtime needed.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
