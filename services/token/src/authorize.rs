//! `GET|POST /v1/authorize` for the authorization-code flow (RFC 6749 §4.1, RFC 7636, OIDC Core
//! §3.1.2, Okta's `/authorize` reference), as an ordered list of checks. Until the client and its exact
//! redirect URI are known, errors are shown as a page and never redirected; after that they go
//! back to the client with `state`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use tessera_core::AppState;
use tessera_domain::policy::{self, UserFacts};
use tessera_domain::secrets::random_token;
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{ErrorCode, Form, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use crate::code::{CodeGrant, assigned};
use crate::login::pending_key;
use crate::metadata::ServerPath;
use crate::pages::error_page;
use crate::reply::{Reply, ReplyTo, respond};
use crate::session;

pub async fn authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST {
        &body
    } else {
        req.query_string().as_bytes()
    };
    let params = match Form::parse(raw) {
        Ok(p) => p,
        Err(e) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                &e.description,
            ));
        }
    };
    let resolved = match &path.server {
        Some(server) => state.hot.server(&path.tenant, server).await,
        None => state.hot.org_server(&path.tenant).await,
    }
    .map_err(OAuthError::server_error)?;
    let Some((tenant, server)) = resolved.filter(|(t, s)| t.active && s.active) else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "The authorization server id is invalid.",
        ));
    };
    // 1. The client and its exact redirect URI; before both are known, nothing is redirected.
    let Some(client) = params
        .get("client_id")
        .and_then(|id| tenant.clients.get(id))
        .filter(|c| c.active)
        .cloned()
    else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid client",
            "Invalid value for 'client_id' parameter.",
        ));
    };
    // A pushed request (RFC 9126 §4) replaces the query with what the client pushed; an app
    // that requires pushing takes nothing else.
    let pushed = params.get("request_uri").is_some() && params.get("request").is_none();
    let params = if pushed {
        let uri = params.get("request_uri").unwrap_or_default();
        let Some(pushed) = crate::par::take(&state, &tenant, &server, &client, uri).await? else {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The 'request_uri' is invalid, expired or already used.",
            ));
        };
        pushed
    } else if client.require_par {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "This application must push its authorization requests to the /par endpoint.",
        ));
    } else {
        params
    };
    // A signed request object replaces the query's parameters with its own.
    let registered = |r: &&str| client.redirect_uris.iter().any(|u| u == r);
    let params =
        match crate::request_object::apply(&state, &tenant, &server, &client, params).await? {
            Ok(p) => p,
            Err((refused, query)) => {
                // The object could not be trusted, so only the query can say where errors go.
                let Some(redirect_uri) = query.get("redirect_uri").filter(registered) else {
                    return Ok(error_page(
                        StatusCode::BAD_REQUEST,
                        "Invalid request",
                        refused.description,
                    ));
                };
                let tokens = query
                    .get("response_type")
                    .is_some_and(|t| t.split(' ').any(|t| t == "token" || t == "id_token"));
                let reply = Reply {
                    redirect_uri,
                    mode: if tokens { "fragment" } else { "query" },
                    state: query.get("state"),
                };
                return Ok(reply.error(refused.error, refused.description));
            }
        };
    let Some(redirect_uri) = params.get("redirect_uri").filter(registered) else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect URI",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        ));
    };
    // The response type decides the default response mode, so it is read first.
    let mut types: Vec<&str> = params
        .get("response_type")
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
        .collect();
    types.sort_unstable();
    types.dedup();
    let implicit = types.iter().any(|t| *t == "token" || *t == "id_token");
    let mode = params
        .get("response_mode")
        .unwrap_or(if implicit { "fragment" } else { "query" });
    let reply = Reply {
        redirect_uri,
        mode,
        state: params.get("state"),
    };
    if !matches!(
        mode,
        "query" | "fragment" | "form_post" | "okta_post_message" | "web_message"
    ) {
        return Ok(Reply {
            mode: "query",
            ..reply
        }
        .error(
            ErrorCode::InvalidRequest,
            "The 'response_mode' parameter is invalid.",
        ));
    }
    // 2. The request itself.
    if reply.state.is_none() {
        return Ok(reply.error(
            ErrorCode::InvalidRequest,
            "The 'state' parameter is required for authorization requests.",
        ));
    }
    let claims_request = match params.get("claims") {
        None => tessera_domain::claims_request::ClaimsRequest::default(),
        Some(text) => match tessera_domain::claims_request::parse(text) {
            Ok(r) => r,
            Err(why) => return Ok(reply.error(ErrorCode::InvalidRequest, why)),
        },
    };
    if types.is_empty() {
        return Ok(reply.error(
            ErrorCode::InvalidRequest,
            "The 'response_type' parameter is required.",
        ));
    }
    if types
        .iter()
        .any(|t| !matches!(*t, "code" | "token" | "id_token"))
    {
        return Ok(reply.error(
            ErrorCode::UnsupportedResponseType,
            "The response type is not supported by the authorization server. Configured response types: [code, token, id_token]",
        ));
    }
    let registered = types
        .iter()
        .all(|t| client.response_types.iter().any(|r| r == t));
    if !registered || (implicit && !client.grant_types.iter().any(|g| g == "implicit")) {
        return Ok(reply.error(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided response_type.",
        ));
    }
    if implicit && mode == "query" {
        return Ok(Reply {
            mode: "fragment",
            ..reply
        }
        .error(
            ErrorCode::InvalidRequest,
            "The 'query' response mode is not allowed for response types that return tokens.",
        ));
    }
    if implicit && params.get("nonce").is_none() {
        return Ok(reply.error(ErrorCode::InvalidRequest, "The 'nonce' parameter is required for authorize requests with either the 'id_token' or 'token' response types."));
    }
    let with_code = types.contains(&"code");
    let Some(scopes) = params.scopes().filter(|s| !s.is_empty()) else {
        return Ok(reply.error(
            ErrorCode::InvalidScope,
            "The authorization request must contain a 'scope' parameter.",
        ));
    };
    // 3. PKCE (RFC 7636): S256 only; required for public clients and when the app requires it.
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (Some(c), Some("S256")) if (43..=128).contains(&c.len()) => {}
        (Some(_), Some("S256")) => {
            return Ok(reply.error(
                ErrorCode::InvalidRequest,
                "The 'code_challenge' parameter is invalid.",
            ));
        }
        (Some(_), _) => {
            return Ok(reply.error(
                ErrorCode::InvalidRequest,
                "The 'code_challenge_method' parameter must be S256.",
            ));
        }
        (None, _)
            if with_code
                && (client.pkce_required || client.token_endpoint_auth_method == "none") =>
        {
            return Ok(reply.error(
                ErrorCode::InvalidRequest,
                "PKCE code challenge is required by the application.",
            ));
        }
        (None, _) => {}
    }
    // 4. The signed-in user: prompt, max_age and id_token_hint can force a new sign-in.
    let now = state.clock.now().unix_timestamp();
    let prompt = match Prompt::parse(params.get("prompt").unwrap_or_default()) {
        Ok(p) => p,
        Err(why) => return Ok(reply.error(ErrorCode::InvalidRequest, why)),
    };
    let max_age = params.get("max_age").and_then(|m| m.parse::<i64>().ok());
    // The user the client expects (OIDC Core §3.1.2.1): another user's session does not count.
    let hinted_sub = match params.get("id_token_hint") {
        Some(hint) => match crate::logout::id_token_claims(&server, hint)
            .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_owned))
        {
            Some(sub) => Some(sub),
            None => {
                return Ok(reply.error(
                    ErrorCode::InvalidRequest,
                    "The 'id_token_hint' parameter is not a valid ID token of this authorization server.",
                ));
            }
        },
        None => None,
    };
    let session = session::current(&state, &req, &tenant.tenant_id)
        .await?
        .filter(|s| max_age.is_none_or(|m| now - s.auth_time <= m))
        .filter(|s| hinted_sub.as_deref().is_none_or(|sub| sub == s.user_id))
        .filter(|_| !prompt.login);
    let Some(session) = session else {
        if prompt.none {
            return Ok(reply.error(
                ErrorCode::LoginRequired,
                "The client specified not to prompt, but the user is not logged in.",
            ));
        }
        return sign_in_first(
            &state,
            &req,
            &tenant,
            &params,
            pushed.then_some((&*server, &*client)),
        )
        .await;
    };
    // 5. Assignment, policy, consent.
    let t = tenant.tenant_id.as_str();
    let Some(u) = repo::find::<user::Entity>(&state.db, t, &session.user_id)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
    else {
        return sign_in_first(
            &state,
            &req,
            &tenant,
            &params,
            pushed.then_some((&*server, &*client)),
        )
        .await;
    };
    let group_ids = crate::claims::group_ids(&state.db, t, &u.id).await?;
    if !assigned(&tenant, &client, &u.id, &group_ids) {
        let why = "User is not assigned to the client application.";
        crate::events::authorize_denied(&state, &server, &client, &u.id, why);
        return Ok(reply.error(ErrorCode::AccessDenied, why));
    }
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids,
    };
    let request = policy::Request {
        client_id: &client.client_id,
        grant_type: "authorization_code",
        user: Some(&facts),
        scopes: Some(&scopes),
        everyone_group_id: &tenant.everyone_group_id,
    };
    let decided = if server.org {
        crate::grants::org::sign_in_grant(&client, &scopes)
    } else {
        policy::evaluate(&server.policies, &server.scopes, &request).map_err(OAuthError::from)
    };
    let grant = match decided {
        Ok(g) => g,
        Err(refused) => {
            if refused.error == ErrorCode::AccessDenied {
                crate::events::authorize_denied(
                    &state,
                    &server,
                    &client,
                    &u.id,
                    &refused.description,
                );
            }
            return Ok(reply.error(refused.error, &refused.description));
        }
    };
    let to_ask = consent_to_ask(&client, &server, &grant.scopes, prompt.consent);
    let missing: Vec<String> = if to_ask.is_empty() {
        Vec::new()
    } else {
        let given = if prompt.consent {
            Vec::new()
        } else {
            crate::consent::granted(&state, t, &server.server_id, &u.id, &client.client_id).await?
        };
        to_ask.into_iter().filter(|s| !given.contains(s)).collect()
    };
    // 6. The code: single use, bound to everything above, five minutes.
    let bound = CodeGrant {
        client_id: client.client_id.clone(),
        server_id: server.server_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: challenge.map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        scopes: grant.scopes.clone(),
        user_id: u.id.clone(),
        auth_time: session.auth_time,
        access_token_minutes: grant.lifetimes.access_token_minutes,
        refresh_token_minutes: grant.lifetimes.refresh_token_minutes,
        refresh_window_minutes: grant.lifetimes.refresh_window_minutes,
        policy_id: grant.policy_id.clone(),
        rule_id: grant.rule_id.clone(),
        inline_hook: grant.inline_hook.clone(),
        claims: claims_request,
    };
    let back = ReplyTo {
        redirect_uri: redirect_uri.to_owned(),
        mode: mode.to_owned(),
        state: reply.state.map(str::to_owned),
        response_type: types.join(" "),
    };
    if !missing.is_empty() {
        if prompt.none {
            return Ok(reply.error(ErrorCode::ConsentRequired, "The client specified not to prompt, but the user has not consented to the requested scopes."));
        }
        return crate::consent::ask(&state, &tenant, &server, &client, &missing, bound, back).await;
    }
    respond(&state, &tenant, &server, &client, bound, &back).await
}

