//! OIDC applications (Okta's Applications API): CRUD and lifecycle, client secrets (at most two,
//! each stored as a salted hash and, unless `client_secrets = "hashed"`, sealed so that it can be
//! shown as Okta shows it), client JWKS, and user and group assignments.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::config::{OAuthCredentials, OAuthSettings, RefreshSettings};
use tessera_domain::ids::IdKind;
use tessera_domain::secrets::{SecretHash, lookup_digest, new_client_secret};
use tessera_domain::validate;
use tessera_ephemeral::revocation::Subject;
use tessera_store::entities::{
    app, app_group, app_jwk, app_secret, app_user, consent, group, refresh_token,
};
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, href, page_response, paged, stored, to_text, ts};

pub fn routes(api: &mut Api) {
    let apps = Guard::of(Resource::Apps);
    let app = apps.on_app("id");
    let assignments = Guard::of(Resource::AppAssignments).on_app("id");
    api.get("/apps", apps, list)
        .post("/apps", apps, create)
        .get("/apps/{id}", apps, get)
        .put("/apps/{id}", app, replace)
        .delete("/apps/{id}", app, delete)
        .post("/apps/{id}/lifecycle/{action}", app, lifecycle)
        .get("/apps/{id}/credentials/secrets", apps, list_secrets)
        .post("/apps/{id}/credentials/secrets", app, create_secret)
        .get("/apps/{id}/credentials/secrets/{sid}", apps, get_secret)
        .delete("/apps/{id}/credentials/secrets/{sid}", app, delete_secret)
        .post(
            "/apps/{id}/credentials/secrets/{sid}/lifecycle/{action}",
            app,
            secret_lifecycle,
        )
        .get("/apps/{id}/credentials/jwks", apps, list_jwks)
        .post("/apps/{id}/credentials/jwks", app, create_jwk)
        .get("/apps/{id}/credentials/jwks/{kid}", apps, get_jwk)
        .delete("/apps/{id}/credentials/jwks/{kid}", app, delete_jwk)
        .post(
            "/apps/{id}/credentials/jwks/{kid}/lifecycle/{action}",
            app,
            jwk_lifecycle,
        )
        .get("/apps/{id}/users", assignments, list_users)
        .post("/apps/{id}/users", assignments, assign_user)
        .get("/apps/{id}/users/{userId}", assignments, get_user)
        .post(
            "/apps/{id}/users/{userId}",
            assignments.on_user("userId"),
            update_user,
        )
        .delete(
            "/apps/{id}/users/{userId}",
            assignments.on_user("userId"),
            unassign_user,
        )
        .get("/apps/{id}/groups", assignments, list_groups)
        .get("/apps/{id}/groups/{groupId}", assignments, get_group)
        .put("/apps/{id}/groups/{groupId}", assignments, assign_group)
        .delete("/apps/{id}/groups/{groupId}", assignments, unassign_group)
        .get("/groups/{id}/apps", apps, apps_of_group);
}

const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];
const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SAML2_BEARER: &str = "urn:ietf:params:oauth:grant-type:saml2-bearer";
const CIBA: &str = "urn:openid:params:grant-type:ciba";

/// Grant types each application type may use (§5).
fn allowed_grants(application_type: &str) -> &'static [&'static str] {
    match application_type {
        // Okta allows refresh tokens for single-page apps, rotated on every use.
        "browser" => &[
            "authorization_code",
            "implicit",
            "refresh_token",
            "interaction_code",
        ],
        "native" => &[
            "authorization_code",
            "implicit",
            "password",
            "refresh_token",
            DEVICE_CODE,
            TOKEN_EXCHANGE,
            JWT_BEARER,
            SAML2_BEARER,
            "interaction_code",
        ],
        "web" => &[
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            SAML2_BEARER,
            CIBA,
            TOKEN_EXCHANGE,
            JWT_BEARER,
            "interaction_code",
        ],
        // Okta's own SDK test utilities create a service app with `implicit` and
        // `authorization_code` beside `client_credentials`, and Okta accepts it.
        "service" => &[
            "client_credentials",
            "authorization_code",
            "implicit",
            TOKEN_EXCHANGE,
        ],
        _ => &[],
    }
}

fn uses_secret(method: &str) -> bool {
    matches!(
        method,
        "client_secret_basic" | "client_secret_post" | "client_secret_jwt"
    )
}

