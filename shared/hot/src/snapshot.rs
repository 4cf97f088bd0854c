//! The immutable snapshots handlers read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tessera_domain::el::Expr;
use tessera_domain::el_eval::GroupRef;
use tessera_domain::origins::ScopeType;
use tessera_domain::policy::{Policy, ScopeInfo};
use tessera_domain::secrets::SecretHash;
use tessera_jose::SigningKey;

use crate::discovery::Discovery;
use crate::registry::RegistryConfig;

/// A claim, compiled.
#[derive(Debug, Clone)]
pub struct CompiledClaim {
    pub name: String,
    /// `RESOURCE` (access token) or `IDENTITY` (ID token).
    pub claim_type: String,
    pub value: ClaimValue,
    pub always_include: bool,
    /// Scopes that must be granted for the claim to apply; empty means any.
    pub scopes: Vec<String>,
    pub system: bool,
}

#[derive(Debug, Clone)]
pub enum ClaimValue {
    Expression(Expr),
    /// A GROUPS claim: the filter type and its pattern.
    Groups {
        filter: String,
        pattern: String,
    },
}

/// A published key, parsed for verifying this server's tokens (introspection).
#[derive(Clone)]
pub struct VerifyKey {
    pub kid: String,
    pub alg: jsonwebtoken::Algorithm,
    pub key: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Everything the token path needs about one authorization server.
#[derive(Debug, Clone)]
pub struct ServerSnapshot {
    pub tenant_id: String,
    pub server_id: String,
    pub is_default: bool,
    /// The org authorization server (issuer `{org}`, `okta.*` scopes for the management API).
    pub org: bool,
    pub active: bool,
    pub issuer: String,
    pub audience: String,
    pub scopes: Vec<ScopeInfo>,
    /// Scope names with `consent: REQUIRED`.
    pub consent_required: Vec<String>,
    /// Scope names with `consent: FLEXIBLE` (the user is asked when the app requires consent).
    pub consent_flexible: Vec<String>,
    pub claims: Vec<CompiledClaim>,
    pub policies: Vec<Policy>,
    /// The ACTIVE key, parsed and ready to sign.
    pub signing_key: Option<Arc<SigningKey>>,
    /// The published keys, parsed once for verification.
    pub verify_keys: Vec<VerifyKey>,
    /// `GET /v1/keys`, pre-serialised.
    pub jwks: Bytes,
    /// Until when (ms) a cached copy of the JWKS is safe: the next scheduled rotation of an AUTO
    /// server (a key created before then may sign after it). `None` for MANUAL servers.
    pub jwks_fresh_until: Option<i64>,
    /// The least `max-age` the JWKS is served with (seconds), so that a verifier honouring it
    /// does not refetch on every request while a due rotation waits for the keys service.
    pub jwks_max_age_floor: u64,
    /// The longest `max-age` the JWKS is served with (seconds): never above the NEXT key's
    /// lead, so no cache outlives the moment a newly published key may sign.
    pub jwks_max_age_ceiling: u64,
    /// The discovery documents: see [`Self::openid_configuration`].
    pub discovery: Discovery,
    /// The tenant's config version this snapshot reflects.
    pub version: i64,
    /// The ids of the servers this one trusts (Okta's associated servers): their access tokens
    /// may be the subject of a token exchange here.
    pub trusted_servers: Vec<String>,
}

/// Which of a server's consent settings ask the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// Only scopes whose consent is REQUIRED (grants without a browser: refused if any).
    Required,
    /// REQUIRED and FLEXIBLE scopes (the authorize endpoint, when it asks at all).
    RequiredAndFlexible,
}

impl ServerSnapshot {
    /// `/.well-known/openid-configuration`, serialised on the first request.
    pub fn openid_configuration(&self, cfg: &RegistryConfig) -> Bytes {
        self.discovery.documents(&self.issuer, cfg).0.clone()
    }

    /// `/.well-known/oauth-authorization-server`, serialised on the first request.
    pub fn oauth_metadata(&self, cfg: &RegistryConfig) -> Bytes {
        self.discovery.documents(&self.issuer, cfg).1.clone()
    }

    /// The scopes among `scopes` that need the user's consent on this server (the one consent
    /// rule every grant and the authorize endpoint use).
    pub fn needing_consent<'s>(&self, scopes: &'s [String], asking: Asking) -> Vec<&'s str> {
        scopes
            .iter()
            .filter(|s| {
                self.consent_required.contains(s)
                    || (asking == Asking::RequiredAndFlexible && self.consent_flexible.contains(s))
            })
            .map(String::as_str)
            .collect()
    }
}

