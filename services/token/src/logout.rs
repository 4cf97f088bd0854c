//! `GET|POST /v1/logout` (OpenID Connect RP-Initiated Logout, Okta's `/logout` reference): ends the
//! sign-in session and sends the browser to a registered `post_logout_redirect_uri` (echoing
//! `state`) or to the sign-in page. `id_token_hint` is required and must be an ID token of this
//! server — expired ones are accepted, as Okta does; an invalid one gets an error page.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use tessera_core::AppState;
use tessera_hot::ServerSnapshot;
use tessera_oauth::{Form, OAuthError};

use crate::pages::error_page;
use crate::session;

/// The claims of `hint` if it is an ID token of `server` (its signature and issuer; expiry is
/// not held against it, as Okta does for `id_token_hint`).
pub fn id_token_claims(server: &ServerSnapshot, hint: &str) -> Option<Map<String, Value>> {
    let h = jsonwebtoken::decode_header(hint).ok()?;
    let key = server
        .verify_keys
        .iter()
        .find(|k| Some(&k.kid) == h.kid.as_ref() && k.alg == h.alg)?;
    let mut v = Validation::new(key.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v.set_issuer(&[server.issuer.as_str()]);
    jsonwebtoken::decode::<Map<String, Value>>(hint, &key.key, &v)
        .ok()
        .map(|d| d.claims)
}

pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
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
    let Some((tenant, server)) = state
        .hot
        .server(&path.0, &path.1)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|(t, s)| t.active && s.active)
    else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "The authorization server id is invalid.",
        ));
    };
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The 'id_token_hint' parameter is required.",
        ));
    };
    let claims = id_token_claims(&server, hint);
    let client = claims
        .as_ref()
        .and_then(|c| c.get("aud").and_then(Value::as_str))
        .and_then(|aud| tenant.clients.get(aud));
    let Some(client) = client else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The 'id_token_hint' parameter is not a valid ID token of this authorization server.",
        ));
    };
    let target = match params.get("post_logout_redirect_uri") {
        Some(uri) if client.post_logout_redirect_uris.iter().any(|u| u == uri) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            match params.get("state") {
                Some(st) => format!(
                    "{uri}{sep}{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("state", st)
                        .finish()
                ),
                None => uri.to_owned(),
            }
        }
        Some(_) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings.",
            ));
        }
        None => format!("/t/{}/login", tenant.name),
    };
    let removal = session::end(&state, &req, &tenant.tenant_id, &tenant.name).await?;
    Ok(HttpResponse::Found()
        .cookie(removal)
        .insert_header((header::LOCATION, target))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
