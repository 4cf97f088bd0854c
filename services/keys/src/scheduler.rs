//! The scheduled rotation job. Every `rotation_check_secs` each replica tries to take the lease
//! `{cluster}:key-rotation`; the holder claims a fencing token in the database once per lease
//! term, then plans and applies what is due for every authorization server. A replica that
//! loses the lease (or was paused past it) finds its token outdated and writes nothing. The
//! leader also prunes revocation markers that no longer matter.

use std::time::{Duration, Instant};

use tessera_core::AppState;
use tessera_domain::rotation;
use tessera_ephemeral::{Key, Kind};
use tessera_store::entities::{authorization_server as srv, tenant};
use tessera_store::{Condition, repo, sea_orm::EntityTrait as _};

use tessera_core::keys::{self as lifecycle, Fence};

/// Starts the job in the current actix system; aborting the handle stops it.
/// How often the leader deletes System Log events past their retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub fn spawn(state: AppState) -> actix_rt::task::JoinHandle<()> {
    let me = state.instance_id.to_string();
    actix_rt::spawn(async move {
        let every = Duration::from_secs(state.config.rotation_check_secs);
        let lease = Key::global(
            Kind::Lease,
            &format!("{}:key-rotation", state.config.cluster_name),
        );
        let fence_name = format!("{}:key-rotation", state.config.cluster_name);
        let mut term: Option<(u64, i64)> = None;
        let mut last_prune: Option<Instant> = None;
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match state.short.acquire_lease(&lease, &me, every * 3).await {
                Ok(Some(lease_fence)) => {
                    if term.map(|(f, _)| f) != Some(lease_fence) {
                        match tessera_store::fences::claim(&state.db, &fence_name).await {
                            Ok(token) => {
                                tracing::info!(holder = %me, token, "key-rotation leader");
                                term = Some((lease_fence, token));
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "could not claim the rotation fence");
                                continue;
                            }
                        }
                    }
                    if let Some((_, token)) = term
                        && let Err(e) = run_once(&state, &fence_name, token).await
                    {
                        tracing::warn!(error = %e, "key rotation pass failed");
                    }
                    // The leader also deletes revocation rows whose tokens have all expired.
                    match state.revocations.prune().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rows = n, "expired revocation markers pruned"),
                        Err(e) => tracing::warn!(error = %e, "revocation pruning failed"),
                    }
                    // …and, once an hour, System Log events past their retention (Okta keeps
                    // 90 days).
                    let days = state.config.system_log.retention_days;
                    if days > 0 && last_prune.is_none_or(|at: Instant| at.elapsed() >= PRUNE_EVERY)
                    {
                        last_prune = Some(Instant::now());
                        let keep =
                            i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
                        let cutoff = state.now_ms().saturating_sub(keep);
                        match tessera_core::syslog::prune(&state.db, cutoff).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(
                                events = n,
                                days,
                                "System Log events past their retention deleted"
                            ),
                            Err(e) => tracing::warn!(error = %e, "System Log pruning failed"),
                        }
                    }
                }
                Ok(None) => term = None,
                Err(e) => tracing::warn!(error = %e, "rotation lease unavailable"),
            }
        }
    })
}

/// One pass over every authorization server of every tenant.
pub async fn run_once(
    state: &AppState,
    fence_name: &str,
    token: i64,
) -> Result<(), tessera_web::ApiError> {
    let now = state.now_ms();
    let tenants = tenant::Entity::find()
        .all(&state.db)
        .await
        .map_err(tessera_web::ApiError::internal)?;
    for t in tenants.iter().filter(|t| t.status == "ACTIVE") {
        for server in repo::all::<srv::Entity>(&state.db, &t.id, Condition::all()).await? {
            let keys = lifecycle::keys_of(&state.db, &t.id, &server.id).await?;
            let schedule = lifecycle::schedule_of(state, &server);
            let changes = rotation::plan(
                &lifecycle::infos(&keys),
                &lifecycle::lifecycle_server(&server),
                now,
                &schedule,
            );
            if !changes.is_empty()
                && !lifecycle::apply(
                    state,
                    &server,
                    &changes,
                    Some(Fence {
                        name: fence_name,
                        token,
                    }),
                )
                .await?
            {
                return Ok(());
            }
        }
    }
    Ok(())
}
