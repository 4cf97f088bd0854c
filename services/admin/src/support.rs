//! Small helpers the resource modules share: validation causes, `_links`, list responses,
//! and resolution of path ids inside the caller's tenant.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use tessera_domain::timefmt::millis_rfc3339;
use tessera_store::entities::{app, authorization_server, group, user};
use tessera_store::{ColumnTrait as _, Page, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize, link_header};
use tessera_web::tenant::Admin;

/// Collects validation problems so one response lists all of them (Okta's `errorCauses`).
#[derive(Debug, Default)]
pub struct Causes {
    fields: Vec<String>,
    causes: Vec<String>,
}

impl Causes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, cause: impl std::fmt::Display) {
        if !self.fields.iter().any(|f| f == field) {
            self.fields.push(field.to_owned());
        }
        self.causes.push(format!("{field}: {cause}"));
    }

    pub fn check(&mut self, field: &str, result: Result<(), String>) {
        if let Err(cause) = result {
            self.add(field, cause);
        }
    }

    pub fn require<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
        match value {
            Some(v) if !v.trim().is_empty() => Some(v),
            _ => {
                self.add(field, "The field cannot be left blank");
                None
            }
        }
    }

    /// `Ok` when nothing was found wrong, else the `E0000001` naming every field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(&self.fields.join(", "), self.causes))
        }
    }
}

pub fn ts(ms: i64) -> String {
    millis_rfc3339(ms)
}

pub fn opt_ts(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |m| Value::String(ts(m)))
}

/// `{"href": …}`
pub fn href(url: String) -> Value {
    json!({ "href": url })
}

/// `{"href": …, "hints": {"allow": [...]}}`
pub fn hinted(url: String, allow: &[&str]) -> Value {
    json!({ "href": url, "hints": { "allow": allow } })
}

/// Parses JSON text written by this service; a broken row is an internal error.
pub fn stored<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::internal(format!("stored JSON is malformed: {e}")))
}

pub fn to_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A JSON array response with Okta's `Link` header.
pub fn list_response(
    admin: &Admin,
    req: &HttpRequest,
    items: Vec<Value>,
    next_after: Option<i64>,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Link", link_header(&admin.tenant.org_url, req, next_after)))
        .json(Value::Array(items))
}

/// Removes `keys` whose value is `null`: Okta leaves absent optional fields out, and its
/// OpenAPI documents (which its SDKs are generated from) do not allow `null` for them.
pub fn without_nulls(mut v: Value, keys: &[&str]) -> Value {
    if let Some(map) = v.as_object_mut() {
        for k in keys {
            if map.get(*k).is_some_and(Value::is_null) {
                map.remove(*k);
            }
        }
    }
    v
}

pub fn page_response<T>(
    admin: &Admin,
    req: &HttpRequest,
    page: Page<T>,
    render: impl Fn(&T) -> Result<Value, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let items = page
        .items
        .iter()
        .map(render)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(list_response(admin, req, items, page.next_after))
}

/// One page of this tenant's `E` rows matching `cond` (`after` and `limit` from the query,
/// within the collection's `size`), rendered, with Okta's `Link` headers: the list handlers'
/// one shape.
pub async fn paged<E: tessera_store::Scoped>(
    state: &tessera_core::AppState,
    admin: &Admin,
    req: &HttpRequest,
    q: &ListParams,
    size: PageSize,
    cond: impl tessera_store::sea_orm::sea_query::IntoCondition,
    render: impl Fn(&E::Model) -> Result<Value, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit_in(size)?;
    let page = repo::page::<E>(&state.db, &admin.tenant.id, cond, q.after()?, limit).await?;
    page_response(admin, req, page, render)
}

/// The authorization server `id` of this tenant; the literal `default` names the default one.
pub async fn server(
    state: &tessera_core::AppState,
    admin: &Admin,
    id: &str,
) -> Result<authorization_server::Model, ApiError> {
    let t = &admin.tenant.id;
    let found = if id == "default" {
        repo::find_by::<authorization_server::Entity>(
            &state.db,
            t,
            authorization_server::Column::IsDefault.eq(true),
        )
        .await?
    } else {
        repo::find::<authorization_server::Entity>(&state.db, t, id).await?
    };
    found
        .filter(|s| !s.org)
        .ok_or_else(|| ApiError::not_found(id, "AuthorizationServer"))
}

