//! The claims engine (Okta's authorization-server claims): after the policy decides, each claim of the
//! server whose scope condition is met is evaluated; null omits it, a failure fails the request
//! with `server_error` naming the claim. Reserved claims are never overridden.

use serde_json::{Map, Value, json};
use tessera_domain::el_eval::{self, Context, GroupRef};
use tessera_domain::validate::RESERVED_CLAIMS;
use tessera_hot::{ClaimValue, ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_store::entities::{group_member, user};
use tessera_store::{ColumnTrait as _, ConnectionTrait, repo};

use crate::error::IssueError;

/// The user of a user-bound grant, as claims and policies see it.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: String,
    pub status: String,
    pub profile: Value,
    pub group_ids: Vec<String>,
    /// The app-user name (`appuser.userName`); the login when assigned through a group.
    pub app_user_name: String,
}

impl UserInfo {
    /// Loads what claims and policies need to know about `u` as a user of `client`: the
    /// profile, the groups it is a member of, and its app-user name (the one the client's
    /// assignment gives it, else the login).
    pub async fn load(
        db: &impl ConnectionTrait,
        tenant_id: &str,
        client: &ClientSnapshot,
        u: &user::Model,
    ) -> Result<Self, IssueError> {
        let group_ids = group_ids(db, tenant_id, &u.id).await?;
        Self::of(client, u, group_ids)
    }

    /// [`UserInfo::load`] with the user's groups already read (one read serves every client).
    pub fn of(
        client: &ClientSnapshot,
        u: &user::Model,
        group_ids: Vec<String>,
    ) -> Result<Self, IssueError> {
        Ok(Self {
            id: u.id.clone(),
            status: u.status.clone(),
            profile: serde_json::from_str(&u.profile)?,
            group_ids,
            app_user_name: client
                .assigned_users
                .get(&u.id)
                .cloned()
                .unwrap_or_else(|| u.login.clone()),
        })
    }
}

/// The ids of the groups `user_id` is a member of.
pub async fn group_ids(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<String>, IssueError> {
    Ok(
        repo::all::<group_member::Entity>(db, tenant_id, group_member::Column::UserId.eq(user_id))
            .await?
            .into_iter()
            .map(|m| m.group_id)
            .collect(),
    )
}

/// A groups claim may hold at most this many groups (§9).
const MAX_GROUPS: usize = 100;

/// The expression context for one token.
pub fn context(
    tenant: &TenantSnapshot,
    client: &ClientSnapshot,
    user: Option<&UserInfo>,
    scopes: &[String],
    now: i64,
) -> Context {
    let groups: Vec<GroupRef> = user
        .map(|u| {
            let mut gs: Vec<GroupRef> = u
                .group_ids
                .iter()
                .filter_map(|g| tenant.groups.get(g).cloned())
                .collect();
            if let Some(everyone) = tenant.groups.get(&tenant.everyone_group_id)
                && !gs.iter().any(|g| g.id == everyone.id)
            {
                gs.insert(0, everyone.clone());
            }
            gs
        })
        .unwrap_or_default();
    Context {
        user: user.map(|u| u.profile.clone()),
        user_id: user.map(|u| u.id.clone()),
        user_status: user.map(|u| u.status.clone()),
        appuser: user.map(|u| {
            let mut p = u.profile.clone();
            if let Value::Object(m) = &mut p {
                m.insert("userName".into(), json!(u.app_user_name));
            }
            p
        }),
        app: json!({ "id": client.app_id, "clientId": client.client_id, "label": client.label, "profile": client.profile }),
        org: json!({ "name": tenant.name, "subDomain": tenant.name }),
        scopes: scopes.to_vec(),
        groups,
        amr: if user.is_some() {
            vec!["pwd".into()]
        } else {
            Vec::new()
        },
        now,
    }
}

/// The most one claim's value may take, serialized. Past it the request fails like any claim
/// that cannot be evaluated (`server_error` naming the claim); the reason is logged.
pub const MAX_CLAIM_BYTES: usize = 16 * 1024;

fn too_large(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
        // A string's JSON is at least as long as the string; escapes can only add.
        Value::String(s) if s.len() > MAX_CLAIM_BYTES => true,
        Value::String(s) if s.len() * 6 + 2 <= MAX_CLAIM_BYTES => false,
        other => serde_json::to_string(other).map_or(true, |t| t.len() > MAX_CLAIM_BYTES),
    }
}

