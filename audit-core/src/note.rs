//! C2SP signed notes, transparency-log checkpoints, witness cosignatures and proof
//! files, with Ed25519 keys.
//!
//! # Overview
//!
//! These are the text formats of the transparency-log ecosystem (Go's checksum
//! database, Sigstore, Certificate Transparency's static logs, the public witness
//! network), implemented from the C2SP specifications:
//!
//! - [c2sp.org/signed-note](https://c2sp.org/signed-note): a text and one or more
//!   signature lines ([`Note`], [`sign`], [`Note::verify`]), with signer keys
//!   ([`SigningKey`]) and verifier keys ([`VerifierKey`]) in the encodings of
//!   `golang.org/x/mod/sumdb/note`.
//! - [c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint): the note text
//!   that commits to a log's Merkle tree ([`Checkpoint`]).
//! - [c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature): a witness's
//!   timestamped Ed25519 signature of a checkpoint, `cosignature/v1` ([`cosign`],
//!   [`verify_cosignature`]).
//! - [c2sp.org/tlog-proof](https://c2sp.org/tlog-proof): an inclusion proof with its
//!   signed checkpoint, verifiable offline ([`InclusionProofFile`]).
//! - [c2sp.org/tlog-witness](https://c2sp.org/tlog-witness): the body of an
//!   `add-checkpoint` request, a consistency proof and a checkpoint
//!   ([`ConsistencyRequest`]).
//!
//! The Merkle hashes and proofs themselves are computed and checked by
//! [`crate::merkle`]; this module only reads and writes the texts and signs and
//! verifies them.
//!
//! # Formats
//!
//! Base64 is the standard alphabet with padding (RFC 4648, section 4), decoded
//! strictly: a non-canonical encoding is refused, so every text this module reads
//! it writes back byte for byte. `‖` is concatenation. Every line ends with a
//! newline (U+000A).
//!
//! **Key id.** The first four bytes, read as a big-endian `u32`, of
//! `SHA-256(key name ‖ 0x0A ‖ signature type ‖ 32-byte Ed25519 public key)`, where
//! the signature type is `0x01` for note signatures and `0x04` for `cosignature/v1`
//! witness cosignatures ([`SignatureType`]). Written as 8 lowercase hexadecimal
//! digits. A key name is non-empty and has no Unicode space and no `+`.
//!
//! **Signer key file** (secret; mode 0600 or 0400, one line and an optional
//! newline), as `golang.org/x/mod/sumdb/note` writes it:
//!
//! ```text
//! PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ 32-byte Ed25519 seed)>
//! ```
//!
//! The key id is that of the type `0x01` public key. The same file can serve a
//! witness: [`SigningKey::cosignature_verifier`] gives its type `0x04` key.
//!
//! **Verifier key** (public; one line, an optional newline in a file):
//!
//! ```text
//! <name>+<key id>+<base64(signature type ‖ 32-byte Ed25519 public key)>
//! ```
//!
//! **Signed note**: the text, which ends with a newline; an empty line; one or more
//! signature lines. At most [`MAX_NOTE_BYTES`] bytes and [`MAX_SIGNATURES`]
//! signature lines; valid UTF-8 without ASCII control characters other than the
//! newline. The text may contain empty lines: the *last* empty line separates it
//! from the signatures.
//!
//! ```text
//! <text, each line ending with a newline>
//!
//! — <key name> <base64(4-byte big-endian key id ‖ signature)>
//! ```
//!
//! The em dash is U+2014, followed by one space. A type `0x01` signature is the
//! 64-byte Ed25519 signature of the text, its final newline included (not the empty
//! line). Verifiers ignore the lines of keys they do not know.
//!
//! **Checkpoint**: the text of a signed note, at least three non-empty lines:
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zero>
//! <base64 of the 32-byte RFC 6962 root hash>
//! [<extension line>…]
//! ```
//!
//! **Cosignature** (`cosignature/v1`): a signature line of a witness key (key id of
//! type `0x04`) whose signature is `8-byte big-endian timestamp ‖ 64-byte Ed25519
//! signature` (so 4 + 8 + 64 = 76 bytes in the base64), the timestamp in seconds
//! since the Unix epoch, at most 2⁶³ − 1. The signed message is
//!
//! ```text
//! cosignature/v1
//! time <timestamp, decimal, no leading zero>
//! <the checkpoint text, its final newline included>
//! ```
//!
//! **Proof file** (`.tlog-proof`), as c2sp.org/tlog-proof specifies it: at most one
//! `extra` line (opaque, unauthenticated data), the zero-based index of the entry,
//! its inclusion proof from the leaf's sibling up to the root's child (at most
//! [`MAX_INCLUSION_HASHES`] lines), an empty line, and the signed checkpoint note,
//! verbatim. At most [`MAX_PROOF_BYTES`] bytes.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64 of at least one byte>]
//! index <decimal, no leading zero>
//! <base64 of a 32-byte hash>…
//!
//! <signed checkpoint note>
//! ```
//!
//! **Consistency request**, the body of the `add-checkpoint` request of
//! c2sp.org/tlog-witness: the size of the witness's previous checkpoint, the RFC 6962
//! consistency proof from that size to the new checkpoint's (at most
//! [`MAX_CONSISTENCY_HASHES`] lines, none when the old size is 0), an empty line,
//! and the signed checkpoint note.
//!
//! ```text
//! old <decimal, no leading zero>
//! <base64 of a 32-byte hash>…
//!
//! <signed checkpoint note>
//! ```
//!
//! # Example
//!
//! A log signs a checkpoint; a witness cosigns it; a client checks both.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::note::{Checkpoint, Note, SigningKey, cosign, sign, verify_cosignature};
//!
//! let log_key = SigningKey::generate("example.com/audit-log")?;
//! let witness_key = SigningKey::generate("witness.example/w1")?;
//!
//! // The log.
//! let checkpoint = Checkpoint::new("example.com/audit-log", 3, [7; 32]);
//! let signed = sign(&checkpoint.body()?, &log_key)?;
//!
//! // The witness checks the log's signature, then cosigns.
//! let mut note = Note::parse(&signed)?;
//! note.verify(&log_key.verifier())?;
//! let line = cosign(note.body(), &witness_key, 1_767_225_600)?;
//! note.add_signature(line)?;
//!
//! // A client that trusts both keys.
//! let note = Note::parse(&note.to_string())?;
//! note.verify(&log_key.verifier())?;
//! let when = verify_cosignature(&note, &witness_key.cosignature_verifier())?;
//! assert_eq!(when, 1_767_225_600);
//! assert_eq!(Checkpoint::parse(note.body())?, checkpoint);
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Malformed texts are [`ErrorKind::Corrupt`], malformed or misplaced keys
//! [`ErrorKind::Key`]. Verification tells apart a note that carries no signature by
//! the key ([`ErrorKind::NoSignature`]) from one whose signature by the key does not
//! verify ([`ErrorKind::BadSignature`]: the text or the signature was altered). A
//! value that cannot be written in a format (an empty origin, a timestamp over
//! 2⁶³ − 1) is [`ErrorKind::Encode`]. Messages say what was expected and what was
//! found, with the line: of the text given (`note line 4: …`), or of the file.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// The largest signed note read or written, in bytes (1 MiB).
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines a note may carry (c2sp.org/signed-note requires at
/// least 16 be accepted; `golang.org/x/mod/sumdb/note` refuses more than 100).
pub const MAX_SIGNATURES: usize = 100;

/// The most hashes in the inclusion proof of a proof file: a tree of fewer than
/// 2⁶⁴ leaves is at most 64 levels deep.
pub const MAX_INCLUSION_HASHES: usize = 64;

/// The most hashes in a consistency request (c2sp.org/tlog-witness: "The client
/// MUST NOT send more than 63 consistency proof lines").
pub const MAX_CONSISTENCY_HASHES: usize = 63;

/// The largest proof file read or written, in bytes (2 MiB: a note and room for the
/// proof and the extra data).
pub const MAX_PROOF_BYTES: usize = 2 * MAX_NOTE_BYTES;

/// The first line of a proof file.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The first line of the message a `cosignature/v1` witness signs.
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// What starts every signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// What starts a signer key.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// The largest key file read: a key is about 100 bytes and its name.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The largest timestamp of a cosignature (c2sp.org/tlog-cosignature).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The signature type byte of a key: what it signs and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 signatures of the note text (c2sp.org/signed-note).
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignatures of a checkpoint,
    /// `cosignature/v1` (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The type byte: `0x01` or `0x04`.
    pub fn id(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    fn from_id(id: u8) -> Option<SignatureType> {
        match id {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SignatureType::Ed25519 => "an Ed25519 note key (type 0x01)",
            SignatureType::CosignatureV1 => "a cosignature/v1 witness key (type 0x04)",
        }
    }
}

// ---------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------

/// An Ed25519 signing key with its key name: a log's note signer, or a witness.
///
/// Its file is the one line `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`
/// (see the [module documentation](self#formats)), readable by its owner only. The
/// key material is erased from memory when the key is dropped; `Debug` shows the
/// name and key id only.
///
/// Use a key either as a log's key or as a witness's, not both: the `cosignature/v1`
/// message is itself a possible note text. [`sign`] refuses to sign a text that
/// starts like one.
///
/// # Example
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::note::{SigningKey, VerifierKey};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("log.key");
/// SigningKey::generate("example.com/log")?.write_new_files(&path)?;
/// let key = SigningKey::from_file(&path)?;
/// let public = VerifierKey::from_file(&dir.path().join("log.key.pub"))?;
/// assert_eq!(key.verifier(), public);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
    key_id: u32,
    cosignature_key_id: u32,
}

