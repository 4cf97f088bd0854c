//! Client authentication (RFC 6749 §2.3, RFC 7523; Okta's client authentication methods,
//! <https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/>), shared by the token,
//! introspection and revocation endpoints. Each client authenticates only with the method it
//! registered; every failure has Okta's text, and nothing says which part was wrong beyond it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tessera_ephemeral::{Key, Kind, ShortLived};
use tessera_hot::{ClientSnapshot, TenantSnapshot};
use tessera_jose::compact::{self, JwtError};

use crate::error::OAuthError;
use crate::form::Form;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const NO_CREDENTIALS: &str = "No client credentials found.";
const BAD_BASIC: &str = "Found Authentication header but was not valid client credentials.";
const UNKNOWN_CLIENT: &str = "Invalid value for 'client_id' parameter.";
const FAILED: &str =
    "Client authentication failed. Either the client or the client credentials are invalid.";
const WRONG_SECRET: &str = "The client secret supplied for a confidential client is invalid.";
const MULTIPLE: &str = "Cannot supply multiple client credentials. Use one of the following: credentials in the \
                        Authorization header, credentials in the post body, or a client_assertion in the post body.";
const IN_QUERY: &str = "Client credentials cannot be supplied via query parameters.";

/// What the request offered.
#[derive(Debug)]
pub struct Credentials<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The raw query string (credentials there are refused).
    pub query: &'a str,
    pub form: &'a Form,
    /// The full URL of the endpoint called: a client assertion's `aud` must equal it.
    pub endpoint_url: &'a str,
    /// Where keys published at a client's `jwks_uri` come from.
    pub jwks: &'a tessera_core::client_jwks::ClientJwks,
}

/// Authenticates the client of a request against the tenant's hot state.
#[tracing::instrument(name = "oauth.client_auth", skip_all)]
pub async fn authenticate(
    creds: &Credentials<'_>,
    tenant: &TenantSnapshot,
    store: &dyn ShortLived,
    now: i64,
) -> Result<Arc<ClientSnapshot>, OAuthError> {
    if url::form_urlencoded::parse(creds.query.as_bytes()).any(|(k, _)| {
        matches!(
            k.as_ref(),
            "client_id" | "client_secret" | "client_assertion" | "client_assertion_type"
        )
    }) {
        return Err(OAuthError::invalid_request(IN_QUERY));
    }
    let basic = creds
        .authorization
        .filter(|h| h.len() > 6 && h[..6].eq_ignore_ascii_case("basic "));
    let post = creds.form.get("client_secret");
    let assertion = creds.form.get("client_assertion");
    if usize::from(basic.is_some()) + usize::from(post.is_some()) + usize::from(assertion.is_some())
        > 1
    {
        return Err(OAuthError::invalid_request(MULTIPLE));
    }
    let form_client_id = creds.form.get("client_id");
    if let Some(header) = basic {
        let (id, secret) =
            parse_basic(&header[6..]).ok_or_else(|| OAuthError::invalid_client(BAD_BASIC))?;
        if form_client_id.is_some_and(|f| f != id) {
            return Err(OAuthError::invalid_client(FAILED));
        }
        let client = client(tenant, &id)?;
        if secret.is_empty() {
            // `Basic base64(client_id)` or `base64(client_id:)`: a public client naming itself
            // the way okta-auth-js does at /revoke. It proves nothing, exactly like `client_id`
            // in the body, so only a client registered with `none` is accepted this way.
            return public(client);
        }
        return check_secret(client, "client_secret_basic", &secret);
    }
    if let Some(secret) = post {
        let id = form_client_id.ok_or_else(|| OAuthError::invalid_client(NO_CREDENTIALS))?;
        return check_secret(client(tenant, id)?, "client_secret_post", secret);
    }
    if let Some(jwt) = assertion {
        if creds.form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(
                "The client_assertion_type is invalid.",
            ));
        }
        return check_assertion(jwt, form_client_id, creds, tenant, store, now).await;
    }
    match form_client_id {
        Some(id) => public(client(tenant, id)?),
        None => Err(OAuthError::invalid_client(NO_CREDENTIALS)),
    }
}

/// A client identified without a credential: accepted only if it is ACTIVE and registered as
/// public (`token_endpoint_auth_method` `none`).
fn public(c: Arc<ClientSnapshot>) -> Result<Arc<ClientSnapshot>, OAuthError> {
    if c.token_endpoint_auth_method == "none" && c.active {
        Ok(c)
    } else {
        Err(OAuthError::invalid_client(FAILED))
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1). The secret may be empty or
/// left out with its colon (a public client naming itself); the id may not.
fn parse_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    // okta-auth-js names a public client as `Basic base64(client_id)`, without the colon.
    let (id, secret) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    (!id.is_empty()).then_some((id, secret))
}

