//! What a presented token is, and whether it is still active.

use crate::OAuthError;
use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use tessera_core::revocation::Revocations;
use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::revocation::Subject;
use tessera_hot::{ServerSnapshot, TenantSnapshot};
use tessera_store::DatabaseConnection;
use tessera_store::entities::{refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};

/// What examining a token reads: refresh-token rows and users in the database, revocation
/// markers.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub db: &'a DatabaseConnection,
    pub revocations: &'a Revocations,
}

/// A token this server issued and that is still active.
pub enum Active {
    /// An access token (`cid` and `scp` present) with its claims.
    Access(Map<String, Value>),
    /// An ID token (audience: a client of the tenant) with its claims.
    Id(Map<String, Value>),
    /// A refresh token's row.
    Refresh(Box<refresh_token::Model>),
}

/// Examines `token`: `None` when it is not an active token of this server.
pub async fn examine(
    stores: Stores<'_>,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    token: &str,
    now: i64,
) -> Result<Option<Active>, OAuthError> {
    if !tenant.active || !server.active {
        return Ok(None);
    }
    if token.starts_with("rt.") {
        return refresh(stores, tenant, server, token, now).await;
    }
    if token.split('.').count() == 3 {
        return jwt(stores, tenant, server, token, now).await;
    }
    Ok(None)
}

/// Verifies a JWT against the server's published keys and issuer; checks expiry with the
/// injected clock, then the revocation markers.
async fn jwt(
    stores: Stores<'_>,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    token: &str,
    now: i64,
) -> Result<Option<Active>, OAuthError> {
    let Ok(header) = tessera_jose::compact::header(token) else {
        return Ok(None);
    };
    let Some(key) = server
        .verify_keys
        .iter()
        .find(|k| Some(&k.kid) == header.kid.as_ref() && k.alg == header.alg)
    else {
        return Ok(None);
    };
    let mut validation = Validation::new(key.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[server.issuer.as_str()]);
    let Ok(data) = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) else {
        return Ok(None);
    };
    let claims = data.claims;
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if int("exp").is_none_or(|exp| exp <= now) || int("nbf").is_some_and(|nbf| nbf > now) {
        return Ok(None);
    }
    let iat = int("iat").unwrap_or(0);
    let is_access = claims.contains_key("cid") && claims.contains_key("scp");
    let (client_id, user_id) = if is_access {
        if text("aud") != Some(server.audience.as_str()) {
            return Ok(None);
        }
        (text("cid").unwrap_or_default(), text("uid"))
    } else {
        (text("aud").unwrap_or_default(), text("sub"))
    };
    // Deleted or deactivated clients' tokens are dead for good (§3.4).
    if !tenant.clients.get(client_id).is_some_and(|c| c.active) {
        return Ok(None);
    }
    let mut subjects = vec![
        Subject::Tenant,
        Subject::Server(&server.server_id),
        Subject::Client(client_id),
    ];
    if let Some(uid) = user_id {
        subjects.push(Subject::User(uid));
        subjects.push(Subject::Assignment {
            client_id,
            user_id: uid,
        });
    }
    if stores
        .revocations
        .is_revoked(&tenant.tenant_id, text("jti"), iat, &subjects)
        .await?
    {
        return Ok(None);
    }
    Ok(Some(if is_access {
        Active::Access(claims)
    } else {
        Active::Id(claims)
    }))
}

async fn refresh(
    stores: Stores<'_>,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    token: &str,
    now: i64,
) -> Result<Option<Active>, OAuthError> {
    let t = tenant.tenant_id.as_str();
    let row = repo::find_by::<refresh_token::Entity>(
        stores.db,
        t,
        refresh_token::Column::TokenHash.eq(lookup_digest(token)),
    )
    .await
    .map_err(OAuthError::server_error)?;
    let Some(row) = row.filter(|r| r.server_id == server.server_id && r.status == "ACTIVE") else {
        return Ok(None);
    };
    let now_ms = now * 1000;
    if row.expires_at.is_some_and(|e| e <= now_ms)
        || row.window_expires_at.is_some_and(|w| w <= now_ms)
    {
        return Ok(None);
    }
    if !tenant.clients.get(&row.client_id).is_some_and(|c| c.active) {
        return Ok(None);
    }
    if let Some(uid) = &row.user_id {
        let active = repo::find::<user::Entity>(stores.db, t, uid)
            .await
            .map_err(OAuthError::server_error)?
            .is_some_and(|u| u.status == "ACTIVE");
        if !active {
            return Ok(None);
        }
        let subjects = [
            Subject::Tenant,
            Subject::Server(&server.server_id),
            Subject::Client(&row.client_id),
            Subject::User(uid),
            Subject::Assignment {
                client_id: &row.client_id,
                user_id: uid,
            },
        ];
        if stores
            .revocations
            .is_revoked(t, None, row.created / 1000, &subjects)
            .await?
        {
            return Ok(None);
        }
    }
    Ok(Some(Active::Refresh(Box::new(row))))
}