// ------------------------------------------------------------------ wire types

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppInput {
    name: Option<String>,
    label: Option<String>,
    sign_on_mode: Option<String>,
    credentials: Option<CredentialsInput>,
    settings: Option<SettingsInput>,
    profile: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsInput {
    oauth_client: Option<OAuthCredentials>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsInput {
    oauth_client: Option<OAuthSettings>,
}

// ------------------------------------------------------------------ validation

/// What a valid create or replace produces.
struct ValidApp {
    label: String,
    client_id: String,
    credentials: OAuthCredentials,
    settings: OAuthSettings,
    profile: Map<String, Value>,
    /// Public keys given inline in `settings.oauthClient.jwks`, validated.
    jwks: Option<Vec<Value>>,
    secret: Option<String>,
}

/// Checks a public JWK: RSA or EC, no private members, a usable `use`.
fn check_jwk(c: &mut Causes, field: &str, key: &Value) {
    if let Err(refusal) = tessera_jose::jwk::check_public(key) {
        c.add(field, refusal);
    }
}

async fn validate_app(
    state: &AppState,
    admin: &Admin,
    input: AppInput,
    existing: Option<(&app::Model, &OAuthCredentials, &OAuthSettings)>,
) -> Result<ValidApp, ApiError> {
    let t = &admin.tenant.id;
    let mut c = Causes::new();
    match input.sign_on_mode.as_deref() {
        Some("OPENID_CONNECT") => {}
        None if existing.is_some() => {}
        None => c.add("signOnMode", "The field cannot be left blank"),
        Some(_) => c.add(
            "signOnMode",
            "Only OPENID_CONNECT applications are supported",
        ),
    }
    if input.name.as_deref().is_some_and(|n| n != "oidc_client") {
        c.add(
            "name",
            "must be oidc_client for OPENID_CONNECT applications",
        );
    }
    let label = c
        .require("label", input.label.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !label.is_empty() {
        c.check("label", validate::length(&label, 1, 100));
    }
    let mut creds = input
        .credentials
        .and_then(|x| x.oauth_client)
        .unwrap_or_default();
    let settings_in = input.settings.and_then(|x| x.oauth_client);
    let mut settings = match (settings_in, existing) {
        (Some(s), _) => s,
        (None, Some((_, _, s))) => s.clone(),
        (None, None) => {
            c.add("settings.oauthClient", "The field cannot be left blank");
            OAuthSettings::default()
        }
    };
    // application_type is fixed at creation.
    let app_type = match existing {
        Some((_, _, old)) => {
            if settings
                .application_type
                .as_ref()
                .is_some_and(|a| Some(a) != old.application_type.as_ref())
            {
                c.add(
                    "settings.oauthClient.application_type",
                    "cannot be changed after the application is created",
                );
            }
            old.application_type.clone().unwrap_or_default()
        }
        None => settings.application_type.clone().unwrap_or_default(),
    };
    settings.application_type = Some(app_type.clone());
    if !matches!(app_type.as_str(), "browser" | "native" | "web" | "service") {
        c.add(
            "settings.oauthClient.application_type",
            "must be one of browser, native, web, service",
        );
    }
    // Grant types.
    if settings.grant_types.is_empty() {
        settings.grant_types = vec![
            if app_type == "service" {
                "client_credentials"
            } else {
                "authorization_code"
            }
            .into(),
        ];
    }
    let allowed = allowed_grants(&app_type);
    for g in &settings.grant_types {
        if !allowed.contains(&g.as_str()) {
            c.add(
                "settings.oauthClient.grant_types",
                format!("'{g}' is not allowed for application_type '{app_type}'"),
            );
        }
    }
    let has = |g: &str| settings.grant_types.iter().any(|x| x == g);
    if app_type == "web" && !has("authorization_code") {
        c.add(
            "settings.oauthClient.grant_types",
            "A web application must use authorization_code",
        );
    }
    if app_type == "native" && !(has("authorization_code") || has("password") || has(DEVICE_CODE)) {
        c.add(
            "settings.oauthClient.grant_types",
            "A native application must use authorization_code, password or the device grant",
        );
    }
    let redirect_flow = has("authorization_code") || has("implicit");
    // Response types.
    if settings.response_types.is_empty() && redirect_flow {
        settings.response_types = if has("authorization_code") {
            vec!["code".into()]
        } else {
            vec!["token".into(), "id_token".into()]
        };
    }
    for r in &settings.response_types {
        if !matches!(r.as_str(), "code" | "token" | "id_token") {
            c.add(
                "settings.oauthClient.response_types",
                format!("'{r}' is not a response type"),
            );
        }
    }
    let has_rt = |r: &str| settings.response_types.iter().any(|x| x == r);
    if has_rt("code") && !has("authorization_code") {
        c.add(
            "settings.oauthClient.response_types",
            "code requires the authorization_code grant type",
        );
    }
    // Okta's documented service app lists `token` beside `client_credentials` (the grant
    // answers with a token); from /authorize, `token` and `id_token` need the implicit grant.
    if has_rt("token") && !(has("implicit") || has("client_credentials")) {
        c.add(
            "settings.oauthClient.response_types",
            "token requires the implicit or the client_credentials grant type",
        );
    }
    if has_rt("id_token") && !has("implicit") {
        c.add(
            "settings.oauthClient.response_types",
            "id_token requires the implicit grant type",
        );
    }
    // URIs.
    if redirect_flow && settings.redirect_uris.is_empty() {
        c.add(
            "settings.oauthClient.redirect_uris",
            "The field cannot be left blank",
        );
    }
    let wildcard = settings
        .wildcard_redirect
        .clone()
        .unwrap_or_else(|| "DISABLED".into());
    for uri in &settings.redirect_uris {
        if wildcard == "SUBDOMAIN" && uri.contains('*') {
            let ok = uri.starts_with("https://") && uri.matches('*').count() == 1 && {
                let host = uri
                    .trim_start_matches("https://")
                    .split(['/', ':'])
                    .next()
                    .unwrap_or_default();
                host.split('.').next().is_some_and(|l| l.contains('*'))
                    && host.split('.').count() >= 3
            };
            if !ok {
                c.add(
                    "settings.oauthClient.redirect_uris",
                    format!(
                        "'{uri}': a wildcard must be in the lowest-level label of an https host"
                    ),
                );
            }
        } else {
            c.check(
                "settings.oauthClient.redirect_uris",
                validate::redirect_uri(uri),
            );
        }
    }
    if !matches!(wildcard.as_str(), "DISABLED" | "SUBDOMAIN") {
        c.add(
            "settings.oauthClient.wildcard_redirect",
            "must be DISABLED or SUBDOMAIN",
        );
    }
    settings.wildcard_redirect = Some(wildcard);
    for uri in &settings.post_logout_redirect_uris {
        c.check(
            "settings.oauthClient.post_logout_redirect_uris",
            validate::redirect_uri(uri),
        );
    }
    for (field, value) in [
        ("initiate_login_uri", &settings.initiate_login_uri),
        ("client_uri", &settings.client_uri),
        ("logo_uri", &settings.logo_uri),
        ("policy_uri", &settings.policy_uri),
        ("tos_uri", &settings.tos_uri),
        ("frontchannel_logout_uri", &settings.frontchannel_logout_uri),
    ] {
        if let Some(v) = value {
            c.check(
                &format!("settings.oauthClient.{field}"),
                validate::http_url(v),
            );
        }
    }
    let consent = settings
        .consent_method
        .clone()
        .unwrap_or_else(|| "TRUSTED".into());
    if !matches!(consent.as_str(), "TRUSTED" | "REQUIRED") {
        c.add(
            "settings.oauthClient.consent_method",
            "must be TRUSTED or REQUIRED",
        );
    }
    settings.consent_method = Some(consent);
    let issuer_mode = settings
        .issuer_mode
        .clone()
        .unwrap_or_else(|| "ORG_URL".into());
    if !matches!(issuer_mode.as_str(), "ORG_URL" | "CUSTOM_URL" | "DYNAMIC") {
        c.add(
            "settings.oauthClient.issuer_mode",
            "must be one of ORG_URL, CUSTOM_URL, DYNAMIC",
        );
    }
    settings.issuer_mode = Some(issuer_mode);
    if let Some(rt) = &mut settings.refresh_token {
        let rotation = rt.rotation_type.clone().unwrap_or_else(|| "ROTATE".into());
        if !matches!(rotation.as_str(), "ROTATE" | "STATIC") {
            c.add(
                "settings.oauthClient.refresh_token.rotation_type",
                "must be ROTATE or STATIC",
            );
        }
        let leeway = rt.leeway.unwrap_or(30);
        if !(0..=60).contains(&leeway) {
            c.add(
                "settings.oauthClient.refresh_token.leeway",
                "must be between 0 and 60",
            );
        }
        *rt = RefreshSettings {
            rotation_type: Some(rotation),
            leeway: Some(leeway),
        };
    } else if has("refresh_token") {
        settings.refresh_token = Some(RefreshSettings {
            rotation_type: Some("ROTATE".into()),
            leeway: Some(30),
        });
    }
    // Tokens from /authorize's implicit responses cannot be bound: no proof comes with them.
    if settings.dpop_bound_access_tokens && has("implicit") {
        c.add(
            "settings.oauthClient.dpop_bound_access_tokens",
            "DPoP-bound tokens cannot be used with implicit",
        );
    }
    // Client JWKS.
    let jwks = settings.jwks.take().map(|j| j.keys);
    if let Some(keys) = &jwks {
        for k in keys {
            check_jwk(&mut c, "settings.oauthClient.jwks", k);
        }
        let kids: Vec<_> = keys
            .iter()
            .filter_map(|k| k.get("kid").and_then(Value::as_str))
            .collect();
        if keys.len() > 1 && kids.len() != keys.len() {
            c.add(
                "settings.oauthClient.jwks",
                "Every key needs a kid when more than one key is given",
            );
        }
        if kids.iter().enumerate().any(|(i, k)| kids[..i].contains(k)) {
            c.add("settings.oauthClient.jwks", "Key ids (kid) must be unique");
        }
    }
    if let Some(uri) = &settings.jwks_uri {
        // Fetched through the outbound guard, so held to it when saved (https, no internal
        // address; loopback only where the deployment allows it).
        if let Err(refused) = state.hooks.policy().check_url(uri) {
            c.add(
                "settings.oauthClient.jwks_uri",
                format!("must be an https URL Tessera may call: {refused}"),
            );
        }
        if jwks.as_ref().is_some_and(|k| !k.is_empty()) {
            c.add(
                "settings.oauthClient.jwks_uri",
                "jwks and jwks_uri cannot both be set",
            );
        }
    }
    // Credentials.
    let old_creds = existing.map(|(_, cr, _)| cr);
    let method = creds
        .token_endpoint_auth_method
        .clone()
        .or_else(|| old_creds.and_then(|o| o.token_endpoint_auth_method.clone()))
        .unwrap_or_else(|| {
            if app_type == "browser" {
                "none".into()
            } else {
                "client_secret_basic".into()
            }
        });
    if !AUTH_METHODS.contains(&method.as_str()) {
        c.add(
            "credentials.oauthClient.token_endpoint_auth_method",
            format!("must be one of {}", AUTH_METHODS.join(", ")),
        );
    }
    if method == "none"
        && settings
            .refresh_token
            .as_ref()
            .is_some_and(|r| r.rotation_type.as_deref() == Some("STATIC"))
    {
        // A public client cannot keep a refresh token secret: each must be used once (Okta
        // offers only rotation for single-page apps; RFC 9700 §4.14.2).
        c.add(
            "settings.oauthClient.refresh_token.rotation_type",
            "A public client must rotate refresh tokens (ROTATE)",
        );
    }
    if app_type == "browser" && method != "none" {
        c.add(
            "credentials.oauthClient.token_endpoint_auth_method",
            "A browser application must use none",
        );
    }
    if app_type == "service" && method == "none" {
        c.add(
            "credentials.oauthClient.token_endpoint_auth_method",
            "A service application must authenticate",
        );
    }
    let pkce_default = matches!(app_type.as_str(), "browser" | "native") || method == "none";
    let pkce = creds
        .pkce_required
        .or_else(|| old_creds.and_then(|o| o.pkce_required))
        .unwrap_or(pkce_default);
    if method == "none" && !pkce {
        c.add(
            "credentials.oauthClient.pkce_required",
            "must be true when token_endpoint_auth_method is none",
        );
    }
    let existing_has_keys = match existing {
        Some((a, _, _)) => {
            repo::count::<app_jwk::Entity>(&state.db, t, app_jwk::Column::AppId.eq(&a.id)).await?
                > 0
        }
        None => false,
    };
    if method == "private_key_jwt"
        && settings.jwks_uri.is_none()
        && jwks.as_ref().is_none_or(Vec::is_empty)
        && !existing_has_keys
    {
        c.add(
            "settings.oauthClient.jwks",
            "private_key_jwt requires jwks or jwks_uri",
        );
    }
    let secret = match (&creds.client_secret, existing) {
        (Some(given), Some((a, _, _))) => {
            // A client replacing the app with the body it read back (Okta's SDKs do) sends the
            // current secret, which changes nothing; a different one would be a rotation, which
            // has its own endpoint. Each comparison is constant-time.
            let current = repo::all::<app_secret::Entity>(
                &state.db,
                t,
                Condition::all()
                    .add(app_secret::Column::AppId.eq(&a.id))
                    .add(app_secret::Column::Status.eq("ACTIVE")),
            )
            .await?;
            let unchanged = current.iter().any(|s| {
                SecretHash {
                    salt: s.salt.clone(),
                    digest: s.digest.clone(),
                }
                .verify(given)
            });
            if !unchanged {
                c.add(
                    "credentials.oauthClient.client_secret",
                    "Rotate client secrets through /credentials/secrets",
                );
            }
            None
        }
        (Some(s), None) => {
            if !uses_secret(&method) {
                c.add(
                    "credentials.oauthClient.client_secret",
                    format!("is not used with {method}"),
                );
            }
            let min = if method == "client_secret_jwt" {
                32
            } else {
                14
            };
            c.check(
                "credentials.oauthClient.client_secret",
                validate::length(s, min, 100),
            );
            Some(s.clone())
        }
        (None, None) if uses_secret(&method) => Some(new_client_secret(state.random.as_ref())),
        (None, _) => None,
    };
    // client_id: immutable; on create optional, 6–100 characters, unique in the tenant.
    let client_id = match existing {
        Some((a, _, _)) => {
            if creds
                .client_id
                .as_ref()
                .is_some_and(|id| *id != a.client_id)
            {
                c.add("credentials.oauthClient.client_id", "cannot be changed");
            }
            a.client_id.clone()
        }
        None => match &creds.client_id {
            Some(id) => {
                let ok_chars = id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                if !(6..=100).contains(&id.len()) || !ok_chars {
                    c.add(
                        "credentials.oauthClient.client_id",
                        "must be 6 to 100 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'",
                    );
                } else if repo::find_by::<app::Entity>(
                    &state.db,
                    t,
                    app::Column::ClientId.eq(id.as_str()),
                )
                .await?
                .is_some()
                {
                    c.add(
                        "credentials.oauthClient.client_id",
                        "An object with this field already exists in the current organization",
                    );
                }
                id.clone()
            }
            None => String::new(),
        },
    };
    c.finish()?;
    creds.token_endpoint_auth_method = Some(method);
    creds.pkce_required = Some(pkce);
    creds.auto_key_rotation = Some(
        creds
            .auto_key_rotation
            .or_else(|| old_creds.and_then(|o| o.auto_key_rotation))
            .unwrap_or(true),
    );
    creds.client_id = None;
    creds.client_secret = None;
    let profile = match (input.profile, existing) {
        (Some(p), _) => p,
        (None, Some((a, _, _))) => stored(&a.profile)?,
        (None, None) => Map::new(),
    };
    Ok(ValidApp {
        label,
        client_id,
        credentials: creds,
        settings,
        profile,
        jwks,
        secret,
    })
}

// ------------------------------------------------------------------ rendering

pub(crate) async fn render(
    state: &AppState,
    org: &str,
    a: &app::Model,
    secret: Option<&str>,
) -> Result<Value, ApiError> {
    let creds: OAuthCredentials = stored(&a.credentials)?;
    let settings: OAuthSettings = stored(&a.settings)?;
    let keys =
        repo::all::<app_jwk::Entity>(&state.db, &a.tenant_id, app_jwk::Column::AppId.eq(&a.id))
            .await?;
    let mut oauth_client = json!({
        "client_id": a.client_id,
        "token_endpoint_auth_method": creds.token_endpoint_auth_method,
        "autoKeyRotation": creds.auto_key_rotation,
        "pkce_required": creds.pkce_required,
    });
    let secret = match secret {
        Some(s) => Some(s.to_owned()),
        None if secrets_shown(state) => newest_active_secret(state, a).await?,
        None => None,
    };
    if let Some(s) = secret {
        oauth_client["client_secret"] = json!(s);
    }
    let mut settings_client = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    if !keys.is_empty() {
        let public: Vec<Value> = keys
            .iter()
            .filter(|k| k.status == "ACTIVE")
            .map(|k| stored::<Value>(&k.jwk))
            .collect::<Result<_, _>>()?;
        settings_client["jwks"] = json!({ "keys": public });
    }
    let base = format!("{org}/api/v1/apps/{}", a.id);
    let lifecycle = if a.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    let profile: Value = stored(&a.profile)?;
    Ok(json!({
        "id": a.id,
        "name": a.name,
        "label": a.label,
        "status": a.status,
        "created": ts(a.created),
        "lastUpdated": ts(a.last_updated),
        "signOnMode": a.sign_on_mode,
        "features": [],
        "visibility": { "autoSubmitToolbar": false, "hide": { "iOS": true, "web": true } },
        "accessibility": { "selfService": false },
        "credentials": {
            "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
            "oauthClient": oauth_client,
        },
        "settings": { "app": {}, "oauthClient": settings_client },
        "profile": profile,
        "_links": {
            "self": href(base.clone()),
            "appLinks": [],
            "users": href(format!("{base}/users")),
            "groups": href(format!("{base}/groups")),
            "secrets": href(format!("{base}/credentials/secrets")),
            lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]),
        },
    }))
}

// ------------------------------------------------------------------ apps

#[derive(Debug, Default, Deserialize)]
struct CreateParams {
    activate: Option<bool>,
}

/// Whether this deployment shows client secrets as Okta does (`client_secrets = "sealed"`).
fn secrets_shown(state: &AppState) -> bool {
    state.config.client_secrets == tessera_core::config::ClientSecrets::Sealed
}

/// The secret in clear, when secrets are shown and this one is sealed.
fn shown_secret(state: &AppState, s: &app_secret::Model) -> Result<Option<String>, ApiError> {
    let (true, Some(sealed), Some(key_id)) = (secrets_shown(state), &s.sealed, &s.master_key_id)
    else {
        return Ok(None);
    };
    let context = tessera_jose::client_secret_context(&s.tenant_id, &s.app_id, &s.id);
    let plain = state
        .master_keys
        .open(key_id, sealed, &context)
        .map_err(ApiError::internal)?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(ApiError::internal)
}

/// Stores a new secret: always as a salted hash (what client authentication checks), and
/// sealed with the master key too when secrets are shown or the app signs assertions with it
/// (`client_secret_jwt` verifies HMACs keyed by the secret).
async fn insert_secret(
    db: &impl ConnectionTrait,
    state: &AppState,
    app: (&str, &str, &str),
    secret: &str,
    status: &str,
) -> Result<app_secret::Model, ApiError> {
    let (tenant, app_id, method) = app;
    let hash = SecretHash::new(secret, state.random.as_ref());
    let now = state.now_ms();
    let id = state.new_id(IdKind::AppSecret);
    let sealed = if secrets_shown(state) || method == "client_secret_jwt" {
        let context = tessera_jose::client_secret_context(tenant, app_id, &id);
        Some(
            state
                .master_key
                .seal(secret.as_bytes(), &context, state.random.as_ref())
                .map_err(ApiError::internal)?,
        )
    } else {
        None
    };
    Ok(repo::insert::<app_secret::Entity>(
        db,
        app_secret::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id,
            app_id: app_id.to_owned(),
            status: status.to_owned(),
            salt: hash.salt,
            digest: hash.digest,
            secret_hash: lookup_digest(secret)[..22].to_owned(),
            master_key_id: sealed.as_ref().map(|_| state.master_key.id().to_owned()),
            sealed,
            created: now,
            last_updated: now,
        },
    )
    .await?)
}

