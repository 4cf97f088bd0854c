//! Applying lifecycle changes to an authorization server's keys, in one transaction that bumps
//! the tenant's config version and announces the change (so every token replica swaps its
//! snapshot). Private keys are generated off the async workers and sealed with the master key
//! before they touch the database; they never appear in a log line or a response.

use crate::{AppState, Error};
use tessera_domain::rotation::{Change, KeyInfo, Status};
use tessera_jose::{Alg, GeneratedKey};
use tessera_store::entities::{authorization_server as srv, signing_key};
use tessera_store::{ColumnTrait as _, ConnectionTrait, repo};

/// Generates `n` keys for `alg` on the blocking pool (RSA-2048 takes ≈ 0.2 s each).
pub async fn generate(alg: Alg, n: usize) -> Result<Vec<GeneratedKey>, Error> {
    tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| tessera_jose::generate(alg))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)
}

/// Stores a generated key with `status`, sealed with the master key (bound to its row).
pub async fn insert(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant: &str,
    server_id: &str,
    key: GeneratedKey,
    status: Status,
) -> Result<signing_key::Model, Error> {
    let now = state.now_ms();
    insert_at(db, state, (tenant, server_id, now), key, status).await
}

/// [`insert`], created at `at`. A new server's first keys are created at the server's own
/// creation time: they were in every key set the server ever served, so its NEXT key may sign
/// at once (`tessera_domain::rotation`).
pub async fn insert_at(
    db: &impl ConnectionTrait,
    state: &AppState,
    (tenant, server_id, at): (&str, &str, i64),
    key: GeneratedKey,
    status: Status,
) -> Result<signing_key::Model, Error> {
    let now = at;
    let context = tessera_jose::signing_key_context(tenant, server_id, &key.kid);
    let sealed = state
        .master_key
        .seal(&key.pkcs8, &context, state.random.as_ref())
        .map_err(Error::internal)?;
    Ok(repo::insert::<signing_key::Entity>(
        db,
        signing_key::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id: key.kid.clone(),
            server_id: server_id.to_owned(),
            kid: key.kid,
            status: status.as_str().to_owned(),
            alg: key.alg.as_str().to_owned(),
            public_jwk: serde_json::to_string(&key.public_jwk).unwrap_or_default(),
            private_key: sealed,
            master_key_id: state.master_key.id().to_owned(),
            activated: (status == Status::Active).then_some(now),
            expired: None,
            created: now,
            last_updated: now,
        },
    )
    .await?)
}

/// The lifecycle view of a server's stored keys.
pub fn infos(rows: &[signing_key::Model]) -> Vec<KeyInfo> {
    rows.iter()
        .filter_map(|k| {
            Some(KeyInfo {
                kid: k.kid.clone(),
                status: Status::parse(&k.status)?,
                created: k.created,
                expired: k.expired,
            })
        })
        .collect()
}

pub async fn keys_of(
    db: &impl ConnectionTrait,
    tenant: &str,
    server_id: &str,
) -> Result<Vec<signing_key::Model>, Error> {
    Ok(
        repo::all::<signing_key::Entity>(db, tenant, signing_key::Column::ServerId.eq(server_id))
            .await?,
    )
}

/// A fence a write must still hold (the scheduler's); `None` for a write made by an admin.
pub struct Fence<'a> {
    pub name: &'a str,
    pub token: i64,
}

