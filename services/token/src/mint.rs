//! Token minting: access tokens exactly as OKTA-REFERENCE §3.1, thin ID tokens (§3.2, SPEC §4),
//! and opaque refresh tokens stored as hashes.

use serde_json::{Map, Value, json};
use tessera_domain::Random;
use tessera_domain::policy::Grant;
use tessera_domain::secrets::random_token;
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::OAuthError;

use crate::claims::{self, UserInfo};

/// An access-token id: `AT.` and 43 base64url characters (32 random bytes), as Okta's.
pub fn access_token_id(random: &dyn Random) -> String {
    format!("AT.{}", random_token(random, 32))
}

fn sign(server: &ServerSnapshot, payload: &Value) -> Result<String, OAuthError> {
    let key = server
        .signing_key
        .as_ref()
        .ok_or_else(|| OAuthError::server_error("the server has no ACTIVE signing key"))?;
    tessera_jose::jws(key, None, payload).map_err(OAuthError::server_error)
}

/// A minted access token.
pub struct AccessToken {
    pub jwt: String,
    pub jti: String,
    pub expires_in: i64,
    pub exp: i64,
}

/// An access token: the reserved claims, then the server's RESOURCE claims.
pub fn access_token(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    grant: &Grant,
    user: Option<&UserInfo>,
    now: i64,
    random: &dyn Random,
) -> Result<AccessToken, OAuthError> {
    let lifetime = grant.lifetimes.access_token_minutes * 60;
    let exp = now + lifetime;
    let ctx = claims::context(tenant, client, user, &grant.scopes, now);
    let mut custom = claims::evaluate(server, "RESOURCE", &ctx, &grant.scopes, false)?;
    let sub = custom
        .remove("sub")
        .unwrap_or_else(|| json!(client.client_id));
    let mut payload = Map::new();
    payload.insert("ver".into(), json!(1));
    let jti = access_token_id(random);
    payload.insert("jti".into(), json!(jti));
    payload.insert("iss".into(), json!(server.issuer));
    payload.insert("aud".into(), json!(server.audience));
    payload.insert("iat".into(), json!(now));
    payload.insert("exp".into(), json!(exp));
    payload.insert("cid".into(), json!(client.client_id));
    if let Some(u) = user {
        payload.insert("uid".into(), json!(u.id));
    }
    payload.insert("scp".into(), json!(grant.scopes));
    if user.is_some() {
        payload.insert("auth_time".into(), json!(now));
    }
    payload.insert("sub".into(), sub);
    for (k, v) in custom {
        payload.entry(k).or_insert(v);
    }
    Ok(AccessToken {
        jwt: sign(server, &Value::Object(payload))?,
        jti,
        expires_in: lifetime,
        exp,
    })
}

/// A thin ID token (issued beside an access token): base claims and the IDENTITY claims that
/// are `alwaysIncludeInToken`.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the ID token"
)]
pub fn id_token(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    user: &UserInfo,
    scopes: &[String],
    at: &AccessToken,
    now: i64,
    random: &dyn Random,
) -> Result<String, OAuthError> {
    id_token_for_session(
        tenant, server, client, user, scopes, at, now, now, None, random,
    )
}

/// What an ID token is issued with, beyond the user and scopes.
pub struct IdTokenFor<'a> {
    /// The access token issued in the same response (gives `at_hash`).
    pub at: Option<&'a AccessToken>,
    /// The code issued in the same response (hybrid flow; gives `c_hash`).
    pub code: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    /// For a *fat* ID token (`response_type=id_token` alone, SPEC §4): the standard claims of
    /// the granted scopes; every IDENTITY claim is then evaluated, not only the always-included.
    pub fat: Option<Map<String, Value>>,
}

/// The left half of the SHA-256 of a value, base64url (`at_hash`, `c_hash`: OIDC Core
/// §3.1.3.6, §3.3.2.11; RS256 and ES256 both hash with SHA-256).
fn half_hash(value: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &digest.as_ref()[..16],
    )
}

/// [`id_token`] for a sign-in that happened at `auth_time`, echoing the request's `nonce`.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the ID token"
)]
pub fn id_token_for_session(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    user: &UserInfo,
    scopes: &[String],
    at: &AccessToken,
    now: i64,
    auth_time: i64,
    nonce: Option<&str>,
    random: &dyn Random,
) -> Result<String, OAuthError> {
    let opts = IdTokenFor {
        at: Some(at),
        code: None,
        nonce,
        auth_time,
        fat: None,
    };
    id_token_with(tenant, server, client, user, scopes, now, opts, random)
}

/// An ID token (OKTA-REFERENCE §3.2): thin unless `opts.fat` is given.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the ID token"
)]
pub fn id_token_with(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    user: &UserInfo,
    scopes: &[String],
    now: i64,
    opts: IdTokenFor<'_>,
    random: &dyn Random,
) -> Result<String, OAuthError> {
    let ctx = claims::context(tenant, client, Some(user), scopes, now);
    let custom = claims::evaluate(server, "IDENTITY", &ctx, scopes, opts.fat.is_none())?;
    let mut payload = Map::new();
    for (k, v) in [
        ("sub", json!(user.id)),
        ("ver", json!(1)),
        ("iss", json!(server.issuer)),
        ("aud", json!(client.client_id)),
        ("iat", json!(now)),
        ("exp", json!(now + 3600)),
        ("jti", json!(format!("ID.{}", random_token(random, 32)))),
        ("amr", json!(["pwd"])),
        ("idp", json!(tenant.tenant_id)),
        ("auth_time", json!(opts.auth_time)),
    ] {
        payload.insert(k.into(), v);
    }
    if let Some(n) = opts.nonce {
        payload.insert("nonce".into(), json!(n));
    }
    if let Some(at) = opts.at {
        payload.insert("at_hash".into(), json!(half_hash(&at.jwt)));
    }
    if let Some(code) = opts.code {
        payload.insert("c_hash".into(), json!(half_hash(code)));
    }
    for (k, v) in opts.fat.into_iter().flatten().chain(custom) {
        payload.entry(k).or_insert(v);
    }
    sign(server, &Value::Object(payload))
}

/// A new opaque refresh token: a type prefix (so introspection can route it without I/O and
/// secret scanners can spot it) and 43 random characters. Only its hash is stored.
pub fn refresh_token(random: &dyn Random) -> String {
    format!("rt.{}", random_token(random, 32))
}