async fn insert_jwk(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant: &str,
    app_id: &str,
    jwk: &Value,
    status: &str,
) -> Result<app_jwk::Model, ApiError> {
    let now = state.now_ms();
    Ok(repo::insert::<app_jwk::Entity>(
        db,
        app_jwk::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id: state.new_id(IdKind::AppJwk),
            app_id: app_id.to_owned(),
            kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
            status: status.to_owned(),
            key_use: jwk
                .get("use")
                .and_then(Value::as_str)
                .unwrap_or("sig")
                .to_owned(),
            jwk: to_text(jwk),
            created: now,
            last_updated: now,
        },
    )
    .await?)
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    params: web::Query<CreateParams>,
    body: web::Json<AppInput>,
) -> Result<HttpResponse, ApiError> {
    let active = params.activate.unwrap_or(true);
    let (a, secret) = create_app(&state, &admin, body.into_inner(), active).await?;
    Ok(
        HttpResponse::Ok()
            .json(render(&state, &admin.tenant.org_url, &a, secret.as_deref()).await?),
    )
}

/// Validates and stores a new app (the Apps API's create, and dynamic client registration's):
/// the stored app and its first client secret, if it has one.
pub(crate) async fn create_app(
    state: &AppState,
    admin: &Admin,
    input: AppInput,
    active: bool,
) -> Result<(app::Model, Option<String>), ApiError> {
    let v = validate_app(state, admin, input, None).await?;
    let t = &admin.tenant.id;
    let id = state.new_id(IdKind::App);
    let now = state.now_ms();
    let txn = state.begin().await?;
    let a = repo::insert::<app::Entity>(
        &txn,
        app::Model {
            seq: 0,
            tenant_id: t.clone(),
            client_id: if v.client_id.is_empty() {
                id.clone()
            } else {
                v.client_id
            },
            id,
            name: "oidc_client".into(),
            label: v.label,
            status: if active { "ACTIVE" } else { "INACTIVE" }.into(),
            sign_on_mode: "OPENID_CONNECT".into(),
            credentials: to_text(&v.credentials),
            settings: to_text(&v.settings),
            profile: to_text(&v.profile),
            created: now,
            last_updated: now,
        },
    )
    .await
    .map_err(|e| match e {
        tessera_store::StoreError::Conflict => ApiError::invalid(
            "credentials.oauthClient.client_id",
            "An object with this field already exists in the current organization",
        ),
        e => e.into(),
    })?;
    if let Some(secret) = &v.secret {
        let method = v.credentials.auth_method();
        insert_secret(&txn, state, (t, &a.id, method), secret, "ACTIVE").await?;
    }
    for k in v.jwks.unwrap_or_default() {
        insert_jwk(&txn, state, t, &a.id, &k, "ACTIVE").await?;
    }
    admin
        .commit(state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok((a, v.secret))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(render(&state, &admin.tenant.org_url, &a, None).await?))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<AppInput>,
) -> Result<HttpResponse, ApiError> {
    let existing = crate::support::app(&state, &admin, &path.1).await?;
    let a = replace_app(&state, &admin, existing, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render(&state, &admin.tenant.org_url, &a, None).await?))
}

