//! Admin roles on the management API (Okta's standard administrator roles,
//! <https://help.okta.com/en-us/content/topics/security/administrators-admin-comparison.htm>):
//! which role may read or change which kind of resource, and on whom an admin may act. Pure:
//! every management route declares a [`Guard`] where it is registered; the admin service asks
//! [`allows`] whether any of the caller's roles permits the guarded resource, and, for a change,
//! [`covers`] whether the caller may act on each principal the route names.

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
    HelpDeskAdmin,
    ReportAdmin,
}

impl Role {
    pub const ALL: [Self; 9] = [
        Self::SuperAdmin,
        Self::OrgAdmin,
        Self::AppAdmin,
        Self::ApiAccessManagementAdmin,
        Self::ReadOnlyAdmin,
        Self::UserAdmin,
        Self::GroupMembershipAdmin,
        Self::HelpDeskAdmin,
        Self::ReportAdmin,
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
            Self::HelpDeskAdmin => "HELP_DESK_ADMIN",
            Self::ReportAdmin => "REPORT_ADMIN",
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
            Self::HelpDeskAdmin => "Help Desk Administrator",
            Self::ReportAdmin => "Report Administrator",
        }
    }

    /// What an assignment of this role may be narrowed to (Okta's role targets): groups for
    /// the roles that manage users, apps for the app admin, nothing for the others.
    pub fn target_kind(self) -> Option<TargetKind> {
        match self {
            Self::UserAdmin | Self::HelpDeskAdmin | Self::GroupMembershipAdmin => {
                Some(TargetKind::Groups)
            }
            Self::AppAdmin => Some(TargetKind::Apps),
            _ => None,
        }
    }
}

/// The kind of target a role assignment can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Groups,
    Apps,
}

/// One target of a role assignment: a group, every app of a catalog name (`oidc_client`), or
/// one app instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Group(String),
    AppName(String),
    AppInstance { name: String, id: String },
}

/// A role as one assignment holds it: with its targets, or none (the whole tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub role: Role,
    pub targets: Vec<Target>,
}

/// What a change acts on, as the target check needs it: a user with the groups they belong
/// to, a group, or an app with its catalog name.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User { group_ids: &'a [String] },
    Group { id: &'a str },
    App { id: &'a str, name: &'a str },
}

impl Target {
    fn contains(&self, subject: Subject<'_>) -> bool {
        match (self, subject) {
            (Self::Group(g), Subject::User { group_ids }) => group_ids.iter().any(|id| id == g),
            (Self::Group(g), Subject::Group { id }) => g == id,
            (Self::AppName(n), Subject::App { name, .. }) => n == name,
            (Self::AppInstance { id: target, .. }, Subject::App { id, .. }) => target == id,
            _ => false,
        }
    }
}

/// Whether one of the assignments `held` lets its holder read or change `resource` on
/// `subject`: an assignment whose role allows it, and which is either not narrowed or narrowed
/// to targets that contain the subject (a user in one of its groups, one of its groups, one of
/// its apps).
pub fn reaches(held: &[Held], resource: Resource, write: bool, subject: Subject<'_>) -> bool {
    held.iter()
        .filter(|h| role_allows(h.role, resource, write))
        .any(|h| h.targets.is_empty() || h.targets.iter().any(|t| t.contains(subject)))
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
    /// Apps as OAuth clients of dynamic client registration (`{org}/oauth2/v1/clients`, RFC
    /// 7591/7592): read, replaced and deleted. The same admins as [`Resource::Apps`]; the
    /// `okta.clients.*` scopes.
    Clients,
    /// Registering a client (`POST {org}/oauth2/v1/clients`): also `okta.clients.register`.
    ClientRegistration,
    /// The users and groups assigned to an app.
    AppAssignments,
    /// Users, their lifecycle, consent grants and tokens.
    Users,
    /// A user's password and lock: `change_password`, `expire_password`, `unlock` (what a help
    /// desk admin may do).
    UserCredentials,
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
    /// Trusted origins (CORS, redirect and iframe-embedding allow-lists).
    TrustedOrigins,
    /// The System Log.
    Logs,
    /// Anything else: only a super admin.
    Other,
}

