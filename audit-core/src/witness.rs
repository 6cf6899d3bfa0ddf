//! A witness of logs' checkpoints (c2sp.org/tlog-witness): it cosigns a log's
//! checkpoint only when it is consistent with every checkpoint of that log it
//! cosigned before, so that a log cannot show two histories (a fork) or take back
//! what it published (a rollback) without one of them lacking the cosignature.
//!
//! # Overview
//!
//! [`WitnessStore`] keeps, per log origin, the latest checkpoint the witness
//! cosigned, in a directory the witness owns. [`WitnessStore::add_checkpoint`]
//! answers an `add-checkpoint` request ([`ConsistencyRequest`]: `old <size>`, a
//! consistency proof, the new signed checkpoint) as c2sp.org/tlog-witness says,
//! in this order:
//!
//! 1. the log's signature on the new checkpoint must verify
//!    ([`Refusal::Signature`], the specification's 403);
//! 2. with no state for the origin, the request must be `old 0`: the first
//!    checkpoint of a log is trusted on first use;
//! 3. with a state of size `S` and root `R`: a checkpoint of fewer than `S` leaves
//!    is a [`Refusal::Rollback`], one of `S` leaves and another root a
//!    [`Refusal::Fork`] (both are evidence against the log: keep the request);
//!    `old` must be `S` ([`Refusal::Conflict`], the 409, which tells the client the
//!    size to prove from); the proof must show the new tree extends `(S, R)`
//!    ([`Refusal::Proof`], the 422);
//! 4. the witness cosigns (`cosignature/v1`, [`note::cosign`]), stores the cosigned
//!    note as the origin's new state, durably, and only then returns it.
//!
//! A rollback or a fork is never cosigned. One process at a time holds the store
//! (an exclusive lock on `DIR/.lock`), so two requests cannot both pass step 3
//! against the same state.
//!
//! Requests reach a witness through a command (`audit witness add`, for example as
//! an ssh forced command) or through a [`spool`] directory that
//! `audit witness serve --spool` answers.
//!
//! # Files
//!
//! The directory (created with mode 0700 when missing) holds `.lock` and one file
//! per origin, named by the 64 lowercase hexadecimal digits of SHA-256(origin), so
//! that no origin can name a path. A state file (mode 0600) is the line
//! [`STATE_HEADER`] followed by the cosigned checkpoint note, verbatim: the log's
//! signature and the witness's cosignature. It is replaced atomically: a new file
//! beside it is written and fsynced, renamed over it, and the directory fsynced.
//! On reading, the note's origin must be the one the file is named after and the
//! witness's own cosignature must verify: a state file edited or moved by hand is
//! refused, not trusted.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::merkle;
//! use tracing_audit_core::note::{Checkpoint, ConsistencyRequest, Note, SigningKey, sign};
//! use tracing_audit_core::witness::{Refusal, Verdict, WitnessStore};
//!
//! let log = SigningKey::generate("example.com/log")?;
//! let witness = SigningKey::generate("witness.example")?;
//! let leaves: Vec<[u8; 32]> = (0u8..7).map(|i| merkle::leaf_hash(&[i])).collect();
//! let checkpoint = |n: usize| -> Result<Note, Box<dyn std::error::Error>> {
//!     let c = Checkpoint::new("example.com/log", n as u64, merkle::root(&leaves[..n]));
//!     Ok(Note::parse(&sign(&c.body()?, &log)?)?)
//! };
//!
//! let dir = tempfile::tempdir()?;
//! let store = WitnessStore::open(dir.path())?;
//! // First sight of the log: old 0, trusted on first use.
//! let first = ConsistencyRequest { old_size: 0, proof: vec![], checkpoint_note: checkpoint(4)? };
//! let Verdict::Cosigned { note, .. } = store.add_checkpoint(&first, &log.verifier(), &witness, 1_767_225_600)? else {
//!     panic!("refused");
//! };
//! assert_eq!(note.signatures().len(), 2);
//! // Then a larger tree, with the proof that it extends the one cosigned.
//! let next = ConsistencyRequest {
//!     old_size: 4,
//!     proof: merkle::consistency_proof(&leaves, 4)?,
//!     checkpoint_note: checkpoint(7)?,
//! };
//! assert!(matches!(
//!     store.add_checkpoint(&next, &log.verifier(), &witness, 1_767_225_601)?,
//!     Verdict::Cosigned { previous: Some((4, _)), .. }
//! ));
//! // The older checkpoint again: a rollback, refused.
//! let back = ConsistencyRequest { old_size: 0, proof: vec![], checkpoint_note: checkpoint(4)? };
//! assert!(matches!(
//!     store.add_checkpoint(&back, &log.verifier(), &witness, 1_767_225_602)?,
//!     Verdict::Refused(Refusal::Rollback { size: 4, stored_size: 7 })
//! ));
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! A refusal is not an error: it is a [`Verdict::Refused`]. Errors are
//! [`ErrorKind::Io`] (the directory or a state file cannot be read or written),
//! [`ErrorKind::Locked`] (another process held the store for longer than
//! [`LOCK_WAIT`]), [`ErrorKind::Corrupt`] (a state file that does not read back, is
//! of another origin, or lacks a valid cosignature by the witness) and
//! [`ErrorKind::Key`] (the witness key is the log's key).

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::merkle::{self, ProofError};
use crate::note::{
    self, Checkpoint, ConsistencyRequest, MAX_NOTE_BYTES, Note, SigningKey, VerifierKey,
};

