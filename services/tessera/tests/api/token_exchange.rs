//! Token exchange (RFC 8693; Okta's On-Behalf-Of flow): openid-client exchanges a user's token
//! as a service app and @okta/jwt-verifier checks the result; subject tokens of another server
//! count only once it is trusted; every bad exchange is refused with its RFC error.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, spawn};
use crate::introspection::{Creds, app_with, native_app, post, user_tokens};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

fn exchanger() -> Value {
    json!({"name": "oidc_client", "label": "orders API", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"oauthClient": {"application_type": "service",
            "grant_types": ["client_credentials", EXCHANGE]}}})
}

async fn scope(app: &TestApp, t: &Tenant, server: &str, name: &str) {
    app.api(
        t,
        Method::POST,
        &format!("/authorizationServers/{server}/scopes"),
        Some(json!({"name": name})),
    )
    .await
    .expect(201);
}

async fn exchange(
    app: &TestApp,
    t: &Tenant,
    server: &str,
    c: &Creds,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![("grant_type", EXCHANGE)];
    form.extend_from_slice(fields);
    post(
        app,
        &format!("{}/oauth2/{server}/v1/token", t.org),
        c,
        &form,
    )
    .await
}

#[actix_web::test]
async fn openid_client_exchanges_a_users_token() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    scope(&app, &t, "default", "orders.read").await;
    let native = app_with(&app, &t, native_app()).await;
    let (uid, subject, _) = user_tokens(&app, &t, &native, "shopper@example.com").await;
    let api = app_with(&app, &t, exchanger()).await;
    crate::okta_sdk::run_node(
        "openid-client-exchange.test.mjs",
        vec![
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", api.id.clone()),
            ("TESSERA_CLIENT_SECRET", api.secret.clone()),
            ("TESSERA_SUBJECT_TOKEN", subject),
            ("TESSERA_USER_ID", uid),
            ("TESSERA_USERNAME", "shopper@example.com".to_owned()),
        ],
        5,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn every_bad_token_exchange_is_refused_and_trust_is_per_server() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    scope(&app, &t, "default", "orders.read").await;
    let native = app_with(&app, &t, native_app()).await;
    let (_, subject, _) = user_tokens(&app, &t, &native, "shopper@example.com").await;
    let api = app_with(&app, &t, exchanger()).await;
    let ok = [
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS_TOKEN),
        ("audience", "api://default"),
        ("scope", "orders.read"),
    ];
    let (status, body) = exchange(&app, &t, "default", &api, &ok).await;
    assert_eq!(status, 200, "{body}");

    let with = |name: &'static str, value: &'static str| {
        ok.iter()
            .map(|(k, v)| if *k == name { (*k, value) } else { (*k, *v) })
            .collect::<Vec<_>>()
    };
    let without = |name: &'static str| {
        ok.iter()
            .copied()
            .filter(|(k, _)| *k != name)
            .collect::<Vec<_>>()
    };
    for (fields, error) in [
        (without("audience"), "invalid_request"),
        (without("scope"), "invalid_request"),
        (without("subject_token"), "invalid_request"),
        (
            with(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            "invalid_request",
        ),
        (with("audience", "api://elsewhere"), "invalid_target"),
        (with("scope", "orders.read offline_access"), "invalid_scope"),
        (with("scope", "no.such.scope"), "invalid_scope"),
        (with("subject_token", "not-a-token"), "invalid_grant"),
    ] {
        let (status, body) = exchange(&app, &t, "default", &api, &fields).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{fields:?}: {body}"
        );
    }

    // A client-credentials token has no user to act for.
    let (_, cc) = post(
        &app,
        &format!("{}/oauth2/default/v1/token", t.org),
        &api,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders.read"),
        ],
    )
    .await;
    let cc = cc["access_token"].as_str().unwrap().to_owned();
    let (_, body) = exchange(
        &app,
        &t,
        "default",
        &api,
        &[
            ("subject_token", cc.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
            ("audience", "api://default"),
            ("scope", "orders.read"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // A client without the grant.
    let plain = app_with(&app, &t, crate::helpers::service_app("plain")).await;
    let (status, body) = exchange(&app, &t, "default", &plain, &ok).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    // A second server: the default server's tokens are accepted there only once it trusts
    // the default server.
    let server = app
        .api(
            &t,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "orders", "audiences": ["api://orders"]})),
        )
        .await
        .expect(201);
    let sid = server["id"].as_str().unwrap().to_owned();
    scope(&app, &t, &sid, "orders.write").await;
    let policy = app
        .api(
            &t,
            Method::POST,
            &format!("/authorizationServers/{sid}/policies"),
            Some(
                json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "all", "description": "all",
                "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}}),
            ),
        )
        .await
        .expect(201);
    app.api(
        &t,
        Method::POST,
        &format!(
            "/authorizationServers/{sid}/policies/{}/rules",
            policy["id"].as_str().unwrap()
        ),
        Some(json!({"type": "RESOURCE_ACCESS", "name": "exchange",
            "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
                "grantTypes": {"include": [EXCHANGE]}, "scopes": {"include": ["*"]}}})),
    )
    .await
    .expect(201);
    let downstream = [
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS_TOKEN),
        ("audience", "api://orders"),
        ("scope", "orders.write"),
    ];
    let (_, body) = exchange(&app, &t, &sid, &api, &downstream).await;
    assert_eq!(body["error"], "invalid_grant", "not trusted yet: {body}");
    let default_id = app
        .api(&t, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{sid}/associatedServers"),
        Some(json!({"trusted": [default_id]})),
    )
    .await
    .expect(200);
    let (status, body) = exchange(&app, &t, &sid, &api, &downstream).await;
    assert_eq!(status, 200, "trusted now: {body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);

    // A revoked subject token is no subject.
    let revoked = app
        .client
        .post(format!("{}/oauth2/default/v1/revoke", t.org))
        .basic_auth(&native.id, Some(&native.secret))
        .form(&[("token", subject.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (_, body) = exchange(&app, &t, "default", &api, &ok).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    app.stop().await;
}
