//! Hot state.
//!
//! Issuing a token must not touch the database. For each (tenant, authorization server) an
//! actix actor owns the loading of a [`ServerSnapshot`] — settings, scopes, compiled claims,
//! policies and parsed signing keys, the pre-serialised JWKS (and the discovery documents, once
//! asked for) — and publishes it through an `ArcSwap`; a tenant-level actor does the same for
//! apps and groups ([`TenantSnapshot`]). Request handlers read the current snapshot lock-free and do their
//! work (policy evaluation, signing) on their own worker thread; signing never queues behind a
//! mailbox.
//!
//! The [`Registry`] starts actors lazily on first use, reloads them when the config bus
//! announces a change (with a periodic version check as a safety net for lost messages), and
//! stops them when idle, so memory follows the active tenants.

mod discovery;
mod load;
mod registry;
mod snapshot;

pub use bytes::Bytes;
pub use registry::{ORG_SERVER, Registry, RegistryConfig};
pub use snapshot::{
    Asking, ClaimValue, ClientSnapshot, CompiledClaim, HookOAuth, HookSnapshot, ServerSnapshot,
    TenantSnapshot, TrustedOrigins, VerifyKey,
};

/// A failure to build a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] tessera_store::StoreError),
    #[error("stored configuration is malformed: {0}")]
    Corrupt(String),
    #[error("signing key {kid}: {source}")]
    Key {
        kid: String,
        source: tessera_jose::JoseError,
    },
}
