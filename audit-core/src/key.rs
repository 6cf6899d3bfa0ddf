//! HMAC keys: the key file, the key id, and the MAC of a record hash.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use hmac::Mac as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The domain-separation prefix hashed in front of the key to form its id.
const KEY_ID_DOMAIN: &[u8] = b"audit-trail key id v1\n";

/// The domain-separation label of the epoch key derivation (docs/FORMAT.md §5).
const EPOCH_DOMAIN: &[u8] = b"audit-trail epoch v2\n";

/// The first line of a version 2 (evolving) key file.
const KEY_FILE_V2: &str = "tracing-audit key v2";

/// A 32-byte HMAC-SHA256 key for one key epoch.
///
/// A stream's key evolves: the key of epoch `e + 1` is derived one-way from the
/// key of epoch `e` ([`Key::next_epoch`]), so whoever holds today's key cannot
/// compute yesterday's, and cannot forge yesterday's records. A `Key` carries its
/// [`epoch`](Key::epoch), the [`id`](Key::id) of the stream's *initial* key (epoch
/// 0, the same in every epoch) and the fingerprint subkey derived once from the
/// initial key (so fingerprints of redacted values correlate across epochs).
///
/// The key material is erased from memory when the `Key` is dropped. Neither
/// `Debug` nor any record ever shows it: trails carry only the [`Key::id`].
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
    /// The keyed HMAC state: as good as the key for forging MACs, so it lives at a
    /// fixed heap address and is overwritten when the key is dropped.
    mac: Box<HmacSha256>,
    epoch: u64,
    fingerprint: Zeroizing<[u8; 32]>,
}

