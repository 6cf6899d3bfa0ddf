//! Configuration from the environment, with the names operators already use.

use std::path::PathBuf;

use tracing_audit_core::note::SigningKey;
use tracing_audit_core::{Durability, Key, Rotation, WriterConfig};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::{AuditBuilder, AuditError, ErrorKind, Overflow};

/// The environment variables read by [`AuditBuilder::from_env`] (and `RUST_LOG`, read
/// by [`init_from_env`](crate::init_from_env) alone), each with what it accepts.
///
/// | variable | accepted values | default |
/// |---|---|---|
/// | `AUDIT_ENABLED` | `true`, or `false`: nothing is recorded ([`AuditBuilder::from_env`] returns `Ok(None)`; `init_from_env` installs the console alone and says so on standard error) | `true` |
/// | `AUDIT_STORAGE_BACKEND` | `local`, the only backend so far | `local` |
/// | `AUDIT_STORAGE_PATH` | the stream directory, created if missing | `./audit-trail` |
/// | `AUDIT_SERVICE` | the service name written in every event | the executable's name |
/// | `AUDIT_HMAC_KEY_FILE` | the key file, mode 0600 or 0400 (`audit keygen FILE` creates one, and a verifier copy `FILE.verifier` to keep offline); the writer replaces it with each new key epoch's key, so its directory must be writable | none: required |
/// | `AUDIT_SIGNING_KEY_FILE` | the Ed25519 key that signs checkpoints (`audit keygen --signing FILE` creates one); without it no checkpoint is written and records cut off the end cannot be detected | none (no checkpoints) |
/// | `AUDIT_CHECKPOINT_INTERVAL` | how often a checkpoint is signed while records arrive | `1s` |
/// | `AUDIT_CHECKPOINT_HEARTBEAT` | the longest time without a checkpoint, even when idle | `5min` |
/// | `AUDIT_CHECKPOINT_COPY` | where a copy of every checkpoint goes, comma-separated `dir:/path` (keep it in another trust domain) | none |
/// | `AUDIT_WITNESS_COMMAND` | a witness command each checkpoint is submitted to (program and arguments, split at spaces) as an add-checkpoint request on its standard input, such as `ssh -T audit-witness@witness-host`, where the witness host's `authorized_keys` fixes what runs: `command="audit witness add --state /var/lib/audit-witness --key /etc/audit-witness/witness.key --log-key /etc/audit-witness/myservice.pub",restrict ssh-ed25519 …` (the log host must not choose the witness's state or key, or root on it could start a fresh state and get a fork cosigned); the cosigned checkpoint is kept as `checkpoint.cosigned`; not with `AUDIT_WITNESS_SPOOL` | none |
/// | `AUDIT_WITNESS_SPOOL` | a spool directory, on a mount the witness host also reaches, where each checkpoint is written as an add-checkpoint request and the answer of `audit witness serve --spool DIR --state … --key … --log-key …` (run on the witness host, which alone names its state and key) awaited, 30 s at most; the cosigned checkpoint is kept as `checkpoint.cosigned`; not with `AUDIT_WITNESS_COMMAND` | none |
/// | `AUDIT_EPOCH_INTERVAL` | how often the key epoch advances when no rotation does | `1h` |
/// | `AUDIT_FSYNC` | `batch` (fsync after every batch), `interval:<duration>` such as `interval:200ms`, or `never` | `batch` |
/// | `AUDIT_ROTATION` | `daily`, `hourly`, `size:<size>` such as `size:64MiB`, one period and one size comma-separated (`daily,size:64MiB`), or `never` | `daily,size:128MiB` |
/// | `AUDIT_OVERFLOW` | `block` (lossless), `block:<duration>` such as `block:50ms` (then drop, with a `gap` record), or `drop` | `block` |
/// | `AUDIT_CATALOG` | the action catalog file, also read by the macros at compile time; at run time it fills the categories and redacts the sensitive fields of events emitted without the macros | none |
/// | `RUST_LOG` | `init_from_env` only: `EnvFilter` directives for the console, such as `warn` or `info,my_crate=debug`; audit events never reach the console and `RUST_LOG` cannot turn them off | `info` |
///
/// Durations are read by the [`humantime`](https://docs.rs/humantime) crate (`200ms`,
/// `2s`, `1min`); sizes by the [`bytesize`](https://docs.rs/bytesize) crate (`KiB`,
/// `MiB`, `GiB` are powers of 1024; `kB`, `MB`, `GB` powers of 1000). Any other value
/// is an error ([`ErrorKind::Config`]) that names the variable, what was expected and
/// what was found.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("AUDIT_ENABLED", "`true` (default) or `false`"),
    (
        "AUDIT_STORAGE_BACKEND",
        "`local` (the default and only backend)",
    ),
    (
        "AUDIT_STORAGE_PATH",
        "the stream directory (default `./audit-trail`)",
    ),
    (
        "AUDIT_SERVICE",
        "the service name written in every event (default: the executable's name)",
    ),
    (
        "AUDIT_HMAC_KEY_FILE",
        "the key file (required; create one with `audit keygen FILE`)",
    ),
    (
        "AUDIT_SIGNING_KEY_FILE",
        "the Ed25519 key that signs checkpoints (optional but recommended: without it no checkpoint is written, and truncation is not detectable; create one with `audit keygen --signing FILE`)",
    ),
    (
        "AUDIT_CHECKPOINT_INTERVAL",
        "how often a checkpoint is signed while records arrive (default `1s`)",
    ),
    (
        "AUDIT_CHECKPOINT_HEARTBEAT",
        "the longest time without a checkpoint, even when idle (default `5min`)",
    ),
    (
        "AUDIT_CHECKPOINT_COPY",
        "where copies of every checkpoint go, comma-separated `dir:/path` (keep them in another trust domain)",
    ),
    (
        "AUDIT_WITNESS_COMMAND",
        "a witness command each checkpoint is submitted to (program and arguments, split at spaces), such as `ssh -T audit-witness@witness-host` with the `audit witness add …` command fixed on the witness host (`command=` in its authorized_keys), never chosen by the log host; not with AUDIT_WITNESS_SPOOL",
    ),
    (
        "AUDIT_WITNESS_SPOOL",
        "a spool directory shared with the witness host, where each checkpoint is written as a request that `audit witness serve --spool DIR …` on the witness host answers; not with AUDIT_WITNESS_COMMAND",
    ),
    (
        "AUDIT_EPOCH_INTERVAL",
        "how often the key epoch advances even without a rotation (default `1h`)",
    ),
    (
        "AUDIT_FSYNC",
        "`batch` (default), `interval:<duration>` such as `interval:200ms`, or `never`",
    ),
    (
        "AUDIT_ROTATION",
        "`daily`, `hourly`, `size:<size>` such as `size:64MiB`, one period and one size comma-separated, or `never` (default `daily,size:128MiB`)",
    ),
    (
        "AUDIT_OVERFLOW",
        "`block` (default), `block:<duration>` such as `block:50ms` (then drop with a gap record), or `drop`",
    ),
    (
        "AUDIT_CATALOG",
        "the action catalog file (optional; at run time it fills categories and redacts sensitive fields of events emitted without the macros)",
    ),
    (
        "RUST_LOG",
        "`init_from_env` only: the console's `EnvFilter` directives (default `info`); never filters audit events",
    ),
];