/// Validates and stores a replacement of `existing` (the Apps API's and dynamic client
/// registration's).
pub(crate) async fn replace_app(
    state: &AppState,
    admin: &Admin,
    existing: app::Model,
    input: AppInput,
) -> Result<app::Model, ApiError> {
    let old_creds: OAuthCredentials = stored(&existing.credentials)?;
    let old_settings: OAuthSettings = stored(&existing.settings)?;
    let v = validate_app(
        state,
        admin,
        input,
        Some((&existing, &old_creds, &old_settings)),
    )
    .await?;
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    if let Some(keys) = &v.jwks {
        repo::delete_where::<app_jwk::Entity>(&txn, t, app_jwk::Column::AppId.eq(&existing.id))
            .await?;
        for k in keys {
            insert_jwk(&txn, state, t, &existing.id, k, "ACTIVE").await?;
        }
    }
    let a = repo::update::<app::Entity>(
        &txn,
        app::Model {
            label: v.label,
            credentials: to_text(&v.credentials),
            settings: to_text(&v.settings),
            profile: to_text(&v.profile),
            last_updated: state.now_ms(),
            ..existing
        },
    )
    .await?;
    admin
        .commit(state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(a)
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    if a.status == "ACTIVE" {
        return Err(ApiError::delete_active_app());
    }
    delete_app(&state, &admin, a).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes `a` with everything that hangs off it, revoking its tokens (the Apps API deletes
/// only inactive apps; dynamic client registration deletes a client at once).
pub(crate) async fn delete_app(
    state: &AppState,
    admin: &Admin,
    a: app::Model,
) -> Result<(), ApiError> {
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    crate::support::revoke_tokens(state, &txn, &admin.tenant.id, Subject::Client(&a.client_id))
        .await?;
    repo::delete_where::<app_secret::Entity>(&txn, t, app_secret::Column::AppId.eq(&a.id)).await?;
    repo::delete_where::<app_jwk::Entity>(&txn, t, app_jwk::Column::AppId.eq(&a.id)).await?;
    repo::delete_where::<app_user::Entity>(&txn, t, app_user::Column::AppId.eq(&a.id)).await?;
    repo::delete_where::<app_group::Entity>(&txn, t, app_group::Column::AppId.eq(&a.id)).await?;
    repo::delete_where::<refresh_token::Entity>(
        &txn,
        t,
        refresh_token::Column::ClientId.eq(&a.client_id),
    )
    .await?;
    repo::delete_where::<consent::Entity>(&txn, t, consent::Column::ClientId.eq(&a.client_id))
        .await?;
    repo::delete_where::<app::Entity>(&txn, t, app::Column::Id.eq(&a.id)).await?;
    admin
        .commit(state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(())
}

async fn lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let status = match path.2.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "ApplicationLifecycleOperation")),
    };
    if a.status != status {
        let txn = state.begin().await?;
        if status == "INACTIVE" {
            crate::support::revoke_tokens(
                &state,
                &txn,
                &admin.tenant.id,
                Subject::Client(&a.client_id),
            )
            .await?;
        }
        let id = a.id.clone();
        repo::update::<app::Entity>(
            &txn,
            app::Model {
                status: status.into(),
                last_updated: state.now_ms(),
                ..a
            },
        )
        .await?;
        admin
            .commit(&state, txn, Change::app("app", &id, &id))
            .await?;
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// The apps list's `filter`, as Okta has it: `eq` comparisons on `status`, `name`,
/// `credentials.oauthClient.client_id`, `user.id` (apps the user is assigned to) and `group.id`
/// (apps the group is assigned to), joined by `and`.
async fn filter_condition(
    state: &AppState,
    tenant: &str,
    text: &str,
) -> Result<Condition, ApiError> {
    use tessera_domain::scim::{Filter, Op};
    let bad = |why: &str| ApiError::invalid("filter", format!("Invalid search criteria: {why}"));
    let parsed = crate::users::parse_search("filter", text)?;
    let mut terms = vec![&parsed];
    let mut cond = Condition::all();
    while let Some(term) = terms.pop() {
        let (path, value) = match term {
            Filter::And(a, b) => {
                terms.push(a);
                terms.push(b);
                continue;
            }
            Filter::Compare {
                path,
                op: Op::Eq,
                value,
            } => (path.join("."), value.clone()),
            _ => return Err(bad("the apps filter joins `eq` comparisons with `and`")),
        };
        cond = cond.add(match path.as_str() {
            "status" => app::Column::Status.eq(value),
            "name" => app::Column::Name.eq(value),
            "credentials.oauthClient.client_id" => app::Column::ClientId.eq(value),
            "user.id" => {
                let rows = repo::all::<app_user::Entity>(
                    &state.db,
                    tenant,
                    app_user::Column::UserId.eq(&value),
                )
                .await?;
                app::Column::Id.is_in(rows.into_iter().map(|r| r.app_id))
            }
            "group.id" => {
                let rows = repo::all::<app_group::Entity>(
                    &state.db,
                    tenant,
                    app_group::Column::GroupId.eq(&value),
                )
                .await?;
                app::Column::Id.is_in(rows.into_iter().map(|r| r.app_id))
            }
            other => return Err(bad(&format!("'{other}' cannot be filtered on"))),
        });
    }
    Ok(cond)
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut cond = Condition::all();
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(
            Condition::any()
                .add(tessera_store::text::starts_with(app::Column::Label, term))
                .add(tessera_store::text::starts_with(app::Column::Name, term)),
        );
    }
    if let Some(filter) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        cond = cond.add(filter_condition(&state, &admin.tenant.id, filter).await?);
    }
    let limit = q.limit_in(PageSize::STANDARD)?;
    let page =
        repo::page::<app::Entity>(&state.db, &admin.tenant.id, cond, q.after()?, limit).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for a in &page.items {
        items.push(render(&state, &admin.tenant.org_url, a, None).await?);
    }
    Ok(crate::support::list_response(
        &admin,
        &req,
        items,
        page.next_after,
    ))
}

