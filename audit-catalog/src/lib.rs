//! The action catalog: every action a service may record, with its category,
//! severity, description, required fields, sensitive fields and flags.
//!
//! The macros of `tracing-audit` check their arguments against it at compile time;
//! `audit catalog check|list` reads it for operators. The format is described in
//! [CATALOG.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/catalog/index.html).
//!
//! ```
//! let catalog = tracing_audit_catalog::Catalog::parse(
//!     r#"
//! version = 1
//! [actions."pool.deleted"]
//! category = "resources"
//! severity = "high"
//! description = "A GPU pool was deleted."
//! required = ["actor", "resource"]
//! "#,
//!     "audit-catalog.toml",
//! )?;
//! let action = catalog.get("pool.deleted").unwrap();
//! assert_eq!(action.required, ["actor", "resource"]);
//! assert_eq!(catalog.suggest("pool.delete"), Some("pool.deleted"));
//! # Ok::<(), tracing_audit_catalog::CatalogError>(())
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The catalog format version this crate reads.
pub const CATALOG_VERSION: u32 = 1;

/// The file name the macros look for, walking up from the crate's manifest directory.
pub const FILE_NAME: &str = "audit-catalog.toml";

/// The environment variable naming the catalog file (overrides the search).
pub const ENV_VAR: &str = "AUDIT_CATALOG";

/// The catalog shipped with tracing-audit, used when a crate has none of its own.
pub const DEFAULT_CATALOG: &str = include_str!("../audit-catalog.toml");

/// How serious an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Routine.
    Info,
    /// Worth a look in aggregate.
    Low,
    /// Worth a look.
    Medium,
    /// Worth an alert.
    High,
    /// Page someone.
    Critical,
}

impl Severity {
    const NAMES: [&'static str; 5] = ["info", "low", "medium", "high", "critical"];

    /// The name written in the catalog.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// One action of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Action {
    /// The action name, e.g. `pool.deleted`.
    pub name: String,
    /// The category, e.g. `resources`.
    pub category: String,
    /// How serious it is.
    pub severity: Severity,
    /// What it means, for people reading the trail.
    pub description: String,
    /// Fields every event of this action must carry (`actor`, `resource`, `reason`,
    /// or a field name).
    pub required: Vec<String>,
    /// Fields whose values are redacted before the event exists.
    pub sensitive: Vec<String>,
    /// Break-glass: every event must carry a justification (the `reason`).
    pub requires_justification: bool,
    /// An `#[audited]` function of this action returns only once its record is
    /// durable (on disk). `durable = true|false` in the catalog; when absent, true
    /// for the severities `high` and `critical`.
    pub durable: bool,
    /// The line of the action's table in the catalog file.
    pub line: usize,
}

impl Action {
    /// Whether the catalog marks `name` sensitive for this action: a record member
    /// (`actor`, `actor.id`, `reason`, `actor.session`, …) or a field name.
    ///
    /// This is the one rule: the macros apply it at compile time to every member and
    /// field they record, and the layer applies it at run time to events emitted
    /// without the macros. `actor` and `actor.id` name the same member.
    ///
    /// ```
    /// let catalog = tracing_audit::catalog::Catalog::default_catalog();
    /// let created = catalog.get("token.created").expect("in the default catalog");
    /// assert!(created.is_sensitive("token"));
    /// assert!(!created.is_sensitive("resource"));
    /// ```
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.sensitive
            .iter()
            .any(|s| tracing_audit_schema::Member::same_name(s, name))
    }

    /// Whether the catalog requires `name` (a member or a field) for this action;
    /// `actor` and `actor.id` name the same member.
    pub fn is_required(&self, name: &str) -> bool {
        self.required
            .iter()
            .any(|s| tracing_audit_schema::Member::same_name(s, name))
    }
}

/// A parsed catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Catalog {
    /// Where it was read from (a path, or `<default catalog>`).
    pub origin: String,
    /// The actions, by name.
    pub actions: BTreeMap<String, Action>,
}

