//! The System Log's pure parts: which event a management call records. The `filter` / `q`
//! query language of `GET /api/v1/logs` is [`crate::scim`]'s, evaluated against events in
//! Okta's `LogEvent` shape, so a filter can name any attribute path (`eventType`,
//! `outcome.result`, `actor.id`, `target.id`, `client.ipAddress`, …).

pub use crate::scim::{Filter, FilterError, Op, matches_keywords, parse_filter};

/// The event a successful management call records, and what it acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEvent {
    pub event_type: String,
    pub target_type: &'static str,
    /// The id of the object acted on, from the path (absent for a create: the handler's
    /// response names it).
    pub target_id: Option<String>,
}

fn event(event_type: impl Into<String>, target_type: &'static str, id: Option<&str>) -> AdminEvent {
    AdminEvent {
        event_type: event_type.into(),
        target_type,
        target_id: id.map(str::to_owned),
    }
}

/// The event type of a change made through the management API: `method` and `path` relative
/// to `{org}/api/v1` (or `{org}/oauth2/v1` for `clients/…`). `None` for reads and for calls that
/// change nothing worth recording. Okta's names where Okta has one (§12); where it documents
/// none, a name in the same pattern.
pub fn admin_event(method: &str, path: &str) -> Option<AdminEvent> {
    use Verb::*;
    let verb = match method {
        "POST" => Post,
        "PUT" => Put,
        "DELETE" => Delete,
        _ => return None,
    };
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let e = match (verb, seg.as_slice()) {
        // Authorization servers and their parts.
        (Post, ["authorizationServers"]) => event("oauth2.as.created", "AuthorizationServer", None),
        (Put, ["authorizationServers", id]) => {
            event("oauth2.as.updated", "AuthorizationServer", Some(id))
        }
        (Delete, ["authorizationServers", id]) => {
            event("oauth2.as.deleted", "AuthorizationServer", Some(id))
        }
        (Post, ["authorizationServers", id, "lifecycle", action]) => event(
            format!("oauth2.as.{}", past(action)?),
            "AuthorizationServer",
            Some(id),
        ),
        (
            Post,
            [
                "authorizationServers",
                id,
                "credentials",
                "lifecycle",
                "keyRotate",
            ],
        ) => event(
            "app.oauth2.as.key.rollover",
            "AuthorizationServer",
            Some(id),
        ),
        (Post, ["authorizationServers", _, "scopes"]) => {
            event("oauth2.scope.created", "OAuth2Scope", None)
        }
        (Put, ["authorizationServers", _, "scopes", id]) => {
            event("oauth2.scope.updated", "OAuth2Scope", Some(id))
        }
        (Delete, ["authorizationServers", _, "scopes", id]) => {
            event("oauth2.scope.deleted", "OAuth2Scope", Some(id))
        }
        (Post, ["authorizationServers", _, "claims"]) => {
            event("oauth2.claim.created", "OAuth2Claim", None)
        }
        (Put, ["authorizationServers", _, "claims", id]) => {
            event("oauth2.claim.updated", "OAuth2Claim", Some(id))
        }
        (Delete, ["authorizationServers", _, "claims", id]) => {
            event("oauth2.claim.deleted", "OAuth2Claim", Some(id))
        }
        (Post, ["authorizationServers", _, "policies"]) => {
            event("policy.lifecycle.create", "Policy", None)
        }
        (Put, ["authorizationServers", _, "policies", id]) => {
            event("policy.lifecycle.update", "Policy", Some(id))
        }
        (Delete, ["authorizationServers", _, "policies", id]) => {
            event("policy.lifecycle.delete", "Policy", Some(id))
        }
        (
            Post,
            [
                "authorizationServers",
                _,
                "policies",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("policy.lifecycle.{}", present(action)?),
            "Policy",
            Some(id),
        ),
        (Post, ["authorizationServers", _, "policies", _, "rules"]) => {
            event("policy.rule.add", "PolicyRule", None)
        }
        (Put, ["authorizationServers", _, "policies", _, "rules", id]) => {
            event("policy.rule.update", "PolicyRule", Some(id))
        }
        (Delete, ["authorizationServers", _, "policies", _, "rules", id]) => {
            event("policy.rule.delete", "PolicyRule", Some(id))
        }
        (
            Post,
            [
                "authorizationServers",
                _,
                "policies",
                _,
                "rules",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("policy.rule.{}", present(action)?),
            "PolicyRule",
            Some(id),
        ),
        (Delete, ["authorizationServers", _, "clients", id, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "AppInstance", Some(id))
        }
        // Apps, their credentials and assignments.
        (Post, ["apps"]) => event("app.oauth2.client.lifecycle.create", "AppInstance", None),
        (Put, ["apps", id]) => event(
            "app.oauth2.client.lifecycle.update",
            "AppInstance",
            Some(id),
        ),
        (Delete, ["apps", id]) => event(
            "app.oauth2.client.lifecycle.delete",
            "AppInstance",
            Some(id),
        ),
        (Post, ["apps", id, "lifecycle", action]) => event(
            format!("app.oauth2.client.lifecycle.{}", present(action)?),
            "AppInstance",
            Some(id),
        ),
        (Post, ["apps", _, "credentials", "secrets" | "jwks"]) => event(
            "app.oauth2.credentials.lifecycle.create",
            "AppCredential",
            None,
        ),
        (Delete, ["apps", _, "credentials", "secrets" | "jwks", id]) => event(
            "app.oauth2.credentials.lifecycle.delete",
            "AppCredential",
            Some(id),
        ),
        (
            Post,
            [
                "apps",
                _,
                "credentials",
                "secrets" | "jwks",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("app.oauth2.credentials.lifecycle.{}", present(action)?),
            "AppCredential",
            Some(id),
        ),
        (Post, ["apps", _, "users"]) => event("application.user_membership.add", "User", None),
        (Post, ["apps", _, "users", id]) => {
            event("application.user_membership.update", "User", Some(id))
        }
        (Delete, ["apps", _, "users", id]) => {
            event("application.user_membership.remove", "User", Some(id))
        }
        (Put, ["apps", _, "groups", id]) => {
            event("group.application_assignment.add", "UserGroup", Some(id))
        }
        (Delete, ["apps", _, "groups", id]) => {
            event("group.application_assignment.remove", "UserGroup", Some(id))
        }
        (Post, ["apps", id, "grants"]) => {
            event("app.oauth2.client.scope_grant.add", "AppInstance", Some(id))
        }
        (Delete, ["apps", id, "grants", _]) => event(
            "app.oauth2.client.scope_grant.remove",
            "AppInstance",
            Some(id),
        ),
        (Delete, ["apps", id, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "AppInstance", Some(id))
        }
        // Users, groups, roles and consents.
        (Post, ["users"]) => event("user.lifecycle.create", "User", None),
        (Post | Put, ["users", id]) => event("user.account.update_profile", "User", Some(id)),
        (Delete, ["users", id]) => event("user.lifecycle.delete.completed", "User", Some(id)),
        (Post, ["users", id, "lifecycle", "unlock"]) => {
            event("user.account.unlock_by_admin", "User", Some(id))
        }
        (Post, ["users", id, "lifecycle", "expire_password"]) => {
            event("user.account.expire_password", "User", Some(id))
        }
        (Post, ["users", id, "lifecycle", action @ ("suspend" | "unsuspend")]) => {
            event(format!("user.lifecycle.{action}"), "User", Some(id))
        }
        (Post, ["users", id, "lifecycle", action]) => event(
            format!("user.lifecycle.{}", present(action)?),
            "User",
            Some(id),
        ),
        (Post, ["users", id, "credentials", "change_password"]) => {
            event("user.account.update_password", "User", Some(id))
        }
        (Post, ["users", id, "roles"]) => event("user.account.privilege.grant", "User", Some(id)),
        (Delete, ["users", id, "roles", _]) => {
            event("user.account.privilege.revoke", "User", Some(id))
        }
        (Delete, ["users", id, "grants", ..] | ["users", id, "clients", _, "grants"]) => {
            event("app.oauth2.as.consent.revoke.user", "User", Some(id))
        }
        (Delete, ["users", id, "clients", _, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "User", Some(id))
        }
        (Post, ["groups"]) => event("group.lifecycle.create", "UserGroup", None),
        (Put, ["groups", id]) => event("group.profile.update", "UserGroup", Some(id)),
        (Delete, ["groups", id]) => event("group.lifecycle.delete", "UserGroup", Some(id)),
        (Put, ["groups", _, "users", id]) => event("group.user_membership.add", "User", Some(id)),
        (Delete, ["groups", _, "users", id]) => {
            event("group.user_membership.remove", "User", Some(id))
        }
        (Post, ["groups", id, "roles"]) => event("group.privilege.grant", "UserGroup", Some(id)),
        (Delete, ["groups", id, "roles", _]) => {
            event("group.privilege.revoke", "UserGroup", Some(id))
        }
        (Post, ["clients", id, "roles"]) => {
            event("app.oauth2.client.privilege.grant", "AppInstance", Some(id))
        }
        (Delete, ["clients", id, "roles", _]) => event(
            "app.oauth2.client.privilege.revoke",
            "AppInstance",
            Some(id),
        ),
        // API tokens and inline hooks.
        (Post, ["api-tokens"]) => event("system.api_token.create", "Token", None),
        (Delete, ["api-tokens", id]) => event("system.api_token.revoke", "Token", Some(id)),
        (Post, ["trustedOrigins"]) => {
            event("security.trusted_origin.create", "TrustedOrigin", None)
        }
        (Put, ["trustedOrigins", id]) => {
            event("security.trusted_origin.update", "TrustedOrigin", Some(id))
        }
        (Delete, ["trustedOrigins", id]) => {
            event("security.trusted_origin.delete", "TrustedOrigin", Some(id))
        }
        (Post, ["trustedOrigins", id, "lifecycle", action]) => event(
            format!("security.trusted_origin.{}", present(action)?),
            "TrustedOrigin",
            Some(id),
        ),
        (Post, ["inlineHooks"]) => event("inline_hook.created", "InlineHook", None),
        (Put, ["inlineHooks", id]) => event("inline_hook.updated", "InlineHook", Some(id)),
        (Delete, ["inlineHooks", id]) => event("inline_hook.deleted", "InlineHook", Some(id)),
        (Post, ["inlineHooks", id, "lifecycle", action]) => event(
            format!("inline_hook.{}", past(action)?),
            "InlineHook",
            Some(id),
        ),
        _ => return None,
    };
    Some(e)
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Post,
    Put,
    Delete,
}

/// `activate` → `activated` (the `oauth2.as.*` and `inline_hook.*` names).
fn past(action: &str) -> Option<&'static str> {
    match action {
        "activate" => Some("activated"),
        "deactivate" => Some("deactivated"),
        _ => None,
    }
}

/// `activate` → `activate` (the `*.lifecycle.*` names); other actions record nothing.
fn present(action: &str) -> Option<&'static str> {
    match action {
        "activate" => Some("activate"),
        "deactivate" => Some("deactivate"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_calls_map_to_okta_event_types() {
        let cases = [
            ("POST", "/authorizationServers", Some("oauth2.as.created")),
            (
                "POST",
                "/authorizationServers/aus1/lifecycle/deactivate",
                Some("oauth2.as.deactivated"),
            ),
            (
                "POST",
                "/authorizationServers/aus1/credentials/lifecycle/keyRotate",
                Some("app.oauth2.as.key.rollover"),
            ),
            (
                "PUT",
                "/authorizationServers/aus1/policies/p1/rules/r1",
                Some("policy.rule.update"),
            ),
            (
                "POST",
                "/authorizationServers/aus1/policies/p1/rules/r1/lifecycle/activate",
                Some("policy.rule.activate"),
            ),
            (
                "DELETE",
                "/authorizationServers/aus1/scopes/s1",
                Some("oauth2.scope.deleted"),
            ),
            ("POST", "/apps", Some("app.oauth2.client.lifecycle.create")),
            (
                "POST",
                "/apps/0oa1/credentials/secrets/s1/lifecycle/deactivate",
                Some("app.oauth2.credentials.lifecycle.deactivate"),
            ),
            (
                "POST",
                "/users/u1/lifecycle/deactivate",
                Some("user.lifecycle.deactivate"),
            ),
            ("POST", "/users/u1/lifecycle/reset_password", None),
            (
                "PUT",
                "/groups/g1/users/u1",
                Some("group.user_membership.add"),
            ),
            (
                "POST",
                "/users/u1/roles",
                Some("user.account.privilege.grant"),
            ),
            ("DELETE", "/api-tokens/t1", Some("system.api_token.revoke")),
            (
                "POST",
                "/inlineHooks/h1/lifecycle/activate",
                Some("inline_hook.activated"),
            ),
            ("POST", "/inlineHooks/h1/execute", None),
            (
                "POST",
                "/trustedOrigins",
                Some("security.trusted_origin.create"),
            ),
            (
                "POST",
                "/trustedOrigins/tos1/lifecycle/deactivate",
                Some("security.trusted_origin.deactivate"),
            ),
            ("GET", "/apps", None),
            (
                "DELETE",
                "/users/u1/clients/0oa1/tokens",
                Some("app.oauth2.as.token.revoke"),
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(
                admin_event(method, path).map(|e| e.event_type),
                want.map(str::to_owned),
                "{method} {path}"
            );
        }
        let e = admin_event("PUT", "/authorizationServers/aus9").unwrap();
        assert_eq!(
            (e.target_type, e.target_id.as_deref()),
            ("AuthorizationServer", Some("aus9"))
        );
    }
}
