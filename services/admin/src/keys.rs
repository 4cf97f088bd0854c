//! Authorization-server signing keys (Okta's authorization-server key credentials): generation at server creation
//! (an ACTIVE and a NEXT key), the `credentials/keys` listing, and `keyRotate`.
//!
//! Private keys are generated with aws-lc-rs off the async workers, sealed with the master key
//! (bound to tenant/server/kid) and never leave this module in any response or log line.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_store::entities::{authorization_server as srv, signing_key};
use tessera_store::{ColumnTrait as _, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{href, server, stored};

pub fn routes(api: &mut Api) {
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get("/authorizationServers/{id}/credentials/keys", servers, list)
        .get(
            "/authorizationServers/{id}/credentials/keys/{kid}",
            servers,
            get,
        )
        .post(
            "/authorizationServers/{id}/credentials/lifecycle/keyRotate",
            servers,
            rotate,
        );
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

/// `keyRotate` (either mode): ACTIVE → EXPIRED, NEXT → ACTIVE (signing switches at once), and a
/// fresh NEXT is published — `tessera_domain::rotation::manual`.
async fn rotate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: Option<web::Json<RotateInput>>,
) -> Result<HttpResponse, ApiError> {
    // Okta's schema makes the body optional; `use`, when given, can only be `sig`.
    if body
        .as_ref()
        .and_then(|b| b.key_use.as_deref())
        .is_some_and(|u| u != "sig")
    {
        return Err(ApiError::validation(
            "rotateKeys",
            vec!["use: must be 'sig'".into()],
        ));
    }
    let s = server(&state, &admin, &path.1).await?;
    let rows = tessera_core::keys::keys_of(&state.db, &admin.tenant.id, &s.id).await?;
    let schedule = tessera_core::keys::schedule_of(&state, &s);
    let planned = tessera_domain::rotation::manual(
        &tessera_core::keys::infos(&rows),
        &tessera_core::keys::lifecycle_server(&s),
        state.now_ms(),
        &schedule,
    );
    let changes = match planned {
        Ok(changes) => changes,
        Err(not_yet) => {
            // Promoting a key that verifiers may not have cached yet would make them reject
            // every token it signs; Okta's documents promise a rotation they never notice.
            if not_yet == tessera_domain::rotation::NotYet::NoNextKey {
                tessera_core::keys::apply(
                    &state,
                    &s,
                    &[tessera_domain::rotation::Change::CreateNext],
                    None,
                )
                .await?;
            }
            let when = match not_yet {
                tessera_domain::rotation::NotYet::NextTooNew { ready_at } => {
                    tessera_domain::timefmt::millis_rfc3339(ready_at)
                }
                tessera_domain::rotation::NotYet::NoNextKey => {
                    tessera_domain::timefmt::millis_rfc3339(state.now_ms() + schedule.next_lead)
                }
            };
            return Err(ApiError::validation(
                "rotateKeys",
                vec![format!(
                    "The next signing key was published less than {} s ago, and verifiers may still hold a key set without it; it can start signing at {when}. Rotate then.",
                    schedule.next_lead / 1000
                )],
            ));
        }
    };
    tessera_core::keys::apply(&state, &s, &changes, None).await?;
    admin.record(&state);
    let keys = current(&state, &admin, &s).await?;
    let out = keys
        .iter()
        .map(|k| render(&admin.tenant.org_url, &s, k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}
