//! Users (Okta Users API): create with `?activate=`, profile, argon2id password credential,
//! lifecycle, list with `q`, `filter` and `search`, and a user's groups.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::{scim, secrets, validate};
use tessera_ephemeral::revocation::Subject;
use tessera_store::entities::{app_user, group, group_member, user};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::groups::render as render_group;
use crate::support::{Causes, href, opt_ts, page_response, stored, to_text, ts};

pub fn routes(api: &mut Api) {
    let users = Guard::of(Resource::Users);
    let user = users.on_user("id");
    // Passwords and locks: what a help desk admin may change too.
    let credentials = Guard::of(Resource::UserCredentials).on_user("id");
    api.get("/users", users, list)
        .post("/users", users, create)
        .get("/users/{id}", users, get)
        .post("/users/{id}", user, update_partial)
        .put("/users/{id}", user, update_full)
        .delete("/users/{id}", user, delete)
        .get("/users/{id}/groups", users, groups_of)
        .post(
            "/users/{id}/lifecycle/expire_password",
            credentials,
            expire_password,
        )
        .post("/users/{id}/lifecycle/unlock", credentials, unlock)
        .post("/users/{id}/lifecycle/{action}", user, lifecycle)
        .post(
            "/users/{id}/credentials/change_password",
            credentials,
            change_password,
        );
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserInput {
    profile: Option<Map<String, Value>>,
    credentials: Option<CredentialsInput>,
    #[serde(default)]
    group_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CredentialsInput {
    password: Option<PasswordInput>,
}

#[derive(Debug, Default, Deserialize)]
struct PasswordInput {
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CreateParams {
    activate: Option<bool>,
}

pub fn render(org: &str, u: &user::Model) -> Result<Value, ApiError> {
    let profile: Value = stored(&u.profile)?;
    let mut credentials = json!({ "provider": { "type": "OKTA", "name": "OKTA" } });
    if u.password_hash.is_some() {
        credentials["password"] = json!({});
    }
    let base = format!("{org}/api/v1/users/{}", u.id);
    Ok(json!({
        "id": u.id,
        "status": u.status,
        "created": ts(u.created),
        "activated": opt_ts(u.activated),
        "statusChanged": opt_ts(u.status_changed),
        "lastLogin": opt_ts(u.last_login),
        "lastUpdated": ts(u.last_updated),
        "passwordChanged": opt_ts(u.password_changed),
        "type": { "id": "default" },
        "profile": profile,
        "credentials": credentials,
        "_links": { "self": href(base) },
    }))
}

/// Checks a profile (Okta's default schema: `login`, `email`, `firstName`, `lastName`
/// required; `login` in email form) and a password against the default policy.
fn check_profile(c: &mut Causes, profile: &Map<String, Value>) {
    for field in ["login", "email", "firstName", "lastName"] {
        match profile.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => c.add(
                &format!("profile.{field}"),
                "The field cannot be left blank",
            ),
        }
    }
    if let Some(Value::String(login)) = profile.get("login")
        && !login.is_empty()
    {
        c.check(
            "profile.login",
            validate::email(login)
                .map_err(|_| "Username must be in the form of an email address".into()),
        );
    }
    if let Some(Value::String(email)) = profile.get("email")
        && !email.is_empty()
    {
        c.check("profile.email", validate::email(email));
    }
    for (k, v) in profile {
        if matches!(v, Value::Object(_)) {
            c.add(
                &format!("profile.{k}"),
                "Profile attributes must be strings, numbers, booleans, arrays or null",
            );
        }
    }
}

fn check_password(c: &mut Causes, password: &str, login: &str) {
    if let Some(refusal) = secrets::password_policy_refusal(password, login) {
        c.add("password", refusal);
    }
}

/// "First Last", the `displayName` Okta gives a user in System Log events.
fn display_name(profile: &Map<String, Value>) -> String {
    format!(
        "{} {}",
        text(profile, "firstName"),
        text(profile, "lastName")
    )
    .trim()
    .to_owned()
}

fn text(profile: &Map<String, Value>, key: &str) -> String {
    profile
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn login_taken(
    state: &AppState,
    tenant: &str,
    login: &str,
    except: Option<&str>,
) -> Result<bool, ApiError> {
    let found =
        repo::find_by::<user::Entity>(&state.db, tenant, user::Column::Login.eq(login)).await?;
    Ok(found.is_some_and(|u| except != Some(u.id.as_str())))
}

fn hash(password: &str) -> Result<String, ApiError> {
    secrets::hash_password(password).map_err(ApiError::internal)
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    params: web::Query<CreateParams>,
    body: web::Json<UserInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let t = &admin.tenant.id;
    let mut c = Causes::new();
    let profile = input.profile.unwrap_or_default();
    check_profile(&mut c, &profile);
    let login = text(&profile, "login");
    if !login.is_empty() && login_taken(&state, t, &login, None).await? {
        c.add(
            "login",
            "An object with this field already exists in the current organization",
        );
    }
    let password = input
        .credentials
        .and_then(|x| x.password)
        .and_then(|p| p.value);
    if let Some(pw) = &password {
        check_password(&mut c, pw, &login);
    }
    let mut groups = Vec::new();
    for gid in &input.group_ids {
        match repo::find::<group::Entity>(&state.db, t, gid).await? {
            Some(g) if g.group_type == "OKTA_GROUP" => groups.push(g),
            Some(_) => c.add(
                "groupIds",
                format!("'{gid}' is a built-in group; its membership is implicit"),
            ),
            None => c.add(
                "groupIds",
                format!("'{gid}' is not a group of this organization"),
            ),
        }
    }
    c.finish()?;
    // Membership carries the group's admin roles: the caller must already hold their rights.
    for g in &groups {
        let held = tessera_web::tenant::principal_held_roles(
            &state,
            t,
            tessera_domain::admin_roles::PrincipalKind::Group,
            &g.id,
        )
        .await?;
        if !tessera_domain::admin_roles::covers(&admin.roles, &held) {
            tracing::warn!(tenant = %t, group = %g.id, "user creation into a group with roles the caller lacks denied");
            return Err(ApiError::forbidden());
        }
    }
    let activate = params.activate.unwrap_or(true);
    let now = state.now_ms();
    let status = match (activate, password.is_some()) {
        (false, _) => "STAGED",
        (true, true) => "ACTIVE",
        (true, false) => "PROVISIONED",
    };
    let password_hash = password.as_deref().map(hash).transpose()?;
    let model = user::Model {
        seq: 0,
        tenant_id: t.clone(),
        id: state.new_id(IdKind::User),
        status: status.into(),
        email: text(&profile, "email"),
        login,
        profile: to_text(&profile),
        password_changed: password_hash.as_ref().map(|_| now),
        password_hash,
        activated: activate.then_some(now),
        status_changed: activate.then_some(now),
        last_login: None,
        created: now,
        last_updated: now,
    };
    let txn = state.begin().await?;
    let u = repo::insert::<user::Entity>(&txn, model)
        .await
        .map_err(|e| match e {
            tessera_store::StoreError::Conflict => ApiError::invalid(
                "login",
                "An object with this field already exists in the current organization",
            ),
            e => e.into(),
        })?;
    for g in groups {
        add_member(&txn, &state, t, &g.id, &u.id).await?;
    }
    admin.name_target(&u.login, &display_name(&profile));
    admin
        .commit(&state, txn, Change::cold("user", &u.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &u)?))
}

/// Adds a membership (idempotent).
pub async fn add_member(
    db: &impl tessera_store::ConnectionTrait,
    state: &AppState,
    tenant: &str,
    group_id: &str,
    user_id: &str,
) -> Result<(), ApiError> {
    let exists = repo::find_by::<group_member::Entity>(
        db,
        tenant,
        Condition::all()
            .add(group_member::Column::GroupId.eq(group_id))
            .add(group_member::Column::UserId.eq(user_id)),
    )
    .await?
    .is_some();
    if !exists {
        let now = state.now_ms();
        repo::insert::<group_member::Entity>(
            db,
            group_member::Model {
                seq: 0,
                tenant_id: tenant.to_owned(),
                id: format!("{group_id}:{user_id}"),
                group_id: group_id.to_owned(),
                user_id: user_id.to_owned(),
                created: now,
                last_updated: now,
            },
        )
        .await?;
    }
    Ok(())
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &u)?))
}

