//! Checking a user's password, for the hosted sign-in page and the password grant alike:
//! Okta's lockout (a user whose password is wrong `lockout_attempts` times in a row becomes
//! `LOCKED_OUT` until an admin unlocks them, or `lockout_minutes` pass) and a throttle on the
//! failures from one client address (password spraying: many usernames, one address). Only
//! failures count: a user may sign in as often as they like, and a success resets their count.
//! A refusal never says which part was wrong, nor that the account is locked.

use std::net::IpAddr;
use std::time::Duration;

use tessera_core::AppState;
use tessera_core::syslog::{Event, Party};
use tessera_domain::secrets::{lookup_digest, verify_password};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::OAuthError;
use tessera_store::entities::user;
use tessera_store::{ColumnTrait as _, repo};

/// How long a user's run of failures is remembered without another failure.
const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);
/// The window of the per-address throttle.
const ADDRESS_WINDOW: Duration = Duration::from_secs(60);

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Wrong username or password, a user who may not sign in, or a locked account.
    Invalid,
    /// Too many failures from this client address: try again later.
    Throttled,
    /// The password is right but expired (`PASSWORD_EXPIRED`): the user must choose a new one
    /// ([`change_expired_password`]) before signing in.
    Expired(Box<user::Model>),
}

fn address_key(tenant_id: &str, address: Option<IpAddr>) -> Key {
    let who = address.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
    Key::tenant(
        tenant_id,
        Kind::Throttle,
        &format!("signin-addr:{}", lookup_digest(&who)),
    )
}

fn failures_key(tenant_id: &str, user_id: &str) -> Key {
    Key::tenant(tenant_id, Kind::Throttle, &format!("signin-user:{user_id}"))
}

/// A counter's current value, without counting.
async fn count(state: &AppState, key: &Key) -> Result<u64, OAuthError> {
    Ok(state
        .short
        .get(key)
        .await?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0))
}

/// Whether a `LOCKED_OUT` user's lock has run out (`lockout_minutes`, if any).
fn lock_expired(state: &AppState, u: &user::Model) -> bool {
    let minutes = state.config.sign_in.lockout_minutes;
    minutes > 0
        && u.status_changed.is_some_and(|at| {
            at + i64::try_from(minutes * 60_000).unwrap_or(i64::MAX) <= state.now_ms()
        })
}

/// Checks `username` and `password` for the tenant. `Ok(Ok(user))` is an `ACTIVE` user whose
/// password matched; `Ok(Err(_))` a refusal; `Err` a store fault.
pub async fn authenticate(
    state: &AppState,
    tenant_id: &str,
    username: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<Result<user::Model, Refused>, OAuthError> {
    let per_address = state.config.sign_in.address_failures_per_minute;
    let from_address = address_key(tenant_id, address);
    if per_address > 0 && count(state, &from_address).await? >= per_address {
        tracing::info!(
            tenant = tenant_id,
            "sign-in throttled: too many failures from one address"
        );
        return Ok(Err(Refused::Throttled));
    }
    let found =
        repo::find_by::<user::Entity>(&state.db, tenant_id, user::Column::Login.eq(username))
            .await
            .map_err(OAuthError::server_error)?;
    // Verify even for unknown users (against a fixed hash), so timing does not reveal logins.
    let phc = found
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_phc().to_owned());
    let matched = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(OAuthError::server_error)?;
    let Some(mut u) = found.filter(|u| u.password_hash.is_some()) else {
        state.short.hit(&from_address, ADDRESS_WINDOW).await?;
        return Ok(Err(Refused::Invalid));
    };
    if u.status == "LOCKED_OUT" && matched && lock_expired(state, &u) {
        u = set_status(state, u, "ACTIVE").await?;
        record(
            state,
            tenant_id,
            &u,
            "user.account.unlock",
            "Account unlocked after the lockout period",
        );
    }
    if matched && u.status == "ACTIVE" {
        state.short.delete(&failures_key(tenant_id, &u.id)).await?;
        return Ok(Ok(u));
    }
    if matched && u.status == "PASSWORD_EXPIRED" {
        state.short.delete(&failures_key(tenant_id, &u.id)).await?;
        return Ok(Err(Refused::Expired(Box::new(u))));
    }
    state.short.hit(&from_address, ADDRESS_WINDOW).await?;
    if !matched && u.status == "ACTIVE" {
        let limit = state.config.sign_in.lockout_attempts;
        let failures = state
            .short
            .hit(&failures_key(tenant_id, &u.id), FAILURE_MEMORY)
            .await?
            .count;
        if limit > 0 && failures >= limit {
            let u = set_status(state, u, "LOCKED_OUT").await?;
            state.short.delete(&failures_key(tenant_id, &u.id)).await?;
            tracing::info!(tenant = tenant_id, user = %u.id, failures, "user locked out");
            record(
                state,
                tenant_id,
                &u,
                "user.account.lock",
                "Max sign in attempts exceeded",
            );
        }
    }
    Ok(Err(Refused::Invalid))
}

/// Replaces the expired password of `u` (just verified by [`authenticate`]) with `new`, which
/// must meet the password policy (its refusal is returned as `Ok(Err(text))`); the user is
/// `ACTIVE` again.
pub async fn change_expired_password(
    state: &AppState,
    u: user::Model,
    new: String,
) -> Result<Result<user::Model, &'static str>, OAuthError> {
    if let Some(refusal) = tessera_domain::secrets::password_policy_refusal(&new, &u.login) {
        return Ok(Err(refusal));
    }
    let hashed = tokio::task::spawn_blocking(move || tessera_domain::secrets::hash_password(&new))
        .await
        .map_err(OAuthError::server_error)?
        .map_err(OAuthError::server_error)?;
    let now = state.now_ms();
    let txn = state.begin().await.map_err(OAuthError::server_error)?;
    let (tenant_id, id) = (u.tenant_id.clone(), u.id.clone());
    let updated = repo::update::<user::Entity>(
        &txn,
        user::Model {
            status: "ACTIVE".into(),
            status_changed: Some(now),
            password_hash: Some(hashed),
            password_changed: Some(now),
            last_updated: now,
            ..u
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    state
        .commit(txn, &tenant_id, tessera_core::Change::cold("user", &id))
        .await
        .map_err(OAuthError::server_error)?;
    record(
        state,
        &tenant_id,
        &updated,
        "user.account.update_password",
        "User update password for Okta",
    );
    Ok(Ok(updated))
}

async fn set_status(
    state: &AppState,
    u: user::Model,
    status: &str,
) -> Result<user::Model, OAuthError> {
    let now = state.now_ms();
    let txn = state.begin().await.map_err(OAuthError::server_error)?;
    let tenant_id = u.tenant_id.clone();
    let id = u.id.clone();
    let updated = repo::update::<user::Entity>(
        &txn,
        user::Model {
            status: status.into(),
            status_changed: Some(now),
            last_updated: now,
            ..u
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    state
        .commit(txn, &tenant_id, tessera_core::Change::cold("user", &id))
        .await
        .map_err(OAuthError::server_error)?;
    Ok(updated)
}

fn record(state: &AppState, tenant_id: &str, u: &user::Model, event_type: &str, message: &str) {
    let user = Party::new("User", &u.id).named(&u.login);
    state
        .syslog
        .record(Event::new(tenant_id, event_type, message, user.clone()).target(user));
}

/// An argon2id hash (made once, with the same parameters as real ones) that unknown usernames
/// are verified against, so a sign-in takes as long for them as for a wrong password.
fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| {
        tessera_domain::secrets::hash_password("not a password of anyone").unwrap_or_default()
    })
}
