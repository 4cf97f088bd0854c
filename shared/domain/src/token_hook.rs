//! The commands a token inline hook answers with (Okta's token inline hook commands), applied to the tokens of
//! one response before they are signed. Pure: the token service calls the hook and hands its
//! `commands` to [`apply`], which changes everything or nothing.
//!
//! * `com.okta.identity.patch` changes the ID token, `com.okta.access.patch` the access token.
//! * `add` sets a claim (overwriting) or a member inside one (`/claims/obj/member`,
//!   `/claims/arr/3`, `/claims/arr/-` appends); `replace` changes one that exists, or the
//!   lifetime at `/token/lifetime/expiration` (300–86400 s); `remove` deletes one that exists.
//! * Reserved claims cannot be touched; `aud` and `sub` may change in access tokens only.

use serde_json::{Map, Value};

/// One token of the response, before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenDraft {
    pub claims: Map<String, Value>,
    pub lifetime_secs: i64,
}

/// The tokens a hook may change: the ID token and the access token, when they are minted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    pub identity: Option<TokenDraft>,
    pub access: Option<TokenDraft>,
}

/// Why a hook's commands were not applied (the tokens are then issued unmodified).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("'commands' must be an array of commands with a type and a list of operations")]
    Malformed,
    #[error("unknown command type '{0}'")]
    UnknownCommand(String),
    #[error("'{0}' changes a token that this response does not contain")]
    NoSuchToken(String),
    #[error("unsupported op '{0}'")]
    UnknownOp(String),
    #[error("path '{0}' is not under /claims/ or /token/lifetime/expiration")]
    BadPath(String),
    #[error("claim '{0}' is reserved and cannot be changed")]
    Reserved(String),
    #[error("'{0}' does not exist")]
    Missing(String),
    #[error("the lifetime must be replaced with a number of seconds from 300 to 86400")]
    Lifetime,
    #[error("'remove' takes no value")]
    RemoveWithValue,
}

const LIFETIME_PATH: &str = "/token/lifetime/expiration";
const MIN_LIFETIME: i64 = 300;
const MAX_LIFETIME: i64 = 86_400;

const RESERVED_BOTH: &[&str] = &[
    "acr",
    "auth_time",
    "cid",
    "exp",
    "iat",
    "iss",
    "jti",
    "sid",
    "token_type",
    "ver",
    "groups",
    "cnf",
];
const RESERVED_IDENTITY: &[&str] = &[
    "amr", "at_hash", "aud", "c_hash", "nonce", "idp", "sub", "scope", "scopes",
];
const RESERVED_ACCESS: &[&str] = &[
    "scp",
    "uid",
    "username",
    "as_uri",
    "rpt",
    "rsi",
    "authorization_details",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Identity,
    Access,
}

fn reserved(which: Which, claim: &str) -> bool {
    RESERVED_BOTH.contains(&claim)
        || match which {
            Which::Identity => RESERVED_IDENTITY.contains(&claim) || claim.starts_with("device_"),
            Which::Access => RESERVED_ACCESS.contains(&claim),
        }
}

/// Applies `commands` (the hook response's `commands` array) to `draft`: every operation, or
/// none when any of them is invalid.
pub fn apply(commands: &Value, draft: &mut Draft) -> Result<(), PatchError> {
    let mut work = draft.clone();
    for command in commands.as_array().ok_or(PatchError::Malformed)? {
        let kind = command["type"].as_str().ok_or(PatchError::Malformed)?;
        let which = match kind {
            "com.okta.identity.patch" => Which::Identity,
            "com.okta.access.patch" => Which::Access,
            other => return Err(PatchError::UnknownCommand(other.to_owned())),
        };
        let token = match which {
            Which::Identity => work.identity.as_mut(),
            Which::Access => work.access.as_mut(),
        }
        .ok_or_else(|| PatchError::NoSuchToken(kind.to_owned()))?;
        for op in command["value"].as_array().ok_or(PatchError::Malformed)? {
            apply_op(which, op, token)?;
        }
    }
    *draft = work;
    Ok(())
}