impl SigningKey {
    /// A fresh key from the operating system's random generator.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] when the name is not a key name (empty, or with a space or
    /// a `+`) or the operating system cannot provide randomness.
    pub fn generate(name: &str) -> Result<SigningKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).map_err(|e| {
            Error::new(
                ErrorKind::Key,
                format!("cannot get random bytes for a signing key: {e}"),
            )
        })?;
        SigningKey::from_seed(name, &seed)
    }

    /// The key of a 32-byte Ed25519 seed (RFC 8032's private key).
    ///
    /// # Errors
    /// [`ErrorKind::Key`] when the name is not a key name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SigningKey> {
        check_name(name).map_err(|m| Error::new(ErrorKind::Key, m))?;
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = key.verifying_key().to_bytes();
        Ok(SigningKey {
            name: name.to_owned(),
            key_id: key_id(name, SignatureType::Ed25519, &public),
            cosignature_key_id: key_id(name, SignatureType::CosignatureV1, &public),
            key,
        })
    }

    /// Parses a signer key, `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`,
    /// with at most one final newline.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] saying which part is wrong and what it should be. The
    /// messages show no part of the text: a malformed key may hold key material
    /// anywhere.
    pub fn parse(text: &str) -> Result<SigningKey> {
        SigningKey::parse_inner(text).map_err(|m| Error::new(ErrorKind::Key, m))
    }

    fn parse_inner(text: &str) -> std::result::Result<SigningKey, String> {
        const EXPECTED: &str =
            "expected a signer key, \"PRIVATE+KEY+<name>+<key id>+<base64>\" on one line";
        let line = strip_newline(text);
        if line.contains('\n') {
            return Err(format!("{EXPECTED}, found {} lines", line.lines().count()));
        }
        let Some(rest) = line.strip_prefix(PRIVATE_PREFIX) else {
            let found = if VerifierKey::parse(line).is_ok() {
                "a verifier key (the public half of a key)".to_owned()
            } else {
                format!(
                    "text that does not start with \"PRIVATE+KEY+\" ({} characters)",
                    line.chars().count()
                )
            };
            return Err(format!("{EXPECTED}, found {found}"));
        };
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "{EXPECTED}, found {} '+'-separated parts after \"PRIVATE+KEY+\"",
                rest.split('+').count()
            ));
        };
        // Nothing of a signer key is shown in an error: when it is malformed, any
        // part may hold key material.
        if check_name(name).is_err() {
            return Err(format!(
                "{EXPECTED}, found a key name that is empty or holds a space, a '+' or a control character ({} characters)",
                name.chars().count()
            ));
        }
        let Ok(id) = parse_key_id(id_hex) else {
            return Err(format!(
                "{EXPECTED}, found a key id that is not 8 hexadecimal digits ({} characters)",
                id_hex.chars().count()
            ));
        };
        let bytes = Zeroizing::new(BASE64.decode(b64).map_err(|e| {
            format!(
                "expected the key as standard base64 after the key id, found invalid base64 ({e})"
            )
        })?);
        if bytes.len() != 33 {
            return Err(format!(
                "expected 33 bytes after the key id (the type byte 0x01 and a 32-byte Ed25519 seed), found {}",
                bytes.len()
            ));
        }
        if bytes[0] != SignatureType::Ed25519.id() {
            return Err(format!(
                "expected the key type byte 0x01 (Ed25519), found 0x{:02x}",
                bytes[0]
            ));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[1..]);
        let key = SigningKey::from_seed(name, &seed).map_err(|e| e.to_string())?;
        if key.key_id != id {
            return Err(format!(
                "expected the key id {:08x} of this name and key, found another",
                key.key_id
            ));
        }
        Ok(key)
    }

    /// Reads a signer key file, refusing one that group or others may read or write,
    /// and anything that is not a regular file (a FIFO would block the read).
    ///
    /// # Errors
    /// [`ErrorKind::Key`] for loose permissions, a file that is not regular, too
    /// large, or not a signer key; [`ErrorKind::Io`] when it cannot be read. The
    /// errors name the file.
    pub fn from_file(path: &Path) -> Result<SigningKey> {
        let bytes = read_bounded(path, &KEY_FILE, true)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::new(
                ErrorKind::Key,
                format!(
                    "expected a signer key, \"PRIVATE+KEY+<name>+<key id>+<base64>\" on one line, found binary content ({} bytes)",
                    bytes.len()
                ),
            )
            .at(path)
        })?;
        SigningKey::parse(text).map_err(|e| e.at(path))
    }

    /// Writes the signer key to a new file `path` (mode 0600) and its verifier key
    /// ([`SigningKey::verifier`]) to a new file beside it named `path` followed by
    /// `.pub` (mode 0644 less the umask), each one line; syncs both and the
    /// directory. Refuses to overwrite either file; when the second cannot be
    /// created, the first is removed again.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when a file exists or cannot be written.
    pub fn write_new_files(&self, path: &Path) -> Result<()> {
        let pub_path = pub_path(path);
        let mut secret = self.private_text();
        secret.push('\n');
        write_new(path, secret.as_bytes(), 0o600, "signer key file")?;
        let public = format!("{}\n", self.verifier());
        if let Err(e) = write_new(&pub_path, public.as_bytes(), 0o644, "verifier key file") {
            return Err(match std::fs::remove_file(path) {
                Ok(()) => e,
                Err(r) => Error::new(
                    ErrorKind::Io,
                    format!(
                        "{e}; and the signer key file {} written just before could not be removed: {r}",
                        path.display()
                    ),
                ),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, "cannot sync the directory of the new key files", e))
    }

    /// The signer key text, `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`,
    /// without a newline. Secret: erased from memory when dropped.
    pub fn private_text(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 33]);
        bytes[0] = SignatureType::Ed25519.id();
        bytes[1..].copy_from_slice(self.key.as_bytes());
        let b64 = Zeroizing::new(BASE64.encode(&bytes[..]));
        Zeroizing::new(format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name, self.key_id, *b64
        ))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key of this key's note signatures (type `0x01`).
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            signature_type: SignatureType::Ed25519,
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The verifier key of this key's `cosignature/v1` cosignatures (type `0x04`),
    /// for a key that serves as a witness.
    pub fn cosignature_verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            signature_type: SignatureType::CosignatureV1,
            key_id: self.cosignature_key_id,
            key: self.key.verifying_key(),
        }
    }

    fn note_signature(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A public key that verifies a name's signatures of one [`SignatureType`].
///
/// Its text is `<name>+<key id>+<base64(type ‖ 32-byte public key)>` (see the
/// [module documentation](self#formats)); [`fmt::Display`] writes it and
/// [`VerifierKey::parse`] reads it, checking that the key id is that of the name,
/// type and key.
///
/// # Example
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::note::{SignatureType, VerifierKey};
///
/// // The verifier key of the tests of golang.org/x/mod/sumdb/note.
/// let text = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// let key = VerifierKey::parse(text)?;
/// assert_eq!(key.name(), "PeterNeumann");
/// assert_eq!(key.key_id(), 0xc74f20a3);
/// assert_eq!(key.signature_type(), SignatureType::Ed25519);
/// assert_eq!(key.to_string(), text);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    signature_type: SignatureType,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// The verifier key of a name, a signature type and a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] when the name is not a key name, or the bytes are not a
    /// usable Ed25519 public key (not on the curve, or of small order).
    pub fn new(
        name: &str,
        signature_type: SignatureType,
        public_key: &[u8; 32],
    ) -> Result<VerifierKey> {
        VerifierKey::new_inner(name, signature_type, public_key)
            .map_err(|m| Error::new(ErrorKind::Key, m))
    }

    fn new_inner(
        name: &str,
        signature_type: SignatureType,
        public_key: &[u8; 32],
    ) -> std::result::Result<VerifierKey, String> {
        check_name(name)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).map_err(|_| {
            "expected an Ed25519 public key, found 32 bytes that are not a point of the curve"
                .to_owned()
        })?;
        if key.is_weak() {
            return Err(
                "expected an Ed25519 public key, found a point of small order, under which forged signatures verify"
                    .to_owned(),
            );
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            signature_type,
            key_id: key_id(name, signature_type, public_key),
            key,
        })
    }

    /// Parses `<name>+<key id>+<base64(type ‖ public key)>`, with at most one final
    /// newline.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] saying which part is wrong, what was expected and found.
    pub fn parse(text: &str) -> Result<VerifierKey> {
        VerifierKey::parse_inner(text).map_err(|m| Error::new(ErrorKind::Key, m))
    }

    fn parse_inner(text: &str) -> std::result::Result<VerifierKey, String> {
        const EXPECTED: &str =
            "expected a verifier key, \"<name>+<key id>+<base64(type ‖ public key)>\" on one line";
        let line = strip_newline(text);
        if line.contains('\n') {
            return Err(format!("{EXPECTED}, found {} lines", line.lines().count()));
        }
        if line.starts_with(PRIVATE_PREFIX) {
            return Err(format!(
                "{EXPECTED}, found a signer key (PRIVATE+KEY+…): keep it secret and give the verifier key instead"
            ));
        }
        let mut parts = line.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{EXPECTED}, found {}", shown(line)));
        };
        check_name(name)?;
        let id = parse_key_id(id_hex)?;
        let bytes = BASE64.decode(b64).map_err(|e| {
            format!(
                "expected the key as standard base64 after the key id, found {} ({e})",
                shown(b64)
            )
        })?;
        if bytes.len() != 33 {
            return Err(format!(
                "expected 33 bytes after the key id (a type byte and a 32-byte Ed25519 public key), found {}",
                bytes.len()
            ));
        }
        let Some(signature_type) = SignatureType::from_id(bytes[0]) else {
            return Err(format!(
                "expected the key type byte 0x01 (Ed25519 note signatures) or 0x04 (cosignature/v1), found 0x{:02x}",
                bytes[0]
            ));
        };
        let mut public = [0u8; 32];
        public.copy_from_slice(&bytes[1..]);
        let key = VerifierKey::new_inner(name, signature_type, &public)?;
        if key.key_id != id {
            return Err(format!(
                "expected the key id {:08x} of this name, type and key, found {id_hex}",
                key.key_id
            ));
        }
        Ok(key)
    }

    /// Reads a verifier key file: the key on one line, at most one newline after it.
    /// Anything that is not a regular file is refused without being opened for long.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] for a file that is not regular, too large or not a verifier
    /// key; [`ErrorKind::Io`] when it cannot be read. The errors name the file.
    pub fn from_file(path: &Path) -> Result<VerifierKey> {
        let bytes = read_bounded(path, &VERIFIER_FILE, false)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::new(
                ErrorKind::Key,
                format!(
                    "expected a verifier key, \"<name>+<key id>+<base64>\" on one line, found binary content ({} bytes)",
                    bytes.len()
                ),
            )
            .at(path)
        })?;
        VerifierKey::parse(text).map_err(|e| e.at(path))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first four bytes of `SHA-256(name ‖ 0x0A ‖ type ‖ key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// What this key verifies: note signatures or witness cosignatures.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; 33];
        bytes[0] = self.signature_type.id();
        bytes[1..].copy_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(bytes)
        )
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<VerifierKey> {
        VerifierKey::parse(s)
    }
}

// ---------------------------------------------------------------------------------
// Signed notes
// ---------------------------------------------------------------------------------

/// One signature line of a note: `— <key name> <base64(key id ‖ signature)>`.
///
/// Its [`fmt::Display`] is the line without its newline. A witness's answer to
/// `add-checkpoint` is such lines, each followed by a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one signature line, with or without its newline.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] saying what was expected and found.
    pub fn parse_line(line: &str) -> Result<NoteSignature> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.contains('\n') {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected one signature line, found {} lines",
                    line.lines().count()
                ),
            ));
        }
        if let Err(b) = check_controls(line, 1) {
            return Err(b.in_text("signature"));
        }
        parse_signature(line).map_err(|m| Error::new(ErrorKind::Corrupt, m))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, the first four bytes of the base64.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The bytes after the key id: a 64-byte Ed25519 signature, or for a
    /// cosignature the 8-byte timestamp and the signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        write!(
            f,
            "{SIGNATURE_PREFIX}{} {}",
            self.name,
            BASE64.encode(bytes)
        )
    }
}

/// A signed note: a text and its signature lines, parsed but not verified.
///
/// [`Note::parse`] checks the syntax of c2sp.org/signed-note and keeps every
/// signature line, known or not, in order; [`fmt::Display`] writes the note back
/// byte for byte. [`Note::verify`] and [`verify_cosignature`] check the lines of one
/// key and ignore the others.
///
/// The text is not to be trusted before a signature by a trusted key verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note: at most [`MAX_NOTE_BYTES`] bytes and
    /// [`MAX_SIGNATURES`] signature lines, no ASCII control character other than the
    /// newline, the text ending with a newline, then an empty line and signature
    /// lines, each ending with a newline.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] naming the line of the note, what was expected there
    /// and what was found.
    pub fn parse(text: &str) -> Result<Note> {
        parse_note(text, 1).map_err(|b| b.in_text("note"))
    }

    /// The signed text (the note's body), its final newline included: what the
    /// signatures sign. For a checkpoint, what [`Checkpoint::parse`] reads.
    pub fn body(&self) -> &str {
        &self.text
    }

    /// The signature lines, in the order of the note.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the note's signature by `key`, a type `0x01` key: every line with the
    /// key's name and key id must hold a valid Ed25519 signature of the text, and
    /// there must be at least one. Lines of other keys are ignored.
    ///
    /// # Errors
    /// - [`ErrorKind::NoSignature`]: no line has the key's name and key id.
    /// - [`ErrorKind::BadSignature`]: such a line does not verify (the text or the
    ///   signature was altered, or another key shares the name and key id).
    /// - [`ErrorKind::Key`]: `key` is a witness key; use [`verify_cosignature`].
    pub fn verify(&self, key: &VerifierKey) -> Result<()> {
        expect_type(key, SignatureType::Ed25519, "verify_cosignature")?;
        let mut found = false;
        for (line, sig) in self.lines_of(key) {
            found = true;
            let bad = |what: String| {
                Error::new(
                    ErrorKind::BadSignature,
                    format!("note line {line}: the signature by {}: {what}", key.label()),
                )
                .line(line)
            };
            let Ok(bytes) = <[u8; 64]>::try_from(sig.signature.as_slice()) else {
                return Err(bad(format!(
                    "expected a 64-byte Ed25519 signature after the key id, found {} bytes",
                    sig.signature.len()
                )));
            };
            let signature = ed25519_dalek::Signature::from_bytes(&bytes);
            if key
                .key
                .verify_strict(self.text.as_bytes(), &signature)
                .is_err()
            {
                return Err(bad(
                    "does not verify: the note text or the signature was altered".to_owned(),
                ));
            }
        }
        if found {
            Ok(())
        } else {
            Err(self.no_signature(key))
        }
    }

    /// Signs the text with `key` and adds the signature line, replacing an earlier
    /// line of the same key (see [`Note::add_signature`]).
    ///
    /// # Errors
    /// As [`sign`] and [`Note::add_signature`].
    pub fn sign(&mut self, key: &SigningKey) -> Result<()> {
        check_signable(&self.text).map_err(|b| b.in_text("note text"))?;
        self.add_signature(key.note_signature(&self.text))
    }

    /// Adds a signature line after the others, for example a witness's cosignature
    /// ([`cosign`]). A line with the same key name and key id is replaced (a newer
    /// cosignature replaces the older one); the other lines are kept as they are.
    ///
    /// The line is not verified: verify a cosignature from elsewhere with
    /// [`verify_cosignature`] before publishing the note.
    ///
    /// # Errors
    /// [`ErrorKind::Encode`] when the note would have more than [`MAX_SIGNATURES`]
    /// lines or [`MAX_NOTE_BYTES`] bytes.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<()> {
        let mut signatures: Vec<NoteSignature> = self
            .signatures
            .iter()
            .filter(|s| s.name != signature.name || s.key_id != signature.key_id)
            .cloned()
            .collect();
        signatures.push(signature);
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::new(
                ErrorKind::Encode,
                format!(
                    "expected at most {MAX_SIGNATURES} signature lines in a note, found {} with the new one",
                    signatures.len()
                ),
            ));
        }
        let candidate = Note {
            text: self.text.clone(),
            signatures,
        };
        let len = candidate.to_string().len();
        if len > MAX_NOTE_BYTES {
            return Err(Error::new(
                ErrorKind::Encode,
                format!(
                    "expected a note of at most {MAX_NOTE_BYTES} bytes, found {len} bytes with the new signature"
                ),
            ));
        }
        *self = candidate;
        Ok(())
    }

    /// The signature lines of `key`'s name and key id, with their line numbers.
    fn lines_of<'a>(
        &'a self,
        key: &'a VerifierKey,
    ) -> impl Iterator<Item = (u64, &'a NoteSignature)> + 'a {
        let first = line_count(&self.text) + 2;
        (first..)
            .zip(&self.signatures)
            .filter(|(_, s)| s.name == key.name && s.key_id == key.key_id)
    }

    fn no_signature(&self, key: &VerifierKey) -> Error {
        const SHOWN: usize = 8;
        let mut by: Vec<String> = self
            .signatures
            .iter()
            .take(SHOWN)
            .map(|s| format!("{}+{:08x}", shown_raw(&s.name), s.key_id))
            .collect();
        if self.signatures.len() > SHOWN {
            by.push(format!("and {} more", self.signatures.len() - SHOWN));
        }
        let same_name = self.signatures.iter().any(|s| s.name == key.name);
        let hint = if same_name {
            " (a line has the name but another key id: signed by another key of that name)"
        } else {
            ""
        };
        Error::new(
            ErrorKind::NoSignature,
            format!(
                "expected a signature by {} ({}), found signatures by {} only{hint}",
                key.label(),
                key.signature_type.describe(),
                by.join(", ")
            ),
        )
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// Signs `text` with `key`: the signed note, `text`, an empty line and the
/// signature line.
///
/// # Errors
/// [`ErrorKind::Encode`] when the text does not end with a newline, holds an ASCII
/// control character other than the newline, would make a note over
/// [`MAX_NOTE_BYTES`], or starts with `cosignature/v1` and a newline (signing it
/// would forge a cosignature if the key also served as a witness's).
///
/// # Example
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::note::{Note, SigningKey, sign};
///
/// let key = SigningKey::generate("example.com/log")?;
/// let signed = sign("hello\n", &key)?;
/// assert!(signed.starts_with("hello\n\n— example.com/log "));
/// Note::parse(&signed)?.verify(&key.verifier())?;
/// # Ok(()) }
/// ```
pub fn sign(text: &str, key: &SigningKey) -> Result<String> {
    check_signable(text).map_err(|b| b.in_text("note text"))?;
    let note = Note {
        text: text.to_owned(),
        signatures: vec![key.note_signature(text)],
    };
    let out = note.to_string();
    if out.len() > MAX_NOTE_BYTES {
        return Err(Error::new(
            ErrorKind::Encode,
            format!(
                "expected a note of at most {MAX_NOTE_BYTES} bytes, found {} bytes once signed",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// A witness's `cosignature/v1` of a checkpoint: the signature line of `key`'s
/// witness key ([`SigningKey::cosignature_verifier`]), made at `timestamp` (seconds
/// since the Unix epoch), to add to the checkpoint's note
/// ([`Note::add_signature`]).
///
/// The witness states by it that, at that time, this was the largest tree it had
/// seen of the log and consistent with all it had seen: check the log's signature
/// and the consistency proof before cosigning.
///
/// # Errors
/// [`ErrorKind::Corrupt`] when `checkpoint_text` is not a checkpoint (see
/// [`Checkpoint::parse`]); [`ErrorKind::Encode`] when the timestamp is over
/// 2⁶³ − 1.
pub fn cosign(checkpoint_text: &str, key: &SigningKey, timestamp: u64) -> Result<NoteSignature> {
    Checkpoint::parse(checkpoint_text)?;
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::new(
            ErrorKind::Encode,
            format!("expected a cosignature timestamp of at most 2^63-1, found {timestamp}"),
        ));
    }
    let message = cosignature_message(timestamp, checkpoint_text);
    let mut signature = Vec::with_capacity(72);
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature.extend_from_slice(&key.key.sign(message.as_bytes()).to_bytes());
    Ok(NoteSignature {
        name: key.name.clone(),
        key_id: key.cosignature_key_id,
        signature,
    })
}

/// Checks the `cosignature/v1` of the witness `key` (a type `0x04` key) on a
/// checkpoint note and returns its timestamp, in seconds since the Unix epoch. If
/// the witness signed more than once, every one of its lines must verify; the
/// latest timestamp is returned. Lines of other keys are ignored.
///
/// # Errors
/// - [`ErrorKind::NoSignature`]: no line has the witness's name and key id.
/// - [`ErrorKind::BadSignature`]: such a line does not verify, is not 76 bytes, or
///   has a timestamp over 2⁶³ − 1.
/// - [`ErrorKind::Key`]: `key` is a note key; use [`Note::verify`].
pub fn verify_cosignature(note: &Note, key: &VerifierKey) -> Result<u64> {
    expect_type(key, SignatureType::CosignatureV1, "Note::verify")?;
    let mut latest = None;
    for (line, sig) in note.lines_of(key) {
        let bad = |what: String| {
            Error::new(
                ErrorKind::BadSignature,
                format!(
                    "note line {line}: the cosignature by {}: {what}",
                    key.label()
                ),
            )
            .line(line)
        };
        if sig.signature.len() != 72 {
            return Err(bad(format!(
                "expected 72 bytes after the key id (an 8-byte timestamp and a 64-byte Ed25519 signature), found {}",
                sig.signature.len()
            )));
        }
        let (time, rest) = sig.signature.split_at(8);
        let mut be = [0u8; 8];
        be.copy_from_slice(time);
        let timestamp = u64::from_be_bytes(be);
        if timestamp > MAX_TIMESTAMP {
            return Err(bad(format!(
                "expected a timestamp of at most 2^63-1, found {timestamp}"
            )));
        }
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(rest);
        let message = cosignature_message(timestamp, &note.text);
        if key
            .key
            .verify_strict(
                message.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&bytes),
            )
            .is_err()
        {
            return Err(bad(format!(
                "does not verify (timestamp {timestamp}): the checkpoint, the timestamp or the signature was altered"
            )));
        }
        latest = latest.max(Some(timestamp));
    }
    latest.ok_or_else(|| note.no_signature(key))
}

fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}")
}

