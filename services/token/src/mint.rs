//! Token minting: access tokens with exactly Okta's claims, thin and fat ID tokens as
//! Okta issues them, and opaque refresh tokens stored as hashes. Claims are drafted first and signed
//! after the rule's token inline hook (if any) has seen them; see `issue`.

use serde_json::{Map, Value, json};
use tessera_domain::Random;
use tessera_domain::policy::Grant;
use tessera_domain::secrets::random_token;
use tessera_domain::token_hook::TokenDraft;
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};

use crate::claims::{self, UserInfo};
use crate::error::IssueError;

/// An access-token id: `AT.` and 43 base64url characters (32 random bytes), as Okta's.
pub fn access_token_id(random: &dyn Random) -> String {
    format!("AT.{}", random_token(random, 32))
}

fn sign(server: &ServerSnapshot, payload: &Value) -> Result<String, IssueError> {
    let key = server
        .signing_key
        .as_ref()
        .ok_or(IssueError::NoSigningKey)?;
    Ok(tessera_jose::jws(key, None, payload)?)
}

/// A minted access token, with what the System Log says about it (never the token itself).
pub struct AccessToken {
    pub jwt: String,
    pub jti: String,
    /// Its subject as signed (a claim or an inline hook may have set it).
    pub sub: Option<Value>,
    pub expires_in: i64,
    pub exp: i64,
}

/// A minted ID token, with what the System Log says about it.
pub struct IdToken {
    pub jwt: String,
    pub jti: String,
    pub sub: Option<Value>,
    pub exp: i64,
}

/// An access token's claims before signing (Okta's access-token claims): the reserved claims, then the
/// server's RESOURCE claims. `exp` is set when it is signed, from the draft's lifetime (which a
/// token inline hook may change).
pub fn access_claims(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    grant: &Grant,
    user: Option<(&UserInfo, i64)>,
    now: i64,
    random: &dyn Random,
) -> Result<TokenDraft, IssueError> {
    let (user, auth_time) = (user.map(|(u, _)| u), user.map(|(_, at)| at));
    let ctx = claims::context(tenant, client, user, &grant.scopes, now);
    let mut custom = claims::evaluate(server, "RESOURCE", &ctx, &grant.scopes, false)?;
    let sub = custom
        .remove("sub")
        .unwrap_or_else(|| json!(client.client_id));
    let mut payload = Map::new();
    payload.insert("ver".into(), json!(1));
    payload.insert("jti".into(), json!(access_token_id(random)));
    payload.insert("iss".into(), json!(server.issuer));
    payload.insert("aud".into(), json!(server.audience));
    payload.insert("iat".into(), json!(now));
    payload.insert("cid".into(), json!(client.client_id));
    if let Some(u) = user {
        payload.insert("uid".into(), json!(u.id));
    }
    payload.insert("scp".into(), json!(grant.scopes));
    // When the user authenticated, not when this token was minted (OIDC Core §2).
    if let Some(auth_time) = auth_time {
        payload.insert("auth_time".into(), json!(auth_time));
    }
    payload.insert("sub".into(), sub);
    for (k, v) in custom {
        payload.entry(k).or_insert(v);
    }
    Ok(TokenDraft {
        claims: payload,
        lifetime_secs: grant.lifetimes.access_token_minutes * 60,
    })
}

/// Signs an access token, its `exp` `lifetime_secs` after `now`.
#[tracing::instrument(name = "jose.sign", skip_all, fields(token = "access_token"))]
pub fn sign_access(
    server: &ServerSnapshot,
    draft: TokenDraft,
    now: i64,
) -> Result<AccessToken, IssueError> {
    let TokenDraft {
        mut claims,
        lifetime_secs,
    } = draft;
    let exp = now + lifetime_secs;
    claims.insert("exp".into(), json!(exp));
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    let sub = claims.get("sub").cloned();
    Ok(AccessToken {
        jwt: sign(server, &Value::Object(claims))?,
        jti,
        sub,
        expires_in: lifetime_secs,
        exp,
    })
}

/// What an ID token is issued with, beyond the user and scopes.
#[derive(Default)]
pub struct IdTokenFor<'a> {
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    /// For a *fat* ID token (`response_type=id_token` alone): the standard claims of
    /// the granted scopes; every IDENTITY claim is then evaluated, not only the always-included.
    pub fat: Option<Map<String, Value>>,
    /// Standard claims the `claims` parameter asked for in the ID token (OIDC Core §5.5).
    pub requested: Map<String, Value>,
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

/// An ID token's claims before signing (Okta's ID-token claims): thin unless `opts.fat` is given.
/// `exp`, `at_hash` and `c_hash` are added when it is signed.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the ID token"
)]
pub fn id_claims(
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    user: &UserInfo,
    scopes: &[String],
    now: i64,
    opts: IdTokenFor<'_>,
    random: &dyn Random,
) -> Result<TokenDraft, IssueError> {
    let ctx = claims::context(tenant, client, Some(user), scopes, now);
    let custom = claims::evaluate(server, "IDENTITY", &ctx, scopes, opts.fat.is_none())?;
    let mut payload = Map::new();
    for (k, v) in [
        ("sub", json!(user.id)),
        ("ver", json!(1)),
        ("iss", json!(server.issuer)),
        ("aud", json!(client.client_id)),
        ("iat", json!(now)),
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
    for (k, v) in opts
        .fat
        .into_iter()
        .flatten()
        .chain(custom)
        .chain(opts.requested)
    {
        payload.entry(k).or_insert(v);
    }
    Ok(TokenDraft {
        claims: payload,
        lifetime_secs: ID_TOKEN_LIFETIME_SECS,
    })
}

/// ID tokens live an hour (Okta's token lifetimes), unless a token inline hook says otherwise.
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Signs an ID token with `at_hash` for the access token and `c_hash` for the code issued beside
/// it.
#[tracing::instrument(name = "jose.sign", skip_all, fields(token = "id_token"))]
pub fn sign_id(
    server: &ServerSnapshot,
    draft: TokenDraft,
    now: i64,
    at: Option<&AccessToken>,
    code: Option<&str>,
) -> Result<IdToken, IssueError> {
    let TokenDraft {
        mut claims,
        lifetime_secs,
    } = draft;
    let exp = now + lifetime_secs;
    claims.insert("exp".into(), json!(exp));
    if let Some(at) = at {
        claims.insert("at_hash".into(), json!(half_hash(&at.jwt)));
    }
    if let Some(code) = code {
        claims.insert("c_hash".into(), json!(half_hash(code)));
    }
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    let sub = claims.get("sub").cloned();
    Ok(IdToken {
        jwt: sign(server, &Value::Object(claims))?,
        jti,
        sub,
        exp,
    })
}

/// A new opaque refresh token: a type prefix (so introspection can route it without I/O and
/// secret scanners can spot it) and 43 random characters. Only its hash is stored.
pub fn refresh_token(random: &dyn Random) -> String {
    format!("rt.{}", random_token(random, 32))
}
