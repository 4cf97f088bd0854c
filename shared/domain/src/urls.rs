//! A tenant's org URL and issuers: fixed by configuration, never by a request's Host.

/// `https://{tenant}.{base_domain}` with a wildcard base domain (same scheme, and same explicit
/// port if any, as the public URL), else `{public_url}/t/{tenant}`.
pub fn org_url(public_url: &str, base_domain: Option<&str>, tenant: &str) -> String {
    match base_domain {
        Some(domain) => {
            let parsed = url::Url::parse(public_url).ok();
            let scheme = if public_url.starts_with("http://") {
                "http"
            } else {
                "https"
            };
            match parsed.and_then(|u| u.port()) {
                Some(port) => format!("{scheme}://{tenant}.{domain}:{port}"),
                None => format!("{scheme}://{tenant}.{domain}"),
            }
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
/// (`A–Z a–z 0–9 - . _ ~`, §2.3) decoded, since `/%72oles` and `/roles` are the same path,
/// every other escape kept with upper-case hex digits, and a `%` that starts no escape written
/// `%25`. Normalizing twice changes nothing. `None` when the path is already normal.
///
/// Every literal segment of a route (`api`, `v1`, `token`, a tenant name) is made of unreserved
/// characters, so after this, anything that looks at the path sees those segments spelled as the
/// router matched them.
pub fn normal_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let escape_at = |i: usize| match (
        bytes.get(i + 1).copied().and_then(hex),
        bytes.get(i + 2).copied().and_then(hex),
    ) {
        (Some(h), Some(l)) => Some((h << 4) | l),
        _ => None,
    };
    let normal = (0..bytes.len()).filter(|&i| bytes[i] == b'%').all(|i| {
        escape_at(i).is_some_and(|c| !is_unreserved(c))
            && !bytes[i + 1].is_ascii_lowercase()
            && !bytes[i + 2].is_ascii_lowercase()
    });
    if normal {
        return None;
    }
    let mut out = String::with_capacity(path.len() + 4);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match escape_at(i) {
                Some(c) if is_unreserved(c) => out.push(char::from(c)),
                Some(_) => {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                // A `%` that starts no escape stands for itself: `%25`. Left bare, it could
                // pair with what a decoded escape puts after it (`%%372` would become `%72`,
                // which a second reader decodes again).
                None => {
                    out.push_str("%25");
                    i += 1;
                    continue;
                }
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
        // A `%` that starts no escape is escaped itself, so nothing decodes twice.
        assert_eq!(
            normal_path("/users/%zz%4").as_deref(),
            Some("/users/%25zz%254")
        );
        assert_eq!(
            normal_path("/users/x/%%372oles").as_deref(),
            Some("/users/x/%2572oles")
        );
        assert_eq!(normal_path("/users/x/%2572oles"), None);
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
            org_url("http://localhost:8080", Some("localhost"), "acme"),
            "http://acme.localhost:8080"
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
