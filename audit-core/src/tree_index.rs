//! A proof index of a stream's Merkle tree: inclusion and consistency proofs in
//! well under a millisecond for ten million records, instead of a pass over the
//! whole trail.
//!
//! # Overview
//!
//! A proof is the roots of at most 64 subtrees (docs/FORMAT.md §4.2). The index
//! keeps, in three files of 32-byte hashes, what makes any subtree's root cheap:
//!
//! - `L0`: every leaf hash (`SHA-256(0x00 ‖ record hash)`), 32 bytes a record;
//! - `L8`: the root of every complete, aligned subtree of 256 leaves;
//! - `L16`: the root of every complete, aligned subtree of 65 536 leaves.
//!
//! A complete aligned subtree of 2^j leaves is then hashed from at most 256
//! entries of one file (2^(j mod 8), or more above 2^24 leaves), and a proof from
//! about 800 hashes: [`TreeIndex::inclusion_proof`], [`TreeIndex::consistency_proof`].
//!
//! The index is derived data, kept outside the trail (by default under the
//! user's cache directory; see `audit prove --index`), brought up to date from the
//! trail by [`TreeIndex::update`], which reads only the records after those it
//! holds. It is **not trusted**: whoever uses a proof checks it against a signed
//! checkpoint ([`crate::merkle::verify_inclusion`]); `audit prove` does so before
//! printing one. A damaged index (a crash while it was written, an edit) is found
//! when opened (its files disagree) and rebuilt, or gives a proof that does not
//! verify.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::merkle::{self, leaf_hash, node_hash};
use crate::parse::{header, split_line};
use crate::segment::{LineReader, list_segments, segment_path};
use crate::storage::FileStorage;

/// Entries per block: the index keeps a level every 8 tree levels.
const BLOCK: u64 = 256;

/// The first line of the `stream` file.
const META: &str = "tracing-audit tree index v1";

/// The proof index of one stream (see the module documentation).
#[derive(Debug)]
pub struct TreeIndex {
    dir: PathBuf,
    files: [File; 3],
    /// Entries in each file.
    lens: [u64; 3],
    /// The last, incomplete block of `L0` and of `L8`.
    tails: [Vec<[u8; 32]>; 2],
}

