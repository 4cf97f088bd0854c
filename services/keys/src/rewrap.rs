//! `tessera keys rewrap`: re-seals every signing key, client secret and inline-hook credential
//! sealed under the previous master key with the current one. Run it with both keys configured
//! (`TESSERA_MASTER_KEY` = the new key, `TESSERA_PREVIOUS_MASTER_KEY` = the old one); servers
//! started with both keep working during the switch, since they open rows by their key id.

use tessera_core::AppState;
use tessera_store::entities::{app_secret, inline_hook, signing_key};
use tessera_store::repo;
use tessera_store::sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use tessera_web::ApiError;

/// How many rows were re-sealed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewrapped {
    pub signing_keys: usize,
    pub client_secrets: usize,
    pub hook_credentials: usize,
}

/// Re-seals every row sealed under the previous master key. Idempotent: rows already under the
/// current key are left alone, so an interrupted run can simply be repeated.
pub async fn run(state: &AppState) -> Result<Rewrapped, ApiError> {
    let ring = &state.master_keys;
    let Some(previous) = &ring.previous else {
        return Err(ApiError::invalid(
            "previous_master_key",
            "is needed to rewrap: set TESSERA_PREVIOUS_MASTER_KEY",
        ));
    };
    let current = &ring.current;
    let mut done = Rewrapped::default();
    let txn = tessera_store::begin_write(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let keys = signing_key::Entity::find()
        .filter(signing_key::Column::MasterKeyId.eq(previous.id()))
        .all(&txn)
        .await
        .map_err(ApiError::internal)?;
    for k in keys {
        let context = tessera_jose::signing_key_context(&k.tenant_id, &k.server_id, &k.kid);
        let plain = previous
            .open(&k.private_key, &context)
            .map_err(ApiError::internal)?;
        let sealed = current
            .seal(&plain, &context, state.random.as_ref())
            .map_err(ApiError::internal)?;
        repo::update::<signing_key::Entity>(
            &txn,
            signing_key::Model {
                private_key: sealed,
                master_key_id: current.id().to_owned(),
                ..k
            },
        )
        .await?;
        done.signing_keys += 1;
    }
    let secrets = app_secret::Entity::find()
        .filter(app_secret::Column::MasterKeyId.eq(previous.id()))
        .all(&txn)
        .await
        .map_err(ApiError::internal)?;
    for s in secrets {
        let Some(old) = s.sealed.clone() else {
            continue;
        };
        let context = tessera_jose::client_secret_context(&s.tenant_id, &s.app_id, &s.id);
        let plain = previous.open(&old, &context).map_err(ApiError::internal)?;
        let sealed = current
            .seal(&plain, &context, state.random.as_ref())
            .map_err(ApiError::internal)?;
        repo::update::<app_secret::Entity>(
            &txn,
            app_secret::Model {
                sealed: Some(sealed),
                master_key_id: Some(current.id().to_owned()),
                ..s
            },
        )
        .await?;
        done.client_secrets += 1;
    }
    let hooks = inline_hook::Entity::find()
        .filter(inline_hook::Column::MasterKeyId.eq(previous.id()))
        .all(&txn)
        .await
        .map_err(ApiError::internal)?;
    for h in hooks {
        let Some(old) = h.auth_value_sealed.clone() else {
            continue;
        };
        let context = tessera_jose::inline_hook_context(&h.tenant_id, &h.id);
        let plain = previous.open(&old, &context).map_err(ApiError::internal)?;
        let sealed = current
            .seal(&plain, &context, state.random.as_ref())
            .map_err(ApiError::internal)?;
        repo::update::<inline_hook::Entity>(
            &txn,
            inline_hook::Model {
                auth_value_sealed: Some(sealed),
                master_key_id: Some(current.id().to_owned()),
                ..h
            },
        )
        .await?;
        done.hook_credentials += 1;
    }
    txn.commit().await.map_err(ApiError::internal)?;
    Ok(done)
}