/// Applies `changes` to `server`'s keys. Returns `false` (and writes nothing) when `fence` is
/// given and no longer held.
pub async fn apply(
    state: &AppState,
    server: &srv::Model,
    changes: &[Change],
    fence: Option<Fence<'_>>,
) -> Result<bool, Error> {
    if changes.is_empty() {
        return Ok(true);
    }
    let alg = Alg::parse(&server.signing_alg).map_err(Error::internal)?;
    let needed = changes
        .iter()
        .filter(|c| matches!(c, Change::CreateNext | Change::CreateActive))
        .count();
    let mut fresh = generate(alg, needed).await?.into_iter();
    let (t, sid) = (server.tenant_id.as_str(), server.id.as_str());
    let scheduled = fence.is_some();
    let now = state.now_ms();
    let txn = state.begin().await?;
    if let Some(f) = &fence
        && !tessera_store::fences::holds(&txn, f.name, f.token).await?
    {
        tracing::warn!(
            fence = f.token,
            "rotation skipped: this replica no longer holds the fence"
        );
        return Ok(false);
    }
    let rows = keys_of(&txn, t, sid).await?;
    let find = |kid: &str| rows.iter().find(|k| k.kid == kid).cloned();
    let mut rotated = false;
    for change in changes {
        match change {
            Change::CreateNext | Change::CreateActive => {
                let key = fresh
                    .next()
                    .ok_or_else(|| Error::internal("fewer keys generated than planned"))?;
                let status = if matches!(change, Change::CreateActive) {
                    Status::Active
                } else {
                    Status::Next
                };
                rotated |= status == Status::Active;
                insert(&txn, state, t, sid, key, status).await?;
            }
            Change::Promote { next, active } => {
                if let Some(a) = active.as_deref().and_then(find) {
                    repo::update::<signing_key::Entity>(
                        &txn,
                        signing_key::Model {
                            status: "EXPIRED".into(),
                            expired: Some(now),
                            last_updated: now,
                            ..a
                        },
                    )
                    .await?;
                }
                if let Some(n) = find(next) {
                    repo::update::<signing_key::Entity>(
                        &txn,
                        signing_key::Model {
                            status: "ACTIVE".into(),
                            activated: Some(now),
                            last_updated: now,
                            ..n
                        },
                    )
                    .await?;
                }
                rotated = true;
            }
            Change::Expire(kid) => {
                if let Some(k) = find(kid) {
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
            }
            Change::Remove(kid) => {
                repo::delete_where::<signing_key::Entity>(
                    &txn,
                    t,
                    signing_key::Column::Kid.eq(kid.as_str()),
                )
                .await?;
            }
        }
    }
    if rotated {
        repo::update::<srv::Entity>(
            &txn,
            srv::Model {
                last_rotated: Some(now),
                last_updated: now,
                ..server.clone()
            },
        )
        .await?;
    }
    state
        .commit(txn, t, crate::Change::server("signingKeys", sid, sid))
        .await?;
    if rotated {
        crate::metrics::metrics()
            .key_rotations
            .with_label_values(&[if scheduled { "scheduled" } else { "manual" }])
            .inc();
        tracing::info!(
            tenant = t,
            server = sid,
            event = "app.oauth2.as.key.rollover",
            "signing keys rotated"
        );
    }
    // A scheduled rotation is recorded here; a manual one (`keyRotate`) by the management
    // API's change log, with the admin as its actor.
    if rotated && scheduled {
        let org = server.org;
        state.syslog.record(
            crate::syslog::Event::new(
                t,
                if org {
                    "app.oauth2.key.rollover"
                } else {
                    "app.oauth2.as.key.rollover"
                },
                "Authorization server signing keys rolled over",
                crate::syslog::Party::new("SystemPrincipal", "tessera-keys").named("Key rotation"),
            )
            .target(crate::syslog::Party::new("AuthorizationServer", sid)),
        );
    }
    Ok(true)
}

/// The schedule of one server: the deployment's, or its own interval (with a NEXT lead of at
/// most half of it).
pub fn schedule_of(state: &AppState, server: &srv::Model) -> tessera_domain::rotation::Schedule {
    let default = state.config.rotation_schedule();
    match server.rotation_interval_minutes {
        Some(m) if m > 0 => {
            let interval = m * 60_000;
            tessera_domain::rotation::Schedule {
                interval,
                next_lead: default.next_lead.min(interval / 2),
                ..default
            }
        }
        _ => default,
    }
}

/// When a server last rotated (or, never rotated, when it was created).
pub fn last_rotated(server: &srv::Model) -> i64 {
    server.last_rotated.unwrap_or(server.created)
}

/// The lifecycle's view of a server.
pub fn lifecycle_server(server: &srv::Model) -> tessera_domain::rotation::Server {
    tessera_domain::rotation::Server {
        mode: mode(server),
        last_rotated: last_rotated(server),
        created: server.created,
        ever_rotated: server.last_rotated.is_some(),
    }
}

pub fn mode(server: &srv::Model) -> tessera_domain::rotation::Mode {
    if server.rotation_mode == "MANUAL" {
        tessera_domain::rotation::Mode::Manual
    } else {
        tessera_domain::rotation::Mode::Auto
    }
}