impl TreeIndex {
    /// Opens (or creates, mode 0700) the index of stream `stream_id` in `dir`.
    /// Files that disagree (a crash while the index was written) are emptied and
    /// the next [`TreeIndex::update`] rebuilds them.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `dir` holds the index of another stream;
    /// [`ErrorKind::Io`] when it cannot be read or created.
    pub fn open(dir: &Path, stream_id: &str) -> Result<TreeIndex> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(dir, "cannot create the tree index directory", e))?;
        let meta_path = dir.join("stream");
        let meta = format!("{META}\n{stream_id}\n");
        // Never through a symlink, never blocking on a FIFO, bounded.
        match crate::storage::read_small_file(&meta_path, 4096) {
            Ok(Some(bytes)) if bytes == meta.as_bytes() => {}
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "expected the tree index of stream {stream_id}, found {:?}: give another index directory",
                        text.lines().nth(1).unwrap_or("no stream")
                    ),
                )
                .at(&meta_path));
            }
            Ok(None) => {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&meta_path)
                    .and_then(|mut f| f.write_all(meta.as_bytes()))
                    .map_err(|e| Error::io(&meta_path, "cannot write", e))?;
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("expected the tree index of stream {stream_id}: {e}"),
                ));
            }
        }
        let open = |name: &str| -> Result<File> {
            let path = dir.join(name);
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| Error::io(&path, "cannot open the tree index", e))
        };
        let files = [open("L0")?, open("L8")?, open("L16")?];
        let mut lens = [0u64; 3];
        for (len, f) in lens.iter_mut().zip(&files) {
            let bytes = f
                .metadata()
                .map_err(|e| Error::io(dir, "cannot read the tree index", e))?
                .len();
            *len = bytes / 32;
        }
        let mut index = TreeIndex {
            dir: dir.to_owned(),
            files,
            lens,
            tails: [Vec::new(), Vec::new()],
        };
        let whole = |n: u64, f: &File| f.metadata().map(|m| m.len() == n * 32);
        let consistent = lens[1] == lens[0] / BLOCK
            && lens[2] == lens[1] / BLOCK
            && index
                .files
                .iter()
                .zip(lens)
                .all(|(f, n)| whole(n, f).unwrap_or(false));
        if !consistent {
            for f in &index.files {
                f.set_len(0)
                    .map_err(|e| Error::io(dir, "cannot reset the tree index", e))?;
            }
            index.lens = [0; 3];
        }
        for level in 0..2 {
            let n = index.lens[level];
            let start = n - n % BLOCK;
            index.tails[level] = index.read(level, start, n - start)?;
        }
        Ok(index)
    }

    /// The number of leaves the index holds.
    pub fn size(&self) -> u64 {
        self.lens[0]
    }

    /// Appends the leaves of the stream's records after those the index holds,
    /// reading only the segments that hold them. Returns the new size.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] when a line of the trail is not a record or its `seq`
    /// is not the next (run `audit verify`); [`ErrorKind::Io`].
    pub fn update(&mut self, stream_dir: &Path) -> Result<u64> {
        let storage = FileStorage::new();
        let segments = list_segments(&storage, stream_dir)?;
        let next = self.size();
        let first = segments
            .iter()
            .rposition(|s| s.first_seq <= next)
            .unwrap_or(0);
        let mut buf: [Vec<u8>; 3] = Default::default();
        let mut expected = next;
        for name in &segments[first..] {
            let path = segment_path(stream_dir, name);
            let mut reader = LineReader::open(&storage, &path)?;
            while let Some(lines) = reader.next_batch()? {
                for line in lines.iter().filter(|l| l.terminated) {
                    let bad = |what: String| {
                        Error::new(ErrorKind::Corrupt, format!("{what} (run `audit verify`)"))
                            .at(&path)
                            .line(line.number)
                    };
                    let p = split_line(line.bytes).map_err(bad)?;
                    let h = header(p.body_open).map_err(bad)?;
                    if h.seq < expected {
                        continue;
                    }
                    if h.seq != expected {
                        return Err(bad(format!("expected seq {expected}, found seq {}", h.seq)));
                    }
                    expected += 1;
                    self.push(leaf_hash(&p.hash), &mut buf);
                }
            }
        }
        for (level, bytes) in buf.iter().enumerate() {
            let path = self.dir.join(["L0", "L8", "L16"][level]);
            let mut f = &self.files[level];
            f.write_all(bytes)
                .map_err(|e| Error::io(&path, "cannot write the tree index", e))?;
        }
        Ok(self.size())
    }

    fn push(&mut self, leaf: [u8; 32], buf: &mut [Vec<u8>; 3]) {
        let mut hash = leaf;
        for (level, (out, len)) in buf.iter_mut().zip(&mut self.lens).enumerate() {
            out.extend_from_slice(&hash);
            *len += 1;
            let Some(tail) = self.tails.get_mut(level) else {
                break;
            };
            tail.push(hash);
            if tail.len() as u64 != BLOCK {
                break;
            }
            hash = merkle::mth(tail);
            tail.clear();
        }
    }

    /// `count` entries of `level` (0, 1, 2 for `L0`, `L8`, `L16`) from `start`.
    fn read(&self, level: usize, start: u64, count: u64) -> Result<Vec<[u8; 32]>> {
        let len = usize::try_from(count * 32).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read {count} hashes of the tree index at once"),
            )
        })?;
        let mut bytes = vec![0u8; len];
        self.files[level]
            .read_exact_at(&mut bytes, start * 32)
            .map_err(|e| Error::io(&self.dir, "cannot read the tree index", e))?;
        Ok(bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }

    /// The root of the leaves `[lo, hi)`: RFC 9162 `MTH(D[lo:hi])`.
    fn mth_range(&self, lo: u64, hi: u64) -> Result<[u8; 32]> {
        let n = hi - lo;
        if n == 0 {
            return Ok(merkle::EMPTY_ROOT);
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let j = n.trailing_zeros();
            let (level, shift) = match j {
                16.. => (2, 16),
                8..=15 => (1, 8),
                _ => (0, 0),
            };
            // In the tails when not yet written out: they are in `lens` already.
            return Ok(merkle::mth(&self.read(level, lo >> shift, n >> shift)?));
        }
        let k = 1u64 << (n - 1).ilog2();
        Ok(node_hash(
            &self.mth_range(lo, lo + k)?,
            &self.mth_range(lo + k, hi)?,
        ))
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "expected a tree size of at most {} (the leaves in the index; update it from the trail), found {size}",
                    self.size()
                ),
            ));
        }
        Ok(())
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the index holds fewer leaves; [`ErrorKind::Io`].
    pub fn root(&self, size: u64) -> Result<[u8; 32]> {
        self.check_size(size)?;
        self.mth_range(0, size)
    }

    /// The leaf hash at `index`.
    ///
    /// # Errors
    /// As [`TreeIndex::root`].
    pub fn leaf(&self, index: u64) -> Result<[u8; 32]> {
        self.check_size(index + 1)?;
        Ok(self.read(0, index, 1)?[0])
    }

    /// The inclusion proof of the leaf `index` in the tree of `size` leaves, as
    /// [`merkle::inclusion_proof`] gives it.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `index` is not below `size` or `size` is larger
    /// than the index; [`ErrorKind::Io`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>> {
        self.check_size(size)?;
        if index >= size {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle inclusion proof: expected a leaf index less than the tree size {size}, found {index}"
                ),
            ));
        }
        let mut proof = Vec::new();
        merkle::path_ranges(index, 0, size, &|lo, hi| self.mth_range(lo, hi), &mut proof)?;
        Ok(proof)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree of
    /// `size` leaves, as [`merkle::consistency_proof`] gives it (empty when the
    /// sizes are equal).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `old_size` is 0 (and `size` is not) or larger
    /// than `size`, or `size` is larger than the index; [`ErrorKind::Io`].
    pub fn consistency_proof(&self, old_size: u64, size: u64) -> Result<Vec<[u8; 32]>> {
        self.check_size(size)?;
        if old_size > size || (old_size == 0 && size > 0) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle consistency proof: expected an old size from 1 to the tree size {size}, found {old_size}"
                ),
            ));
        }
        let mut proof = Vec::new();
        if old_size < size {
            merkle::subproof_ranges(
                old_size,
                0,
                size,
                true,
                &|lo, hi| self.mth_range(lo, hi),
                &mut proof,
            )?;
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, inclusion_proof, root};
    use crate::{Event, Key, Writer, WriterConfig};

    #[test]
    fn proofs_from_the_index_are_those_over_every_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let trail = dir.path().join("trail");
        let mut w = Writer::open(
            WriterConfig::new(&trail, "svc", Key::from_bytes([1; 32]))
                .durability(crate::Durability::Never),
        )
        .unwrap();
        // Enough for complete L8 blocks and a partial one.
        let batch: Vec<crate::Entry> = (0..700).map(|_| Event::new("a.b").into()).collect();
        w.append(&batch).unwrap();
        let stream = w.stream_id().to_owned();
        w.close().unwrap();
        let idx_dir = dir.path().join("index");
        let mut index = TreeIndex::open(&idx_dir, &stream).unwrap();
        let n = index.update(&trail).unwrap();
        assert_eq!(n, 702);
        // The leaves, read the slow way.
        let leaves: Vec<[u8; 32]> = crate::Stream::open(&trail)
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                let text = r.text().unwrap().to_owned();
                let at = text.rfind(",\"hash\":\"").unwrap() + 9;
                let mut h = [0u8; 32];
                hex::decode_to_slice(&text[at..at + 64], &mut h).unwrap();
                leaf_hash(&h)
            })
            .collect();
        assert_eq!(leaves.len(), 702);
        for size in [1u64, 2, 255, 256, 257, 511, 512, 600, 702] {
            let l = &leaves[..usize::try_from(size).unwrap()];
            assert_eq!(index.root(size).unwrap(), root(l), "root {size}");
            for i in [0, size / 3, size - 1] {
                assert_eq!(
                    index.inclusion_proof(i, size).unwrap(),
                    inclusion_proof(l, i).unwrap(),
                    "inclusion {i} of {size}"
                );
            }
            for old in [1, size / 2, size] {
                let old = old.max(1);
                assert_eq!(
                    index.consistency_proof(old, size).unwrap(),
                    consistency_proof(l, old).unwrap(),
                    "consistency {old} -> {size}"
                );
            }
        }
        // Reopened, it carries on from where it stopped.
        drop(index);
        let mut w =
            Writer::open(WriterConfig::new(&trail, "svc", Key::from_bytes([1; 32]))).unwrap();
        w.append(&[Event::new("a.b").into()]).unwrap();
        w.close().unwrap();
        let mut index = TreeIndex::open(&idx_dir, &stream).unwrap();
        assert_eq!(index.size(), 702);
        let n = index.update(&trail).unwrap();
        assert_eq!(n, 705); // open, the event, seal
        assert!(TreeIndex::open(&idx_dir, "another").is_err());

        // A torn index (a crash in the middle of a write) is rebuilt.
        let l0 = idx_dir.join("L0");
        let len = std::fs::metadata(&l0).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&l0)
            .unwrap()
            .set_len(len - 40)
            .unwrap();
        let mut index = TreeIndex::open(&idx_dir, &stream).unwrap();
        assert_eq!(index.size(), 0);
        assert_eq!(index.update(&trail).unwrap(), 705);
    }
}
