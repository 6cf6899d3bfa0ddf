//! Merkle proofs of a stream's records, built in one pass over the trail in
//! O(log n) memory.
//!
//! # Overview
//!
//! [`crate::merkle`] computes proofs from a slice of every leaf hash: 32 bytes a
//! record, 320 MB for ten million records. A proof needs far less: it is the roots
//! of at most 64 subtrees of the tree (RFC 9162 §2.1.3.1 `PATH`, §2.1.4.1 `PROOF`),
//! and which subtrees depends only on the sizes and the index, not on the leaves.
//! [`ProofBuilder`] works those subtrees out first, is then fed the leaf hashes in
//! order, and hashes each subtree as its leaves go by with a
//! [`Frontier`] (the subtrees are disjoint, so at most one
//! is being hashed at a time). Memory is O(log n) hashes whatever the size; time is
//! one SHA-256 per leaf and one per inner node, as computing the root takes.
//!
//! - [`ProofBuilder::inclusion`] and [`ProofBuilder::consistency`] build the proofs
//!   of [`merkle::inclusion_proof`] and [`merkle::consistency_proof`], hash for
//!   hash, with the tree's root (and the old tree's root) on the way.
//! - [`prove_inclusion`] and [`prove_consistency`] feed a builder from a
//!   [`Stream`]: the stream's tree (docs/FORMAT.md §4.2) has a leaf per record, the
//!   record's `hash`, in `seq` order from `seq` 0.
//! - [`record_line`] reads a record line given to a verifier on its own: its `seq`,
//!   and its `hash` once the body is checked against it.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::merkle;
//! use tracing_audit_core::proof::ProofBuilder;
//!
//! let leaves: Vec<[u8; 32]> = (0u8..11).map(|i| merkle::leaf_hash(&[i])).collect();
//!
//! let mut b = ProofBuilder::inclusion(6, 11)?;
//! for leaf in &leaves {
//!     b.push(*leaf)?;
//! }
//! let proof = b.finish()?;
//! assert_eq!(proof.hashes, merkle::inclusion_proof(&leaves, 6)?);
//! assert_eq!(proof.root, merkle::root(&leaves));
//! merkle::verify_inclusion(&leaves[6], 6, 11, &proof.hashes, &proof.root)?;
//!
//! let mut b = ProofBuilder::consistency(5, 11)?;
//! for leaf in &leaves {
//!     b.push(*leaf)?;
//! }
//! let proof = b.finish()?;
//! assert_eq!(proof.old_root, Some(merkle::root(&leaves[..5])));
//! merkle::verify_consistency(5, 11, &merkle::root(&leaves[..5]), &proof.root, &proof.hashes)?;
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Arguments out of range (an index not below the size, an old size above the new)
//! are [`ErrorKind::Config`]. A trail whose tree cannot be computed up to the size
//! asked for (fewer records, a line that is not a record, a `seq` out of order) is
//! [`ErrorKind::Corrupt`], naming the file and line; a segment that cannot be read is
//! [`ErrorKind::Io`].

use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::merkle::{self, EMPTY_ROOT, Frontier};
use crate::parse::{header, split_line};
use crate::reader::{Record, Stream};
use crate::record::RecordKind;

