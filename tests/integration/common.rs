//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use tracing_audit::storage::{Actor, Entry, Event, Writer};
use tracing_audit::verify::{Report, VerifyOptions, verify_dir};
use tracing_audit::{Key, Rotation, WriterConfig};

/// A fixed test key.
pub fn key() -> Key {
    Key::from_hex(&"5a".repeat(32)).unwrap()
}

pub fn config(dir: &Path) -> WriterConfig {
    WriterConfig::new(dir, "test-service", key())
}

/// A typical event: about 400 bytes on disk.
pub fn event(i: u64) -> Entry {
    let mut e = Event::new(if i.is_multiple_of(2) {
        "pool.deleted"
    } else {
        "auth.success"
    })
    .field("pool_id", format!("pool-{i}"))
    .field("attempt", i);
    e.category = Some("resources".into());
    e.actor = Actor::new(format!("user-{}", i % 5));
    e.actor.ip = Some("203.0.113.7".into());
    e.actor.auth = Some("oidc".into());
    e.actor.session = Some("s-1".into());
    e.request_id = Some(format!("req-{i}"));
    e.into()
}

/// Writes `events` events in batches of 10 with the given rotation, and closes.
pub fn write_trail(dir: &Path, events: u64, rotation: &str) {
    let mut c = config(dir);
    c.rotation = rotation.parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    let all: Vec<Entry> = (0..events).map(event).collect();
    for chunk in all.chunks(10) {
        w.append(chunk).unwrap();
    }
    w.close().unwrap();
}

/// The segment files in stream order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let stream = tracing_audit::storage::Stream::open(dir).unwrap();
    stream
        .segments()
        .iter()
        .map(|s| stream.segment_path(s))
        .collect()
}

pub fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

/// The lines of a file, each with its `\n`.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect()
}

/// Rewrites a (possibly read-only, sealed) file.
pub fn rewrite(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(path, content).unwrap();
}

pub fn verify(dir: &Path) -> Report {
    verify_dir(dir, &VerifyOptions::new().key(key())).unwrap()
}

/// A small tmpfs, unmounted on drop: a real disk that fills up.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size`. Needs root: the tests that use it are
    /// `#[ignore]`d, and `.ci/run` (as root) runs them with `--ignored`.
    ///
    /// # Panics
    /// When not root, saying so.
    pub fn mount(size: &str) -> SmallDisk {
        assert!(
            is_root(),
            "mounting a small tmpfs needs root: run as root with `-- --ignored`"
        );
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs failed as root");
        SmallDisk { dir }
    }

    /// Fills the disk with `filler`, then frees `room` bytes of it.
    pub fn fill_leaving(&self, room: u64) -> PathBuf {
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        loop {
            match std::io::Write::write_all(&mut f, &block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(room)).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

pub use tracing_audit_testkit::{Captured, dispatch, emit_range, events as trail_events};

/// True when the tests run as root.
pub fn is_root() -> bool {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&uid.stdout).trim() == "0"
}
