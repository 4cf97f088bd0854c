//! The token endpoint's grants (RFC 6749 §4; Okta's custom authorization servers). A request is
//! parsed into typed [`Params`] before dispatch; each grant is a module of its own and returns
//! what it issued ([`Granted`]), which the endpoint serialises and the System Log reads, so
//! nothing decodes a token it has just signed.
//!
//! * [`client_credentials`] — RFC 6749 §4.4, and the org authorization server's variant
//!   ([`org`]).
//! * [`password`] — RFC 6749 §4.3.
//! * [`authorization_code`] — RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6).
//! * [`refresh`] — RFC 6749 §6, with rotation and reuse detection.
//! * [`device_code`] — RFC 8628 §3.4, the device authorization grant's polling.
//! * [`token_exchange`] — RFC 8693, Okta's On-Behalf-Of token exchange; at the org server, the
//!   exchange of an ID token for an identity assertion ([`id_jag`]).
//! * [`jwt_bearer`] — RFC 7523 §2.1, identity assertions of the org server (Cross App Access).
//!
//! Every grant decides with the same policy function ([`decide`]); what differs is how a
//! refusal reads on the wire.

mod authorization_code;
mod client_credentials;
mod device_code;
mod family;
mod id_jag;
mod jwt_bearer;
pub mod org;
mod password;
pub mod preview;
mod refresh;
mod token_exchange;

use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_domain::policy::{self, Denied, Grant, UserFacts};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{Form, OAuthError};
use tessera_store::entities::user;

use crate::claims::UserInfo;
use crate::issue::Want;
use crate::mint::{AccessToken, IdToken, IdTokenFor};

/// The grants this endpoint implements; anything else is `unsupported_grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    Password,
    RefreshToken,
    DeviceCode,
    TokenExchange,
    JwtBearer,
}

impl GrantType {
    pub const SUPPORTED: &'static [&'static str] = &[
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
        crate::device::GRANT_TYPE,
        token_exchange::GRANT_TYPE,
        jwt_bearer::GRANT_TYPE,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "client_credentials" => Some(Self::ClientCredentials),
            "password" => Some(Self::Password),
            "refresh_token" => Some(Self::RefreshToken),
            crate::device::GRANT_TYPE => Some(Self::DeviceCode),
            token_exchange::GRANT_TYPE => Some(Self::TokenExchange),
            jwt_bearer::GRANT_TYPE => Some(Self::JwtBearer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => crate::device::GRANT_TYPE,
            Self::TokenExchange => token_exchange::GRANT_TYPE,
            Self::JwtBearer => jwt_bearer::GRANT_TYPE,
        }
    }
}

/// A token request's parameters, by grant, parsed before anything is looked up.
#[derive(Debug)]
pub enum Params<'a> {
    AuthorizationCode {
        code: &'a str,
        redirect_uri: Option<&'a str>,
        code_verifier: Option<&'a str>,
    },
    ClientCredentials {
        scopes: Option<Vec<String>>,
    },
    Password {
        username: &'a str,
        password: &'a str,
        scopes: Option<Vec<String>>,
    },
    RefreshToken {
        refresh_token: &'a str,
        scopes: Option<Vec<String>>,
    },
    DeviceCode {
        device_code: &'a str,
    },
    TokenExchange {
        subject_token: &'a str,
        subject_token_type: &'a str,
        audience: &'a str,
        scopes: Option<Vec<String>>,
    },
    JwtBearer {
        assertion: &'a str,
        scopes: Option<Vec<String>>,
    },
}

impl<'a> Params<'a> {
    /// The parameters `grant` needs from `form`; a missing one is `invalid_request` naming it.
    pub fn parse(grant: GrantType, form: &'a Form) -> Result<Self, OAuthError> {
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
            },
            GrantType::ClientCredentials => Self::ClientCredentials {
                scopes: form.scopes(),
            },
            GrantType::Password => {
                let (username, password) = (form.require("username")?, form.require("password")?);
                form.require("scope")?;
                Self::Password {
                    username,
                    password,
                    scopes: form.scopes(),
                }
            }
            GrantType::RefreshToken => Self::RefreshToken {
                refresh_token: form.require("refresh_token")?,
                scopes: form.scopes(),
            },
            GrantType::DeviceCode => Self::DeviceCode {
                device_code: form.require("device_code")?,
            },
            GrantType::TokenExchange => {
                // Okta requires all four (its On-Behalf-Of guide).
                let (subject_token, subject_token_type) = (
                    form.require("subject_token")?,
                    form.require("subject_token_type")?,
                );
                let audience = form.require("audience")?;
                form.require("scope")?;
                Self::TokenExchange {
                    subject_token,
                    subject_token_type,
                    audience,
                    scopes: form.scopes(),
                }
            }
            GrantType::JwtBearer => Self::JwtBearer {
                assertion: form.require("assertion")?,
                scopes: form.scopes(),
            },
        })
    }
}

