//! Admin roles on the management API (OKTA-REFERENCE §10): which standard role may read or change
//! which kind of resource. Pure: the admin service classifies each request with [`Resource::of`]
//! and asks [`allows`] whether any of the caller's roles permits it.

use std::fmt;
use std::str::FromStr;

/// The standard admin roles Tessera knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    SuperAdmin,
    OrgAdmin,
    AppAdmin,
    ApiAccessManagementAdmin,
    ReadOnlyAdmin,
    UserAdmin,
    GroupMembershipAdmin,
}

impl Role {
    pub const ALL: [Self; 7] = [
        Self::SuperAdmin,
        Self::OrgAdmin,
        Self::AppAdmin,
        Self::ApiAccessManagementAdmin,
        Self::ReadOnlyAdmin,
        Self::UserAdmin,
        Self::GroupMembershipAdmin,
    ];

    /// Okta's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuperAdmin => "SUPER_ADMIN",
            Self::OrgAdmin => "ORG_ADMIN",
            Self::AppAdmin => "APP_ADMIN",
            Self::ApiAccessManagementAdmin => "API_ACCESS_MANAGEMENT_ADMIN",
            Self::ReadOnlyAdmin => "READ_ONLY_ADMIN",
            Self::UserAdmin => "USER_ADMIN",
            Self::GroupMembershipAdmin => "GROUP_MEMBERSHIP_ADMIN",
        }
    }

    /// Okta's `label`.
    pub fn label(self) -> &'static str {
        match self {
            Self::SuperAdmin => "Super Administrator",
            Self::OrgAdmin => "Organizational Administrator",
            Self::AppAdmin => "Application Administrator",
            Self::ApiAccessManagementAdmin => "API Access Management Administrator",
            Self::ReadOnlyAdmin => "Read-only Administrator",
            Self::UserAdmin => "Group Administrator",
            Self::GroupMembershipAdmin => "Group Membership Administrator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// What a management request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Authorization servers and everything under them (keys, scopes, claims, policies, rules,
    /// the clients holding their tokens).
    AuthorizationServers,
    /// OAuth/OIDC apps, their secrets, keys, tokens and grants.
    Apps,
    /// The users and groups assigned to an app.
    AppAssignments,
    /// Users, their lifecycle, consent grants and tokens.
    Users,
    /// Groups and their lifecycle.
    Groups,
    /// A group's members.
    GroupMembership,
    /// Admin role assignments of users and groups.
    Roles,
    /// API tokens.
    ApiTokens,
    /// Inline hooks.
    InlineHooks,
    /// The System Log.
    Logs,
    /// Anything else: only a super admin.
    Other,
}

impl Resource {
    /// Classifies a path below `/api/v1` (for example `apps/0oa1/users`), split on `/`.
    pub fn of(path: &str) -> Self {
        let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
        match seg.as_slice() {
            ["authorizationServers", ..] => Self::AuthorizationServers,
            ["apps", _, "users" | "groups", ..] => Self::AppAssignments,
            ["apps", ..] => Self::Apps,
            ["users", _, "roles", ..] | ["groups", _, "roles", ..] => Self::Roles,
            ["users", ..] => Self::Users,
            ["groups", _, "users", ..] => Self::GroupMembership,
            ["groups", ..] => Self::Groups,
            ["api-tokens", ..] => Self::ApiTokens,
            ["inlineHooks", ..] => Self::InlineHooks,
            ["logs", ..] => Self::Logs,
            _ => Self::Other,
        }
    }
}

/// Whether `role` may read (`write == false`) or change `resource`.
pub fn role_allows(role: Role, resource: Resource, write: bool) -> bool {
    use Resource as R;
    use Role::*;
    match role {
        SuperAdmin => true,
        ReadOnlyAdmin => !write && !matches!(resource, R::Roles | R::ApiTokens | R::Other),
        OrgAdmin => match resource {
            // Changing authorization servers is for API Access Management admins; admin roles
            // are for super admins; the System Log is read-only.
            R::AuthorizationServers | R::Logs => !write,
            R::Roles | R::Other => false,
            _ => true,
        },
        ApiAccessManagementAdmin => {
            matches!(
                resource,
                R::AuthorizationServers | R::Apps | R::AppAssignments
            )
        }
        AppAdmin => {
            matches!(resource, R::Apps | R::AppAssignments) || (resource == R::Logs && !write)
        }
        UserAdmin => {
            matches!(resource, R::Users | R::Groups | R::GroupMembership)
                || (resource == R::Logs && !write)
        }
        GroupMembershipAdmin => {
            resource == R::GroupMembership || (matches!(resource, R::Users | R::Groups) && !write)
        }
    }
}