async fn update(
    state: &AppState,
    admin: &Admin,
    id: &str,
    input: UserInput,
    replace: bool,
) -> Result<HttpResponse, ApiError> {
    let existing = crate::support::user(state, admin, id).await?;
    let mut profile: Map<String, Value> = if replace {
        Map::new()
    } else {
        stored(&existing.profile)?
    };
    if let Some(p) = input.profile {
        profile.extend(p);
    } else if replace {
        profile = stored(&existing.profile)?;
    }
    let mut c = Causes::new();
    check_profile(&mut c, &profile);
    let login = text(&profile, "login");
    if login != existing.login
        && login_taken(state, &admin.tenant.id, &login, Some(&existing.id)).await?
    {
        c.add(
            "login",
            "An object with this field already exists in the current organization",
        );
    }
    let password = input
        .credentials
        .and_then(|x| x.password)
        .and_then(|p| p.value);
    if let Some(pw) = &password {
        check_password(&mut c, pw, &login);
    }
    c.finish()?;
    let now = state.now_ms();
    let (password_hash, password_changed) = match &password {
        Some(pw) => (Some(hash(pw)?), Some(now)),
        None => (existing.password_hash.clone(), existing.password_changed),
    };
    let txn = state.begin().await?;
    let u = repo::update::<user::Entity>(
        &txn,
        user::Model {
            login,
            email: text(&profile, "email"),
            profile: to_text(&profile),
            password_hash,
            password_changed,
            last_updated: now,
            ..existing
        },
    )
    .await?;
    admin
        .commit(state, txn, Change::cold("user", &u.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &u)?))
}

