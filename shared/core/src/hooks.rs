//! Outbound calls to inline hooks (Okta's token inline hook, <https://developer.okta.com/docs/reference/token-hook/>): one HTTP client per process, with
//! pooled connections, shared by every tenant. A call is bounded by a 3-second timeout and a
//! 256 KB response, and runs on the async workers without holding anything else, so a slow hook
//! delays only the requests that wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_hot::HookOAuth;

/// How long Tessera waits for a hook (Okta's default; the token hook is never retried).
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The largest response Tessera reads from a hook.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

pub use tessera_hot::HookSnapshot as Target;

/// Why a hook call produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the hook did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("the hook could not be reached: {0}")]
    Unreachable(String),
    #[error("the hook answered HTTP {0}")]
    Status(u16),
    #[error("the hook's response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the hook's response is not a JSON object")]
    NotJson,
    #[error("the hook's token endpoint answered HTTP {0}")]
    TokenRefused(u16),
    #[error("the hook may not be called: {0}")]
    Refused(String),
}

/// The process's client for hook calls.
#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
    /// What the client may reach (every hook URL is checked against it before each call, and
    /// every name it resolves).
    policy: tessera_outbound::Policy,
    /// Access tokens of OAUTH-channel hooks until shortly before they expire.
    tokens: Arc<Mutex<HashMap<TokenKey, (String, Instant)>>>,
}

/// Whose token: the token URL and the client id.
type TokenKey = (String, String);

impl std::fmt::Debug for HookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookClient")
    }
}

impl HookClient {
    /// A client that calls only what `policy` allows.
    pub fn new(policy: tessera_outbound::Policy) -> Result<Self, reqwest::Error> {
        let http = tessera_outbound::client(
            policy.clone(),
            TIMEOUT,
            concat!("Tessera/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self {
            http,
            policy,
            tokens: Arc::default(),
        })
    }

    /// What this client may reach (for checking a hook's URL when it is saved).
    pub fn policy(&self) -> &tessera_outbound::Policy {
        &self.policy
    }

    /// The URL checked as written (IP literals, local names, the scheme); names are checked
    /// again as they resolve, by the client's resolver.
    fn checked(&self, url: &str) -> Result<url::Url, CallError> {
        self.policy
            .check_url(url)
            .map_err(|e| CallError::Refused(e.to_string()))
    }

    fn unreachable(e: reqwest::Error) -> CallError {
        if e.is_timeout() {
            return CallError::Timeout;
        }
        // A refusal by the guarded resolver is reported as such, not as a network fault.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = source {
            if let Some(refused) = err.downcast_ref::<tessera_outbound::Refused>() {
                return CallError::Refused(refused.to_string());
            }
            source = err.source();
        }
        CallError::Unreachable(e.without_url().to_string())
    }

    /// An access token for an OAUTH-channel hook: cached, or requested with
    /// `client_secret_post` (`grant_type=client_credentials`).
    async fn oauth_token(&self, oauth: &HookOAuth) -> Result<String, CallError> {
        let key = (oauth.token_url.clone(), oauth.client_id.clone());
        if let Some((token, until)) = self.cached(&key)
            && Instant::now() < until
        {
            return Ok(token);
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", oauth.client_id.as_str()),
            ("client_secret", oauth.client_secret.as_str()),
        ];
        if let Some(scope) = &oauth.scope {
            form.push(("scope", scope.as_str()));
        }
        let token_url = self.checked(&oauth.token_url)?;
        let res =
            self.http.post(token_url).form(&form).send().await.map_err(
                |e| match Self::unreachable(e) {
                    CallError::Unreachable(m) => {
                        CallError::Unreachable(format!("token request: {m}"))
                    }
                    other => other,
                },
            )?;
        if !res.status().is_success() {
            return Err(CallError::TokenRefused(res.status().as_u16()));
        }
        let body: Value = res.json().await.map_err(|_| CallError::NotJson)?;
        let token = body["access_token"]
            .as_str()
            .ok_or(CallError::NotJson)?
            .to_owned();
        // Renew a minute early, so a token never expires on the way.
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(300)
            .saturating_sub(60);
        let until = Instant::now() + Duration::from_secs(lifetime);
        if let Ok(mut cache) = self.tokens.lock() {
            cache.insert(key, (token.clone(), until));
        }
        Ok(token)
    }

    fn cached(&self, key: &TokenKey) -> Option<(String, Instant)> {
        self.tokens.lock().ok()?.get(key).cloned()
    }

    /// POSTs `body` to the hook and returns its JSON answer (`{}` for 204 No Content).
    #[tracing::instrument(name = "inline_hook.call", skip_all)]
    pub async fn call(&self, target: &Target, body: &Value) -> Result<Value, CallError> {
        let method =
            reqwest::Method::from_bytes(target.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let uri = self.checked(&target.uri)?;
        let mut req = self
            .http
            .request(method, uri)
            .header("Accept", "application/json")
            .json(body);
        for (k, v) in &target.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some((k, v)) = &target.auth {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(oauth) = &target.oauth {
            let token = self.oauth_token(oauth).await?;
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let mut res = req.send().await.map_err(Self::unreachable)?;
        let status = res.status().as_u16();
        if status == 204 {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        if status != 200 {
            return Err(CallError::Status(status));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(Self::unreachable)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(CallError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
            .ok_or(CallError::NotJson)
    }
}