impl Key {
    /// Builds the initial key (epoch 0) of a stream from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        let bytes = Zeroizing::new(bytes);
        let mut h = Sha256::new();
        h.update(KEY_ID_DOMAIN);
        h.update(&bytes[..]);
        let id = hex::encode(&h.finalize()[..8]);
        let mac = hmac_key(&bytes);
        let mut fingerprint = Zeroizing::new([0u8; 32]);
        let mut m = (*mac).clone();
        m.update(b"audit-trail fingerprint v1");
        fingerprint.copy_from_slice(&m.finalize().into_bytes());
        Key {
            bytes,
            id,
            mac,
            epoch: 0,
            fingerprint,
        }
    }

    /// The key epoch this key MACs records of: 0 for a stream's initial key.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The key of the next epoch:
    /// `K(e+1) = HMAC-SHA256(K(e), "audit-trail epoch v2\n" ‖ be64(e + 1))`.
    ///
    /// One-way: nothing computed from the new key gives back this one. The key id
    /// and the fingerprint subkey stay those of the initial key.
    ///
    /// # Panics
    /// Never in practice: after epoch `u64::MAX` the epoch saturates.
    pub fn next_epoch(&self) -> Key {
        let next = self.epoch.saturating_add(1);
        let mut m = (*self.mac).clone();
        m.update(EPOCH_DOMAIN);
        m.update(&next.to_be_bytes());
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&m.finalize().into_bytes());
        let mac = hmac_key(&bytes);
        Key {
            bytes,
            id: self.id.clone(),
            mac,
            epoch: next,
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// The key of `epoch`, derived forward from this one; `None` when `epoch` is
    /// earlier than this key's (the derivation is one-way).
    pub fn at_epoch(&self, epoch: u64) -> Option<Key> {
        if epoch < self.epoch {
            return None;
        }
        let mut key = self.clone();
        while key.epoch < epoch {
            key = key.next_epoch();
        }
        Some(key)
    }

    /// The subkey keyed fingerprints of redacted values are made with:
    /// `HMAC-SHA256(K(0), "audit-trail fingerprint v1")`, derived once from the
    /// initial key and carried unchanged through every epoch.
    pub fn fingerprint_key(&self) -> Key {
        Key::from_bytes(*self.fingerprint)
    }

    /// Generates a fresh random key from the operating system's generator.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] when the operating system cannot provide randomness.
    pub fn generate() -> Result<Key> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(
                ErrorKind::Key,
                format!("cannot get random bytes for a key: {e}"),
            )
        })?;
        let key = Key::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(key)
    }

    /// Parses the key file format: 64 hexadecimal characters, optionally followed by
    /// one newline.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] naming what was found instead.
    pub fn from_hex(text: &str) -> Result<Key> {
        let hex_part = text.strip_suffix('\n').unwrap_or(text);
        let hex_part = hex_part.strip_suffix('\r').unwrap_or(hex_part);
        let bytes = decode_hex_32(hex_part).map_err(|found| {
            Error::new(
                ErrorKind::Key,
                format!("expected 64 hexadecimal characters (32 bytes) on one line, found {found}"),
            )
        })?;
        Ok(Key::from_bytes(*bytes))
    }

    /// Reads a key file, refusing one that group or others may read or write.
    ///
    /// # Errors
    /// [`ErrorKind::Key`] for loose permissions or bad content, [`ErrorKind::Io`] when
    /// the file cannot be read. Errors name the file.
    pub fn from_file(path: &Path) -> Result<Key> {
        use std::io::Read as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        // Opened without blocking (a FIFO named as the key file would hang a plain
        // open) and checked on the open file: a regular file, or nothing is read.
        // Symbolic links are followed: key files are often mounted as links.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Error::io(path, "cannot read key file", e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(path, "cannot read key file", e))?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected the key file to be a regular file, found a {}",
                    crate::storage::describe(meta.file_type())
                ),
            )
            .at(path));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "key file permissions are {mode:04o}; expected no access for group or others (0600 or 0400); run `chmod 600` on it"
                ),
            )
            .at(path));
        }
        // A key file is 64 hex characters and a newline; anything much longer is not
        // one, and is not read into memory.
        if meta.len() > 1024 {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected 64 hexadecimal characters (32 bytes) on one line, found a file of {} bytes",
                    meta.len()
                ),
            )
            .at(path));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(128));
        std::io::Read::by_ref(&mut file)
            .take(1025)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, "cannot read key file", e))?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected 64 hexadecimal characters (32 bytes) on one line, found binary content ({} bytes)",
                    bytes.len()
                ),
            )
            .at(path));
        };
        Key::from_text(text).map_err(|e| e.at(path))
    }

    /// Parses either key file format: the initial key (64 hexadecimal characters on
    /// one line), or an evolved key (version 2: its epoch, the initial key's id and
    /// fingerprint subkey, and the epoch's key; docs/FORMAT.md §5).
    ///
    /// # Errors
    /// [`ErrorKind::Key`] naming the line and what was found instead.
    pub fn from_text(text: &str) -> Result<Key> {
        if !text.starts_with(KEY_FILE_V2) {
            return Key::from_hex(text);
        }
        let mut lines = text.lines();
        lines.next();
        let mut field = |n: usize, name: &str| -> Result<String> {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Key,
                        format!(
                            "line {n} of the version 2 key file: expected `{name} <value>`, found {:?}",
                            line.chars().take(40).collect::<String>()
                        ),
                    )
                })
        };
        let epoch_text = field(2, "epoch")?;
        let id = field(3, "id")?;
        let fp = Zeroizing::new(field(4, "fingerprint")?);
        let key_hex = Zeroizing::new(field(5, "key")?);
        let epoch = epoch_text.parse::<u64>().map_err(|_| {
            Error::new(
                ErrorKind::Key,
                format!("line 2 of the version 2 key file: expected an epoch number, found {epoch_text:?}"),
            )
        })?;
        if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "line 3 of the version 2 key file: expected a key id of 16 lowercase hexadecimal characters, found {id:?}"
                ),
            ));
        }
        let fingerprint = decode_hex_32(fp.as_str()).map_err(|found| {
            Error::new(
                ErrorKind::Key,
                format!("line 4 of the version 2 key file: expected 64 hexadecimal characters, found {found}"),
            )
        })?;
        let bytes = decode_hex_32(key_hex.as_str()).map_err(|found| {
            Error::new(
                ErrorKind::Key,
                format!("line 5 of the version 2 key file: expected 64 hexadecimal characters, found {found}"),
            )
        })?;
        let mac = hmac_key(&bytes);
        Ok(Key {
            bytes,
            id,
            mac,
            epoch,
            fingerprint,
        })
    }

    /// The key file text of this key: the initial key's 64 hexadecimal
    /// characters at epoch 0, the version 2 form after it.
    fn file_text(&self) -> Zeroizing<String> {
        if self.epoch == 0 {
            let mut text = Zeroizing::new(hex::encode(&self.bytes[..]));
            text.push('\n');
            return text;
        }
        Zeroizing::new(format!(
            "{KEY_FILE_V2}\nepoch {}\nid {}\nfingerprint {}\nkey {}\n",
            self.epoch,
            self.id,
            Zeroizing::new(hex::encode(&self.fingerprint[..])).as_str(),
            Zeroizing::new(hex::encode(&self.bytes[..])).as_str(),
        ))
    }

    /// Replaces the key file at `path` with this key, atomically: a new file (mode
    /// 0600) beside it is written and fsynced, renamed over `path`, and the
    /// directory fsynced. The old file's content is gone once the rename is
    /// durable (the file system may keep freed blocks: keep key files on an
    /// encrypted volume).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the file; `path` is then unchanged.
    pub fn replace_file(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.new"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, "cannot create the new key file", e))?;
        f.write_all(self.file_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, "cannot write the new key file", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot replace key file", e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, "cannot fsync directory", e))
    }

    /// Writes this key to a new file with mode 0600, refusing to overwrite one.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file exists or cannot be written.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, "cannot create key file", e))?;
        f.write_all(self.file_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(path, "cannot write key file", e))
    }

    /// The key id: the first 16 hexadecimal characters of
    /// `SHA-256("audit-trail key id v1\n" ‖ key)` of the stream's *initial* key
    /// (the same in every epoch). Safe to publish.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `HMAC-SHA256(key, hash)`, the `mac` of a record whose `hash` is given.
    pub fn mac(&self, hash: &[u8; 32]) -> [u8; 32] {
        let mut m = (*self.mac).clone();
        m.update(hash);
        m.finalize().into_bytes().into()
    }

    /// `HMAC-SHA256(key, data)` over any bytes.
    pub fn mac_bytes(&self, data: &[u8]) -> [u8; 32] {
        let mut m = (*self.mac).clone();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// A subkey for another purpose: `HMAC-SHA256(key, "audit-trail " ‖ purpose ‖ " v1")`.
    ///
    /// One key file can then serve record MACs and, say, value fingerprints, and
    /// nothing computed with the subkey reveals anything about the MAC key.
    pub fn derive(&self, purpose: &str) -> Key {
        let label = format!("audit-trail {purpose} v1");
        let mut bytes = self.mac_bytes(label.as_bytes());
        let key = Key::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        key
    }
}

