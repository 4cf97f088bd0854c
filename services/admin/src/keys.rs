//! Authorization-server signing keys (OKTA-REFERENCE §4.2, §7): generation at server creation
//! (an ACTIVE and a NEXT key), the `credentials/keys` listing, and `keyRotate`.
//!
//! Private keys are generated with aws-lc-rs off the async workers, sealed with the master key
//! (bound to tenant/server/kid) and never leave this module in any response or log line.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_jose::{Alg, GeneratedKey};
use tessera_store::entities::{authorization_server as srv, signing_key};
use tessera_store::{ColumnTrait as _, ConnectionTrait, repo};
use tessera_web::tenant::Admin;
use tessera_web::{ApiError, AppState};

use crate::support::{href, server, stored, to_text};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/authorizationServers/{id}/credentials/keys",
        web::get().to(list),
    )
    .route(
        "/authorizationServers/{id}/credentials/keys/{kid}",
        web::get().to(get),
    )
    .route(
        "/authorizationServers/{id}/credentials/lifecycle/keyRotate",
        web::post().to(rotate),
    );
}

/// Generates `n` keys for `alg` on the blocking pool (RSA-2048 takes ≈ 0.2 s each).
pub async fn generate(alg: Alg, n: usize) -> Result<Vec<GeneratedKey>, ApiError> {
    tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| tessera_jose::generate(alg))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Stores a generated key with `status`, sealed with the master key.
pub async fn insert(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant: &str,
    server_id: &str,
    key: GeneratedKey,
    status: &str,
) -> Result<signing_key::Model, ApiError> {
    let now = state.now_ms();
    let context = tessera_jose::signing_key_context(tenant, server_id, &key.kid);
    let sealed = state
        .master_key
        .seal(&key.pkcs8, &context, state.random.as_ref())
        .map_err(ApiError::internal)?;
    Ok(repo::insert::<signing_key::Entity>(
        db,
        signing_key::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id: key.kid.clone(),
            server_id: server_id.to_owned(),
            kid: key.kid,
            status: status.to_owned(),
            alg: key.alg.as_str().to_owned(),
            public_jwk: to_text(&key.public_jwk),
            private_key: sealed,
            master_key_id: state.master_key.id().to_owned(),
            activated: (status == "ACTIVE").then_some(now),
            expired: None,
            created: now,
            last_updated: now,
        },
    )
    .await?)
}

fn render(org: &str, s: &srv::Model, k: &signing_key::Model) -> Result<Value, ApiError> {
    let mut jwk: Value = stored(&k.public_jwk)?;
    jwk["status"] = json!(k.status);
    jwk["_links"] = json!({ "self": href(format!("{org}/api/v1/authorizationServers/{}/credentials/keys/{}", s.id, k.kid)) });
    Ok(jwk)
}

/// The keys a server shows: ACTIVE, NEXT, and EXPIRED ones still within retention.
async fn current(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
) -> Result<Vec<signing_key::Model>, ApiError> {
    let now = state.now_ms();
    let mut keys = repo::all::<signing_key::Entity>(
        &state.db,
        &admin.tenant.id,
        signing_key::Column::ServerId.eq(&s.id),
    )
    .await?;
    keys.retain(|k| {
        k.status != "EXPIRED"
            || k.expired
                .is_some_and(|e| now - e < tessera_jose::EXPIRED_KEY_RETENTION_MS)
    });
    let rank = |k: &signing_key::Model| match k.status.as_str() {
        "ACTIVE" => 0,
        "NEXT" => 1,
        _ => 2,
    };
    keys.sort_by_key(|k| (rank(k), -k.created));
    Ok(keys)
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let keys = current(&state, &admin, &s).await?;
    let out = keys
        .iter()
        .map(|k| render(&admin.tenant.org_url, &s, k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let keys = current(&state, &admin, &s).await?;
    let k = keys
        .iter()
        .find(|k| k.kid == path.2)
        .ok_or_else(|| ApiError::not_found(&path.2, "JsonWebKey"))?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &s, k)?))
}

#[derive(Debug, Default, Deserialize)]
struct RotateInput {
    #[serde(rename = "use")]
    key_use: Option<String>,
}

/// `keyRotate`: ACTIVE → EXPIRED, NEXT → ACTIVE (signing switches at once), and a new NEXT.
async fn rotate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: Option<web::Json<RotateInput>>,
) -> Result<HttpResponse, ApiError> {
    if body.as_ref().and_then(|b| b.key_use.as_deref()) != Some("sig") {
        return Err(ApiError::validation(
            "rotateKeys",
            vec!["use: must be 'sig'".into()],
        ));
    }
    let s = server(&state, &admin, &path.1).await?;
    let alg = Alg::parse(&s.signing_alg).map_err(ApiError::internal)?;
    let mut fresh = generate(alg, 2).await?;
    let t = admin.tenant.id.clone();
    let now = state.now_ms();
    let txn = state.begin().await?;
    let keys =
        repo::all::<signing_key::Entity>(&txn, &t, signing_key::Column::ServerId.eq(&s.id)).await?;
    let mut promoted = false;
    for k in keys {
        match k.status.as_str() {
            "ACTIVE" => {
                repo::update::<signing_key::Entity>(
                    &txn,
                    signing_key::Model {
                        status: "EXPIRED".into(),
                        expired: Some(now),
                        last_updated: now,
                        ..k
                    },
                )
                .await?;
            }
            "NEXT" if !promoted => {
                promoted = true;
                repo::update::<signing_key::Entity>(
                    &txn,
                    signing_key::Model {
                        status: "ACTIVE".into(),
                        activated: Some(now),
                        last_updated: now,
                        ..k
                    },
                )
                .await?;
            }
            _ => {}
        }
    }
    // A server whose NEXT key was missing gets a fresh ACTIVE key as well.
    if !promoted {
        if let Some(k) = fresh.pop() {
            insert(&txn, &state, &t, &s.id, k, "ACTIVE").await?;
        }
    }
    if let Some(k) = fresh.pop() {
        insert(&txn, &state, &t, &s.id, k, "NEXT").await?;
    }
    let sid = s.id.clone();
    repo::update::<srv::Entity>(
        &txn,
        srv::Model {
            last_rotated: Some(now),
            last_updated: now,
            ..s.clone()
        },
    )
    .await?;
    state.commit(txn, &t, "signingKeys", &sid).await?;
    tracing::info!(tenant = %t, server = %sid, "signing keys rotated");
    let keys = current(&state, &admin, &s).await?;
    let out = keys
        .iter()
        .map(|k| render(&admin.tenant.org_url, &s, k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}
