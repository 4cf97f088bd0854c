//! Black-box tests of the management and operator APIs: each test starts the real server on
//! port 0 (against SQLite or PostgreSQL, the in-process store or Redis) and drives it over HTTP.
//! PostgreSQL and Redis are expected at `TESSERA_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and `TESSERA_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`); each PostgreSQL test creates its own database.

// Test helpers state their expectations with unwrap/expect (a panic is the failure message),
// and the servers under test run on the system clock, which the tests read too.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: see above"
)]

mod advice;
mod architecture;
mod audit;
mod authorize;
mod chaos;
mod claims_param;
mod cli;
mod cluster;
mod conformance;
mod cors;
mod dcr;
mod deploy_artifacts;
mod device;
mod dpop;
mod faults;
mod helpers;
mod hooks;
mod introspection;
mod isolation;
mod jwks_uri;
mod jwt_bearer;
mod management;
mod observability;
mod okta_parity;
mod okta_sdk;
mod openapi;
mod operator;
mod par;
mod persistence;
mod preview;
mod rate_limits;
mod readme;
mod reloads;
mod roles;
mod rotation;
mod routing;
mod security;
mod system_log;
mod token;
mod token_exchange;
