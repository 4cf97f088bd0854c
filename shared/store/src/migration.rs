//! The schema. Migrations are written out by hand, never derived from the entities, so that an
//! entity change can never silently rewrite a migration that has already run somewhere.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Initial),
            Box::new(SigningAlgAndSealedSecrets),
            Box::new(KeyRotation),
            Box::new(RefreshTokenAccessTokens),
            Box::new(RefreshTokenGrant),
            Box::new(RoleAssignments),
            Box::new(InlineHooks),
            Box::new(OrgAuthorizationServer),
            Box::new(InlineHookOAuth),
            Box::new(SystemLogDetails),
            Box::new(Revocations),
            Box::new(TrustedOrigins),
            Box::new(RefreshTokenAuthTime),
            Box::new(AssociatedServers),
            Box::new(RoleTargets),
            Box::new(SpoolCheckpoints),
            Box::new(LogMarks),
            Box::new(RefreshTokenDpop),
        ]
    }
}

/// The first schema: every table of the durable state (docs/architecture.md, "Storage decisions").
struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261126_000001_initial"
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}
fn text(name: &str) -> ColumnDef {
    col(name).text().not_null().to_owned()
}
fn text_null(name: &str) -> ColumnDef {
    col(name).text().null().to_owned()
}
fn big_integer(name: &str) -> ColumnDef {
    col(name).big_integer().not_null().to_owned()
}
fn big_integer_null(name: &str) -> ColumnDef {
    col(name).big_integer().null().to_owned()
}
fn integer(name: &str) -> ColumnDef {
    col(name).integer().not_null().to_owned()
}
fn boolean(name: &str) -> ColumnDef {
    col(name).boolean().not_null().to_owned()
}

/// A table with the common spine: `seq` primary key, `tenant_id` (all but `tenants`), `id`,
/// the given columns, then `created` and `last_updated`.
fn table(name: &str, scoped: bool, columns: Vec<ColumnDef>) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Alias::new(name)).if_not_exists().col(
        col("seq")
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key(),
    );
    if scoped {
        t.col(text("tenant_id"));
    }
    t.col(text("id"));
    for c in columns {
        t.col(c);
    }
    t.col(big_integer("created"))
        .col(big_integer("last_updated"));
    t.to_owned()
}

