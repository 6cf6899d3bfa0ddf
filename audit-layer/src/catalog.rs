//! The action catalog at run time: for events emitted without the macros, the
//! catalog's category, and which members and fields it marks sensitive.

use std::sync::Arc;

use tracing_audit_catalog::{Action, Catalog};
use tracing_audit_core::Event;

/// What the second redaction pass found of the event's action in the run-time
/// catalog.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogued {
    /// No catalog was given.
    NoCatalog,
    /// The action is in the catalog.
    Found,
    /// The action is not in the catalog (the event is kept all the same).
    Missing,
}

/// The catalog the layer was given ([`crate::AuditBuilder::catalog`]).
#[derive(Debug, Clone)]
pub(crate) struct RuntimeCatalog(Arc<Catalog>);

impl RuntimeCatalog {
    pub(crate) fn new(catalog: Catalog) -> RuntimeCatalog {
        RuntimeCatalog(Arc::new(catalog))
    }

    /// Gives `event` its action's category (if it has none), and returns the action
    /// (for its sensitive names: [`Action::is_sensitive`]).
    pub(crate) fn enrich(&self, event: &mut Event) -> (Catalogued, Option<&Action>) {
        match self.0.get(&event.action) {
            Some(action) => {
                if event.category.is_none() {
                    event.category = Some(action.category.clone());
                }
                (Catalogued::Found, Some(action))
            }
            None => (Catalogued::Missing, None),
        }
    }
}
