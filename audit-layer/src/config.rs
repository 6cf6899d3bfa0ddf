//! Configuration from the environment, with the names operators already use.

use std::path::PathBuf;

use tracing_audit_core::{Durability, Key, Rotation, WriterConfig};

use crate::{AuditBuilder, AuditError, ErrorKind, Overflow};

/// The environment variables read by [`AuditBuilder::from_env`].
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "AUDIT_ENABLED",
        "`true` (default) or `false`; `false` records nothing and says so on stderr",
    ),
    (
        "AUDIT_STORAGE_BACKEND",
        "`local` (the default and, for now, the only backend)",
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
        "AUDIT_FSYNC",
        "`batch` (default), `interval:<N>ms|s`, or `never`",
    ),
    (
        "AUDIT_ROTATION",
        "`daily`, `hourly`, `size:<N>[KiB|MiB|GiB]`, comma-separated (default `daily,size:128MiB`)",
    ),
    (
        "AUDIT_OVERFLOW",
        "`block` (default), `block:<N>ms|s` (then drop with a gap record), or `drop`",
    ),
    (
        "AUDIT_CATALOG",
        "the action catalog file, also read by the macros at compile time (optional; at run time it fills categories and redacts sensitive fields of events emitted without the macros)",
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
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => {}
                "false" | "0" | "no" | "off" => return Ok(None),
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
        let path =
            PathBuf::from(get("AUDIT_STORAGE_PATH").unwrap_or_else(|| "./audit-trail".into()));
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
        let service = get("AUDIT_SERVICE").unwrap_or_else(default_service);
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
        let key = Key::from_file(key_file.as_ref())
            .map_err(|e| AuditError::with_core(ErrorKind::Config, "AUDIT_HMAC_KEY_FILE", e))?;
        let mut writer = WriterConfig::new(path, service, key);
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
    let expected = "`block`, `block:<N>ms|s` or `drop`";
    let t = v.trim().to_ascii_lowercase();
    match t.as_str() {
        "block" => Ok(Overflow::Block),
        "drop" => Ok(Overflow::Drop),
        _ => t
            .strip_prefix("block:")
            .and_then(tracing_audit_core::parse_duration)
            .map(Overflow::BlockTimeout)
            .ok_or_else(|| bad("AUDIT_OVERFLOW", expected, v)),
    }
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

    #[test]
    fn bad_values_name_the_variable_and_what_was_found() {
        let dir = tempfile::tempdir().unwrap();
        let kf = key_file(dir.path());
        for (var, val) in [
            ("AUDIT_ENABLED", "maybe"),
            ("AUDIT_STORAGE_BACKEND", "s3"),
            ("AUDIT_FSYNC", "sometimes"),
            ("AUDIT_ROTATION", "weekly"),
            ("AUDIT_OVERFLOW", "spill"),
        ] {
            let err = with(&[("AUDIT_HMAC_KEY_FILE", &kf), (var, val)])
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.starts_with(var) && err.contains(&format!("{val:?}")),
                "{var}: {err}"
            );
        }
        let err = with(&[]).err().unwrap().to_string();
        assert!(err.contains("AUDIT_HMAC_KEY_FILE"), "{err}");
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
