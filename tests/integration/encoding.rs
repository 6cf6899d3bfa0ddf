//! Hostile values: one line per record, faithfully escaped, oversized values cut
//! with a visible marker, and the trail still verifies.

use tracing_audit::storage::{Event, Writer};

use crate::common::{config, lines, segments, verify};

#[test]
fn hostile_values_stay_on_one_line_and_round_trip() {
    let nasty = [
        "line one\nline two\r\nthree",
        "quote \" and backslash \\ and \\\" both",
        "controls \u{0}\u{1}\u{7}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
        "ansi \u{1b}[31mred\u{1b}[0m \u{1b}]0;title\u{7}",
        "bidi \u{202e}txt.exe\u{202c} \u{2066}iso\u{2069} \u{200f}",
        "separators \u{2028} \u{2029} bom \u{feff}",
        "NUL in the middle \u{0} end",
        "non-ASCII: Grüße, 日本語, emoji 🦀, combining e\u{301}",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(config(dir.path())).unwrap();
    let mut events = Vec::new();
    for (i, v) in nasty.iter().enumerate() {
        let mut e = Event::new("data.model_accessed")
            .field("value", *v)
            .field(*v, i as u64);
        e.reason = Some((*v).to_owned());
        events.push(e.into());
    }
    let big = "x".repeat(1024 * 1024);
    events.push(
        Event::new("data.deleted")
            .field("blob", big.as_str())
            .into(),
    );
    w.append(&events).unwrap();
    w.close().unwrap();

    let path = segments(dir.path()).remove(0);
    let raw = std::fs::read(&path).unwrap();
    let ls = lines(&path);
    assert_eq!(
        ls.len(),
        nasty.len() + 3,
        "one line per record (open, events, seal)"
    );
    // No raw control bytes, no raw bidi or separator characters anywhere in the file.
    let text = String::from_utf8(raw).unwrap();
    for bad in [
        '\u{0}', '\u{1b}', '\u{7f}', '\u{202e}', '\u{2066}', '\u{2028}', '\u{feff}', '\r',
    ] {
        assert!(!text.contains(bad), "raw {:?} in the file", bad);
    }
    assert_eq!(text.matches('\n').count(), ls.len());
    for (i, v) in nasty.iter().enumerate() {
        let rec: serde_json::Value = serde_json::from_str(&ls[i + 1]).unwrap();
        assert_eq!(rec["fields"]["value"], *v);
        assert_eq!(rec["fields"][*v], i as u64);
        assert_eq!(rec["reason"], *v);
    }
    let rec: serde_json::Value = serde_json::from_str(&ls[nasty.len() + 1]).unwrap();
    let blob = rec["fields"]["blob"].as_str().unwrap();
    assert!(
        blob.len() < 20 * 1024,
        "oversized value was cut: {} bytes",
        blob.len()
    );
    assert!(blob.starts_with("xxxx"));
    assert!(
        blob.ends_with("…[truncated, 1048576 bytes in all]"),
        "{}",
        &blob[blob.len() - 60..]
    );
    let report = verify(dir.path());
    assert!(report.ok(), "{:?}", report.failures);
}

#[test]
fn non_finite_floats_are_written_as_strings() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(config(dir.path())).unwrap();
    w.append(&[Event::new("a")
        .field("nan", f64::NAN)
        .field("inf", f64::INFINITY)
        .field("x", 1.5f64)
        .into()])
        .unwrap();
    w.close().unwrap();
    let ls = lines(&segments(dir.path())[0]);
    let rec: serde_json::Value = serde_json::from_str(&ls[1]).unwrap();
    assert_eq!(
        rec["fields"],
        serde_json::json!({"nan": "NaN", "inf": "inf", "x": 1.5})
    );
}

#[test]
fn gap_records_say_how_many_events_were_lost_and_when() {
    use tracing_audit::storage::{Gap, Timestamp};
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(config(dir.path())).unwrap();
    let from = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
    let to = Timestamp::parse("2026-11-23T10:00:05.5Z").unwrap();
    w.append(&[Gap::new(17, from, to, "queue_full").into()])
        .unwrap();
    w.close().unwrap();
    let rec: serde_json::Value = serde_json::from_str(&lines(&segments(dir.path())[0])[1]).unwrap();
    assert_eq!(rec["kind"], "gap");
    assert_eq!(rec["count"], 17);
    assert_eq!(rec["from"], "2026-11-23T10:00:00.000000Z");
    assert_eq!(rec["to"], "2026-11-23T10:00:05.500000Z");
    assert_eq!(rec["reason"], "queue_full");
    assert!(verify(dir.path()).ok());
}
