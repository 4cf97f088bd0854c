//! Tenant provisioning: the tenant, its Everyone group, a super-admin API token, and
//! the `default` authorization server with its reserved scopes, `sub` claim and the
//! "Default Policy" with its "Default Policy Rule" — all in one transaction.

use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::Role;
use tessera_domain::ids::IdKind;
use tessera_store::entities::{authorization_server as srv, policy, policy_rule, tenant};
use tessera_store::{ColumnTrait as _, ConnectionTrait, repo};
use tessera_web::ApiError;

use crate::authz_servers::{ServerFieldsOwned, ServerKind, insert_server};
use crate::policies::default_rule_body;
use crate::support::to_text;

/// A freshly provisioned tenant and its first API token (shown once).
pub struct Provisioned {
    pub tenant: tenant::Model,
    pub api_token: String,
}

/// Validates `name` and creates the tenant with everything a new Okta org has.
pub async fn provision(state: &AppState, name: &str) -> Result<Provisioned, ApiError> {
    tessera_domain::validate::tenant_name(name).map_err(|e| ApiError::invalid("name", e))?;
    if tessera_store::tenants::by_name(&state.db, name)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "name",
            format!("name: A tenant named '{name}' already exists"),
        ));
    }
    let mut keys = tessera_core::keys::generate(tessera_jose::Alg::RS256, 4).await?;
    let org_keys = keys.split_off(2);
    let now = state.now_ms();
    let txn = tessera_store::begin_write(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let t = tessera_store::tenants::insert(
        &txn,
        tenant::Model {
            seq: 0,
            id: state.new_id(IdKind::Tenant),
            name: name.to_owned(),
            status: "ACTIVE".into(),
            config_version: 1,
            created: now,
            last_updated: now,
        },
    )
    .await
    .map_err(|e| match e {
        tessera_store::StoreError::Conflict => ApiError::conflict(
            "name",
            format!("name: A tenant named '{name}' already exists"),
        ),
        e => e.into(),
    })?;
    crate::groups::insert_everyone(&txn, state, &t.id).await?;
    let (_, api_token) = crate::api_tokens::issue(
        &txn,
        state,
        &t.id,
        "Provisioning token",
        crate::api_tokens::Owner::Roles(vec![Role::SuperAdmin]),
    )
    .await?;
    let server = insert_server(
        &txn,
        state,
        &t.id,
        ServerFieldsOwned {
            name: "default".into(),
            description: "Default Authorization Server for your Applications".into(),
            audience: "api://default".into(),
            issuer_mode: "ORG_URL".into(),
            rotation_mode: "AUTO".into(),
            alg: "RS256".into(),
            rotation_interval_minutes: None,
        },
        ServerKind::Default,
        keys,
    )
    .await?;
    insert_org_server(&txn, state, &t.id, org_keys).await?;
    let p = repo::insert::<policy::Entity>(
        &txn,
        policy::Model {
            seq: 0,
            tenant_id: t.id.clone(),
            id: state.new_id(IdKind::Policy),
            server_id: server.id.clone(),
            name: "Default Policy".into(),
            description: "Default policy description".into(),
            priority: 1,
            status: "ACTIVE".into(),
            system: false,
            clients: "[\"ALL_CLIENTS\"]".into(),
            created: now,
            last_updated: now,
        },
    )
    .await?;
    let body = default_rule_body();
    repo::insert::<policy_rule::Entity>(
        &txn,
        policy_rule::Model {
            seq: 0,
            tenant_id: t.id.clone(),
            id: state.new_id(IdKind::Rule),
            server_id: server.id.clone(),
            policy_id: p.id,
            name: "Default Policy Rule".into(),
            priority: 1,
            status: "ACTIVE".into(),
            system: false,
            conditions: to_text(&body.conditions),
            actions: to_text(&body.actions),
            created: now,
            last_updated: now,
        },
    )
    .await?;
    state
        .commit(txn, &t.id, Change::everything("tenant", &t.id))
        .await?;
    Ok(Provisioned {
        tenant: t,
        api_token,
    })
}

/// The tenant's org authorization server (Okta's org authorization server, <https://developer.okta.com/docs/concepts/auth-servers/>): issuer `{org}`, access tokens for
/// the management API with `okta.*` scopes, RS256 keys rotated automatically.
async fn insert_org_server(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant_id: &str,
    keys: Vec<tessera_jose::GeneratedKey>,
) -> Result<srv::Model, ApiError> {
    let fields = ServerFieldsOwned {
        name: "Org Authorization Server".into(),
        description: "Issues access tokens for the management API".into(),
        audience: String::new(),
        issuer_mode: "ORG_URL".into(),
        rotation_mode: "AUTO".into(),
        alg: "RS256".into(),
        rotation_interval_minutes: None,
    };
    insert_server(db, state, tenant_id, fields, ServerKind::Org, keys).await
}

/// Gives every tenant provisioned before org authorization servers existed its own (run at
/// start-up; idempotent).
pub async fn ensure_org_servers(state: &AppState) -> Result<usize, ApiError> {
    let mut created = 0;
    for t in tessera_store::tenants::all(&state.db).await? {
        let has = repo::find_by::<srv::Entity>(&state.db, &t.id, srv::Column::Org.eq(true))
            .await?
            .is_some();
        if has {
            continue;
        }
        let keys = tessera_core::keys::generate(tessera_jose::Alg::RS256, 2).await?;
        let txn = tessera_store::begin_write(&state.db)
            .await
            .map_err(ApiError::internal)?;
        insert_org_server(&txn, state, &t.id, keys).await?;
        state
            .commit(txn, &t.id, Change::everything("tenant", &t.id))
            .await?;
        created += 1;
    }
    if created > 0 {
        tracing::info!(
            created,
            "org authorization servers created for existing tenants"
        );
    }
    Ok(created)
}
