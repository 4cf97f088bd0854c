//! The `claims` authorization request parameter (OpenID Connect Core §5.5): which individual
//! claims the client asks for in the ID token and at `/userinfo`, beyond what its scopes give.
//!
//! `{"userinfo": {"email": {"essential": true}, "name": null}, "id_token": {"email": null}}`:
//! each section is an object whose members name claims, each `null` or an object (`essential`,
//! `value`, `values`, which only inform: a claim the user does not have is left out, not an
//! error, §5.5.1). Only the standard claims of §5.1 are honoured; other names are ignored. The
//! parameter is bounded ([`MAX_LEN`] bytes, [`MAX_CLAIMS`] names a section); anything that is
//! not this shape is refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest `claims` parameter read.
pub const MAX_LEN: usize = 4096;
/// The most claims one section may name.
pub const MAX_CLAIMS: usize = 32;

/// The standard claims (§5.1) a request may name.
pub const STANDARD: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// The standard claims asked for, by where they go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    pub id_token: Vec<String>,
    pub userinfo: Vec<String>,
}

impl ClaimsRequest {
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty()
    }
}

/// Parses the parameter; the reason when it is not a claims request.
pub fn parse(text: &str) -> Result<ClaimsRequest, &'static str> {
    if text.len() > MAX_LEN {
        return Err("The 'claims' parameter is too long.");
    }
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(text) else {
        return Err("The 'claims' parameter must be a JSON object.");
    };
    let mut out = ClaimsRequest::default();
    for (section, members) in &top {
        let target = match section.as_str() {
            "id_token" => &mut out.id_token,
            "userinfo" => &mut out.userinfo,
            _ => continue,
        };
        let Value::Object(members) = members else {
            return Err("Each section of the 'claims' parameter must be a JSON object.");
        };
        if members.len() > MAX_CLAIMS {
            return Err("The 'claims' parameter names too many claims.");
        }
        for (name, request) in members {
            match request {
                Value::Null => {}
                Value::Object(o) if o.get("essential").is_none_or(Value::is_boolean) => {}
                _ => {
                    return Err(
                        "Each claim of the 'claims' parameter must be null or an object with a boolean 'essential'.",
                    );
                }
            }
            if STANDARD.contains(&name.as_str()) && !target.contains(name) {
                target.push(name.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_claims_are_read_by_section_and_others_ignored() {
        let r = parse(
            r#"{"userinfo": {"email": {"essential": true}, "name": null, "acme_tier": null},
                "id_token": {"email": null, "auth_time": {"essential": true}}, "other": 1}"#,
        )
        .unwrap();
        assert_eq!(r.userinfo, ["email", "name"]);
        assert_eq!(r.id_token, ["email"]);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "not json",
            "[]",
            r#"{"userinfo": ["email"]}"#,
            r#"{"userinfo": {"email": true}}"#,
            r#"{"userinfo": {"email": {"essential": "yes"}}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(
            parse(&format!(
                "{{\"userinfo\": {{\"x\": \"{}\"}}}}",
                "y".repeat(MAX_LEN)
            ))
            .is_err()
        );
        let many: Vec<String> = (0..=MAX_CLAIMS)
            .map(|i| format!("\"c{i}\": null"))
            .collect();
        assert!(parse(&format!("{{\"userinfo\": {{{}}}}}", many.join(","))).is_err());
    }
}
