//! Scheduled verification: `audit verify --lookback-days N`, `--last N`,
//! `--max-gap` and `--summary`, run as cron runs them.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tracing_audit_core::{Event, Key, Stream, Timestamp, Writer, WriterConfig};

const KEY_HEX: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const DAY_MICROS: i64 = 86_400_000_000;

fn audit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_audit"));
    cmd.args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .env_remove("AUDIT_VERIFY_LOOKBACK_DAYS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

struct Trail {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    /// The segment files, oldest first, and each one's records.
    segments: Vec<(PathBuf, u64)>,
    /// The start time of each segment, from its name.
    starts: Vec<Timestamp>,
}

impl Trail {
    fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn key(&self) -> &str {
        self.key.to_str().unwrap()
    }

    /// The `--as-of` that puts the start of a one-day lookback at the start of
    /// segment `i`.
    fn as_of_day_from(&self, i: usize) -> String {
        Timestamp::from_unix_micros(self.starts[i].unix_micros() + DAY_MICROS).to_string()
    }
}

/// Three segments, one per writer run (each closed: sealed), opened `pause`
/// apart (their names carry their start second): 5, 6 and 4 events.
fn trail(pause: Duration) -> Trail {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let key = tmp.path().join("key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (run, events) in [5u64, 6, 4].into_iter().enumerate() {
        if run > 0 {
            std::thread::sleep(pause);
        }
        let mut w = Writer::open(WriterConfig::new(
            &dir,
            "cron-test",
            Key::from_hex(KEY_HEX).unwrap(),
        ))
        .unwrap();
        for i in 0..events {
            w.append(&[Event::new("pool.created").field("i", i).into()])
                .unwrap();
        }
        w.close().unwrap();
    }
    let stream = Stream::open(&dir).unwrap();
    let names = stream.segments().to_vec();
    assert_eq!(names.len(), 3, "one segment per run");
    let segments = names
        .iter()
        .map(|n| {
            let p = stream.segment_path(n);
            let lines = std::fs::read_to_string(&p).unwrap().lines().count() as u64;
            (p, lines)
        })
        .collect();
    Trail {
        _tmp: tmp,
        dir,
        key,
        segments,
        starts: names.iter().map(|n| n.start).collect(),
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(path, lines.concat()).unwrap();
}

/// Edits an event's field in line `line` (1-based) without the key: a
/// hash_mismatch there.
fn tamper(path: &Path, line: usize) {
    let mut ls = lines(path);
    assert!(ls[line - 1].contains("pool.created"), "{}", ls[line - 1]);
    ls[line - 1] = ls[line - 1].replacen("pool.created", "pool.crEated", 1);
    write_lines(path, &ls);
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The first line of the event `i` of segment `s` (1-based line: the open
/// record is line 1, and the first segment's open is followed by its events).
fn event_line(t: &Trail, s: usize) -> usize {
    lines(&t.segments[s].0)
        .iter()
        .position(|l| l.contains("pool.created"))
        .unwrap()
        + 1
}

#[test]
fn lookback_verifies_only_the_window_and_ignores_older_tampering() {
    let t = trail(Duration::from_millis(1100));
    let first = event_line(&t, 0);
    tamper(&t.segments[0].0, first);
    // The whole trail: the old tampering is found.
    let out = audit(&["verify", t.dir(), "--key-file", t.key(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(1));

    // The last day as of a day after segment 3 began: segment 3 alone, linked to
    // segment 2's last record; the tampering in segment 1 is outside.
    let as_of = t.as_of_day_from(2);
    let args = [
        "verify",
        t.dir(),
        "--key-file",
        t.key(),
        "--lookback-days",
        "1",
        "--as-of",
        &as_of,
        "--json",
    ];
    let out = audit(&args, &[]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["segments"], 1, "{v}");
    assert_eq!(v["skipped_segments"], 2, "{v}");
    assert_eq!(v["records"], t.segments[2].1, "{v}");
    assert_eq!(v["records_in_window"], t.segments[2].1, "{v}");

    // The same from the environment, as a cron job sets it.
    let out = audit(
        &[
            "verify",
            t.dir(),
            "--key-file",
            t.key(),
            "--as-of",
            &as_of,
            "--json",
        ],
        &[("AUDIT_VERIFY_LOOKBACK_DAYS", "1")],
    );
    assert_eq!(json(&out), v);

    // A day from segment 2 on: segments 2 and 3.
    let as_of2 = t.as_of_day_from(1);
    let out = audit(
        &[
            "verify",
            t.dir(),
            "--key-file",
            t.key(),
            "--lookback-days",
            "1",
            "--as-of",
            &as_of2,
            "--json",
        ],
        &[],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["segments"], 2, "{v}");
    assert_eq!(v["records"], t.segments[1].1 + t.segments[2].1, "{v}");

    // Tampering inside the window is caught.
    let third = event_line(&t, 2);
    tamper(&t.segments[2].0, third);
    let out = audit(&args, &[]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["first_failure"]["kind"], "hash_mismatch", "{v}");
    assert_eq!(v["first_failure"]["line"], third, "{v}");
}

#[test]
fn lookback_is_anchored_to_the_record_before_the_window() {
    let t = trail(Duration::from_millis(1100));
    // Segment 2 loses its last record (its seal): segment 3 no longer links to
    // the record before it.
    let mut ls = lines(&t.segments[1].0);
    ls.pop();
    write_lines(&t.segments[1].0, &ls);
    let as_of = t.as_of_day_from(2);
    let out = audit(
        &[
            "verify",
            t.dir(),
            "--key-file",
            t.key(),
            "--lookback-days",
            "1",
            "--as-of",
            &as_of,
            "--json",
        ],
        &[],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["segments"], 1, "{v}");
    let first = &v["first_failure"];
    assert_eq!(
        first["file"],
        t.segments[2].0.file_name().unwrap().to_str().unwrap(),
        "{v}"
    );
    assert_eq!(first["line"], 1, "{v}");
}

#[test]
fn last_n_verifies_only_the_segments_holding_the_last_n_records() {
    let t = trail(Duration::ZERO);
    tamper(&t.segments[0].0, event_line(&t, 0));
    let n3 = t.segments[2].1;
    let last = |n: u64| {
        let n = n.to_string();
        let out = audit(
            &[
                "verify",
                t.dir(),
                "--key-file",
                t.key(),
                "--last",
                &n,
                "--json",
            ],
            &[],
        );
        let code = out.status.code();
        (code, json(&out))
    };
    // The last n3 records are segment 3's: the tampering in segment 1 is outside.
    let (code, v) = last(n3);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["segments"], 1, "{v}");
    assert_eq!(v["records_in_window"], n3, "{v}");
    let (code, v) = last(2);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["records_in_window"], 2, "{v}");
    // One more reaches segment 2 (its seal): both are verified.
    let (code, v) = last(n3 + 1);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["segments"], 2, "{v}");
    assert_eq!(v["records_in_window"], n3 + 1, "{v}");
    // More records than the trail holds: all of it, and the old tampering.
    let (code, v) = last(1_000_000);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["segments"], 3, "{v}");

    // Tampering in segment 2 is caught once the window reaches it.
    tamper(&t.segments[1].0, event_line(&t, 1));
    assert_eq!(last(n3).0, Some(0));
    let (code, v) = last(n3 + t.segments[1].1);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["first_failure"]["file"],
        t.segments[1].0.file_name().unwrap().to_str().unwrap(),
        "{v}"
    );
    // And anchored: segment 3 must link to the record before it.
    let mut ls = lines(&t.segments[1].0);
    ls.pop();
    write_lines(&t.segments[1].0, &ls);
    let (code, v) = last(n3);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_failure"]["line"], 1, "{v}");

    // --last 0 is a usage error.
    let out = audit(&["verify", t.dir(), "--last", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_time_gap_longer_than_max_gap_is_reported_with_exit_4() {
    let t = trail(Duration::from_millis(2100));
    let base = ["verify", t.dir(), "--key-file", t.key()];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        audit(&args, &[])
    };
    // No threshold, or a long one: no gap.
    assert_eq!(run(&[]).status.code(), Some(0));
    let out = run(&["--max-gap", "1h", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["time_gaps_found"], 0);

    // Two pauses of 2.1 s between the runs: two gaps, each named by the open
    // record of the segment after it.
    let out = run(&["--max-gap", "2s", "--json"]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(4), "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["time_gaps_found"], 2, "{v}");
    for (g, seg) in v["time_gaps"].as_array().unwrap().iter().zip(1..) {
        assert_eq!(
            g["file"],
            t.segments[seg].0.file_name().unwrap().to_str().unwrap(),
            "{v}"
        );
        assert_eq!(g["line"], 1, "{v}");
        assert!(g["seconds"].as_u64().unwrap() >= 2, "{v}");
    }

    let out = run(&["--max-gap", "2s"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert_eq!(
        text.matches("TIME GAP: no record for 2s").count(),
        2,
        "{text}"
    );
    assert!(text.contains("2 TIME GAP(S)"), "{text}");

    // Tampering takes precedence: exit 1, the gaps still reported.
    tamper(&t.segments[2].0, event_line(&t, 2));
    let out = run(&["--max-gap", "2s", "--json"]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["time_gaps_found"], 2, "{v}");

    // A zero or malformed duration is a usage error.
    assert_eq!(run(&["--max-gap", "0s"]).status.code(), Some(2));
    assert_eq!(run(&["--max-gap", "soon"]).status.code(), Some(2));
}

#[test]
fn the_summary_is_one_line_ok_warn_or_fail() {
    let t = trail(Duration::from_millis(2100));
    let n3 = t.segments[2].1;
    let total: u64 = t.segments.iter().map(|s| s.1).sum();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify", t.dir(), "--key-file", t.key(), "--summary"];
        args.extend_from_slice(extra);
        let out = audit(&args, &[]);
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        (out.status.code(), text.trim_end().to_owned())
    };
    let dir = t.dir();
    assert_eq!(
        run(&[]),
        (
            Some(0),
            format!("OK trail {dir}: {total} records, end sealed")
        )
    );
    let as_of = t.as_of_day_from(2);
    assert_eq!(
        run(&["--lookback-days", "1", "--as-of", &as_of]),
        (
            Some(0),
            format!("OK trail {dir}: {n3} records in window, end sealed")
        )
    );
    assert_eq!(
        run(&["--last", "3"]),
        (
            Some(0),
            format!("OK trail {dir}: 3 records in window, end sealed")
        )
    );

    let (code, line) = run(&["--max-gap", "2s"]);
    assert_eq!(code, Some(4), "{line}");
    let seg2 = t.segments[1].0.file_name().unwrap().to_str().unwrap();
    let prefix = format!(
        "WARN trail {dir}: {total} records, end sealed, 2 time gap(s), first no record for 2s"
    );
    assert!(line.starts_with(&prefix), "{line}");
    assert!(
        line.ends_with(&format!("(before {seg2} line 1 seq {})", t.segments[0].1)),
        "{line}"
    );

    // Without the key the line says MACs were not checked.
    let out = audit(&["verify", dir, "--summary"], &[]);
    assert_eq!(
        stdout(&out).trim_end(),
        format!("OK trail {dir}: {total} records, end sealed, MACs NOT checked (no key)")
    );

    let line3 = event_line(&t, 2);
    let intact = lines(&t.segments[2].0);
    tamper(&t.segments[2].0, line3);
    let seg3 = t.segments[2].0.file_name().unwrap().to_str().unwrap();
    let seq = t.segments[0].1 + t.segments[1].1 + line3 as u64 - 1;
    let (code, line) = run(&["--last", "3"]);
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(
        line,
        format!(
            "FAIL trail {dir}: 3 records in window, 1 failure(s), first at {seg3} line {line3} seq {seq} (hash_mismatch), end sealed"
        )
    );

    // The end not proven: WARN with the reason (exit 3).
    let mut ls = intact;
    ls.pop();
    write_lines(&t.segments[2].0, &ls);
    let (code, line) = run(&["--last", "1"]);
    assert_eq!(code, Some(3), "{line}");
    assert!(
        line.starts_with(&format!(
            "WARN trail {dir}: 1 record in window, end not proven: the newest segment {seg3} ends without a seal"
        )),
        "{line}"
    );
}