/// A client as the token path sees it.
#[derive(Debug, Clone)]
pub struct ClientSnapshot {
    pub app_id: String,
    pub client_id: String,
    pub label: String,
    pub active: bool,
    pub application_type: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub pkce_required: bool,
    /// `/authorize` takes requests only through a pushed authorization request (RFC 9126 §6).
    pub require_par: bool,
    /// Access and refresh tokens are bound to a DPoP key (RFC 9449), proven at the token
    /// endpoint with a nonce.
    pub dpop_bound: bool,
    pub consent_method: String,
    /// `ROTATE` (a new refresh token on every use) or `STATIC`.
    pub refresh_rotation: String,
    /// Seconds a rotated refresh token may still be presented (network retries).
    pub refresh_leeway: i64,
    /// Hashes of the ACTIVE client secrets.
    pub secrets: Vec<SecretHash>,
    /// ACTIVE client secrets in plaintext, only for `client_secret_jwt` clients.
    pub jwt_secrets: Vec<String>,
    /// ACTIVE public signing keys (`use` sig or absent).
    pub jwks: Vec<Value>,
    pub jwks_uri: Option<String>,
    /// The `okta.*` scopes an admin granted this app on the org authorization server.
    pub org_scopes: Vec<String>,
    pub profile: Value,
    /// Users assigned directly, with their app user name.
    pub assigned_users: HashMap<String, String>,
    /// Groups assigned to the app.
    pub assigned_groups: Vec<String>,
}

/// Everything the token path needs about one tenant.
#[derive(Debug, Clone)]
pub struct TenantSnapshot {
    pub tenant_id: String,
    pub name: String,
    pub active: bool,
    pub org_url: String,
    pub everyone_group_id: String,
    pub clients: HashMap<String, Arc<ClientSnapshot>>,
    pub groups: HashMap<String, GroupRef>,
    /// The default server's id, for the literal `default` in paths.
    pub default_server_id: Option<String>,
    /// The org authorization server's id (the routes `{org}/oauth2/v1/…` name it `org`).
    pub org_server_id: Option<String>,
    /// The tenant's inline hooks by id, their credentials unsealed.
    pub hooks: HashMap<String, Arc<HookSnapshot>>,
    /// The ACTIVE trusted origins, by what each is trusted for.
    pub origins: TrustedOrigins,
    pub version: i64,
}

/// A tenant's ACTIVE trusted origins, each in the form browsers send in `Origin`
/// (`tessera_domain::origins::normalize`), by scope type.
#[derive(Debug, Clone, Default)]
pub struct TrustedOrigins {
    cors: HashSet<String>,
    redirect: HashSet<String>,
    iframe: HashSet<String>,
}

impl TrustedOrigins {
    pub fn insert(&mut self, kind: ScopeType, origin: &str) {
        self.set_mut(kind).insert(origin.to_owned());
    }

    /// Whether `origin` (an `Origin` header's value, compared exactly) is trusted for `kind`.
    pub fn allows(&self, kind: ScopeType, origin: &str) -> bool {
        match kind {
            ScopeType::Cors => &self.cors,
            ScopeType::Redirect => &self.redirect,
            ScopeType::IframeEmbed => &self.iframe,
        }
        .contains(origin)
    }

    fn set_mut(&mut self, kind: ScopeType) -> &mut HashSet<String> {
        match kind {
            ScopeType::Cors => &mut self.cors,
            ScopeType::Redirect => &mut self.redirect,
            ScopeType::IframeEmbed => &mut self.iframe,
        }
    }
}

/// An inline hook as the token path calls it.
#[derive(Clone, PartialEq, Eq)]
pub struct HookSnapshot {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub uri: String,
    pub method: String,
    /// Extra headers sent with every call.
    pub headers: Vec<(String, String)>,
    /// The authentication header (`authScheme` of type `HEADER`): name and value.
    pub auth: Option<(String, String)>,
    /// The OAUTH channel: a client-credentials token from the hook's own token endpoint.
    pub oauth: Option<HookOAuth>,
}

/// How Tessera gets an access token for an OAUTH-channel hook (`client_secret_post`).
#[derive(Clone, PartialEq, Eq)]
pub struct HookOAuth {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
}

impl std::fmt::Debug for HookSnapshot {
    /// Leaves the credential out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSnapshot")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}
