//! The `claims` request parameter (OpenID Connect Core §5.5): openid-client (npm, unchanged)
//! asks for individual claims for the ID token and for `/userinfo` and gets exactly those.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn};
use crate::introspection::app_with;

const REDIRECT: &str = "https://claims.example/callback";

#[actix_web::test]
async fn openid_client_asks_for_individual_claims() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app_with(
        &app,
        &t,
        json!({"name": "oidc_client", "label": "claims", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
            "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code"],
                "response_types": ["code"], "redirect_uris": [REDIRECT]}}}),
    )
    .await;
    let u = app.user(&t, "claims@example.com").await;
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", web.id),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    crate::okta_sdk::run_node(
        "openid-client-claims.test.mjs",
        vec![
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", web.id.clone()),
            ("TESSERA_CLIENT_SECRET", web.secret.clone()),
            ("TESSERA_REDIRECT_URI", REDIRECT.to_owned()),
            ("TESSERA_USERNAME", "claims@example.com".to_owned()),
            ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ],
        4,
    )
    .await;
    app.stop().await;
}