/// Everything a grant needs about the request it serves.
pub struct GrantRequest<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantSnapshot,
    pub server: &'a ServerSnapshot,
    pub client: &'a ClientSnapshot,
    /// The request's parameters as sent (an inline hook sees the protocol ones).
    pub form: &'a Form,
    /// Seconds (token claims) and milliseconds (stored timestamps, leeways) of the same instant.
    pub now: i64,
    pub now_ms: i64,
    /// The client address the request is attributed to (sign-in throttling).
    pub address: Option<std::net::IpAddr>,
    /// The thumbprint of the DPoP key the request proved (apps with DPoP-bound tokens): the
    /// access token's `cnf.jkt`, and the refresh token's binding.
    pub dpop_jkt: Option<String>,
}

/// What a grant issued.
pub struct Granted {
    pub scopes: Vec<String>,
    pub access: AccessToken,
    pub id_token: Option<IdToken>,
    /// The refresh token handed out (new, rotated or the same static one).
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1: what a token exchange issued.
    pub issued_token_type: Option<&'static str>,
}

impl Granted {
    /// Whether what was issued is an identity assertion (an ID-JAG), not an access token.
    pub fn is_assertion(&self) -> bool {
        self.issued_token_type == Some(id_jag::TOKEN_TYPE)
    }

    /// The token response (RFC 6749 §5.1).
    pub fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        // RFC 8693 §2.2.1: `N_A` when the issued token is not an access token.
        let token_type = if self.is_assertion() { "N_A" } else { "Bearer" };
        body.insert("token_type".into(), json!(token_type));
        body.insert("expires_in".into(), json!(self.access.expires_in));
        body.insert("access_token".into(), json!(self.access.jwt));
        body.insert("scope".into(), json!(self.scopes.join(" ")));
        if let Some(id) = &self.id_token {
            body.insert("id_token".into(), json!(id.jwt));
        }
        if let Some(rt) = &self.refresh_token {
            body.insert("refresh_token".into(), json!(rt));
        }
        if let Some(kind) = self.issued_token_type {
            body.insert("issued_token_type".into(), json!(kind));
        }
        body
    }
}

/// Runs the grant `params` asks for.
pub async fn run(r: &GrantRequest<'_>, params: Params<'_>) -> Result<Granted, OAuthError> {
    match params {
        Params::ClientCredentials { scopes } if r.server.org => {
            org::client_credentials(r, scopes).await
        }
        Params::ClientCredentials { scopes } => client_credentials::grant(r, scopes).await,
        Params::Password {
            username,
            password,
            scopes,
        } => password::grant(r, username, password, scopes).await,
        Params::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => authorization_code::grant(r, code, redirect_uri, code_verifier).await,
        Params::RefreshToken {
            refresh_token,
            scopes,
        } => refresh::grant(r, refresh_token, scopes).await,
        Params::DeviceCode { device_code } => device_code::grant(r, device_code).await,
        Params::TokenExchange {
            subject_token,
            subject_token_type,
            audience,
            scopes,
        } if r.server.org => {
            id_jag::issue(r, subject_token, subject_token_type, audience, scopes).await
        }
        Params::TokenExchange {
            subject_token,
            subject_token_type,
            audience,
            scopes,
        } => token_exchange::grant(r, subject_token, subject_token_type, audience, scopes).await,
        Params::JwtBearer { assertion, scopes } => jwt_bearer::grant(r, assertion, scopes).await,
    }
}

/// The policy decision for this request (the one decision function every grant uses):
/// policies by priority, their rules by priority, first match wins.
fn decide(
    r: &GrantRequest<'_>,
    grant_type: &str,
    user: Option<&UserFacts>,
    scopes: Option<&[String]>,
) -> Result<Grant, Denied> {
    let request = policy_request(r.tenant, r.client, grant_type, user, scopes);
    let decision = policy::evaluate(&r.server.policies, &r.server.scopes, &request);
    if let Err(d) = &decision {
        tracing::info!(client = %r.client.client_id, grant_type, reason = ?d, "token request denied by policy");
    }
    decision
}

