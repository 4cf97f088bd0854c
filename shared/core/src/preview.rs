//! The token preview and the claim checks of the configuration advice, as the admin service
//! asks for them. They run the token service's own decision code (its grants' checks, the
//! policy explanation, the claims engine), which the admin service does not depend on: the
//! composition root (`tessera serve`) installs the token service's [`Previewer`] in
//! [`crate::AppState::previewer`] at start-up.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::AppState;

/// What to preview.
#[derive(Debug, Clone, Default)]
pub struct PreviewInput {
    pub client_id: String,
    pub grant_type: String,
    /// `None`: the request has no `scope` parameter.
    pub scopes: Option<Vec<String>>,
    /// The user (an id or a login); required by every grant but `client_credentials`.
    pub user: Option<String>,
    /// A proposed change to the server's policies, previewed beside the saved ones.
    pub proposed: Option<Value>,
}

/// Why there is no preview.
#[derive(Debug)]
pub enum Unpreviewable {
    /// No such custom authorization server in the tenant.
    UnknownServer,
    /// A field of the request is wrong (the field and what is wrong with it).
    Invalid(&'static str, String),
    /// A store failed; `unavailable` when it could not be reached.
    Failed { unavailable: bool, cause: String },
}

/// A claim that fails to evaluate for a user of an app: that user's token requests fail.
#[derive(Debug, Clone)]
pub struct ClaimFailure {
    pub claim: String,
    pub claim_type: String,
    pub user_login: String,
    pub client_id: String,
    pub error: String,
}

pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The token service's decisions, for the admin service.
pub trait Previewer: Send + Sync {
    /// What the token endpoint of `server` (`default` or an id) would decide for `input`.
    fn preview<'a>(
        &'a self,
        state: &'a AppState,
        tenant: &'a str,
        server: &'a str,
        input: &'a PreviewInput,
    ) -> Pending<'a, Result<Value, Unpreviewable>>;

    /// The claims of `server` that fail to evaluate for some user of an app.
    fn claim_failures<'a>(
        &'a self,
        state: &'a AppState,
        tenant: &'a str,
        server: &'a str,
    ) -> Pending<'a, Result<Vec<ClaimFailure>, Unpreviewable>>;
}
