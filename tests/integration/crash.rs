//! Crash safety: a child process appending in a loop is killed with SIGKILL at random
//! moments; every record it acknowledged as durable survives, and the trail verifies.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use tracing_audit::storage::{Opened, Writer};
use tracing_audit::{Durability, Rotation};

use crate::common::{config, event, verify};

const CHILD_DIR: &str = "AUDIT_CRASH_CHILD_DIR";

/// Not a test of its own: the body of the child process the crash test spawns.
/// It appends batches forever and prints the last `seq` of each durable batch.
#[test]
#[ignore = "run as a child process by crash::sigkill_at_random_moments_loses_no_acknowledged_record"]
fn child_writer_loop() {
    let dir = std::env::var_os(CHILD_DIR).expect("run by the crash test only");
    let mut c = config(std::path::Path::new(&dir));
    c.durability = Durability::EveryBatch;
    c.rotation = "size:4MiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    let mut i = 0u64;
    loop {
        // Mostly small batches, sometimes one of a few MiB, so that a kill can land
        // inside a long write(2) and leave a torn tail.
        let n = if fastrand::u8(0..8) == 0 {
            500 + fastrand::u64(0..2500)
        } else {
            1 + fastrand::u64(0..40)
        };
        let batch: Vec<_> = (i..i + n).map(event).collect();
        i += n;
        let a = w.append(&batch).unwrap();
        assert!(a.durable);
        println!("{}", a.last_seq.unwrap());
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let (mut recovered, mut torn) = (0, 0u64);
    let rounds = 24;
    for round in 0..rounds {
        let t0 = std::time::Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "crash::child_writer_loop",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(seq) = line.trim().parse::<u64>() {
                    let _ = tx.send(seq);
                }
            }
        });
        // Wait until it is writing (start-up is slow on a loaded machine), then kill
        // it at a random moment of its work.
        let first = rx.recv_timeout(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..120)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        // The last seq the child reported as durable before it died.
        let acked = rx
            .try_iter()
            .last()
            .or(first.ok())
            .unwrap_or_else(|| panic!("round {round}: the child acknowledged nothing in 60 s"));

        // Reopen: the writer recovers (cutting a torn tail at most) and continues.
        let w = Writer::open(config(dir.path())).unwrap();
        // Killed between a rotation's seal and the next segment's creation, the trail
        // is cleanly sealed; killed anywhere else, it needs a recovery.
        match w.opened() {
            Opened::Recovered { cut_bytes, .. } => {
                recovered += 1;
                torn += u64::from(*cut_bytes > 0);
            }
            Opened::Clean => {}
            other => panic!("round {round}: unexpected {other:?}"),
        }
        assert!(
            w.next_seq().is_some_and(|next| next > acked),
            "round {round}: acknowledged seq {acked} lost; stream resumes at {:?}",
            w.next_seq()
        );
        w.close().unwrap();
        let report = verify(dir.path());
        assert!(report.ok(), "round {round}: {:?}", report.failures);
        eprintln!(
            "round {round}: {:?}, {} records",
            t0.elapsed(),
            report.records
        );
    }
    assert!(
        recovered >= rounds / 2,
        "only {recovered} of {rounds} kills needed a recovery"
    );
    eprintln!("{rounds} kills: {recovered} recoveries, {torn} with a torn tail cut");
}
