//! The action catalog of the crate being compiled, parsed once per compilation.
//!
//! rustc loads the proc-macro library once per crate it compiles (and tools such as
//! rust-analyzer keep it loaded across edits), so the parsed catalog is cached in
//! this process, keyed by the file's path and contents: a second macro call reads
//! the file (cheap) and parses nothing; an edited file is parsed again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use proc_macro2::TokenStream;
use quote::quote;
use tracing_audit_catalog::{Catalog, CatalogError, ENV_VAR, Source};

/// A catalog, and the file it came from (`None`: the default catalog).
pub(crate) struct Loaded {
    pub catalog: Catalog,
    pub file: Option<PathBuf>,
}

impl Loaded {
    /// What to name in "`audit catalog list …` lists the known actions".
    pub(crate) fn list_argument(&self) -> &str {
        if self.file.is_some() {
            &self.catalog.origin
        } else {
            "-"
        }
    }

    /// Where an action is defined, for messages: `path:line` of a catalog file, or
    /// the default catalog described in words (the user has no file to open).
    pub(crate) fn location(&self, spec: &tracing_audit_catalog::Action) -> String {
        match &self.file {
            Some(_) => format!("{}:{}", self.catalog.origin, spec.line),
            None => format!(
                "the default catalog, as no {} is above this crate; `audit catalog list -` shows it",
                tracing_audit_catalog::FILE_NAME
            ),
        }
    }

    /// Which catalog this is, for "not in the catalog …".
    pub(crate) fn describe(&self) -> String {
        match &self.file {
            Some(_) => self.catalog.origin.clone(),
            None => format!(
                "(the default catalog, as no {} is above this crate)",
                tracing_audit_catalog::FILE_NAME
            ),
        }
    }

    /// `include_bytes!` of the catalog file and `option_env!("AUDIT_CATALOG")`: rustc
    /// records both as dependencies, so cargo rebuilds the crate when they change.
    pub(crate) fn tracking(&self) -> TokenStream {
        let file = self.file.as_ref().map(|p| {
            let p = p.display().to_string();
            quote!(
                const _: &[u8] = ::core::include_bytes!(#p);
            )
        });
        quote! {
            #file
            const _: ::core::option::Option<&str> = ::core::option_env!(#ENV_VAR);
        }
    }
}

/// The catalog for the crate being compiled: `AUDIT_CATALOG`, else the nearest
/// `audit-catalog.toml` above its manifest directory, else the default catalog.
///
/// # Errors
/// The catalog cannot be found, read or parsed (the message says where and why).
pub(crate) fn load() -> Result<Arc<Loaded>, String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let env = std::env::var(ENV_VAR).ok();
    match Catalog::locate(manifest.as_ref(), env.as_deref()).map_err(|e| e.to_string())? {
        Source::File(path) => load_file(&path),
        Source::Default => Ok(default()),
    }
}

fn default() -> Arc<Loaded> {
    static DEFAULT: OnceLock<Arc<Loaded>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Arc::new(Loaded {
                catalog: Catalog::default_catalog(),
                file: None,
            })
        })
        .clone()
}

/// The last file parsed: its path, its text and the result.
struct Cached {
    path: PathBuf,
    text: String,
    loaded: Arc<Loaded>,
}

/// One entry: a compilation uses one catalog (several only in a long-lived
/// process such as rust-analyzer's, which then re-parses when it switches).
static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

/// Reads `path` and parses it, unless the cache holds the same path and text.
fn load_file(path: &Path) -> Result<Arc<Loaded>, String> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        CatalogError::new(
            origin.clone(),
            None,
            format!("cannot read the catalog: {e}"),
        )
        .to_string()
    })?;
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = cache.as_ref()
        && c.path == path
        && c.text == text
    {
        return Ok(c.loaded.clone());
    }
    let loaded = Arc::new(Loaded {
        catalog: Catalog::parse(&text, &origin).map_err(|e| e.to_string())?,
        file: Some(path.to_owned()),
    });
    *cache = Some(Cached {
        path: path.to_owned(),
        text,
        loaded: loaded.clone(),
    });
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ONE: &str = "version = 1\n[actions.\"a.b\"]\ncategory = \"c\"\nseverity = \"low\"\ndescription = \"d\"\n";

    #[test]
    fn a_catalog_is_parsed_once_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-catalog.toml");
        std::fs::write(&path, ONE).unwrap();
        let first = load_file(&path).unwrap();
        let again = load_file(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "parsed once");
        assert!(first.catalog.get("a.b").is_some());

        std::fs::write(&path, ONE.replace("a.b", "a.c")).unwrap();
        let edited = load_file(&path).unwrap();
        assert!(!Arc::ptr_eq(&first, &edited), "parsed again after an edit");
        assert!(edited.catalog.get("a.c").is_some());

        std::fs::write(&path, "version = 7\n").unwrap();
        let err = load_file(&path).err().unwrap();
        assert!(
            err.contains("audit-catalog.toml:1") && err.contains("version"),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        let err = load_file(&path).err().unwrap();
        assert!(err.contains("cannot read the catalog"), "{err}");
    }

    #[test]
    fn the_default_catalog_is_parsed_once() {
        assert!(Arc::ptr_eq(&default(), &default()));
        assert!(default().file.is_none());
        assert_eq!(default().list_argument(), "-");
    }
}
