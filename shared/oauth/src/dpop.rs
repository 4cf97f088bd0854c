//! DPoP proofs (RFC 9449): a client proves it holds the private key its tokens are bound to by
//! signing, per request, a short JWT over the method and URL (and, at a resource, the access
//! token's hash). [`verify`] checks one proof and returns the thumbprint (`jkt`, RFC 7638) of the
//! key it was signed with:
//!
//! * header: `typ` `dpop+jwt`, an asymmetric `alg` (RS256/384/512, ES256/384, as Okta's
//!   `dpop_signing_alg_values_supported` lists them but ES512), and a public `jwk` (no private member) that
//!   verifies the signature;
//! * claims: `htm` the request's method, `htu` its URL without query and fragment, `iat` within
//!   [`IAT_PAST_SECS`] before and [`IAT_FUTURE_SECS`] after now, a `jti` not seen before (kept for
//!   the window, per tenant and key), `ath` the SHA-256 of the access token when one is
//!   presented, and a `nonce` this deployment issued when one is required.
//!
//! The token endpoint requires a nonce, as Okta's does: a proof without one (or with an unknown
//! one) gets `use_dpop_nonce` and a fresh nonce in the `DPoP-Nonce` header ([`new_nonce`]).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tessera_domain::Random;
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind, ShortLived};

/// How old a proof's `iat` may be.
pub const IAT_PAST_SECS: i64 = 300;
/// How far ahead of this clock a proof's `iat` may be.
pub const IAT_FUTURE_SECS: i64 = 60;
/// How long an issued nonce is accepted.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(600);
/// The longest proof accepted (its header carries a whole public key).
const MAX_PROOF_LEN: usize = 8 * 1024;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `invalid_dpop_proof`, with its reason.
    Invalid(&'static str),
    /// `use_dpop_nonce`: the proof lacks a nonce this deployment issued.
    UseNonce,
    /// The short-lived store could not be used (replay cannot be checked: fail closed).
    Unavailable,
}

/// What the proof must match.
pub struct Expect<'a> {
    pub method: &'a str,
    /// The request's URL as the client addressed it.
    pub url: &'a str,
    /// The access token presented with it, at a resource.
    pub access_token: Option<&'a str>,
    pub nonce_required: bool,
    /// Seconds since the epoch.
    pub now: i64,
}

fn nonce_key(tenant_id: &str, nonce: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::AssertionJti,
        &format!("dpop-nonce:{}", lookup_digest(nonce)),
    )
}

/// A fresh nonce, accepted for [`NONCE_LIFETIME`] by every replica sharing the store.
pub async fn new_nonce(
    store: &dyn ShortLived,
    random: &dyn Random,
    tenant_id: &str,
) -> Result<String, Refused> {
    let nonce = random_token(random, 24);
    store
        .put(&nonce_key(tenant_id, &nonce), b"1", NONCE_LIFETIME)
        .await
        .map_err(|_| Refused::Unavailable)?;
    Ok(nonce)
}

/// `scheme://host[:port]/path` of a URL, lower-cased where URLs are case-insensitive; `None`
/// when it is not an absolute http(s) URL.
fn target(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!(
        "{}://{}{port}{}",
        u.scheme(),
        u.host_str()?.to_ascii_lowercase(),
        u.path()
    ))
}

/// The base64url SHA-256 of an access token (`ath`).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        access_token.as_bytes(),
    ))
}

/// Checks `proof` against `expect`; the thumbprint of its key.
pub async fn verify(
    proof: &str,
    expect: &Expect<'_>,
    store: &dyn ShortLived,
    tenant_id: &str,
) -> Result<String, Refused> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(Refused::Invalid("The DPoP proof JWT is too long."));
    }
    let header = tessera_jose::compact::header(proof)
        .map_err(|_| Refused::Invalid("The DPoP proof JWT is malformed."))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(Refused::Invalid(
            "The DPoP proof JWT header 'typ' must be 'dpop+jwt'.",
        ));
    }
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::ES256
            | Algorithm::ES384
    ) {
        return Err(Refused::Invalid(
            "The DPoP proof JWT must be signed with an asymmetric algorithm.",
        ));
    }
    let jwk = header
        .jwk
        .as_ref()
        .ok_or(Refused::Invalid("The DPoP proof JWT header has no 'jwk'."))?;
    let public =
        serde_json::to_value(jwk).map_err(|_| Refused::Invalid("The DPoP 'jwk' is invalid."))?;
    let raw_header = proof
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        .ok_or(Refused::Invalid("The DPoP proof JWT is malformed."))?;
    // The key as sent, not as parsed: a private member must refuse the proof, not be dropped.
    tessera_jose::jwk::check_public(raw_header.get("jwk").unwrap_or(&Value::Null))
        .map_err(|_| Refused::Invalid("The DPoP 'jwk' must be a public signing key."))?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|_| Refused::Invalid("The DPoP 'jwk' is invalid."))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Map<String, Value>>(proof, &key, &validation)
        .map_err(|_| Refused::Invalid("The DPoP proof JWT signature is invalid."))?
        .claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(expect.method) {
        return Err(Refused::Invalid(
            "The 'htm' claim in the DPoP proof JWT is invalid.",
        ));
    }
    if text("htu").and_then(target).is_none() || text("htu").and_then(target) != target(expect.url)
    {
        return Err(Refused::Invalid(
            "The 'htu' claim in the DPoP proof JWT is invalid.",
        ));
    }
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat >= expect.now - IAT_PAST_SECS && iat <= expect.now + IAT_FUTURE_SECS => {}
        _ => {
            return Err(Refused::Invalid(
                "The 'iat' claim in the DPoP proof JWT is missing or outside the allowed window.",
            ));
        }
    }
    if let Some(token) = expect.access_token
        && text("ath") != Some(token_hash(token).as_str())
    {
        return Err(Refused::Invalid(
            "The 'ath' claim in the DPoP proof JWT does not match the access token.",
        ));
    }
    if expect.nonce_required {
        let Some(nonce) = text("nonce").filter(|n| n.len() <= 256) else {
            return Err(Refused::UseNonce);
        };
        if store
            .get(&nonce_key(tenant_id, nonce))
            .await
            .map_err(|_| Refused::Unavailable)?
            .is_none()
        {
            return Err(Refused::UseNonce);
        }
    }
    let jkt = tessera_jose::thumbprint(&public);
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(Refused::Invalid("The DPoP proof JWT has no valid 'jti'."))?;
    let window = u64::try_from(IAT_PAST_SECS + IAT_FUTURE_SECS).unwrap_or(360);
    let fresh = store
        .put_if_absent(
            &Key::tenant(
                tenant_id,
                Kind::AssertionJti,
                &format!("dpop:{}", lookup_digest(&format!("{jkt}:{jti}"))),
            ),
            b"1",
            Duration::from_secs(window),
        )
        .await
        .map_err(|_| Refused::Unavailable)?;
    if !fresh {
        return Err(Refused::Invalid(
            "The DPoP proof JWT has already been used.",
        ));
    }
    Ok(jkt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_is_compared_without_query_fragment_or_host_case() {
        assert_eq!(
            target("https://Auth.Example/t/a/oauth2/default/v1/token?x=1#f"),
            target("https://auth.example/t/a/oauth2/default/v1/token")
        );
        assert_ne!(
            target("https://auth.example/t/a/oauth2/default/v1/token"),
            target("https://auth.example/t/a/oauth2/other/v1/token")
        );
        assert_eq!(target("urn:x:y"), None);
        assert_eq!(target("not a url"), None);
    }
}
