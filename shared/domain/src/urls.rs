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

#[cfg(test)]
mod tests {
    use super::*;

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