/// Keyed fingerprints of redacted values (docs/FORMAT.md §5.1):
/// `hmac-sha256:<key id>:<64 hex>`, `HMAC-SHA256(F, UTF-8 value)` with the
/// fingerprint subkey `F` of the stream's initial key ([`Key::fingerprint_key`]),
/// the same in every key epoch. The one definition the layer writes and
/// `audit hash` prints.
///
/// ```
/// use tracing_audit_core::{Fingerprinter, Key};
///
/// let key = Key::from_bytes([0; 32]);
/// let f = Fingerprinter::new(&key);
/// assert_eq!(
///     f.fingerprint("hunter2"),
///     "hmac-sha256:a420d7df5e6fee2d:4d0fb7c3d18e6d625060a2075016e3fa97a93104988e05c7daa272f6c15dd3c6"
/// );
/// assert_eq!(Fingerprinter::new(&key.next_epoch()).fingerprint("hunter2"), f.fingerprint("hunter2"));
/// ```
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    subkey: Key,
    key_id: String,
}

impl Fingerprinter {
    /// Fingerprints made with the fingerprint subkey of `key`, labelled with
    /// `key`'s id so an investigator knows which key to ask for.
    pub fn new(key: &Key) -> Fingerprinter {
        Fingerprinter {
            subkey: key.fingerprint_key(),
            key_id: key.id().to_owned(),
        }
    }

