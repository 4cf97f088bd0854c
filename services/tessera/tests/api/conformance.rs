//! Behaviour checked by the OpenID Foundation's conformance suite, one test per module of its
//! `oidcc-basic-certification-test-plan` and `oidcc-config-certification-test-plan` (the test
//! names are the module names, `-` written `_`). Each drives the real HTTP surface the way the
//! suite does: a browser without JavaScript through `/authorize` and the hosted sign-in form,
//! then the token and userinfo endpoints.

use reqwest::Method;
use serde_json::{Value, json};

use crate::authorize::{
    Browser, Setup, VERIFIER, authorize_url, challenge, exchange, jwt_claims, location,
    query_param, setup,
};
use crate::helpers::{Backend, TestApp, spawn, user};

const CALLBACK: &str = "https://portal.example/callback";
const LOGIN: &str = "flow@example.com";
const PASSWORD: &str = "Analytical1Engine";

/// `/authorize` parameters of a code request with `openid`, `state`, `nonce` and PKCE.
fn params<'a>(ch: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("scope", "openid profile email offline_access"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", ch),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        p.retain(|(name, _)| name != k);
        p.push((k, v));
    }
    p
}

/// Exchanges the code in `back` (a redirect to the client) for tokens.
async fn tokens_from(app: &TestApp, s: &Setup, back: &reqwest::Response) -> Value {
    let code = query_param(&location(back), "code")
        .unwrap_or_else(|| panic!("no code in {}", location(back)));
    let (status, tokens) = exchange(
        app,
        &s.t,
        Some((&s.web_id, &s.web_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// A signed-in browser and the tokens of its first sign-in.
async fn signed_in(app: &TestApp, s: &Setup) -> (Browser, Value) {
    let ch = challenge(VERIFIER);
    let url = authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[]));
    let mut browser = Browser::new(app);
    let back = browser.sign_in_through(&url, LOGIN, PASSWORD).await;
    let tokens = tokens_from(app, s, &back).await;
    (browser, tokens)
}

fn auth_time(jwt: &Value) -> i64 {
    jwt_claims(jwt.as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap()
}

#[actix_web::test]
async fn oidcc_discovery_endpoint_verification() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let issuer = format!("{}/oauth2/default", s.t.org);
    let d: Value = app
        .client
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], issuer);
    // Everything advertised exists: no endpoint answers 404. Registration is the org's.
    let registration = d["registration_endpoint"].as_str().unwrap();
    assert_eq!(registration, format!("{}/oauth2/v1/clients", s.t.org));
    let res = app.client.post(registration).send().await.unwrap();
    assert_eq!(res.status(), 401, "registration needs an admin credential");
    for (field, method) in [
        ("device_authorization_endpoint", Method::POST),
        ("pushed_authorization_request_endpoint", Method::POST),
        ("authorization_endpoint", Method::GET),
        ("token_endpoint", Method::POST),
        ("userinfo_endpoint", Method::GET),
        ("jwks_uri", Method::GET),
        ("revocation_endpoint", Method::POST),
        ("introspection_endpoint", Method::POST),
        ("end_session_endpoint", Method::GET),
    ] {
        let url = d[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing"));
        assert!(url.starts_with(&issuer), "{field}: {url}");
        let res = app.client.request(method, url).send().await.unwrap();
        assert_ne!(res.status(), 404, "{field} {url}");
    }
    let list = |field: &str| -> Vec<String> {
        d[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field} missing"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for rt in [
        "code",
        "id_token",
        "token",
        "code id_token",
        "code token",
        "id_token token",
        "code id_token token",
    ] {
        assert!(
            list("response_types_supported").contains(&rt.to_owned()),
            "{rt}"
        );
    }
    // Okta's four; `web_message` is accepted but not advertised (Okta's metadata enum).
    assert_eq!(
        list("response_modes_supported"),
        ["query", "fragment", "form_post", "okta_post_message"]
    );
    assert!(list("grant_types_supported").contains(&"implicit".to_owned()));
    let scopes = list("scopes_supported");
    assert!(scopes.contains(&"openid".to_owned()));
    assert!(
        !scopes.contains(&"device_sso".to_owned()),
        "no device grant"
    );
    assert_eq!(list("subject_types_supported"), ["public"]);
    assert!(list("id_token_signing_alg_values_supported").contains(&"RS256".to_owned()));
    // RFC 8414 §2: JWT client authentication is listed, so each endpoint names its algorithms.
    for prefix in [
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            list(&format!("{prefix}_auth_methods_supported"))
                .contains(&"private_key_jwt".to_owned())
        );
        assert!(
            list(&format!("{prefix}_auth_signing_alg_values_supported"))
                .contains(&"RS256".to_owned()),
            "{prefix}"
        );
    }
    // The OAuth metadata document agrees.
    let m: Value = app
        .client
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], issuer);
    assert_eq!(m["response_types_supported"], d["response_types_supported"]);
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_prompt_none_not_logged_in() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(&ch, &[("prompt", "none")]),
    );
    let res = Browser::new(&app).get(&url).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("st4te"));
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_prompt_none_logged_in() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (browser, first) = signed_in(&app, &s).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(&ch, &[("prompt", "none")]),
    );
    let res = browser.get(&url).await;
    let again = tokens_from(&app, &s, &res).await;
    assert_eq!(auth_time(&again["id_token"]), auth_time(&first["id_token"]));
    // `none` stands alone (OIDC Core §3.1.2.1).
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(&ch, &[("prompt", "none login")]),
    );
    let back = location(&browser.get(&url).await);
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_prompt_login() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (mut browser, first) = signed_in(&app, &s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ch = challenge(VERIFIER);
    for prompt in ["login", "login consent"] {
        let url = authorize_url(
            &s.t,
            &s.web_id,
            CALLBACK,
            &params(&ch, &[("prompt", prompt)]),
        );
        // A session exists, yet the password is asked for again — once: after signing in the
        // request resumes and the code comes back (it used to loop back to the sign-in page).
        let asked = browser.get(&url).await;
        assert!(
            location(&asked).contains("/login?pending="),
            "{prompt}: {}",
            location(&asked)
        );
        let back = browser.sign_in_through(&url, LOGIN, PASSWORD).await;
        assert!(
            location(&back).starts_with(CALLBACK),
            "{prompt}: {}",
            location(&back)
        );
        let again = tokens_from(&app, &s, &back).await;
        assert!(
            auth_time(&again["id_token"]) > auth_time(&first["id_token"]),
            "a new authentication"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_max_age_1() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (mut browser, first) = signed_in(&app, &s).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[("max_age", "1")]));
    let asked = browser.get(&url).await;
    assert!(
        location(&asked).contains("/login?pending="),
        "{}",
        location(&asked)
    );
    let back = browser.sign_in_through(&url, LOGIN, PASSWORD).await;
    let again = tokens_from(&app, &s, &back).await;
    assert!(auth_time(&again["id_token"]) > auth_time(&first["id_token"]));
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_max_age_10000() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (browser, first) = signed_in(&app, &s).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(&ch, &[("max_age", "10000")]),
    );
    let again = tokens_from(&app, &s, &browser.get(&url).await).await;
    assert_eq!(auth_time(&again["id_token"]), auth_time(&first["id_token"]));
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_id_token_hint() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (ada, ada_tokens) = signed_in(&app, &s).await;
    let hint = ada_tokens["id_token"].as_str().unwrap().to_owned();
    let ch = challenge(VERIFIER);
    let with_hint = params(&ch, &[("prompt", "none"), ("id_token_hint", &hint)]);
    let url = authorize_url(&s.t, &s.web_id, CALLBACK, &with_hint);
    // The hinted user is the signed-in one: a code.
    tokens_from(&app, &s, &ada.get(&url).await).await;

    // Another user is signed in in this browser: not the user the client expects.
    let other = app
        .api(
            &s.t,
            Method::POST,
            "/users",
            Some(user("grace@example.com")),
        )
        .await
        .expect(200);
    app.api(
        &s.t,
        Method::POST,
        &format!("/apps/{}/users", s.web_id),
        Some(json!({"id": other["id"]})),
    )
    .await
    .expect(200);
    let mut grace = Browser::new(&app);
    let plain = authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[]));
    grace
        .sign_in_through(&plain, "grace@example.com", PASSWORD)
        .await;
    let back = location(&grace.get(&url).await);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required"),
        "{back}"
    );
    // A hint that is not an ID token of this server is refused.
    let forged = params(&ch, &[("prompt", "none"), ("id_token_hint", "a.b.c")]);
    let back = location(
        &ada.get(&authorize_url(&s.t, &s.web_id, CALLBACK, &forged))
            .await,
    );
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_refresh_token() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (_, first) = signed_in(&app, &s).await;
    let signed_in_at = auth_time(&first["id_token"]);
    assert_eq!(auth_time(&first["access_token"]), signed_in_at);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, refreshed) = exchange(
        &app,
        &s.t,
        Some((&s.web_id, &s.web_secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    // A refresh is not an authentication (OIDC Core §12.2): auth_time stays the sign-in's.
    assert_eq!(auth_time(&refreshed["id_token"]), signed_in_at);
    assert_eq!(auth_time(&refreshed["access_token"]), signed_in_at);
    let id = jwt_claims(refreshed["id_token"].as_str().unwrap());
    assert!(id["iat"].as_i64().unwrap() > signed_in_at);
    assert_eq!(
        id["sub"],
        jwt_claims(first["id_token"].as_str().unwrap())["sub"]
    );
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_ensure_request_with_nonce_is_echoed_in_the_id_token() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (_, tokens) = signed_in(&app, &s).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n0nce");
    assert_eq!(id["aud"], s.web_id.as_str());
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_scope_profile_email_and_userinfo_get_post_header_post_body() {
    // oidcc-scope-profile, oidcc-scope-email, oidcc-userinfo-get, oidcc-userinfo-post-header,
    // oidcc-userinfo-post-body.
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let (_, tokens) = signed_in(&app, &s).await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/oauth2/default/v1/userinfo", s.t.org);
    let get: Value = app
        .client
        .get(&url)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header: Value = app
        .client
        .post(&url)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = app
        .client
        .post(&url)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    let body: Value = body.json().await.unwrap();
    for info in [&get, &header, &body] {
        assert_eq!(info["sub"], s.uid.as_str(), "{info}");
        assert_eq!(info["email"], LOGIN, "{info}");
        assert_eq!(info["name"], "Ada Lovelace", "{info}");
        assert_eq!(info["given_name"], "Ada", "{info}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_codereuse() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[]));
    let back = Browser::new(&app)
        .sign_in_through(&url, LOGIN, PASSWORD)
        .await;
    let code = query_param(&location(&back), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let basic = Some((s.web_id.as_str(), s.web_secret.as_str()));
    let (first, tokens) = exchange(&app, &s.t, basic, &form).await;
    assert_eq!(first, 200);
    let (again, err) = exchange(&app, &s.t, basic, &form).await;
    assert_eq!((again, err["error"].as_str()), (400, Some("invalid_grant")));
    // The tokens of the reused code are revoked (RFC 6749 §4.1.2).
    let r: Value = app
        .client
        .post(format!("{}/oauth2/default/v1/introspect", s.t.org))
        .basic_auth(&s.web_id, Some(&s.web_secret))
        .form(&[("token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["active"], false);
    app.stop().await;
}

#[actix_web::test]
async fn oidcc_server_token_response_headers() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[]));
    let back = Browser::new(&app)
        .sign_in_through(&url, LOGIN, PASSWORD)
        .await;
    let code = query_param(&location(&back), "code").unwrap();
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/token", s.t.org))
        .basic_auth(&s.web_id, Some(&s.web_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // RFC 6749 §5.1: tokens are never cached.
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    app.stop().await;
}

/// Not a conformance module: the two post-message response modes browser SDKs use for silent
/// renewal. The page posts the response to the redirect URI's origin and no other, and only
/// that origin may frame it.
#[actix_web::test]
async fn response_modes_web_message_and_okta_post_message_post_to_the_redirect_origin_only() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let page = |res: reqwest::Response| async move {
        assert_eq!(res.status(), 200);
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("frame-ancestors https://portal.example;"),
            "{csp}"
        );
        assert!(res.headers().get("x-frame-options").is_none());
        let html = res.text().await.unwrap();
        // The values as the browser reads them: HTML attributes, entities decoded.
        let attribute = |name: &str| {
            let marker = format!("{name}=\"");
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..start + html[start..].find('"').unwrap()]
                .replace("&quot;", "\"")
                .replace("&#x2f;", "/")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        };
        assert_eq!(attribute("data-origin"), "https://portal.example");
        let unescaped = attribute("data-message");
        serde_json::from_str::<Value>(&unescaped).unwrap()
    };
    // Without a session, prompt=none: the error is posted, with the state.
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(
            &ch,
            &[("prompt", "none"), ("response_mode", "okta_post_message")],
        ),
    );
    let message = page(Browser::new(&app).get(&url).await).await;
    assert_eq!(message["error"], "login_required", "{message}");
    assert_eq!(message["state"], "st4te");
    // Signed in: the code, wrapped as the Web Message Response Mode says.
    let (browser, _) = signed_in(&app, &s).await;
    let url = authorize_url(
        &s.t,
        &s.web_id,
        CALLBACK,
        &params(&ch, &[("prompt", "none"), ("response_mode", "web_message")]),
    );
    let message = page(browser.get(&url).await).await;
    assert_eq!(message["type"], "authorization_response", "{message}");
    assert_eq!(message["response"]["state"], "st4te");
    assert!(message["response"]["code"].is_string(), "{message}");
    // Every other page keeps frame-ancestors 'none': the sign-in page, for one.
    let stranger = Browser::new(&app);
    let to_login = stranger
        .get(&authorize_url(&s.t, &s.web_id, CALLBACK, &params(&ch, &[])))
        .await;
    let login = stranger.get(&location(&to_login)).await;
    let csp = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    app.stop().await;
}
