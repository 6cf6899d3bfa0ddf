//! [`shutdown_signal`]: the stop request of Docker, Kubernetes and systemd
//! (`SIGTERM`) and of a terminal (`SIGINT`, Ctrl-C), as a future.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::{AuditError, ErrorKind};

/// A future that resolves when the process is asked to stop: `SIGTERM` (the stop
/// signal of `docker stop`, Kubernetes and `systemctl stop`) or `SIGINT` (Ctrl-C).
///
/// Without it a `SIGTERM` kills the process where it stands, and every audit
/// record still in the queue — records of requests whose clients already got
/// their answer — is lost. With it, the server stops accepting, finishes its
/// requests, `main` returns, and the [`AuditGuard`](crate::AuditGuard) is dropped:
/// it writes what is queued and seals the segment. Give it to your server's
/// graceful shutdown (with axum: `axum::serve(listener, app)
/// .with_graceful_shutdown(tracing_audit::shutdown_signal()?)`), or
/// [`wait`](ShutdownSignal::wait) on it in a thread.
///
/// It works with any async runtime (a helper thread receives the signal). Once the
/// first signal has arrived, a second one stops the process at
/// once, as the default action would (the operator insisted); what was queued
/// then may be lost.
///
/// ```no_run
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let _guard = tracing_audit::init_from_env()?;
/// // … start the server, and give it the signal for its graceful shutdown:
/// // axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()?).await?;
/// tracing_audit::shutdown_signal()?.await;
/// // Leaving the function drops the guard: queued records are written and sealed.
/// # Ok(()) }
/// ```
///
/// # Errors
/// The signal handlers cannot be installed (on a platform without Unix signals,
/// or if the operating system refuses).
pub fn shutdown_signal() -> Result<ShutdownSignal, AuditError> {
    static STATE: OnceLock<Result<Arc<Received>, String>> = OnceLock::new();
    match STATE.get_or_init(listen) {
        Ok(state) => Ok(ShutdownSignal::new(Arc::clone(state))),
        Err(e) => Err(AuditError::new(ErrorKind::Install, e.clone())),
    }
}

/// Resolves when a stop signal arrives; see [`shutdown_signal`].
#[derive(Debug)]
#[must_use = "a shutdown signal does nothing unless awaited or waited for"]
pub struct ShutdownSignal(Arc<Received>, u64);

/// The signal received (its name), and the wakers of the futures waiting for it,
/// one per [`ShutdownSignal`] (by its id; removed when it is dropped).
#[derive(Debug, Default)]
struct Received {
    state: Mutex<(Option<&'static str>, Vec<Waiting>)>,
    arrived: Condvar,
}

/// A future's id and its task's waker.
type Waiting = (u64, Waker);

impl Clone for ShutdownSignal {
    fn clone(&self) -> Self {
        ShutdownSignal::new(Arc::clone(&self.0))
    }
}

impl Drop for ShutdownSignal {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.1.retain(|(id, _)| *id != self.1);
    }
}

impl ShutdownSignal {
    fn new(received: Arc<Received>) -> ShutdownSignal {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        ShutdownSignal(
            received,
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Blocks the thread until a stop signal arrives; returns its name
    /// (`"SIGTERM"` or `"SIGINT"`).
    pub fn wait(&self) -> &'static str {
        let mut s = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(name) = s.0 {
                return name;
            }
            s = self
                .0
                .arrived
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The signal's name if one has arrived.
    pub fn received(&self) -> Option<&'static str> {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}

/// Resolves once a stop signal has arrived ([`ShutdownSignal::received`] says
/// which), so that it can be given as is to a graceful shutdown that takes a
/// `Future<Output = ()>`.
impl Future for ShutdownSignal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.0.is_some() {
            return Poll::Ready(());
        }
        // One waker per future, the latest: a task polled again replaces its own.
        match s.1.iter_mut().find(|(id, _)| *id == self.1) {
            Some((_, w)) if w.will_wake(cx.waker()) => {}
            Some((_, w)) => *w = cx.waker().clone(),
            None => s.1.push((self.1, cx.waker().clone())),
        }
        Poll::Pending
    }
}

#[cfg(unix)]
fn listen() -> Result<Arc<Received>, String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    let mut signals = Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("cannot install the SIGTERM and SIGINT handlers: {e}"))?;
    let state = Arc::new(Received::default());
    let shared = Arc::clone(&state);
    std::thread::Builder::new()
        .name("audit-shutdown-signal".into())
        .spawn(move || {
            for signal in signals.forever() {
                let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
                let wakers = {
                    let mut s = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                    if s.0.is_some() {
                        // The second stop request: stop now, as without a handler.
                        eprintln!(
                            "tracing-audit: {name} again: stopping now, without waiting for the shutdown"
                        );
                        let _ = signal_hook::low_level::emulate_default_handler(signal);
                        std::process::exit(128 + signal);
                    }
                    s.0 = Some(name);
                    std::mem::take(&mut s.1)
                };
                tracing::info!(
                    target: "tracing_audit",
                    signal = name,
                    "stop requested: finishing the requests under way, then stopping"
                );
                shared.arrived.notify_all();
                wakers.into_iter().for_each(|(_, w)| w.wake());
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(state)
}

#[cfg(not(unix))]
fn listen() -> Result<Arc<Received>, String> {
    Err(
        "shutdown_signal() needs Unix signals; on this platform, use your runtime's \
         Ctrl-C handler and drop the AuditGuard when it fires"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll};

    /// Red-team finding: every polled future left its waker behind until a signal
    /// arrived (a task's waker keeps the task's memory alive).
    #[test]
    fn a_dropped_signal_future_leaves_no_waker_behind_and_one_is_kept_per_future() {
        let received = Arc::new(Received::default());
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut kept = ShutdownSignal::new(Arc::clone(&received));
        for _ in 0..1000 {
            let mut f = kept.clone();
            assert_eq!(Pin::new(&mut f).poll(&mut cx), Poll::Pending);
        }
        for _ in 0..3 {
            assert_eq!(Pin::new(&mut kept).poll(&mut cx), Poll::Pending);
        }
        let wakers = || received.state.lock().unwrap().1.len();
        assert_eq!(wakers(), 1, "the live future's waker only");
        drop(kept);
        assert_eq!(wakers(), 0);
    }
}
