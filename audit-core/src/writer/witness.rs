//! Submitting checkpoints to a witness (c2sp.org/tlog-witness) through a command,
//! such as `ssh witness-host audit witness add …`, or through a spool directory
//! that `audit witness serve --spool` answers ([`crate::witness::spool`]), on a
//! thread of its own so that a slow or unreachable witness never holds up the
//! trail. Both transports exchange the same request for the same answer (an exit
//! status, what the witness printed on standard output and, for the command, on
//! standard error), read the same way.
//!
//! The thread keeps the frontier of the tree the witness last cosigned and the
//! leaves since, and proves each new checkpoint from them
//! ([`merkle::consistency_proof_extending`]): O(records since) work, whatever the
//! size of the trail. When the witness answers that it holds another size (a
//! restart, the exit status 4 and the size on standard output), the proof from
//! that size is read from the trail once ([`crate::proof::prove_consistency`]).
//! A cosigned checkpoint is written as `checkpoint.cosigned` beside `checkpoint`
//! (and in every copy directory); a refusal is printed to standard error and
//! counted, never silent.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::sync::mpsc::{Receiver, Sender};

use crate::merkle::{Frontier, consistency_proof_extending};
use crate::note::{Checkpoint, ConsistencyRequest, Note};
use crate::witness::spool::{self, ANSWER_SUFFIX, MAX_ANSWER_BYTES, REQUEST_SUFFIX};

use super::WitnessTransport;
use super::integrity::write_atomic;

/// The most leaves kept while the witness does not answer (128 MiB of hashes);
/// past it they are dropped and the next submission proves from the trail.
const MAX_PENDING_LEAVES: usize = 1 << 22;

/// How long one exchange may take: the witness command is killed after it, a
/// spool request is taken back.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the spool is looked at for the answer.
const SPOOL_POLL: Duration = Duration::from_millis(50);

/// A checkpoint for the witness: its note, the tree's frontier at its size, and
/// the leaf hashes since the previous one sent.
pub(super) struct Submission {
    pub note: String,
    pub frontier: Frontier,
    pub leaves: Vec<[u8; 32]>,
}

/// Where the cosigned checkpoints go and how to reach the witness.
pub(super) struct Target {
    pub transport: WitnessTransport,
    pub dir: PathBuf,
    pub copies: Vec<(PathBuf, String)>,
}

/// The submitting thread, and what it reports.
pub(super) struct WitnessClient {
    tx: Option<Sender<Submission>>,
    handle: Option<JoinHandle<()>>,
    done: Receiver<()>,
    /// Checkpoints the witness cosigned.
    pub cosigned: Arc<AtomicU64>,
    /// Submissions that failed (the command failed, timed out, or refused).
    pub failures: Arc<AtomicU64>,
}

impl WitnessClient {
    pub(super) fn start(target: Target) -> std::io::Result<WitnessClient> {
        let (tx, rx) = std::sync::mpsc::channel::<Submission>();
        let (done_tx, done) = std::sync::mpsc::sync_channel(1);
        let cosigned = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let (c, f) = (Arc::clone(&cosigned), Arc::clone(&failures));
        let handle = std::thread::Builder::new()
            .name("audit-witness".into())
            .spawn(move || {
                run(&target, &rx, &c, &f);
                let _ = done_tx.send(());
            })?;
        Ok(WitnessClient {
            tx: Some(tx),
            handle: Some(handle),
            done,
            cosigned,
            failures,
        })
    }

    pub(super) fn submit(&self, s: Submission) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(s);
        }
    }

    /// Lets the thread submit what is queued, waiting at most `deadline`; says on
    /// standard error when it did not finish.
    pub(super) fn finish(&mut self, deadline: Duration) {
        self.tx = None;
        match self.done.recv_timeout(deadline) {
            Ok(()) => {
                if let Some(h) = self.handle.take() {
                    let _ = h.join();
                }
            }
            Err(_) => eprintln!(
                "audit-core: the witness did not answer within {deadline:?}: the last checkpoint may not be cosigned (it is in the trail and in the checkpoint file)"
            ),
        }
    }
}