fn bad(var: &str, expected: &str, found: &str) -> AuditError {
    AuditError::new(
        ErrorKind::Config,
        format!("{var}: expected {expected}, found {found:?}"),
    )
}

impl AuditBuilder {
    /// Reads the configuration from the environment (see [`ENV_VARS`]).
    ///
    /// Returns `Ok(None)` when `AUDIT_ENABLED=false`.
    ///
    /// # Errors
    /// A missing key file variable or a bad value, naming the variable, what was
    /// expected and what was found; or a key file that cannot be used.
    pub fn from_env() -> Result<Option<AuditBuilder>, AuditError> {
        AuditBuilder::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`AuditBuilder::from_env`], reading variables through `get`.
    ///
    /// # Errors
    /// As [`AuditBuilder::from_env`].
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<AuditBuilder>, AuditError> {
        if let Some(v) = get("AUDIT_ENABLED") {
            match v.trim() {
                "true" => {}
                "false" => return Ok(None),
                _ => return Err(bad("AUDIT_ENABLED", "`true` or `false`", &v)),
            }
        }
        if let Some(v) = get("AUDIT_STORAGE_BACKEND")
            && v.trim() != "local"
        {
            return Err(bad(
                "AUDIT_STORAGE_BACKEND",
                "`local` (the only backend so far)",
                &v,
            ));
        }
        let path = match get("AUDIT_STORAGE_PATH") {
            Some(v) if v.trim().is_empty() => {
                return Err(bad(
                    "AUDIT_STORAGE_PATH",
                    "a directory (created if missing)",
                    &v,
                ));
            }
            Some(v) => PathBuf::from(v),
            None => PathBuf::from("./audit-trail"),
        };
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && !meta.is_dir()
        {
            return Err(AuditError::new(
                ErrorKind::Config,
                format!(
                    "AUDIT_STORAGE_PATH: expected a directory (created if missing), found a {} at {}",
                    if meta.is_symlink() {
                        "symbolic link"
                    } else {
                        "file"
                    },
                    path.display()
                ),
            ));
        }
        let service = match get("AUDIT_SERVICE") {
            Some(v) if v.trim().is_empty() => {
                return Err(bad("AUDIT_SERVICE", "the service name", &v));
            }
            Some(v) => v,
            None => default_service(),
        };
        let key_file = match get("AUDIT_HMAC_KEY_FILE") {
            Some(v) if !v.trim().is_empty() => v,
            found => {
                let found = if found.is_some() {
                    "an empty value"
                } else {
                    "it unset"
                };
                return Err(AuditError::new(
                    ErrorKind::Config,
                    format!(
                        "AUDIT_HMAC_KEY_FILE: expected the path of a key file (create one with `audit keygen FILE`), found {found}"
                    ),
                ));
            }
        };
        let key = Key::from_file(key_file.as_ref()).map_err(|e| {
            let hint = if e.kind() == tracing_audit_core::ErrorKind::Io {
                " (`audit keygen FILE` creates a key file)"
            } else {
                ""
            };
            AuditError::with_core(
                ErrorKind::Config,
                format_args!("AUDIT_HMAC_KEY_FILE{hint}"),
                e,
            )
        })?;
        let mut writer = WriterConfig::new(path, service, key).key_file(&key_file);
        if let Some(v) = get("AUDIT_SIGNING_KEY_FILE").filter(|v| !v.trim().is_empty()) {
            let signer = SigningKey::from_file(v.as_ref()).map_err(|e| {
                AuditError::with_core(
                    ErrorKind::Config,
                    "AUDIT_SIGNING_KEY_FILE (`audit keygen --signing FILE` creates one)",
                    e,
                )
            })?;
            writer = writer.signing_key(signer);
        }
        for (var, set) in [
            ("AUDIT_CHECKPOINT_INTERVAL", 0),
            ("AUDIT_CHECKPOINT_HEARTBEAT", 1),
            ("AUDIT_EPOCH_INTERVAL", 2),
        ] {
            let Some(v) = get(var) else { continue };
            let d = tracing_audit_core::parse_duration(&v)
                .map_err(|e| AuditError::with_core(ErrorKind::Config, var, e))?;
            // A zero heartbeat or epoch interval would write a record at every idle
            // tick (someone may write `0` to mean "off").
            if set > 0 && d < std::time::Duration::from_secs(1) {
                return Err(bad(var, "a duration of at least 1s", &v));
            }
            writer = match set {
                0 => writer.checkpoint_interval(d),
                1 => writer.checkpoint_heartbeat(d),
                _ => writer.epoch_interval(Some(d)),
            };
        }
        let command = get("AUDIT_WITNESS_COMMAND").filter(|v| !v.trim().is_empty());
        let spool = get("AUDIT_WITNESS_SPOOL").filter(|v| !v.trim().is_empty());
        match (command, spool) {
            (Some(_), Some(_)) => {
                return Err(AuditError::new(
                    ErrorKind::Config,
                    "AUDIT_WITNESS_COMMAND and AUDIT_WITNESS_SPOOL: expected one way to reach the witness, found both set",
                ));
            }
            (Some(v), None) => {
                writer = writer.witness_command(v.split_whitespace().map(str::to_owned).collect());
            }
            (None, Some(v)) => writer = writer.witness_spool(v),
            (None, None) => {}
        }
        if let Some(v) = get("AUDIT_CHECKPOINT_COPY").filter(|v| !v.trim().is_empty()) {
            for part in v.split(',') {
                match part.trim().strip_prefix("dir:") {
                    Some(d) if !d.is_empty() => writer = writer.checkpoint_copy(d),
                    _ => {
                        return Err(bad(
                            "AUDIT_CHECKPOINT_COPY",
                            "comma-separated destinations `dir:/path` (the only kind so far)",
                            part,
                        ));
                    }
                }
            }
        }
        if let Some(v) = get("AUDIT_FSYNC") {
            writer.durability = v
                .parse::<Durability>()
                .map_err(|e| AuditError::with_core(ErrorKind::Config, "AUDIT_FSYNC", e))?;
        }
        if let Some(v) = get("AUDIT_ROTATION") {
            writer.rotation = v
                .parse::<Rotation>()
                .map_err(|e| AuditError::with_core(ErrorKind::Config, "AUDIT_ROTATION", e))?;
        }
        let mut builder = AuditBuilder::new(writer);
        if let Some(v) = get("AUDIT_OVERFLOW") {
            builder = builder.overflow(parse_overflow(&v)?);
        }
        if let Some(v) = get("AUDIT_CATALOG").filter(|v| !v.is_empty()) {
            let catalog = tracing_audit_catalog::Catalog::load(v.as_ref())
                .map_err(|e| AuditError::new(ErrorKind::Config, format!("AUDIT_CATALOG: {e}")))?;
            builder = builder.catalog(catalog);
        }
        Ok(Some(builder))
    }
}

