//! A server's two discovery documents (RFC 8414 and OpenID Connect Discovery 1.0), serialised
//! on the first request for them and kept with the snapshot. Most hot servers only issue tokens
//! and serve their keys; building both documents for every loaded server cost about 8 kB each
//! (docs/performance.md, "Memory per hot tenant").

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::registry::RegistryConfig;

/// What a server's discovery documents are built from, and the documents once built.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// What the endpoint URLs start with: the issuer, or `{org}/oauth2` on the org server.
    endpoints: String,
    /// The scopes the server publishes (on the org server, besides the `okta.*` scopes, which
    /// are added when the documents are built).
    scopes: Vec<String>,
    /// The ID token signing algorithm.
    signing_alg: String,
    org: bool,
    org_url: String,
    /// The OpenID configuration and the OAuth metadata, serialised.
    built: OnceLock<(Bytes, Bytes)>,
}

impl Discovery {
    pub(crate) fn new(
        endpoints: String,
        scopes: Vec<String>,
        signing_alg: String,
        org: bool,
        org_url: String,
    ) -> Self {
        Self {
            endpoints,
            scopes,
            signing_alg,
            org,
            org_url,
            built: OnceLock::new(),
        }
    }

    /// The two documents of the server whose issuer is `issuer`, built on the first call.
    pub(crate) fn documents(&self, issuer: &str, cfg: &RegistryConfig) -> &(Bytes, Bytes) {
        self.built.get_or_init(|| {
            let mut scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
            if self.org {
                scopes.extend(tessera_domain::org_scopes::ALL);
            }
            let (oidc, oauth) = discovery(
                issuer,
                &self.endpoints,
                &scopes,
                cfg,
                &self.signing_alg,
                self.org,
                &self.org_url,
            );
            (exact(&oidc), exact(&oauth))
        })
    }
}

/// `value` serialised into a buffer of exactly its length (a `String` grown while writing keeps
/// up to twice that).
pub(crate) fn exact(value: &Value) -> Bytes {
    Bytes::from(value.to_string().into_bytes().into_boxed_slice())
}

/// The two discovery documents (Okta's discovery documents), listing only what this deployment
/// serves: the org authorization server's token endpoint takes `authorization_code`,
/// `client_credentials` and the token exchange for identity assertions only (and `/authorize`
/// the implicit flow), and the device and JWT bearer grants are a custom server's.
fn discovery(
    issuer: &str,
    endpoints: &str,
    scopes: &[&str],
    cfg: &RegistryConfig,
    alg: &str,
    org: bool,
    org_url: &str,
) -> (Value, Value) {
    let endpoint = |name: &str| format!("{endpoints}/v1/{name}");
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ];
    // `device_sso` exists as a system scope (as in Okta) but is for Native SSO (a token
    // exchange of an ID token and a device secret), which Tessera does not implement: it is
    // not advertised.
    let scopes: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| *s != "device_sso")
        .collect();
    let signing_algs = json!([
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"
    ]);
    let mut oauth = json!({
        "issuer": issuer,
        "token_endpoint": endpoint("token"),
        "jwks_uri": endpoint("keys"),
        "grant_types_supported": if org {
            vec![
                "authorization_code",
                "implicit",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ]
        } else {
            cfg.grant_types.clone()
        },
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": signing_algs,
        "claims_supported": ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "sub"],
        "response_types_supported": cfg.response_types,
        "response_modes_supported": cfg.response_modes,
        "code_challenge_methods_supported": ["S256"],
        // RFC 9449 §5.1: the algorithms a DPoP proof may use (tessera_oauth::dpop), of the
        // ones Okta's metadata lists (ES512 is not verified here).
        "dpop_signing_alg_values_supported": ["RS256", "RS384", "RS512", "ES256", "ES384"],
    });
    if cfg.endpoints.contains(&"authorize") {
        oauth["pushed_authorization_request_endpoint"] = json!(endpoint("par"));
        oauth["request_parameter_supported"] = json!(true);
        // `request_uri` is taken only as a pushed request's (RFC 9126), not fetched.
        oauth["request_uri_parameter_supported"] = json!(false);
        oauth["request_object_signing_alg_values_supported"] = json!([
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384"
        ]);
    }
    // Dynamic client registration is the org's (`{org}/oauth2/v1/clients`, as in Okta's
    // metadata for every server).
    oauth["registration_endpoint"] = json!(format!("{org_url}/oauth2/v1/clients"));
    if !org && cfg.endpoints.contains(&"device/authorize") {
        oauth["device_authorization_endpoint"] = json!(endpoint("device/authorize"));
    }
    for (field, path) in [
        ("authorization_endpoint", "authorize"),
        ("introspection_endpoint", "introspect"),
        ("revocation_endpoint", "revoke"),
    ] {
        if cfg.endpoints.contains(&path) {
            oauth[field] = json!(endpoint(path));
        }
    }
    // RFC 8414 §2: with the JWT client-authentication methods listed, each endpoint that
    // accepts them names the algorithms too.
    if cfg.endpoints.contains(&"introspect") {
        oauth["introspection_endpoint_auth_methods_supported"] = json!(auth_methods);
        oauth["introspection_endpoint_auth_signing_alg_values_supported"] = signing_algs.clone();
    }
    if cfg.endpoints.contains(&"revoke") {
        oauth["revocation_endpoint_auth_methods_supported"] = json!(auth_methods);
        oauth["revocation_endpoint_auth_signing_alg_values_supported"] = signing_algs.clone();
    }
    let mut oidc = oauth.clone();
    oidc["subject_types_supported"] = json!(["public"]);
    // OIDC Core §5.5 (standard claims, by section: tessera_domain::claims_request).
    oidc["claims_parameter_supported"] = json!(true);
    oidc["id_token_signing_alg_values_supported"] = json!([alg]);
    oidc["claims_supported"] = json!([
        "iss",
        "ver",
        "sub",
        "aud",
        "iat",
        "exp",
        "jti",
        "auth_time",
        "amr",
        "idp",
        "nonce",
        "name",
        "nickname",
        "preferred_username",
        "given_name",
        "middle_name",
        "family_name",
        "email",
        "email_verified",
        "profile",
        "zoneinfo",
        "locale",
        "address",
        "phone_number",
        "picture",
        "website",
        "gender",
        "birthdate",
        "updated_at",
        "at_hash",
        "c_hash"
    ]);
    if cfg.endpoints.contains(&"userinfo") {
        oidc["userinfo_endpoint"] = json!(endpoint("userinfo"));
    }
    if cfg.endpoints.contains(&"logout") {
        oidc["end_session_endpoint"] = json!(endpoint("logout"));
    }
    (oidc, oauth)
}
