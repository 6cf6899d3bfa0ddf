//! `audit query` (issue 12, item 1): the real binary on a trail of known
//! contents: filters, formats, exit statuses, and a table that a record cannot
//! draw on.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use tracing_audit_core::{Event, Key, Outcome, Writer, WriterConfig};

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .output()
        .unwrap()
}

fn trail(dir: &Path) {
    let mut w = Writer::open(WriterConfig::new(dir, "pools", Key::from_bytes([1; 32]))).unwrap();
    let mut batch = Vec::new();
    for i in 0..6u32 {
        let mut e = Event::new(if i % 2 == 0 {
            "pool.create"
        } else {
            "pool.delete"
        })
        .field("i", u64::from(i));
        e.actor.id = Some(if i < 3 { "alice" } else { "bob" }.into());
        e.outcome = Outcome::Success;
        e.resource = Some(format!("pool-{i}"));
        batch.push(e.into());
    }
    // A record crafted to draw on an operator's terminal: clear the screen, then a
    // right-to-left override.
    let mut evil = Event::new("pool.delete");
    evil.actor.id = Some("mallory".into());
    evil.resource = Some("\u{1b}[2J\u{1b}[H\u{202e}Trail intact".into());
    batch.push(evil.into());
    w.append(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn filters_formats_and_exit_statuses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    trail(&dir);
    let d = dir.to_str().unwrap();

    let out = audit(&[
        "query",
        d,
        "--action",
        "pool.delete",
        "--actor",
        "bob",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let is: Vec<u64> = lines
        .iter()
        .map(|v| v["fields"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(is, [3, 5]);

    let out = audit(&[
        "query", d, "--action", "pool.*", "--last", "2", "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["actor"]["id"], "mallory");

    let out = audit(&[
        "query", d, "--actor", "alice", "--limit", "2", "--format", "csv",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "ts,seq,action,outcome,actor,resource,request_id,category"
    );
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1].contains(",pool.create,success,alice,pool-0,"),
        "{text}"
    );

    // Nothing matched: exit 1 and a word on standard error, as grep.
    let out = audit(&["query", d, "--actor", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no record matched")
    );
    // No such directory: exit 2.
    let missing = tmp.path().join("missing");
    let out = audit(&["query", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_table_escapes_what_a_record_could_draw_on_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    trail(&dir);
    let out = audit(&["query", dir.to_str().unwrap(), "--actor", "mallory"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mallory"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "a raw escape reached the terminal: {text:?}"
    );
    assert!(
        !text.contains('\u{202e}'),
        "a raw bidi override reached the terminal: {text:?}"
    );
    assert!(
        text.contains("Trail intact"),
        "the text itself is shown, escaped: {text:?}"
    );
    assert_eq!(text.lines().count(), 2, "a header and one row: {text:?}");
}

#[test]
fn tail_prints_the_last_records_and_follows_new_ones_across_segments() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    trail(&dir);
    let d = dir.to_str().unwrap();
    let out = audit(&[
        "tail", d, "-n", "2", "--action", "pool.*", "--format", "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let actors: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["actor"]["id"].to_string())
        .collect();
    assert_eq!(actors, ["\"bob\"", "\"mallory\""]);

    // Following: a new writer (a new segment) appends; tail prints what matches.
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
        .args([
            "tail", d, "-n", "1", "-f", "--actor", "mallory", "--actor", "carol", "--format",
            "jsonl",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // The last record that matches comes first: tail has read the trail.
    let first = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    assert!(first.contains("\"mallory\""), "{first}");
    let mut w = Writer::open(WriterConfig::new(&dir, "pools", Key::from_bytes([1; 32]))).unwrap();
    for who in ["dave", "carol", "erin", "carol"] {
        let mut e = Event::new("pool.create");
        e.actor.id = Some(who.into());
        w.append(&[e.into()]).unwrap();
    }
    w.close().unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        // Waiting for a condition (bounded so that a bug fails instead of hanging).
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => got.push(line),
            Err(_) => break,
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|l| l.contains("\"carol\"")), "{got:?}");
}
