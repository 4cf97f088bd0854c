//! How `/authorize` answers the client: a code, tokens or an error, back to the exact
//! redirect URI in the requested response mode (`query`, `fragment`, `form_post`, or
//! `okta_post_message` / `web_message` for a hidden iframe or pop-up), with `state` (RFC 6749
//! §4.1.2, OAuth 2.0 Form Post Response Mode, OAuth 2.0 Web Message Response Mode). Used by `/authorize` itself
//! and by the consent page when the user has answered.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::{Deserialize, Serialize};
use tessera_core::AppState;
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{ErrorCode, Form, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use crate::code::CodeGrant;
use crate::pages::form_post;
use tessera_domain::secrets::random_token;

/// Where an error or a code goes back to the client.
pub struct Reply<'a> {
    pub redirect_uri: &'a str,
    pub mode: &'a str,
    pub state: Option<&'a str>,
}

impl Reply<'_> {
    pub fn send(&self, params: &[(&str, &str)]) -> HttpResponse {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(s) = self.state {
            all.push(("state", s));
        }
        match self.mode {
            "form_post" => return form_post(self.redirect_uri, &all),
            "okta_post_message" | "web_message" => {
                let Some(origin) = tessera_domain::origins::of_url(self.redirect_uri) else {
                    return crate::pages::error_page(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        "Invalid redirect URI",
                        "The redirect URI has no origin to post the response to.",
                    );
                };
                let fields: serde_json::Map<String, serde_json::Value> = all
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                    .collect();
                // Okta's mode posts the parameters themselves; the Web Message Response Mode
                // wraps them (`{"type": "authorization_response", "response": {…}}`).
                let message = if self.mode == "web_message" {
                    serde_json::json!({ "type": "authorization_response", "response": fields })
                } else {
                    serde_json::Value::Object(fields)
                };
                return crate::pages::post_message(&origin, &message);
            }
            _ => {}
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(all)
            .finish();
        let sep = if self.mode == "fragment" {
            '#'
        } else if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        HttpResponse::Found()
            .insert_header((
                header::LOCATION,
                format!("{}{sep}{encoded}", self.redirect_uri),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    }

    pub fn error(&self, error: ErrorCode, description: &str) -> HttpResponse {
        self.send(&[
            ("error", error.as_str()),
            ("error_description", description),
        ])
    }
}

/// Where a code or an error goes back to, kept while the user is asked for consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub mode: String,
    pub state: Option<String>,
    /// `code`, `token`, `id_token` or a combination, space-separated and sorted.
    pub response_type: String,
}

impl ReplyTo {
    pub fn error(&self, error: ErrorCode, description: &str) -> HttpResponse {
        Reply {
            redirect_uri: &self.redirect_uri,
            mode: &self.mode,
            state: self.state.as_deref(),
        }
        .error(error, description)
    }
}

/// Answers an authorized request per its response type: a stored code (`code`), an access token
/// (`token`), an ID token (`id_token`: fat alone, thin with the others, with `at_hash` and
/// `c_hash` as applicable) — OIDC Core §3.1.2.5, §3.2.2.5, §3.3.2.5.
pub async fn respond(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    bound: CodeGrant,
    back: &ReplyTo,
) -> Result<HttpResponse, OAuthError> {
    let types: Vec<&str> = back.response_type.split(' ').collect();
    let reply = Reply {
        redirect_uri: &back.redirect_uri,
        mode: &back.mode,
        state: back.state.as_deref(),
    };
    let t = tenant.tenant_id.as_str();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut code = None;
    if types.contains(&"code") {
        let c = random_token(state.random.as_ref(), 32);
        let value = serde_json::to_vec(&bound).map_err(OAuthError::server_error)?;
        state
            .short
            .put(&crate::code::code_key(t, &c), &value, crate::code::CODE_TTL)
            .await?;
        out.push(("code".into(), c.clone()));
        code = Some(c);
    }
    if types.contains(&"token") || types.contains(&"id_token") {
        let now = state.clock.now().unix_timestamp();
        let Some(u) = repo::find::<user::Entity>(&state.db, t, &bound.user_id)
            .await
            .map_err(OAuthError::server_error)?
            .filter(|u| u.status == "ACTIVE")
        else {
            return Ok(reply.error(ErrorCode::AccessDenied, "The user is not active."));
        };
        let info = crate::claims::UserInfo::load(&state.db, t, client, &u).await?;
        let grant = bound.grant();
        let scope = grant.scopes.join(" ");
        let request = Form::from_pairs([
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", back.redirect_uri.as_str()),
            ("response_type", back.response_type.as_str()),
            ("response_mode", back.mode.as_str()),
            ("scope", scope.as_str()),
            ("state", back.state.as_deref().unwrap_or_default()),
        ]);
        let issue = crate::issue::Issue {
            state,
            tenant,
            server,
            client,
            grant: &grant,
            user: Some(&info),
            auth_time: Some(bound.auth_time),
            dpop_jkt: None,
            now,
            origin: crate::issue::Origin {
                endpoint: "authorize",
                grant_type: "implicit",
                params: &request,
                refresh_token_id: None,
            },
        };
        let want = crate::issue::Want {
            access: types.contains(&"token"),
            id: types
                .contains(&"id_token")
                .then(|| crate::mint::IdTokenFor {
                    nonce: bound.nonce.as_deref(),
                    auth_time: bound.auth_time,
                    fat: (types == ["id_token"])
                        .then(|| crate::claims::standard_claims(&u, &info.profile, &grant.scopes)),
                    requested: crate::claims::requested_claims(
                        &u,
                        &info.profile,
                        &bound.claims.id_token,
                    ),
                }),
            code: code.as_deref(),
        };
        let issued = crate::issue::tokens(&issue, want).await?;
        if let Some(at) = issued.access {
            out.push(("access_token".into(), at.jwt));
            out.push(("token_type".into(), "Bearer".into()));
            out.push(("expires_in".into(), at.expires_in.to_string()));
            out.push(("scope".into(), scope.clone()));
        }
        if let Some(id_token) = issued.id_token {
            out.push(("id_token".into(), id_token.jwt));
        }
    }
    // What the advice's unused-redirect and unused-grant findings read.
    use tessera_core::usage::Used;
    let (store, now_ms) = (state.short.as_ref(), state.now_ms());
    let usage = &state.usage;
    usage
        .touch(
            store,
            t,
            &client.app_id,
            Used::RedirectUri,
            &back.redirect_uri,
            now_ms,
        )
        .await;
    if types.contains(&"token") || types.contains(&"id_token") {
        usage
            .touch(
                store,
                t,
                &client.app_id,
                Used::GrantType,
                "implicit",
                now_ms,
            )
            .await;
    }
    crate::events::authorized(state, server, client, &bound, &types);
    let params: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(reply.send(&params))
}