fn failed(name: &str) -> IssueError {
    IssueError::Claim(name.to_owned())
}

/// Evaluates the server's claims of `claim_type` (`RESOURCE` or `IDENTITY`) for `scopes`.
/// With `always_only`, only claims marked `alwaysIncludeInToken` (thin ID tokens).
pub fn evaluate(
    server: &ServerSnapshot,
    claim_type: &str,
    ctx: &Context,
    scopes: &[String],
    always_only: bool,
) -> Result<Map<String, Value>, IssueError> {
    let mut out = Map::new();
    for claim in server.claims.iter().filter(|c| c.claim_type == claim_type) {
        if let Outcome::Value(value) = outcome(claim, ctx, scopes, always_only)? {
            out.insert(claim.name.clone(), value);
        }
    }
    Ok(out)
}

/// What became of one claim for one token.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// In the token with this value.
    Value(Value),
    /// Evaluated to null, so left out.
    Null,
    /// Not evaluated: none of its scopes was granted.
    ScopeNotGranted,
    /// Not evaluated: a thin ID token carries only claims marked `alwaysIncludeInToken`.
    NotAlwaysIncluded,
    /// Not evaluated: its name is a reserved claim, which a custom claim never overrides.
    Reserved,
    /// A groups claim, and the token has no user.
    NoUser,
}

/// Decides one claim for a token as [`evaluate`] does: whether it applies, and its value. A
/// failure is the error the token request fails with.
pub fn outcome(
    claim: &tessera_hot::CompiledClaim,
    ctx: &Context,
    scopes: &[String],
    always_only: bool,
) -> Result<Outcome, IssueError> {
    if always_only && !claim.always_include {
        return Ok(Outcome::NotAlwaysIncluded);
    }
    if !claim.scopes.is_empty() && !claim.scopes.iter().any(|s| scopes.contains(s)) {
        return Ok(Outcome::ScopeNotGranted);
    }
    if !claim.system && RESERVED_CLAIMS.contains(&claim.name.as_str()) {
        return Ok(Outcome::Reserved);
    }
    let value = match &claim.value {
        ClaimValue::Expression(expr) => el_eval::eval(expr, ctx).map_err(|e| {
            tracing::warn!(claim = %claim.name, error = %e, "claim evaluation failed");
            failed(&claim.name)
        })?,
        ClaimValue::Groups { filter, pattern } => {
            if ctx.user_id.is_none() {
                return Ok(Outcome::NoUser);
            }
            let names =
                filter_groups(&ctx.groups, filter, pattern).map_err(|_| failed(&claim.name))?;
            if names.len() > MAX_GROUPS {
                return Err(IssueError::TooManyGroups(MAX_GROUPS));
            }
            Value::Array(names.into_iter().map(Value::String).collect())
        }
    };
    if too_large(&value) {
        tracing::warn!(claim = %claim.name, limit = MAX_CLAIM_BYTES, "claim value too large");
        return Err(failed(&claim.name));
    }
    Ok(if value.is_null() {
        Outcome::Null
    } else {
        Outcome::Value(value)
    })
}

