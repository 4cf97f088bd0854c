//! Outbound calls to inline hooks (OKTA-REFERENCE §8): one HTTP client per process, with
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
}

/// The process's client for hook calls.
#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
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
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            tokens: Arc::default(),
        }
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
        let res = self
            .http
            .post(&oauth.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    CallError::Timeout
                } else {
                    CallError::Unreachable(format!("token request: {}", e.without_url()))
                }
            })?;
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
        let mut req = self
            .http
            .request(method, &target.uri)
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
        let mut res = req.send().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Unreachable(e.without_url().to_string())
            }
        })?;
        let status = res.status().as_u16();
        if status == 204 {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        if status != 200 {
            return Err(CallError::Status(status));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Unreachable(e.without_url().to_string())
            }
        })? {
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

impl Default for HookClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks a hook URI: `https://`, or `http://` to a loopback address when the development flag
/// allows it.
pub fn check_uri(uri: &str, allow_http_loopback: bool) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|_| format!("'{uri}' is not a valid URI"))?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if allow_http_loopback => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("An http:// hook URI must point to a loopback address.".into()),
        },
        _ => Err("The hook URI must use https.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_uris_must_be_https_unless_loopback_http_is_allowed() {
        assert!(check_uri("https://hooks.example.com/token", false).is_ok());
        assert!(check_uri("http://hooks.example.com/token", false).is_err());
        assert!(check_uri("http://127.0.0.1:8080/token", false).is_err());
        assert!(check_uri("http://127.0.0.1:8080/token", true).is_ok());
        assert!(check_uri("http://[::1]:8080/token", true).is_ok());
        assert!(check_uri("http://localhost/token", true).is_ok());
        assert!(check_uri("http://10.0.0.1/token", true).is_err());
        assert!(check_uri("ftp://hooks.example.com", true).is_err());
        assert!(check_uri("not a uri", true).is_err());
    }
}