// ------------------------------------------------------------------ client secrets

#[derive(Debug, Default, Deserialize)]
struct SecretInput {
    client_secret: Option<String>,
    status: Option<String>,
}

/// A secret as Okta shows it; `plain` is the secret just created (always shown once), else the
/// stored one is shown when this deployment shows secrets.
fn render_secret(
    state: &AppState,
    org: &str,
    a: &app::Model,
    s: &app_secret::Model,
    plain: Option<&str>,
) -> Result<Value, ApiError> {
    let base = format!("{org}/api/v1/apps/{}/credentials/secrets/{}", a.id, s.id);
    let lifecycle = if s.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    let mut v = json!({
        "id": s.id,
        "status": s.status,
        "secret_hash": s.secret_hash,
        "created": ts(s.created),
        "lastUpdated": ts(s.last_updated),
        "_links": { lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]) },
    });
    if s.status == "INACTIVE" {
        v["_links"]["delete"] = hinted(base, &["DELETE"]);
    }
    let plain = match plain {
        Some(p) => Some(p.to_owned()),
        None => shown_secret(state, s)?,
    };
    if let Some(p) = plain {
        v["client_secret"] = json!(p);
    }
    Ok(v)
}

/// The app's newest `ACTIVE` secret in clear (what Okta shows as `client_secret`), if sealed.
async fn newest_active_secret(
    state: &AppState,
    a: &app::Model,
) -> Result<Option<String>, ApiError> {
    let active = repo::all::<app_secret::Entity>(
        &state.db,
        &a.tenant_id,
        Condition::all()
            .add(app_secret::Column::AppId.eq(&a.id))
            .add(app_secret::Column::Status.eq("ACTIVE")),
    )
    .await?;
    match active.last() {
        Some(s) => shown_secret(state, s),
        None => Ok(None),
    }
}

