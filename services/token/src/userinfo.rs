//! `GET|POST /v1/userinfo` (OpenID Connect Core §5.3, Okta's `/userinfo` reference): the claims of the
//! user an access token of this server was issued for, by granted scope, plus custom IDENTITY
//! claims whose scope condition is met. The token comes in the `Authorization` header (or, for
//! POST, a form body, RFC 6750 §2.2) — never in a query string.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_oauth::tokens::{Active, examine};
use tessera_oauth::{Form, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use crate::claims::{self, UserInfo};
use crate::metadata::{ServerPath, resolve};

/// Where the `claims` parameter's userinfo claims wait for the access token they came with.
fn requested_key(tenant_id: &str, jti: &str) -> tessera_ephemeral::Key {
    tessera_ephemeral::Key::tenant(
        tenant_id,
        tessera_ephemeral::Kind::Session,
        &format!("claims:{jti}"),
    )
}

/// Keeps the standard claims the `claims` parameter asked `/userinfo` for (OIDC Core §5.5)
/// until the access token issued with them expires.
pub async fn remember_requested(
    r: &crate::grants::GrantRequest<'_>,
    at: &crate::mint::AccessToken,
    names: &[String],
) -> Result<(), OAuthError> {
    let ttl = std::time::Duration::from_secs(u64::try_from(at.expires_in).unwrap_or(0).max(1));
    let value = serde_json::to_vec(names).map_err(OAuthError::server_error)?;
    r.state
        .short
        .put(&requested_key(&r.tenant.tenant_id, &at.jti), &value, ttl)
        .await?;
    Ok(())
}

fn bearer_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"{error}\", error_description=\"{description}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error, "error_description": description }))
}

/// RFC 9449 §7.1: a refused proof at a resource.
fn dpop_error(description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!(
                "DPoP algs=\"RS256 RS384 RS512 ES256 ES384\", error=\"invalid_dpop_proof\", error_description=\"{description}\""
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": "invalid_dpop_proof", "error_description": description }))
}

fn invalid_token() -> HttpResponse {
    bearer_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is invalid",
    )
}

pub async fn userinfo(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    if url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "access_token")
    {
        return Err(OAuthError::invalid_request(
            "The access token cannot be presented in a query string.",
        ));
    }
    let scheme_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop")
        })
        .map(|(scheme, t)| (scheme.eq_ignore_ascii_case("dpop"), t.trim().to_owned()));
    let presented_with_dpop = scheme_token.as_ref().is_some_and(|(d, _)| *d);
    let header_token = scheme_token.map(|(_, t)| t);
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body_token = if is_form {
        Form::parse(&body)?.get("access_token").map(str::to_owned)
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "The access token must be presented in only one way.",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Ok(bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token is missing",
            ));
        }
    };
    let (tenant, server) = resolve(&state, &path).await?;
    let now = state.clock.now().unix_timestamp();
    let Some(Active::Access(at)) = examine(
        tessera_oauth::tokens::Stores {
            db: &state.db,
            revocations: &state.revocations,
        },
        &tenant,
        &server,
        &token,
        now,
    )
    .await?
    else {
        return Ok(invalid_token());
    };
    // RFC 9449 §7: a DPoP-bound token only as `Authorization: DPoP` with a proof of its key;
    // an unbound one only as `Bearer`.
    let bound = at
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str);
    match (bound, presented_with_dpop) {
        (None, false) => {}
        (Some(jkt), true) => {
            let url = format!(
                "{}{}",
                tenant.org_url,
                tessera_web::paging::relative_path(&req)
            );
            let mut proofs = req.headers().get_all("dpop");
            let proof = match (proofs.next(), proofs.next()) {
                (Some(p), None) => p.to_str().unwrap_or_default(),
                _ => return Ok(dpop_error("The request must carry one DPoP proof JWT.")),
            };
            let expect = tessera_oauth::dpop::Expect {
                method: req.method().as_str(),
                url: &url,
                access_token: Some(&token),
                nonce_required: false,
                now,
            };
            match tessera_oauth::dpop::verify(
                proof,
                &expect,
                state.short.as_ref(),
                &tenant.tenant_id,
            )
            .await
            {
                Ok(proven) if proven == jkt => {}
                Ok(_) => {
                    return Ok(dpop_error(
                        "The DPoP proof is not signed by the token's key.",
                    ));
                }
                Err(tessera_oauth::dpop::Refused::Invalid(why)) => return Ok(dpop_error(why)),
                Err(_) => {
                    return Err(OAuthError::temporarily_unavailable(
                        "short-lived store unavailable",
                    ));
                }
            }
        }
        _ => return Ok(invalid_token()),
    }
    let (Some(uid), Some(cid)) = (
        at.get("uid").and_then(Value::as_str),
        at.get("cid").and_then(Value::as_str),
    ) else {
        return Ok(invalid_token());
    };
    let scopes: Vec<String> = at
        .get("scp")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return Ok(bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The access token must provide access to at least one of these scopes - profile, email, address or phone",
        ));
    }
    let t = tenant.tenant_id.as_str();
    let Some(u) = repo::find::<user::Entity>(&state.db, t, uid)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
    else {
        return Ok(invalid_token());
    };
    let Some(client) = tenant.clients.get(cid).cloned() else {
        return Ok(invalid_token());
    };
    let info = UserInfo::load(&state.db, t, &client, &u).await?;
    let mut out = claims::standard_claims(&u, &info.profile, &scopes);
    let ctx = claims::context(&tenant, &client, Some(&info), &scopes, now);
    if scopes.iter().any(|s| s == "groups") {
        let names: Vec<Value> = ctx.groups.iter().take(100).map(|g| json!(g.name)).collect();
        out.insert("groups".into(), Value::Array(names));
    }
    for (k, v) in claims::evaluate(&server, "IDENTITY", &ctx, &scopes, false)? {
        out.entry(k).or_insert(v);
    }
    if let Some(jti) = at.get("jti").and_then(Value::as_str) {
        let requested: Vec<String> = state
            .short
            .get(&requested_key(t, jti))
            .await?
            .and_then(|v| serde_json::from_slice(&v).ok())
            .unwrap_or_default();
        for (k, v) in claims::requested_claims(&u, &info.profile, &requested) {
            out.entry(k).or_insert(v);
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Value::Object(out)))
}
