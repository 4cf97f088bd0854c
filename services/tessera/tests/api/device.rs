//! The device authorization grant (RFC 8628): openid-client (npm, unchanged) runs it through
//! discovery while a form driver approves on the hosted page; every way a poll, a device
//! request or a code entry can be wrong gets its RFC error and changes nothing.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::authorize::Browser;
use crate::helpers::{Backend, Tenant, TestApp, config, spawn, spawn_clocked};
use crate::introspection::{Creds, app_with};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_app(grants: &[&str]) -> Value {
    json!({"name": "oidc_client", "label": "TV app", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
        "settings": {"oauthClient": {"application_type": "native", "grant_types": grants}}})
}

/// A user assigned to `c`; returns its login.
async fn assigned_user(app: &TestApp, t: &Tenant, c: &Creds, login: &str) -> String {
    let u = app.user(t, login).await;
    app.api(
        t,
        Method::POST,
        &format!("/apps/{}/users", c.id),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    login.to_owned()
}

/// `POST …/v1/device/authorize` as the public client `c`.
async fn start(app: &TestApp, t: &Tenant, c: &Creds, scope: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/device/authorize", t.org))
        .form(&[("client_id", c.id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn poll(app: &TestApp, t: &Tenant, c: &Creds, device_code: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/token", t.org))
        .form(&[
            ("client_id", c.id.as_str()),
            ("grant_type", DEVICE),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Signs in through `verification_uri_complete` and answers `decision`; the final page.
async fn answer(app: &TestApp, complete: &str, login: &str, decision: &str) -> (u16, String) {
    let mut browser = Browser::new(app);
    let page = browser
        .sign_in_through(complete, login, "Analytical1Engine")
        .await;
    assert_eq!(page.status(), 200, "the approval page");
    let html = page.text().await.unwrap();
    let marker = "name=\"approval\" value=\"";
    let at = html.find(marker).expect("an approval form") + marker.len();
    let approval = html[at..].split('"').next().unwrap().to_owned();
    let tenant_path = complete.split("/activate").next().unwrap().to_owned();
    let res = browser
        .post_form(
            &format!("{tenant_path}/activate"),
            &[("approval", approval.as_str()), ("decision", decision)],
        )
        .await;
    (res.status().as_u16(), res.text().await.unwrap())
}

#[actix_web::test]
async fn openid_client_runs_the_device_grant() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = app_with(&app, &t, device_app(&[DEVICE, "refresh_token"])).await;
    let login = assigned_user(&app, &t, &c, "tv@example.com").await;
    crate::okta_sdk::run_node(
        "openid-client-device.test.mjs",
        vec![
            ("TESSERA_ORG", t.org.clone()),
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", c.id.clone()),
            ("TESSERA_USERNAME", login),
            ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ],
        4,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn every_bad_device_request_poll_and_code_entry_is_refused() {
    let clock = Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let app = spawn_clocked(
        config(Backend::Embedded).await,
        &tessera::Service::ALL,
        clock.clone(),
    )
    .await;
    let t = app.provision().await;
    let c = app_with(&app, &t, device_app(&[DEVICE])).await;
    let other = app_with(&app, &t, device_app(&[DEVICE])).await;
    let login = assigned_user(&app, &t, &c, "tv@example.com").await;

    // The device request: a client without the grant, an unknown scope, the org server.
    let no_grant = app_with(
        &app,
        &t,
        json!({"name": "oidc_client", "label": "no device", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
            "settings": {"oauthClient": {"application_type": "native", "grant_types": ["authorization_code"],
                "redirect_uris": ["com.example:/cb"], "response_types": ["code"]}}}),
    )
    .await;
    let (status, body) = start(&app, &t, &no_grant, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = start(&app, &t, &c, "openid no.such.scope").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let res = app
        .client
        .post(format!("{}/oauth2/v1/device/authorize", t.org))
        .form(&[("client_id", c.id.as_str()), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "the org server has no device endpoint");

    // Polling: pending, then too fast; another client's poll; a made-up code.
    let (status, started) = start(&app, &t, &c, "openid").await;
    assert_eq!(status, 200, "{started}");
    let code = started["device_code"].as_str().unwrap().to_owned();
    let (status, body) = poll(&app, &t, &c, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (status, body) = poll(&app, &t, &c, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")));
    let (_, body) = poll(&app, &t, &other, &code).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "another client's device code"
    );
    let (_, body) = poll(&app, &t, &c, "made-up-device-code").await;
    assert_eq!(body["error"], "invalid_grant");

    // The hosted page: a malformed code, an unknown code, then guessing is throttled.
    let complete = started["verification_uri_complete"].as_str().unwrap();
    let entry = format!("{}/activate", t.org);
    let browser = Browser::new(&app);
    let page = browser.get(&entry).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("name=\"user_code\""));
    let page = browser.get(&format!("{entry}?user_code=AEIOU123")).await;
    assert_eq!(page.status(), 400, "not a code");
    let page = browser.get(&format!("{entry}?user_code=BBBB-BBBB")).await;
    assert_eq!(page.status(), 400, "no such code");

    // The user approves; the first poll (after the interval) gets the tokens, the next one
    // nothing: the code is spent. The code cannot be entered again either.
    let (status, html) = answer(&app, complete, &login, "allow").await;
    assert_eq!(status, 200);
    assert!(html.contains("Device activated"), "{html}");
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (status, tokens) = poll(&app, &t, &c, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["id_token"].is_string());
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access asked"
    );
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (_, body) = poll(&app, &t, &c, &code).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "a device code is single use"
    );
    let page = browser.get(complete).await;
    assert_eq!(page.status(), 400, "an answered user code is gone");

    // A code nobody answers expires: expired_token.
    let (_, late) = start(&app, &t, &c, "openid").await;
    clock.advance(time::Duration::minutes(11));
    let (status, body) = poll(&app, &t, &c, late["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    let page = browser
        .get(late["verification_uri_complete"].as_str().unwrap())
        .await;
    assert_eq!(page.status(), 400, "an expired user code cannot be entered");

    // Guessing: each address has ten lookups a minute.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            browser
                .get(&format!("{entry}?user_code=CCCC-CCCC"))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    app.stop().await;
}

#[actix_web::test]
async fn a_policy_rule_must_allow_the_device_grant() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = app_with(&app, &t, device_app(&[DEVICE])).await;
    // A server whose one rule allows only the authorization code grant.
    let server = app
        .api(
            &t,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "tv", "audiences": ["api://tv"]})),
        )
        .await
        .expect(201);
    let sid = server["id"].as_str().unwrap();
    let policy = app
        .api(
            &t,
            Method::POST,
            &format!("/authorizationServers/{sid}/policies"),
            Some(json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "all", "description": "all", "priority": 1,
                "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}})),
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
        Some(
            json!({"type": "RESOURCE_ACCESS", "name": "code only", "priority": 1,
            "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
                "grantTypes": {"include": ["authorization_code"]}, "scopes": {"include": ["*"]}}}),
        ),
    )
    .await
    .expect(201);
    let res = app
        .client
        .post(format!("{}/oauth2/{sid}/v1/device/authorize", t.org))
        .form(&[("client_id", c.id.as_str()), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "access_denied", "{body}");
    // The default server's default rule allows it.
    let (status, body) = start(&app, &t, &c, "openid").await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

/// The hosted approval page names each scope the device asked for with the description the
/// tenant gave it (read when the page is shown, so an edit shows at once), HTML-escaped.
#[actix_web::test]
async fn the_approval_page_describes_the_requested_scopes() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let scope = app
        .api(
            &t,
            Method::POST,
            "/authorizationServers/default/scopes",
            Some(json!({"name": "recordings.read", "description": "Watch your <recordings>"})),
        )
        .await
        .expect(201);
    let c = app_with(&app, &t, device_app(&[DEVICE])).await;
    let login = assigned_user(&app, &t, &c, "tv@example.com").await;

    let (status, started) = start(&app, &t, &c, "openid recordings.read").await;
    assert_eq!(status, 200, "{started}");
    let complete = started["verification_uri_complete"].as_str().unwrap();
    let page = Browser::new(&app)
        .sign_in_through(complete, &login, "Analytical1Engine")
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<strong>recordings.read</strong>: Watch your &lt;recordings&gt;"),
        "{html}"
    );
    assert!(!html.contains("<recordings>"), "the description is escaped");

    // An edited description shows on the next page.
    app.api(
        &t,
        Method::PUT,
        &format!(
            "/authorizationServers/default/scopes/{}",
            scope["id"].as_str().unwrap()
        ),
        Some(json!({"name": "recordings.read", "description": "Play your recordings"})),
    )
    .await
    .expect(200);
    let (_, started) = start(&app, &t, &c, "openid recordings.read").await;
    let complete = started["verification_uri_complete"].as_str().unwrap();
    let html = Browser::new(&app)
        .sign_in_through(complete, &login, "Analytical1Engine")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<strong>recordings.read</strong>: Play your recordings"),
        "{html}"
    );
    app.stop().await;
}