async fn secrets_of(state: &AppState, a: &app::Model) -> Result<Vec<app_secret::Model>, ApiError> {
    Ok(repo::all::<app_secret::Entity>(
        &state.db,
        &a.tenant_id,
        app_secret::Column::AppId.eq(&a.id),
    )
    .await?)
}

async fn find_secret(
    state: &AppState,
    a: &app::Model,
    sid: &str,
) -> Result<app_secret::Model, ApiError> {
    repo::find::<app_secret::Entity>(&state.db, &a.tenant_id, sid)
        .await?
        .filter(|s| s.app_id == a.id)
        .ok_or_else(|| ApiError::not_found(sid, "ClientSecret"))
}

async fn list_secrets(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let out: Vec<_> = secrets_of(&state, &a)
        .await?
        .iter()
        .map(|s| render_secret(&state, &admin.tenant.org_url, &a, s, None))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

async fn create_secret(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: Option<web::Json<SecretInput>>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let input = body.map(web::Json::into_inner).unwrap_or_default();
    let creds: OAuthCredentials = stored(&a.credentials)?;
    let method = creds.token_endpoint_auth_method.unwrap_or_default();
    let mut c = Causes::new();
    if !uses_secret(&method) {
        c.add(
            "client_secret",
            format!("Client secrets are not used with {method}"),
        );
    }
    if secrets_of(&state, &a).await?.len() >= 2 {
        c.add(
            "client_secret",
            "You can't have more than two client secrets. Delete an inactive secret first.",
        );
    }
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE") {
        c.add("status", "must be ACTIVE or INACTIVE");
    }
    if let Some(s) = &input.client_secret {
        c.check(
            "client_secret",
            validate::length(
                s,
                if method == "client_secret_jwt" {
                    32
                } else {
                    14
                },
                100,
            ),
        );
    }
    c.finish()?;
    let plain = input
        .client_secret
        .unwrap_or_else(|| new_client_secret(state.random.as_ref()));
    let txn = state.begin().await?;
    let owner = (admin.tenant.id.as_str(), a.id.as_str(), method.as_str());
    let s = insert_secret(&txn, &state, owner, &plain, &status).await?;
    admin
        .commit(&state, txn, Change::app("appSecret", &s.id, &a.id))
        .await?;
    let rendered = render_secret(&state, &admin.tenant.org_url, &a, &s, Some(&plain))?;
    Ok(HttpResponse::Created().json(rendered))
}

async fn get_secret(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let s = find_secret(&state, &a, &path.2).await?;
    Ok(HttpResponse::Ok().json(render_secret(&state, &admin.tenant.org_url, &a, &s, None)?))
}

async fn delete_secret(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let s = find_secret(&state, &a, &path.2).await?;
    if s.status == "ACTIVE" {
        return Err(ApiError::invalid(
            "status",
            "Only an INACTIVE client secret can be deleted.",
        ));
    }
    let txn = state.begin().await?;
    repo::delete_where::<app_secret::Entity>(
        &txn,
        &admin.tenant.id,
        app_secret::Column::Id.eq(&s.id),
    )
    .await?;
    admin
        .commit(&state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn secret_lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let s = find_secret(&state, &a, &path.2).await?;
    let status = match path.3.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => {
            let active = secrets_of(&state, &a)
                .await?
                .iter()
                .filter(|x| x.status == "ACTIVE")
                .count();
            if s.status == "ACTIVE" && active <= 1 {
                return Err(ApiError::invalid(
                    "status",
                    "The only active client secret cannot be deactivated.",
                ));
            }
            "INACTIVE"
        }
        other => return Err(ApiError::not_found(other, "ClientSecretLifecycleOperation")),
    };
    let txn = state.begin().await?;
    let s = repo::update::<app_secret::Entity>(
        &txn,
        app_secret::Model {
            status: status.into(),
            last_updated: state.now_ms(),
            ..s
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_secret(&state, &admin.tenant.org_url, &a, &s, None)?))
}

// ------------------------------------------------------------------ client JWKS

fn render_jwk(org: &str, a: &app::Model, k: &app_jwk::Model) -> Result<Value, ApiError> {
    let mut v: Value = stored(&k.jwk)?;
    v["id"] = json!(k.id);
    v["status"] = json!(k.status);
    v["created"] = json!(ts(k.created));
    v["lastUpdated"] = json!(ts(k.last_updated));
    let base = format!("{org}/api/v1/apps/{}/credentials/jwks/{}", a.id, k.id);
    let lifecycle = if k.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    v["_links"] = json!({ "self": href(base.clone()), lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]) });
    Ok(v)
}

async fn find_jwk(state: &AppState, a: &app::Model, id: &str) -> Result<app_jwk::Model, ApiError> {
    repo::find::<app_jwk::Entity>(&state.db, &a.tenant_id, id)
        .await?
        .filter(|k| k.app_id == a.id)
        .ok_or_else(|| ApiError::not_found(id, "JsonWebKey"))
}

async fn list_jwks(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let keys = repo::all::<app_jwk::Entity>(
        &state.db,
        &admin.tenant.id,
        app_jwk::Column::AppId.eq(&a.id),
    )
    .await?;
    let out = keys
        .iter()
        .map(|k| render_jwk(&admin.tenant.org_url, &a, k))
        .collect::<Result<Vec<_>, _>>()?;
    // Okta's `listJwk` answers `{"keys": [...]}`, not a bare array.
    Ok(HttpResponse::Ok().json(json!({ "keys": out })))
}

