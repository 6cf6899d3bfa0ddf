//! What verification keeps across records beyond the chain (docs/FORMAT.md §4.1,
//! §4.2): the key of each epoch, the stream's identity, the Merkle tree over the
//! records, in-trail checkpoints and a copied checkpoint to compare against.

use crate::key::Key;
use crate::merkle::{self, Frontier};
use crate::note::{Checkpoint, Note, VerifierKey, verify_cosignature};
use crate::record::RecordKind;

use super::report::{Failure, FailureKind};

/// The most key derivations one verification performs: `2^24` epochs (hourly
/// epochs for 1900 years) from the key given. A record claiming an epoch beyond
/// costs no work: it is a MAC failure. Without the bound, one forged record
/// claiming epoch 2^62 (its hash recomputed, no key needed) hung the verifier.
pub(crate) const MAX_EPOCH_DERIVATIONS: u64 = 1 << 24;

/// Why a record's epoch key is not at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoEpochKey {
    /// An epoch before the newest met (or before the key given): the derivation
    /// is one-way. Such a record is out of position anyway (`epoch_mismatch`).
    Earlier,
    /// Beyond [`MAX_EPOCH_DERIVATIONS`] from the key given.
    TooFar,
}

/// The keys of the epochs met so far, derived forward from the key given.
#[derive(Debug)]
pub(crate) struct EpochKeys {
    /// The key of the newest epoch met (never before the key given).
    current: Key,
    /// The keys of the earlier epochs met (a record out of position, of an
    /// earlier epoch, is checked with its own epoch's key as the format says).
    earlier: std::collections::BTreeMap<u64, Key>,
    /// Derivations left.
    budget: u64,
}

impl EpochKeys {
    pub(crate) fn new(key: Key) -> EpochKeys {
        EpochKeys {
            current: key,
            earlier: std::collections::BTreeMap::new(),
            budget: MAX_EPOCH_DERIVATIONS,
        }
    }

    /// The key MACs are checked with first (the current epoch's).
    pub(crate) fn current(&self) -> &Key {
        &self.current
    }

    /// The key of `epoch`, derived forward from the nearest key at hand.
    pub(crate) fn key_for(&mut self, epoch: u64) -> Result<&Key, NoEpochKey> {
        let current = self.current.epoch();
        if epoch > current {
            let steps = epoch - current;
            if steps > self.budget {
                return Err(NoEpochKey::TooFar);
            }
            self.budget -= steps;
            let next = self.current.at_epoch(epoch).ok_or(NoEpochKey::Earlier)?;
            let old = std::mem::replace(&mut self.current, next);
            self.earlier.insert(old.epoch(), old);
            return Ok(&self.current);
        }
        if epoch == current {
            return Ok(&self.current);
        }
        // An earlier epoch: from the nearest earlier key at hand.
        let Some((&from, _)) = self.earlier.range(..=epoch).next_back() else {
            return Err(NoEpochKey::Earlier);
        };
        if from != epoch {
            let steps = epoch - from;
            if steps > self.budget {
                return Err(NoEpochKey::TooFar);
            }
            self.budget -= steps;
            let key = self.earlier[&from]
                .at_epoch(epoch)
                .ok_or(NoEpochKey::Earlier)?;
            self.earlier.insert(epoch, key);
        }
        Ok(&self.earlier[&epoch])
    }
}

/// A copied checkpoint the trail must extend.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub checkpoint: Checkpoint,
    /// Where the tree reached the checkpoint's size: the record's seq, file and
    /// line, and whether the roots agreed.
    pub reached: Option<Reached>,
}

/// The trail's tree at the size of a copied checkpoint.
#[derive(Debug, Clone)]
pub(crate) struct Reached {
    pub seq: Option<u64>,
    pub file: String,
    pub line: u64,
    pub root: [u8; 32],
}

/// State beyond the chain, kept across segments.
#[derive(Debug, Default)]
pub(crate) struct Integrity {
    pub keys: Option<EpochKeys>,
    /// Records whose MAC could not be checked: their epoch is earlier than the key given.
    pub macs_unchecked: u64,
    /// The Merkle tree over the records read from the first; `None` when unknown
    /// (the verification started after the first record and no seal gave it, or
    /// an unreadable line broke it).
    pub tree: Option<Frontier>,
    /// The stream id and service of the open records read.
    pub stream: Option<String>,
    pub service: Option<String>,
    /// The highest format version read.
    pub version: u64,
    /// Checks the signatures of checkpoints.
    pub pubkey: Option<VerifierKey>,
    /// In-trail checkpoint records read, and how many signatures were checked.
    pub checkpoint_records: u64,
    pub signatures_checked: u64,
    /// A copied checkpoint to compare against.
    pub target: Option<Target>,
}

impl Integrity {
    /// The checkpoint origin of the stream read so far.
    pub(crate) fn origin(&self) -> Option<String> {
        Some(crate::writer::origin(
            self.service.as_deref()?,
            self.stream.as_deref()?,
        ))
    }