/// The largest power of two smaller than `n` (RFC 9162's `k`); `n` >= 2.
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// The leaf ranges `[start, end)` whose roots make `PATH(m, D[lo..hi])`, in the
/// proof's order (from the leaf up); `lo + m < hi`.
fn path_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        path_ranges(m - k, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The leaf ranges whose roots make `SUBPROOF(m, D[lo..hi], complete)`, in the
/// proof's order; `0 < m <= hi - lo`.
fn subproof_ranges(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof_ranges(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        subproof_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// A proof built by a [`ProofBuilder`], with the roots it was built against.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proof {
    /// The proof's hashes, in the order of RFC 9162 (what
    /// [`merkle::verify_inclusion`] and [`merkle::verify_consistency`] take).
    pub hashes: Vec<[u8; 32]>,
    /// The tree's size: the number of leaves fed.
    pub size: u64,
    /// The root of the tree of [`Proof::size`] leaves.
    pub root: [u8; 32],
    /// For a consistency proof, the root of the old tree (its first `old_size`
    /// leaves); `None` for an inclusion proof.
    pub old_root: Option<[u8; 32]>,
    /// For an inclusion proof, the leaf hash at the index; `None` for a
    /// consistency proof.
    pub leaf: Option<[u8; 32]>,
}

/// Builds an inclusion or consistency proof from the leaf hashes fed in order, in
/// O(log n) memory (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub struct ProofBuilder {
    size: u64,
    index: Option<u64>,
    old_size: Option<u64>,
    /// The subtrees to hash: `(start, end, slot)`, by `start`; `slot` is the hash's
    /// place in the proof.
    ranges: Vec<(u64, u64, usize)>,
    /// The first range of `ranges` not hashed yet.
    next: usize,
    /// The leaves of `ranges[next]` fed so far.
    current: Frontier,
    hashes: Vec<[u8; 32]>,
    tree: Frontier,
    old_root: Option<[u8; 32]>,
    leaf: Option<[u8; 32]>,
}

impl ProofBuilder {
    fn new(size: u64, proof_ranges: Vec<(u64, u64)>) -> ProofBuilder {
        let mut ranges: Vec<(u64, u64, usize)> = proof_ranges
            .iter()
            .enumerate()
            .map(|(slot, &(start, end))| (start, end, slot))
            .collect();
        ranges.sort_unstable();
        ProofBuilder {
            size,
            index: None,
            old_size: None,
            hashes: vec![[0; 32]; ranges.len()],
            ranges,
            next: 0,
            current: Frontier::new(),
            tree: Frontier::new(),
            old_root: None,
            leaf: None,
        }
    }

    /// A builder of the inclusion proof of the leaf at `index` in the tree of
    /// `size` leaves, the proof [`merkle::inclusion_proof`] computes.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `index` is not below `size`.
    pub fn inclusion(index: u64, size: u64) -> Result<ProofBuilder> {
        if index >= size {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle inclusion proof: expected a leaf index less than the tree size {size}, found {index}"
                ),
            ));
        }
        let mut ranges = Vec::new();
        path_ranges(index, 0, size, &mut ranges);
        let mut b = ProofBuilder::new(size, ranges);
        b.index = Some(index);
        Ok(b)
    }

    /// A builder of the consistency proof from the tree of the first `old_size`
    /// leaves to the tree of `size` leaves, the proof
    /// [`merkle::consistency_proof`] computes; empty when the sizes are equal, and
    /// also (unlike [`merkle::consistency_proof`]) when `old_size` is 0, as a
    /// witness request from the empty tree has it (`old 0` and no proof).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `old_size` is larger than `size`.
    pub fn consistency(old_size: u64, size: u64) -> Result<ProofBuilder> {
        if old_size > size {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle consistency proof: expected an old size of at most the tree size {size}, found {old_size}"
                ),
            ));
        }
        let mut ranges = Vec::new();
        if 0 < old_size && old_size < size {
            subproof_ranges(old_size, 0, size, true, &mut ranges);
        }
        let mut b = ProofBuilder::new(size, ranges);
        b.old_size = Some(old_size);
        if old_size == 0 {
            b.old_root = Some(EMPTY_ROOT);
        }
        Ok(b)
    }

    /// The number of leaves fed so far.
    pub fn pushed(&self) -> u64 {
        self.tree.size()
    }

    /// The number of leaves of the tree: how many to feed in all.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Feeds the next leaf hash (apply [`merkle::leaf_hash`] to a record's hash
    /// first).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when all the tree's leaves were fed already.
    pub fn push(&mut self, leaf_hash: [u8; 32]) -> Result<()> {
        let i = self.tree.size();
        if i >= self.size {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle proof: expected {} leaves, found one more",
                    self.size
                ),
            ));
        }
        if self.index == Some(i) {
            self.leaf = Some(leaf_hash);
        }
        if let Some(&(start, end, slot)) = self.ranges.get(self.next)
            && i >= start
        {
            self.current.push(leaf_hash);
            if i + 1 == end {
                self.hashes[slot] = self.current.root();
                self.current = Frontier::new();
                self.next += 1;
            }
        }
        self.tree.push(leaf_hash);
        if self.old_size == Some(self.tree.size()) {
            self.old_root = Some(self.tree.root());
        }
        Ok(())
    }

    /// The proof, once every leaf was fed.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when fewer leaves than the tree's size were fed.
    pub fn finish(self) -> Result<Proof> {
        if self.tree.size() < self.size {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle proof: expected {} leaves, found {}",
                    self.size,
                    self.tree.size()
                ),
            ));
        }
        Ok(Proof {
            hashes: self.hashes,
            size: self.size,
            root: self.tree.root(),
            old_root: self.old_root,
            leaf: self.leaf,
        })
    }
}

/// What [`prove_inclusion`] and [`prove_consistency`] read of the stream besides the
/// proof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamProof {
    /// The proof over the stream's tree.
    pub proof: Proof,
    /// The record at the index, for an inclusion proof.
    pub record: Option<Record>,
    /// The stream's checkpoint origin (`tracing-audit/<service>/<stream id>`,
    /// docs/FORMAT.md §4.2), from the first `open` record read that carries a
    /// stream id; `None` when none did (a version 1 trail).
    pub origin: Option<String>,
}