/// The granted scopes the user must be asked about (Okta's policy evaluation): with
/// `prompt=consent` every REQUIRED or FLEXIBLE scope; otherwise, for apps whose
/// `consent_method` is REQUIRED, the same; TRUSTED apps are never asked without the prompt.
fn consent_to_ask(
    client: &ClientSnapshot,
    server: &ServerSnapshot,
    scopes: &[String],
    prompt_consent: bool,
) -> Vec<String> {
    if !prompt_consent && client.consent_method != "REQUIRED" {
        return Vec::new();
    }
    server
        .needing_consent(scopes, tessera_hot::Asking::RequiredAndFlexible)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The `prompt` parameter: a space-separated list (OIDC Core §3.1.2.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

impl Prompt {
    fn parse(value: &str) -> Result<Self, &'static str> {
        let mut p = Self::default();
        for v in value.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                // Tessera has one session per browser: there is no account to choose.
                "select_account" => {}
                _ => return Err("The 'prompt' parameter is invalid."),
            }
        }
        if p.none && value.split(' ').filter(|v| !v.is_empty()).count() > 1 {
            return Err("The 'prompt' value 'none' cannot be combined with any other value.");
        }
        Ok(p)
    }
}

/// The request as it resumes after the sign-in it asked for: `prompt=login`, `max_age` and
/// `id_token_hint` have been honoured by that sign-in, so they are not applied again (the
/// browser would otherwise be sent to sign in forever).
fn resumed(params: &Form) -> Form {
    let mut resumed = params.clone();
    let prompt: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty() && *v != "login")
        .collect();
    resumed.set("prompt", prompt.join(" "));
    resumed.set("max_age", String::new());
    resumed.set("id_token_hint", String::new());
    resumed
}

