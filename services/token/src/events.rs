//! The token service's System Log events (OKTA-REFERENCE §12): each token request records
//! `app.oauth2.as.token.grant` (its outcome, and on failure the OAuth error as the reason), and
//! one `…token.grant.{access_token,id_token,refresh_token}` event per token issued. The org
//! authorization server's events drop the `.as`. No token or secret is recorded: a token is
//! named by its `jti`.

use actix_web::HttpRequest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_core::syslog::{Event, Outcome, Party};
use tessera_hot::{ServerSnapshot, TenantSnapshot};
use tessera_oauth::OAuthError;

use crate::token::Seen;

/// `app.oauth2.as` for custom servers, `app.oauth2` for the org server.
pub fn prefix(server: &ServerSnapshot) -> &'static str {
    if server.org {
        "app.oauth2"
    } else {
        "app.oauth2.as"
    }
}

fn server_party(server: &ServerSnapshot) -> Party {
    Party::new("AuthorizationServer", &server.server_id).alternate(&server.issuer)
}

/// The client as an actor.
pub fn client_party(client: &tessera_hot::ClientSnapshot) -> Party {
    Party::new("PublicClientApp", &client.client_id).named(&client.label)
}

/// Records a token request and what it issued.
pub fn token_grant(
    state: &AppState,
    req: &HttpRequest,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    seen: &Seen,
    result: &Result<Map<String, Value>, OAuthError>,
) {
    let prefix = prefix(server);
    let actor = match &seen.client {
        Some(c) => client_party(c),
        None => Party::new("PublicClientApp", "unknown"),
    };
    let origin = tessera_web::client::origin(req);
    let grant = seen.grant.map_or("unknown", |g| g.as_str());
    let base = |event_type: String, message: &str| {
        Event::new(&tenant.tenant_id, event_type, message, actor.clone())
            .origin(origin.clone())
            .target(server_party(server))
            .debug("grantType", grant)
    };
    match result {
        Err(e) => state.syslog.record(
            base(format!("{prefix}.token.grant"), "OAuth2 token request")
                .outcome(Outcome::failure(e.error))
                .debug("errorDescription", e.description.clone()),
        ),
        Ok(body) => {
            let scope = body.get("scope").and_then(Value::as_str).unwrap_or("");
            let mut event = base(format!("{prefix}.token.grant"), "OAuth2 token request")
                .debug("grantedScopes", scope);
            for (kind, message) in [
                ("access_token", "OAuth2 access token is granted"),
                ("id_token", "OAuth2 id token is granted"),
                ("refresh_token", "OAuth2 refresh token is granted"),
            ] {
                if let Some(token) = body.get(kind).and_then(Value::as_str) {
                    event = event.follow_up(
                        format!("{prefix}.token.grant.{kind}"),
                        message,
                        token_party(kind, token, body),
                    );
                }
            }
            state.syslog.record(event);
        }
    }
}

/// A token as a target: its `jti`, subject and expiry for JWTs; only its lifetime for opaque
/// refresh tokens. Never the token itself.
fn token_party(kind: &str, token: &str, body: &Map<String, Value>) -> Party {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    match claims {
        Some(c) => Party::new(
            kind,
            c.get("jti").and_then(Value::as_str).unwrap_or("unknown"),
        )
        .detail(json!({
            "subject": c.get("sub"),
            "expires": c.get("exp"),
            "scopes": c.get("scp"),
        })),
        None => Party::new(kind, "opaque").detail(json!({
            "expiresIn": body.get("expires_in"),
        })),
    }
}

/// `app.oauth2.as.authorize` and, per response type, `.authorize.code`,
/// `.authorize.implicit.access_token`, `.authorize.implicit.id_token`: a signed-in user was
/// answered at `/authorize`.
pub fn authorized(
    state: &AppState,
    server: &ServerSnapshot,
    client: &tessera_hot::ClientSnapshot,
    bound: &crate::authorize::CodeGrant,
    response_types: &[&str],
) {
    let prefix = prefix(server);
    let mut event = Event::new(
        &server.tenant_id,
        format!("{prefix}.authorize"),
        "OAuth2 authorization request",
        Party::new("User", &bound.user_id),
    )
    .target(client_party(client))
    .target(server_party(server))
    .debug("responseTypes", response_types.join(" "))
    .debug("grantedScopes", bound.grant().scopes.join(" "));
    for (kind, suffix, target) in [
        ("code", "authorize.code", "authorization_code"),
        ("token", "authorize.implicit.access_token", "access_token"),
        ("id_token", "authorize.implicit.id_token", "id_token"),
    ] {
        if response_types.contains(&kind) {
            event = event.follow_up(
                format!("{prefix}.{suffix}"),
                "OAuth2 authorization request",
                Party::new(target, "issued"),
            );
        }
    }
    state.syslog.record(event);
}