impl Resource {
    pub const ALL: [Self; 15] = [
        Self::AuthorizationServers,
        Self::Apps,
        Self::Clients,
        Self::ClientRegistration,
        Self::AppAssignments,
        Self::Users,
        Self::UserCredentials,
        Self::Groups,
        Self::GroupMembership,
        Self::Roles,
        Self::ApiTokens,
        Self::InlineHooks,
        Self::TrustedOrigins,
        Self::Logs,
        Self::Other,
    ];
}

/// The kinds of principal a management call can act on: each can hold admin roles (a user
/// directly or through groups, a group for its members, an app through its client, an API token
/// through its user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
    App,
    ApiToken,
}

/// A principal named by one of a route's path parameters (`{id}`, `{userId}`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub param: &'static str,
}

/// What a management route guards, declared where the route is registered: the resource it
/// reads or changes, and the principals a change acts on. The permission check reads it from
/// the route that matched, never from the request's path, so no spelling of a path can reach
/// a handler with a weaker check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub resource: Resource,
    /// Up to two principals (a group and the member being added, for instance).
    pub acts_on: [Option<Principal>; 2],
    /// A `POST` that changes nothing (a token preview): it needs only the permission to read.
    pub reads_only: bool,
}

impl Guard {
    pub const fn of(resource: Resource) -> Self {
        Self {
            resource,
            acts_on: [None, None],
            reads_only: false,
        }
    }

    /// The route reads, whatever its method: it is allowed to whoever may read the resource.
    pub const fn reading(self) -> Self {
        Self {
            reads_only: true,
            ..self
        }
    }

    const fn acting(self, kind: PrincipalKind, param: &'static str) -> Self {
        let p = Some(Principal { kind, param });
        match self.acts_on {
            [None, _] => Self {
                acts_on: [p, None],
                ..self
            },
            [first, _] => Self {
                acts_on: [first, p],
                ..self
            },
        }
    }

    /// A change through this route acts on the user named by `param` (an id or a login).
    pub const fn on_user(self, param: &'static str) -> Self {
        self.acting(PrincipalKind::User, param)
    }

    pub const fn on_group(self, param: &'static str) -> Self {
        self.acting(PrincipalKind::Group, param)
    }

    pub const fn on_app(self, param: &'static str) -> Self {
        self.acting(PrincipalKind::App, param)
    }

    pub const fn on_api_token(self, param: &'static str) -> Self {
        self.acting(PrincipalKind::ApiToken, param)
    }

    /// The principals a change acts on.
    pub fn principals(&self) -> impl Iterator<Item = Principal> + '_ {
        self.acts_on.iter().flatten().copied()
    }
}

/// Whether `role` may read (`write == false`) or change `resource`.
pub fn role_allows(role: Role, resource: Resource, write: bool) -> bool {
    use Resource as R;
    use Role::*;
    // Registered clients are apps by another name.
    let resource = match resource {
        R::Clients | R::ClientRegistration => R::Apps,
        other => other,
    };
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
            matches!(
                resource,
                R::Users | R::UserCredentials | R::Groups | R::GroupMembership
            ) || (resource == R::Logs && !write)
        }
        GroupMembershipAdmin => {
            resource == R::GroupMembership || (matches!(resource, R::Users | R::Groups) && !write)
        }
        // Okta's help desk admin: sees users and groups, resets passwords and unlocks.
        HelpDeskAdmin => {
            resource == R::UserCredentials
                || (matches!(resource, R::Users | R::Groups | R::GroupMembership) && !write)
        }
        // Okta's report admin: reads reports and the System Log.
        ReportAdmin => resource == R::Logs && !write,
    }
}

/// Whether any of `roles` may read or change `resource`.
pub fn allows(roles: &[Role], resource: Resource, write: bool) -> bool {
    roles.iter().any(|r| role_allows(*r, resource, write))
}