/// A catalog that cannot be used: where, and what is wrong.
///
/// Its `Debug` is its message (as when `main` returns it with `?`); `{:#?}` shows
/// the fields.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogError {
    /// The file (or `<default catalog>`).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What was expected and what was found.
    pub message: String,
}

impl CatalogError {
    /// An error in `origin` (a path, or `<default catalog>`), at `line` if known.
    pub fn new(origin: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        CatalogError {
            origin: origin.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Debug for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("CatalogError")
                .field("origin", &self.origin)
                .field("line", &self.line)
                .field("message", &self.message)
                .finish();
        }
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for CatalogError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    version: Spanned<u32>,
    #[serde(default)]
    actions: BTreeMap<Spanned<String>, Spanned<RawAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    category: Spanned<String>,
    severity: Spanned<String>,
    description: Spanned<String>,
    #[serde(default)]
    required: Vec<Spanned<String>>,
    #[serde(default)]
    sensitive: Vec<Spanned<String>>,
    #[serde(default)]
    requires_justification: bool,
    durable: Option<bool>,
}

/// Where the macros look for the catalog, and what they found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file: from `AUDIT_CATALOG`, or the nearest `audit-catalog.toml` above the
    /// manifest directory.
    File(PathBuf),
    /// No file: the [`DEFAULT_CATALOG`].
    Default,
}

impl Catalog {
    /// The catalog shipped with tracing-audit.
    ///
    /// # Panics
    /// Never: a test checks that the shipped catalog parses.
    pub fn default_catalog() -> Catalog {
        match Catalog::parse(DEFAULT_CATALOG, "<default catalog>") {
            Ok(c) => c,
            Err(e) => panic!("the shipped catalog is valid: {e}"),
        }
    }

