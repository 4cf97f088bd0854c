//! A tenant's org URL and issuers (SPEC §1): fixed by configuration, never by a request's Host.

/// `https://{tenant}.{base_domain}` with a wildcard base domain (same scheme as the public
/// URL), else `{public_url}/t/{tenant}`.
pub fn org_url(public_url: &str, base_domain: Option<&str>, tenant: &str) -> String {
    match base_domain {
        Some(domain) => {
            let scheme = if public_url.starts_with("http://") {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{tenant}.{domain}")
        }
        None => format!("{}/t/{tenant}", public_url.trim_end_matches('/')),
    }
}

/// A custom authorization server's issuer: `{org}/oauth2/{id}`, `default` for the default one.
pub fn issuer(org_url: &str, server_id: &str, is_default: bool) -> String {
    format!(
        "{org_url}/oauth2/{}",
        if is_default { "default" } else { server_id }
    )
}

/// A request path in its normal form (RFC 3986 §6.2.2): percent-encoded unreserved characters
/// (`A–Z a–z 0–9 - . _ ~`, §2.3) decoded, since `/%72oles` and `/roles` are the same path, and
/// every other escape kept, with upper-case hex digits. `None` when the path is already normal.
///
/// Every literal segment of a route (`api`, `v1`, `token`, a tenant name) is made of unreserved
/// characters, so after this, anything that looks at the path sees those segments spelled as the
/// router matched them.
pub fn normal_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let needs = bytes.windows(3).any(|w| {
        w[0] == b'%'
            && match (hex(w[1]), hex(w[2])) {
                (Some(h), Some(l)) => {
                    is_unreserved((h << 4) | l)
                        || w[1].is_ascii_lowercase()
                        || w[2].is_ascii_lowercase()
                }
                _ => false,
            }
    });
    if !needs {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            let c = (h << 4) | l;
            if is_unreserved(c) {
                out.push(char::from(c));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        // A path is ASCII on the wire (`http::Uri` refuses anything else), so byte by byte is
        // character by character.
        out.push(char::from(bytes[i]));
        i += 1;
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_path_decodes_unreserved_escapes_only() {
        assert_eq!(normal_path("/t/acme/api/v1/users"), None);
        assert_eq!(
            normal_path("/t/acme/api/v1/users/00u1/%72oles").as_deref(),
            Some("/t/acme/api/v1/users/00u1/roles")
        );
        assert_eq!(
            normal_path("/t/%61%63%6D%65/oauth2/default/v1/%74oken").as_deref(),
            Some("/t/acme/oauth2/default/v1/token")
        );
        // Reserved and other characters stay encoded, with upper-case hex.
        assert_eq!(
            normal_path("/users/a%2fb%20c").as_deref(),
            Some("/users/a%2Fb%20c")
        );
        assert_eq!(normal_path("/users/a%2Fb%20c"), None);
        // Malformed escapes are left alone.
        assert_eq!(normal_path("/users/%zz%4"), None);
        assert_eq!(normal_path("/users/%7e").as_deref(), Some("/users/~"));
    }

    #[test]
    fn org_url_and_issuer_forms() {
        assert_eq!(
            org_url("http://127.0.0.1:8080/", None, "acme"),
            "http://127.0.0.1:8080/t/acme"
        );
        assert_eq!(
            org_url("https://auth.example.com", Some("auth.example.com"), "acme"),
            "https://acme.auth.example.com"
        );
        assert_eq!(
            issuer("https://x/t/acme", "aus1", false),
            "https://x/t/acme/oauth2/aus1"
        );
        assert_eq!(
            issuer("https://x/t/acme", "aus1", true),
            "https://x/t/acme/oauth2/default"
        );
    }
}