impl Drop for WitnessClient {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.finish(Duration::from_secs(5));
        }
    }
}

/// What the thread knows of the witness.
struct State {
    /// The tree the witness last cosigned; `None`: not known (at start-up).
    cosigned: Option<Frontier>,
    /// Leaf hashes after it.
    leaves: Vec<[u8; 32]>,
    /// The witness refused a rollback or fork: nothing more is sent.
    refused: bool,
}

fn run(target: &Target, rx: &Receiver<Submission>, cosigned: &AtomicU64, failures: &AtomicU64) {
    let mut link = Link::new(&target.transport);
    let mut state = State {
        cosigned: None,
        leaves: Vec::new(),
        refused: false,
    };
    while let Ok(first) = rx.recv() {
        // Behind: only the newest checkpoint is submitted, with every leaf.
        let mut latest = first;
        state.leaves.append(&mut latest.leaves);
        while let Ok(mut next) = rx.try_recv() {
            state.leaves.append(&mut next.leaves);
            latest = next;
        }
        if state.leaves.len() > MAX_PENDING_LEAVES {
            state.leaves = Vec::new();
            state.cosigned = None;
        }
        if state.refused {
            continue;
        }
        match submit(target, &mut link, &mut state, &latest) {
            Ok(()) => {
                cosigned.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 60 == 1 || state.refused {
                    eprintln!(
                        "audit-core: checkpoint of {} records not cosigned ({n} failed so far): {why}",
                        latest.frontier.size()
                    );
                }
            }
        }
    }
}

/// Submits `latest`, proving it from what the witness holds.
fn submit(
    target: &Target,
    link: &mut Link,
    state: &mut State,
    latest: &Submission,
) -> Result<(), String> {
    let note = Note::parse(&latest.note).map_err(|e| e.to_string())?;
    let origin = Checkpoint::parse(note.body())
        .map_err(|e| e.to_string())?
        .origin;
    let (old_size, proof) = match &state.cosigned {
        Some(old) if old.size() > 0 => (
            old.size(),
            consistency_proof_extending(old, &state.leaves).map_err(|e| e.to_string())?,
        ),
        _ => (0, Vec::new()),
    };
    let answer = link
        .exchange(&origin, &request(old_size, proof, note.clone())?)?
        .answer();
    let cosigned = match answer {
        Answer::Cosigned(text) => text,
        Answer::Conflict(size) => {
            // The witness holds another size: prove from it, reading the trail.
            let stream = crate::Stream::open(&target.dir).map_err(|e| e.to_string())?;
            let proof = crate::proof::prove_consistency(&stream, size, latest.frontier.size())
                .map_err(|e| format!("cannot prove from the witness's size {size}: {e}"))?;
            match link
                .exchange(&origin, &request(size, proof.proof.hashes, note)?)?
                .answer()
            {
                Answer::Cosigned(text) => text,
                Answer::Conflict(again) => {
                    return Err(format!(
                        "the witness holds size {again} after saying {size}"
                    ));
                }
                Answer::Refused(why) => return Err(why),
                Answer::Evidence(why) => {
                    state.refused = true;
                    return Err(why);
                }
            }
        }
        Answer::Refused(why) => return Err(why),
        Answer::Evidence(why) => {
            state.refused = true;
            return Err(why);
        }
    };
    // The answer must be the checkpoint submitted, with a signature added.
    match Note::parse(&cosigned) {
        Ok(answer)
            if answer.body() == note_body(&latest.note)
                && answer.signatures().len() > submitted_signatures(&latest.note) => {}
        _ => {
            let shown: String = cosigned
                .chars()
                .take(200)
                .flat_map(char::escape_debug)
                .collect();
            return Err(format!(
                "expected the witness to answer the checkpoint with its cosignature added, found {shown:?}"
            ));
        }
    }
    state.cosigned = Some(latest.frontier.clone());
    state.leaves.clear();
    let mut failed = Vec::new();
    if let Err(e) = write_atomic(&target.dir, "checkpoint.cosigned", cosigned.as_bytes()) {
        failed.push(e.to_string());
    }
    for (dir, name) in &target.copies {
        if let Err(e) = write_atomic(dir, name, cosigned.as_bytes()) {
            failed.push(e.to_string());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("cosigned, but not written: {}", failed.join("; ")))
    }
}

