//! Keyed fingerprints, and values redacted at the source.

use std::fmt;

/// Keyed fingerprints: the one definition is the core's.
pub use tracing_audit_core::Fingerprinter;

/// A value redacted at the source: it shows as a keyed fingerprint to every layer
/// and formatter (or as `[redacted]` where no audit layer is installed), so the raw
/// value never enters a `tracing` event or span. Made by [`redacted`].
///
/// The fingerprint is computed when the value is wrapped, with the key of the
/// [`AuditLayer`](crate::AuditLayer) in the current subscriber (found through the
/// current dispatcher: there is no process-wide key), so every layer sees the same
/// text.
pub struct Redacted(String);

impl Redacted {
    /// Redacts `value` now, with the current subscriber's audit layer.
    pub fn new<T: fmt::Display>(value: T) -> Redacted {
        let text = tracing::dispatcher::get_default(|d| {
            d.downcast_ref::<crate::AuditLayer>()
                .map(|layer| layer.fingerprinter().fingerprint(&value.to_string()))
        });
        Redacted(text.unwrap_or_else(|| super::MASK.to_owned()))
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Wraps a sensitive value for a `tracing` field so that no layer ever sees it:
/// every layer sees the keyed fingerprint `hmac-sha256:<key id>:<hex>` instead,
/// made with the key of the audit layer of the current subscriber (`[redacted]`
/// where there is none).
///
/// ```
/// let token = "s3cr3t-t0k3n";
/// let span = tracing::info_span!("request", api_token = tracing_audit::redacted(token));
/// # drop(span);
/// ```
pub fn redacted<T: fmt::Display>(value: T) -> tracing::field::DisplayValue<Redacted> {
    tracing::field::display(Redacted::new(value))
}
