//! Publishing checkpoints on a thread of its own: the fsync that makes a
//! checkpoint record durable, the `checkpoint` file, its copies (perhaps on a slow
//! mount) and the witness all happen off the writer's thread, so that appends never
//! wait for them.
//!
//! Order is kept: a checkpoint is published only after an fsync of the segment its
//! record is in (a published checkpoint is never ahead of the durable trail), jobs
//! are handled in the order they were sent, and when the thread falls behind only
//! the newest checkpoint's files are written (every one still goes to the witness,
//! which needs every leaf).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::integrity::{read_published, would_roll_back, write_atomic};
use super::witness::{Submission, WitnessClient};

/// One checkpoint to publish.
pub(super) struct Job {
    /// The segment to fsync first (the one the checkpoint record is in); `None`
    /// when it is durable already (the final checkpoint, after the sealing fsync).
    pub sync: Option<PathBuf>,
    /// The signed note.
    pub note: String,
    /// What the witness gets, when one is configured.
    pub witness: Option<Submission>,
}

/// The publishing thread.
pub(super) struct Publisher {
    tx: Option<Sender<Job>>,
    handle: Option<JoinHandle<()>>,
    done: Receiver<()>,
    /// Checkpoint files (and copies) that could not be written, and fsyncs that
    /// failed (each also printed, the first and one in 60).
    pub failures: Arc<AtomicU64>,
    /// The witness's counts: (cosigned, failed).
    pub witness: Option<(Arc<AtomicU64>, Arc<AtomicU64>)>,
    /// Jobs sent, and jobs the thread is done with (published, or failed).
    sent: AtomicU64,
    handled: Arc<AtomicU64>,
}

impl Publisher {
    /// Starts the thread, which writes each checkpoint to `targets` (directory,
    /// file name) and hands it to `witness`.
    pub(super) fn start(
        targets: Vec<(PathBuf, String)>,
        witness: Option<WitnessClient>,
    ) -> std::io::Result<Publisher> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (done_tx, done) = std::sync::mpsc::sync_channel(1);
        let failures = Arc::new(AtomicU64::new(0));
        let counts = witness
            .as_ref()
            .map(|w| (Arc::clone(&w.cosigned), Arc::clone(&w.failures)));
        let f = Arc::clone(&failures);
        let handled = Arc::new(AtomicU64::new(0));
        let h = Arc::clone(&handled);
        let handle = std::thread::Builder::new()
            .name("audit-checkpoints".into())
            .spawn(move || {
                let mut witness = witness;
                run(&targets, &rx, witness.as_ref(), &f, &h);
                if let Some(w) = &mut witness {
                    w.finish(Duration::from_secs(5));
                }
                let _ = done_tx.send(());
            })?;
        Ok(Publisher {
            tx: Some(tx),
            handle: Some(handle),
            done,
            failures,
            witness: counts,
            sent: AtomicU64::new(0),
            handled,
        })
    }

    pub(super) fn send(&self, job: Job) {
        if let Some(tx) = &self.tx
            && tx.send(job).is_ok()
        {
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until every checkpoint sent so far is published (or failed), at most
    /// `timeout`; true when it is.
    pub(super) fn wait(&self, timeout: Duration) -> bool {
        let until = std::time::Instant::now() + timeout;
        let sent = self.sent.load(Ordering::Relaxed);
        while self.handled.load(Ordering::Acquire) < sent {
            if std::time::Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Lets the thread publish what is queued (and the witness answer), waiting at
    /// most `deadline`; says on standard error when it did not finish.
    pub(super) fn finish(&mut self, deadline: Duration) {
        if self.tx.take().is_none() {
            return;
        }
        match self.done.recv_timeout(deadline) {
            Ok(()) => {
                if let Some(h) = self.handle.take() {
                    let _ = h.join();
                }
            }
            Err(_) => eprintln!(
                "audit-core: the last checkpoint was not published within {deadline:?} (a copy directory or the witness does not answer); it is in the trail"
            ),
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.finish(Duration::from_secs(10));
    }
}

fn run(
    targets: &[(PathBuf, String)],
    rx: &Receiver<Job>,
    witness: Option<&WitnessClient>,
    failures: &AtomicU64,
    handled: &AtomicU64,
) {
    let fail = |what: String| {
        let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 60 == 1 {
            eprintln!(
                "audit-core: could not publish a checkpoint (it is in the trail; {n} failures so far): {what}"
            );
        }
    };
    // Checkpoints not yet durable when their turn came: kept for the witness,
    // which needs every leaf, until an fsync succeeds.
    let mut carried: Vec<Submission> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while let Ok(next) = rx.try_recv() {
            jobs.push(next);
        }
        let count = jobs.len() as u64;
        publish_jobs(targets, &mut jobs, &mut carried, witness, &fail);
        handled.fetch_add(count, Ordering::Release);
    }
}

/// Publishes the newest of `jobs` once the trail is durable, and hands every
/// checkpoint to the witness.
fn publish_jobs(
    targets: &[(PathBuf, String)],
    jobs: &mut [Job],
    carried: &mut Vec<Submission>,
    witness: Option<&WitnessClient>,
    fail: &impl Fn(String),
) {
    carried.extend(jobs.iter_mut().filter_map(|j| j.witness.take()));
    // Durable first: the newest segment named (older ones were sealed, and a seal
    // is fsynced).
    if let Some(path) = jobs.iter().rev().find_map(|j| j.sync.as_ref())
        && let Err(e) = std::fs::File::open(path).and_then(|f| f.sync_data())
    {
        // Not durable: publishing it could make a crash look like truncation.
        fail(format!(
            "{}: cannot fsync the segment before publishing: {e}",
            path.display()
        ));
        return;
    }
    let Some(newest) = jobs.last() else { return };
    let new = crate::note::Note::parse(&newest.note)
        .and_then(|n| crate::note::Checkpoint::parse(n.body()));
    for (dir, name) in targets {
        // Never replace a larger checkpoint (or another root at the same size):
        // that would erase the evidence of a rollback.
        if let (Ok(new), Ok(Some(held))) = (&new, read_published(&dir.join(name)))
            && let Some(why) = would_roll_back(&held, new)
        {
            fail(format!(
                "refusing to replace {}: {why}",
                dir.join(name).display()
            ));
            continue;
        }
        if let Err(e) = write_atomic(dir, name, newest.note.as_bytes()) {
            fail(e.to_string());
        }
    }
    match witness {
        Some(w) => carried.drain(..).for_each(|s| w.submit(s)),
        None => carried.clear(),
    }
}