/// The signed text of a note we made (empty if it does not parse).
fn note_body(note: &str) -> String {
    Note::parse(note)
        .map(|n| n.body().to_owned())
        .unwrap_or_default()
}

/// How many signature lines a note we made carries.
fn submitted_signatures(note: &str) -> usize {
    Note::parse(note).map_or(0, |n| n.signatures().len())
}

fn request(old_size: u64, proof: Vec<[u8; 32]>, note: Note) -> Result<String, String> {
    ConsistencyRequest {
        old_size,
        proof,
        checkpoint_note: note,
    }
    .format()
    .map_err(|e| e.to_string())
}

/// What the witness answered.
enum Answer {
    Cosigned(String),
    /// Exit 4: the witness holds this size.
    Conflict(u64),
    /// Exit 1 or another failure.
    Refused(String),
    /// Exit 3: the witness saw a rollback or a fork: evidence against this log.
    Evidence(String),
}

/// One exchange with the witness, whatever the transport: its exit status (`None`
/// when the command was killed by a signal), its standard output, and what to say
/// of a refusal.
struct Exchange {
    status: Option<i32>,
    stdout: String,
    /// The status as said in a message ("the witness command exited with …").
    said: String,
    /// Why, in the witness's words (escaped), or where to look.
    why: String,
}

impl Exchange {
    /// The one reading of an exchange, for both transports.
    fn answer(self) -> Answer {
        let why = &self.why;
        match self.status {
            Some(0) => Answer::Cosigned(self.stdout),
            Some(4) => match self.stdout.trim().parse() {
                Ok(size) => Answer::Conflict(size),
                Err(_) => Answer::Refused(format!(
                    "the witness answered a conflict without its size: {why}"
                )),
            },
            Some(3) => Answer::Evidence(format!(
                "THE WITNESS REFUSED A ROLLBACK OR A FORK OF THIS TRAIL: {why}"
            )),
            _ => Answer::Refused(format!("{}: {why}", self.said)),
        }
    }
}

/// The transport, with what it keeps between exchanges.
enum Link<'a> {
    Command(&'a [String]),
    Spool {
        dir: &'a Path,
        /// The number of the next request; `None` before the first.
        next: Option<u64>,
    },
}

impl Link<'_> {
    fn new(transport: &WitnessTransport) -> Link<'_> {
        match transport {
            WitnessTransport::Command(command) => Link::Command(command),
            WitnessTransport::Spool(dir) => Link::Spool { dir, next: None },
        }
    }

    /// Sends `request` (for the log `origin`) and waits for the answer, at most
    /// [`EXCHANGE_TIMEOUT`].
    fn exchange(&mut self, origin: &str, request: &str) -> Result<Exchange, String> {
        match self {
            Link::Command(command) => run_command(command, request),
            Link::Spool { dir, next } => exchange_spool(dir, next, origin, request),
        }
    }
}

fn run_command(command: &[String], request: &str) -> Result<Exchange, String> {
    let (program, args) = command
        .split_first()
        .ok_or("the witness command is empty")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the witness command {program:?}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(request.as_bytes())
            .map_err(|e| format!("cannot write to the witness command: {e}"))?;
    }
    // Its output is read on threads (bounded), while this one waits for it to
    // exit and kills it, through its handle, at the timeout.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut bytes = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_ANSWER_BYTES as u64).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout_reader = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr_reader = read(child.stderr.take().map(|p| Box::new(p) as _));
    let until = Instant::now() + EXCHANGE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let killed = child.kill();
                let _ = child.wait();
                return Err(match killed {
                    Ok(()) => format!(
                        "the witness command did not answer within {EXCHANGE_TIMEOUT:?} and was killed"
                    ),
                    Err(e) => format!(
                        "the witness command did not answer within {EXCHANGE_TIMEOUT:?}, and killing it failed: {e}"
                    ),
                });
            }
            Err(e) => return Err(format!("cannot wait for the witness command: {e}")),
        }
    };
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    // What another host printed is escaped before it reaches a terminal.
    let why: String = String::from_utf8_lossy(&stderr)
        .trim()
        .chars()
        .flat_map(char::escape_debug)
        .collect();
    Ok(Exchange {
        status: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        said: format!("the witness command exited with {:?}", status.code()),
        why,
    })
}

