//! OAuth 2.0 plumbing shared by the token and introspection services.
//!
//! * [`error`]: the one conversion point to RFC 6749 §5.2 error responses.
//! * [`form`]: `application/x-www-form-urlencoded` bodies with repeated parameters refused.
//! * [`tokens`]: what a presented token is and whether it is still active (local JWT
//!   verification against the hot state, refresh tokens by hash, revocation markers).
//! * [`dpop`]: DPoP proofs (RFC 9449).
//! * [`client_auth`]: client authentication (RFC 6749 §2.3, RFC 7523): `client_secret_basic`,
//!   `client_secret_post`, `client_secret_jwt`, `private_key_jwt` and `none`.

pub mod client_auth;
pub mod dpop;
pub mod error;
pub mod form;
pub mod tokens;

pub use error::{ErrorCode, OAuthError};
pub use form::Form;
