//! The tamper matrix: each change is detected with the right kind at the exact first
//! failing line.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use tracing_audit::verify::FailureKind;

use crate::common::{file_name, lines, rewrite, segments, verify, write_trail};

/// A trail of several segments; returns the directory.
pub fn trail() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_trail(dir.path(), 60, "size:8KiB");
    let segs = segments(dir.path());
    assert!(
        segs.len() >= 4,
        "expected at least 4 segments, found {}",
        segs.len()
    );
    let report = verify(dir.path());
    assert!(
        report.ok(),
        "the untouched trail must verify: {:?}",
        report.first_failure()
    );
    dir
}

/// The tamper matrix: (name, expected first failure kind, tampering).
#[allow(clippy::type_complexity)]
pub const CASES: &[(&str, FailureKind, fn(&Path) -> (String, u64))] = &[
    ("change a value", FailureKind::HashMismatch, change_a_value),
    ("change hash", FailureKind::HashMismatch, change_hash),
    ("change mac", FailureKind::MacMismatch, change_mac),
    ("delete a line", FailureKind::SeqGap, delete_a_line),
    ("duplicate a line", FailureKind::SeqGap, duplicate_a_line),
    ("swap two lines", FailureKind::SeqGap, swap_two_lines),
    (
        "insert forged line",
        FailureKind::MacMismatch,
        insert_forged_line,
    ),
    (
        "delete a middle segment",
        FailureKind::MissingSegment,
        delete_middle_segment,
    ),
    (
        "swap segment order",
        FailureKind::SegmentOrder,
        swap_segment_names,
    ),
    (
        "truncate mid-line",
        FailureKind::TornTail,
        truncate_mid_line,
    ),
    (
        "truncate a middle segment",
        FailureKind::TornTail,
        truncate_middle_segment,
    ),
    (
        "reformat whitespace",
        FailureKind::HashMismatch,
        reformat_whitespace,
    ),
];

/// Runs `tamper` on a fresh trail and checks the first failure is `kind` at
/// (segment index, 1-based line) as `tamper` returns them.
#[test]
fn every_tampering_is_found_at_its_exact_first_line() {
    let mut wrong = Vec::new();
    for (name, kind, tamper) in CASES {
        let dir = trail();
        let (file, line) = tamper(dir.path());
        let report = verify(dir.path());
        match report.first_failure() {
            None => wrong.push(format!("{name}: went unnoticed")),
            Some(f) if (f.kind, f.file.as_str(), f.line) != (*kind, file.as_str(), line) => wrong
                .push(format!(
                    "{name}: expected {kind:?} at {file}:{line}, found {f:?}"
                )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn edit_line(dir: &Path, seg: usize, line: usize, f: impl FnOnce(&str) -> String) -> (String, u64) {
    let path = &segments(dir)[seg];
    let mut ls = lines(path);
    ls[line - 1] = f(&ls[line - 1]);
    rewrite(path, &ls.concat());
    (file_name(path), line as u64)
}

fn change_a_value(dir: &Path) -> (String, u64) {
    let f = |dir| edit_line(dir, 1, 5, |l| l.replacen("\"pool-", "\"poOl-", 1));
    f(dir)
}

fn change_hash(dir: &Path) -> (String, u64) {
    let f = |dir| {
        edit_line(dir, 1, 5, |l| {
            let i = l.find("\"hash\":\"").unwrap() + 8;
            let c = if &l[i..=i] == "0" { "1" } else { "0" };
            format!("{}{c}{}", &l[..i], &l[i + 1..])
        })
    };
    f(dir)
}

fn change_mac(dir: &Path) -> (String, u64) {
    let f = |dir| {
        edit_line(dir, 2, 3, |l| {
            let i = l.find("\"mac\":\"").unwrap() + 7;
            let c = if &l[i..=i] == "0" { "1" } else { "0" };
            format!("{}{c}{}", &l[..i], &l[i + 1..])
        })
    };
    f(dir)
}

fn delete_a_line(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let path = &segments(dir)[1];
        let mut ls = lines(path);
        ls.remove(4);
        rewrite(path, &ls.concat());
        (file_name(path), 5)
    };
    f(dir)
}

fn duplicate_a_line(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let path = &segments(dir)[1];
        let mut ls = lines(path);
        let dup = ls[4].clone();
        ls.insert(5, dup);
        rewrite(path, &ls.concat());
        (file_name(path), 6)
    };
    f(dir)
}

fn swap_two_lines(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let path = &segments(dir)[2];
        let mut ls = lines(path);
        ls.swap(4, 5);
        rewrite(path, &ls.concat());
        (file_name(path), 5)
    };
    f(dir)
}

fn insert_forged_line(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let path = &segments(dir)[1];
        let mut ls = lines(path);
        // Take over the 5th record's place: same seq and prev, new content, a
        // correct hash over it, and a MAC made up without the key.
        let victim: serde_json::Value = serde_json::from_str(&ls[4]).unwrap();
        let body = format!(
            r#"{{"v":1,"seq":{},"ts":"2026-01-01T00:00:00.000000Z","epoch":0,"prev":"{}","kind":"event","id":"00000000-0000-7000-8000-000000000000","service":"test-service","action":"pool.deleted","outcome":"success","fields":{{}}}}"#,
            victim["seq"],
            victim["prev"].as_str().unwrap()
        );
        let hash = hex::encode(Sha256::digest(body.as_bytes()));
        let line = format!(
            r#"{},"hash":"{hash}","mac":"{}"}}"#,
            &body[..body.len() - 1],
            "ab".repeat(32)
        ) + "\n";
        ls.insert(4, line);
        rewrite(path, &ls.concat());
        (file_name(path), 5)
    };
    f(dir)
}