fn expect_type(key: &VerifierKey, want: SignatureType, other: &str) -> Result<()> {
    if key.signature_type == want {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Key,
        format!(
            "expected {}, found {} for {}; use {other} for it",
            want.describe(),
            key.signature_type.describe(),
            key.label()
        ),
    ))
}

// ---------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------

/// The text of a checkpoint (c2sp.org/tlog-checkpoint): a log's origin, the size of
/// its Merkle tree and the tree's root hash, and optional extension lines.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::note::Checkpoint;
///
/// let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
/// let checkpoint = Checkpoint::parse(text)?;
/// assert_eq!(checkpoint.size, 20852163);
/// assert_eq!(checkpoint.body()?, text);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, for example `example.com/log42`: non-empty, one line.
    pub origin: String,
    /// The number of leaves of the tree.
    pub size: u64,
    /// The RFC 6962 root hash of the tree of `size` leaves ([`crate::merkle`]).
    pub root: [u8; 32],
    /// Opaque extension lines, each non-empty (their use is not recommended: log
    /// monitors cannot audit them).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: [u8; 32]) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The checkpoint's note text: the origin, the decimal size, the base64 root
    /// hash and the extension lines, each followed by a newline.
    ///
    /// # Errors
    /// [`ErrorKind::Encode`] when the origin or an extension line is empty or holds a
    /// newline or another ASCII control character: the text would not read back.
    pub fn body(&self) -> Result<String> {
        let check = |what: &str, line: &str| {
            if line.is_empty() {
                return Err(Error::new(
                    ErrorKind::Encode,
                    format!("expected a non-empty {what}, found an empty one"),
                ));
            }
            if let Some(c) = line.chars().find(|&c| c < ' ') {
                return Err(Error::new(
                    ErrorKind::Encode,
                    format!(
                        "expected the {what} to be one line without control characters, found {} in {}",
                        shown_char(c),
                        shown(line)
                    ),
                ));
            }
            Ok(())
        };
        check("origin", &self.origin)?;
        for e in &self.extensions {
            check("extension line", e)?;
        }
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses a checkpoint text (a note's [`Note::body`]), checking every rule of
    /// c2sp.org/tlog-checkpoint: at least three lines, each ending with a newline; a
    /// non-empty origin; the size in decimal without a leading zero (`0` for the
    /// empty tree) that fits a `u64`; the root hash as the base64 of 32 bytes; no
    /// empty extension line; no ASCII control character other than the newline.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] naming the line, what was expected and what was found.
    pub fn parse(text: &str) -> Result<Checkpoint> {
        parse_checkpoint(text, 1).map_err(|b| b.in_text("checkpoint"))
    }
}

fn parse_checkpoint(text: &str, first_line: u64) -> std::result::Result<Checkpoint, Bad> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(Bad::corrupt(
            None,
            format!(
                "expected a checkpoint of at most {MAX_NOTE_BYTES} bytes, found {}",
                text.len()
            ),
        ));
    }
    check_controls(text, first_line)?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err(Bad::corrupt(
            Some(first_line + line_count(text)),
            "expected the checkpoint's last line to end with a newline, found none",
        ));
    };
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() < 3 {
        return Err(Bad::corrupt(
            Some(first_line),
            format!(
                "expected at least 3 lines (origin, tree size, root hash), found {}",
                lines.len()
            ),
        ));
    }
    let at = |i: usize| first_line + i as u64;
    if lines[0].is_empty() {
        return Err(Bad::corrupt(
            Some(at(0)),
            "expected the origin, found an empty line",
        ));
    }
    let size = parse_decimal(lines[1])
        .map_err(|m| Bad::corrupt(Some(at(1)), format!("expected the tree size as {m}")))?;
    let root = decode_hash(lines[2])
        .map_err(|m| Bad::corrupt(Some(at(2)), format!("expected the root hash as {m}")))?;
    let mut extensions = Vec::with_capacity(lines.len() - 3);
    for (i, line) in lines.iter().enumerate().skip(3) {
        if line.is_empty() {
            return Err(Bad::corrupt(
                Some(at(i)),
                "expected a non-empty extension line, found an empty line",
            ));
        }
        extensions.push((*line).to_owned());
    }
    Ok(Checkpoint {
        origin: lines[0].to_owned(),
        size,
        root,
        extensions,
    })
}