pub mod spool;

/// The name a witness gives a log in file names (its state file, the spool's
/// requests and answers): the 64 lowercase hexadecimal digits of SHA-256 of the
/// log's origin, so that no origin can name a path.
pub fn origin_id(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// The first line of a state file.
pub const STATE_HEADER: &str = "tracing-audit witness state v1";

/// How long [`WitnessStore::open`] waits for another process to release the store.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The witness's state for one origin: the checkpoint it cosigned last.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WitnessState {
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash.
    pub root: [u8; 32],
    /// The cosigned checkpoint note, as returned when it was cosigned.
    pub note: Note,
}

/// Why a witness refused to cosign a checkpoint.
#[derive(Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// The log's signature on the checkpoint is missing or does not verify
    /// (c2sp.org/tlog-witness: 403 Forbidden).
    Signature(Error),
    /// The request's `old` size is not the size of the checkpoint the witness
    /// cosigned last (409 Conflict): the client must prove from `stored_size`.
    Conflict {
        /// The request's `old` size.
        old_size: u64,
        /// The size of the checkpoint the witness cosigned last (0 when none).
        stored_size: u64,
    },
    /// The checkpoint's tree is smaller than one the witness cosigned: the log
    /// took back records it had published.
    Rollback {
        /// The checkpoint's tree size.
        size: u64,
        /// The size of the checkpoint the witness cosigned last.
        stored_size: u64,
    },
    /// The checkpoint has the size of the one the witness cosigned last, and
    /// another root: the log signed two histories.
    Fork {
        /// The tree size of both.
        size: u64,
        /// The root the witness cosigned.
        stored_root: [u8; 32],
        /// The checkpoint's root.
        root: [u8; 32],
    },
    /// The consistency proof does not show that the checkpoint's tree extends the
    /// one the witness cosigned last (422 Unprocessable Entity).
    Proof(ProofError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Signature(e) => write!(f, "the log's signature does not verify: {e}"),
            Refusal::Conflict {
                old_size,
                stored_size,
            } if *stored_size == 0 => write!(
                f,
                "conflict: the witness holds no checkpoint of this log, so expected `old 0`, found `old {old_size}`"
            ),
            Refusal::Conflict {
                old_size,
                stored_size,
            } => write!(
                f,
                "conflict: the witness cosigned a tree of {stored_size} records of this log last, so expected `old {stored_size}` and a proof from that size, found `old {old_size}`"
            ),
            Refusal::Rollback { size, stored_size } => write!(
                f,
                "rollback: the witness cosigned a tree of {stored_size} records of this log, the checkpoint has only {size}; not cosigned (keep the request: the log signed it)"
            ),
            Refusal::Fork {
                size,
                stored_root,
                root,
            } => write!(
                f,
                "fork: the witness cosigned the tree of {size} records with root {}, the checkpoint has root {} for the same size; not cosigned (keep the request: the log signed both)",
                hex::encode(stored_root),
                hex::encode(root)
            ),
            Refusal::Proof(e) => write!(
                f,
                "the consistency proof does not verify: {e}; not cosigned"
            ),
        }
    }
}

/// The answer to an `add-checkpoint` request.
#[derive(Debug)]
#[must_use]
pub enum Verdict {
    /// Cosigned: the checkpoint note with the witness's cosignature added, now the
    /// origin's state.
    Cosigned {
        /// The cosigned note.
        note: Note,
        /// The size and root of the checkpoint cosigned before, `None` when this
        /// was the first of the origin (trusted on first use).
        previous: Option<(u64, [u8; 32])>,
    },
    /// Not cosigned, and the state unchanged.
    Refused(Refusal),
}

