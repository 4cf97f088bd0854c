//! Building snapshots from the durable store. Only the actors and the registry's first load
//! call these; request handlers never do.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_domain::config::{self, OAuthCredentials, OAuthSettings, RuleActions, RuleConditions};
use tessera_domain::el;
use tessera_domain::el_eval::GroupRef;
use tessera_domain::policy::{Clients, Policy, ScopeInfo};
use tessera_domain::secrets::SecretHash;
use tessera_jose::{Alg, KeyRing, SigningKey};
use tessera_store::entities::{
    app, app_group, app_jwk, app_secret, app_user, associated_server, authorization_server as srv,
    claim, consent, group, inline_hook, policy, policy_rule, scope, signing_key, tenant,
    trusted_origin,
};
use tessera_store::{ColumnTrait, Condition, DatabaseConnection, repo};

use crate::LoadError;
use crate::registry::RegistryConfig;

use crate::discovery::{self, Discovery};
use crate::snapshot::{
    ClaimValue, ClientSnapshot, CompiledClaim, HookOAuth, HookSnapshot, ServerSnapshot,
    TenantSnapshot, TrustedOrigins, VerifyKey,
};

/// A key as published in the JWKS, while a server snapshot is built (the snapshot keeps the
/// serialised set and the keys parsed for verification, not these).
struct PublishedKey {
    kid: String,
    jwk: Value,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    serde_json::from_str(text).map_err(|e| LoadError::Corrupt(e.to_string()))
}

/// Loads a tenant's apps and groups.
pub async fn tenant(
    db: &DatabaseConnection,
    cfg: &RegistryConfig,
    master: &KeyRing,
    t: &tenant::Model,
) -> Result<TenantSnapshot, LoadError> {
    let id = t.id.as_str();
    let groups = repo::all::<group::Entity>(db, id, Condition::all()).await?;
    let everyone = groups
        .iter()
        .find(|g| g.group_type == "BUILT_IN")
        .map(|g| g.id.clone())
        .unwrap_or_default();
    let org_server_id = repo::find_by::<srv::Entity>(db, id, srv::Column::Org.eq(true))
        .await?
        .map(|s| s.id);
    let rows = AppRows::load(db, id, org_server_id.as_deref(), None).await?;
    let mut clients = HashMap::new();
    for a in repo::all::<app::Entity>(db, id, Condition::all()).await? {
        let client = client(&a, &rows, master, id)?;
        clients.insert(a.client_id.clone(), Arc::new(client));
    }
    let default_server_id = repo::find_by::<srv::Entity>(db, id, srv::Column::IsDefault.eq(true))
        .await?
        .map(|s| s.id);
    Ok(TenantSnapshot {
        tenant_id: t.id.clone(),
        name: t.name.clone(),
        active: t.status == "ACTIVE",
        org_url: tessera_domain::urls::org_url(
            &cfg.public_url,
            cfg.base_domain.as_deref(),
            &t.name,
        ),
        everyone_group_id: everyone,
        clients,
        groups: groups
            .into_iter()
            .map(|g| {
                (
                    g.id.clone(),
                    GroupRef {
                        id: g.id,
                        name: g.name,
                        kind: g.group_type,
                    },
                )
            })
            .collect(),
        default_server_id,
        org_server_id,
        hooks: hooks(db, master, id).await?,
        origins: trusted_origins(db, id).await?,
        version: t.config_version,
    })
}

/// The rows an app's client snapshot is built from (all the tenant's, or one app's).
struct AppRows {
    secrets: Vec<app_secret::Model>,
    keys: Vec<app_jwk::Model>,
    users: Vec<app_user::Model>,
    app_groups: Vec<app_group::Model>,
    /// `okta.*` scopes granted to apps for the org server (`/api/v1/apps/{id}/grants`).
    org_grants: Vec<consent::Model>,
}

