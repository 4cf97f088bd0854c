//! Okta-style pagination: `limit` (each collection has Okta's own default and maximum, see
//! [`PageSize`]) and an opaque `after` cursor, with the next page announced in
//! `Link: <…>; rel="next"` (and the current one as `rel="self"`).

use actix_web::HttpRequest;
use serde::Deserialize;

use crate::error::ApiError;

pub const MAX_LIMIT: u64 = 200;

/// A collection's page size: Okta's default when `limit` is absent and its maximum.
///
/// A `limit` above the maximum is served as the maximum, and `-1` (which Okta documents as "all
/// results" on `/apps`) means the maximum too; any other value below 1, or one that is not an
/// integer, is refused. The figures are those of Okta's published Management API
/// (<https://developer.okta.com/docs/api/openapi/okta-management/management/>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    pub default: u64,
    pub max: u64,
}

impl PageSize {
    /// Users, authorization servers, scopes, associated servers and most collections.
    pub const STANDARD: Self = Self::new(200, 200);
    /// `GET /apps/{id}/users`.
    pub const APP_USERS: Self = Self::new(50, 500);
    /// `GET /apps/{id}/groups`, `GET /groups/{id}/apps`, trusted origins, grants and tokens.
    pub const SMALL: Self = Self::new(20, 200);
    /// `GET /groups`.
    pub const GROUPS: Self = Self::new(10_000, 10_000);
    /// `GET /groups/{id}/users`.
    pub const GROUP_USERS: Self = Self::new(1000, 1000);

    pub const fn new(default: u64, max: u64) -> Self {
        Self { default, max }
    }
}

/// The longest `q`, `filter` or `search` accepted, in characters.
pub const MAX_QUERY_TEXT: usize = 4096;

/// A search text from the query string, at most [`MAX_QUERY_TEXT`] characters: a longer one is
/// refused as the query is parsed (400 `E0000001`), before any parser sees it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueryText(String);

impl std::ops::Deref for QueryText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for QueryText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.chars().count() > MAX_QUERY_TEXT {
            return Err(serde::de::Error::custom(format!(
                "a search text is longer than {MAX_QUERY_TEXT} characters"
            )));
        }
        Ok(Self(text))
    }
}

/// The list parameters every collection accepts.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub q: Option<QueryText>,
    pub filter: Option<QueryText>,
    pub search: Option<QueryText>,
    pub expand: Option<String>,
}

impl ListParams {
    /// The page size of a [`PageSize::STANDARD`] collection.
    pub fn limit(&self) -> Result<u64, ApiError> {
        self.limit_in(PageSize::STANDARD)
    }

    /// The page size within `size`: its default when absent, its maximum when larger or `-1`.
    pub fn limit_in(&self, size: PageSize) -> Result<u64, ApiError> {
        match self.limit.as_deref().map(str::trim) {
            None | Some("") => Ok(size.default),
            Some(raw) => match raw.parse::<i64>() {
                Ok(-1) => Ok(size.max),
                Ok(n) if n >= 1 => Ok((n as u64).min(size.max)),
                _ => Err(ApiError::invalid(
                    "limit",
                    format!(
                        "must be a positive integer (at most {} is served)",
                        size.max
                    ),
                )),
            },
        }
    }

    /// The cursor, refusing values this server did not hand out.
    pub fn after(&self) -> Result<Option<i64>, ApiError> {
        match &self.after {
            None => Ok(None),
            Some(raw) if raw.is_empty() => Ok(None),
            Some(raw) => raw
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid("after", "is not a valid cursor")),
        }
    }
}

/// The `Link` header for a page of `path` (the request's own path under the org URL).
pub fn link_header(org_url: &str, req: &HttpRequest, next_after: Option<i64>) -> String {
    link_header_with(org_url, req, next_after.map(|a| a.to_string()))
}

/// [`link_header`] with any cursor text.
pub fn link_header_with(org_url: &str, req: &HttpRequest, next_after: Option<String>) -> String {
    let tenant_relative = relative_path(req);
    let query = req.query_string();
    let self_url = if query.is_empty() {
        format!("{org_url}{tenant_relative}")
    } else {
        format!("{org_url}{tenant_relative}?{query}")
    };
    let mut link = format!("<{self_url}>; rel=\"self\"");
    if let Some(after) = next_after {
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "after")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.push(("after".into(), after));
        let next_query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        link.push_str(&format!(
            ", <{org_url}{tenant_relative}?{next_query}>; rel=\"next\""
        ));
    }
    link
}

/// The path below the tenant prefix: `/t/acme/api/v1/users` → `/api/v1/users`.
pub fn relative_path(req: &HttpRequest) -> String {
    let path = req.path();
    match req.match_info().get("tenant") {
        Some(t) => path
            .strip_prefix(&format!("/t/{t}"))
            .unwrap_or(path)
            .to_owned(),
        None => path.to_owned(),
    }
}