// ---------------------------------------------------------------------------------
// Proof files and consistency requests
// ---------------------------------------------------------------------------------

/// A proof file (c2sp.org/tlog-proof): an entry's index, its Merkle inclusion proof
/// and the signed checkpoint of the tree it is in, verifiable offline.
///
/// [`InclusionProofFile::parse`] checks the syntax and that the index is below the
/// checkpoint's size; it verifies neither the signatures ([`Note::verify`],
/// [`verify_cosignature`]) nor the proof ([`crate::merkle::verify_inclusion`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::merkle;
/// use tracing_audit_core::note::{Checkpoint, InclusionProofFile, Note, SigningKey, sign};
///
/// let leaves: Vec<[u8; 32]> = (0u8..5).map(|i| merkle::leaf_hash(&[i])).collect();
/// let key = SigningKey::generate("example.com/log")?;
/// let checkpoint = Checkpoint::new("example.com/log", 5, merkle::root(&leaves));
/// let proof = InclusionProofFile {
///     extra: None,
///     index: 3,
///     hashes: merkle::inclusion_proof(&leaves, 3)?,
///     checkpoint_note: Note::parse(&sign(&checkpoint.body()?, &key)?)?,
/// };
/// let text = proof.format()?;
/// assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));
/// assert_eq!(InclusionProofFile::parse(&text)?, proof);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProofFile {
    /// Opaque data for the application, not authenticated (the `extra` line); at
    /// least one byte when present.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<[u8; 32]>,
    /// The signed checkpoint of the tree, with any cosignatures.
    pub checkpoint_note: Note,
}

impl InclusionProofFile {
    /// The checkpoint of [`InclusionProofFile::checkpoint_note`].
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] when the note's text is not a checkpoint.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::parse(self.checkpoint_note.body())
    }

    /// The proof file's text.
    ///
    /// # Errors
    /// [`ErrorKind::Encode`] when the result would not read back: empty extra data,
    /// more than [`MAX_INCLUSION_HASHES`] hashes, a note that is not a checkpoint, an
    /// index not below its size, or a file over [`MAX_PROOF_BYTES`].
    pub fn format(&self) -> Result<String> {
        let encode = |m: String| Error::new(ErrorKind::Encode, m);
        let checkpoint = Checkpoint::parse(self.checkpoint_note.body())
            .map_err(|e| encode(format!("the proof's note is not a checkpoint: {e}")))?;
        if self.index >= checkpoint.size {
            return Err(encode(format!(
                "expected an index below the checkpoint's tree size {}, found {}",
                checkpoint.size, self.index
            )));
        }
        if self.hashes.len() > MAX_INCLUSION_HASHES {
            return Err(encode(format!(
                "expected at most {MAX_INCLUSION_HASHES} inclusion proof hashes, found {}",
                self.hashes.len()
            )));
        }
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            if extra.is_empty() {
                return Err(encode(
                    "expected extra data of at least one byte, found none (use None for no extra line)"
                        .to_owned(),
                ));
            }
            out.push_str("extra ");
            out.push_str(&BASE64.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        push_hashes(&mut out, &self.hashes);
        out.push('\n');
        out.push_str(&self.checkpoint_note.to_string());
        if out.len() > MAX_PROOF_BYTES {
            return Err(encode(format!(
                "expected a proof file of at most {MAX_PROOF_BYTES} bytes, found {}",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Parses a proof file: the header line, at most one `extra` line, the `index`
    /// line, the hash lines, an empty line and a signed checkpoint note
    /// ([`Note::parse`], [`Checkpoint::parse`]), with the index below the
    /// checkpoint's size.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] naming the line of the text, what was expected and
    /// what was found.
    pub fn parse(text: &str) -> Result<InclusionProofFile> {
        parse_proof(text).map_err(|b| b.in_text("tlog-proof"))
    }

    /// Reads a proof file (at most [`MAX_PROOF_BYTES`]), refusing anything that is
    /// not a regular file.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] naming the file and line, as [`InclusionProofFile::parse`];
    /// [`ErrorKind::Io`] when it cannot be read.
    pub fn from_file(path: &Path) -> Result<InclusionProofFile> {
        let bytes = read_bounded(path, &PROOF_FILE, false)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let good = &bytes[..e.valid_up_to()];
            let line = line_count_bytes(good) + 1;
            Bad::corrupt(
                Some(line),
                format!(
                    "expected UTF-8 text, found an invalid byte 0x{:02x}",
                    bytes[e.valid_up_to()]
                ),
            )
            .in_file(path)
        })?;
        parse_proof(text).map_err(|b| b.in_file(path))
    }
}

fn parse_proof(text: &str) -> std::result::Result<InclusionProofFile, Bad> {
    if text.len() > MAX_PROOF_BYTES {
        return Err(Bad::corrupt(
            None,
            format!(
                "expected a proof file of at most {MAX_PROOF_BYTES} bytes, found {}",
                text.len()
            ),
        ));
    }
    let mut lines = Lines::new(text);
    let (n, header) = lines.next_line()?;
    if header != PROOF_HEADER {
        return Err(Bad::corrupt(
            Some(n),
            format!("expected \"{PROOF_HEADER}\", found {}", shown(header)),
        ));
    }
    let (mut n, mut line) = lines.next_line()?;
    let mut extra = None;
    if let Some(b64) = line.strip_prefix("extra ") {
        let bytes = BASE64.decode(b64).map_err(|e| {
            Bad::corrupt(
                Some(n),
                format!(
                    "expected \"extra \" and base64 data, found {} ({e})",
                    shown(b64)
                ),
            )
        })?;
        if bytes.is_empty() {
            return Err(Bad::corrupt(
                Some(n),
                "expected \"extra \" and base64 of at least one byte, found no data",
            ));
        }
        extra = Some(bytes);
        (n, line) = lines.next_line()?;
    }
    let index = line
        .strip_prefix("index ")
        .ok_or_else(|| {
            let what = if line.starts_with("extra ") {
                "a second extra line (at most one is allowed)".to_owned()
            } else {
                shown(line)
            };
            Bad::corrupt(
                Some(n),
                format!("expected \"index <N>\", the entry's index, found {what}"),
            )
        })
        .and_then(|d| {
            parse_decimal(d)
                .map_err(|m| Bad::corrupt(Some(n), format!("expected the index as {m}")))
        })?;
    let index_line = n;
    let hashes = lines.hashes(MAX_INCLUSION_HASHES, "inclusion proof")?;
    let (checkpoint_note, checkpoint) = lines.checkpoint_note()?;
    if index >= checkpoint.size {
        return Err(Bad::corrupt(
            Some(index_line),
            format!(
                "expected an index below the checkpoint's tree size {}, found {index}",
                checkpoint.size
            ),
        ));
    }
    Ok(InclusionProofFile {
        extra,
        index,
        hashes,
        checkpoint_note,
    })
}

/// The body of a witness's `add-checkpoint` request (c2sp.org/tlog-witness): the
/// size of the checkpoint the witness cosigned last, a consistency proof from it to
/// the new checkpoint, and the new signed checkpoint.
///
/// [`ConsistencyRequest::parse`] checks the syntax, that the old size is at most the
/// new one and that the proof is empty when the old size is 0; it verifies neither
/// the signatures nor the proof ([`crate::merkle::verify_consistency`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::merkle;
/// use tracing_audit_core::note::{Checkpoint, ConsistencyRequest, Note, SigningKey, sign};
///
/// let leaves: Vec<[u8; 32]> = (0u8..7).map(|i| merkle::leaf_hash(&[i])).collect();
/// let key = SigningKey::generate("example.com/log")?;
/// let checkpoint = Checkpoint::new("example.com/log", 7, merkle::root(&leaves));
/// let request = ConsistencyRequest {
///     old_size: 4,
///     proof: merkle::consistency_proof(&leaves, 4)?,
///     checkpoint_note: Note::parse(&sign(&checkpoint.body()?, &key)?)?,
/// };
/// let body = request.format()?;
/// assert!(body.starts_with("old 4\n"));
/// assert_eq!(ConsistencyRequest::parse(&body)?, request);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyRequest {
    /// The size of the checkpoint the witness cosigned last for this log (0 if none).
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<[u8; 32]>,
    /// The new signed checkpoint.
    pub checkpoint_note: Note,
}

impl ConsistencyRequest {
    /// The checkpoint of [`ConsistencyRequest::checkpoint_note`].
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] when the note's text is not a checkpoint.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::parse(self.checkpoint_note.body())
    }

    /// The request body.
    ///
    /// # Errors
    /// [`ErrorKind::Encode`] when it would not read back: more than
    /// [`MAX_CONSISTENCY_HASHES`] hashes, a note that is not a checkpoint, an old
    /// size over its size, or a proof with an old size of 0.
    pub fn format(&self) -> Result<String> {
        let encode = |m: String| Error::new(ErrorKind::Encode, m);
        let checkpoint = Checkpoint::parse(self.checkpoint_note.body())
            .map_err(|e| encode(format!("the request's note is not a checkpoint: {e}")))?;
        check_consistency(self.old_size, self.proof.len(), checkpoint.size).map_err(encode)?;
        let mut out = format!("old {}\n", self.old_size);
        push_hashes(&mut out, &self.proof);
        out.push('\n');
        out.push_str(&self.checkpoint_note.to_string());
        Ok(out)
    }

    /// Parses a request body: the `old` line, the proof lines, an empty line and a
    /// signed checkpoint note ([`Note::parse`], [`Checkpoint::parse`]).
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] naming the line of the text, what was expected and
    /// what was found.
    pub fn parse(text: &str) -> Result<ConsistencyRequest> {
        parse_request(text).map_err(|b| b.in_text("add-checkpoint request"))
    }
}

fn parse_request(text: &str) -> std::result::Result<ConsistencyRequest, Bad> {
    if text.len() > MAX_PROOF_BYTES {
        return Err(Bad::corrupt(
            None,
            format!(
                "expected a request of at most {MAX_PROOF_BYTES} bytes, found {}",
                text.len()
            ),
        ));
    }
    let mut lines = Lines::new(text);
    let (n, line) = lines.next_line()?;
    let old_size = line
        .strip_prefix("old ")
        .ok_or_else(|| {
            Bad::corrupt(
                Some(n),
                format!(
                    "expected \"old <N>\", the size of the previous checkpoint, found {}",
                    shown(line)
                ),
            )
        })
        .and_then(|d| {
            parse_decimal(d)
                .map_err(|m| Bad::corrupt(Some(n), format!("expected the old size as {m}")))
        })?;
    let proof = lines.hashes(MAX_CONSISTENCY_HASHES, "consistency proof")?;
    let (checkpoint_note, checkpoint) = lines.checkpoint_note()?;
    check_consistency(old_size, proof.len(), checkpoint.size)
        .map_err(|m| Bad::corrupt(Some(n), m))?;
    Ok(ConsistencyRequest {
        old_size,
        proof,
        checkpoint_note,
    })
}

fn check_consistency(
    old_size: u64,
    proof_len: usize,
    size: u64,
) -> std::result::Result<(), String> {
    if old_size > size {
        return Err(format!(
            "expected an old size of at most the checkpoint's tree size {size}, found {old_size}"
        ));
    }
    if old_size == 0 && proof_len > 0 {
        return Err(format!(
            "expected no consistency proof from an old size of 0, found {proof_len} hashes"
        ));
    }
    if proof_len > MAX_CONSISTENCY_HASHES {
        return Err(format!(
            "expected at most {MAX_CONSISTENCY_HASHES} consistency proof hashes, found {proof_len}"
        ));
    }
    Ok(())
}

fn push_hashes(out: &mut String, hashes: &[[u8; 32]]) {
    for h in hashes {
        out.push_str(&BASE64.encode(h));
        out.push('\n');
    }
}