async fn update_partial(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<UserInput>,
) -> Result<HttpResponse, ApiError> {
    update(&state, &admin, &path.1, body.into_inner(), false).await
}

async fn update_full(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<UserInput>,
) -> Result<HttpResponse, ApiError> {
    update(&state, &admin, &path.1, body.into_inner(), true).await
}

/// Okta's two-step delete: the first call deactivates, the second (on a deprovisioned user)
/// deletes the user, its memberships and app assignments.
async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    crate::support::revoke_tokens(&state, &txn, &admin.tenant.id, Subject::User(&u.id)).await?;
    let id = u.id.clone();
    if u.status == "DEPROVISIONED" {
        repo::delete_where::<group_member::Entity>(&txn, t, group_member::Column::UserId.eq(&id))
            .await?;
        repo::delete_where::<app_user::Entity>(&txn, t, app_user::Column::UserId.eq(&id)).await?;
        crate::roles::remove_all(&txn, t, "USER", &id).await?;
        repo::delete_where::<user::Entity>(&txn, t, user::Column::Id.eq(&id)).await?;
    } else {
        let now = state.now_ms();
        repo::update::<user::Entity>(
            &txn,
            user::Model {
                status: "DEPROVISIONED".into(),
                status_changed: Some(now),
                last_updated: now,
                ..u
            },
        )
        .await?;
    }
    admin.commit(&state, txn, Change::cold("user", &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &admin, &path.1, &path.2).await
}

/// `POST /users/{id}/lifecycle/unlock`, guarded as a credential change.
async fn unlock(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &admin, &path.1, "unlock").await
}

