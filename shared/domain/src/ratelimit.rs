//! Rate-limit buckets (Okta's rate limits, <https://developer.okta.com/docs/reference/rate-limits/>;
//! docs/operations.md): which per-tenant, per-minute bucket a request
//! path counts against. JWKS and discovery documents are never limited.

/// A bucket of endpoints sharing one per-minute quota per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `/oauth2/{as}/v1/authorize` and `/oauth2/v1/authorize`.
    Authorize,
    /// `/oauth2/{as}/v1/token` and `/oauth2/v1/token`.
    Token,
    /// Every other `/oauth2/{as}/v1/*` and `/oauth2/v1/*` endpoint (introspect, revoke,
    /// userinfo, logout, …).
    OAuth2,
    /// `/oauth2/v1/clients` (dynamic client registration and client roles).
    Clients,
    /// `/api/v1/apps` (the collection).
    Apps,
    /// `/api/v1/apps/{id}` and below.
    App,
    /// Every other `/api/v1` endpoint.
    Management,
}

impl Bucket {
    /// The bucket's name in keys, settings and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Token => "token",
            Self::OAuth2 => "oauth2",
            Self::Clients => "clients",
            Self::Apps => "apps",
            Self::App => "app",
            Self::Management => "management",
        }
    }
}

/// The bucket of a path below the tenant (`/oauth2/default/v1/token`, `/api/v1/apps/0oa1`);
/// `None` for what is not limited: JWKS, discovery, hosted pages, health and metrics.
pub fn bucket(path: &str) -> Option<Bucket> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    if seg.contains(&".well-known") {
        return None;
    }
    match seg.as_slice() {
        ["oauth2", "v1", "clients", ..] => Some(Bucket::Clients),
        ["oauth2", "v1", "keys"] | ["oauth2", _, "v1", "keys"] => None,
        ["oauth2", "v1", "authorize"] | ["oauth2", _, "v1", "authorize"] => Some(Bucket::Authorize),
        ["oauth2", "v1", "token"] | ["oauth2", _, "v1", "token"] => Some(Bucket::Token),
        ["oauth2", "v1", _, ..] | ["oauth2", _, "v1", _, ..] => Some(Bucket::OAuth2),
        ["api", "v1", "apps"] => Some(Bucket::Apps),
        ["api", "v1", "apps", _, ..] => Some(Bucket::App),
        ["api", "v1", _, ..] => Some(Bucket::Management),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_okta_buckets() {
        let cases = [
            ("/oauth2/default/v1/authorize", Some(Bucket::Authorize)),
            ("/oauth2/v1/authorize", Some(Bucket::Authorize)),
            ("/oauth2/aus1/v1/token", Some(Bucket::Token)),
            ("/oauth2/v1/token", Some(Bucket::Token)),
            ("/oauth2/default/v1/introspect", Some(Bucket::OAuth2)),
            ("/oauth2/default/v1/userinfo", Some(Bucket::OAuth2)),
            ("/oauth2/v1/revoke", Some(Bucket::OAuth2)),
            ("/oauth2/v1/clients/0oa1/roles", Some(Bucket::Clients)),
            ("/oauth2/default/v1/keys", None),
            ("/oauth2/v1/keys", None),
            ("/oauth2/default/.well-known/openid-configuration", None),
            ("/.well-known/oauth-authorization-server", None),
            ("/api/v1/apps", Some(Bucket::Apps)),
            ("/api/v1/apps/0oa1", Some(Bucket::App)),
            ("/api/v1/apps/0oa1/users", Some(Bucket::App)),
            ("/api/v1/users", Some(Bucket::Management)),
            ("/api/v1/logs", Some(Bucket::Management)),
            ("/login", None),
            ("/", None),
        ];
        for (path, want) in cases {
            assert_eq!(bucket(path), want, "{path}");
        }
    }
}