pub async fn app(
    state: &tessera_core::AppState,
    admin: &Admin,
    id: &str,
) -> Result<app::Model, ApiError> {
    repo::find::<app::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(id, "Application"))
}

/// A user by id, or by login as Okta also allows.
pub async fn user(
    state: &tessera_core::AppState,
    admin: &Admin,
    id_or_login: &str,
) -> Result<user::Model, ApiError> {
    let t = &admin.tenant.id;
    let by_id = repo::find::<user::Entity>(&state.db, t, id_or_login).await?;
    let found = match by_id {
        Some(u) => Some(u),
        None => {
            repo::find_by::<user::Entity>(&state.db, t, user::Column::Login.eq(id_or_login)).await?
        }
    };
    found.ok_or_else(|| ApiError::not_found(id_or_login, "User"))
}

pub async fn group(
    state: &tessera_core::AppState,
    admin: &Admin,
    id: &str,
) -> Result<group::Model, ApiError> {
    repo::find::<group::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(id, "UserGroup"))
}

/// Renumbers priorities 1..n after `moved` is placed at `wanted` (clamped to the end), the
/// others keeping their relative order. Returns `(id, new priority)` for every item.
pub fn reorder(mut current: Vec<(String, i32)>, moved: &str, wanted: i32) -> Vec<(String, i32)> {
    current.retain(|(id, _)| id != moved);
    current.sort_by_key(|(_, p)| *p);
    let index = usize::try_from(wanted.max(1) - 1)
        .unwrap_or(0)
        .min(current.len());
    current.insert(index, (moved.to_owned(), wanted));
    current
        .into_iter()
        .enumerate()
        .map(|(i, (id, _))| (id, i32::try_from(i + 1).unwrap_or(i32::MAX)))
        .collect()
}

/// Implicit revocation: every token of `subject` issued until now becomes inactive on every
/// replica. The marker goes to the short-lived store first — if it cannot be written the request
/// fails and nothing changes — then into `txn` (durably, with the subject's refresh tokens and
/// the consents the user, app or server held), which the caller commits.
pub async fn revoke_tokens(
    state: &tessera_core::AppState,
    txn: &impl tessera_store::ConnectionTrait,
    tenant_id: &str,
    subject: tessera_ephemeral::revocation::Subject<'_>,
) -> Result<(), ApiError> {
    use tessera_ephemeral::revocation::Subject;
    use tessera_store::entities::refresh_token::Column;
    let now = state.now_ms();
    state
        .revocations
        .revoke_all(txn, tenant_id, &subject)
        .await?;
    let cond = match subject {
        Subject::Tenant => tessera_store::Condition::all(),
        Subject::Server(s) => tessera_store::Condition::all().add(Column::ServerId.eq(s)),
        Subject::Client(c) => tessera_store::Condition::all().add(Column::ClientId.eq(c)),
        Subject::User(u) => tessera_store::Condition::all().add(Column::UserId.eq(u)),
        Subject::Assignment { client_id, user_id } => tessera_store::Condition::all()
            .add(Column::ClientId.eq(client_id))
            .add(Column::UserId.eq(user_id)),
    };
    tessera_store::tokens::revoke_refresh_tokens(txn, tenant_id, cond, now).await?;
    // Consent grants last until the user, app or server goes away (Okta's User Grants API);
    // an unassignment or a tenant suspension leaves them.
    use tessera_store::entities::consent::Column as Consent;
    let consents = match subject {
        Subject::Server(s) => Some(Consent::ServerId.eq(s)),
        Subject::Client(c) => Some(Consent::ClientId.eq(c)),
        Subject::User(u) => Some(Consent::UserId.eq(u)),
        Subject::Tenant | Subject::Assignment { .. } => None,
    };
    if let Some(cond) = consents {
        tessera_store::tokens::revoke_consents(txn, tenant_id, cond, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorder_when_inserted_at_taken_priority_then_others_shift_down() {
        let current = vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)];
        let got = reorder(current, "new", 2);
        assert_eq!(
            got,
            vec![
                ("a".into(), 1),
                ("new".into(), 2),
                ("b".into(), 3),
                ("c".into(), 4)
            ]
        );
    }

    #[test]
    fn reorder_when_moved_past_end_then_clamped_to_last() {
        let current = vec![("a".into(), 1), ("b".into(), 2)];
        assert_eq!(
            reorder(current, "a", 99),
            vec![("b".into(), 1), ("a".into(), 2)]
        );
    }
}
