//! Dynamic client registration (RFC 7591/7592, Okta's Client API): openid-client (npm,
//! unchanged) registers a client with an org-server token as its initial access token; the
//! client is an app of the Apps API, read, replaced and deleted at `/oauth2/v1/clients`.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn};

#[actix_web::test]
async fn openid_client_registers_a_client_dynamically() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports.read"})),
    )
    .await
    .expect(201);
    crate::okta_sdk::run_node(
        "openid-client-dcr.test.mjs",
        vec![
            ("TESSERA_ORG_URL", t.org.clone()),
            ("TESSERA_API_TOKEN", t.token.clone()),
        ],
        6,
    )
    .await;
    app.stop().await;
}