async fn change_status(
    state: &AppState,
    admin: &Admin,
    id: &str,
    action: &str,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(state, admin, id).await?;
    let from = u.status.as_str();
    let to = match (action, from) {
        ("activate", "STAGED" | "DEPROVISIONED") => {
            if u.password_hash.is_some() {
                "ACTIVE"
            } else {
                "PROVISIONED"
            }
        }
        ("deactivate", s) if s != "DEPROVISIONED" => "DEPROVISIONED",
        ("suspend", "ACTIVE") => "SUSPENDED",
        ("unsuspend", "SUSPENDED") => "ACTIVE",
        ("unlock", "LOCKED_OUT") => "ACTIVE",
        ("unlock", _) => return Err(ApiError::unlock_not_allowed()),
        ("activate" | "deactivate" | "suspend" | "unsuspend", _) => {
            return Err(ApiError::bad_lifecycle("user"));
        }
        (other, _) => return Err(ApiError::not_found(other, "UserLifecycleOperation")),
    };
    let now = state.now_ms();
    let activated = if action == "activate" {
        Some(now)
    } else {
        u.activated
    };
    if action == "unlock" {
        // A fresh run of attempts after an unlock (the sign-in code's failure counter).
        let key = tessera_ephemeral::Key::tenant(
            &admin.tenant.id,
            tessera_ephemeral::Kind::Throttle,
            &format!("signin-user:{}", u.id),
        );
        state.short.delete(&key).await?;
    }
    let txn = state.begin().await?;
    if to == "DEPROVISIONED" {
        crate::support::revoke_tokens(state, &txn, &admin.tenant.id, Subject::User(&u.id)).await?;
    }
    let id = u.id.clone();
    repo::update::<user::Entity>(
        &txn,
        user::Model {
            status: to.into(),
            status_changed: Some(now),
            activated,
            last_updated: now,
            ..u
        },
    )
    .await?;
    admin.commit(state, txn, Change::cold("user", &id)).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /users/{id}/lifecycle/expire_password`: the user must choose a new password at their
/// next sign-in (the hosted page asks for it); the password grant refuses them until then.
async fn expire_password(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    if !matches!(u.status.as_str(), "ACTIVE" | "PASSWORD_EXPIRED") || u.password_hash.is_none() {
        return Err(ApiError::bad_lifecycle("user"));
    }
    let now = state.now_ms();
    let txn = state.begin().await?;
    let id = u.id.clone();
    let u = repo::update::<user::Entity>(
        &txn,
        user::Model {
            status: "PASSWORD_EXPIRED".into(),
            status_changed: Some(now),
            last_updated: now,
            ..u
        },
    )
    .await?;
    admin.commit(&state, txn, Change::cold("user", &id)).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &u)?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordInput {
    old_password: Option<PasswordInput>,
    new_password: Option<PasswordInput>,
}

/// `POST /users/{id}/credentials/change_password`: checks the old password, applies the
/// password policy to the new one; an expired password thereby becomes valid again.
async fn change_password(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ChangePasswordInput>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    let input = body.into_inner();
    let old = input.old_password.and_then(|p| p.value).unwrap_or_default();
    let new = input.new_password.and_then(|p| p.value).unwrap_or_default();
    if new.is_empty() {
        return Err(ApiError::invalid(
            "newPassword",
            "The field cannot be left blank",
        ));
    }
    let Some(phc) = u.password_hash.clone() else {
        return Err(ApiError::credentials_update_failed(
            "oldPassword: The user has no password to change.",
        ));
    };
    if !matches!(u.status.as_str(), "ACTIVE" | "PASSWORD_EXPIRED") {
        return Err(ApiError::bad_lifecycle("user"));
    }
    let matched = tokio::task::spawn_blocking(move || secrets::verify_password(&old, &phc))
        .await
        .map_err(ApiError::internal)?;
    if !matched {
        return Err(ApiError::credentials_update_failed(
            "oldPassword: The credentials provided were incorrect.",
        ));
    }
    if let Some(refusal) = secrets::password_policy_refusal(&new, &u.login) {
        return Err(ApiError::credentials_update_failed(format!(
            "password: {refusal}"
        )));
    }
    let hashed = hash(&new)?;
    let now = state.now_ms();
    let status = if u.status == "PASSWORD_EXPIRED" {
        "ACTIVE".to_owned()
    } else {
        u.status.clone()
    };
    let txn = state.begin().await?;
    let id = u.id.clone();
    let u = repo::update::<user::Entity>(
        &txn,
        user::Model {
            status_changed: if status == u.status {
                u.status_changed
            } else {
                Some(now)
            },
            status,
            password_hash: Some(hashed),
            password_changed: Some(now),
            last_updated: now,
            ..u
        },
    )
    .await?;
    admin.commit(&state, txn, Change::cold("user", &id)).await?;
    let rendered = render(&admin.tenant.org_url, &u)?;
    Ok(HttpResponse::Ok().json(&rendered["credentials"]))
}

/// A `filter` or `search` expression, parsed (bounded, see [`scim::parse_filter`]).
pub(crate) fn parse_search(param: &str, text: &str) -> Result<scim::Filter, ApiError> {
    scim::parse_filter(text)
        .map_err(|e| ApiError::invalid(param, format!("Invalid search criteria: {e}")))
}

/// `q`: a case-insensitive prefix of the first name, last name, email or login (Okta's
/// "find users" form).
fn matches_prefix(user: &Value, term: &str) -> bool {
    let term = term.to_lowercase();
    ["firstName", "lastName", "email", "login"].iter().any(|k| {
        user["profile"][k]
            .as_str()
            .is_some_and(|v| v.to_lowercase().starts_with(&term))
    })
}

/// The ids of this tenant's users whose first name, last name, email or login starts with
/// `term` (any case), read in batches.
pub(crate) async fn ids_matching(
    state: &AppState,
    tenant: &str,
    term: &str,
) -> Result<std::collections::HashSet<String>, ApiError> {
    let page = repo::page_filtered::<user::Entity>(
        &state.db,
        tenant,
        Condition::all(),
        None,
        u64::MAX - 1,
        |u| {
            stored::<Value>(&u.profile)
                .is_ok_and(|p| matches_prefix(&json!({ "profile": p }), term))
        },
    )
    .await?;
    Ok(page.items.into_iter().map(|u| u.id).collect())
}

/// `GET /users`: `q`, `filter` and `search` (Okta's expression language over every attribute
/// of the user as rendered, custom profile attributes included), paged with `after`.
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let term = q.q.as_deref().filter(|t| !t.trim().is_empty());
    let mut filters = Vec::new();
    for (param, text) in [("filter", &q.filter), ("search", &q.search)] {
        if let Some(text) = text.as_deref().filter(|f| !f.trim().is_empty()) {
            filters.push(parse_search(param, text)?);
        }
    }
    // Okta answers 10 users by default to `q`, 200 otherwise.
    let size = if term.is_some() {
        PageSize::new(10, PageSize::STANDARD.max)
    } else {
        PageSize::STANDARD
    };
    let mut cond = Condition::all();
    if term.is_none() && filters.is_empty() {
        // Okta leaves deprovisioned users out of an unfiltered list.
        cond = cond.add(user::Column::Status.ne("DEPROVISIONED"));
    }
    let org = admin.tenant.org_url.clone();
    let keep = |u: &user::Model| {
        render(&org, u).is_ok_and(|v| {
            term.is_none_or(|t| matches_prefix(&v, t))
                && filters
                    .iter()
                    .all(|f| f.matches_with(&v, scim::Case::Insensitive))
        })
    };
    let page = repo::page_filtered::<user::Entity>(
        &state.db,
        &admin.tenant.id,
        cond,
        q.after()?,
        q.limit_in(size)?,
        keep,
    )
    .await?;
    page_response(&admin, &req, page, |u| render(&org, u))
}

async fn groups_of(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let mut out = Vec::new();
    for g in
        repo::all::<group::Entity>(&state.db, t, group::Column::GroupType.eq("BUILT_IN")).await?
    {
        out.push(render_group(&admin.tenant.org_url, &g));
    }
    for m in repo::all::<group_member::Entity>(&state.db, t, group_member::Column::UserId.eq(&u.id))
        .await?
    {
        if let Some(g) = repo::find::<group::Entity>(&state.db, t, &m.group_id).await? {
            out.push(render_group(&admin.tenant.org_url, &g));
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_password_enforces_default_policy() {
        let mut c = Causes::new();
        check_password(&mut c, "Abcdefg1", "someone@example.com");
        assert!(c.finish().is_ok());
        for bad in [
            "short1A",
            "alllowercase1",
            "ALLUPPER1",
            "NoDigitsHere",
            "Someone123x",
        ] {
            let mut c = Causes::new();
            check_password(&mut c, bad, "someone@example.com");
            assert!(c.finish().is_err(), "{bad}");
        }
    }
}