    /// True when `value` is already a fingerprint made with this key (redacted at
    /// the source), so a second pass leaves it as it is.
    pub fn is_fingerprint(&self, value: &str) -> bool {
        value
            .strip_prefix("hmac-sha256:")
            .and_then(|r| r.strip_prefix(self.key_id.as_str()))
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// `hmac-sha256:<key id>:<64 hex>` of `value`.
    pub fn fingerprint(&self, value: &str) -> String {
        let mac = self.subkey.mac_bytes(value.as_bytes());
        format!("hmac-sha256:{}:{}", self.key_id, hex::encode(mac))
    }
}

/// Decodes 64 hexadecimal characters into 32 bytes; otherwise says what was found
/// in characters, not bytes (a non-ASCII character is named whole, with its code
/// point: the `hex` crate's error names a single byte of it as a character, which
/// prints as mojibake such as `Ã`).
fn decode_hex_32(text: &str) -> std::result::Result<Zeroizing<[u8; 32]>, String> {
    let count = text.chars().count();
    if count != 64 {
        return Err(format!("{count} characters"));
    }
    if let Some((i, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        let shown = if c.is_ascii_graphic() || c == ' ' {
            format!("{c:?}")
        } else if c.is_alphanumeric() {
            format!("'{c}' (U+{:04X})", u32::from(c))
        } else {
            // A control, a combining mark, a bidirectional control: its code point
            // only, so that nothing reaches a terminal raw.
            format!("U+{:04X}", u32::from(c))
        };
        return Err(format!("{shown} at character {}", i + 1));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    // Infallible: 64 ASCII hexadecimal digits are 32 bytes of hex.
    hex::decode_to_slice(text, &mut bytes[..]).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// An HMAC-SHA256 instance keyed with `bytes`.
fn hmac_key(bytes: &[u8; 32]) -> Box<HmacSha256> {
    // Infallible: HMAC accepts keys of any length.
    Box::new(
        <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(&bytes[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
    )
}

impl Drop for Key {
    /// Overwrites the keyed HMAC state in place (the key bytes are `Zeroizing`):
    /// the `hmac` crate does not zeroise, and its precomputed inner and outer
    /// states would let whoever reads freed memory MAC records with this key.
    fn drop(&mut self) {
        *self.mac = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(&[0u8; 32])
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // Keeps the store from being removed as dead.
        std::hint::black_box(&*self.mac);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_and_mac_are_stable() {
        let key = Key::from_hex(&"00".repeat(32)).unwrap();
        let mut h = Sha256::new();
        h.update(b"audit-trail key id v1\n");
        h.update([0u8; 32]);
        assert_eq!(key.id(), &hex::encode(h.finalize())[..16]);
        assert_eq!(key.id().len(), 16);
        let mac = key.mac(&[0u8; 32]);
        let mut m = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(&[0u8; 32]).unwrap();
        m.update(&[0u8; 32]);
        assert_eq!(mac.as_slice(), m.finalize().into_bytes().as_slice());
    }

    #[test]
    fn bad_key_text_is_rejected_with_what_was_found() {
        let err = Key::from_hex("abc").unwrap_err();
        assert!(err.to_string().contains("found 3 characters"), "{err}");
        let err = Key::from_hex(&"zz".repeat(32)).unwrap_err();
        assert!(err.to_string().contains("hexadecimal"), "{err}");
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_from_the_parent() {
        let key = Key::from_hex(&"00".repeat(32)).unwrap();
        let a = key.derive("fingerprint");
        let b = key.derive("other");
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), key.id());
        assert_eq!(a.id(), key.derive("fingerprint").id());
        assert_eq!(
            a.mac_bytes(b"x"),
            Key::from_bytes(key.mac_bytes(b"audit-trail fingerprint v1")).mac_bytes(b"x")
        );
    }

    #[test]
    fn key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        Key::generate().unwrap().write_new_file(&path).unwrap();
        assert!(Key::from_file(&path).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Key::from_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key);
        assert!(err.to_string().contains("0644"), "{err}");
    }

    /// Issue 10, item 6: a binary key file said "stream did not contain valid UTF-8";
    /// a huge one was read whole into memory.
    #[test]
    fn a_binary_or_oversized_key_file_says_what_a_key_file_is() {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [("bin", vec![0xff_u8; 32]), ("big", vec![b'a'; 4096])] {
            let path = dir.path().join(name);
            std::fs::write(&path, &content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = Key::from_file(&path).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Key, "{err}");
            let text = err.to_string();
            assert!(
                text.contains("expected 64 hexadecimal characters") && text.contains(name),
                "{text}"
            );
        }
    }

    /// Issue 13, finding 8: a FIFO as the key file hung `audit verify` (and the
    /// writer's start-up) in `open`.
    #[test]
    fn a_fifo_or_a_directory_as_the_key_file_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.key");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
        let sub = dir.path().join("dir.key");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        for (path, what) in [(&fifo, "FIFO"), (&sub, "directory")] {
            // On a thread, so that a hang fails the test instead of stalling it.
            let (tx, rx) = std::sync::mpsc::channel();
            let p = path.clone();
            std::thread::spawn(move || tx.send(Key::from_file(&p).map(|_| ())).unwrap());
            let err = rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("from_file returns instead of hanging")
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: expected the key file to be a regular file, found a {what}",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn debug_does_not_show_key_material() {
        let key = Key::from_hex(&"ab".repeat(32)).unwrap();
        assert!(!format!("{key:?}").contains("abab"));
    }

    /// Issue 13, finding 10 (c): a key file of non-ASCII characters gave
    /// "found Invalid character 'Ã' at position 0" (one byte of `é` shown as a
    /// character), or "found 64 characters" for 64 characters of 128 bytes.
    #[test]
    fn finding_10c_a_non_ascii_key_file_is_described_in_characters() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("é".repeat(32), "found 32 characters"),
            ("é".repeat(64), "found 'é' (U+00E9) at character 1"),
            (
                format!("{}x\u{202e}", "ab".repeat(31)),
                "found 'x' at character 63",
            ),
            (
                format!("{}a\u{202e}", "ab".repeat(31)),
                "found U+202E at character 64",
            ),
        ];
        for (text, expected) in cases {
            let path = dir.path().join("key");
            std::fs::write(&path, format!("{text}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = Key::from_file(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains('Ã') && !err.contains('\u{202e}'), "{err}");
            let err = Key::from_hex(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