impl AppRows {
    /// The rows of every app of the tenant, or of `only` that one.
    async fn load(
        db: &DatabaseConnection,
        tenant_id: &str,
        org_server_id: Option<&str>,
        only: Option<&str>,
    ) -> Result<Self, LoadError> {
        let org_grants = match org_server_id {
            Some(org) => {
                repo::all::<consent::Entity>(
                    db,
                    tenant_id,
                    Condition::all()
                        .add(consent::Column::ServerId.eq(org))
                        .add(consent::Column::UserId.eq(""))
                        .add(consent::Column::Status.eq("ACTIVE")),
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok(Self {
            secrets: repo::all::<app_secret::Entity>(
                db,
                tenant_id,
                only_app(
                    only,
                    Condition::all().add(app_secret::Column::Status.eq("ACTIVE")),
                    app_secret::Column::AppId,
                ),
            )
            .await?,
            keys: repo::all::<app_jwk::Entity>(
                db,
                tenant_id,
                only_app(
                    only,
                    Condition::all().add(app_jwk::Column::Status.eq("ACTIVE")),
                    app_jwk::Column::AppId,
                ),
            )
            .await?,
            users: repo::all::<app_user::Entity>(
                db,
                tenant_id,
                only_app(only, Condition::all(), app_user::Column::AppId),
            )
            .await?,
            app_groups: repo::all::<app_group::Entity>(
                db,
                tenant_id,
                only_app(only, Condition::all(), app_group::Column::AppId),
            )
            .await?,
            org_grants,
        })
    }
}

/// `c`, narrowed to one app's rows when `only` names one.
fn only_app(only: Option<&str>, c: Condition, app_id: impl ColumnTrait) -> Condition {
    match only {
        Some(id) => c.add(app_id.eq(id)),
        None => c,
    }
}

/// One app's client snapshot, from its row and [`AppRows`].
fn client(
    a: &app::Model,
    rows: &AppRows,
    master: &KeyRing,
    id: &str,
) -> Result<ClientSnapshot, LoadError> {
    let creds: OAuthCredentials = parse(&a.credentials)?;
    let settings: OAuthSettings = parse(&a.settings)?;
    let method = creds.auth_method().to_owned();
    let app_secrets: Vec<&app_secret::Model> =
        rows.secrets.iter().filter(|s| s.app_id == a.id).collect();
    let jwt_secrets = if method == "client_secret_jwt" {
        app_secrets
            .iter()
            .filter_map(|s| {
                let sealed = s.sealed.as_deref()?;
                let plain = master
                    .open(
                        s.master_key_id.as_deref()?,
                        sealed,
                        &tessera_jose::client_secret_context(id, &a.id, &s.id),
                    )
                    .ok()?;
                String::from_utf8(plain).ok()
            })
            .collect()
    } else {
        Vec::new()
    };
    let client = ClientSnapshot {
        app_id: a.id.clone(),
        client_id: a.client_id.clone(),
        label: a.label.clone(),
        active: a.status == "ACTIVE",
        application_type: settings.application_type().to_owned(),
        grant_types: settings.grant_types.clone(),
        response_types: settings.response_types.clone(),
        redirect_uris: settings.redirect_uris.clone(),
        post_logout_redirect_uris: settings.post_logout_redirect_uris.clone(),
        pkce_required: creds.pkce_required(),
        require_par: settings.require_pushed_authorization_requests,
        dpop_bound: settings.dpop_bound_access_tokens,
        refresh_rotation: settings.refresh_rotation().to_owned(),
        refresh_leeway: settings.refresh_leeway(),
        consent_method: settings.consent_method().to_owned(),
        secrets: app_secrets
            .iter()
            .map(|s| SecretHash {
                salt: s.salt.clone(),
                digest: s.digest.clone(),
            })
            .collect(),
        jwt_secrets,
        jwks: rows
            .keys
            .iter()
            .filter(|k| k.app_id == a.id && k.key_use == "sig")
            .map(|k| parse(&k.jwk))
            .collect::<Result<_, _>>()?,
        jwks_uri: settings.jwks_uri.clone(),
        org_scopes: rows
            .org_grants
            .iter()
            .filter(|g| g.client_id == a.client_id)
            .map(|g| g.scope_name.clone())
            .collect(),
        profile: parse(&a.profile)?,
        assigned_users: rows
            .users
            .iter()
            .filter(|u| u.app_id == a.id)
            .map(|u| (u.user_id.clone(), u.user_name.clone()))
            .collect(),
        assigned_groups: rows
            .app_groups
            .iter()
            .filter(|g| g.app_id == a.id)
            .map(|g| g.group_id.clone())
            .collect(),
        token_endpoint_auth_method: method,
    };
    Ok(client)
}

/// One app's client snapshot, loaded on its own (a change to that app): `None` when the app is
/// gone. Reads the tenant's config version first, like every load, so the snapshot is at least
/// as new as the version it reports.
pub async fn app(
    db: &DatabaseConnection,
    master: &KeyRing,
    t: &tenant::Model,
    app_id: &str,
) -> Result<Option<ClientSnapshot>, LoadError> {
    let id = t.id.as_str();
    let Some(a) = repo::find::<app::Entity>(db, id, app_id).await? else {
        return Ok(None);
    };
    let org_server_id = repo::find_by::<srv::Entity>(db, id, srv::Column::Org.eq(true))
        .await?
        .map(|s| s.id);
    let rows = AppRows::load(db, id, org_server_id.as_deref(), Some(app_id)).await?;
    Ok(Some(client(&a, &rows, master, id)?))
}

/// A tenant's ACTIVE trusted origins.
async fn trusted_origins(
    db: &DatabaseConnection,
    tenant_id: &str,
) -> Result<TrustedOrigins, LoadError> {
    let mut out = TrustedOrigins::default();
    let rows = repo::all::<trusted_origin::Entity>(
        db,
        tenant_id,
        Condition::all().add(trusted_origin::Column::Status.eq("ACTIVE")),
    )
    .await?;
    for row in rows {
        let scopes: Vec<tessera_domain::origins::Scope> = parse(&row.scopes)?;
        for scope in scopes {
            out.insert(scope.kind, &row.origin);
        }
    }
    Ok(out)
}

/// A tenant's inline hooks, their authentication values unsealed.
async fn hooks(
    db: &DatabaseConnection,
    master: &KeyRing,
    tenant_id: &str,
) -> Result<HashMap<String, Arc<HookSnapshot>>, LoadError> {
    let mut out = HashMap::new();
    for h in repo::all::<inline_hook::Entity>(db, tenant_id, Condition::all()).await? {
        let headers: Vec<Value> = parse(&h.headers)?;
        let secret = match (&h.auth_value_sealed, &h.master_key_id) {
            (Some(sealed), Some(key_id)) => {
                let context = tessera_jose::inline_hook_context(tenant_id, &h.id);
                let plain = master
                    .open(key_id, sealed, &context)
                    .map_err(|e| LoadError::Corrupt(format!("inline hook {}: {e}", h.id)))?;
                Some(
                    String::from_utf8(plain)
                        .map_err(|e| LoadError::Corrupt(format!("inline hook {}: {e}", h.id)))?,
                )
            }
            _ => None,
        };
        let auth = h.auth_key.clone().zip(secret.clone());
        let oauth = match (&h.oauth, secret) {
            (Some(text), Some(client_secret)) => {
                let o: Value = parse(text)?;
                Some(HookOAuth {
                    token_url: o["tokenUrl"].as_str().unwrap_or_default().to_owned(),
                    client_id: o["clientId"].as_str().unwrap_or_default().to_owned(),
                    client_secret,
                    scope: o["scope"].as_str().map(str::to_owned),
                })
            }
            _ => None,
        };
        let hook = HookSnapshot {
            id: h.id.clone(),
            name: h.name,
            active: h.status == "ACTIVE",
            uri: h.uri,
            method: h.method,
            headers: headers
                .iter()
                .filter_map(|v| {
                    Some((
                        v["key"].as_str()?.to_owned(),
                        v["value"].as_str()?.to_owned(),
                    ))
                })
                .collect(),
            auth,
            oauth,
        };
        out.insert(h.id, Arc::new(hook));
    }
    Ok(out)
}

/// Loads one authorization server.
pub async fn server(
    db: &DatabaseConnection,
    cfg: &RegistryConfig,
    master: &KeyRing,
    t: &tenant::Model,
    s: &srv::Model,
    now_ms: i64,
) -> Result<ServerSnapshot, LoadError> {
    let id = t.id.as_str();
    let org = tessera_domain::urls::org_url(&cfg.public_url, cfg.base_domain.as_deref(), &t.name);
    // The org server's issuer and audience are the org itself (Okta's org authorization server, <https://developer.okta.com/docs/concepts/auth-servers/>).
    let (issuer, audience) = if s.org {
        (org.clone(), org.clone())
    } else {
        let audience = parse::<Vec<String>>(&s.audiences)?
            .into_iter()
            .next()
            .unwrap_or_default();
        (
            tessera_domain::urls::issuer(&org, &s.id, s.is_default),
            audience,
        )
    };
    let endpoints = if s.org {
        format!("{org}/oauth2")
    } else {
        issuer.clone()
    };
    let scope_rows = repo::all::<scope::Entity>(db, id, scope::Column::ServerId.eq(&s.id)).await?;
    let scopes = scope_rows
        .iter()
        .map(|x| ScopeInfo {
            name: x.name.clone(),
            is_default: x.is_default,
        })
        .collect();
    let consent_required = scope_rows
        .iter()
        .filter(|x| x.consent == "REQUIRED")
        .map(|x| x.name.clone())
        .collect();
    let consent_flexible = scope_rows
        .iter()
        .filter(|x| x.consent == "FLEXIBLE")
        .map(|x| x.name.clone())
        .collect();
    let mut claims = Vec::new();
    for c in repo::all::<claim::Entity>(db, id, claim::Column::ServerId.eq(&s.id)).await? {
        if c.status != "ACTIVE" {
            continue;
        }
        let value = if c.value_type == "GROUPS" {
            ClaimValue::Groups {
                filter: c.group_filter_type.clone().unwrap_or_default(),
                pattern: c.value.clone(),
            }
        } else {
            ClaimValue::Expression(
                el::parse(&c.value)
                    .map_err(|e| LoadError::Corrupt(format!("claim {}: {e}", c.name)))?,
            )
        };
        claims.push(CompiledClaim {
            name: c.name,
            claim_type: c.claim_type,
            value,
            always_include: c.always_include_in_token,
            scopes: parse(&c.condition_scopes)?,
            system: c.system,
        });
    }
    let rules =
        repo::all::<policy_rule::Entity>(db, id, policy_rule::Column::ServerId.eq(&s.id)).await?;
    let mut policies = Vec::new();
    for p in repo::all::<policy::Entity>(db, id, policy::Column::ServerId.eq(&s.id)).await? {
        let clients: Vec<String> = parse(&p.clients)?;
        let compiled_rules = rules
            .iter()
            .filter(|r| r.policy_id == p.id)
            .map(|r| {
                let conditions: RuleConditions = parse(&r.conditions)?;
                let actions: RuleActions = parse(&r.actions)?;
                Ok(config::rule(
                    &r.id,
                    r.priority,
                    r.status == "ACTIVE",
                    conditions,
                    &actions,
                ))
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        policies.push(Policy {
            id: p.id,
            priority: p.priority,
            active: p.status == "ACTIVE",
            clients: if clients.iter().any(|c| c == "ALL_CLIENTS") {
                Clients::All
            } else {
                Clients::Only(clients)
            },
            rules: compiled_rules,
        });
    }
    // Keys: the ACTIVE one parsed for signing; ACTIVE, NEXT and recently EXPIRED ones published.
    let key_rows =
        repo::all::<signing_key::Entity>(db, id, signing_key::Column::ServerId.eq(&s.id)).await?;
    let mut signing_key = None;
    let mut keys = Vec::new();
    for k in &key_rows {
        let published = match k.status.as_str() {
            "ACTIVE" | "NEXT" => true,
            _ => k
                .expired
                .is_some_and(|e| now_ms - e < cfg.expired_key_retention_ms),
        };
        if k.status == "ACTIVE" && signing_key.is_none() {
            let alg = Alg::parse(&k.alg).map_err(|source| LoadError::Key {
                kid: k.kid.clone(),
                source,
            })?;
            let pkcs8 = master
                .open(
                    &k.master_key_id,
                    &k.private_key,
                    &tessera_jose::signing_key_context(id, &s.id, &k.kid),
                )
                .map_err(|source| LoadError::Key {
                    kid: k.kid.clone(),
                    source,
                })?;
            let parsed =
                SigningKey::from_pkcs8(&k.kid, alg, &pkcs8).map_err(|source| LoadError::Key {
                    kid: k.kid.clone(),
                    source,
                })?;
            signing_key = Some(Arc::new(parsed));
        }
        if published {
            keys.push(PublishedKey {
                kid: k.kid.clone(),
                jwk: parse(&k.public_jwk)?,
            });
        }
    }
    let verify_keys = keys
        .iter()
        .filter_map(|k| {
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.jwk.clone()).ok()?;
            let alg = match k.jwk["alg"].as_str()? {
                "RS256" => jsonwebtoken::Algorithm::RS256,
                "ES256" => jsonwebtoken::Algorithm::ES256,
                _ => return None,
            };
            Some(VerifyKey {
                kid: k.kid.clone(),
                alg,
                key: jsonwebtoken::DecodingKey::from_jwk(&jwk).ok()?,
            })
        })
        .collect();
    let jwks = json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() });
    let published_scopes = scope_rows
        .iter()
        .filter(|x| x.system || x.metadata_publish == "ALL_CLIENTS")
        .map(|x| x.name.clone())
        .collect();
    let trusted_servers = repo::all::<associated_server::Entity>(
        db,
        id,
        associated_server::Column::ServerId.eq(&s.id),
    )
    .await?
    .into_iter()
    .map(|a| a.trusted_server_id)
    .collect();
    Ok(ServerSnapshot {
        tenant_id: t.id.clone(),
        server_id: s.id.clone(),
        is_default: s.is_default,
        org: s.org,
        active: s.status == "ACTIVE",
        issuer,
        audience,
        scopes,
        consent_required,
        consent_flexible,
        claims,
        policies,
        signing_key,
        verify_keys,
        jwks: discovery::exact(&jwks),
        jwks_fresh_until: jwks_fresh_until(s, cfg),
        jwks_max_age_floor: jwks_max_age_floor(s, cfg),
        jwks_max_age_ceiling: jwks_max_age_ceiling(s, cfg),
        discovery: Discovery::new(
            endpoints,
            published_scopes,
            s.signing_alg.clone(),
            s.org,
            org,
        ),
        version: t.config_version,
        trusted_servers,
    })
}

/// Until when a cached JWKS is safe: an AUTO server's next scheduled rotation. A key that is
/// not in a cached set may start signing then at the earliest — the keys service creates NEXT
/// keys ahead of it and promotes only keys already published — so no cache may outlive it.
fn jwks_fresh_until(s: &srv::Model, cfg: &RegistryConfig) -> Option<i64> {
    if s.rotation_mode != "AUTO" {
        return None;
    }
    let interval = s
        .rotation_interval_minutes
        .map_or(cfg.rotation_interval_ms, |m| m * 60_000);
    Some(s.last_rotated.unwrap_or(s.created) + interval)
}

/// The longest JWKS max-age floor.
const JWKS_MAX_AGE_FLOOR_SECS: i64 = 60;
/// The longest JWKS max-age.
const JWKS_MAX_AGE_CEILING_SECS: i64 = 86_400;

/// The NEXT key's lead on this server, in seconds: how long a NEXT key is published before it
/// may sign (`tessera_core::keys::schedule_of`).
fn lead_secs(s: &srv::Model, cfg: &RegistryConfig) -> i64 {
    let lead_ms = match s.rotation_interval_minutes {
        Some(m) if m > 0 => cfg.rotation_next_lead_ms.min(m * 60_000 / 2),
        _ => cfg.rotation_next_lead_ms,
    };
    lead_ms / 1000
}

/// The JWKS `max-age` floor: a minute, never longer than the lead.
fn jwks_max_age_floor(s: &srv::Model, cfg: &RegistryConfig) -> u64 {
    u64::try_from(lead_secs(s, cfg).clamp(0, JWKS_MAX_AGE_FLOOR_SECS)).unwrap_or(0)
}

/// The JWKS `max-age` ceiling: a day (an hour on MANUAL servers), never longer than the lead.
/// So a key set cached before a NEXT key was published has expired by the time that key may
/// sign, whatever rotates it.
fn jwks_max_age_ceiling(s: &srv::Model, cfg: &RegistryConfig) -> u64 {
    let ceiling = if s.rotation_mode == "AUTO" {
        JWKS_MAX_AGE_CEILING_SECS
    } else {
        3_600
    };
    u64::try_from(lead_secs(s, cfg).clamp(0, ceiling)).unwrap_or(0)
}
