//! Pushed authorization requests (RFC 9126): openid-client (npm, unchanged) runs the code flow
//! through `/par` for an app that requires it; the endpoint refuses what it can check before a
//! user is involved, and a `request_uri` works once, for its own client and server only.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, spawn};
use crate::introspection::{Creds, app_with, post};

const REDIRECT: &str = "https://par.example/callback";

fn web_app(require_par: bool) -> Value {
    json!({"name": "oidc_client", "label": "pushing web app", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code"],
            "response_types": ["code"], "redirect_uris": [REDIRECT],
            "require_pushed_authorization_requests": require_par}}})
}

async fn push(app: &TestApp, t: &Tenant, c: &Creds, fields: &[(&str, &str)]) -> (u16, Value) {
    post(app, &format!("{}/oauth2/default/v1/par", t.org), c, fields).await
}

const REQUEST: &[(&str, &str)] = &[
    ("response_type", "code"),
    ("redirect_uri", REDIRECT),
    ("scope", "openid"),
    ("state", "s1"),
    (
        "code_challenge",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ),
    ("code_challenge_method", "S256"),
];

#[actix_web::test]
async fn openid_client_pushes_its_authorization_request() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app_with(&app, &t, web_app(true)).await;
    let u = app.user(&t, "pusher@example.com").await;
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", web.id),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    // The setting reads back as written.
    let read = app
        .api(&t, Method::GET, &format!("/apps/{}", web.id), None)
        .await
        .expect(200);
    assert_eq!(
        read["settings"]["oauthClient"]["require_pushed_authorization_requests"],
        true
    );
    crate::okta_sdk::run_node(
        "openid-client-par.test.mjs",
        vec![
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", web.id.clone()),
            ("TESSERA_CLIENT_SECRET", web.secret.clone()),
            ("TESSERA_REDIRECT_URI", REDIRECT.to_owned()),
            ("TESSERA_USERNAME", "pusher@example.com".to_owned()),
            ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ],
        4,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn the_par_endpoint_refuses_what_it_can_check_and_a_request_uri_is_its_clients_once() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app_with(&app, &t, web_app(false)).await;
    let other = app_with(&app, &t, web_app(false)).await;

    let (status, body) = push(&app, &t, &web, REQUEST).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 3600);
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );

    let with = |name: &'static str, value: &'static str| {
        let mut fields: Vec<(&str, &str)> = REQUEST
            .iter()
            .copied()
            .filter(|(k, _)| *k != name)
            .collect();
        fields.push((name, value));
        fields
    };
    for (fields, error) in [
        (
            with("redirect_uri", "https://evil.example/cb"),
            "invalid_request",
        ),
        (with("response_type", "token"), "unsupported_response_type"),
        (
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
    ] {
        let (status, body) = push(&app, &t, &web, &fields).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{fields:?}: {body}"
        );
    }
    // Without client authentication, or with a wrong secret.
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/par", t.org))
        .form(&[REQUEST, &[("client_id", web.id.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let wrong = Creds {
        id: web.id.clone(),
        secret: "wrong".into(),
    };
    let (status, body) = push(&app, &t, &wrong, REQUEST).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let authorize = |client_id: &str, uri: &str| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id)
            .append_pair("request_uri", uri)
            .finish();
        format!("{}/oauth2/default/v1/authorize?{query}", t.org)
    };
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Another client cannot use it (and that spends it), nor can a made-up one be used.
    let res = no_redirects
        .get(authorize(&other.id, &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "another client's request_uri");
    let res = no_redirects
        .get(authorize(&web.id, &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "spent by the failed attempt");
    let res = no_redirects
        .get(authorize(
            &web.id,
            "urn:ietf:params:oauth:request_uri:made-up",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // A fresh one works once: the browser is sent to sign in.
    let (_, body) = push(&app, &t, &web, REQUEST).await;
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    let res = no_redirects
        .get(authorize(&web.id, &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(crate::authorize::location(&res).contains("/login?pending="));
    let res = no_redirects
        .get(authorize(&web.id, &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "single use");
    app.stop().await;
}
