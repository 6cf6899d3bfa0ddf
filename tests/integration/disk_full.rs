//! A real disk filling up at every point of a write: events, seal, new segment,
//! open record. `append_partial` says how much was written; retrying the rest
//! writes nothing twice, and the trail verifies.

use audit_trail::{Entry, Event, Writer};

use crate::common::{SmallDisk, config, verify};

#[test]
fn a_full_disk_at_any_point_of_a_rotation_is_resumed_without_duplicates() {
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let trail = disk.dir.path().join("trail");
    let mut c = config(&trail);
    c.rotation = "size:1KiB".parse().unwrap();
    let mut writer = Writer::open(c).unwrap();
    let mut next = 0u64;
    let mut failures = 0;
    // Leave 0, 64, 128, … bytes free: the failure lands on a different record each
    // time (an event, the seal, the new segment's open record).
    for room in (0..6144u64).step_by(64) {
        let batch: Vec<Entry> = (next..next + 6)
            .map(|n| {
                Event::new("task.submitted")
                    .field("n", n)
                    .field("pad", "x".repeat(120))
                    .into()
            })
            .collect();
        next += 6;
        let filler = disk.fill_leaving(room);
        let mut rest: &[Entry] = &batch;
        if let Err(p) = writer.append_partial(rest) {
            failures += 1;
            assert!(p.error.to_string().contains("No space left"), "{p}");
            rest = &rest[p.written..];
        }
        std::fs::remove_file(&filler).unwrap();
        if !rest.is_empty() {
            writer.append_partial(rest).unwrap();
        }
    }
    writer.close().unwrap();
    assert!(
        failures > 20,
        "the disk should have been full often: {failures}"
    );

    let report = verify(&trail);
    assert!(report.ok(), "{:?}", report.failures);
    let mut ns = Vec::new();
    for seg in audit_trail::audit_core::segment::list_segments(&trail).unwrap() {
        for line in std::fs::read_to_string(trail.join(&seg.file_name))
            .unwrap()
            .lines()
        {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] == "event" {
                ns.push(v["fields"]["n"].as_u64().unwrap());
            }
        }
    }
    assert_eq!(
        ns,
        (0..next).collect::<Vec<_>>(),
        "every event once, in order"
    );
}
