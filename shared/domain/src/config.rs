//! The configuration objects the management API accepts, the database stores and the hot state
//! loads, written once. Their JSON is Okta's wire shape (the management API's
//! `AuthorizationServerPolicyRule` conditions and actions, and an OIDC application's
//! `credentials.oauthClient` and `settings.oauthClient`), so the admin service deserialises a
//! request body into them, validates and normalises them, and stores them with `serde_json`;
//! the hot loader reads the same types back. Defaults live here and nowhere else.
//!
//! A JSON `null` reads as the field's absence, as Okta's SDKs send unset members as `null`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::policy::{Lifetimes, Rule};

/// Reads `null` as the type's default (an absent member).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `{"include": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Include {
    #[serde(default, deserialize_with = "nullable")]
    pub include: Vec<String>,
}

impl Include {
    pub fn of(items: &[&str]) -> Self {
        Self {
            include: items.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// A rule's `conditions.people`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct People {
    #[serde(default, deserialize_with = "nullable")]
    pub users: Include,
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Include,
}

/// A policy rule's `conditions`: who, by which grants, for which scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleConditions {
    #[serde(default, deserialize_with = "nullable")]
    pub people: People,
    #[serde(default, deserialize_with = "nullable")]
    pub grant_types: Include,
    #[serde(default, deserialize_with = "nullable")]
    pub scopes: Include,
}

/// A reference to a token inline hook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A rule's `actions.token`. Absent lifetimes take Okta's defaults (see the accessors); the
/// admin service stores them filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenActions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_window_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_hook: Option<HookRef>,
}

impl TokenActions {
    /// Okta's defaults: one-hour access tokens, refresh tokens that never expire by age and
    /// expire after seven days unused.
    pub const DEFAULT_ACCESS_MINUTES: i64 = 60;
    pub const DEFAULT_REFRESH_MINUTES: i64 = 0;
    pub const DEFAULT_WINDOW_MINUTES: i64 = 10080;

    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access_token_minutes: self
                .access_token_lifetime_minutes
                .unwrap_or(Self::DEFAULT_ACCESS_MINUTES),
            refresh_token_minutes: self
                .refresh_token_lifetime_minutes
                .unwrap_or(Self::DEFAULT_REFRESH_MINUTES),
            refresh_window_minutes: self
                .refresh_token_window_minutes
                .unwrap_or(Self::DEFAULT_WINDOW_MINUTES),
        }
    }

    /// The hook's id, if the rule names one.
    pub fn hook_id(&self) -> Option<&str> {
        self.inline_hook.as_ref().and_then(|h| h.id.as_deref())
    }
}

/// A policy rule's `actions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleActions {
    #[serde(default, deserialize_with = "nullable")]
    pub token: TokenActions,
}

/// A stored rule: its conditions and actions, as the policy evaluator sees them.
pub fn rule(
    id: &str,
    priority: i32,
    active: bool,
    conditions: RuleConditions,
    actions: &RuleActions,
) -> Rule {
    Rule {
        id: id.to_owned(),
        priority,
        active,
        grant_types: conditions.grant_types.include,
        users: conditions.people.users.include,
        groups: conditions.people.groups.include,
        scopes: conditions.scopes.include,
        lifetimes: actions.token.lifetimes(),
        inline_hook: actions.token.hook_id().map(str::to_owned),
    }
}

/// The grant types the default rule of a new default server allows.
pub const DEFAULT_RULE_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "password",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// The default rule of a new tenant's default server: everyone, every scope, the default
/// lifetimes.
pub fn default_rule() -> (RuleConditions, RuleActions) {
    (
        RuleConditions {
            people: People {
                users: Include::default(),
                groups: Include::of(&["EVERYONE"]),
            },
            grant_types: Include::of(DEFAULT_RULE_GRANT_TYPES),
            scopes: Include::of(&["*"]),
        },
        RuleActions {
            token: TokenActions {
                access_token_lifetime_minutes: Some(TokenActions::DEFAULT_ACCESS_MINUTES),
                refresh_token_lifetime_minutes: Some(TokenActions::DEFAULT_REFRESH_MINUTES),
                refresh_token_window_minutes: Some(TokenActions::DEFAULT_WINDOW_MINUTES),
                inline_hook: None,
            },
        },
    )
}

/// An OIDC app's `credentials.oauthClient` as stored (a client secret is never stored: it is
/// read from a request and then dropped).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct OAuthCredentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, rename = "autoKeyRotation")]
    pub auto_key_rotation: Option<bool>,
    #[serde(default)]
    pub pkce_required: Option<bool>,
}