    /// Reads and parses a catalog file.
    ///
    /// # Errors
    /// The file cannot be read, or is not a valid catalog (with the line).
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            origin: path.display().to_string(),
            line: None,
            message: format!("cannot read the catalog: {e}"),
        })?;
        Catalog::parse(&text, &path.display().to_string())
    }

    /// Finds the catalog for a crate: the file named by `AUDIT_CATALOG` (relative
    /// paths are taken from `manifest_dir`), else the nearest `audit-catalog.toml`
    /// in `manifest_dir` or a directory above it, else the default catalog.
    ///
    /// # Errors
    /// `AUDIT_CATALOG` names a file that does not exist.
    pub fn locate(manifest_dir: &Path, env: Option<&str>) -> Result<Source, CatalogError> {
        if let Some(p) = env.filter(|p| !p.is_empty()) {
            let path = manifest_dir.join(p);
            if !path.is_file() {
                return Err(CatalogError {
                    origin: path.display().to_string(),
                    line: None,
                    message: format!(
                        "{ENV_VAR}={p} names no file (looked at {}); expected the path of a catalog",
                        path.display()
                    ),
                });
            }
            return Ok(Source::File(path));
        }
        let mut dir = Some(manifest_dir);
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                return Ok(Source::File(candidate));
            }
            dir = d.parent();
        }
        Ok(Source::Default)
    }

    /// Parses catalog text; `origin` names it in errors.
    ///
    /// # Errors
    /// The first problem found, with its line: TOML syntax, an unknown key, a wrong
    /// version, a malformed action name, an unknown severity, an empty category or
    /// description, a field listed twice.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| CatalogError {
            origin: origin.to_owned(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let raw: RawCatalog = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            err(e.span(), message)
        })?;
        if *raw.version.get_ref() != CATALOG_VERSION {
            return Err(err(
                Some(raw.version.span()),
                format!(
                    "expected `version = {CATALOG_VERSION}`, found version {}",
                    raw.version.get_ref()
                ),
            ));
        }
        let mut actions = BTreeMap::new();
        for (name, action) in raw.actions {
            let span = name.span();
            let name = name.into_inner();
            if !valid_action_name(&name) {
                return Err(err(
                    Some(span),
                    format!(
                        "expected an action name of two or more dot-separated parts in lowercase letters, digits and `_` (like `pool.deleted`), found {name:?}"
                    ),
                ));
            }
            let line = line_of(text, span.start);
            let a = action.into_inner();
            let severity = Severity::parse(a.severity.get_ref()).ok_or_else(|| {
                err(
                    Some(a.severity.span()),
                    format!(
                        "action {name}: expected a severity ({}), found {:?}",
                        Severity::NAMES.join(", "),
                        a.severity.get_ref()
                    ),
                )
            })?;
            for (what, v) in [("category", &a.category), ("description", &a.description)] {
                if v.get_ref().trim().is_empty() {
                    return Err(err(
                        Some(v.span()),
                        format!("action {name}: expected a non-empty {what}, found an empty one"),
                    ));
                }
            }
            let list = |what: &str, items: Vec<Spanned<String>>| {
                let mut out: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let span = item.span();
                    let v = item.into_inner();
                    if !valid_field_name(&v) {
                        return Err(err(
                            Some(span),
                            format!(
                                "action {name}: expected {what} field names (letters, digits, `_`, `.`), found {v:?}"
                            ),
                        ));
                    }
                    if out.contains(&v) {
                        return Err(err(
                            Some(span),
                            format!("action {name}: {what} lists {v:?} twice"),
                        ));
                    }
                    out.push(v);
                }
                Ok(out)
            };
            let required = list("required", a.required)?;
            let sensitive = list("sensitive", a.sensitive)?;
            actions.insert(
                name.clone(),
                Action {
                    name,
                    category: a.category.into_inner(),
                    severity,
                    description: a.description.into_inner(),
                    required,
                    sensitive,
                    requires_justification: a.requires_justification,
                    durable: a
                        .durable
                        .unwrap_or(matches!(severity, Severity::High | Severity::Critical)),
                    line,
                },
            );
        }
        Ok(Catalog {
            origin: origin.to_owned(),
            actions,
        })
    }

    /// The action called `name`.
    pub fn get(&self, name: &str) -> Option<&Action> {
        self.actions.get(name)
    }

    /// The closest action name to `name`, if one is close enough to be a likely
    /// typo (a small edit distance relative to its length); `None` otherwise.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let limit = (name.chars().count() / 4).clamp(1, 3);
        self.actions
            .keys()
            .map(|k| (strsim::damerau_levenshtein(name, k), k))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, k)| k.as_str())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn valid_action_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