/// Whether any of `roles` may read or change `resource`.
pub fn allows(roles: &[Role], resource: Resource, write: bool) -> bool {
    roles.iter().any(|r| role_allows(*r, resource, write))
}

#[cfg(test)]
mod tests {
    use super::Resource as R;
    use super::Role::*;
    use super::*;

    #[test]
    fn paths_are_classified_by_what_they_touch() {
        for (path, resource) in [
            ("authorizationServers", R::AuthorizationServers),
            (
                "authorizationServers/aus1/policies/p1/rules",
                R::AuthorizationServers,
            ),
            (
                "authorizationServers/aus1/clients/c1/tokens",
                R::AuthorizationServers,
            ),
            ("apps", R::Apps),
            ("apps/0oa1/lifecycle/activate", R::Apps),
            ("apps/0oa1/credentials/secrets", R::Apps),
            ("apps/0oa1/tokens", R::Apps),
            ("apps/0oa1/users", R::AppAssignments),
            ("apps/0oa1/groups/00g1", R::AppAssignments),
            ("users", R::Users),
            ("users/00u1/lifecycle/deactivate", R::Users),
            ("users/00u1/grants", R::Users),
            ("users/00u1/clients/c1/tokens", R::Users),
            ("users/00u1/roles", R::Roles),
            ("users/00u1/roles/ra1", R::Roles),
            ("groups", R::Groups),
            ("groups/00g1", R::Groups),
            ("groups/00g1/users/00u1", R::GroupMembership),
            ("groups/00g1/roles", R::Roles),
            ("api-tokens", R::ApiTokens),
            ("inlineHooks/cal1/execute", R::InlineHooks),
            ("logs", R::Logs),
            ("orgs", R::Other),
        ] {
            assert_eq!(R::of(path), resource, "{path}");
        }
    }

    /// The matrix: for each role, the resources it may read and those it may change.
    #[test]
    fn the_permission_matrix() {
        use Resource::*;
        let every = [
            AuthorizationServers,
            Apps,
            AppAssignments,
            Users,
            Groups,
            GroupMembership,
            Roles,
            ApiTokens,
            InlineHooks,
            Logs,
            Other,
        ];
        let table: [(Role, &[Resource], &[Resource]); 7] = [
            (SuperAdmin, &every, &every),
            (
                OrgAdmin,
                &[
                    AuthorizationServers,
                    Apps,
                    AppAssignments,
                    Users,
                    Groups,
                    GroupMembership,
                    ApiTokens,
                    InlineHooks,
                    Logs,
                ],
                &[
                    Apps,
                    AppAssignments,
                    Users,
                    Groups,
                    GroupMembership,
                    ApiTokens,
                    InlineHooks,
                ],
            ),
            (
                ApiAccessManagementAdmin,
                &[AuthorizationServers, Apps, AppAssignments],
                &[AuthorizationServers, Apps, AppAssignments],
            ),
            (
                AppAdmin,
                &[Apps, AppAssignments, Logs],
                &[Apps, AppAssignments],
            ),
            (
                ReadOnlyAdmin,
                &[
                    AuthorizationServers,
                    Apps,
                    AppAssignments,
                    Users,
                    Groups,
                    GroupMembership,
                    InlineHooks,
                    Logs,
                ],
                &[],
            ),
            (
                UserAdmin,
                &[Users, Groups, GroupMembership, Logs],
                &[Users, Groups, GroupMembership],
            ),
            (
                GroupMembershipAdmin,
                &[Users, Groups, GroupMembership],
                &[GroupMembership],
            ),
        ];
        for (role, reads, writes) in table {
            for resource in every {
                assert_eq!(
                    role_allows(role, resource, false),
                    reads.contains(&resource),
                    "{role} reading {resource:?}"
                );
                assert_eq!(
                    role_allows(role, resource, true),
                    writes.contains(&resource),
                    "{role} changing {resource:?}"
                );
            }
        }
    }

    #[test]
    fn any_role_of_several_is_enough_and_none_allows_nothing() {
        assert!(allows(
            &[ReadOnlyAdmin, ApiAccessManagementAdmin],
            R::AuthorizationServers,
            true
        ));
        assert!(!allows(&[], R::Apps, false));
        assert_eq!(
            "API_ACCESS_MANAGEMENT_ADMIN".parse(),
            Ok(ApiAccessManagementAdmin)
        );
        assert!("HELP_DESK_ADMIN".parse::<Role>().is_err());
    }
}