fn client(tenant: &TenantSnapshot, id: &str) -> Result<Arc<ClientSnapshot>, OAuthError> {
    tenant
        .clients
        .get(id)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_client(UNKNOWN_CLIENT))
}

fn check_secret(
    client: Arc<ClientSnapshot>,
    method: &str,
    secret: &str,
) -> Result<Arc<ClientSnapshot>, OAuthError> {
    if !client.active || client.token_endpoint_auth_method != method {
        return Err(OAuthError::invalid_client(FAILED));
    }
    // Every ACTIVE secret authenticates (zero-downtime rotation); each check is constant-time.
    if client.secrets.iter().any(|h| h.verify(secret)) {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client(WRONG_SECRET))
    }
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// `client_secret_jwt` and `private_key_jwt` (RFC 7523 §3; the texts of the failures are Okta's).
async fn check_assertion(
    jwt: &str,
    form_client_id: Option<&str>,
    creds: &Credentials<'_>,
    tenant: &TenantSnapshot,
    store: &dyn ShortLived,
    now: i64,
) -> Result<Arc<ClientSnapshot>, OAuthError> {
    let header = compact::header(jwt).map_err(|_| OAuthError::invalid_client(FAILED))?;
    let unverified = unverified_claims(jwt).ok_or_else(|| OAuthError::invalid_client(FAILED))?;
    let iss = unverified.iss.clone().ok_or_else(|| {
        OAuthError::invalid_client(
            "The issuer claim for client_assertion is not a valid client_id.",
        )
    })?;
    let client = tenant.clients.get(&iss).cloned().ok_or_else(|| {
        OAuthError::invalid_client(
            "The issuer claim for client_assertion is not a valid client_id.",
        )
    })?;
    if form_client_id.is_some_and(|f| f != iss) || !client.active {
        return Err(OAuthError::invalid_client(FAILED));
    }
    let method_allows = match client.token_endpoint_auth_method.as_str() {
        "client_secret_jwt" => is_hmac(header.alg),
        "private_key_jwt" => !is_hmac(header.alg),
        _ => false,
    };
    if !method_allows {
        return Err(OAuthError::invalid_client(FAILED));
    }
    let endpoint_url = creds.endpoint_url;
    let remote = remote_keys(creds.jwks, tenant, &client, header.alg, header.kid.as_deref())
        .await
        .map_err(|e| {
            tracing::info!(client = %client.client_id, error = %e, "client assertion: the client's jwks_uri could not be used");
            OAuthError::invalid_client("The client's jwks_uri could not be used to verify the client_assertion.")
        })?;
    let keys = match &remote {
        Some(published) => keys_of(published, header.kid.as_deref()),
        None => client_keys(&client, header.alg, header.kid.as_deref()),
    }
    .map_err(|e| match e {
        NoKey::SecretTooShort => {
            OAuthError::invalid_client("The client secret is too short to verify a JWT HMAC.")
        }
        NoKey::NoJwks => OAuthError::invalid_client(
            "The client does not have a JWKSet configured, but the client_assertion requires one.",
        ),
        NoKey::UnknownKid => OAuthError::invalid_client("The client_assertion JWT kid is invalid."),
        NoKey::Unsupported => OAuthError::invalid_client(FAILED),
    })?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false; // checked below against the injected clock
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.set_audience(&[endpoint_url]);
    validation.set_issuer(&[iss.as_str()]);
    validation.sub = Some(iss.clone());
    match compact::verify(jwt, &keys, &validation) {
        Ok(_) => {}
        Err(JwtError::Rejected(ErrorKind::InvalidAudience)) => {
            return Err(OAuthError::invalid_client(
                "The audience claim for client_assertion must be the endpoint invoked for the request.",
            ));
        }
        Err(JwtError::Rejected(ErrorKind::InvalidSubject | ErrorKind::InvalidIssuer)) => {
            return Err(OAuthError::invalid_client(FAILED));
        }
        Err(_) => {
            return Err(OAuthError::invalid_client(
                "The client_assertion signature is invalid.",
            ));
        }
    }
    let exp = unverified
        .exp
        .ok_or_else(|| OAuthError::invalid_client(FAILED))?;
    if exp <= now {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is expired.",
        ));
    }
    if exp > now + 3600 {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has an expiration too far into the future.",
        ));
    }
    if unverified.iat.is_some_and(|iat| iat > now + 60) {
        return Err(OAuthError::invalid_client(FAILED));
    }
    // RFC 7523 §3: a JWT used before its `nbf` (beyond a minute of clock skew) is refused.
    if unverified.nbf.is_some_and(|nbf| nbf > now + 60) {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is not valid yet.",
        ));
    }
    if unverified.sub.as_deref() != Some(iss.as_str()) {
        return Err(OAuthError::invalid_client(FAILED));
    }
    if let Some(jti) = &unverified.jti {
        let key = Key::tenant(
            &tenant.tenant_id,
            Kind::AssertionJti,
            &format!("{iss}:{jti}"),
        );
        let ttl = Duration::from_secs(u64::try_from(exp - now).unwrap_or(1).max(1));
        if !store.put_if_absent(&key, b"1", ttl).await? {
            return Err(OAuthError::invalid_client(
                "The client_assertion token has already been used.",
            ));
        }
    }
    Ok(client)
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Why a client has no key that can verify a JWT it signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKey {
    /// HS*: every secret the client has is shorter than 32 characters.
    SecretTooShort,
    /// RS*/ES*: the client registered no JWKS.
    NoJwks,
    /// RS*/ES*: no registered key has the JWT's `kid`.
    UnknownKid,
    /// An algorithm Tessera does not verify, or HS* for a client whose secrets are kept only as
    /// hashes (only `client_secret_jwt` clients keep theirs sealed, to verify HMACs).
    Unsupported,
}

