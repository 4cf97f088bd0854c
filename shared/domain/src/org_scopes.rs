//! The `okta.*` scopes the org authorization server grants for the management API
//! (Okta's administrator roles and OAuth 2.0 scopes for Okta APIs), and which one a management request needs: `….read` to read,
//! `….manage` to read or change.

use crate::admin_roles::Resource;

/// Every scope the org authorization server can grant.
pub const ALL: [&str; 20] = [
    "okta.authorizationServers.read",
    "okta.authorizationServers.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.clients.read",
    "okta.clients.manage",
    "okta.clients.register",
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.roles.read",
    "okta.roles.manage",
    "okta.apiTokens.read",
    "okta.apiTokens.manage",
    "okta.inlineHooks.read",
    "okta.inlineHooks.manage",
    "okta.trustedOrigins.read",
    "okta.trustedOrigins.manage",
    "okta.logs.read",
];

/// Whether `scope` is one of the org authorization server's.
pub fn is_org_scope(scope: &str) -> bool {
    ALL.contains(&scope)
}

/// The scope family (`okta.apps`) that guards a resource.
fn family(resource: Resource) -> Option<&'static str> {
    match resource {
        Resource::AuthorizationServers => Some("okta.authorizationServers"),
        Resource::Apps | Resource::AppAssignments => Some("okta.apps"),
        Resource::Clients | Resource::ClientRegistration => Some("okta.clients"),
        Resource::Users | Resource::UserCredentials => Some("okta.users"),
        Resource::Groups | Resource::GroupMembership => Some("okta.groups"),
        Resource::Roles => Some("okta.roles"),
        Resource::ApiTokens => Some("okta.apiTokens"),
        Resource::InlineHooks => Some("okta.inlineHooks"),
        Resource::TrustedOrigins => Some("okta.trustedOrigins"),
        Resource::Logs => Some("okta.logs"),
        Resource::Other => None,
    }
}

/// Whether a token granted `scopes` may read (`write == false`) or change `resource`.
pub fn allows(scopes: &[String], resource: Resource, write: bool) -> bool {
    let Some(family) = family(resource) else {
        return false;
    };
    let manage = format!("{family}.manage");
    let read = format!("{family}.read");
    // `okta.clients.register` registers clients and does nothing else.
    let register = resource == Resource::ClientRegistration;
    scopes.iter().any(|s| {
        *s == manage || (!write && *s == read) || (register && s == "okta.clients.register")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn read_scopes_read_and_manage_scopes_do_both() {
        let read = granted(&["okta.authorizationServers.read"]);
        let manage = granted(&["okta.authorizationServers.manage"]);
        assert!(allows(&read, Resource::AuthorizationServers, false));
        assert!(!allows(&read, Resource::AuthorizationServers, true));
        assert!(allows(&manage, Resource::AuthorizationServers, true));
        assert!(allows(&manage, Resource::AuthorizationServers, false));
        assert!(!allows(&manage, Resource::Users, false));
        assert!(allows(
            &granted(&["okta.apps.manage"]),
            Resource::AppAssignments,
            true
        ));
        assert!(allows(
            &granted(&["okta.groups.manage"]),
            Resource::GroupMembership,
            true
        ));
        assert!(!allows(&granted(&ALL), Resource::Other, false));
        assert!(!allows(&granted(&["okta.logs.read"]), Resource::Logs, true));
    }

    #[test]
    fn every_listed_scope_guards_something() {
        for s in ALL {
            assert!(is_org_scope(s));
        }
        assert!(!is_org_scope("okta.everything.manage"));
        assert!(!is_org_scope("reports:read"));
    }
}