    /// Checks a `seal`'s Merkle frontier against the tree, or takes it when the
    /// tree is not known yet.
    pub(crate) fn seal(
        &mut self,
        seq: u64,
        tree_size: Option<u64>,
        frontier: Option<&[String]>,
    ) -> Option<(FailureKind, String)> {
        let (Some(size), Some(hexes)) = (tree_size, frontier) else {
            return Some((
                FailureKind::MalformedLine,
                format!(
                    "expected a version 2 seal with tree_size and frontier, found {} without {}",
                    if tree_size.is_some() {
                        "tree_size"
                    } else {
                        "frontier"
                    },
                    if tree_size.is_some() {
                        "frontier"
                    } else {
                        "tree_size"
                    },
                ),
            ));
        };
        let written = Frontier::from_hex(size, hexes);
        match (&self.tree, written) {
            (Some(tree), Some(w)) if *tree == w => None,
            (Some(tree), _) => Some((
                FailureKind::CheckpointMismatch,
                format!(
                    "expected the seal's Merkle frontier to be that of the {} records before it, found tree_size {size} with {} hashes that do not match: the records before it are not those the writer sealed",
                    tree.size(),
                    hexes.len()
                ),
            )),
            (None, Some(w)) if size == seq => {
                self.tree = Some(w);
                None
            }
            (None, _) => Some((
                FailureKind::MalformedLine,
                format!(
                    "expected tree_size {seq} (the seal's seq) and one 64-hex hash per 1 bit of it in frontier, found tree_size {size} and {} hashes",
                    hexes.len()
                ),
            )),
        }
    }

    /// Checks an in-trail `checkpoint` record: its size is its seq, its root is
    /// the tree's, its note is a checkpoint of this stream with that size and
    /// root, and (with a verifier key) signed by it.
    pub(crate) fn checkpoint(
        &mut self,
        seq: u64,
        fields: &CheckpointFields,
    ) -> Option<(FailureKind, String)> {
        self.checkpoint_records += 1;
        let (Some(size), Some(root_hex), Some(note_text)) =
            (fields.size, fields.root.as_deref(), fields.note.as_deref())
        else {
            return Some((
                FailureKind::MalformedLine,
                "expected a checkpoint record with size, root and note, found one without them"
                    .to_owned(),
            ));
        };
        if size != seq {
            return Some((
                FailureKind::CheckpointMismatch,
                format!(
                    "expected size {seq} (the checkpoint commits to the records before it), found {size}"
                ),
            ));
        }
        let mut root = [0u8; 32];
        if hex::decode_to_slice(root_hex, &mut root).is_err() {
            return Some((
                FailureKind::CheckpointMismatch,
                format!("expected root as 64 hexadecimal digits, found {root_hex:?}"),
            ));
        }
        if let Some(tree) = &self.tree
            && tree.root() != root
        {
            return Some((
                FailureKind::CheckpointMismatch,
                format!(
                    "expected root {} (the Merkle tree of the {size} records before it), found {root_hex}: records before this checkpoint were changed after it was signed",
                    hex::encode(tree.root())
                ),
            ));
        }
        let note = match Note::parse(note_text) {
            Ok(n) => n,
            Err(e) => {
                return Some((
                    FailureKind::CheckpointMismatch,
                    format!("expected a signed note in note, found one that does not parse: {e}"),
                ));
            }
        };
        let cp = match Checkpoint::parse(note.body()) {
            Ok(c) => c,
            Err(e) => {
                return Some((
                    FailureKind::CheckpointMismatch,
                    format!("expected a checkpoint in the note, found: {e}"),
                ));
            }
        };
        if cp.size != size || cp.root != root {
            return Some((
                FailureKind::CheckpointMismatch,
                format!(
                    "expected the note to commit to size {size} and root {root_hex}, found size {} and root {}",
                    cp.size,
                    hex::encode(cp.root)
                ),
            ));
        }
        if let Some(origin) = self.origin()
            && cp.origin != origin
        {
            return Some((
                FailureKind::StreamMismatch,
                format!(
                    "expected the checkpoint origin {origin:?} (this stream), found {:?}",
                    cp.origin
                ),
            ));
        }
        if let Some(pubkey) = &self.pubkey {
            if let Err(e) = note.verify(pubkey) {
                return Some((FailureKind::BadSignature, e.to_string()));
            }
            self.signatures_checked += 1;
        }
        None
    }

    /// Adds a record's hash to the tree, and notes when the tree reaches the
    /// size of the copied checkpoint.
    pub(crate) fn push(&mut self, hash: &[u8; 32], seq: u64, file: &str, line: u64) {
        if self.tree.as_ref().is_some_and(Frontier::is_full) {
            // The record of seq u64::MAX: no tree holds it.
            self.tree = None;
        }
        if let Some(tree) = &mut self.tree {
            tree.push(merkle::leaf_hash(hash));
            if let Some(t) = &mut self.target
                && t.reached.is_none()
                && tree.size() == t.checkpoint.size
            {
                t.reached = Some(Reached {
                    seq: Some(seq),
                    file: file.to_owned(),
                    line,
                    root: tree.root(),
                });
            }
        }
    }