/// Parks the request and sends the browser to the sign-in page, which resumes it.
async fn sign_in_first(
    state: &AppState,
    req: &HttpRequest,
    tenant: &TenantSnapshot,
    params: &Form,
    pushed: Option<(&ServerSnapshot, &ClientSnapshot)>,
) -> Result<HttpResponse, OAuthError> {
    let id = random_token(state.random.as_ref(), 24);
    // The request resumes as a GET with the parameters it was decided on: POSTed ones become a
    // query, and a request object's (already verified, its jti spent) replace the object. A
    // pushed request is pushed again, so that its parameters stay out of the browser's URL and
    // an app that requires pushing can resume.
    let resume = match pushed {
        Some((server, client)) => {
            let uri = crate::par::push(state, tenant, server, client, &resumed(params)).await?;
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client.client_id)
                .append_pair("request_uri", &uri)
                .finish();
            format!("{}?{query}", req.path())
        }
        None => format!("{}?{}", req.path(), resumed(params).encoded()),
    };
    state
        .short
        .put(
            &pending_key(&tenant.tenant_id, &id),
            resume.as_bytes(),
            Duration::from_secs(600),
        )
        .await?;
    let mut login = format!("/t/{}/login?pending={id}", tenant.name);
    if let Some(hint) = params.get("login_hint") {
        login.push_str(&format!(
            "&login_hint={}",
            url::form_urlencoded::byte_serialize(hint.as_bytes()).collect::<String>()
        ));
    }
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, login))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_is_a_space_separated_list_and_none_stands_alone() {
        let p = Prompt::parse("login consent").unwrap();
        assert!(p.login && p.consent && !p.none);
        assert!(Prompt::parse("none").unwrap().none);
        assert_eq!(Prompt::parse("").unwrap(), Prompt::default());
        assert!(Prompt::parse("none login").is_err());
        assert!(Prompt::parse("none select_account").is_err());
        assert!(Prompt::parse("sometimes").is_err());
    }

    #[test]
    fn a_resumed_request_does_not_ask_for_the_sign_in_again() {
        let params = Form::from_pairs([
            ("prompt", "login consent"),
            ("max_age", "0"),
            ("id_token_hint", "x.y.z"),
            ("state", "s"),
        ]);
        let r = resumed(&params);
        assert_eq!(r.get("prompt"), Some("consent"));
        assert_eq!(r.get("max_age"), None);
        assert_eq!(r.get("id_token_hint"), None);
        assert_eq!(r.get("state"), Some("s"));
    }
}