/// The keys that may have signed a JWT from `client` with `alg` and `kid`: its client secrets for
/// HS256/384/512, the keys of its registered JWKS for RS256/384/512 and ES256/384. Used for
/// client assertions (RFC 7523) and request objects (OIDC Core §6.1).
/// The keys a client publishes at its `jwks_uri`, for a JWT signed with `alg` naming `kid`:
/// `None` when the client has keys of its own in `jwks` (those win), no `jwks_uri`, or the JWT
/// is an HMAC one (signed with the secret).
pub async fn remote_keys(
    jwks: &tessera_core::client_jwks::ClientJwks,
    tenant: &TenantSnapshot,
    client: &ClientSnapshot,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<Option<Arc<Vec<serde_json::Value>>>, tessera_core::client_jwks::FetchError> {
    match (&client.jwks_uri, client.jwks.is_empty(), is_hmac(alg)) {
        (Some(uri), true, false) => Ok(Some(
            jwks.keys(&tenant.tenant_id, &client.client_id, uri, kid)
                .await?,
        )),
        _ => Ok(None),
    }
}

/// The verification keys among `jwks` for a JWT naming `kid` (all of them without one).
pub fn keys_of(jwks: &[serde_json::Value], kid: Option<&str>) -> Result<Vec<DecodingKey>, NoKey> {
    if jwks.is_empty() {
        return Err(NoKey::NoJwks);
    }
    let candidates: Vec<&serde_json::Value> = match kid {
        Some(kid) => jwks
            .iter()
            .filter(|k| k["kid"].as_str() == Some(kid))
            .collect(),
        None => jwks.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(NoKey::UnknownKid);
    }
    Ok(candidates
        .into_iter()
        .filter_map(|k| serde_json::from_value::<jsonwebtoken::jwk::Jwk>(k.clone()).ok())
        .filter_map(|k| DecodingKey::from_jwk(&k).ok())
        .collect())
}

pub fn client_keys(
    client: &ClientSnapshot,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<Vec<DecodingKey>, NoKey> {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            if client.jwt_secrets.is_empty() {
                return Err(NoKey::Unsupported);
            }
            if client.jwt_secrets.iter().all(|s| s.len() < 32) {
                return Err(NoKey::SecretTooShort);
            }
            Ok(client
                .jwt_secrets
                .iter()
                .map(|s| DecodingKey::from_secret(s.as_bytes()))
                .collect())
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::ES256
        | Algorithm::ES384 => keys_of(&client.jwks, kid),
        _ => Err(NoKey::Unsupported),
    }
}

fn unverified_claims(jwt: &str) -> Option<AssertionClaims> {
    let claims = compact::unverified_claims(jwt).ok()?;
    serde_json::from_value(serde_json::Value::Object(claims)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_basic_decodes_and_unescapes() {
        let h = STANDARD.encode("my%20client:s%3Acret");
        assert_eq!(parse_basic(&h), Some(("my client".into(), "s:cret".into())));
        assert_eq!(parse_basic("!!!"), None);
        assert_eq!(
            parse_basic(&STANDARD.encode("no-colon")),
            Some(("no-colon".into(), String::new()))
        );
        assert_eq!(parse_basic(&STANDARD.encode(":secret")), None);
        assert_eq!(
            parse_basic(&STANDARD.encode("spa:")),
            Some(("spa".into(), String::new()))
        );
    }
}