async fn create_jwk(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let mut input = body.into_inner();
    let status = input
        .remove("status")
        .and_then(|s| s.as_str().map(str::to_owned))
        .unwrap_or_else(|| "ACTIVE".into());
    for k in ["id", "created", "lastUpdated", "_links"] {
        input.remove(k);
    }
    let jwk = Value::Object(input);
    let mut c = Causes::new();
    check_jwk(&mut c, "jwk", &jwk);
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE") {
        c.add("status", "must be ACTIVE or INACTIVE");
    }
    let existing = repo::all::<app_jwk::Entity>(
        &state.db,
        &admin.tenant.id,
        app_jwk::Column::AppId.eq(&a.id),
    )
    .await?;
    let kid = jwk.get("kid").and_then(Value::as_str);
    if !existing.is_empty() && (kid.is_none() || existing.iter().any(|k| k.kid.is_none())) {
        c.add(
            "kid",
            "A key can't be added while keys without a kid exist; every key needs a kid",
        );
    }
    if kid.is_some_and(|kid| existing.iter().any(|k| k.kid.as_deref() == Some(kid))) {
        c.add("kid", "A key with this kid already exists");
    }
    let is_enc = jwk.get("use").and_then(Value::as_str) == Some("enc");
    if is_enc
        && status == "ACTIVE"
        && existing
            .iter()
            .any(|k| k.key_use == "enc" && k.status == "ACTIVE")
    {
        c.add("status", "Only one encryption key can be active");
    }
    c.finish()?;
    let txn = state.begin().await?;
    let k = insert_jwk(&txn, &state, &admin.tenant.id, &a.id, &jwk, &status).await?;
    admin
        .commit(&state, txn, Change::app("appJwk", &k.id, &a.id))
        .await?;
    Ok(HttpResponse::Created().json(render_jwk(&admin.tenant.org_url, &a, &k)?))
}

async fn get_jwk(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let k = find_jwk(&state, &a, &path.2).await?;
    Ok(HttpResponse::Ok().json(render_jwk(&admin.tenant.org_url, &a, &k)?))
}

async fn delete_jwk(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let k = find_jwk(&state, &a, &path.2).await?;
    if k.status == "ACTIVE" {
        return Err(ApiError::invalid(
            "status",
            "Only an INACTIVE key can be deleted.",
        ));
    }
    let txn = state.begin().await?;
    repo::delete_where::<app_jwk::Entity>(&txn, &admin.tenant.id, app_jwk::Column::Id.eq(&k.id))
        .await?;
    admin
        .commit(&state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwk_lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let k = find_jwk(&state, &a, &path.2).await?;
    let status = match path.3.as_str() {
        "activate" => {
            let others = repo::all::<app_jwk::Entity>(
                &state.db,
                &admin.tenant.id,
                app_jwk::Column::AppId.eq(&a.id),
            )
            .await?;
            if k.key_use == "enc"
                && others
                    .iter()
                    .any(|o| o.id != k.id && o.key_use == "enc" && o.status == "ACTIVE")
            {
                return Err(ApiError::invalid(
                    "status",
                    "Only one encryption key can be active",
                ));
            }
            "ACTIVE"
        }
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "JsonWebKeyLifecycleOperation")),
    };
    let txn = state.begin().await?;
    let k = repo::update::<app_jwk::Entity>(
        &txn,
        app_jwk::Model {
            status: status.into(),
            last_updated: state.now_ms(),
            ..k
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::app("app", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_jwk(&admin.tenant.org_url, &a, &k)?))
}

// ------------------------------------------------------------------ assignments

#[derive(Debug, Default, Deserialize)]
struct AppUserInput {
    id: Option<String>,
    scope: Option<String>,
    credentials: Option<AppUserCredentials>,
    profile: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppUserCredentials {
    user_name: Option<String>,
}

fn render_app_user(org: &str, au: &app_user::Model) -> Result<Value, ApiError> {
    let profile: Value = stored(&au.profile)?;
    Ok(json!({
        "id": au.user_id,
        "created": ts(au.created),
        "lastUpdated": ts(au.last_updated),
        "scope": au.scope,
        "status": "ACTIVE",
        "statusChanged": ts(au.created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": { "userName": au.user_name },
        "profile": profile,
        "_links": {
            "app": href(format!("{org}/api/v1/apps/{}", au.app_id)),
            "user": href(format!("{org}/api/v1/users/{}", au.user_id)),
        },
    }))
}

async fn find_assignment(
    state: &AppState,
    tenant: &str,
    app_id: &str,
    user_id: &str,
) -> Result<Option<app_user::Model>, ApiError> {
    Ok(repo::find_by::<app_user::Entity>(
        &state.db,
        tenant,
        Condition::all()
            .add(app_user::Column::AppId.eq(app_id))
            .add(app_user::Column::UserId.eq(user_id)),
    )
    .await?)
}

async fn list_users(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let org = admin.tenant.org_url.clone();
    let cond = Condition::all().add(app_user::Column::AppId.eq(&a.id));
    // `q`: a prefix of the user's first name, last name or email, or of the app user name.
    let Some(term) = q.q.as_deref().filter(|t| !t.trim().is_empty()) else {
        return paged::<app_user::Entity>(
            &state,
            &admin,
            &req,
            &q,
            PageSize::APP_USERS,
            cond,
            |au| render_app_user(&org, au),
        )
        .await;
    };
    let users = crate::users::ids_matching(&state, &admin.tenant.id, term).await?;
    let lower = term.to_lowercase();
    let keep = |au: &app_user::Model| {
        users.contains(&au.user_id) || au.user_name.to_lowercase().starts_with(&lower)
    };
    let page = repo::page_filtered::<app_user::Entity>(
        &state.db,
        &admin.tenant.id,
        cond,
        q.after()?,
        q.limit_in(PageSize::APP_USERS)?,
        keep,
    )
    .await?;
    page_response(&admin, &req, page, |au| render_app_user(&org, au))
}

async fn save_assignment(
    state: &AppState,
    admin: &Admin,
    a: &app::Model,
    user_id: &str,
    input: AppUserInput,
    is_update: bool,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(state, admin, user_id).await?;
    let existing = find_assignment(state, &admin.tenant.id, &a.id, &u.id).await?;
    if is_update && existing.is_none() {
        return Err(ApiError::not_found(user_id, "AppUser"));
    }
    let mut c = Causes::new();
    let scope = input.scope.unwrap_or_else(|| "USER".into());
    if scope != "USER" {
        c.add(
            "scope",
            "Direct assignments have scope USER; group assignments are made through /groups",
        );
    }
    let user_name = input
        .credentials
        .and_then(|cr| cr.user_name)
        .or_else(|| existing.as_ref().map(|e| e.user_name.clone()))
        .unwrap_or_else(|| u.login.clone());
    c.check("credentials.userName", validate::length(&user_name, 1, 100));
    c.finish()?;
    let profile = match (input.profile, &existing) {
        (Some(p), _) => p,
        (None, Some(e)) => stored(&e.profile)?,
        (None, None) => Map::new(),
    };
    let now = state.now_ms();
    let txn = state.begin().await?;
    let au = match existing {
        Some(e) => {
            repo::update::<app_user::Entity>(
                &txn,
                app_user::Model {
                    user_name,
                    profile: to_text(&profile),
                    last_updated: now,
                    ..e
                },
            )
            .await?
        }
        None => {
            repo::insert::<app_user::Entity>(
                &txn,
                app_user::Model {
                    seq: 0,
                    tenant_id: admin.tenant.id.clone(),
                    id: format!("{}:{}", a.id, u.id),
                    app_id: a.id.clone(),
                    user_id: u.id.clone(),
                    scope,
                    user_name,
                    profile: to_text(&profile),
                    created: now,
                    last_updated: now,
                },
            )
            .await?
        }
    };
    admin
        .commit(state, txn, Change::app("appAssignment", &au.user_id, &a.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_app_user(&admin.tenant.org_url, &au)?))
}

async fn assign_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<AppUserInput>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let input = body.into_inner();
    let Some(user_id) = input.id.clone().filter(|i| !i.is_empty()) else {
        return Err(ApiError::invalid("id", "The field cannot be left blank"));
    };
    save_assignment(&state, &admin, &a, &user_id, input, false).await
}

async fn update_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<AppUserInput>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    save_assignment(&state, &admin, &a, &path.2, body.into_inner(), true).await
}