/// GROUPS claim filters: STARTS_WITH, EQUALS and CONTAINS ignore case; REGEX (`/…/`) does not
/// and must match the whole name.
pub fn filter_groups(
    groups: &[GroupRef],
    filter: &str,
    pattern: &str,
) -> Result<Vec<String>, regex::Error> {
    let lower = pattern.to_lowercase();
    let re = if filter == "REGEX" {
        let body = pattern
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix('/'))
            .unwrap_or(pattern);
        Some(regex::Regex::new(&format!("^(?:{body})$"))?)
    } else {
        None
    };
    Ok(groups
        .iter()
        .filter(|g| match filter {
            "STARTS_WITH" => g.name.to_lowercase().starts_with(&lower),
            "EQUALS" => g.name.to_lowercase() == lower,
            "CONTAINS" => g.name.to_lowercase().contains(&lower),
            _ => re.as_ref().is_some_and(|r| r.is_match(&g.name)),
        })
        .map(|g| g.name.clone())
        .collect())
}

/// `sub` and the OIDC standard claims of the granted scopes, from the Okta user profile.
/// Of the user's standard claims, those `names` asks for (the `claims` parameter, OIDC Core
/// §5.5): whatever its scopes, and without the ones the user does not have.
pub fn requested_claims(
    u: &tessera_store::entities::user::Model,
    p: &Value,
    names: &[String],
) -> Map<String, Value> {
    let every: Vec<String> = ["profile", "email", "phone", "address"]
        .map(str::to_owned)
        .to_vec();
    let all = standard_claims(u, p, &every);
    names
        .iter()
        .filter_map(|n| all.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}

pub fn standard_claims(
    u: &tessera_store::entities::user::Model,
    p: &Value,
    scopes: &[String],
) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let get = |k: &str| p.get(k).filter(|v| !v.is_null()).cloned();
    let mut out = Map::new();
    out.insert("sub".into(), json!(u.id));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.into(), v);
        }
    };
    if has("profile") {
        let name = match (p["firstName"].as_str(), p["lastName"].as_str()) {
            (Some(f), Some(l)) => Some(json!(format!("{f} {l}"))),
            _ => get("displayName"),
        };
        put("name", get("displayName").or(name));
        put("given_name", get("firstName"));
        put("family_name", get("lastName"));
        put("middle_name", get("middleName"));
        put("nickname", get("nickName"));
        put("preferred_username", Some(json!(u.login)));
        put("profile", get("profileUrl"));
        put("zoneinfo", get("timezone"));
        put("locale", get("locale"));
        put("updated_at", Some(json!(u.last_updated / 1000)));
    }
    if has("email") {
        put("email", Some(json!(u.email)));
        put("email_verified", Some(json!(true)));
    }
    if has("phone") {
        put(
            "phone_number",
            get("mobilePhone").or_else(|| get("primaryPhone")),
        );
    }
    if has("address") {
        let mut address = Map::new();
        for (claim, attr) in [
            ("street_address", "streetAddress"),
            ("locality", "city"),
            ("region", "state"),
            ("postal_code", "zipCode"),
            ("country", "countryCode"),
        ] {
            if let Some(v) = get(attr) {
                address.insert(claim.into(), v);
            }
        }
        if !address.is_empty() {
            put("address", Some(Value::Object(address)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Vec<GroupRef> {
        ["Everyone", "Eng-Backend", "eng-frontend", "Sales"]
            .iter()
            .enumerate()
            .map(|(i, n)| GroupRef {
                id: format!("00g{i}"),
                name: (*n).into(),
                kind: "OKTA_GROUP".into(),
            })
            .collect()
    }

    #[test]
    fn group_filters_follow_okta_case_rules() {
        let g = groups();
        assert_eq!(
            filter_groups(&g, "STARTS_WITH", "eng").unwrap_or_default(),
            ["Eng-Backend", "eng-frontend"]
        );
        assert_eq!(
            filter_groups(&g, "EQUALS", "sales").unwrap_or_default(),
            ["Sales"]
        );
        assert_eq!(
            filter_groups(&g, "CONTAINS", "END").unwrap_or_default(),
            ["Eng-Backend", "eng-frontend"]
        );
        assert_eq!(
            filter_groups(&g, "REGEX", "/eng-.*/").unwrap_or_default(),
            ["eng-frontend"]
        );
        assert_eq!(
            filter_groups(&g, "REGEX", ".*").unwrap_or_default().len(),
            4
        );
    }
}
