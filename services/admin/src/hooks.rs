//! Inline hooks (`/api/v1/inlineHooks`, Okta's Inline Hooks API): Tessera runs the token inline hook
//! (`com.okta.oauth2.tokens.transform`) that a policy rule names in `actions.token.inlineHook`.
//! The URI must be `https://` and reach no internal address (`tessera_outbound`); `http://` to
//! loopback only with `hooks_allow_http_loopback`, other internal hosts only with `outbound_allow`.
//! Tessera authenticates with a header (`authScheme` HEADER) or through the OAUTH channel
//! (`client_secret_post` to the hook's token URL); the header value or client secret is sealed
//! under the master key and never shown again.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_store::entities::{inline_hook, policy_rule};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, paged, stored, to_text, ts};

/// The one hook type Tessera runs.
pub const TOKEN_HOOK_TYPE: &str = "com.okta.oauth2.tokens.transform";

pub fn routes(api: &mut Api) {
    let hooks = Guard::of(Resource::InlineHooks);
    api.get("/inlineHooks", hooks, list)
        .post("/inlineHooks", hooks, create)
        .get("/inlineHooks/{id}", hooks, get)
        .put("/inlineHooks/{id}", hooks, replace)
        .delete("/inlineHooks/{id}", hooks, delete)
        .post("/inlineHooks/{id}/lifecycle/{action}", hooks, lifecycle)
        .post("/inlineHooks/{id}/execute", hooks, execute);
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthScheme {
    #[serde(rename = "type")]
    kind: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Header {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelConfig {
    uri: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
    auth_scheme: Option<AuthScheme>,
    // The OAUTH channel.
    auth_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    token_url: Option<String>,
    scope: Option<String>,
}

/// The non-secret part of an OAUTH channel, stored as JSON in `inline_hooks.oauth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthConfig {
    pub auth_type: String,
    pub client_id: String,
    pub token_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// How Tessera authenticates to a hook; secrets are write-only (`None` keeps the stored one).
enum Credential {
    None,
    /// `authScheme` of type HEADER.
    Header {
        key: String,
        value: Option<String>,
    },
    /// The OAUTH channel: a `client_secret_post` token request to `tokenUrl` first.
    OAuth {
        config: OAuthConfig,
        secret: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
struct Channel {
    #[serde(rename = "type")]
    kind: Option<String>,
    config: Option<ChannelConfig>,
}

#[derive(Debug, Default, Deserialize)]
struct HookInput {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    version: Option<String>,
    channel: Option<Channel>,
}

/// A validated hook body: everything but the sealed credential.
struct Valid {
    name: String,
    version: String,
    uri: String,
    method: String,
    headers: Vec<(String, String)>,
    credential: Credential,
}

/// Validates a hook body. `stored_type` is the type of the hook being replaced: Okta's
/// `InlineHookReplace` has no `type`, so a replacement without one keeps it (a type cannot be
/// changed).
async fn validate(
    state: &AppState,
    input: HookInput,
    stored_type: Option<&str>,
) -> Result<Valid, ApiError> {
    let mut c = Causes::new();
    let name = c
        .require("name", input.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", tessera_domain::validate::length(&name, 1, 255));
    }
    match input.kind.as_deref().or(stored_type) {
        Some(TOKEN_HOOK_TYPE) => {}
        None => c.add("type", "The field cannot be left blank"),
        Some(other) => c.add(
            "type",
            format!("'{other}' is not supported: Tessera runs '{TOKEN_HOOK_TYPE}' hooks"),
        ),
    }
    let channel = input.channel.unwrap_or_default();
    let kind = channel.kind.unwrap_or_else(|| "HTTP".into());
    if !matches!(kind.as_str(), "HTTP" | "OAUTH") {
        c.add("channel.type", "must be HTTP or OAUTH");
    }
    let config = channel.config.unwrap_or_default();
    // The hook's URI and an OAUTH channel's token URL: required; checked by the outbound guard
    // below (https, and no internal address, as written or as resolved now).
    let mut endpoints: Vec<(&'static str, String)> = Vec::new();
    let mut endpoint = |c: &mut Causes, field: &'static str, value: Option<&str>| {
        let uri = c.require(field, value).unwrap_or_default().to_owned();
        if !uri.is_empty() {
            endpoints.push((field, uri.clone()));
        }
        uri
    };
    let uri = endpoint(&mut c, "channel.config.uri", config.uri.as_deref());
    let method = config.method.unwrap_or_else(|| "POST".into());
    if method != "POST" {
        c.add("channel.config.method", "must be POST");
    }
    let mut headers = Vec::new();
    for h in config.headers {
        match (h.key, h.value) {
            (Some(k), Some(v)) if !k.is_empty() => headers.push((k, v)),
            _ => c.add(
                "channel.config.headers",
                "each header needs a key and a value",
            ),
        }
    }
    let credential = if kind == "OAUTH" {
        match config.auth_type.as_deref() {
            Some("client_secret_post") => {}
            Some("private_key_jwt") => c.add(
                "channel.config.authType",
                "private_key_jwt is not supported; use client_secret_post",
            ),
            _ => c.add("channel.config.authType", "must be client_secret_post"),
        }
        let client_id = c
            .require("channel.config.clientId", config.client_id.as_deref())
            .unwrap_or_default()
            .to_owned();
        let token_url = endpoint(
            &mut c,
            "channel.config.tokenUrl",
            config.token_url.as_deref(),
        );
        Credential::OAuth {
            config: OAuthConfig {
                auth_type: "client_secret_post".into(),
                client_id,
                token_url,
                scope: config.scope.filter(|s| !s.is_empty()),
            },
            secret: config.client_secret,
        }
    } else {
        match config.auth_scheme {
            None => Credential::None,
            Some(a) => {
                if a.kind.as_deref() != Some("HEADER") {
                    c.add("channel.config.authScheme.type", "must be HEADER");
                }
                let key = c
                    .require("channel.config.authScheme.key", a.key.as_deref())
                    .unwrap_or_default()
                    .to_owned();
                Credential::Header {
                    key,
                    value: a.value,
                }
            }
        }
    };
    for (field, uri) in endpoints {
        if let Err(refused) = state.hooks.policy().check_url_resolving(&uri).await {
            c.add(field, refused);
        }
    }
    c.finish()?;
    Ok(Valid {
        name,
        version: input.version.unwrap_or_else(|| "1.0.0".into()),
        uri,
        method,
        headers,
        credential,
    })
}

fn render(org: &str, h: &inline_hook::Model) -> Result<Value, ApiError> {
    let headers: Value = stored(&h.headers)?;
    let mut config = json!({ "uri": h.uri, "method": h.method, "headers": headers });
    // Secrets are write-only, as in Okta.
    if let Some(key) = &h.auth_key {
        config["authScheme"] = json!({ "type": "HEADER", "key": key });
    }
    let mut channel_type = "HTTP";
    if let Some(oauth) = &h.oauth {
        let oauth: Value = stored(oauth)?;
        for (k, v) in oauth.as_object().into_iter().flatten() {
            config[k] = v.clone();
        }
        channel_type = "OAUTH";
    }
    let me = format!("{org}/api/v1/inlineHooks/{}", h.id);
    let lifecycle = if h.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    Ok(json!({
        "id": h.id,
        "status": h.status,
        "name": h.name,
        "type": h.hook_type,
        "version": h.version,
        "channel": { "type": channel_type, "version": "1.0.0", "config": config },
        "created": ts(h.created),
        "lastUpdated": ts(h.last_updated),
        "_links": {
            "self": hinted(me.clone(), &["GET", "PUT", "DELETE"]),
            lifecycle: hinted(format!("{me}/lifecycle/{lifecycle}"), &["POST"]),
            "execute": hinted(format!("{me}/execute"), &["POST"]),
        },
    }))
}

async fn find(state: &AppState, admin: &Admin, id: &str) -> Result<inline_hook::Model, ApiError> {
    repo::find::<inline_hook::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(id, "InlineHook"))
}

fn headers_text(headers: &[(String, String)]) -> String {
    to_text(
        &headers
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect::<Vec<_>>(),
    )
}

/// The sealed credential: `(key, sealed value, master key id)`.
fn seal(
    state: &AppState,
    tenant: &str,
    hook_id: &str,
    value: &str,
) -> Result<(String, String), ApiError> {
    let sealed = state
        .master_key
        .seal(
            value.as_bytes(),
            &tessera_jose::inline_hook_context(tenant, hook_id),
            state.random.as_ref(),
        )
        .map_err(ApiError::internal)?;
    Ok((sealed, state.master_key.id().to_owned()))
}

/// The credential columns of a hook row.
struct StoredCredential {
    auth_key: Option<String>,
    oauth: Option<String>,
    sealed: Option<String>,
    master_key_id: Option<String>,
}

/// Seals a new secret, or keeps `previous`'s when none is given for the same header or client.
fn store_credential(
    state: &AppState,
    tenant: &str,
    hook_id: &str,
    credential: Credential,
    previous: Option<&inline_hook::Model>,
) -> Result<StoredCredential, ApiError> {
    let (auth_key, oauth, secret, same, field) = match credential {
        Credential::None => {
            return Ok(StoredCredential {
                auth_key: None,
                oauth: None,
                sealed: None,
                master_key_id: None,
            });
        }
        Credential::Header { key, value } => {
            let same = previous.is_some_and(|p| p.auth_key.as_deref() == Some(key.as_str()));
            (
                Some(key),
                None,
                value,
                same,
                "channel.config.authScheme.value",
            )
        }
        Credential::OAuth { config, secret } => {
            let same = previous
                .and_then(|p| p.oauth.as_deref())
                .and_then(|o| serde_json::from_str::<OAuthConfig>(o).ok())
                .is_some_and(|o| o.client_id == config.client_id);
            (
                None,
                Some(to_text(&config)),
                secret,
                same,
                "channel.config.clientSecret",
            )
        }
    };
    let (sealed, master_key_id) = match (secret, previous) {
        (Some(value), _) => {
            let (s, k) = seal(state, tenant, hook_id, &value)?;
            (Some(s), Some(k))
        }
        (None, Some(p)) if same => (p.auth_value_sealed.clone(), p.master_key_id.clone()),
        (None, _) => {
            return Err(ApiError::invalid(field, "The field cannot be left blank"));
        }
    };
    Ok(StoredCredential {
        auth_key,
        oauth,
        sealed,
        master_key_id,
    })
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
    kind: web::Query<TypeFilter>,
) -> Result<HttpResponse, ApiError> {
    let mut cond = Condition::all();
    if let Some(t) = &kind.kind {
        cond = cond.add(inline_hook::Column::HookType.eq(t));
    }
    let org = admin.tenant.org_url.clone();
    paged::<inline_hook::Entity>(&state, &admin, &req, &q, PageSize::STANDARD, cond, |h| {
        render(&org, h)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct TypeFilter {
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<HookInput>,
) -> Result<HttpResponse, ApiError> {
    let v = validate(&state, body.into_inner(), None).await?;
    let t = &admin.tenant.id;
    let id = state.new_id(IdKind::InlineHook);
    let stored = store_credential(&state, t, &id, v.credential, None)?;
    let now = state.now_ms();
    let txn = state.begin().await?;
    let row = repo::insert::<inline_hook::Entity>(
        &txn,
        inline_hook::Model {
            seq: 0,
            tenant_id: t.clone(),
            id: id.clone(),
            name: v.name,
            hook_type: TOKEN_HOOK_TYPE.into(),
            version: v.version,
            status: "ACTIVE".into(),
            uri: v.uri,
            method: v.method,
            headers: headers_text(&v.headers),
            auth_key: stored.auth_key,
            oauth: stored.oauth,
            auth_value_sealed: stored.sealed,
            master_key_id: stored.master_key_id,
            created: now,
            last_updated: now,
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("inlineHook", &id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let h = find(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &h)?))
}

/// `PUT`: replaces the hook. Without `authScheme.value` (or `clientSecret`) the stored secret is
/// kept when the header name (or client id) is unchanged.
async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<HookInput>,
) -> Result<HttpResponse, ApiError> {
    let h = find(&state, &admin, &path.1).await?;
    let v = validate(&state, body.into_inner(), Some(&h.hook_type)).await?;
    let t = &admin.tenant.id;
    let stored = store_credential(&state, t, &h.id, v.credential, Some(&h))?;
    let txn = state.begin().await?;
    let row = repo::update::<inline_hook::Entity>(
        &txn,
        inline_hook::Model {
            name: v.name,
            version: v.version,
            uri: v.uri,
            method: v.method,
            headers: headers_text(&v.headers),
            auth_key: stored.auth_key,
            oauth: stored.oauth,
            auth_value_sealed: stored.sealed,
            master_key_id: stored.master_key_id,
            last_updated: state.now_ms(),
            ..h
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("inlineHook", &row.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

async fn lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let status = match path.2.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        _ => return Err(ApiError::not_found(&path.2, "Lifecycle")),
    };
    let h = find(&state, &admin, &path.1).await?;
    let txn = state.begin().await?;
    let row = repo::update::<inline_hook::Entity>(
        &txn,
        inline_hook::Model {
            status: status.into(),
            last_updated: state.now_ms(),
            ..h
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("inlineHook", &row.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

/// `DELETE`: only an INACTIVE hook that no policy rule names.
async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let h = find(&state, &admin, &path.1).await?;
    if h.status == "ACTIVE" {
        return Err(ApiError::invalid(
            "status",
            "An ACTIVE inline hook cannot be deleted; deactivate it first.",
        ));
    }
    let t = &admin.tenant.id;
    let rules = repo::all::<policy_rule::Entity>(&state.db, t, Condition::all()).await?;
    let used_by = rules.iter().find(|r| {
        serde_json::from_str::<Value>(&r.actions)
            .is_ok_and(|a| a["token"]["inlineHook"]["id"].as_str() == Some(h.id.as_str()))
    });
    if let Some(rule) = used_by {
        return Err(ApiError::invalid(
            "id",
            format!(
                "The inline hook is used by policy rule '{}'; remove it from the rule first.",
                rule.id
            ),
        ));
    }
    let txn = state.begin().await?;
    repo::delete_where::<inline_hook::Entity>(&txn, t, inline_hook::Column::Id.eq(&h.id)).await?;
    admin
        .commit(&state, txn, Change::tenant_wide("inlineHook", &h.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST …/execute`: calls the hook with the request body and returns its answer, so an admin
/// can check a hook before a rule uses it.
async fn execute(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let h = find(&state, &admin, &path.1).await?;
    let snapshot = state
        .hot
        .tenant(&admin.tenant.name)
        .await
        .map_err(ApiError::internal)?
        .and_then(|t| t.hooks.get(&h.id).cloned())
        .ok_or_else(|| ApiError::not_found(&h.id, "InlineHook"))?;
    match state.hooks.call(&snapshot, &body).await {
        Ok(answer) => Ok(HttpResponse::Ok().json(answer)),
        Err(e) => Err(ApiError::invalid(
            "channel.config.uri",
            format!("The inline hook call failed: {e}"),
        )),
    }
}
