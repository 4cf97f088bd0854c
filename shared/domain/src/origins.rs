//! Trusted origins (Okta's Trusted Origins API): what an origin is, in the form a browser sends
//! it in the `Origin` header (RFC 6454 §6.1: `scheme://host[:port]`, lower case, the scheme's
//! default port left out), and which uses an origin is trusted for.

use serde::{Deserialize, Serialize};

/// The schemes Okta accepts for a trusted origin (HTTP, HTTPS, FTP, Ionic 2 and Capacitor).
pub const SCHEMES: &[&str] = &["http", "https", "ftp", "ionic", "capacitor"];

/// The longest origin accepted (Okta: 255 characters).
pub const MAX_LEN: usize = 255;

/// What an origin is trusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScopeType {
    /// Calls to the protocol endpoints from the origin's scripts (CORS).
    Cors,
    /// Redirects to the origin after sign-in or sign-out.
    Redirect,
    /// Framing the hosted pages in the origin's pages.
    IframeEmbed,
}

impl ScopeType {
    pub const ALL: [Self; 3] = [Self::Cors, Self::Redirect, Self::IframeEmbed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cors => "CORS",
            Self::Redirect => "REDIRECT",
            Self::IframeEmbed => "IFRAME_EMBED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One entry of a trusted origin's `scopes`, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    #[serde(rename = "type")]
    pub kind: ScopeType,
    /// `IFRAME_EMBED` only: the Okta apps that may be framed besides the sign-in page
    /// (`OKTA_ENDUSER`, the end-user dashboard, which Tessera does not have).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_okta_apps: Option<Vec<String>>,
}

/// The serialised origin of `text` (`HTTPS://App.Example.com:443/` → `https://app.example.com`),
/// or why it is not one: a URL with one of [`SCHEMES`], a host, and nothing after the authority
/// but an optional `/`.
pub fn normalize(text: &str) -> Result<String, &'static str> {
    if text.len() > MAX_LEN {
        return Err("must be at most 255 characters");
    }
    let url = url::Url::parse(text.trim()).map_err(|_| "is not a valid URL")?;
    if !SCHEMES.contains(&url.scheme()) {
        return Err("must use one of the schemes http, https, ftp, ionic or capacitor");
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("must name a host");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err("must be an origin only (scheme, host and port), without a path");
    }
    // `Url` already lower-cases the scheme and host and drops the scheme's default port.
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// The serialised origin of a URL such as a redirect URI (`https://app.example.com/cb` →
/// `https://app.example.com`); `None` for a URL without a network origin.
pub fn of_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_serialised_as_browsers_send_them() {
        assert_eq!(
            normalize("HTTPS://App.Example.com:443/").as_deref(),
            Ok("https://app.example.com")
        );
        assert_eq!(
            normalize("http://localhost:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        assert_eq!(
            normalize("capacitor://localhost").as_deref(),
            Ok("capacitor://localhost")
        );
        assert_eq!(
            of_url("https://app.example.com:8443/callback?x=1").as_deref(),
            Some("https://app.example.com:8443")
        );
    }

    #[test]
    fn what_is_not_an_origin_is_refused() {
        for bad in [
            "example.com",
            "javascript:alert(1)",
            "https://",
            "https://app.example.com/path",
            "https://app.example.com/?q=1",
            "https://user:pw@app.example.com",
            "file:///etc/passwd",
        ] {
            assert!(normalize(bad).is_err(), "{bad} accepted");
        }
        assert!(normalize(&format!("https://{}.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn scope_types_round_trip_in_oktas_spelling() {
        for t in ScopeType::ALL {
            assert_eq!(ScopeType::parse(t.as_str()), Some(t));
        }
        let s: Scope =
            serde_json::from_str(r#"{"type":"IFRAME_EMBED","allowedOktaApps":[]}"#).unwrap();
        assert_eq!(s.kind, ScopeType::IframeEmbed);
        assert_eq!(ScopeType::parse("cors"), None);
    }
}