fn parse_overflow(v: &str) -> Result<Overflow, AuditError> {
    let expected = "`block`, `block:<duration>` (such as `block:50ms`) or `drop`";
    match v.trim() {
        "block" => Ok(Overflow::Block),
        "drop" => Ok(Overflow::Drop),
        t => match t.strip_prefix("block:") {
            Some(d) => tracing_audit_core::parse_duration(d)
                .map(Overflow::BlockTimeout)
                .map_err(|e| {
                    AuditError::new(
                        ErrorKind::Config,
                        format!("AUDIT_OVERFLOW: expected {expected}, found {v:?}: {e}"),
                    )
                }),
            None => Err(bad("AUDIT_OVERFLOW", expected, v)),
        },
    }
}

/// The console's filter in [`init_from_env`](crate::init_from_env): the `EnvFilter`
/// directives of `RUST_LOG` (`rust_log`), or `info` when it is unset or empty.
pub(crate) fn console_filter(rust_log: Option<&str>) -> Result<EnvFilter, AuditError> {
    let text = rust_log.unwrap_or_default();
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(text)
        .map_err(|e| {
            AuditError::new(
                ErrorKind::Config,
                format!(
                    "RUST_LOG: expected `EnvFilter` directives such as `warn` or `info,my_crate=debug`, found {text:?} ({e})"
                ),
            )
        })
}