/// A witness's state directory, held exclusively while this value lives (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct WitnessStore {
    dir: PathBuf,
    /// Holds the exclusive lock on `dir/.lock` until dropped.
    _lock: std::fs::File,
}

impl WitnessStore {
    /// Opens (creating it with mode 0700 when missing) the state directory `dir`
    /// and takes its lock, waiting up to [`LOCK_WAIT`] for another process to
    /// release it.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when `dir` is not a directory or cannot be created or
    /// locked; [`ErrorKind::Locked`] after waiting [`LOCK_WAIT`].
    pub fn open(dir: &Path) -> Result<WitnessStore> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    "expected the witness state directory, found a file that is not a directory",
                )
                .at(dir));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| Error::io(dir, "cannot create the witness state directory", e))?;
            }
            Err(e) => return Err(Error::io(dir, "cannot read the witness state directory", e)),
        }
        let lock_path = dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, "cannot open the witness lock file", e))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!(
                            "expected to lock the witness state, found it held by another process for over {} s",
                            LOCK_WAIT.as_secs()
                        ),
                    )
                    .at(&lock_path));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(&lock_path, "cannot lock the witness state", e));
                }
            }
        }
        Ok(WitnessStore {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The state file of `origin`: `DIR/<hex SHA-256(origin)>` ([`origin_id`]).
    pub fn state_path(&self, origin: &str) -> PathBuf {
        self.dir.join(origin_id(origin))
    }

    /// The state of `origin`, `None` when the witness never cosigned one of its
    /// checkpoints. The note's origin is checked, and the witness's cosignature
    /// with `witness` (its `cosignature/v1` key,
    /// [`SigningKey::cosignature_verifier`]).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::Corrupt`] when
    /// it is not a state file of `origin` cosigned by `witness`.
    pub fn state(&self, origin: &str, witness: &VerifierKey) -> Result<Option<WitnessState>> {
        let path = self.state_path(origin);
        let corrupt = |m: String| Error::new(ErrorKind::Corrupt, m).at(&path);
        let limit = STATE_HEADER.len() + 1 + MAX_NOTE_BYTES;
        let Some(bytes) = crate::storage::read_small_file(&path, limit)
            .map_err(|e| corrupt(format!("expected a witness state file: {e}")))?
        else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            corrupt("expected a witness state file (text), found binary content".to_owned())
        })?;
        let Some(note_text) = text
            .strip_prefix(STATE_HEADER)
            .and_then(|t| t.strip_prefix('\n'))
        else {
            return Err(corrupt(format!(
                "expected a witness state file starting with the line \"{STATE_HEADER}\", found another first line"
            )));
        };
        let note = Note::parse(note_text).map_err(|e| corrupt(e.to_string()))?;
        let checkpoint = Checkpoint::parse(note.body()).map_err(|e| corrupt(e.to_string()))?;
        if checkpoint.origin != origin {
            return Err(corrupt(format!(
                "expected the state of origin {origin:?}, found a checkpoint of another origin (a state file renamed or copied)"
            )));
        }
        note::verify_cosignature(&note, witness).map_err(|e| {
            corrupt(format!(
                "expected the stored checkpoint to carry this witness's cosignature, found: {e} (a state file edited, or another witness key)"
            ))
        })?;
        Ok(Some(WitnessState {
            size: checkpoint.size,
            root: checkpoint.root,
            note,
        }))
    }

    /// Answers an `add-checkpoint` request as a witness with the key `witness` of
    /// the log whose verifier key is `log`, cosigning at `timestamp` (seconds since
    /// the Unix epoch). See the [module documentation](self) for the checks, in
    /// order; on [`Verdict::Cosigned`] the new state is durable.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] when `witness` is the log's key or `log` is not a note
    /// key; [`ErrorKind::Corrupt`] for the request's note when it is not a
    /// checkpoint or for a stored state as [`WitnessStore::state`];
    /// [`ErrorKind::Io`] when the state cannot be read or written;
    /// [`ErrorKind::Encode`] when the cosigned note would be too large.
    pub fn add_checkpoint(
        &self,
        request: &ConsistencyRequest,
        log: &VerifierKey,
        witness: &SigningKey,
        timestamp: u64,
    ) -> Result<Verdict> {
        if witness.verifier() == *log {
            return Err(Error::new(
                ErrorKind::Key,
                "expected a witness key other than the log's key, found the log's own key (a log cannot witness itself)",
            ));
        }
        let checkpoint = request.checkpoint()?;
        if let Err(e) = request.checkpoint_note.verify(log) {
            return match e.kind() {
                ErrorKind::BadSignature | ErrorKind::NoSignature => {
                    Ok(Verdict::Refused(Refusal::Signature(e)))
                }
                _ => Err(e),
            };
        }
        let state = self.state(&checkpoint.origin, &witness.cosignature_verifier())?;
        let previous = state.as_ref().map(|s| (s.size, s.root));
        match &state {
            None if request.old_size != 0 => {
                return Ok(Verdict::Refused(Refusal::Conflict {
                    old_size: request.old_size,
                    stored_size: 0,
                }));
            }
            None => {}
            Some(s) => {
                if checkpoint.size < s.size {
                    return Ok(Verdict::Refused(Refusal::Rollback {
                        size: checkpoint.size,
                        stored_size: s.size,
                    }));
                }
                if checkpoint.size == s.size && checkpoint.root != s.root {
                    return Ok(Verdict::Refused(Refusal::Fork {
                        size: s.size,
                        stored_root: s.root,
                        root: checkpoint.root,
                    }));
                }
                if request.old_size != s.size {
                    return Ok(Verdict::Refused(Refusal::Conflict {
                        old_size: request.old_size,
                        stored_size: s.size,
                    }));
                }
                // Every tree extends the empty one: from 0 there is nothing to
                // prove (and the request holds no proof from 0).
                if s.size > 0
                    && let Err(e) = merkle::verify_consistency(
                        s.size,
                        checkpoint.size,
                        &s.root,
                        &checkpoint.root,
                        &request.proof,
                    )
                {
                    return Ok(Verdict::Refused(Refusal::Proof(e)));
                }
            }
        }
        let mut note = request.checkpoint_note.clone();
        note.add_signature(note::cosign(note.body(), witness, timestamp)?)?;
        self.store(&checkpoint.origin, &note)?;
        Ok(Verdict::Cosigned { note, previous })
    }

    /// Replaces the state file of `origin` with `note`, atomically and durably.
    fn store(&self, origin: &str, note: &Note) -> Result<()> {
        let path = self.state_path(origin);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self.dir.join(format!(".{name}.new"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, "cannot create the new witness state file", e))?;
        f.write_all(format!("{STATE_HEADER}\n{note}").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, "cannot write the new witness state file", e))?;
        drop(f);
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(&path, "cannot replace the witness state file", e))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&self.dir, "cannot fsync the witness state directory", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::sign;

    struct Log {
        key: SigningKey,
        leaves: Vec<[u8; 32]>,
    }

    impl Log {
        fn new(n: u8) -> Log {
            Log {
                key: SigningKey::from_seed("example.com/log", &[1; 32]).unwrap(),
                leaves: (0..n).map(|i| merkle::leaf_hash(&[i])).collect(),
            }
        }

        fn note(&self, size: usize, root: [u8; 32]) -> Note {
            let c = Checkpoint::new("example.com/log", size as u64, root);
            Note::parse(&sign(&c.body().unwrap(), &self.key).unwrap()).unwrap()
        }

        fn request(&self, old: usize, size: usize) -> ConsistencyRequest {
            let proof = if old == 0 {
                Vec::new()
            } else {
                merkle::consistency_proof(&self.leaves[..size], old as u64).unwrap()
            };
            ConsistencyRequest {
                old_size: old as u64,
                proof,
                checkpoint_note: self.note(size, merkle::root(&self.leaves[..size])),
            }
        }
    }

    fn witness() -> SigningKey {
        SigningKey::from_seed("witness.example", &[2; 32]).unwrap()
    }

    fn add(store: &WitnessStore, log: &Log, r: &ConsistencyRequest) -> Verdict {
        store
            .add_checkpoint(r, &log.key.verifier(), &witness(), 1_767_225_600)
            .unwrap()
    }

    #[test]
    fn each_refusal_leaves_the_state_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let store = WitnessStore::open(dir.path()).unwrap();
        let log = Log::new(9);
        // No state: only old 0.
        assert!(matches!(
            add(&store, &log, &log.request(3, 5)),
            Verdict::Refused(Refusal::Conflict {
                old_size: 3,
                stored_size: 0
            })
        ));
        assert!(matches!(
            add(&store, &log, &log.request(0, 5)),
            Verdict::Cosigned { previous: None, .. }
        ));
        let stored = || {
            store
                .state("example.com/log", &witness().cosignature_verifier())
                .unwrap()
                .unwrap()
        };
        let before = stored();
        assert_eq!(before.size, 5);

        let mut bad_proof = log.request(5, 8);
        bad_proof.proof[0][0] ^= 1;
        let mut fork = log.request(5, 5);
        fork.checkpoint_note = log.note(5, [9; 32]);
        let other = SigningKey::from_seed("example.com/log", &[3; 32]).unwrap();
        let mut forged = log.request(5, 8);
        forged.checkpoint_note =
            Note::parse(&sign(forged.checkpoint_note.body(), &other).unwrap()).unwrap();
        type Expected = fn(&Refusal) -> bool;
        let cases: Vec<(ConsistencyRequest, Expected)> = vec![
            (log.request(0, 4), |r| {
                matches!(
                    r,
                    Refusal::Rollback {
                        size: 4,
                        stored_size: 5
                    }
                )
            }),
            (fork, |r| matches!(r, Refusal::Fork { size: 5, .. })),
            (log.request(4, 8), |r| {
                matches!(
                    r,
                    Refusal::Conflict {
                        old_size: 4,
                        stored_size: 5
                    }
                )
            }),
            (bad_proof, |r| matches!(r, Refusal::Proof(_))),
            (forged, |r| matches!(r, Refusal::Signature(_))),
        ];
        for (request, expected) in cases {
            match add(&store, &log, &request) {
                Verdict::Refused(r) => assert!(expected(&r), "{r}"),
                Verdict::Cosigned { .. } => panic!("cosigned {request:?}"),
            }
            assert_eq!(stored(), before);
        }
        // The same checkpoint again is cosigned again; then a consistent larger one.
        assert!(matches!(
            add(&store, &log, &log.request(5, 5)),
            Verdict::Cosigned {
                previous: Some((5, _)),
                ..
            }
        ));
        assert!(matches!(
            add(&store, &log, &log.request(5, 9)),
            Verdict::Cosigned {
                previous: Some((5, _)),
                ..
            }
        ));
        assert_eq!(stored().size, 9);
    }

    #[test]
    fn a_state_file_edited_or_renamed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = WitnessStore::open(dir.path()).unwrap();
        let log = Log::new(5);
        assert!(matches!(
            add(&store, &log, &log.request(0, 5)),
            Verdict::Cosigned { .. }
        ));
        let path = store.state_path("example.com/log");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("tracing-audit witness state v1\nexample.com/log\n5\n"));
        let w = witness().cosignature_verifier();

        // Renamed to another origin's name.
        std::fs::copy(&path, store.state_path("example.com/other")).unwrap();
        let e = store.state("example.com/other", &w).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().contains("another origin"), "{e}");

        // The root edited (and the log's signature with it, which the witness
        // cannot check without the log's key): the cosignature fails.
        let mut note = Note::parse(
            text.strip_prefix(STATE_HEADER)
                .unwrap()
                .strip_prefix('\n')
                .unwrap(),
        )
        .unwrap();
        let c = Checkpoint::parse(note.body()).unwrap();
        let forged = Checkpoint::new(c.origin, 5, [7; 32]);
        let cos = note.signatures()[1].clone();
        note = Note::parse(&sign(&forged.body().unwrap(), &log.key).unwrap()).unwrap();
        note.add_signature(cos).unwrap();
        std::fs::write(&path, format!("{STATE_HEADER}\n{note}")).unwrap();
        let e = store.state("example.com/log", &w).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().contains("this witness's cosignature"), "{e}");
        // …and the witness refuses to answer rather than trust it.
        let e = store
            .add_checkpoint(&log.request(5, 5), &log.key.verifier(), &witness(), 1)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);

        std::fs::write(&path, "hello\n").unwrap();
        let e = store.state("example.com/log", &w).unwrap_err();
        assert!(e.to_string().contains("starting with the line"), "{e}");
    }

    #[test]
    fn the_log_key_cannot_witness_itself_and_a_second_store_waits() {
        let dir = tempfile::tempdir().unwrap();
        let store = WitnessStore::open(dir.path()).unwrap();
        let log = Log::new(5);
        let e = store
            .add_checkpoint(&log.request(0, 5), &log.key.verifier(), &log.key, 1)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Key);

        // While `store` lives, another open waits, then succeeds once it is dropped.
        let path = dir.path().to_path_buf();
        let t = std::thread::spawn(move || WitnessStore::open(&path).map(|_| ()));
        std::thread::sleep(Duration::from_millis(200));
        assert!(!t.is_finished());
        drop(store);
        t.join().unwrap().unwrap();
    }
}