/// Writes `request` into the spool as `<id>.<n>.request` and waits for
/// `<id>.<n>.answer` ([`crate::witness::spool`]); removes both.
fn exchange_spool(
    dir: &Path,
    next: &mut Option<u64>,
    origin: &str,
    request: &str,
) -> Result<Exchange, String> {
    let id = spool::origin_id(origin);
    let highest = sweep(dir, &id, *next);
    // The first number is above every one of this log's in the spool and above
    // the time in microseconds: a restarted writer never takes the answer to its
    // predecessor's request for its own.
    let n = next.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
        now.max(highest.map_or(0, |h| h.saturating_add(1)))
    });
    *next = Some(n.saturating_add(1));
    let name = spool::request_name(&id, n);
    let request_path = dir.join(&name);
    let answer_name = spool::answer_name(&id, n);
    let answer_path = dir.join(&answer_name);
    let _ = std::fs::remove_file(&answer_path);
    spool::write_file(dir, &name, request.as_bytes())
        .map_err(|e| format!("cannot write the witness request: {e}"))?;
    let until = Instant::now() + EXCHANGE_TIMEOUT;
    let read = loop {
        match spool::read_file(&answer_path, MAX_ANSWER_BYTES) {
            Ok(Some(bytes)) => break Ok(bytes),
            Ok(None) if Instant::now() < until => std::thread::sleep(SPOOL_POLL),
            // Taken back, so that a witness that comes up later does not answer a
            // request nobody waits for.
            Ok(None) => {
                break Err(match std::fs::remove_file(&request_path) {
                    Ok(()) => format!(
                        "no witness took the request {} within {EXCHANGE_TIMEOUT:?} (is `audit witness serve --spool` running on the witness host?); it was taken back",
                        request_path.display()
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
                        "the witness took the request {} but did not answer within {EXCHANGE_TIMEOUT:?}",
                        request_path.display()
                    ),
                    Err(e) => format!(
                        "no witness answered the request {} within {EXCHANGE_TIMEOUT:?}, and it cannot be taken back: {e}",
                        request_path.display()
                    ),
                });
            }
            Err(e) => break Err(format!("the witness's answer is refused: {e}")),
        }
    };
    // Both are done with, whatever the answer was.
    let _ = std::fs::remove_file(&answer_path);
    let _ = std::fs::remove_file(&request_path);
    let (status, stdout) =
        spool::parse_answer(&read?).map_err(|e| format!("{}: {e}", answer_path.display()))?;
    Ok(Exchange {
        status: Some(i32::from(status)),
        stdout,
        said: format!("the witness answered status {status} ({answer_name})"),
        why: "the witness host's `audit witness serve` log says why".to_owned(),
    })
}

/// Removes this log's requests and answers numbered below `below` (all of them
/// when `None`: a predecessor's, at the first exchange): answers that came after
/// their request was given up, requests a crashed writer left. Returns the
/// highest number of this log's seen.
fn sweep(dir: &Path, id: &str, below: Option<u64>) -> Option<u64> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut highest = None;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some(parsed) = spool::parse_name(name, REQUEST_SUFFIX)
            .or_else(|| spool::parse_name(name, ANSWER_SUFFIX))
        else {
            continue;
        };
        if parsed.id != id {
            continue;
        }
        highest = highest.max(Some(parsed.n));
        if below.is_none_or(|b| parsed.n < b) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    highest
}