    /// Checks the epoch of a record against its position: it changes only at an
    /// `epoch` record, which raises it by one, and never otherwise (a writer
    /// starting, at an `open` or `recovery` record, carries on the trail's
    /// epoch). `first`: the stream's first record, of any epoch.
    pub(crate) fn epoch(
        prev_epoch: u64,
        epoch: u64,
        v: u64,
        kind: Option<RecordKind>,
        from: Option<u64>,
        first: bool,
    ) -> Option<String> {
        if v < 2 {
            return (epoch != 0)
                .then(|| format!("expected epoch 0 in a version 1 record, found {epoch}"));
        }
        if first {
            return None;
        }
        if kind == Some(RecordKind::Epoch) {
            if prev_epoch.checked_add(1) != Some(epoch) {
                Some(format!(
                    "expected an epoch record to raise the epoch by one, to {}, found epoch {epoch}",
                    prev_epoch.saturating_add(1)
                ))
            } else if from != Some(prev_epoch) {
                Some(format!(
                    "expected the epoch record's from to be {prev_epoch} (the epoch before it), found {from:?}"
                ))
            } else {
                None
            }
        } else {
            (epoch != prev_epoch).then(|| {
                format!("expected epoch {prev_epoch} (epochs change only at an epoch record, by one), found epoch {epoch}: this record does not belong at this position")
            })
        }
    }
}

/// The members of a `checkpoint` record.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CheckpointFields {
    pub size: Option<u64>,
    pub root: Option<String>,
    pub note: Option<String>,
}

/// Parses a copied checkpoint and checks its signature (with `pubkey`) and the
/// witnesses' cosignatures; a failure names the checkpoint's file.
pub(crate) fn copied_checkpoint(
    name: &str,
    text: &str,
    pubkey: Option<&VerifierKey>,
    witnesses: &[VerifierKey],
) -> Result<Target, Failure> {
    let fail = |kind: FailureKind, detail: String| Failure {
        kind,
        file: name.to_owned(),
        line: 1,
        seq: None,
        record_kind: Some("checkpoint".to_owned()),
        detail,
    };
    let note = Note::parse(text).map_err(|e| {
        fail(
            FailureKind::MalformedLine,
            format!("expected a signed note, found one that does not parse: {e}"),
        )
    })?;
    let checkpoint = Checkpoint::parse(note.body()).map_err(|e| {
        fail(
            FailureKind::MalformedLine,
            format!("expected a checkpoint, found: {e}"),
        )
    })?;
    if let Some(key) = pubkey {
        note.verify(key)
            .map_err(|e| fail(FailureKind::BadSignature, e.to_string()))?;
    }
    for w in witnesses {
        verify_cosignature(&note, w).map_err(|e| {
            fail(
                FailureKind::BadSignature,
                format!("expected a cosignature by witness {}: {e}", w.name()),
            )
        })?;
    }
    Ok(Target {
        checkpoint,
        reached: None,
    })
}

/// Judges the trail against a copied checkpoint once every record was read:
/// `Ok(size)` when the trail extends it. `last`: the last record read (file,
/// line, seq).
pub(crate) fn judge_target(
    target: &Target,
    integ: &Integrity,
    last: &(String, u64, Option<u64>),
) -> Result<u64, Failure> {
    let cp = &target.checkpoint;
    let at_last = |kind: FailureKind, detail: String| Failure {
        kind,
        file: last.0.clone(),
        line: last.1,
        seq: last.2,
        record_kind: None,
        detail,
    };
    if let Some(origin) = integ.origin()
        && origin != cp.origin
    {
        return Err(at_last(
            FailureKind::StreamMismatch,
            format!(
                "expected a checkpoint of this stream ({origin}), found a checkpoint of {}",
                cp.origin
            ),
        ));
    }
    let Some(tree) = &integ.tree else {
        return Err(at_last(
            FailureKind::CheckpointMismatch,
            "the checkpoint could not be checked: the Merkle tree of the trail is not known (verify the whole trail, from its first record, and see the failures above)".to_owned(),
        ));
    };
    if cp.size == 0 {
        return Ok(0);
    }
    let Some(reached) = &target.reached else {
        let held = tree.size();
        return Err(at_last(
            FailureKind::Truncated,
            format!(
                "expected at least {} records (the checkpoint's size), found {held}: records {held} to {} were cut off the end",
                cp.size,
                cp.size - 1
            ),
        ));
    };
    if reached.root == cp.root {
        return Ok(cp.size);
    }
    let (kind, what) = if tree.size() == cp.size {
        (
            FailureKind::CheckpointMismatch,
            "the records up to here were changed after the checkpoint was signed",
        )
    } else {
        (
            FailureKind::Inconsistent,
            "the trail is not an extension of the checkpoint: it was rolled back to an older copy and continued, forked, or rewritten",
        )
    };
    Err(Failure {
        kind,
        file: reached.file.clone(),
        line: reached.line,
        seq: reached.seq,
        record_kind: None,
        detail: format!(
            "expected root {} for the first {} records (the checkpoint's), found {}: {what}",
            hex::encode(cp.root),
            cp.size,
            hex::encode(reached.root)
        ),
    })
}