/// The inclusion proof of the record `seq` = `index` in the stream's tree of
/// `size` records, read in one pass over the first `size` records (the rest of
/// the trail is not read). The record's body is checked against its `hash`.
///
/// # Errors
/// [`ErrorKind::Config`] when `index` is not below `size`; [`ErrorKind::Corrupt`]
/// when the trail holds fewer than `size` records, a line among them is not a
/// record, a `seq` is not the next, or the record's body does not hash to its
/// `hash`; [`ErrorKind::Io`] when a segment cannot be read.
pub fn prove_inclusion(stream: &Stream, index: u64, size: u64) -> Result<StreamProof> {
    let mut builder = ProofBuilder::inclusion(index, size)?;
    let mut record = None;
    let origin = feed(stream, &mut builder, |r| {
        if r.seq == index {
            record_line(&r.raw).map_err(|e| e.at(stream.dir().join(&*r.segment)).line(r.line))?;
            record = Some(r.clone());
        }
        Ok(())
    })?;
    Ok(StreamProof {
        proof: builder.finish()?,
        record,
        origin,
    })
}

/// The consistency proof from the stream's tree of `old_size` records to its tree
/// of `size` records (empty when `old_size` is 0 or `size`), with both roots, read
/// in one pass over the first `size` records.
///
/// # Errors
/// [`ErrorKind::Config`] when `old_size` is larger than `size`; otherwise as
/// [`prove_inclusion`].
pub fn prove_consistency(stream: &Stream, old_size: u64, size: u64) -> Result<StreamProof> {
    let mut builder = ProofBuilder::consistency(old_size, size)?;
    let origin = feed(stream, &mut builder, |_| Ok(()))?;
    Ok(StreamProof {
        proof: builder.finish()?,
        record: None,
        origin,
    })
}

/// Feeds the leaf of each of the stream's first `builder.size()` records to
/// `builder`, calling `each` on each record first. Returns the stream's origin.
fn feed(
    stream: &Stream,
    builder: &mut ProofBuilder,
    mut each: impl FnMut(&Record) -> Result<()>,
) -> Result<Option<String>> {
    let size = builder.size();
    let mut origin = None;
    let mut records = stream.records();
    while builder.pushed() < size {
        let expected = builder.pushed();
        let Some(item) = records.next() else {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected a tree of {size} records, found a trail of {expected}: records were cut off its end or the directory was rolled back (or this is another trail)"
                ),
            )
            .at(stream.dir()));
        };
        let r = match item {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::Io => return Err(e),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "{e}; the Merkle tree is unknown from this line on (expected record seq {expected}); run `audit verify`"
                    ),
                ));
            }
        };
        let at = || stream.dir().join(&*r.segment);
        if r.seq != expected {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected record seq {expected} (the tree's leaves are the records in seq order, gapless), found seq {}; run `audit verify`",
                    r.seq
                ),
            )
            .at(at())
            .line(r.line));
        }
        if origin.is_none() && r.kind == Some(RecordKind::Open) {
            origin = open_origin(&r);
        }
        each(&r)?;
        builder.push(merkle::leaf_hash(&r.hash))?;
    }
    Ok(origin)
}

/// The origin an `open` record names, if it carries a service and a stream id.
fn open_origin(r: &Record) -> Option<String> {
    let body = r.body().ok()?;
    let service = body.get("service")?.as_str()?;
    let stream = body.get("stream")?.as_str()?;
    Some(crate::writer::origin(service, stream))
}

/// What a record line says of itself, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordLine {
    /// The record's `seq`: its index in the stream's tree.
    pub seq: u64,
    /// The record's `hash`, which SHA-256 of its body was checked to equal: the
    /// data of its leaf in the stream's tree.
    pub hash: [u8; 32],
}