fn default_service() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown-service".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Duration;

    fn with(vars: &[(&str, &str)]) -> Result<Option<AuditBuilder>, AuditError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        AuditBuilder::from_lookup(|n| map.get(n).cloned())
    }

    fn key_file(dir: &std::path::Path) -> String {
        let p = dir.join("k");
        std::fs::write(&p, "ab".repeat(32)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p.to_str().unwrap().to_owned()
    }

    /// Issue 10, item 6: an empty key variable gave "AUDIT_HMAC_KEY_FILE: : cannot
    /// read key file", and a storage path that is a file failed later, elsewhere.
    #[test]
    fn an_empty_key_variable_and_a_storage_path_that_is_a_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = with(&[("AUDIT_HMAC_KEY_FILE", "")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AUDIT_HMAC_KEY_FILE: expected the path of a key file")
                && err.ends_with("found an empty value"),
            "{err}"
        );
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let kf = key_file(dir.path());
        let err = with(&[
            ("AUDIT_STORAGE_PATH", file.to_str().unwrap()),
            ("AUDIT_HMAC_KEY_FILE", &kf),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = err.to_string();
        assert!(
            err.starts_with("AUDIT_STORAGE_PATH: expected a directory")
                && err.contains("found a file at"),
            "{err}"
        );
    }

    /// Red-team finding: a key file that does not exist said only "No such
    /// file", without the way to create one that the unset variable's message has.
    #[test]
    fn a_missing_key_file_says_how_to_create_one() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.key");
        let err = with(&[("AUDIT_HMAC_KEY_FILE", missing.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AUDIT_HMAC_KEY_FILE (`audit keygen FILE` creates a key file): "),
            "{err}"
        );
        assert!(err.contains("nope.key"), "{err}");
    }

    #[test]
    fn reads_every_variable() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        let b = with(&[
            ("AUDIT_STORAGE_PATH", "/var/log/audit/x"),
            ("AUDIT_SERVICE", "pool-manager"),
            ("AUDIT_HMAC_KEY_FILE", &kf),
            ("AUDIT_FSYNC", "interval:200ms"),
            ("AUDIT_ROTATION", "hourly"),
            ("AUDIT_OVERFLOW", "block:50ms"),
            ("AUDIT_STORAGE_BACKEND", "local"),
            ("AUDIT_ENABLED", "true"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(b.writer.dir, PathBuf::from("/var/log/audit/x"));
        assert_eq!(b.writer.service, "pool-manager");
        assert_eq!(
            b.writer.durability,
            Durability::Interval(Duration::from_millis(200))
        );
        assert_eq!(
            b.writer.rotation.period,
            Some(tracing_audit_core::Period::Hourly)
        );
        assert_eq!(
            b.overflow,
            Overflow::BlockTimeout(Duration::from_millis(50))
        );
    }

    #[test]
    fn disabled_means_none() {
        assert!(with(&[("AUDIT_ENABLED", "false")]).unwrap().is_none());
    }

    /// Issue 10, item 8: every rejected value's message names the variable, the
    /// documented values and what was found. `1|yes|on`, `always|off`, `none` and
    /// upper case worked undocumented; `daily,hourly` silently kept the last period.
    #[test]
    fn each_rejected_value_says_the_variable_the_documented_values_and_what_was_found() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        let rotation = "AUDIT_ROTATION: expected rotation `daily`, `hourly`, `size:<size>` (such as `size:64MiB`), one period and one size comma-separated (`daily,size:64MiB`), or `never`; found";
        let fsync = "AUDIT_FSYNC: expected durability `batch`, `never` or `interval:<duration>` (such as `interval:200ms`), found";
        let overflow = "AUDIT_OVERFLOW: expected `block`, `block:<duration>` (such as `block:50ms`) or `drop`, found";
        let cases: &[(&str, &str, String)] = &[
            (
                "AUDIT_ENABLED",
                "maybe",
                "AUDIT_ENABLED: expected `true` or `false`, found \"maybe\"".into(),
            ),
            (
                "AUDIT_ENABLED",
                "1",
                "AUDIT_ENABLED: expected `true` or `false`, found \"1\"".into(),
            ),
            (
                "AUDIT_ENABLED",
                "yes",
                "AUDIT_ENABLED: expected `true` or `false`, found \"yes\"".into(),
            ),
            (
                "AUDIT_ENABLED",
                "off",
                "AUDIT_ENABLED: expected `true` or `false`, found \"off\"".into(),
            ),
            (
                "AUDIT_ENABLED",
                "TRUE",
                "AUDIT_ENABLED: expected `true` or `false`, found \"TRUE\"".into(),
            ),
            (
                "AUDIT_STORAGE_BACKEND",
                "s3",
                "AUDIT_STORAGE_BACKEND: expected `local` (the only backend so far), found \"s3\""
                    .into(),
            ),
            (
                "AUDIT_STORAGE_PATH",
                "",
                "AUDIT_STORAGE_PATH: expected a directory (created if missing), found \"\"".into(),
            ),
            (
                "AUDIT_SERVICE",
                " ",
                "AUDIT_SERVICE: expected the service name, found \" \"".into(),
            ),
            ("AUDIT_FSYNC", "sometimes", format!("{fsync} \"sometimes\"")),
            ("AUDIT_FSYNC", "always", format!("{fsync} \"always\"")),
            ("AUDIT_FSYNC", "off", format!("{fsync} \"off\"")),
            (
                "AUDIT_FSYNC",
                "interval:200",
                format!(
                    "{fsync} \"interval:200\": expected a duration such as `200ms`, `2s` or `1min`, found \"200\" (time unit needed, for example 200sec or 200ms)"
                ),
            ),
            (
                "AUDIT_ROTATION",
                "weekly",
                format!("{rotation} \"weekly\": \"weekly\" is none of these"),
            ),
            (
                "AUDIT_ROTATION",
                "none",
                format!("{rotation} \"none\": \"none\" is none of these"),
            ),
            (
                "AUDIT_ROTATION",
                "daily,hourly",
                format!("{rotation} \"daily,hourly\": two periods, `daily` and `hourly`"),
            ),
            (
                "AUDIT_ROTATION",
                "size:1MiB,size:2MiB",
                format!("{rotation} \"size:1MiB,size:2MiB\": two sizes"),
            ),
            (
                "AUDIT_ROTATION",
                "never,daily",
                format!("{rotation} \"never,daily\": `never` beside another rule"),
            ),
            (
                "AUDIT_ROTATION",
                "size:0",
                format!("{rotation} \"size:0\": a size of zero"),
            ),
            ("AUDIT_OVERFLOW", "spill", format!("{overflow} \"spill\"")),
            ("AUDIT_OVERFLOW", "BLOCK", format!("{overflow} \"BLOCK\"")),
            (
                "AUDIT_OVERFLOW",
                "block:soon",
                format!(
                    "{overflow} \"block:soon\": expected a duration such as `200ms`, `2s` or `1min`, found \"soon\" (expected number at 0)"
                ),
            ),
        ];
        for (var, val, message) in cases {
            let err = with(&[("AUDIT_HMAC_KEY_FILE", &kf), (var, val)])
                .err()
                .unwrap_or_else(|| panic!("{var}={val:?} was accepted"));
            assert_eq!(err.kind(), ErrorKind::Config);
            assert_eq!(&err.to_string(), message, "{var}={val:?}");
        }
        let err = with(&[]).err().unwrap().to_string();
        assert!(err.contains("AUDIT_HMAC_KEY_FILE"), "{err}");
    }

    #[test]
    fn the_documented_values_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        for (var, val) in [
            ("AUDIT_ENABLED", "true"),
            ("AUDIT_FSYNC", "batch"),
            ("AUDIT_FSYNC", "never"),
            ("AUDIT_FSYNC", "interval:2s"),
            ("AUDIT_ROTATION", "daily"),
            ("AUDIT_ROTATION", "never"),
            ("AUDIT_ROTATION", "daily,size:64MiB"),
            ("AUDIT_ROTATION", "size:1GiB"),
            ("AUDIT_OVERFLOW", "block"),
            ("AUDIT_OVERFLOW", "drop"),
            ("AUDIT_OVERFLOW", "block:1min"),
        ] {
            assert!(
                with(&[("AUDIT_HMAC_KEY_FILE", &kf), (var, val)])
                    .unwrap()
                    .is_some(),
                "{var}={val}"
            );
        }
    }

    #[test]
    fn rust_log_is_read_as_env_filter_directives_and_a_bad_one_is_named() {
        for ok in [None, Some(""), Some("warn"), Some("info,my_crate=debug")] {
            assert!(console_filter(ok).is_ok(), "{ok:?}");
        }
        assert_eq!(
            console_filter(None).unwrap().max_level_hint(),
            Some(LevelFilter::INFO)
        );
        assert_eq!(
            console_filter(Some("warn")).unwrap().max_level_hint(),
            Some(LevelFilter::WARN)
        );
        let err = console_filter(Some("my_crate=loud")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string().starts_with(
                "RUST_LOG: expected `EnvFilter` directives such as `warn` or `info,my_crate=debug`, found \"my_crate=loud\" ("
            ),
            "{err}"
        );
    }

    /// Issue 10, item 7: the table in `ENV_VARS`'s documentation lists exactly the
    /// variables of `ENV_VARS`, in the same order, so the two cannot drift apart.
    #[test]
    fn the_documented_table_lists_every_variable() {
        let source = include_str!("config.rs");
        let docs = &source[..source.find("pub const ENV_VARS").unwrap()];
        let rows: Vec<&str> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("/// | `"))
            .filter_map(|l| l.split_once('`').map(|(name, _)| name))
            .collect();
        let names: Vec<&str> = ENV_VARS.iter().map(|(n, _)| *n).collect();
        assert_eq!(rows, names);
    }

    #[test]
    fn a_witness_command_and_a_witness_spool_are_not_both_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        let spool = dir.path().to_str().unwrap();
        let err = with(&[
            ("AUDIT_HMAC_KEY_FILE", &kf),
            ("AUDIT_WITNESS_COMMAND", "ssh -T witness@host"),
            ("AUDIT_WITNESS_SPOOL", spool),
        ])
        .err()
        .unwrap();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(
            err.to_string(),
            "AUDIT_WITNESS_COMMAND and AUDIT_WITNESS_SPOOL: expected one way to reach the witness, found both set"
        );
        let b = with(&[("AUDIT_HMAC_KEY_FILE", &kf), ("AUDIT_WITNESS_SPOOL", spool)])
            .unwrap()
            .unwrap();
        assert_eq!(
            b.writer.checkpoints.witness,
            Some(tracing_audit_core::WitnessTransport::Spool(spool.into()))
        );
        let b = with(&[
            ("AUDIT_HMAC_KEY_FILE", &kf),
            ("AUDIT_WITNESS_COMMAND", "ssh -T witness@host"),
            ("AUDIT_WITNESS_SPOOL", " "),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            b.writer.checkpoints.witness,
            Some(tracing_audit_core::WitnessTransport::Command(vec![
                "ssh".into(),
                "-T".into(),
                "witness@host".into()
            ]))
        );
    }

    #[test]
    fn a_bad_catalog_names_the_variable_the_file_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        let cat = dir.path().join("cat.toml");
        std::fs::write(&cat, "version = 1\n[actions.\"a.b\"]\ncategory = \"x\"\n").unwrap();
        let err = with(&[
            ("AUDIT_HMAC_KEY_FILE", &kf),
            ("AUDIT_CATALOG", cat.to_str().unwrap()),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with(&format!("AUDIT_CATALOG: {}:2:", cat.display()))
                && err.contains("severity"),
            "{err}"
        );
    }
}
