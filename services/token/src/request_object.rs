//! Signed request objects (`request`, OIDC Core §6.1, Okta's `/authorize` reference): the authorize
//! parameters as a JWT signed by the client, with its client secret (HS*, for
//! `client_secret_jwt` clients, whose secrets are kept sealed) or a key of its registered JWKS
//! (RS*, ES*). `iss` is the client, `aud` the issuer; `exp` at most an hour ahead; a `jti` is
//! single use. The object's parameters win over the query's; `client_id` and `response_type`,
//! which the query must carry too, must agree. Encrypted or unsigned objects are refused.

use std::time::Duration;

use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use tessera_core::AppState;
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::client_auth::{NoKey, client_keys};
use tessera_oauth::{ErrorCode, Form, OAuthError};

/// The longest a request object may live (Okta's token lifetimes).
const MAX_LIFETIME_SECS: i64 = 3600;

/// Why a request object was refused: the `error_description` of `invalid_request_object`
/// (or of `invalid_request` for the parameters around it).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub error: ErrorCode,
    pub description: &'static str,
}

const fn object(description: &'static str) -> Refused {
    Refused {
        error: ErrorCode::InvalidRequestObject,
        description,
    }
}

/// Applies the request object in `params`, if any: verifies it and returns the parameters with
/// the object's values in place of the query's, or why it was refused with the query's own
/// parameters (which say where the error may be sent).
pub async fn apply(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    mut params: Form,
) -> Result<Result<Form, (Refused, Form)>, OAuthError> {
    // A pushed request's `request_uri` was replaced by what was pushed before this point.
    if params.get("request_uri").is_some() {
        let refused = Refused {
            error: ErrorCode::InvalidRequest,
            description: "The 'request' and 'request_uri' parameters cannot be used together.",
        };
        return Ok(Err((refused, params)));
    }
    let Some(jwt) = params.get("request").map(str::to_owned) else {
        return Ok(Ok(params));
    };
    // Keys the client publishes at its jwks_uri, fetched (through the outbound guard) before
    // the object is verified.
    let remote = match tessera_jose::compact::header(&jwt) {
        Ok(h) => tessera_oauth::client_auth::remote_keys(
            &state.client_jwks,
            tenant,
            client,
            h.alg,
            h.kid.as_deref(),
        )
        .await
        .map_err(|e| {
            tracing::info!(client = %client.client_id, error = %e, "request object: the client's jwks_uri could not be used");
        })
        .ok()
        .flatten(),
        Err(_) => None,
    };
    let claims = match verify(
        &jwt,
        server,
        client,
        remote.as_deref().map(Vec::as_slice),
        state.clock.now().unix_timestamp(),
    ) {
        Ok(c) => c,
        Err(r) => return Ok(Err((r, params))),
    };
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        let exp = claims.get("exp").and_then(Value::as_i64);
        let now = state.clock.now().unix_timestamp();
        let ttl = exp.map_or(MAX_LIFETIME_SECS, |e| (e - now).max(1));
        let key = Key::tenant(
            &tenant.tenant_id,
            Kind::AssertionJti,
            &format!("request:{}:{jti}", client.client_id),
        );
        let fresh = state
            .short
            .put_if_absent(&key, b"1", Duration::from_secs(ttl.unsigned_abs()))
            .await?;
        if !fresh {
            return Ok(Err((
                object("The request object has already been used."),
                params,
            )));
        }
    }
    let as_param = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    for name in ["client_id", "response_type"] {
        let in_object = claims.get(name).and_then(as_param);
        if in_object.is_some_and(|v| params.get(name).is_some_and(|q| q != v)) {
            let refused = object(
                "The 'client_id' and 'response_type' in the request object must match the request parameters.",
            );
            return Ok(Err((refused, params)));
        }
    }
    for (name, value) in &claims {
        let registered_claim = matches!(
            name.as_str(),
            "iss" | "aud" | "exp" | "iat" | "nbf" | "jti" | "request" | "request_uri"
        );
        if let (false, Some(value)) = (registered_claim, as_param(value)) {
            params.set(name, value);
        }
    }
    params.set("request", String::new());
    Ok(Ok(params))
}

/// Checks the signature and the registered claims against the injected clock.
fn verify(
    jwt: &str,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    remote: Option<&[Value]>,
    now: i64,
) -> Result<Map<String, Value>, Refused> {
    let header = tessera_jose::compact::header(jwt).map_err(|e| match e {
        tessera_jose::compact::JwtError::Encrypted => {
            object("Encrypted request objects are not supported.")
        }
        _ => object("The request object must be a JWT signed with a supported algorithm."),
    })?;
    let keys = match remote {
        Some(published) => tessera_oauth::client_auth::keys_of(published, header.kid.as_deref()),
        None => client_keys(client, header.alg, header.kid.as_deref()),
    }
    .map_err(|e| match e {
        NoKey::SecretTooShort => {
            object("The client secret is too short to verify a request object signed with HMAC.")
        }
        NoKey::NoJwks => object(
            "The client does not have a JWKSet configured, but the request object requires one.",
        ),
        NoKey::UnknownKid => object("The request object's kid does not match a key of the client."),
        NoKey::Unsupported => {
            object("The request object's signing algorithm is not supported for this client.")
        }
    })?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false; // checked below against the injected clock
    validation.validate_aud = false; // `aud` may be a string or an array: checked below
    validation.required_spec_claims.clear();
    let claims = tessera_jose::compact::verify(jwt, &keys, &validation)
        .map_err(|_| object("The request object signature is invalid."))?;
    if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(object(
            "The issuer of the request object must be the client_id.",
        ));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == server.issuer,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(&server.issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(object(
            "The audience of the request object must be the authorization server's issuer.",
        ));
    }
    if let Some(exp) = claims.get("exp") {
        let exp = exp
            .as_i64()
            .ok_or(object("The request object's 'exp' must be a number."))?;
        if exp <= now {
            return Err(object("The request object has expired."));
        }
        if exp > now + MAX_LIFETIME_SECS {
            return Err(object("The request object expires too far in the future."));
        }
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + 60)
    {
        return Err(object("The request object was issued in the future."));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + 60)
    {
        return Err(object("The request object is not valid yet."));
    }
    Ok(claims)
}
