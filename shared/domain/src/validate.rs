//! Field rules shared by the management API. Each check returns the human-readable cause Okta
//! would put in `errorCauses`; the caller names the field.

use url::Url;

/// Tenant names: 3–63 characters of `a-z0-9-`, not starting or ending with `-`,
/// so that a name is also a valid DNS label for the wildcard-domain routing form.
pub fn tenant_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !(3..=63).contains(&name.len()) || !ok_chars || name.starts_with('-') || name.ends_with('-')
    {
        return Err(
            "name must be 3 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
                .into(),
        );
    }
    Ok(())
}

/// A required string of `min..=max` characters (after trimming it must not be empty).
pub fn length(value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if value.trim().is_empty() && min > 0 {
        return Err("must not be blank".into());
    }
    if n < min || n > max {
        return Err(format!("must be between {min} and {max} characters"));
    }
    Ok(())
}

/// Scope names (Okta's authorization-server scopes): printable ASCII without space, `"` or `\`; not `okta`,
/// `*`, nor starting with `okta.` or `okta:`; may hold `<` or `>` but not both.
pub fn scope_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 1024 {
        return Err("A scope name must be between 1 and 1024 characters".into());
    }
    if !name
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err("A scope name may only contain printable ASCII characters other than space, '\"' and '\\'".into());
    }
    if name == "okta" || name == "*" || name.starts_with("okta.") || name.starts_with("okta:") {
        return Err(
            "Scope names 'okta', '*' and names starting with 'okta.' or 'okta:' are reserved"
                .into(),
        );
    }
    if name.contains('<') && name.contains('>') {
        return Err("A scope name may contain '<' or '>' but not both".into());
    }
    Ok(())
}

/// An audience: non-empty; a value containing `:` must be an absolute URI (§4.1).
pub fn audience(aud: &str) -> Result<(), String> {
    if aud.trim().is_empty() || aud.len() > 1024 {
        return Err("An audience must be between 1 and 1024 characters".into());
    }
    if aud.contains(':') && (Url::parse(aud).is_err() || aud.chars().any(char::is_whitespace)) {
        return Err(format!("'{aud}' is not a valid URI"));
    }
    Ok(())
}

/// A redirect URI (§5): absolute and without a fragment.
pub fn redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = Url::parse(uri).map_err(|_| format!("'{uri}' is not an absolute URI"))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!("'{uri}' must not contain a fragment"));
    }
    Ok(())
}

/// An absolute http(s) URL (client_uri, logo_uri, …).
pub fn http_url(uri: &str) -> Result<(), String> {
    match Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(format!("'{uri}' is not a valid http or https URL")),
    }
}

/// A claim name: 1–100 characters, no whitespace; URIs allowed (§4.4).
pub fn claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_whitespace) {
        return Err("A claim name must be 1 to 100 characters without whitespace".into());
    }
    Ok(())
}

/// Claims that the token service sets itself and that no custom claim may override
/// (RFC 7519, RFC 9068, OIDC Core and Okta's own).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "at_hash",
    "c_hash",
    "azp",
    "cid",
    "uid",
    "scp",
    "ver",
    "idp",
    "sid",
    "cnf",
    "client_id",
    "scope",
    "token_type",
    "active",
];

/// An email address, checked the way Okta's default schema does: one `@`, a non-empty local
/// part and a domain with a dot.
pub fn email(value: &str) -> Result<(), String> {
    let ok = value.len() <= 100
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        });
    if ok {
        Ok(())
    } else {
        Err("Does not match required pattern".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_name_rules() {
        for ok in ["acme", "a-b", "abc", "x1-2y"] {
            assert!(tenant_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Acme",
            "-acme",
            "acme-",
            "ac_me",
            "ac.me",
            &"a".repeat(64),
        ] {
            assert!(tenant_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_name_rules() {
        for ok in ["read", "api:read", "a<b", "orders.write"] {
            assert!(scope_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "okta",
            "*",
            "okta.users.read",
            "okta:x",
            "a<b>",
            "q\"uote",
            "back\\slash",
        ] {
            assert!(scope_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uri_rules() {
        assert!(audience("api://default").is_ok());
        assert!(audience("plain-audience").is_ok());
        assert!(audience("api://has space").is_err());
        assert!(redirect_uri("https://app.example/cb").is_ok());
        assert!(redirect_uri("com.example.app:/cb").is_ok());
        assert!(redirect_uri("/relative").is_err());
        assert!(redirect_uri("https://app.example/cb#frag").is_err());
    }

    #[test]
    fn email_rules() {
        assert!(email("a@b.example").is_ok());
        assert!(email("no-at-sign").is_err());
        assert!(email("a@nodot").is_err());
        assert!(email("a b@c.d").is_err());
    }
}
