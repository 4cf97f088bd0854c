//! Client keys from `jwks_uri`: openid-client signs its `private_key_jwt` assertions with keys
//! it publishes itself (on loopback, in a deployment that allows it); the URL is held to the
//! outbound guard when the app is saved, and a set that is too large, not JSON or not there
//! refuses the assertion without changing anything.

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, config, free_port, spawn, spawn_with};
use crate::introspection::app_with;

fn keyed_app(jwks_uri: &str) -> Value {
    json!({"name": "oidc_client", "label": "publishes its keys", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "private_key_jwt"}},
        "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"],
            "jwks_uri": jwks_uri}}})
}

async fn with_scope(app: &TestApp, t: &Tenant) {
    app.api(
        t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports.read"})),
    )
    .await
    .expect(201);
}

#[actix_web::test]
async fn openid_client_signs_with_a_key_published_at_its_jwks_uri() {
    let mut cfg = config(Backend::Embedded).await;
    cfg.hooks_allow_http_loopback = true;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    with_scope(&app, &t).await;
    let port = free_port();
    let c = app_with(
        &app,
        &t,
        keyed_app(&format!("http://127.0.0.1:{port}/jwks.json")),
    )
    .await;
    crate::okta_sdk::run_node(
        "openid-client-jwks-uri.test.mjs",
        vec![
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", c.id.clone()),
            ("TESSERA_JWKS_PORT", port.to_string()),
        ],
        4,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn a_jwks_uri_is_held_to_the_outbound_guard() {
    // The default deployment: no loopback, no internal address, https only.
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    for uri in [
        "http://127.0.0.1:9/jwks.json",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.7/jwks.json",
        "http://keys.example/jwks.json",
        "not a url",
    ] {
        let reply = app
            .api(&t, Method::POST, "/apps", Some(keyed_app(uri)))
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{uri}: {}", reply.body);
        assert!(
            reply
                .body
                .to_string()
                .contains("settings.oauthClient.jwks_uri"),
            "{uri}: {}",
            reply.body
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_set_too_large_or_not_json_or_missing_refuses_the_assertion() {
    let mut cfg = config(Backend::Embedded).await;
    cfg.hooks_allow_http_loopback = true;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    with_scope(&app, &t).await;
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/huge",
                web::get().to(|| async {
                    HttpResponse::Ok().body(format!(
                        "{{\"keys\":[],\"pad\":\"{}\"}}",
                        "x".repeat(100 * 1024)
                    ))
                }),
            )
            .route(
                "/html",
                web::get().to(|| async { HttpResponse::Ok().body("<html>keys</html>") }),
            )
            .route(
                "/gone",
                web::get().to(|| async { HttpResponse::NotFound().finish() }),
            )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    let key = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let signer = tessera_jose::SigningKey::from_pkcs8(&key.kid, key.alg, &key.pkcs8).unwrap();
    let token_url = format!("{}/oauth2/default/v1/token", t.org);
    for path in ["huge", "html", "gone"] {
        let c = app_with(
            &app,
            &t,
            keyed_app(&format!("http://127.0.0.1:{port}/{path}")),
        )
        .await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let assertion = tessera_jose::jws(
            &signer,
            None,
            &json!({"iss": c.id, "sub": c.id, "aud": token_url, "iat": now, "exp": now + 300,
                "jti": format!("{path}-1")}),
        )
        .unwrap();
        let res = app
            .client
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "reports.read"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{path}: {body}");
    }
    app.stop().await;
}