fn valid_field_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalog_covers_the_source_documents() {
        let c = Catalog::default_catalog();
        let kernel = [
            "kernel.component.start",
            "kernel.component.stop",
            "kernel.component.fail",
            "kernel.config.reload.success",
            "kernel.config.reload.failure",
            "kernel.capability.denied",
        ];
        for k in kernel {
            assert_eq!(c.get(k).map(|a| a.category.as_str()), Some("kernel"), "{k}");
        }
        let per_category = [
            ("auth", 4),
            ("authz", 3),
            ("resources", 8),
            ("vram", 6),
            ("security", 5),
            ("data", 3),
            ("compliance", 3),
        ];
        for (cat, n) in per_category {
            let count = c.actions.values().filter(|a| a.category == cat).count();
            assert_eq!(count, n, "category {cat}");
        }
        assert!(c.get("secret.accessed").is_some() && c.get("secret.rotated").is_some());
        assert!(
            c.get("breakglass.activated")
                .unwrap()
                .requires_justification
        );
    }

    fn parse_err(text: &str) -> CatalogError {
        Catalog::parse(text, "cat.toml").unwrap_err()
    }

    #[test]
    fn durable_defaults_to_the_high_severities_and_can_be_set_either_way() {
        let c = Catalog::default_catalog();
        assert!(c.get("pool.deleted").unwrap().durable, "high");
        assert!(c.get("breakglass.activated").unwrap().durable);
        assert!(!c.get("pool.created").unwrap().durable, "medium");
        let c = Catalog::parse(
            "version = 1\n[actions.\"a.high\"]\ncategory = \"c\"\nseverity = \"high\"\ndescription = \"d\"\ndurable = false\n[actions.\"a.low\"]\ncategory = \"c\"\nseverity = \"low\"\ndescription = \"d\"\ndurable = true\n",
            "cat.toml",
        )
        .unwrap();
        assert!(!c.get("a.high").unwrap().durable);
        assert!(c.get("a.low").unwrap().durable);
        let e = parse_err(
            "version = 1\n[actions.\"a.b\"]\ncategory = \"c\"\nseverity = \"low\"\ndescription = \"d\"\ndurable = \"yes\"\n",
        );
        assert_eq!(e.line, Some(6), "{e}");
    }

    #[test]
    fn an_error_returned_from_main_prints_its_message_once() {
        let e = parse_err("version = 2\n");
        assert_eq!(
            format!("{e:?}"),
            "cat.toml:1: expected `version = 1`, found version 2"
        );
        assert!(format!("{e:#?}").contains("origin: \"cat.toml\""));
    }

    #[test]
    fn errors_name_the_file_line_and_problem() {
        let e = parse_err("version = 2\n");
        assert_eq!(
            e.to_string(),
            "cat.toml:1: expected `version = 1`, found version 2"
        );

        let e = parse_err(
            "version = 1\n\n[actions.\"pool.deleted\"]\ncategory = \"resources\"\nseverity = \"severe\"\ndescription = \"x\"\n",
        );
        assert_eq!(
            e.to_string(),
            "cat.toml:5: action pool.deleted: expected a severity (info, low, medium, high, critical), found \"severe\""
        );

        let e = parse_err(
            "version = 1\n[actions.\"Pool\"]\ncategory = \"r\"\nseverity = \"high\"\ndescription = \"x\"\n",
        );
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("found \"Pool\""), "{e}");

        let e = parse_err(
            "version = 1\n[actions.\"a.b\"]\ncategory = \"r\"\nseverity = \"high\"\ndescription = \"x\"\ncolour = \"red\"\n",
        );
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("colour"), "{e}");

        let e = parse_err(
            "version = 1\n[actions.\"a.b\"]\ncategory = \"r\"\nseverity = \"high\"\ndescription = \"x\"\nrequired = [\"actor\", \"actor\"]\n",
        );
        assert_eq!(
            e.to_string(),
            "cat.toml:6: action a.b: required lists \"actor\" twice"
        );

        let e = parse_err("version = 1\n[actions.\"a.b\"]\ncategory = \"r\"\n");
        assert!(e.message.contains("missing field `severity`"), "{e}");

        let e = parse_err("version = 1\n[actions.\"a.b\"\n");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn suggestions_are_for_close_names_only() {
        let c = Catalog::default_catalog();
        assert_eq!(c.suggest("pool.delete"), Some("pool.deleted"));
        assert_eq!(c.suggest("auth.sucess"), Some("auth.success"));
        assert_eq!(c.suggest("billing.refund"), None);
        assert_eq!(c.suggest("pool"), None);
    }

    #[test]
    fn locate_prefers_the_variable_then_the_nearest_file_then_the_default() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        assert_eq!(Catalog::locate(&inner, None).unwrap(), Source::Default);
        std::fs::write(root.path().join(FILE_NAME), "version = 1\n").unwrap();
        assert_eq!(
            Catalog::locate(&inner, None).unwrap(),
            Source::File(root.path().join(FILE_NAME))
        );
        std::fs::write(inner.join("other.toml"), "version = 1\n").unwrap();
        assert_eq!(
            Catalog::locate(&inner, Some("other.toml")).unwrap(),
            Source::File(inner.join("other.toml"))
        );
        let e = Catalog::locate(&inner, Some("missing.toml")).unwrap_err();
        assert!(
            e.message
                .contains("AUDIT_CATALOG=missing.toml names no file"),
            "{e}"
        );
    }
}
