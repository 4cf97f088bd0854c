//! The token service's System Log vocabulary (Okta's event types, `app.oauth2.as.*`; the org
//! authorization server's drop the `.as`): the event-type prefix, the parties, and the
//! `authorize` events. The token endpoint records its own grants. No token or secret
//! is recorded: a token is named by its `jti`.

use tessera_core::AppState;
use tessera_core::syslog::{Event, Party};
use tessera_hot::ServerSnapshot;

/// `app.oauth2.as` for custom servers, `app.oauth2` for the org server.
pub fn prefix(server: &ServerSnapshot) -> &'static str {
    if server.org {
        "app.oauth2"
    } else {
        "app.oauth2.as"
    }
}

pub fn server_party(server: &ServerSnapshot) -> Party {
    Party::new("AuthorizationServer", &server.server_id).alternate(&server.issuer)
}

/// The client as an actor.
pub fn client_party(client: &tessera_hot::ClientSnapshot) -> Party {
    Party::new("PublicClientApp", &client.client_id).named(&client.label)
}

/// `app.oauth2.as.authorize` and, per response type, `.authorize.code`,
/// `.authorize.implicit.access_token`, `.authorize.implicit.id_token`: a signed-in user was
/// answered at `/authorize`.
pub fn authorized(
    state: &AppState,
    server: &ServerSnapshot,
    client: &tessera_hot::ClientSnapshot,
    bound: &crate::code::CodeGrant,
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

/// `app.oauth2.as.authorize` with outcome `FAILURE`: a signed-in user was refused at
/// `/authorize` (`access_denied`: not assigned to the app, or no policy rule allows the request).
pub fn authorize_denied(
    state: &AppState,
    server: &ServerSnapshot,
    client: &tessera_hot::ClientSnapshot,
    user_id: &str,
    reason: &str,
) {
    let event = Event::new(
        &server.tenant_id,
        format!("{}.authorize", prefix(server)),
        "OAuth2 authorization request",
        Party::new("User", user_id),
    )
    .outcome(tessera_core::syslog::Outcome::failure(reason))
    .target(client_party(client))
    .target(server_party(server))
    .debug("error", "access_denied");
    state.syslog.record(event);
}