/// A cursor over the newline-terminated lines of a proof file or request.
struct Lines<'a> {
    rest: &'a str,
    /// The number of the line `rest` starts with.
    next: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            rest: text,
            next: 1,
        }
    }

    /// The next line and its number, without its newline.
    fn next_line(&mut self) -> std::result::Result<(u64, &'a str), Bad> {
        let n = self.next;
        let Some((line, rest)) = self.rest.split_once('\n') else {
            let found = if self.rest.is_empty() {
                "the end of the text".to_owned()
            } else {
                format!("{} without a newline at the end", shown(self.rest))
            };
            return Err(Bad::corrupt(
                Some(n),
                format!("expected a line ending with a newline, found {found}"),
            ));
        };
        self.rest = rest;
        self.next += 1;
        Ok((n, line))
    }

    /// Hash lines up to the empty line, which is consumed.
    fn hashes(&mut self, max: usize, what: &str) -> std::result::Result<Vec<[u8; 32]>, Bad> {
        let mut hashes = Vec::new();
        loop {
            let (n, line) = self.next_line().map_err(|b| Bad {
                message: format!(
                    "{} (the {what} hashes end with an empty line, then the checkpoint)",
                    b.message
                ),
                ..b
            })?;
            if line.is_empty() {
                return Ok(hashes);
            }
            if hashes.len() == max {
                return Err(Bad::corrupt(
                    Some(n),
                    format!(
                        "expected at most {max} {what} hashes and then an empty line, found more"
                    ),
                ));
            }
            let hash = decode_hash(line).map_err(|m| {
                Bad::corrupt(Some(n), format!("expected a hash of the {what} as {m}"))
            })?;
            hashes.push(hash);
        }
    }

    /// The rest: a signed checkpoint note.
    fn checkpoint_note(&mut self) -> std::result::Result<(Note, Checkpoint), Bad> {
        let first = self.next;
        if self.rest.is_empty() {
            return Err(Bad::corrupt(
                Some(first),
                "expected the signed checkpoint after the empty line, found the end of the text",
            ));
        }
        let note = parse_note(self.rest, first)?;
        let checkpoint = parse_checkpoint(&note.text, first)?;
        Ok((note, checkpoint))
    }
}

// ---------------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------------

/// A parse failure before it is placed: the 1-based line (of the text parsed) and
/// what was expected and found. Placed in a text given in memory, the line goes in
/// the message (there is no file to name); placed in a file, in the error's line.
struct Bad {
    kind: ErrorKind,
    line: Option<u64>,
    message: String,
}

impl Bad {
    fn corrupt(line: Option<u64>, message: impl Into<String>) -> Bad {
        Bad {
            kind: ErrorKind::Corrupt,
            line,
            message: message.into(),
        }
    }

    fn in_text(self, what: &str) -> Error {
        match self.line {
            Some(l) => Error::new(self.kind, format!("{what} line {l}: {}", self.message)).line(l),
            None => Error::new(self.kind, format!("{what}: {}", self.message)),
        }
    }

    fn in_file(self, path: &Path) -> Error {
        let e = Error::new(self.kind, self.message).at(path);
        match self.line {
            Some(l) => e.line(l),
            None => e,
        }
    }
}

fn parse_note(text: &str, first_line: u64) -> std::result::Result<Note, Bad> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(Bad::corrupt(
            None,
            format!(
                "expected a note of at most {MAX_NOTE_BYTES} bytes, found {} bytes",
                text.len()
            ),
        ));
    }
    check_controls(text, first_line)?;
    let Some(split) = text.rfind("\n\n") else {
        return Err(Bad::corrupt(
            None,
            "expected the text, an empty line and signature lines; found no empty line",
        ));
    };
    let body = &text[..=split];
    let signature_text = &text[split + 2..];
    let first_signature = first_line + line_count(body) + 1;
    let Some(signature_text) = signature_text.strip_suffix('\n') else {
        let line = first_signature + line_count(signature_text);
        let found = if signature_text.is_empty() {
            "nothing after it".to_owned()
        } else {
            "a last line without a newline".to_owned()
        };
        return Err(Bad::corrupt(
            Some(line),
            format!(
                "expected signature lines after the last empty line, each ending with a newline; found {found}"
            ),
        ));
    };
    let mut signatures = Vec::new();
    for (n, line) in (first_signature..).zip(signature_text.split('\n')) {
        if signatures.len() == MAX_SIGNATURES {
            return Err(Bad::corrupt(
                Some(n),
                format!("expected at most {MAX_SIGNATURES} signature lines, found more"),
            ));
        }
        signatures.push(parse_signature(line).map_err(|m| Bad::corrupt(Some(n), m))?);
    }
    Ok(Note {
        text: body.to_owned(),
        signatures,
    })
}

fn parse_signature(line: &str) -> std::result::Result<NoteSignature, String> {
    let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
        return Err(format!(
            "expected a signature line, \"— <key name> <base64>\" (an em dash U+2014 and a space first), found {}",
            shown(line)
        ));
    };
    let Some((name, b64)) = rest.split_once(' ') else {
        return Err(format!(
            "expected a key name, a space and a base64 signature after \"— \", found {}",
            shown(rest)
        ));
    };
    check_name(name)?;
    let bytes = BASE64.decode(b64).map_err(|e| {
        format!(
            "expected the signature of {} as standard base64, found {} ({e})",
            shown(name),
            shown(b64)
        )
    })?;
    if bytes.len() < 5 {
        return Err(format!(
            "expected at least 5 bytes in the signature of {} (a 4-byte key id and a signature), found {}",
            shown(name),
            bytes.len()
        ));
    }
    let mut id = [0u8; 4];
    id.copy_from_slice(&bytes[..4]);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(id),
        signature: bytes[4..].to_vec(),
    })
}

/// Refuses ASCII control characters other than the newline, naming the line.
fn check_controls(text: &str, first_line: u64) -> std::result::Result<(), Bad> {
    for (n, line) in (first_line..).zip(text.split('\n')) {
        if let Some((col, c)) = line.chars().enumerate().find(|&(_, c)| c < ' ') {
            return Err(Bad::corrupt(
                Some(n),
                format!(
                    "expected no control character other than the newline, found {} at column {}",
                    shown_char(c),
                    col + 1
                ),
            ));
        }
    }
    Ok(())
}

/// What a note text must be to be signed.
fn check_signable(text: &str) -> std::result::Result<(), Bad> {
    check_controls(text, 1).map_err(|b| Bad {
        kind: ErrorKind::Encode,
        ..b
    })?;
    if !text.ends_with('\n') {
        return Err(Bad {
            kind: ErrorKind::Encode,
            line: Some(line_count(text) + 1),
            message: "expected the text to end with a newline, found none".to_owned(),
        });
    }
    if text.starts_with(COSIGNATURE_HEADER) {
        return Err(Bad {
            kind: ErrorKind::Encode,
            line: Some(1),
            message: "expected a text that does not start with \"cosignature/v1\" and a newline, found one: its signature would be a witness cosignature if the key were also a witness's".to_owned(),
        });
    }
    Ok(())
}

/// A decimal number without leading zeros; the error says what was found.
fn parse_decimal(s: &str) -> std::result::Result<u64, String> {
    let expected = "a decimal number without leading zeros";
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{expected}, found {}", shown(s)));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("{expected}, found {} (a leading zero)", shown(s)));
    }
    s.parse()
        .map_err(|_| format!("{expected} that fits 64 bits, found {}", shown(s)))
}

/// The base64 of 32 bytes; the error says what was found.
fn decode_hash(s: &str) -> std::result::Result<[u8; 32], String> {
    let bytes = BASE64
        .decode(s)
        .map_err(|e| format!("the base64 of 32 bytes, found {} ({e})", shown(s)))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "the base64 of 32 bytes, found {} ({} bytes)",
            shown(s),
            bytes.len()
        )
    })
}

/// A key name: non-empty, no Unicode space, no `+` (c2sp.org/signed-note).
fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("expected a key name, found an empty one".to_owned());
    }
    if let Some(c) = name.chars().find(|&c| c.is_whitespace() || c == '+') {
        return Err(format!(
            "expected a key name without spaces or '+', found {} in {}",
            shown_char(c),
            shown(name)
        ));
    }
    // Unicode spaces include the newline and the tab; the other ASCII controls would
    // make a note that does not read back.
    if let Some(c) = name.chars().find(|&c| c < ' ') {
        return Err(format!(
            "expected a key name without control characters, found {} in {}",
            shown_char(c),
            shown(name)
        ));
    }
    Ok(())
}

fn parse_key_id(hex_id: &str) -> std::result::Result<u32, String> {
    if hex_id.len() != 8 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected the key id as 8 hexadecimal digits, found {}",
            shown(hex_id)
        ));
    }
    u32::from_str_radix(hex_id, 16).map_err(|e| {
        format!(
            "expected the key id as 8 hexadecimal digits, found {} ({e})",
            shown(hex_id)
        )
    })
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ key)[..4]`, big-endian.
fn key_id(name: &str, signature_type: SignatureType, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([signature_type.id()]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn strip_newline(text: &str) -> &str {
    let t = text.strip_suffix('\n').unwrap_or(text);
    t.strip_suffix('\r').unwrap_or(t)
}

/// The number of newlines.
fn line_count(text: &str) -> u64 {
    line_count_bytes(text.as_bytes())
}

fn line_count_bytes(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Text found in the input, quoted, escaped and cut to a readable length: safe to
/// print to a terminal.
fn shown(s: &str) -> String {
    const MAX: usize = 48;
    if s.chars().count() <= MAX {
        return format!("{s:?}");
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut:?}… ({} bytes)", s.len())
}

/// A name found in a note, escaped for a terminal, without quotes.
fn shown_raw(s: &str) -> String {
    let quoted = shown(s);
    match quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
        Some(inner) => inner.to_owned(),
        None => quoted,
    }
}

fn shown_char(c: char) -> String {
    format!("{c:?} (U+{:04X})", u32::from(c))
}

// ---------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------

/// What a kind of file is, for the bounded reader.
struct FileKind {
    /// "signer key file", "proof file"…
    what: &'static str,
    /// The error kind of a file that is not what was expected.
    kind: ErrorKind,
    /// The largest accepted size.
    max: u64,
    /// What the file should hold, for errors.
    expected: &'static str,
}

const KEY_FILE: FileKind = FileKind {
    what: "signer key file",
    kind: ErrorKind::Key,
    max: MAX_KEY_FILE_BYTES,
    expected: "a signer key, \"PRIVATE+KEY+<name>+<key id>+<base64>\" on one line",
};

const VERIFIER_FILE: FileKind = FileKind {
    what: "verifier key file",
    kind: ErrorKind::Key,
    max: MAX_KEY_FILE_BYTES,
    expected: "a verifier key, \"<name>+<key id>+<base64>\" on one line",
};

const PROOF_FILE: FileKind = FileKind {
    what: "proof file",
    kind: ErrorKind::Corrupt,
    max: MAX_PROOF_BYTES as u64,
    expected: "a c2sp.org/tlog-proof@v1 proof",
};

/// Reads a small file whole: opened without blocking (a FIFO would hang a plain
/// open), checked on the open file to be regular, at most `kind.max` bytes read;
/// with `secret`, refused when group or others have any access. Symbolic links are
/// followed, as for the HMAC key files: keys are often mounted as links.
fn read_bounded(path: &Path, kind: &FileKind, secret: bool) -> Result<Zeroizing<Vec<u8>>> {
    let what = kind.what;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, &format!("cannot open the {what}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(path, &format!("cannot read the {what}"), e))?;
    if !meta.is_file() {
        return Err(Error::new(
            kind.kind,
            format!(
                "expected the {what} to be a regular file, found a {}",
                crate::storage::describe(meta.file_type())
            ),
        )
        .at(path));
    }
    if secret {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::new(
                kind.kind,
                format!(
                    "{what} permissions are {mode:04o}; expected no access for group or others (0600 or 0400); run `chmod 600` on it"
                ),
            )
            .at(path));
        }
    }
    let too_big = |len: u64| {
        Error::new(
            kind.kind,
            format!(
                "expected {} of at most {} bytes, found a file of {len} bytes",
                kind.expected, kind.max
            ),
        )
        .at(path)
    };
    if meta.len() > kind.max {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0)));
    std::io::Read::by_ref(&mut file)
        .take(kind.max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, &format!("cannot read the {what}"), e))?;
    // The file may have grown since its size was read.
    if bytes.len() as u64 > kind.max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Creates `path`, which must not exist, with `mode`; writes and syncs `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32, what: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, &format!("cannot create the {what}"), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, &format!("cannot write the {what}"), e))
}