/// Reads one record line (as written in a segment, with or without its final
/// `\n`): checks that SHA-256 of its body is its `hash` (docs/FORMAT.md §2) and
/// reads its `seq`. The MAC is not checked (it needs the stream's key).
///
/// # Errors
/// [`ErrorKind::Corrupt`] when the line is not a record line (longer than
/// [`crate::MAX_LINE_BYTES`], without the hash and mac suffix, without a header) or
/// its body does not hash to its `hash` (the line was altered).
pub fn record_line(line: &[u8]) -> Result<RecordLine> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let corrupt = |m: String| Error::new(ErrorKind::Corrupt, m);
    if line.len() > crate::MAX_LINE_BYTES {
        return Err(corrupt(format!(
            "expected a record line of at most {} bytes, found {} bytes",
            crate::MAX_LINE_BYTES,
            line.len()
        )));
    }
    let parsed = split_line(line).map_err(corrupt)?;
    let mut h = Sha256::new();
    h.update(parsed.body_open);
    h.update(b"}");
    let body_hash: [u8; 32] = h.finalize().into();
    if body_hash != parsed.hash {
        return Err(corrupt(format!(
            "hash_mismatch: expected the record's body to hash to its hash {}, found {}: the line was altered",
            hex::encode(parsed.hash),
            hex::encode(body_hash)
        )));
    }
    let fields =
        header(parsed.body_open).map_err(|m| corrupt(format!("expected a record header: {m}")))?;
    Ok(RecordLine {
        seq: fields.seq,
        hash: parsed.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect()
    }

    fn build(mut b: ProofBuilder, leaves: &[[u8; 32]]) -> Proof {
        for l in leaves {
            b.push(*l).unwrap();
        }
        b.finish().unwrap()
    }

    /// Every inclusion proof of every tree up to 70 leaves is the one
    /// `merkle::inclusion_proof` computes from all the leaves.
    #[test]
    fn streamed_inclusion_proofs_equal_the_slice_ones() {
        for n in 1..=70u64 {
            let l = leaves(n);
            for m in 0..n {
                let p = build(ProofBuilder::inclusion(m, n).unwrap(), &l);
                assert_eq!(
                    p.hashes,
                    merkle::inclusion_proof(&l, m).unwrap(),
                    "{m} of {n}"
                );
                assert_eq!(p.root, merkle::root(&l));
                assert_eq!(p.leaf, Some(l[usize::try_from(m).unwrap()]));
                assert_eq!(p.old_root, None);
                assert_eq!(p.size, n);
            }
        }
    }

    /// Every consistency proof between trees up to 70 leaves is the one
    /// `merkle::consistency_proof` computes; from 0, none.
    #[test]
    fn streamed_consistency_proofs_equal_the_slice_ones() {
        for n in 0..=70u64 {
            let l = leaves(n);
            for m in 0..=n {
                let p = build(ProofBuilder::consistency(m, n).unwrap(), &l);
                let expected = if m == 0 {
                    Vec::new()
                } else {
                    merkle::consistency_proof(&l, m).unwrap()
                };
                assert_eq!(p.hashes, expected, "{m} -> {n}");
                assert_eq!(
                    p.old_root,
                    Some(merkle::root(&l[..usize::try_from(m).unwrap()]))
                );
                assert_eq!(p.root, merkle::root(&l));
                assert_eq!(p.leaf, None);
            }
        }
    }

    #[test]
    fn memory_is_a_few_subtrees_not_the_leaves() {
        // A tree of 2^40 leaves cannot be fed here, but its plan is O(log n).
        let b = ProofBuilder::inclusion(123_456_789_012, 1 << 40).unwrap();
        assert_eq!(b.ranges.len(), 40);
        let b = ProofBuilder::consistency(123_456_789_011, (1 << 40) - 3).unwrap();
        assert!(b.ranges.len() <= 2 * 40, "{}", b.ranges.len());
    }

    #[test]
    fn out_of_range_arguments_and_wrong_leaf_counts_are_errors() {
        let e = ProofBuilder::inclusion(5, 5).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.to_string().contains("less than the tree size 5, found 5"),
            "{e}"
        );
        let e = ProofBuilder::consistency(6, 5).unwrap_err();
        assert!(
            e.to_string().contains("at most the tree size 5, found 6"),
            "{e}"
        );

        let mut b = ProofBuilder::inclusion(0, 2).unwrap();
        b.push([1; 32]).unwrap();
        let e = b.clone().finish().unwrap_err();
        assert!(e.to_string().contains("expected 2 leaves, found 1"), "{e}");
        b.push([2; 32]).unwrap();
        let e = b.push([3; 32]).unwrap_err();
        assert!(
            e.to_string().contains("expected 2 leaves, found one more"),
            "{e}"
        );
    }

    #[test]
    fn a_record_line_is_checked_against_its_hash() {
        let body = br#"{"v":2,"seq":7,"ts":"2026-01-01T00:00:00.000000Z","epoch":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","kind":"event","x":1}"#;
        let hash: [u8; 32] = Sha256::digest(body).into();
        let mut line = body[..body.len() - 1].to_vec();
        line.extend_from_slice(
            format!(
                ",\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
                hex::encode(hash),
                "ab".repeat(32)
            )
            .as_bytes(),
        );
        assert_eq!(record_line(&line).unwrap(), RecordLine { seq: 7, hash });

        let altered: Vec<u8> = String::from_utf8(line.clone())
            .unwrap()
            .replacen("\"x\":1", "\"x\":2", 1)
            .into_bytes();
        let e = record_line(&altered).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().starts_with("hash_mismatch: "), "{e}");

        let e = record_line(b"{\"v\":2}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
    }
}
