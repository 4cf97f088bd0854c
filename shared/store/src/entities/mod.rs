//! sea-orm entities, one per table of the durable state (docs/architecture.md, "Storage decisions").
//!
//! Every table has the same spine: `seq` (auto-increment primary key, the pagination cursor and
//! creation order), `tenant_id`, `id` (the public identifier, unique within the tenant),
//! `created` and `last_updated` (milliseconds since the epoch). Nested objects whose fields are
//! never queried on their own (an app's `settings`, a rule's `conditions`) are JSON text; the
//! fields the API filters or joins on are columns of their own.

pub mod api_token;
pub mod app;
pub mod app_group;
pub mod app_jwk;
pub mod app_secret;
pub mod app_user;
pub mod associated_server;
pub mod authorization_server;
pub mod claim;
pub mod consent;
pub mod group;
pub mod group_member;
pub mod inline_hook;
pub mod log_event;
pub mod policy;
pub mod policy_rule;
pub mod refresh_token;
pub mod revocation;
pub mod role_assignment;
pub mod role_target;
pub mod scope;
pub mod signing_key;
pub mod tenant;
pub mod trusted_origin;
pub mod user;
