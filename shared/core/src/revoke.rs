//! Revoking refresh tokens and the access tokens minted with them: used by `/revoke` and by the
//! management API's token administration (Okta's `/revoke` reference).

use tessera_store::entities::refresh_token;
use tessera_store::repo;

use crate::state::AppState;

/// Denylists the access tokens minted with `rows` (until they would expire anyway), then marks
/// the rows REVOKED. The denylist goes first: if the short-lived store is down, nothing is
/// marked revoked while its access tokens stay valid.
pub async fn refresh_tokens(
    state: &AppState,
    tenant_id: &str,
    rows: Vec<refresh_token::Model>,
) -> Result<usize, crate::Error> {
    let now = state.clock.now().unix_timestamp();
    for r in &rows {
        if let (Some(jti), Some(exp)) = (&r.access_token_jti, r.access_token_exp)
            && exp > now
        {
            state
                .revocations
                .revoke_jti(&state.db, tenant_id, jti, exp)
                .await?;
        }
    }
    let now_ms = now * 1000;
    let mut revoked = 0;
    for r in rows.into_iter().filter(|r| r.status == "ACTIVE") {
        repo::update::<refresh_token::Entity>(
            &state.db,
            refresh_token::Model {
                status: "REVOKED".into(),
                last_updated: now_ms,
                ..r
            },
        )
        .await?;
        revoked += 1;
    }
    Ok(revoked)
}
