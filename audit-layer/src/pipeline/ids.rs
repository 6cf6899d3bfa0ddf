//! Event ids, assigned on the writer thread in bulk.

use tracing_audit_core::Event;

/// Assigns UUIDv7 ids to events that have none, from the event's own time and
/// random bits fetched from the operating system 4 KiB at a time (one system call
/// per ~400 events instead of one per event on the caller's thread).
#[derive(Default)]
pub(super) struct EventIds {
    random: Vec<u8>,
    /// Used only if the operating system cannot provide randomness: unique within
    /// this process, which is all an id needs beside its seq.
    fallback: u64,
}

impl EventIds {
    const CHUNK: usize = 4096;

    pub(super) fn assign(&mut self, mut e: Event) -> Event {
        if !e.id.is_nil() {
            return e;
        }
        if self.random.len() < 10 {
            self.random.resize(Self::CHUNK, 0);
            if getrandom::fill(&mut self.random).is_err() {
                self.random.clear();
                self.fallback += 1;
                let mut bits = [0u8; 10];
                bits[2..].copy_from_slice(&self.fallback.to_be_bytes());
                e.id =
                    uuid::Builder::from_unix_timestamp_millis(Self::millis(&e), &bits).into_uuid();
                return e;
            }
        }
        let at = self.random.len() - 10;
        let mut bits = [0u8; 10];
        bits.copy_from_slice(&self.random[at..]);
        self.random.truncate(at);
        e.id = uuid::Builder::from_unix_timestamp_millis(Self::millis(&e), &bits).into_uuid();
        e
    }

    fn millis(e: &Event) -> u64 {
        u64::try_from(e.ts.unix_micros().max(0) / 1000).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_ids_are_distinct_uuidv7_at_the_event_time() {
        let mut ids = EventIds::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let e = ids.assign(Event::without_id("x"));
            assert_eq!(e.id.get_version_num(), 7);
            let (secs, nanos) = e.id.get_timestamp().unwrap().to_unix();
            let micros = i64::try_from(secs).unwrap() * 1_000_000 + i64::from(nanos / 1000);
            assert_eq!(micros / 1000, e.ts.unix_micros() / 1000);
            assert!(seen.insert(e.id), "duplicate id {}", e.id);
        }
        let given = Event::new("y");
        assert_eq!(
            ids.assign(given.clone()).id,
            given.id,
            "an id already set is kept"
        );
    }
}
