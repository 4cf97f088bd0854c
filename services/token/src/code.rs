//! The authorization-code flow's shared vocabulary: what a code is bound to ([`CodeGrant`]),
//! where codes and redeemed codes live in the short-lived store, and who may use a client
//! (assignment). `/authorize` issues codes, the `authorization_code` grant redeems them, the
//! consent page resumes them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tessera_domain::policy;
use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, TenantSnapshot};

/// How long an authorization code lives (five minutes, as Okta's).
pub const CODE_TTL: Duration = Duration::from_secs(300);

/// What a code is bound to, kept in the short-lived store under a hash of the code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub server_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub auth_time: i64,
    pub access_token_minutes: i64,
    pub refresh_token_minutes: i64,
    pub refresh_window_minutes: i64,
    /// The matched policy and rule, and the rule's token inline hook, which runs again when
    /// the code is exchanged.
    #[serde(default)]
    pub policy_id: String,
    #[serde(default)]
    pub rule_id: String,
    #[serde(default)]
    pub inline_hook: Option<String>,
    /// The `claims` parameter's standard claims (OIDC Core §5.5).
    #[serde(default)]
    pub claims: tessera_domain::claims_request::ClaimsRequest,
}

impl CodeGrant {
    /// The policy decision the code carries: its scopes and the lifetimes the matching rule
    /// gave when the code was issued.
    pub fn grant(&self) -> policy::Grant {
        policy::Grant {
            policy_id: self.policy_id.clone(),
            rule_id: self.rule_id.clone(),
            scopes: self.scopes.clone(),
            lifetimes: policy::Lifetimes {
                access_token_minutes: self.access_token_minutes,
                refresh_token_minutes: self.refresh_token_minutes,
                refresh_window_minutes: self.refresh_window_minutes,
            },
            inline_hook: self.inline_hook.clone(),
        }
    }
}

pub fn code_key(tenant_id: &str, code: &str) -> Key {
    Key::tenant(tenant_id, Kind::AuthorizationCode, &lookup_digest(code))
}

/// Where what a redeemed code minted is kept, so that a replay can revoke it (RFC 6749 §4.1.2).
pub fn redeemed_key(tenant_id: &str, code: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::AuthorizationCode,
        &format!("redeemed:{}", lookup_digest(code)),
    )
}

/// Whether `user_id` (a member of `groups`) may use `client`: assigned to it directly, or
/// through one of their groups (Everyone included).
pub fn assigned(
    tenant: &TenantSnapshot,
    client: &ClientSnapshot,
    user_id: &str,
    groups: &[String],
) -> bool {
    client.assigned_users.contains_key(user_id)
        || client
            .assigned_groups
            .iter()
            .any(|g| *g == tenant.everyone_group_id || groups.contains(g))
}