fn apply_op(which: Which, op: &Value, token: &mut TokenDraft) -> Result<(), PatchError> {
    let name = op["op"].as_str().ok_or(PatchError::Malformed)?;
    let path = op["path"].as_str().ok_or(PatchError::Malformed)?;
    if path == LIFETIME_PATH {
        let secs = op["value"]
            .as_i64()
            .filter(|s| (MIN_LIFETIME..=MAX_LIFETIME).contains(s));
        return match (name, secs) {
            ("replace", Some(secs)) => {
                token.lifetime_secs = secs;
                Ok(())
            }
            _ => Err(PatchError::Lifetime),
        };
    }
    let pointer = path
        .strip_prefix("/claims")
        .filter(|rest| rest.len() > 1 && rest.starts_with('/'))
        .ok_or_else(|| PatchError::BadPath(path.to_owned()))?;
    let unescape = |s: &str| s.replace("~1", "/").replace("~0", "~");
    let claim = unescape(pointer[1..].split('/').next().unwrap_or_default());
    if reserved(which, &claim) {
        return Err(PatchError::Reserved(claim));
    }
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    if name == "remove" && !value.is_null() {
        return Err(PatchError::RemoveWithValue);
    }
    if !matches!(name, "add" | "replace" | "remove") {
        return Err(PatchError::UnknownOp(name.to_owned()));
    }
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let last = unescape(last);
    let mut root = Value::Object(std::mem::take(&mut token.claims));
    let done = match root.pointer_mut(parent) {
        Some(Value::Object(m)) => match name {
            "add" => {
                m.insert(last, value);
                true
            }
            "replace" => m.get_mut(&last).map(|v| *v = value).is_some(),
            _ => m.remove(&last).is_some(),
        },
        Some(Value::Array(a)) => {
            let index = if last == "-" {
                Some(a.len())
            } else {
                last.parse::<usize>().ok()
            };
            match (name, index) {
                ("add", Some(i)) if i <= a.len() => {
                    a.insert(i, value);
                    true
                }
                ("replace", Some(i)) if i < a.len() => {
                    a[i] = value;
                    true
                }
                ("remove", Some(i)) if i < a.len() => {
                    a.remove(i);
                    true
                }
                _ => false,
            }
        }
        _ => false,
    };
    if let Value::Object(claims) = root {
        token.claims = claims;
    }
    if done {
        Ok(())
    } else {
        Err(PatchError::Missing(path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draft() -> Draft {
        let claims = |v: Value| v.as_object().cloned().unwrap();
        Draft {
            identity: Some(TokenDraft {
                claims: claims(
                    json!({"sub": "00u1", "aud": "0oa1", "nonce": "n", "email": "a@example.com"}),
                ),
                lifetime_secs: 3600,
            }),
            access: Some(TokenDraft {
                claims: claims(
                    json!({"sub": "a@example.com", "aud": "api://default", "scp": ["openid"],
                    "tags": ["a", "b"], "profile": {"tier": "gold"}}),
                ),
                lifetime_secs: 3600,
            }),
        }
    }

    fn patch(kind: &str, ops: Value) -> Value {
        json!([{ "type": kind, "value": ops }])
    }

    const ID: &str = "com.okta.identity.patch";
    const AT: &str = "com.okta.access.patch";

    #[test]
    fn operations_that_apply() {
        type Check = Box<dyn Fn(&Draft) -> bool>;
        let cases: Vec<(Value, Check)> = vec![
            (
                patch(
                    ID,
                    json!([{"op": "add", "path": "/claims/extPatientId", "value": "1234"}]),
                ),
                Box::new(|d| d.identity.as_ref().unwrap().claims["extPatientId"] == "1234"),
            ),
            (
                patch(
                    ID,
                    json!([{"op": "add", "path": "/claims/email", "value": "b@example.com"}]),
                ),
                Box::new(|d| d.identity.as_ref().unwrap().claims["email"] == "b@example.com"),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/claims/sub", "value": "svc"}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["sub"] == "svc"),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/claims/aud", "value": "api://other"}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["aud"] == "api://other"),
            ),
            (
                patch(AT, json!([{"op": "remove", "path": "/claims/tags"}])),
                Box::new(|d| !d.access.as_ref().unwrap().claims.contains_key("tags")),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/tags/-", "value": "c"}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["tags"] == json!(["a", "b", "c"])),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/tags/0", "value": "z"}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["tags"] == json!(["z", "a", "b"])),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "remove", "path": "/claims/tags/1", "value": null}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["tags"] == json!(["a"])),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/profile/level", "value": 3}]),
                ),
                Box::new(|d| {
                    d.access.as_ref().unwrap().claims["profile"]
                        == json!({"tier": "gold", "level": 3})
                }),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/https:~1~1example.com~1role", "value": "x"}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().claims["https://example.com/role"] == "x"),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/token/lifetime/expiration", "value": 36000}]),
                ),
                Box::new(|d| d.access.as_ref().unwrap().lifetime_secs == 36000),
            ),
            (json!([]), Box::new(|d| *d == draft())),
        ];
        for (commands, check) in cases {
            let mut d = draft();
            apply(&commands, &mut d).unwrap_or_else(|e| panic!("{commands}: {e}"));
            assert!(check(&d), "{commands} gave {d:?}");
        }
    }

    #[test]
    fn invalid_commands_change_nothing() {
        let cases = [
            (json!({"type": ID}), PatchError::Malformed),
            (
                json!([{"type": "com.okta.saml.patch", "value": []}]),
                PatchError::UnknownCommand("com.okta.saml.patch".into()),
            ),
            (
                patch(
                    ID,
                    json!([{"op": "add", "path": "/claims/nonce", "value": "x"}]),
                ),
                PatchError::Reserved("nonce".into()),
            ),
            (
                patch(
                    ID,
                    json!([{"op": "replace", "path": "/claims/sub", "value": "x"}]),
                ),
                PatchError::Reserved("sub".into()),
            ),
            (
                patch(
                    ID,
                    json!([{"op": "add", "path": "/claims/device_id", "value": "x"}]),
                ),
                PatchError::Reserved("device_id".into()),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/claims/scp", "value": []}]),
                ),
                PatchError::Reserved("scp".into()),
            ),
            (
                patch(AT, json!([{"op": "remove", "path": "/claims/exp"}])),
                PatchError::Reserved("exp".into()),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/claims/nothing", "value": 1}]),
                ),
                PatchError::Missing("/claims/nothing".into()),
            ),
            (
                patch(AT, json!([{"op": "remove", "path": "/claims/tags/7"}])),
                PatchError::Missing("/claims/tags/7".into()),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/none/x", "value": 1}]),
                ),
                PatchError::Missing("/claims/none/x".into()),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "remove", "path": "/claims/tags", "value": 1}]),
                ),
                PatchError::RemoveWithValue,
            ),
            (
                patch(
                    AT,
                    json!([{"op": "move", "path": "/claims/tags", "value": 1}]),
                ),
                PatchError::UnknownOp("move".into()),
            ),
            (
                patch(AT, json!([{"op": "add", "path": "/scp", "value": 1}])),
                PatchError::BadPath("/scp".into()),
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/token/lifetime/expiration", "value": 299}]),
                ),
                PatchError::Lifetime,
            ),
            (
                patch(
                    AT,
                    json!([{"op": "replace", "path": "/token/lifetime/expiration", "value": 86401}]),
                ),
                PatchError::Lifetime,
            ),
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/token/lifetime/expiration", "value": 600}]),
                ),
                PatchError::Lifetime,
            ),
            // One bad operation after good ones: none of them is applied.
            (
                patch(
                    AT,
                    json!([{"op": "add", "path": "/claims/ok", "value": 1}, {"op": "remove", "path": "/claims/iat"}]),
                ),
                PatchError::Reserved("iat".into()),
            ),
        ];
        for (commands, expected) in cases {
            let mut d = draft();
            assert_eq!(apply(&commands, &mut d), Err(expected), "{commands}");
            assert_eq!(d, draft(), "{commands} changed the draft");
        }
    }

    #[test]
    fn an_access_patch_without_an_access_token_is_refused() {
        let mut d = Draft {
            access: None,
            ..draft()
        };
        let commands = patch(AT, json!([{"op": "add", "path": "/claims/x", "value": 1}]));
        assert_eq!(
            apply(&commands, &mut d),
            Err(PatchError::NoSuchToken(AT.into()))
        );
    }
}