fn delete_middle_segment(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let segs = segments(dir);
        std::fs::remove_file(&segs[1]).unwrap();
        (file_name(&segs[2]), 1)
    };
    f(dir)
}

fn swap_segment_names(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let segs = segments(dir);
        let tmp = dir.join("tmp");
        std::fs::rename(&segs[1], &tmp).unwrap();
        std::fs::rename(&segs[2], &segs[1]).unwrap();
        std::fs::rename(&tmp, &segs[2]).unwrap();
        (file_name(&segs[1]), 1)
    };
    f(dir)
}

fn truncate_mid_line(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let segs = segments(dir);
        let path = segs.last().unwrap();
        let ls = lines(path);
        let keep: String = ls[..3].concat() + &ls[3][..40];
        rewrite(path, &keep);
        (file_name(path), 4)
    };
    f(dir)
}

fn truncate_middle_segment(dir: &Path) -> (String, u64) {
    let f = |dir| {
        let path = &segments(dir)[1];
        let ls = lines(path);
        let keep: String = ls[..6].concat() + &ls[6][..100];
        rewrite(path, &keep);
        (file_name(path), 7)
    };
    f(dir)
}

fn reformat_whitespace(dir: &Path) -> (String, u64) {
    let f = |dir| {
        edit_line(dir, 1, 4, |l| {
            l.replacen("{\"v\":2,\"seq\":", "{ \"v\": 2, \"seq\": ", 1)
        })
    };
    f(dir)
}

#[test]
fn all_failures_are_listed_after_the_first() {
    let dir = trail();
    edit_line(dir.path(), 0, 3, |l| l.replacen("\"pool-", "\"poOl-", 1));
    edit_line(dir.path(), 2, 4, |l| l.replacen("\"pool-", "\"poOl-", 1));
    let report = verify(dir.path());
    let where_: Vec<_> = report.failures.iter().map(|f| (f.kind, f.line)).collect();
    assert_eq!(
        where_,
        vec![
            (FailureKind::HashMismatch, 3),
            (FailureKind::HashMismatch, 4)
        ]
    );
    assert_eq!(report.segments.iter().filter(|s| s.failures > 0).count(), 2);
}

#[test]
fn forgery_goes_unnoticed_without_the_key_but_is_reported_as_unchecked() {
    let dir = trail();
    let report = tracing_audit::verify::verify_dir(dir.path(), &Default::default()).unwrap();
    assert!(report.ok());
    assert!(!report.mac_checked);
}