/// Whether an admin holding `actor` may act on a principal holding `target` (change it, reset
/// its credentials, deactivate it, revoke its tokens, add it to a group), or add `target` to a
/// principal: only when every right each target role carries is a right the actor already has.
/// Otherwise taking over the principal would be an escalation (set a super admin's password,
/// then sign in as them). So only a super admin acts on super admins, and an org admin, who may
/// not change authorization servers, may not act on an API Access Management admin.
pub fn covers(actor: &[Role], target: &[Role]) -> bool {
    target.iter().all(|t| {
        Resource::ALL.into_iter().all(|resource| {
            [false, true]
                .into_iter()
                .all(|write| !role_allows(*t, resource, write) || allows(actor, resource, write))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::Resource as R;
    use super::Role::*;
    use super::*;

    #[test]
    fn guards_name_what_a_change_acts_on() {
        let g = Guard::of(R::GroupMembership)
            .on_group("id")
            .on_user("userId");
        let got: Vec<_> = g.principals().collect();
        assert_eq!(
            got,
            vec![
                Principal {
                    kind: PrincipalKind::Group,
                    param: "id"
                },
                Principal {
                    kind: PrincipalKind::User,
                    param: "userId"
                },
            ]
        );
        assert_eq!(Guard::of(R::Logs).principals().count(), 0);
    }

    /// Who may act on whom: the role boundaries, one row per (actor, target) pair that matters.
    #[test]
    fn admins_act_only_on_principals_whose_rights_they_hold() {
        let cases: &[(&[Role], &[Role], bool)] = &[
            // Everyone may act on a principal that holds no role.
            (&[UserAdmin], &[], true),
            (&[GroupMembershipAdmin], &[], true),
            // Only a super admin acts on a super admin.
            (&[SuperAdmin], &[SuperAdmin], true),
            (&[OrgAdmin], &[SuperAdmin], false),
            (&[UserAdmin], &[SuperAdmin], false),
            (&[AppAdmin], &[SuperAdmin], false),
            (&[OrgAdmin, AppAdmin, UserAdmin], &[SuperAdmin], false),
            // The same role, or a role whose rights the actor's include.
            (&[UserAdmin], &[UserAdmin], true),
            (&[OrgAdmin], &[UserAdmin], true),
            (&[OrgAdmin], &[AppAdmin], true),
            (&[OrgAdmin], &[GroupMembershipAdmin], true),
            (&[OrgAdmin], &[OrgAdmin], true),
            (&[UserAdmin], &[GroupMembershipAdmin], true),
            // An org admin may not change authorization servers, so it may not take over an
            // API Access Management admin who may.
            (&[OrgAdmin], &[ApiAccessManagementAdmin], false),
            (
                &[OrgAdmin, ApiAccessManagementAdmin],
                &[ApiAccessManagementAdmin],
                true,
            ),
            // Narrower roles never act on wider ones.
            (&[UserAdmin], &[OrgAdmin], false),
            (&[AppAdmin], &[OrgAdmin], false),
            (&[GroupMembershipAdmin], &[UserAdmin], false),
            (&[AppAdmin], &[UserAdmin], false),
            (&[ReadOnlyAdmin], &[UserAdmin], false),
            // A read-only admin's reads of roles and API tokens it cannot see otherwise.
            (&[OrgAdmin], &[ReadOnlyAdmin], true),
            (&[UserAdmin], &[ReadOnlyAdmin], false),
            // A principal with several roles: all must be covered.
            (&[OrgAdmin], &[UserAdmin, ApiAccessManagementAdmin], false),
            (&[SuperAdmin], &[UserAdmin, ApiAccessManagementAdmin], true),
        ];
        for (actor, target, expected) in cases {
            assert_eq!(
                covers(actor, target),
                *expected,
                "{actor:?} acting on {target:?}"
            );
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
            UserCredentials,
            Groups,
            GroupMembership,
            Roles,
            ApiTokens,
            InlineHooks,
            TrustedOrigins,
            Logs,
            Other,
        ];
        let table: [(Role, &[Resource], &[Resource]); 9] = [
            (SuperAdmin, &every, &every),
            (
                OrgAdmin,
                &[
                    AuthorizationServers,
                    Apps,
                    AppAssignments,
                    Users,
                    UserCredentials,
                    Groups,
                    GroupMembership,
                    ApiTokens,
                    InlineHooks,
                    TrustedOrigins,
                    Logs,
                ],
                &[
                    Apps,
                    AppAssignments,
                    Users,
                    UserCredentials,
                    Groups,
                    GroupMembership,
                    ApiTokens,
                    InlineHooks,
                    TrustedOrigins,
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
                    UserCredentials,
                    Groups,
                    GroupMembership,
                    InlineHooks,
                    TrustedOrigins,
                    Logs,
                ],
                &[],
            ),
            (
                UserAdmin,
                &[Users, UserCredentials, Groups, GroupMembership, Logs],
                &[Users, UserCredentials, Groups, GroupMembership],
            ),
            (
                GroupMembershipAdmin,
                &[Users, Groups, GroupMembership],
                &[GroupMembership],
            ),
            (
                HelpDeskAdmin,
                &[Users, UserCredentials, Groups, GroupMembership],
                &[UserCredentials],
            ),
            (ReportAdmin, &[Logs], &[]),
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
        assert_eq!("HELP_DESK_ADMIN".parse(), Ok(HelpDeskAdmin));
        assert!("CUSTOM_ROLE".parse::<Role>().is_err());
    }

    /// A narrowed assignment reaches only what its targets contain; an unnarrowed one, or any
    /// other assignment allowing the resource, reaches everything.
    #[test]
    fn targets_narrow_an_assignment_to_its_groups_or_apps() {
        let in_eng = ["00geng".to_owned()];
        let elsewhere = ["00gops".to_owned()];
        let user_admin_of_eng = Held {
            role: UserAdmin,
            targets: vec![Target::Group("00geng".into())],
        };
        let held = std::slice::from_ref(&user_admin_of_eng);
        assert!(reaches(
            held,
            R::Users,
            true,
            Subject::User { group_ids: &in_eng }
        ));
        assert!(!reaches(
            held,
            R::Users,
            true,
            Subject::User {
                group_ids: &elsewhere
            }
        ));
        assert!(!reaches(
            held,
            R::Users,
            true,
            Subject::User { group_ids: &[] }
        ));
        assert!(reaches(
            held,
            R::Groups,
            true,
            Subject::Group { id: "00geng" }
        ));
        assert!(!reaches(
            held,
            R::Groups,
            true,
            Subject::Group { id: "00gops" }
        ));
        // The role must allow the resource at all.
        assert!(!reaches(
            held,
            R::Apps,
            true,
            Subject::App {
                id: "0oa1",
                name: "oidc_client"
            }
        ));
        // Another, unnarrowed assignment that allows it reaches everyone.
        let both = [
            user_admin_of_eng.clone(),
            Held {
                role: HelpDeskAdmin,
                targets: vec![],
            },
        ];
        assert!(reaches(
            &both,
            R::UserCredentials,
            true,
            Subject::User {
                group_ids: &elsewhere
            }
        ));
        assert!(!reaches(
            &both,
            R::Users,
            true,
            Subject::User {
                group_ids: &elsewhere
            }
        ));
        // Apps: by catalog name, or one instance.
        let one_app = [Held {
            role: AppAdmin,
            targets: vec![Target::AppInstance {
                name: "oidc_client".into(),
                id: "0oa1".into(),
            }],
        }];
        assert!(reaches(
            &one_app,
            R::Apps,
            true,
            Subject::App {
                id: "0oa1",
                name: "oidc_client"
            }
        ));
        assert!(!reaches(
            &one_app,
            R::Apps,
            true,
            Subject::App {
                id: "0oa2",
                name: "oidc_client"
            }
        ));
        let by_name = [Held {
            role: AppAdmin,
            targets: vec![Target::AppName("oidc_client".into())],
        }];
        assert!(reaches(
            &by_name,
            R::Apps,
            true,
            Subject::App {
                id: "0oa2",
                name: "oidc_client"
            }
        ));
    }
}
