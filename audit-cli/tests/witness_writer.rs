//! The writer submits its checkpoints to a real witness (`audit witness add`, run
//! as a command, or `audit witness serve` answering a spool directory), keeps the
//! cosigned checkpoint, carries on after a restart (the witness answers with the
//! size it holds), and a witness refuses the trail once its directory is rolled
//! back. Hostile files in the spool, on either side, are refused without a hang.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tracing_audit_core::note::SigningKey;
use tracing_audit_core::witness::spool;
use tracing_audit_core::{Event, Key, VerifyOptions, Writer, WriterConfig, verify_dir};

const AUDIT: &str = env!("CARGO_BIN_EXE_audit");

struct Setup {
    _root: tempfile::TempDir,
    trail: PathBuf,
    log_key: PathBuf,
    witness_key: PathBuf,
    state: PathBuf,
    spool: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let p = root.path().to_owned();
    std::fs::create_dir(p.join("spool")).unwrap();
    for (file, name) in [("log.key", "test-log"), ("witness.key", "test-witness")] {
        let out = Command::new(AUDIT)
            .args(["keygen", "--signing", "--name", name])
            .arg(p.join(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    Setup {
        trail: p.join("trail"),
        log_key: p.join("log.key"),
        witness_key: p.join("witness.key"),
        state: p.join("witness-state"),
        spool: p.join("spool"),
        _root: root,
    }
}

fn key() -> Key {
    Key::from_bytes([5; 32])
}

fn config(s: &Setup, trail: &Path) -> WriterConfig {
    let command = vec![
        AUDIT.to_owned(),
        "witness".to_owned(),
        "add".to_owned(),
        "--state".to_owned(),
        s.state.display().to_string(),
        "--key".to_owned(),
        s.witness_key.display().to_string(),
        "--log-key".to_owned(),
        format!("{}.pub", s.log_key.display()),
    ];
    WriterConfig::new(trail, "billing", key())
        .signing_key(SigningKey::from_file(&s.log_key).unwrap())
        .checkpoint_interval(Duration::ZERO)
        .witness_command(command)
}

fn spool_config(s: &Setup, trail: &Path) -> WriterConfig {
    WriterConfig::new(trail, "billing", key())
        .signing_key(SigningKey::from_file(&s.log_key).unwrap())
        .checkpoint_interval(Duration::ZERO)
        .witness_spool(&s.spool)
}

/// Writes `n` events, waits until the witness answered the last checkpoint
/// (cosigned or not), and closes; returns the writer's (cosigned, failed) counts.
fn run(s: &Setup, trail: &Path, n: u64) -> (u64, u64) {
    run_with(config(s, trail), n)
}

fn run_with(config: WriterConfig, n: u64) -> (u64, u64) {
    let mut w = Writer::open(config).unwrap();
    for i in 0..n {
        w.append(&[Event::new("invoice.paid").field("n", format!("{i}")).into()])
            .unwrap();
    }
    // Submissions run on the writer's witness thread: wait for an answer (a
    // condition, not a measured time; the bound only keeps a bug from hanging).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while w.witness_counts() == (0, 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let counts = w.witness_counts();
    w.close().unwrap();
    counts
}

fn witness_pub(s: &Setup) -> PathBuf {
    let out = Command::new(AUDIT)
        .args(["witness", "key"])
        .arg(&s.witness_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let path = s.state.with_extension("pub");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn verify_cosigned(s: &Setup, trail: &Path) -> std::process::Output {
    Command::new(AUDIT)
        .arg("verify")
        .arg(trail)
        .arg("--pubkey")
        .arg(format!("{}.pub", s.log_key.display()))
        .arg("--checkpoint")
        .arg(trail.join("checkpoint.cosigned"))
        .arg("--witness-key")
        .arg(witness_pub(s))
        .output()
        .unwrap()
}

#[test]
fn the_writer_gets_its_checkpoints_cosigned_across_a_restart() {
    let s = setup();
    run(&s, &s.trail, 20);
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let first = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    // The cosigned checkpoint is the final one: the whole trail, seal included.
    assert_eq!(
        first,
        std::fs::read_to_string(s.trail.join("checkpoint")).unwrap()
            + first.lines().last().unwrap()
            + "\n"
    );

    // A new writer does not know what the witness holds: the witness says, and
    // the writer proves from there.
    run(&s, &s.trail, 20);
    let second = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    assert_ne!(first, second);
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = verify_dir(&s.trail, &VerifyOptions::new().key(key())).unwrap();
    assert!(report.ok());
}

#[test]
fn a_witness_refuses_a_trail_rolled_back_and_the_writer_says_so() {
    let s = setup();
    run(&s, &s.trail, 10);
    let old = s.trail.with_extension("old");
    copy_dir(&s.trail, &old);
    let (ok, _) = run(&s, &s.trail, 10);
    assert!(ok > 0);
    let cosigned = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    // The attacker restores the old copy and the service writes on.
    std::fs::remove_dir_all(&s.trail).unwrap();
    copy_dir(&old, &s.trail);
    let before = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    let (ok, failed) = run(&s, &s.trail, 30);
    assert_eq!(ok, 0, "the witness cosigned a rolled-back trail");
    assert!(failed > 0);
    assert_eq!(
        std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap(),
        before,
        "nothing newer was cosigned"
    );
    // The checkpoint the witness holds (any auditor can get it from the witness)
    // shows the trail is not an extension of what was cosigned.
    let held = s.trail.with_extension("held");
    std::fs::write(&held, &cosigned).unwrap();
    let out = Command::new(AUDIT)
        .arg("verify")
        .arg(&s.trail)
        .arg("--pubkey")
        .arg(format!("{}.pub", s.log_key.display()))
        .arg("--checkpoint")
        .arg(&held)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_failure"]["kind"], "inconsistent", "{v}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// `audit witness serve --spool` on the test's spool, as a child process whose
/// standard error (its log) goes to a file; killed if the test fails first.
struct Served {
    child: Child,
    log: PathBuf,
}

impl Served {
    fn start(s: &Setup) -> Served {
        let log = s.spool.with_extension("log");
        let child = serve_command(s, &s.spool)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Served { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// Stops it with SIGTERM; it must exit 0 within 20 s. Returns its log.
    fn stop(mut self) -> String {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let status = wait_bounded(&mut self.child, Duration::from_secs(20))
            .expect("audit witness serve did not stop within 20 s of SIGTERM");
        let log = self.log();
        assert_eq!(status.code(), Some(0), "{log}");
        assert!(log.contains("stopped by a signal"), "{log}");
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serve_command(s: &Setup, spool: &Path) -> Command {
    let mut c = Command::new(AUDIT);
    c.args(["witness", "serve", "--spool"])
        .arg(spool)
        .arg("--state")
        .arg(&s.state)
        .arg("--key")
        .arg(&s.witness_key)
        .arg("--log-key")
        .arg(format!("{}.pub", s.log_key.display()));
    c
}

/// Waits for `child` at most `limit`; `None` (and the child killed) past it.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `audit witness serve --once` on `spool`: its exit status and its log; a run
/// of over 60 s (a hang) fails the test.
fn serve_once(s: &Setup, spool: &Path) -> (Option<i32>, String) {
    let mut child = serve_command(s, spool)
        .arg("--once")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let status = wait_bounded(&mut child, Duration::from_secs(60))
        .expect("audit witness serve --once hung (killed after 60 s)");
    (status.code(), reader.join().unwrap())
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_writer_with_a_spool_gets_its_checkpoints_cosigned_across_a_restart() {
    let s = setup();
    let served = Served::start(&s);
    let (ok, _) = run_with(spool_config(&s, &s.trail), 20);
    assert!(ok > 0, "{}", served.log());
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let first = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    // The cosigned checkpoint is the final one: the whole trail, seal included.
    assert_eq!(
        first,
        std::fs::read_to_string(s.trail.join("checkpoint")).unwrap()
            + first.lines().last().unwrap()
            + "\n"
    );
    // The writer removed its requests and the witness's answers.
    assert_eq!(names(&s.spool), Vec::<String>::new());
    assert!(!served.log().contains(": answered 4:"), "{}", served.log());

    // A new writer does not know what the witness holds: the witness answers
    // with its size (status 4), and the writer proves from there.
    let (ok, _) = run_with(spool_config(&s, &s.trail), 20);
    assert!(ok > 0, "{}", served.log());
    let second = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    assert_ne!(first, second);
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        verify_dir(&s.trail, &VerifyOptions::new().key(key()))
            .unwrap()
            .ok()
    );
    assert_eq!(names(&s.spool), Vec::<String>::new());
    let log = served.stop();
    assert!(log.contains(": answered 4: refused: conflict"), "{log}");
    assert!(
        log.contains(": answered 0: cosigned tracing-audit/billing/"),
        "{log}"
    );
}

#[test]
fn a_witness_serving_a_spool_refuses_a_trail_rolled_back() {
    let s = setup();
    let served = Served::start(&s);
    run_with(spool_config(&s, &s.trail), 10);
    let old = s.trail.with_extension("old");
    copy_dir(&s.trail, &old);
    let (ok, _) = run_with(spool_config(&s, &s.trail), 10);
    assert!(ok > 0, "{}", served.log());
    // The attacker restores the old copy and the service writes on.
    std::fs::remove_dir_all(&s.trail).unwrap();
    copy_dir(&old, &s.trail);
    let before = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    let answered = served.log().matches(": answered 0:").count();
    let (ok, failed) = run_with(spool_config(&s, &s.trail), 30);
    assert_eq!(ok, 0, "the witness cosigned a rolled-back trail");
    assert!(failed > 0);
    assert_eq!(
        std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap(),
        before,
        "nothing newer was cosigned"
    );
    let log = served.stop();
    assert_eq!(
        log.matches(": answered 0:").count(),
        answered,
        "the witness cosigned after the rollback: {log}"
    );
    assert_eq!(names(&s.spool), Vec::<String>::new());
}

/// Writes a trail of `n` events (signed checkpoints, no witness) and returns
/// its checkpoint file's text.
fn signed_trail(s: &Setup, n: u64) -> String {
    let c = WriterConfig::new(&s.trail, "billing", key())
        .signing_key(SigningKey::from_file(&s.log_key).unwrap());
    let mut w = Writer::open(c).unwrap();
    for i in 0..n {
        w.append(&[Event::new("invoice.paid").field("n", format!("{i}")).into()])
            .unwrap();
    }
    w.close().unwrap();
    std::fs::read_to_string(s.trail.join("checkpoint")).unwrap()
}

/// `audit prove TRAIL --consistency OLD NEW`: an add-checkpoint request.
fn prove(s: &Setup, old: &Path, new: &Path) -> Vec<u8> {
    let out = Command::new(AUDIT)
        .arg("prove")
        .arg(&s.trail)
        .arg("--consistency")
        .arg(old)
        .arg(new)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// Reads an answer file: its status and its standard output.
fn answer(path: &Path) -> (u8, String) {
    spool::parse_answer(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn witness_serve_once_answers_the_requests_there_in_order_and_exits() {
    let s = setup();
    let a = s.spool.with_extension("a");
    std::fs::write(&a, signed_trail(&s, 5)).unwrap();
    let b = s.spool.with_extension("b");
    let text = signed_trail(&s, 5);
    std::fs::write(&b, &text).unwrap();
    let id = spool::origin_id(text.lines().next().unwrap());
    // Request 10 proves B from A: it can only be cosigned after request 9's
    // first checkpoint A (numeric order; "10" sorts before "9" as text).
    std::fs::write(
        s.spool.join(spool::request_name(&id, 9)),
        prove(&s, Path::new("0"), &a),
    )
    .unwrap();
    std::fs::write(
        s.spool.join(spool::request_name(&id, 10)),
        prove(&s, &a, &b),
    )
    .unwrap();
    // Another log's request, not a request at all; and a request whose name
    // says another log.
    let other = spool::origin_id("example.com/other");
    std::fs::write(s.spool.join(spool::request_name(&other, 1)), "hello\n").unwrap();
    std::fs::write(
        s.spool.join(spool::request_name(&other, 2)),
        prove(&s, Path::new("0"), &b),
    )
    .unwrap();
    std::fs::write(s.spool.join("README"), "not a request").unwrap();

    let (code, log) = serve_once(&s, &s.spool);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        names(&s.spool),
        vec![
            spool::answer_name(&other, 1),
            spool::answer_name(&other, 2),
            spool::answer_name(&id, 9),
            spool::answer_name(&id, 10),
            "README".to_owned(),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
        "{log}"
    );
    let (status, first) = answer(&s.spool.join(spool::answer_name(&id, 9)));
    assert_eq!(status, 0, "{first} {log}");
    let (status, second) = answer(&s.spool.join(spool::answer_name(&id, 10)));
    assert_eq!(status, 0, "{second} {log}");
    // The answer is the cosigned checkpoint B: the trail verifies against it.
    assert_eq!(second, text + second.lines().last().unwrap() + "\n");
    let cosigned = s.spool.with_extension("cosigned");
    std::fs::write(&cosigned, &second).unwrap();
    let out = Command::new(AUDIT)
        .arg("verify")
        .arg(&s.trail)
        .arg("--pubkey")
        .arg(format!("{}.pub", s.log_key.display()))
        .arg("--checkpoint")
        .arg(&cosigned)
        .arg("--witness-key")
        .arg(witness_pub(&s))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for n in [1, 2] {
        let (status, stdout) = answer(&s.spool.join(spool::answer_name(&other, n)));
        assert_eq!((status, stdout.as_str()), (2, ""), "{log}");
    }
    assert!(
        log.contains("expected a checkpoint of the log the name says"),
        "{log}"
    );
    // Once answered, nothing is left to do: a second run answers nothing.
    let (code, again) = serve_once(&s, &s.spool);
    assert_eq!((code, again.as_str()), (Some(0), ""));
}

#[test]
fn witness_serve_answers_or_skips_hostile_requests_without_hanging() {
    let s = setup();
    let text = signed_trail(&s, 3);
    let id = spool::origin_id(text.lines().next().unwrap());
    let checkpoint = s.spool.with_extension("checkpoint");
    std::fs::write(&checkpoint, &text).unwrap();
    // A valid request outside the spool: a symbolic link to it must not be
    // followed (nor the file it names removed).
    let outside = s.spool.with_extension("request");
    std::fs::write(&outside, prove(&s, Path::new("0"), &checkpoint)).unwrap();
    let path = |n: u64| s.spool.join(spool::request_name(&id, n));
    std::fs::write(path(1), "old 0\n\nnot a checkpoint\n").unwrap();
    std::fs::write(path(2), vec![b'a'; spool::MAX_REQUEST_BYTES + 1]).unwrap();
    let made = Command::new("mkfifo").arg(path(3)).status().unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink(&outside, path(4)).unwrap();
    std::fs::write(path(5), [0xff, 0xfe, 0x00, b'\n']).unwrap();
    std::fs::create_dir(path(6)).unwrap();

    let (code, log) = serve_once(&s, &s.spool);
    assert_eq!(code, Some(0), "{log}");
    for n in 1..=5 {
        let (status, stdout) = answer(&s.spool.join(spool::answer_name(&id, n)));
        assert_eq!((status, stdout.as_str()), (2, ""), "request {n}: {log}");
        assert!(
            std::fs::symlink_metadata(path(n)).is_err(),
            "request {n} left: {log}"
        );
    }
    assert!(log.contains("symbolic link (not followed)"), "{log}");
    assert!(log.contains("found more"), "{log}");
    assert!(log.contains("found something else"), "{log}");
    assert!(log.contains("binary content"), "{log}");
    // The file the link named is untouched, and nothing was cosigned.
    assert!(outside.is_file());
    assert!(!log.contains(": answered 0:"), "{log}");
    // A directory cannot be removed: answered, then skipped, said once.
    assert!(path(6).is_dir());
    assert_eq!(log.matches("cannot remove the request").count(), 1, "{log}");

    // A running witness says it once too, however often it looks.
    let served = Served::start(&s);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !served.log().contains("cannot remove") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let log = served.stop();
    assert_eq!(log.matches("cannot remove the request").count(), 1, "{log}");
}

/// A witness, or whoever can write in the spool, answers with a FIFO, a banner
/// with status 0, an answer too large, an answer without a status line, a
/// symbolic link: each is refused, none hangs the writer or is kept as cosigned.
#[test]
fn the_writer_refuses_hostile_spool_answers_without_hanging() {
    let s = setup();
    let spool_dir = s.spool.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = std::sync::Arc::clone(&stop);
    let outside = s.spool.with_extension("target");
    std::fs::write(&outside, "0\n").unwrap();
    let link_target = outside.clone();
    let fake = std::thread::spawn(move || {
        let mut answered = 0usize;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for name in names(&spool_dir) {
                let Some(req) = spool::parse_name(&name, spool::REQUEST_SUFFIX) else {
                    continue;
                };
                let answer = spool_dir.join(spool::answer_name(&req.id, req.n));
                let tmp = spool_dir.join(".fake.new");
                match answered % 5 {
                    0 => {
                        let made = Command::new("mkfifo").arg(&answer).status().unwrap();
                        assert!(made.success());
                    }
                    1 => std::fs::write(&tmp, "0\nWelcome to witness-host\n").unwrap(),
                    2 => {
                        let mut big = b"0\n".to_vec();
                        big.resize(spool::MAX_ANSWER_BYTES + 1, b'x');
                        std::fs::write(&tmp, big).unwrap();
                    }
                    3 => std::fs::write(&tmp, "Welcome to witness-host\n").unwrap(),
                    _ => std::os::unix::fs::symlink(&link_target, &answer).unwrap(),
                }
                if tmp.exists() {
                    std::fs::rename(&tmp, &answer).unwrap();
                }
                // The request is taken, as a witness does.
                std::fs::remove_file(spool_dir.join(&name)).unwrap();
                answered += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        answered
    });
    let mut w = Writer::open(spool_config(&s, &s.trail)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    // Each answer is refused at once: five failures take far less than one
    // 30 s timeout (a hang on the FIFO would take the whole deadline).
    while w.witness_counts().1 < 5 && Instant::now() < deadline {
        w.append(&[Event::new("invoice.paid").field("n", format!("{i}")).into()])
            .unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let counts = w.witness_counts();
    w.close().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered = fake.join().unwrap();
    assert!(answered >= 5, "{answered}");
    assert_eq!(counts.0, 0, "a hostile answer was counted as cosigned");
    assert!(counts.1 >= 5, "{counts:?}");
    assert!(!s.trail.join("checkpoint.cosigned").exists());
    // The writer removed every answer, the link too (not the file it names).
    assert_eq!(names(&s.spool), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "0\n");
}

#[test]
fn a_spool_that_is_not_a_directory_is_refused_at_open() {
    let s = setup();
    let file = s.spool.with_extension("file");
    std::fs::write(&file, "").unwrap();
    let err = Writer::open(
        WriterConfig::new(&s.trail, "billing", key())
            .signing_key(SigningKey::from_file(&s.log_key).unwrap())
            .witness_spool(&file),
    )
    .err()
    .unwrap();
    assert_eq!(err.kind(), tracing_audit_core::ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("expected a witness spool directory, found a file"),
        "{err}"
    );
}
