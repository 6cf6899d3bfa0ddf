//! The running state of the hash chain, and the one rule for `seq` arithmetic.
//!
//! `seq` is a `u64`. The record after `seq = u64::MAX` cannot exist: the writer
//! refuses to write it, recovery refuses to continue after it, and the verifier
//! reports any record after it as `seq_gap`. Nothing wraps.

use crate::encode::ZERO_HASH;

/// The `seq` of the record after `seq`; `None` after `u64::MAX` (no record can follow).
pub(crate) fn seq_after(seq: u64) -> Option<u64> {
    seq.checked_add(1)
}

/// The chain state between records: what the next record must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The next record's `seq`; `None` after a record with `seq = u64::MAX`.
    pub next_seq: Option<u64>,
    /// The next record's `prev`.
    pub prev: [u8; 32],
    /// After an unreadable line: accept the next record's seq/prev as they are.
    pub resync: bool,
    /// Whether the previous segment (if any) ended with a seal.
    pub prev_sealed: bool,
    /// The key epoch of the previous record (0 before the first).
    pub epoch: u64,
}

impl Chain {
    /// The state before the first record of a stream.
    pub(crate) fn start() -> Chain {
        Chain {
            next_seq: Some(0),
            prev: ZERO_HASH,
            resync: false,
            prev_sealed: true,
            epoch: 0,
        }
    }

    /// Moves past a record with `seq` whose written hash is `hash`.
    pub(crate) fn advance(&mut self, seq: u64, hash: [u8; 32]) {
        self.next_seq = seq_after(seq);
        self.prev = hash;
        self.resync = false;
    }

    /// Moves past a line whose header could not be read: the next record's seq and
    /// prev are accepted as they are.
    pub(crate) fn skip_unreadable(&mut self, hash: Option<[u8; 32]>) {
        self.next_seq = self.next_seq.and_then(seq_after);
        if let Some(h) = hash {
            self.prev = h;
        }
        self.resync = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_follows_the_largest_seq() {
        assert_eq!(seq_after(41), Some(42));
        assert_eq!(seq_after(u64::MAX), None);
        let mut c = Chain::start();
        c.advance(u64::MAX, [1; 32]);
        assert_eq!(c.next_seq, None);
        c.skip_unreadable(None);
        assert_eq!(c.next_seq, None);
    }
}