impl OAuthCredentials {
    pub const DEFAULT_AUTH_METHOD: &'static str = "client_secret_basic";

    pub fn auth_method(&self) -> &str {
        self.token_endpoint_auth_method
            .as_deref()
            .unwrap_or(Self::DEFAULT_AUTH_METHOD)
    }

    /// PKCE is required unless the app turned it off.
    pub fn pkce_required(&self) -> bool {
        self.pkce_required.unwrap_or(true)
    }
}

/// An OIDC app's `settings.oauthClient`. Fields Tessera does not interpret are dropped.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct OAuthSettings {
    #[serde(default)]
    pub application_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub response_types: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub consent_method: Option<String>,
    #[serde(default)]
    pub issuer_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default)]
    pub wildcard_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshSettings>,
    /// Public keys given inline on a write; they are stored as the app's keys, not here.
    #[serde(default, skip_serializing)]
    pub jwks: Option<Jwks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: `/authorize` takes this app's requests only through `/v1/par`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub require_pushed_authorization_requests: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_session_required: Option<bool>,
}

impl OAuthSettings {
    pub fn application_type(&self) -> &str {
        self.application_type.as_deref().unwrap_or_default()
    }

    /// `TRUSTED` unless the app requires consent.
    pub fn consent_method(&self) -> &str {
        self.consent_method.as_deref().unwrap_or("TRUSTED")
    }

    /// `ROTATE` (a new refresh token on every use) unless the app keeps them `STATIC`.
    pub fn refresh_rotation(&self) -> &str {
        self.refresh_token
            .as_ref()
            .and_then(|r| r.rotation_type.as_deref())
            .unwrap_or("ROTATE")
    }

    /// Seconds a rotated refresh token may still be presented (Okta's default: 30).
    pub fn refresh_leeway(&self) -> i64 {
        self.refresh_token
            .as_ref()
            .and_then(|r| r.leeway)
            .unwrap_or(30)
    }
}

/// `settings.oauthClient.refresh_token`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct RefreshSettings {
    #[serde(default)]
    pub rotation_type: Option<String>,
    #[serde(default)]
    pub leeway: Option<i64>,
}

/// `{"keys": [...]}`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Jwks {
    #[serde(default, deserialize_with = "nullable")]
    pub keys: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rule_reads_oktas_shape_and_fills_in_the_default_lifetimes() {
        let conditions: RuleConditions = serde_json::from_value(json!({
            "people": { "groups": { "include": ["EVERYONE"] }, "users": null },
            "grantTypes": { "include": ["client_credentials"] },
            "scopes": { "include": ["*"] },
        }))
        .unwrap();
        let actions: RuleActions = serde_json::from_value(json!({ "token": {
            "accessTokenLifetimeMinutes": 5, "inlineHook": { "id": "cal1" },
        } }))
        .unwrap();
        let r = rule("0pr1", 1, true, conditions, &actions);
        assert_eq!(r.groups, ["EVERYONE"]);
        assert!(r.users.is_empty());
        assert_eq!(
            (
                r.lifetimes.access_token_minutes,
                r.lifetimes.refresh_token_minutes,
                r.lifetimes.refresh_window_minutes
            ),
            (5, 0, 10080)
        );
        assert_eq!(r.inline_hook.as_deref(), Some("cal1"));
    }

    #[test]
    fn what_is_stored_reads_back_the_same() {
        let (conditions, actions) = default_rule();
        let stored = serde_json::to_string(&(&conditions, &actions)).unwrap();
        let back: (RuleConditions, RuleActions) = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, (conditions, actions));
        assert_eq!(
            serde_json::to_value(&back.1).unwrap(),
            json!({ "token": {
                "accessTokenLifetimeMinutes": 60,
                "refreshTokenLifetimeMinutes": 0,
                "refreshTokenWindowMinutes": 10080,
            } })
        );
    }

    #[test]
    fn an_apps_settings_default_to_oktas() {
        let s: OAuthSettings = serde_json::from_value(json!({ "grant_types": null })).unwrap();
        assert_eq!(
            (s.consent_method(), s.refresh_rotation(), s.refresh_leeway()),
            ("TRUSTED", "ROTATE", 30)
        );
        let c = OAuthCredentials::default();
        assert_eq!(
            (c.auth_method(), c.pkce_required()),
            ("client_secret_basic", true)
        );
    }
}