/// The policy question a token request asks (the token endpoint and the token preview ask it
/// alike).
fn policy_request<'a>(
    tenant: &'a TenantSnapshot,
    client: &'a ClientSnapshot,
    grant_type: &'a str,
    user: Option<&'a UserFacts>,
    scopes: Option<&'a [String]>,
) -> policy::Request<'a> {
    policy::Request {
        client_id: &client.client_id,
        grant_type,
        user,
        scopes,
        everyone_group_id: &tenant.everyone_group_id,
    }
}

/// The granted scopes that need a user's consent on this server.
fn needing_consent<'g>(r: &GrantRequest<'_>, grant: &'g Grant) -> Vec<&'g str> {
    consent_scopes(r.server, grant)
}

fn consent_scopes<'g>(server: &ServerSnapshot, grant: &'g Grant) -> Vec<&'g str> {
    server.needing_consent(&grant.scopes, tessera_hot::Asking::Required)
}

/// The issuance of `grant` to this request (the hook context names the token endpoint).
fn issue<'a>(
    r: &'a GrantRequest<'_>,
    grant: &'a Grant,
    user: Option<(&'a UserInfo, i64)>,
    refresh_token_id: Option<&'a str>,
) -> crate::issue::Issue<'a> {
    crate::issue::Issue {
        state: r.state,
        tenant: r.tenant,
        server: r.server,
        client: r.client,
        grant,
        user: user.map(|(u, _)| u),
        auth_time: user.map(|(_, at)| at),
        dpop_jkt: r.dpop_jkt.as_deref(),
        now: r.now,
        origin: crate::issue::Origin {
            endpoint: "token",
            grant_type: r.form.get("grant_type").unwrap_or_default(),
            params: r.form,
            refresh_token_id,
        },
    }
}

/// An access token for `grant` and no user (client credentials).
async fn app_tokens(r: &GrantRequest<'_>, grant: Grant) -> Result<Granted, OAuthError> {
    let want = Want {
        access: true,
        ..Want::default()
    };
    let issued = crate::issue::tokens(&issue(r, &grant, None, None), want).await?;
    let access = issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))?;
    Ok(Granted {
        scopes: grant.scopes,
        access,
        id_token: None,
        refresh_token: None,
        issued_token_type: None,
    })
}

/// An access token alone for `user` (signed in at `auth_time`): the grants that issue neither
/// an ID token nor a refresh token (token exchange, JWT bearer).
async fn user_access(
    r: &GrantRequest<'_>,
    grant: &Grant,
    user: &UserInfo,
    auth_time: i64,
) -> Result<AccessToken, OAuthError> {
    let want = Want {
        access: true,
        ..Want::default()
    };
    let issued =
        crate::issue::tokens(&issue(r, grant, Some((user, auth_time)), None), want).await?;
    issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))
}

/// The tokens of a user-bound grant: the access token for `user` and, when `openid` was
/// granted, an ID token beside it (signed in at `auth_time`, echoing `nonce`).
async fn user_tokens(
    r: &GrantRequest<'_>,
    grant: &Grant,
    user: &UserInfo,
    session: IdTokenFor<'_>,
    refresh_token_id: Option<&str>,
) -> Result<Granted, OAuthError> {
    let auth_time = session.auth_time;
    let want = Want {
        access: true,
        id: grant
            .scopes
            .iter()
            .any(|s| s == "openid")
            .then_some(session),
        code: None,
    };
    let issued = crate::issue::tokens(
        &issue(r, grant, Some((user, auth_time)), refresh_token_id),
        want,
    )
    .await?;
    let access = issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))?;
    Ok(Granted {
        scopes: grant.scopes.clone(),
        access,
        id_token: issued.id_token,
        refresh_token: None,
        issued_token_type: None,
    })
}

/// The user's groups, and whether (and as whom) they are assigned to the client, directly or
/// through a group. `None` when not assigned.
async fn assigned_user(
    r: &GrantRequest<'_>,
    u: &user::Model,
) -> Result<Option<(UserInfo, UserFacts)>, OAuthError> {
    let info = UserInfo::load(&r.state.db, &r.tenant.tenant_id, r.client, u).await?;
    if !crate::code::assigned(r.tenant, r.client, &u.id, &info.group_ids) {
        return Ok(None);
    }
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids: info.group_ids.clone(),
    };
    Ok(Some((info, facts)))
}