async fn get_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let au = find_assignment(&state, &admin.tenant.id, &a.id, &path.2)
        .await?
        .ok_or_else(|| ApiError::not_found(&path.2, "AppUser"))?;
    Ok(HttpResponse::Ok().json(render_app_user(&admin.tenant.org_url, &au)?))
}

async fn unassign_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let au = find_assignment(&state, &admin.tenant.id, &a.id, &path.2)
        .await?
        .ok_or_else(|| ApiError::not_found(&path.2, "AppUser"))?;
    let txn = state.begin().await?;
    crate::support::revoke_tokens(
        &state,
        &txn,
        &admin.tenant.id,
        Subject::Assignment {
            client_id: &a.client_id,
            user_id: &au.user_id,
        },
    )
    .await?;
    repo::delete_where::<app_user::Entity>(&txn, &admin.tenant.id, app_user::Column::Id.eq(&au.id))
        .await?;
    admin
        .commit(&state, txn, Change::app("appAssignment", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize)]
struct AppGroupInput {
    priority: Option<i64>,
    profile: Option<Map<String, Value>>,
}

fn render_app_group(org: &str, ag: &app_group::Model) -> Result<Value, ApiError> {
    let profile: Value = stored(&ag.profile)?;
    Ok(json!({
        "id": ag.group_id,
        "lastUpdated": ts(ag.last_updated),
        "priority": ag.priority,
        "profile": profile,
        "_links": {
            "app": href(format!("{org}/api/v1/apps/{}", ag.app_id)),
            "group": href(format!("{org}/api/v1/groups/{}", ag.group_id)),
        },
    }))
}

async fn find_group_assignment(
    state: &AppState,
    tenant: &str,
    app_id: &str,
    group_id: &str,
) -> Result<Option<app_group::Model>, ApiError> {
    Ok(repo::find_by::<app_group::Entity>(
        &state.db,
        tenant,
        Condition::all()
            .add(app_group::Column::AppId.eq(app_id))
            .add(app_group::Column::GroupId.eq(group_id)),
    )
    .await?)
}

async fn list_groups(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let org = admin.tenant.org_url.clone();
    let mut cond = Condition::all().add(app_group::Column::AppId.eq(&a.id));
    // `q`: a prefix of the group's name.
    if let Some(term) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
        let named = tessera_store::text::starts_with(group::Column::Name, term);
        let ids: Vec<String> = repo::all::<group::Entity>(&state.db, &admin.tenant.id, named)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        cond = cond.add(app_group::Column::GroupId.is_in(ids));
    }
    paged::<app_group::Entity>(&state, &admin, &req, &q, PageSize::SMALL, cond, |ag| {
        render_app_group(&org, ag)
    })
    .await
}

/// `GET /groups/{id}/apps`: the apps the group is assigned to (its `_links.apps`).
async fn apps_of_group(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let cond = app_group::Column::GroupId.eq(&g.id);
    let page = repo::page::<app_group::Entity>(
        &state.db,
        t,
        cond,
        q.after()?,
        q.limit_in(PageSize::SMALL)?,
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for ag in &page.items {
        if let Some(a) = repo::find::<app::Entity>(&state.db, t, &ag.app_id).await? {
            items.push(render(&state, &admin.tenant.org_url, &a, None).await?);
        }
    }
    Ok(crate::support::list_response(
        &admin,
        &req,
        items,
        page.next_after,
    ))
}

async fn get_group(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let ag = find_group_assignment(&state, &admin.tenant.id, &a.id, &path.2)
        .await?
        .ok_or_else(|| ApiError::not_found(&path.2, "ApplicationGroupAssignment"))?;
    Ok(HttpResponse::Ok().json(render_app_group(&admin.tenant.org_url, &ag)?))
}

async fn assign_group(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: Option<web::Json<AppGroupInput>>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let g = crate::support::group(&state, &admin, &path.2).await?;
    let input = body.map(web::Json::into_inner).unwrap_or_default();
    let existing = find_group_assignment(&state, &admin.tenant.id, &a.id, &g.id).await?;
    if input.priority.is_some_and(|p| !(0..=100_000).contains(&p)) {
        return Err(ApiError::invalid(
            "priority",
            "must be between 0 and 100000",
        ));
    }
    let priority = i32::try_from(
        input
            .priority
            .unwrap_or_else(|| existing.as_ref().map_or(0, |e| i64::from(e.priority))),
    )
    .unwrap_or(0);
    let profile = match (input.profile, &existing) {
        (Some(p), _) => p,
        (None, Some(e)) => stored(&e.profile)?,
        (None, None) => Map::new(),
    };
    let now = state.now_ms();
    let txn = state.begin().await?;
    let ag = match existing {
        Some(e) => {
            repo::update::<app_group::Entity>(
                &txn,
                app_group::Model {
                    priority,
                    profile: to_text(&profile),
                    last_updated: now,
                    ..e
                },
            )
            .await?
        }
        None => {
            repo::insert::<app_group::Entity>(
                &txn,
                app_group::Model {
                    seq: 0,
                    tenant_id: admin.tenant.id.clone(),
                    id: format!("{}:{}", a.id, g.id),
                    app_id: a.id.clone(),
                    group_id: g.id.clone(),
                    priority,
                    profile: to_text(&profile),
                    created: now,
                    last_updated: now,
                },
            )
            .await?
        }
    };
    admin
        .commit(&state, txn, Change::app("appAssignment", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_app_group(&admin.tenant.org_url, &ag)?))
}

async fn unassign_group(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let ag = find_group_assignment(&state, &admin.tenant.id, &a.id, &path.2)
        .await?
        .ok_or_else(|| ApiError::not_found(&path.2, "ApplicationGroupAssignment"))?;
    let txn = state.begin().await?;
    repo::delete_where::<app_group::Entity>(
        &txn,
        &admin.tenant.id,
        app_group::Column::Id.eq(&ag.id),
    )
    .await?;
    admin
        .commit(&state, txn, Change::app("appAssignment", &a.id, &a.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