fn index(name: &str, table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "tenants",
            false,
            vec![text("name"), text("status"), big_integer("config_version")],
        ))
        .await?;
        m.create_index(index("ux_tenants_id", "tenants", &["id"], true))
            .await?;
        m.create_index(index("ux_tenants_name", "tenants", &["name"], true))
            .await?;
        m.create_table(table(
            "api_tokens",
            true,
            vec![
                text("name"),
                text("token_hash"),
                text("token_prefix"),
                text_null("user_id"),
                text("roles"),
                big_integer_null("expires_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_api_tokens_id",
            "api_tokens",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_api_tokens_hash",
            "api_tokens",
            &["token_hash"],
            true,
        ))
        .await?;
        m.create_table(table(
            "authorization_servers",
            true,
            vec![
                text("name"),
                text("description"),
                text("audiences"),
                text("issuer_mode"),
                text("status"),
                boolean("is_default"),
                text("rotation_mode"),
                big_integer_null("last_rotated"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_authorization_servers_id",
            "authorization_servers",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_as_name",
            "authorization_servers",
            &["tenant_id", "name"],
            true,
        ))
        .await?;
        m.create_table(table(
            "scopes",
            true,
            vec![
                text("server_id"),
                text("name"),
                text_null("display_name"),
                text_null("description"),
                text("consent"),
                boolean("optional"),
                boolean("is_default"),
                text("metadata_publish"),
                boolean("system"),
            ],
        ))
        .await?;
        m.create_index(index("ux_scopes_id", "scopes", &["tenant_id", "id"], true))
            .await?;
        m.create_index(index(
            "ux_scopes_name",
            "scopes",
            &["tenant_id", "server_id", "name"],
            true,
        ))
        .await?;
        m.create_table(table(
            "claims",
            true,
            vec![
                text("server_id"),
                text("name"),
                text("status"),
                text("claim_type"),
                text("value_type"),
                text("value"),
                text_null("group_filter_type"),
                boolean("always_include_in_token"),
                text("condition_scopes"),
                boolean("system"),
            ],
        ))
        .await?;
        m.create_index(index("ux_claims_id", "claims", &["tenant_id", "id"], true))
            .await?;
        m.create_index(index(
            "ux_claims_name",
            "claims",
            &["tenant_id", "server_id", "claim_type", "name"],
            true,
        ))
        .await?;
        m.create_table(table(
            "policies",
            true,
            vec![
                text("server_id"),
                text("name"),
                text("description"),
                integer("priority"),
                text("status"),
                boolean("system"),
                text("clients"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_policies_id",
            "policies",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_policies_server",
            "policies",
            &["tenant_id", "server_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "policy_rules",
            true,
            vec![
                text("server_id"),
                text("policy_id"),
                text("name"),
                integer("priority"),
                text("status"),
                boolean("system"),
                text("conditions"),
                text("actions"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_policy_rules_id",
            "policy_rules",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_rules_policy",
            "policy_rules",
            &["tenant_id", "policy_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "apps",
            true,
            vec![
                text("name"),
                text("label"),
                text("status"),
                text("sign_on_mode"),
                text("client_id"),
                text("credentials"),
                text("settings"),
                text("profile"),
            ],
        ))
        .await?;
        m.create_index(index("ux_apps_id", "apps", &["tenant_id", "id"], true))
            .await?;
        m.create_index(index(
            "ux_apps_client_id",
            "apps",
            &["tenant_id", "client_id"],
            true,
        ))
        .await?;
        m.create_table(table(
            "app_secrets",
            true,
            vec![
                text("app_id"),
                text("status"),
                text("salt"),
                text("digest"),
                text("secret_hash"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_app_secrets_id",
            "app_secrets",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_app_secrets_app",
            "app_secrets",
            &["tenant_id", "app_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "app_jwks",
            true,
            vec![
                text("app_id"),
                text_null("kid"),
                text("status"),
                text("key_use"),
                text("jwk"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_app_jwks_id",
            "app_jwks",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_app_jwks_app",
            "app_jwks",
            &["tenant_id", "app_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "app_users",
            true,
            vec![
                text("app_id"),
                text("user_id"),
                text("scope"),
                text("user_name"),
                text("profile"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_app_users_id",
            "app_users",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_app_users",
            "app_users",
            &["tenant_id", "app_id", "user_id"],
            true,
        ))
        .await?;
        m.create_table(table(
            "app_groups",
            true,
            vec![
                text("app_id"),
                text("group_id"),
                integer("priority"),
                text("profile"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_app_groups_id",
            "app_groups",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_app_groups",
            "app_groups",
            &["tenant_id", "app_id", "group_id"],
            true,
        ))
        .await?;
        m.create_table(table(
            "users",
            true,
            vec![
                text("status"),
                text("login"),
                text("email"),
                text("profile"),
                text_null("password_hash"),
                big_integer_null("activated"),
                big_integer_null("status_changed"),
                big_integer_null("password_changed"),
                big_integer_null("last_login"),
            ],
        ))
        .await?;
        m.create_index(index("ux_users_id", "users", &["tenant_id", "id"], true))
            .await?;
        m.create_index(index(
            "ux_users_login",
            "users",
            &["tenant_id", "login"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_users_email",
            "users",
            &["tenant_id", "email"],
            false,
        ))
        .await?;
        m.create_table(table(
            "groups",
            true,
            vec![
                text("name"),
                text_null("description"),
                text("group_type"),
                big_integer_null("last_membership_updated"),
            ],
        ))
        .await?;
        m.create_index(index("ux_groups_id", "groups", &["tenant_id", "id"], true))
            .await?;
        m.create_index(index(
            "ux_groups_name",
            "groups",
            &["tenant_id", "name"],
            true,
        ))
        .await?;
        m.create_table(table(
            "group_members",
            true,
            vec![text("group_id"), text("user_id")],
        ))
        .await?;
        m.create_index(index(
            "ux_group_members_id",
            "group_members",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_group_members",
            "group_members",
            &["tenant_id", "group_id", "user_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_group_members_user",
            "group_members",
            &["tenant_id", "user_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "signing_keys",
            true,
            vec![
                text("server_id"),
                text("kid"),
                text("status"),
                text("alg"),
                text("public_jwk"),
                text("private_key"),
                text("master_key_id"),
                big_integer_null("activated"),
                big_integer_null("expired"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_signing_keys_id",
            "signing_keys",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_signing_keys_server",
            "signing_keys",
            &["tenant_id", "server_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "refresh_tokens",
            true,
            vec![
                text("server_id"),
                text("client_id"),
                text_null("user_id"),
                text("family_id"),
                text("token_hash"),
                text("status"),
                text("scopes"),
                big_integer_null("expires_at"),
                big_integer_null("window_expires_at"),
                big_integer_null("rotated_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_refresh_tokens_id",
            "refresh_tokens",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_refresh_tokens_hash",
            "refresh_tokens",
            &["token_hash"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_refresh_tokens_family",
            "refresh_tokens",
            &["tenant_id", "family_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "consents",
            true,
            vec![
                text("server_id"),
                text("user_id"),
                text("client_id"),
                text("scope_name"),
                text("status"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_consents_id",
            "consents",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_consents_user",
            "consents",
            &["tenant_id", "user_id", "client_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "log_events",
            true,
            vec![
                text("event_type"),
                text("severity"),
                text("display_message"),
                text("actor"),
                text("target"),
                text("outcome"),
                text("client"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_log_events_id",
            "log_events",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_log_events_created",
            "log_events",
            &["tenant_id", "created"],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("log_events"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("consents"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("refresh_tokens"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("signing_keys"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("group_members"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("groups"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("users"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("app_groups"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("app_users"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("app_jwks"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("app_secrets"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("apps"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("policy_rules"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("policies"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("claims"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("scopes"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("authorization_servers"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("api_tokens"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("tenants"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// Per-server signing algorithm (RS256 or ES256), and a sealed copy of client secrets:
/// `client_secret_jwt` verifies an HMAC keyed by the secret itself, which a hash cannot do.
struct SigningAlgAndSealedSecrets;

impl MigrationName for SigningAlgAndSealedSecrets {
    fn name(&self) -> &str {
        "m20261126_000002_signing_alg_and_sealed_secrets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SigningAlgAndSealedSecrets {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .add_column(
                    col("signing_alg")
                        .text()
                        .not_null()
                        .default("RS256")
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("app_secrets"))
                .add_column(text_null("sealed"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("app_secrets"))
                .add_column(text_null("master_key_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("app_secrets"))
                .drop_column(Alias::new("master_key_id"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("app_secrets"))
                .drop_column(Alias::new("sealed"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .drop_column(Alias::new("signing_alg"))
                .to_owned(),
        )
        .await
    }
}

/// The key-rotation fence (a leader's token, checked in every rotation transaction so that a
/// paused former leader cannot commit) and a per-server rotation interval.
struct KeyRotation;

impl MigrationName for KeyRotation {
    fn name(&self) -> &str {
        "m20261126_000003_key_rotation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for KeyRotation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("rotation_fences"))
                .if_not_exists()
                .col(col("name").string_len(100).not_null().primary_key())
                .col(big_integer("fence"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .add_column(
                    col("rotation_interval_minutes")
                        .big_integer()
                        .null()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .drop_column(Alias::new("rotation_interval_minutes"))
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("rotation_fences"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// The access token minted with each refresh token, so that revoking a refresh-token family
/// can denylist the access tokens minted from it without storing every access token.
struct RefreshTokenAccessTokens;

impl MigrationName for RefreshTokenAccessTokens {
    fn name(&self) -> &str {
        "m20261126_000004_refresh_token_access_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RefreshTokenAccessTokens {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .add_column(text_null("access_token_jti"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .add_column(big_integer_null("access_token_exp"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .drop_column(Alias::new("access_token_exp"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .drop_column(Alias::new("access_token_jti"))
                .to_owned(),
        )
        .await
    }
}

/// What a refresh must preserve from the original grant (lifetimes stay those of the original
/// grant, as Okta keeps them; policy is re-evaluated for the original grant type).
struct RefreshTokenGrant;

impl MigrationName for RefreshTokenGrant {
    fn name(&self) -> &str {
        "m20261126_000005_refresh_token_grant"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RefreshTokenGrant {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            text_null("grant_type"),
            big_integer_null("access_token_minutes"),
            big_integer_null("window_minutes"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("refresh_tokens"))
                    .add_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in ["window_minutes", "access_token_minutes", "grant_type"] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("refresh_tokens"))
                    .drop_column(Alias::new(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Admin roles (Okta's standard administrator roles; docs/management-api.md) assigned to users
/// and groups.
struct RoleAssignments;

impl MigrationName for RoleAssignments {
    fn name(&self) -> &str {
        "m20261126_000006_role_assignments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RoleAssignments {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "role_assignments",
            true,
            vec![
                text("role_type"),
                text("principal_type"),
                text("principal_id"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_role_assignments_id",
            "role_assignments",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_role_assignments_principal_role",
            "role_assignments",
            &["tenant_id", "principal_type", "principal_id", "role_type"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("role_assignments"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Token inline hooks (Okta's token inline hook,
/// <https://developer.okta.com/docs/reference/token-hook/>): the endpoint a policy rule calls before tokens are
/// signed. The authentication header's value is sealed under the master key, like client secrets.
struct InlineHooks;

impl MigrationName for InlineHooks {
    fn name(&self) -> &str {
        "m20261126_000007_inline_hooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InlineHooks {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "inline_hooks",
            true,
            vec![
                text("name"),
                text("hook_type"),
                text("version"),
                text("status"),
                text("uri"),
                text("method"),
                text("headers"),
                text_null("auth_key"),
                text_null("auth_value_sealed"),
                text_null("master_key_id"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_inline_hooks_id",
            "inline_hooks",
            &["tenant_id", "id"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("inline_hooks"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// The org authorization server (Okta's, <https://developer.okta.com/docs/concepts/auth-servers/>): one row per tenant, flagged, hidden from
/// the management API, with its own signing keys that the keys service rotates like any other.
struct OrgAuthorizationServer;

impl MigrationName for OrgAuthorizationServer {
    fn name(&self) -> &str {
        "m20261126_000008_org_authorization_server"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OrgAuthorizationServer {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .add_column(col("org").boolean().not_null().default(false).to_owned())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("authorization_servers"))
                .drop_column(Alias::new("org"))
                .to_owned(),
        )
        .await
    }
}

/// The OAUTH channel of inline hooks: its non-secret settings (the secret goes to the sealed
/// column the header value uses).
struct InlineHookOAuth;

impl MigrationName for InlineHookOAuth {
    fn name(&self) -> &str {
        "m20261126_000009_inline_hook_oauth"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InlineHookOAuth {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("inline_hooks"))
                .add_column(text_null("oauth"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("inline_hooks"))
                .drop_column(Alias::new("oauth"))
                .to_owned(),
        )
        .await
    }
}

/// The System Log: the parts of an event without a column of their own (transaction, debug
/// context, request), and the one index its queries walk (tenant, then insertion order). The
/// first schema's two other indexes (unique id, creation time) go: nothing looks an event up by
/// id, the time bounds are checked along the walk, and each index is one more B-tree write per
/// event on the busiest insert path there is.
struct SystemLogDetails;

impl MigrationName for SystemLogDetails {
    fn name(&self) -> &str {
        "m20261126_000010_system_log_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SystemLogDetails {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("log_events"))
                .add_column(col("details").text().not_null().default("{}").to_owned())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_log_events_tenant_seq",
            "log_events",
            &["tenant_id", "seq"],
            false,
        ))
        .await?;
        for name in ["ux_log_events_id", "ix_log_events_created"] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(Alias::new("log_events"))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ux_log_events_id",
            "log_events",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_log_events_created",
            "log_events",
            &["tenant_id", "created"],
            false,
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_log_events_tenant_seq")
                .table(Alias::new("log_events"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("log_events"))
                .drop_column(Alias::new("details"))
                .to_owned(),
        )
        .await
    }
}

/// Revocation markers kept durably, so that a restart of the short-lived store (which keeps
/// nothing on disk) cannot bring a revoked token back. One row per marker and tenant; expired
/// rows are pruned by `expires_at`.
struct Revocations;

impl MigrationName for Revocations {
    fn name(&self) -> &str {
        "m20261201_000011_revocations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Revocations {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "revocations",
            true,
            vec![big_integer("value"), big_integer("expires_at")],
        ))
        .await?;
        m.create_index(index(
            "ux_revocations_tenant_id",
            "revocations",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_revocations_expires_at",
            "revocations",
            &["expires_at"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("revocations"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Trusted origins (Okta's Trusted Origins API): the origins allowed to call the protocol
/// endpoints from a browser (CORS), to be redirected to, and to frame the hosted pages.
struct TrustedOrigins;

impl MigrationName for TrustedOrigins {
    fn name(&self) -> &str {
        "m20261201_000012_trusted_origins"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for TrustedOrigins {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "trusted_origins",
            true,
            vec![
                text("name"),
                text("origin"),
                text("scopes"),
                text("status"),
                text_null("created_by"),
                text_null("last_updated_by"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_trusted_origins_tenant_id",
            "trusted_origins",
            &["tenant_id", "id"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("trusted_origins"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// The authentication time of a refresh-token family's grant, kept so refreshed tokens carry
/// the original `auth_time`. Rows from before it have none (the refresh then uses the row's
/// creation time).
struct RefreshTokenAuthTime;

impl MigrationName for RefreshTokenAuthTime {
    fn name(&self) -> &str {
        "m20261201_000013_refresh_token_auth_time"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RefreshTokenAuthTime {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .add_column(big_integer_null("auth_time"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .drop_column(Alias::new("auth_time"))
                .to_owned(),
        )
        .await
    }
}

/// The servers an authorization server trusts (Okta's associated servers).
struct AssociatedServers;

impl MigrationName for AssociatedServers {
    fn name(&self) -> &str {
        "m20261201_000014_associated_servers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AssociatedServers {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "associated_servers",
            true,
            vec![text("server_id"), text("trusted_server_id")],
        ))
        .await?;
        m.create_index(index(
            "ux_associated_servers_tenant_id",
            "associated_servers",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ux_associated_servers_pair",
            "associated_servers",
            &["tenant_id", "server_id", "trusted_server_id"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("associated_servers"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// What role assignments are narrowed to (Okta's role targets).
struct RoleTargets;

impl MigrationName for RoleTargets {
    fn name(&self) -> &str {
        "m20261201_000015_role_targets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RoleTargets {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "role_targets",
            true,
            vec![
                text("assignment_id"),
                text("kind"),
                text("target"),
                text_null("app_id"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_role_targets_tenant_id",
            "role_targets",
            &["tenant_id", "id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_role_targets_assignment",
            "role_targets",
            &["tenant_id", "assignment_id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("role_targets"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// How far each process's System Log spool has been loaded, written in the transaction that
/// loads it, so that a spool replayed after a crash is loaded exactly once. Not tenant-owned:
/// one row per spool (`id`, generated in the spool's directory).
struct SpoolCheckpoints;

impl MigrationName for SpoolCheckpoints {
    fn name(&self) -> &str {
        "m20261201_000016_spool_checkpoints"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SpoolCheckpoints {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("spool_checkpoints"))
                .if_not_exists()
                .col(text("id").primary_key())
                .col(big_integer("segment"))
                .col(big_integer("position"))
                .col(big_integer("last_updated"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("spool_checkpoints"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Where the System Log stood at a time: each loader records, about once a second, the
/// highest `seq` in `log_events` and its clock. An event is published before it is stored, so
/// no event published at or after `t` (less the clocks' disagreement) has a `seq` at or below a
/// mark taken before `t`: a query from `since` starts its walk of `(tenant_id, seq)` after the
/// last such mark instead of at the tenant's oldest event. Not tenant-owned.
struct LogMarks;

impl MigrationName for LogMarks {
    fn name(&self) -> &str {
        "m20261202_000017_log_marks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for LogMarks {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("log_marks"))
                .if_not_exists()
                .col(big_integer("seq").primary_key())
                .col(big_integer("stored"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_log_marks_stored",
            "log_marks",
            &["stored"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("log_marks"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// The DPoP key a refresh token is bound to (RFC 9449 §5): its thumbprint, for apps with
/// `dpop_bound_access_tokens`; a refresh must prove the same key.
struct RefreshTokenDpop;

impl MigrationName for RefreshTokenDpop {
    fn name(&self) -> &str {
        "m20261202_000018_refresh_token_dpop"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RefreshTokenDpop {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .add_column(text_null("dpop_jkt"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("refresh_tokens"))
                .drop_column(Alias::new("dpop_jkt"))
                .to_owned(),
        )
        .await
    }
}