/// `path` with `.pub` appended: the verifier key file beside a signer key file.
fn pub_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, &[seed; 32]).unwrap()
    }

    fn checkpoint_note(log: &SigningKey, size: u64) -> Note {
        let body = Checkpoint::new(log.name(), size, [size.to_le_bytes()[0]; 32])
            .body()
            .unwrap();
        Note::parse(&sign(&body, log).unwrap()).unwrap()
    }

    /// Asserts the error's kind, that it names `line` (in the message and in
    /// `line_number`, when given) and that its message has `fragment`.
    fn assert_error(err: &Error, kind: ErrorKind, line: Option<u64>, fragment: &str) {
        let text = err.to_string();
        assert_eq!(err.kind(), kind, "{text}");
        assert_eq!(err.line_number(), line, "{text}");
        if let Some(l) = line {
            assert!(text.contains(&format!("line {l}: ")), "{text}");
        }
        assert!(text.contains(fragment), "expected {fragment:?} in: {text}");
    }

    #[test]
    fn the_key_id_is_the_first_four_bytes_of_the_documented_hash() {
        let k = key("example.com/log", 1);
        let public = k.verifier().public_key();
        for (ty, id) in [
            (0x01u8, k.verifier().key_id()),
            (0x04, k.cosignature_verifier().key_id()),
        ] {
            let mut input = b"example.com/log\n".to_vec();
            input.push(ty);
            input.extend_from_slice(&public);
            let digest = Sha256::digest(&input);
            assert_eq!(id.to_be_bytes(), digest[..4], "type {ty:#04x}");
        }
        assert_ne!(k.verifier().key_id(), k.cosignature_verifier().key_id());
    }

    /// As golang.org/x/mod/sumdb/note's TestNewVerifier: every strict substring and
    /// every one-byte change of a verifier key is refused.
    #[test]
    fn every_truncation_or_changed_byte_of_a_verifier_key_is_refused() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        VerifierKey::parse(vkey).unwrap();
        let b = vkey.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let s = &vkey[i..j];
                    assert!(VerifierKey::parse(s).is_err(), "{s:?} was accepted");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            let err = VerifierKey::parse(&s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Key, "{s}: {err}");
        }
    }

    /// As golang.org/x/mod/sumdb/note's TestNewSigner, and no message shows the seed.
    #[test]
    fn every_truncation_or_changed_byte_of_a_signer_key_is_refused() {
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let secret = "AYEKFALVFGyNhPJEMzD1QIDr";
        SigningKey::parse(skey).unwrap();
        let b = skey.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let s = &skey[i..j];
                    let err = SigningKey::parse(s).unwrap_err();
                    assert!(!err.to_string().contains(secret), "{err}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            let err = SigningKey::parse(&s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Key, "{s}: {err}");
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }

    #[test]
    fn key_errors_say_what_was_expected_and_what_was_found() {
        let good = key("example.com/log", 1);
        let vkey = good.verifier().to_string();
        let (_, b64) = vkey.rsplit_once('+').unwrap();
        let raw = BASE64.decode(b64).unwrap();
        let mut type2 = raw.clone();
        type2[0] = 0x02;
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "on one line, found \"\""),
            (
                "a b+00000000+AA==".into(),
                "without spaces or '+', found ' ' (U+0020)",
            ),
            (
                "name".into(),
                "expected a verifier key, \"<name>+<key id>+<base64(type ‖ public key)>\" on one line, found \"name\"",
            ),
            (
                format!("example.com/log+c74f20a+{b64}"),
                "expected the key id as 8 hexadecimal digits, found \"c74f20a\"",
            ),
            (
                "example.com/log+00000000+not base64".into(),
                "expected the key as standard base64",
            ),
            (
                format!("example.com/log+00000000+{}", BASE64.encode(&raw[1..])),
                "expected 33 bytes after the key id (a type byte and a 32-byte Ed25519 public key), found 32",
            ),
            (
                format!("example.com/log+00000000+{}", BASE64.encode(&type2)),
                "expected the key type byte 0x01 (Ed25519 note signatures) or 0x04 (cosignature/v1), found 0x02",
            ),
            (
                format!("example.com/log+00000000+{b64}"),
                "expected the key id ",
            ),
            (
                vkey.replace("example.com/log", "example.com/other"),
                "of this name, type and key, found",
            ),
            (format!("{vkey}\nextra"), "on one line, found 2 lines"),
            (
                good.private_text().to_string(),
                "found a signer key (PRIVATE+KEY+…)",
            ),
        ];
        for (text, fragment) in cases {
            let err = VerifierKey::parse(&text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Key);
            assert!(err.to_string().contains(fragment), "{text:?}: {err}");
        }
        let err = SigningKey::parse(&vkey).unwrap_err();
        assert!(
            err.to_string()
                .contains("found a verifier key (the public half of a key)"),
            "{err}"
        );
        // A trailing newline is the file's; a second line is not.
        assert_eq!(
            VerifierKey::parse(&format!("{vkey}\n"))
                .unwrap()
                .to_string(),
            vkey
        );
        assert_eq!(
            SigningKey::parse(&format!("{}\n", *good.private_text()))
                .unwrap()
                .verifier(),
            good.verifier()
        );
        assert!(SigningKey::generate("has space").is_err());
        assert!(SigningKey::from_seed("has+plus", &[0; 32]).is_err());
        assert!(SigningKey::from_seed("ctl\u{1}", &[0; 32]).is_err());
    }

    #[test]
    fn a_small_order_or_off_curve_public_key_is_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = VerifierKey::new("a", SignatureType::Ed25519, &identity).unwrap_err();
        assert!(err.to_string().contains("a point of small order"), "{err}");
        let off_curve = (2u8..=255)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                b
            })
            .find(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_err())
            .expect("some y has no point");
        let err = VerifierKey::new("a", SignatureType::Ed25519, &off_curve).unwrap_err();
        assert!(
            err.to_string().contains("not a point of the curve"),
            "{err}"
        );
    }

    #[test]
    fn debug_of_a_signing_key_shows_no_key_material() {
        let k = key("example.com/log", 0xab);
        let text = format!("{k:?}");
        assert!(
            text.contains("example.com/log")
                && text.contains(&format!("{:08x}", k.verifier().key_id()))
        );
        let b64 = k.private_text();
        let secret = b64.rsplit_once('+').unwrap().1;
        assert!(!text.contains(secret) && !text.contains("abab"), "{text}");
    }

    #[test]
    fn a_checkpoint_parser_refuses_each_malformed_case() {
        let cases: &[(String, u64, &str)] = &[
            (
                String::new(),
                1,
                "expected the checkpoint's last line to end with a newline",
            ),
            (
                "o\n7\n".into(),
                1,
                "expected at least 3 lines (origin, tree size, root hash), found 2",
            ),
            (
                format!("\n7\n{ROOT}\n"),
                1,
                "expected the origin, found an empty line",
            ),
            (
                format!("o\n07\n{ROOT}\n"),
                2,
                "found \"07\" (a leading zero)",
            ),
            (
                format!("o\n\n{ROOT}\n"),
                2,
                "expected the tree size as a decimal number without leading zeros, found \"\"",
            ),
            (format!("o\n-1\n{ROOT}\n"), 2, "found \"-1\""),
            (format!("o\n+7\n{ROOT}\n"), 2, "found \"+7\""),
            (format!("o\n 7\n{ROOT}\n"), 2, "found \" 7\""),
            (
                format!("o\n18446744073709551616\n{ROOT}\n"),
                2,
                "that fits 64 bits",
            ),
            (
                "o\n7\nAAAA\n".into(),
                3,
                "expected the root hash as the base64 of 32 bytes, found \"AAAA\" (3 bytes)",
            ),
            (
                format!("o\n7\n{}\n", BASE64.encode([0u8; 33])),
                3,
                "(33 bytes)",
            ),
            (
                format!("o\n7\n{}\n", ROOT.trim_end_matches('=')),
                3,
                "expected the root hash as the base64 of 32 bytes",
            ),
            (
                format!("o\n7\n{}\n", ROOT.replace("A=", "B=")),
                3,
                "expected the root hash as the base64 of 32 bytes",
            ),
            (
                format!("o\n7\n{ROOT}\n\next\n"),
                4,
                "expected a non-empty extension line, found an empty line",
            ),
            (
                format!("o\n7\n{ROOT}\next\n\n"),
                5,
                "expected a non-empty extension line",
            ),
            (
                format!("o\n7\n{ROOT}"),
                3,
                "to end with a newline, found none",
            ),
            (
                format!("o\t\n7\n{ROOT}\n"),
                1,
                "found '\\t' (U+0009) at column 2",
            ),
            (
                format!("o\n7\r\n{ROOT}\n"),
                2,
                "found '\\r' (U+000D) at column 2",
            ),
        ];
        for (text, line, fragment) in cases {
            let err = Checkpoint::parse(text).unwrap_err();
            assert_error(&err, ErrorKind::Corrupt, Some(*line), fragment);
            assert!(
                err.to_string()
                    .starts_with(&format!("checkpoint line {line}: ")),
                "{err}"
            );
        }
        let too_big = format!("o\n7\n{ROOT}\n{}\n", "x".repeat(MAX_NOTE_BYTES));
        let err = Checkpoint::parse(&too_big).unwrap_err();
        assert_error(&err, ErrorKind::Corrupt, None, "at most 1048576 bytes");
    }

    #[test]
    fn a_checkpoint_reads_back_what_it_writes() {
        let empty = Checkpoint::new("example.com/log", 0, [0; 32]);
        assert_eq!(
            empty.body().unwrap(),
            format!("example.com/log\n0\n{ROOT}\n")
        );
        let mut c = Checkpoint::new("a log with spaces+plus", u64::MAX, [0xfe; 32]);
        c.extensions = vec!["ext one".into(), "— two".into()];
        let body = c.body().unwrap();
        assert_eq!(body.lines().nth(1), Some("18446744073709551615"));
        assert_eq!(Checkpoint::parse(&body).unwrap(), c);
    }

    #[test]
    fn checkpoint_body_refuses_what_would_not_read_back() {
        let mut c = Checkpoint::new("", 1, [0; 32]);
        let err = c.body().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected a non-empty origin, found an empty one",
        );
        c.origin = "two\nlines".into();
        let err = c.body().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "found '\\n' (U+000A) in \"two\\nlines\"",
        );
        c.origin = "o".into();
        c.extensions = vec![String::new()];
        let err = c.body().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected a non-empty extension line",
        );
        c.extensions = vec!["cr\r".into()];
        assert_eq!(c.body().unwrap_err().kind(), ErrorKind::Encode);
    }

    #[test]
    fn a_note_parser_refuses_each_malformed_case() {
        let sig = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let cases: Vec<(String, Option<u64>, &str)> = vec![
            (text.into(), None, "found no empty line"),
            (format!("{text}\n"), Some(4), "found nothing after it"),
            (
                format!("{text}\n{}", sig.trim_end()),
                Some(4),
                "found a last line without a newline",
            ),
            (
                format!("\x01{text}\n{sig}"),
                Some(1),
                "found '\\u{1}' (U+0001) at column 1",
            ),
            (
                format!("{text}\n{}", sig.replace("PeterNeumann", "Bad Name")),
                Some(4),
                "expected the signature of \"Bad\" as standard base64",
            ),
            (
                format!("{text}\n{}", sig.replace("PeterNeumann", "a+b")),
                Some(4),
                "without spaces or '+', found '+'",
            ),
            (
                format!("{text}\n{}", sig.replace('—', "-")),
                Some(4),
                "expected a signature line, \"— <key name> <base64>\"",
            ),
            (
                format!("{text}\n— PeterNeumann\n"),
                Some(4),
                "expected a key name, a space and a base64 signature",
            ),
            (
                format!("{text}\n— PeterNeumann AAAA\n"),
                Some(4),
                "expected at least 5 bytes",
            ),
            (
                format!("{text}\n{sig}Unexpected line.\n"),
                Some(5),
                "found \"Unexpected line.\"",
            ),
            (
                format!("{text}\n{}", sig.repeat(101)),
                Some(104),
                "expected at most 100 signature lines, found more",
            ),
            (
                format!("{}\n{sig}", "x".repeat(MAX_NOTE_BYTES)),
                None,
                "expected a note of at most 1048576 bytes",
            ),
        ];
        for (note, line, fragment) in cases {
            let err = Note::parse(&note).unwrap_err();
            assert_error(&err, ErrorKind::Corrupt, line, fragment);
        }
        assert_eq!(
            Note::parse(&format!("{text}\n{}", sig.repeat(100)))
                .unwrap()
                .signatures()
                .len(),
            100
        );
    }

    #[test]
    fn a_note_reads_back_byte_for_byte_and_keeps_every_line() {
        let a = key("a.example", 1);
        let b = key("b.example", 2);
        let mut note = Note::parse(&sign("x\n", &a).unwrap()).unwrap();
        note.sign(&b).unwrap();
        // A line of an unknown key, with a signature type of its own.
        note.add_signature(NoteSignature::parse_line("— c.example AAAAAAE=\n").unwrap())
            .unwrap();
        let text = note.to_string();
        let again = Note::parse(&text).unwrap();
        assert_eq!(again, note);
        assert_eq!(again.to_string(), text);
        let names: Vec<&str> = again.signatures().iter().map(NoteSignature::name).collect();
        assert_eq!(names, ["a.example", "b.example", "c.example"]);
        assert_eq!(again.signatures()[2].key_id(), 0);
        assert_eq!(again.signatures()[2].signature(), [1]);
        again.verify(&a.verifier()).unwrap();
        again.verify(&b.verifier()).unwrap();
    }

    #[test]
    fn the_text_may_hold_empty_lines_and_the_last_one_separates() {
        let k = key("a.example", 1);
        for body in ["a\n\nb\n", "a\n\n", "\n"] {
            let note = Note::parse(&sign(body, &k).unwrap()).unwrap();
            assert_eq!(note.body(), body);
            note.verify(&k.verifier()).unwrap();
        }
    }

    #[test]
    fn an_edited_byte_fails_as_a_bad_signature() {
        let log = key("example.com/log", 1);
        let text = checkpoint_note(&log, 7).to_string();
        // The size line, and a character in the middle of the signature.
        let sig_at = text.rfind(' ').unwrap() + 30;
        for edited in [text.replacen("\n7\n", "\n8\n", 1), {
            let mut b = text.clone().into_bytes();
            b[sig_at] = if b[sig_at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).unwrap()
        }] {
            let err = Note::parse(&edited)
                .unwrap()
                .verify(&log.verifier())
                .unwrap_err();
            assert_error(
                &err,
                ErrorKind::BadSignature,
                Some(5),
                "does not verify: the note text or the signature was altered",
            );
        }
    }

    #[test]
    fn a_note_signed_by_another_key_has_no_signature_by_this_key() {
        let log = key("example.com/log", 1);
        let other = key("example.com/other", 2);
        let impostor = key("example.com/log", 3);
        let note = checkpoint_note(&other, 7);
        let err = note.verify(&log.verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::NoSignature,
            None,
            &format!(
                "expected a signature by example.com/log+{:08x} (an Ed25519 note key (type 0x01)), found signatures by example.com/other+{:08x} only",
                log.verifier().key_id(),
                other.verifier().key_id()
            ),
        );
        // Same name, another key: another key id, so not this key's line.
        let note = checkpoint_note(&impostor, 7);
        let err = note.verify(&log.verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::NoSignature,
            None,
            "a line has the name but another key id",
        );
    }

    #[test]
    fn a_second_bad_line_of_the_same_key_fails_the_note() {
        let log = key("example.com/log", 1);
        let note = checkpoint_note(&log, 7);
        let good = note.signatures()[0].to_string();
        let mut bytes = BASE64.decode(good.rsplit_once(' ').unwrap().1).unwrap();
        bytes[10] ^= 1;
        let bad = format!("— example.com/log {}", BASE64.encode(&bytes));
        let text = format!("{note}{bad}\n");
        let err = Note::parse(&text)
            .unwrap()
            .verify(&log.verifier())
            .unwrap_err();
        assert_error(&err, ErrorKind::BadSignature, Some(6), "does not verify");
        // A line of the right key id that is not 64 bytes.
        let text = format!("{note}— example.com/log {}\n", BASE64.encode(&bytes[..40]));
        let err = Note::parse(&text)
            .unwrap()
            .verify(&log.verifier())
            .unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadSignature,
            Some(6),
            "expected a 64-byte Ed25519 signature after the key id, found 36 bytes",
        );
    }

    #[test]
    fn sign_refuses_texts_that_would_not_read_back() {
        let k = key("a.example", 1);
        let cases: &[(String, Option<u64>, &str)] = &[
            (
                "no newline".into(),
                Some(1),
                "expected the text to end with a newline, found none",
            ),
            (
                "a\nb".into(),
                Some(2),
                "expected the text to end with a newline",
            ),
            (
                String::new(),
                Some(1),
                "expected the text to end with a newline",
            ),
            (
                "tab\there\n".into(),
                Some(1),
                "found '\\t' (U+0009) at column 4",
            ),
            (
                "cosignature/v1\ntime 1\no\n".into(),
                Some(1),
                "does not start with \"cosignature/v1\"",
            ),
        ];
        for (text, line, fragment) in cases {
            let err = sign(text, &k).unwrap_err();
            assert_error(&err, ErrorKind::Encode, *line, fragment);
        }
        let err = sign(&format!("{}\n", "x".repeat(MAX_NOTE_BYTES - 60)), &k).unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected a note of at most 1048576 bytes",
        );
    }

    #[test]
    fn add_signature_replaces_the_same_key_and_keeps_the_others() {
        let log = key("example.com/log", 1);
        let w1 = key("w1.example", 2);
        let w2 = key("w2.example", 3);
        let mut note = checkpoint_note(&log, 9);
        note.add_signature(cosign(note.body(), &w1, 100).unwrap())
            .unwrap();
        note.add_signature(cosign(note.body(), &w2, 200).unwrap())
            .unwrap();
        note.add_signature(cosign(note.body(), &w1, 300).unwrap())
            .unwrap();
        let names: Vec<&str> = note.signatures().iter().map(NoteSignature::name).collect();
        assert_eq!(names, ["example.com/log", "w2.example", "w1.example"]);
        assert_eq!(
            verify_cosignature(&note, &w1.cosignature_verifier()).unwrap(),
            300
        );
        assert_eq!(
            verify_cosignature(&note, &w2.cosignature_verifier()).unwrap(),
            200
        );
        note.verify(&log.verifier()).unwrap();

        // The limit on the number of lines.
        for i in 0..(MAX_SIGNATURES - 3) {
            note.add_signature(cosign(note.body(), &key(&format!("w{i}.other"), 4), 1).unwrap())
                .unwrap();
        }
        assert_eq!(note.signatures().len(), MAX_SIGNATURES);
        let err = note
            .add_signature(cosign(note.body(), &key("one.more", 5), 1).unwrap())
            .unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected at most 100 signature lines in a note, found 101 with the new one",
        );
        // Replacing a line at the limit is fine.
        note.add_signature(cosign(note.body(), &w1, 400).unwrap())
            .unwrap();
        assert_eq!(
            verify_cosignature(&note, &w1.cosignature_verifier()).unwrap(),
            400
        );
    }

    #[test]
    fn a_cosignature_signs_the_documented_message_and_reads_back() {
        let log = key("example.com/log", 1);
        let w = key("witness.example/w1", 2);
        let mut note = checkpoint_note(&log, 12);
        let line = cosign(note.body(), &w, 1_700_000_000).unwrap();
        assert_eq!(line.key_id(), w.cosignature_verifier().key_id());
        assert_eq!(line.signature().len(), 72);
        assert_eq!(line.signature()[..8], 1_700_000_000u64.to_be_bytes());
        let message = format!("cosignature/v1\ntime 1700000000\n{}", note.body());
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&line.signature()[8..]);
        w.key
            .verifying_key()
            .verify_strict(
                message.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .unwrap();
        assert_eq!(NoteSignature::parse_line(&line.to_string()).unwrap(), line);
        note.add_signature(line.clone()).unwrap();
        let note = Note::parse(&note.to_string()).unwrap();
        assert_eq!(
            verify_cosignature(&note, &w.cosignature_verifier()).unwrap(),
            1_700_000_000
        );

        // The witness's note key (type 0x01) and the log's witness key are other keys.
        let err = verify_cosignature(&note, &w.verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::Key,
            None,
            "expected a cosignature/v1 witness key (type 0x04), found an Ed25519 note key (type 0x01)",
        );
        let err = note.verify(&w.cosignature_verifier()).unwrap_err();
        assert_error(&err, ErrorKind::Key, None, "use verify_cosignature");
        let err = verify_cosignature(&note, &log.cosignature_verifier()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoSignature, "{err}");

        // A changed timestamp, a changed checkpoint, a short line, a huge timestamp.
        let mut payload = line.signature().to_vec();
        payload[7] ^= 1;
        let forged = NoteSignature {
            signature: payload.clone(),
            ..line.clone()
        };
        let mut n = note.clone();
        n.add_signature(forged).unwrap();
        let err = verify_cosignature(&n, &w.cosignature_verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadSignature,
            Some(6),
            "does not verify (timestamp 1700000001)",
        );
        let moved = Note::parse(&note.to_string().replacen("\n12\n", "\n13\n", 1)).unwrap();
        let err = verify_cosignature(&moved, &w.cosignature_verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadSignature,
            Some(6),
            "the checkpoint, the timestamp or the signature was altered",
        );
        let mut n = note.clone();
        n.add_signature(NoteSignature {
            signature: payload[..71].to_vec(),
            ..line.clone()
        })
        .unwrap();
        let err = verify_cosignature(&n, &w.cosignature_verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadSignature,
            Some(6),
            "expected 72 bytes after the key id (an 8-byte timestamp and a 64-byte Ed25519 signature), found 71",
        );
        payload[0] = 0x80;
        let mut n = note.clone();
        n.add_signature(NoteSignature {
            signature: payload,
            ..line
        })
        .unwrap();
        let err = verify_cosignature(&n, &w.cosignature_verifier()).unwrap_err();
        assert_error(
            &err,
            ErrorKind::BadSignature,
            Some(6),
            "expected a timestamp of at most 2^63-1",
        );
    }

    #[test]
    fn cosign_refuses_what_is_not_a_checkpoint_or_a_timestamp() {
        let w = key("witness.example/w1", 2);
        let err = cosign("hello\n", &w, 1).unwrap_err();
        assert_error(
            &err,
            ErrorKind::Corrupt,
            Some(1),
            "expected at least 3 lines",
        );
        let body = Checkpoint::new("o", 1, [0; 32]).body().unwrap();
        let err = cosign(&body, &w, 1 << 63).unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected a cosignature timestamp of at most 2^63-1, found 9223372036854775808",
        );
        assert!(cosign(&body, &w, (1 << 63) - 1).is_ok());
    }

    fn proof(index: u64, size: u64, extra: Option<Vec<u8>>) -> InclusionProofFile {
        InclusionProofFile {
            extra,
            index,
            hashes: vec![[1; 32], [2; 32]],
            checkpoint_note: checkpoint_note(&key("example.com/log", 1), size),
        }
    }

    #[test]
    fn a_proof_file_reads_back_what_it_writes() {
        for p in [
            proof(0, 1, None),
            proof(5, 6, Some(b"opaque \n data".to_vec())),
        ] {
            let text = p.format().unwrap();
            assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"));
            assert_eq!(text.contains("\nextra "), p.extra.is_some());
            assert_eq!(InclusionProofFile::parse(&text).unwrap(), p);
            assert_eq!(p.checkpoint().unwrap().size, p.index + 1);
        }
        let no_hashes = InclusionProofFile {
            hashes: Vec::new(),
            ..proof(0, 1, None)
        };
        let text = no_hashes.format().unwrap();
        assert!(text.contains("index 0\n\nexample.com/log\n"), "{text}");
        assert_eq!(InclusionProofFile::parse(&text).unwrap(), no_hashes);
    }

    #[test]
    fn a_proof_file_parser_refuses_each_malformed_case() {
        let good = proof(5, 6, None).format().unwrap();
        let h = BASE64.encode([1u8; 32]);
        let with = |from: &str, to: &str| good.replacen(from, to, 1);
        let cases: Vec<(String, Option<u64>, &str)> = vec![
            (
                with("@v1", "@v2"),
                Some(1),
                "expected \"c2sp.org/tlog-proof@v1\", found \"c2sp.org/tlog-proof@v2\"",
            ),
            (
                with("index", "extra \nindex"),
                Some(2),
                "expected \"extra \" and base64 of at least one byte, found no data",
            ),
            (
                with("index", "extra !!\nindex"),
                Some(2),
                "expected \"extra \" and base64 data, found \"!!\"",
            ),
            (
                with("index", "extra AQ==\nextra AQ==\nindex"),
                Some(3),
                "found a second extra line (at most one is allowed)",
            ),
            (
                with("index 5", "index 05"),
                Some(2),
                "expected the index as a decimal number without leading zeros, found \"05\" (a leading zero)",
            ),
            (
                with("index 5", "idx 5"),
                Some(2),
                "expected \"index <N>\", the entry's index, found \"idx 5\"",
            ),
            (
                with("index 5", "index 6"),
                Some(2),
                "expected an index below the checkpoint's tree size 6, found 6",
            ),
            (
                with(&h, "AAAA"),
                Some(3),
                "expected a hash of the inclusion proof as the base64 of 32 bytes, found \"AAAA\" (3 bytes)",
            ),
            (
                with(&format!("{h}\n"), &format!("{h}\n").repeat(70)),
                Some(67),
                "expected at most 64 inclusion proof hashes and then an empty line, found more",
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 0\n".into(),
                Some(3),
                "found the end of the text (the inclusion proof hashes end with an empty line, then the checkpoint)",
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 0\n\n".into(),
                Some(4),
                "expected the signed checkpoint after the empty line, found the end of the text",
            ),
            (
                "c2sp.org/tlog-proof@v1".into(),
                Some(1),
                "without a newline at the end",
            ),
            // The note's and the checkpoint's lines are counted from the top of the file.
            (
                with("\n6\n", "\n06\n"),
                Some(7),
                "expected the tree size as a decimal number without leading zeros, found \"06\"",
            ),
            (
                format!("{good}junk\n"),
                Some(11),
                "expected a signature line",
            ),
        ];
        for (text, line, fragment) in cases {
            let err = InclusionProofFile::parse(&text).unwrap_err();
            assert_error(&err, ErrorKind::Corrupt, line, fragment);
            assert!(err.to_string().starts_with("tlog-proof"), "{err}");
        }
    }

    #[test]
    fn a_proof_file_that_would_not_read_back_is_not_written() {
        let cases = [
            (
                proof(6, 6, None),
                "expected an index below the checkpoint's tree size 6, found 6",
            ),
            (
                proof(0, 1, Some(Vec::new())),
                "expected extra data of at least one byte",
            ),
            (
                InclusionProofFile {
                    hashes: vec![[0; 32]; 65],
                    ..proof(0, 1, None)
                },
                "expected at most 64 inclusion proof hashes, found 65",
            ),
        ];
        for (p, fragment) in cases {
            let err = p.format().unwrap_err();
            assert_error(&err, ErrorKind::Encode, None, fragment);
        }
        let not_a_checkpoint = InclusionProofFile {
            checkpoint_note: Note::parse(&sign("hello\n", &key("a", 1)).unwrap()).unwrap(),
            ..proof(0, 1, None)
        };
        let err = not_a_checkpoint.format().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "the proof's note is not a checkpoint: checkpoint line 1: expected at least 3 lines",
        );
    }

    fn request(old_size: u64, size: u64, proof: usize) -> ConsistencyRequest {
        ConsistencyRequest {
            old_size,
            proof: vec![[3; 32]; proof],
            checkpoint_note: checkpoint_note(&key("example.com/log", 1), size),
        }
    }

    #[test]
    fn a_consistency_request_reads_back_what_it_writes() {
        for (old, size, hashes) in [(0, 0, 0), (0, 5, 0), (3, 7, 3), (7, 7, 0)] {
            let r = request(old, size, hashes);
            let text = r.format().unwrap();
            assert!(text.starts_with(&format!("old {old}\n")), "{text}");
            assert_eq!(text.lines().count(), 1 + hashes + 1 + 3 + 1 + 1, "{text}");
            let back = ConsistencyRequest::parse(&text).unwrap();
            assert_eq!(back, r);
            assert_eq!(back.checkpoint().unwrap().size, size);
        }
    }

    #[test]
    fn a_consistency_request_parser_refuses_each_malformed_case() {
        let good = request(3, 7, 2).format().unwrap();
        let h = format!("{}\n", BASE64.encode([3u8; 32]));
        let cases: Vec<(String, Option<u64>, &str)> = vec![
            (
                good.replacen("old 3", "old 03", 1),
                Some(1),
                "expected the old size as a decimal number without leading zeros, found \"03\"",
            ),
            (
                good.replacen("old 3", "size 3", 1),
                Some(1),
                "expected \"old <N>\", the size of the previous checkpoint, found \"size 3\"",
            ),
            (
                good.replacen("old 3", "old 8", 1),
                Some(1),
                "expected an old size of at most the checkpoint's tree size 7, found 8",
            ),
            (
                good.replacen("old 3", "old 0", 1),
                Some(1),
                "expected no consistency proof from an old size of 0, found 2 hashes",
            ),
            (
                good.replacen(&h, &h.repeat(70), 1),
                Some(65),
                "expected at most 63 consistency proof hashes and then an empty line, found more",
            ),
            (
                good.replacen(&h, "AAAA\n", 1),
                Some(2),
                "expected a hash of the consistency proof as the base64 of 32 bytes",
            ),
        ];
        for (text, line, fragment) in cases {
            let err = ConsistencyRequest::parse(&text).unwrap_err();
            assert_error(&err, ErrorKind::Corrupt, line, fragment);
            assert!(
                err.to_string().starts_with("add-checkpoint request line"),
                "{err}"
            );
        }
        let err = request(8, 7, 0).format().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected an old size of at most the checkpoint's tree size 7, found 8",
        );
        let err = request(0, 7, 1).format().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected no consistency proof from an old size of 0",
        );
        let err = request(1, 7, 64).format().unwrap_err();
        assert_error(
            &err,
            ErrorKind::Encode,
            None,
            "expected at most 63 consistency proof hashes, found 64",
        );
    }

    #[test]
    fn key_files_are_written_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        let k = key("example.com/log", 9);
        k.write_new_files(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("log.key.pub")) & 0o600, 0o600);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", *k.private_text())
        );
        assert_eq!(
            SigningKey::from_file(&path).unwrap().verifier(),
            k.verifier()
        );
        assert_eq!(
            VerifierKey::from_file(&dir.path().join("log.key.pub")).unwrap(),
            k.verifier()
        );
        // Neither file is overwritten.
        let err = key("example.com/log", 10)
            .write_new_files(&path)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert_eq!(
            SigningKey::from_file(&path).unwrap().verifier(),
            k.verifier()
        );
        // When the .pub file is there already, the new signer key file is removed again.
        let lone = dir.path().join("lone.key");
        std::fs::write(dir.path().join("lone.key.pub"), "x").unwrap();
        let err = k.write_new_files(&lone).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(err.to_string().contains("lone.key.pub"), "{err}");
        assert!(!lone.exists());
    }

    #[test]
    fn a_signer_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        key("example.com/log", 9).write_new_files(&path).unwrap();
        for mode in [0o640, 0o604, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = SigningKey::from_file(&path).unwrap_err();
            assert_eq!(err.path(), Some(path.as_path()));
            assert_error(
                &err,
                ErrorKind::Key,
                None,
                &format!(
                    "signer key file permissions are {mode:04o}; expected no access for group or others"
                ),
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(SigningKey::from_file(&path).is_ok());
    }

    #[test]
    fn a_binary_oversized_or_wrong_key_file_says_what_a_key_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let vkey = key("example.com/log", 9).verifier().to_string();
        let cases: [(&str, Vec<u8>, &str); 4] = [
            (
                "bin",
                vec![0xff; 32],
                "expected a signer key, \"PRIVATE+KEY+<name>+<key id>+<base64>\" on one line, found binary content (32 bytes)",
            ),
            (
                "big",
                vec![b'a'; 5000],
                "expected a signer key, \"PRIVATE+KEY+<name>+<key id>+<base64>\" on one line of at most 4096 bytes, found a file of 5000 bytes",
            ),
            (
                "pub",
                vkey.into_bytes(),
                "found a verifier key (the public half of a key)",
            ),
            (
                "two",
                b"PRIVATE+KEY+a+00000000+AA==\nmore\n".to_vec(),
                "found 2 lines",
            ),
        ];
        for (name, content, fragment) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = SigningKey::from_file(&path).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Key, "{err}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{}: ", path.display())) && text.contains(fragment),
                "{text}"
            );
        }
    }

    /// A FIFO named as a key or proof file must not hang the read (as issue 13,
    /// finding 8, for the HMAC key file).
    #[test]
    fn a_fifo_or_a_directory_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
        let sub = dir.path().join("dir");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        type Reader = fn(&Path) -> Option<Error>;
        let readers: [(Reader, &str, ErrorKind); 3] = [
            (
                |p| SigningKey::from_file(p).err(),
                "signer key file",
                ErrorKind::Key,
            ),
            (
                |p| VerifierKey::from_file(p).err(),
                "verifier key file",
                ErrorKind::Key,
            ),
            (
                |p| InclusionProofFile::from_file(p).err(),
                "proof file",
                ErrorKind::Corrupt,
            ),
        ];
        for (path, what) in [(&fifo, "FIFO"), (&sub, "directory")] {
            for (read, file, kind) in readers {
                // On a thread, so that a hang fails the test instead of stalling it.
                let (tx, rx) = std::sync::mpsc::channel();
                let p = path.clone();
                std::thread::spawn(move || tx.send(read(&p)).unwrap());
                let err = rx
                    .recv_timeout(std::time::Duration::from_secs(30))
                    .expect("the read returns instead of hanging")
                    .expect("refused");
                assert_eq!(err.kind(), kind);
                assert_eq!(
                    err.to_string(),
                    format!(
                        "{}: expected the {file} to be a regular file, found a {what}",
                        path.display()
                    )
                );
            }
        }
    }

    #[test]
    fn a_proof_file_read_from_disk_names_the_file_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.tlog-proof");
        let p = proof(2, 3, Some(vec![1, 2, 3]));
        std::fs::write(&path, p.format().unwrap()).unwrap();
        assert_eq!(InclusionProofFile::from_file(&path).unwrap(), p);
        std::fs::write(&path, p.format().unwrap().replacen("index 2", "index 3", 1)).unwrap();
        let err = InclusionProofFile::from_file(&path).unwrap_err();
        assert_eq!(err.line_number(), Some(3));
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: expected an index below the checkpoint's tree size 3, found 3",
                path.display()
            )
        );
        let mut bytes = p.format().unwrap().into_bytes();
        bytes.splice(0..0, b"\n\n\xff".iter().copied());
        std::fs::write(&path, bytes).unwrap();
        let err = InclusionProofFile::from_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: expected UTF-8 text, found an invalid byte 0xff",
                path.display()
            )
        );
        std::fs::write(&path, vec![b'a'; MAX_PROOF_BYTES + 1]).unwrap();
        let err = InclusionProofFile::from_file(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("of at most 2097152 bytes, found a file of 2097153 bytes"),
            "{err}"
        );
    }

    #[test]
    fn what_is_shown_of_hostile_text_is_escaped_and_bounded() {
        let s = format!("\u{202e}\u{1b}[2J{}", "x".repeat(100));
        let shown = shown(&s);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
            "{shown}"
        );
        assert!(shown.chars().count() < 80, "{shown}");
        assert!(shown.ends_with("(107 bytes)"), "{shown}");
    }
}
