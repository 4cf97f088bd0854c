//! Discovery, JWKS and the token endpoint over HTTP: client credentials and password grants,
//! every client-authentication method, the errors of Okta's `/token` reference, and admin
//! changes honoured by the very next request.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, service_app, spawn, user};

struct Client {
    id: String,
    secret: String,
}

async fn service_client(app: &TestApp, t: &Tenant, method: &str) -> Client {
    let mut body = service_app("svc");
    body["credentials"]["oauthClient"]["token_endpoint_auth_method"] = json!(method);
    let created = app
        .api(t, Method::POST, "/apps", Some(body))
        .await
        .expect(200);
    Client {
        id: created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        secret: created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

struct Reply {
    status: u16,
    body: Value,
    cache_control: Option<String>,
    pragma: Option<String>,
}

async fn post_token(
    app: &TestApp,
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Reply {
    let mut req = app.client.post(url).form(form);
    if let Some((id, secret)) = basic {
        req = req.header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let res = req.send().await.unwrap();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (cache_control, pragma) = (header("cache-control"), header("pragma"));
    Reply {
        status: res.status().as_u16(),
        cache_control,
        pragma,
        body: res.json().await.unwrap_or(Value::Null),
    }
}

fn token_url(t: &Tenant, server: &str) -> String {
    format!("{}/oauth2/{server}/v1/token", t.org)
}

#[track_caller]
fn expect_error(r: &Reply, status: u16, error: &str, description: &str) {
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        r.body
    );
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains(description),
        "{}",
        r.body
    );
}

/// Verifies a JWT against the server's published JWKS, as a resource server would.
async fn verify(app: &TestApp, t: &Tenant, server: &str, jwt: &str, audience: &str) -> Value {
    let jwks: Value = app
        .client
        .get(format!("{}/oauth2/{server}/v1/keys", t.org))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    crate::helpers::verify_jwt(&jwks, jwt, &format!("{}/oauth2/{server}", t.org), audience)
}

#[actix_web::test]
async fn discovery_and_jwks_are_served_from_hot_state() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let oidc: Value = app
        .client
        .get(format!(
            "{}/oauth2/default/.well-known/openid-configuration",
            t.org
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oidc["issuer"], format!("{}/oauth2/default", t.org));
    assert_eq!(
        oidc["token_endpoint"],
        format!("{}/oauth2/default/v1/token", t.org)
    );
    assert_eq!(
        oidc["jwks_uri"],
        format!("{}/oauth2/default/v1/keys", t.org)
    );
    assert_eq!(
        oidc["grant_types_supported"],
        json!([
            "authorization_code",
            "implicit",
            "client_credentials",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    assert_eq!(
        oidc["device_authorization_endpoint"],
        format!("{}/oauth2/default/v1/device/authorize", t.org)
    );
    assert_eq!(
        oidc["pushed_authorization_request_endpoint"],
        format!("{}/oauth2/default/v1/par", t.org)
    );
    assert!(
        oidc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    let oauth: Value = app
        .client
        .get(format!(
            "{}/.well-known/oauth-authorization-server/oauth2/default",
            t.org
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oauth["issuer"], oidc["issuer"]);
    assert!(
        oauth.get("userinfo_endpoint").is_none()
            && oauth.get("id_token_signing_alg_values_supported").is_none()
    );

    let res = app
        .client
        .get(format!("{}/oauth2/default/v1/keys", t.org))
        .send()
        .await
        .unwrap();
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(
        cache.starts_with("max-age=") && cache.ends_with("must-revalidate"),
        "{cache}"
    );
    let jwks: Value = res.json().await.unwrap();
    let admin_keys = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/credentials/keys",
            None,
        )
        .await
        .expect(200);
    let published: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    let listed: Vec<_> = admin_keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(published, listed, "ACTIVE and NEXT are published");
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );

    let unknown = app
        .client
        .get(format!(
            "{}/oauth2/ausnosuchserver/.well-known/openid-configuration",
            t.org
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "The authorization server id is invalid."
    );
    app.stop().await;
}

#[actix_web::test]
async fn client_credentials_issues_an_okta_shaped_access_token() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_basic").await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "invoices:read"})),
    )
    .await
    .expect(201);
    let r = post_token(
        &app,
        &token_url(&t, "default"),
        Some((&c.id, &c.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "invoices:read"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.cache_control.as_deref(), r.pragma.as_deref()),
        (Some("no-store"), Some("no-cache"))
    );
    assert_eq!(
        (
            r.body["token_type"].as_str(),
            r.body["expires_in"].as_i64(),
            r.body["scope"].as_str()
        ),
        (Some("Bearer"), Some(3600), Some("invoices:read"))
    );
    let claims = verify(
        &app,
        &t,
        "default",
        r.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert_eq!(claims["ver"], 1);
    assert_eq!(claims["cid"], c.id.as_str());
    assert_eq!(
        claims["sub"],
        c.id.as_str(),
        "sub defaults to the client id without a user"
    );
    assert_eq!(claims["scp"], json!(["invoices:read"]));
    assert!(claims.get("uid").is_none());
    let jti = claims["jti"].as_str().unwrap();
    assert!(jti.starts_with("AT.") && jti.len() == 46, "{jti}");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    app.stop().await;
}

#[actix_web::test]
async fn token_endpoint_errors_follow_okta() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_basic").await;
    let url = token_url(&t, "default");
    let cc = [("grant_type", "client_credentials"), ("scope", "openid")];
    let r = post_token(&app, &url, Some((&c.id, &c.secret)), &cc).await;
    expect_error(
        &r,
        400,
        "invalid_scope",
        "Cannot request 'openid' scopes using client credentials.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials"), ("scope", "nope")],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_scope",
        "One or more scopes are not configured for the authorization server resource.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_scope",
        "does not have any configured default scopes, 'scope' must be provided.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&c.id, "wrong-secret")),
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    expect_error(
        &r,
        401,
        "invalid_client",
        "The client secret supplied for a confidential client is invalid.",
    );
    let r = post_token(
        &app,
        &url,
        Some(("0oanobody", "x")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(
        &r,
        401,
        "invalid_client",
        "Invalid value for 'client_id' parameter.",
    );
    let r = post_token(&app, &url, None, &[("grant_type", "client_credentials")]).await;
    expect_error(&r, 401, "invalid_client", "No client credentials found.");
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &c.secret),
            ("client_id", &c.id),
        ],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_request",
        "Cannot supply multiple client credentials.",
    );
    let r = post_token(
        &app,
        &format!("{url}?client_secret=x"),
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_request",
        "Client credentials cannot be supplied via query parameters.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ],
    )
    .await;
    expect_error(&r, 400, "invalid_request", "Duplicated parameters: [scope]");
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[("grant_type", "magic")],
    )
    .await;
    expect_error(&r, 400, "unsupported_grant_type", "Configured grant types");
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[("scope", "profile")],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_request",
        "The token request must specify a 'grant_type'.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&c.id, &c.secret)),
        &[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", "y"),
            ("scope", "openid"),
        ],
    )
    .await;
    expect_error(
        &r,
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type.",
    );
    // A client registered for client_secret_basic may not use another method.
    let r = post_token(
        &app,
        &url,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.id),
            ("client_secret", &c.secret),
        ],
    )
    .await;
    expect_error(&r, 401, "invalid_client", "Client authentication failed.");
    // Another tenant's client does not exist here.
    let other = app.provision().await;
    let r = post_token(
        &app,
        &token_url(&other, "default"),
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    expect_error(
        &r,
        401,
        "invalid_client",
        "Invalid value for 'client_id' parameter.",
    );
    let r = post_token(
        &app,
        &token_url(&t, "ausnosuchserver"),
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(
        &r,
        404,
        "invalid_request",
        "The authorization server id is invalid.",
    );
    app.stop().await;
}

#[actix_web::test]
async fn admin_changes_are_honoured_by_the_next_token_request() {
    let app = spawn(Backend::Shared).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_post").await;
    let url = token_url(&t, "default");
    let post = |scope: &'static str| {
        let (id, secret, url, app) = (c.id.clone(), c.secret.clone(), url.clone(), &app);
        async move {
            post_token(
                app,
                &url,
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ],
            )
            .await
        }
    };
    // Warm the hot state, then add a scope: the very next request may use it.
    assert_eq!(post("profile").await.status, 200);
    let r = post("reports").await;
    expect_error(&r, 400, "invalid_scope", "not configured");
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports", "default": true})),
    )
    .await
    .expect(201);
    let r = post("reports").await;
    assert_eq!(
        r.status, 200,
        "the new scope is honoured at once: {}",
        r.body
    );

    // A claim is added, then edited.
    app.api(&t, Method::POST, &format!("/apps/{}", c.id), None)
        .await;
    let claim = app.api(&t, Method::POST, "/authorizationServers/default/claims", Some(json!({
        "name": "tier", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "app.profile.tier ?: 'free'"}))).await.expect(201);
    let claims = verify(
        &app,
        &t,
        "default",
        post("reports").await.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert_eq!(claims["tier"], "free");
    app.api(&t, Method::PUT, &format!("/authorizationServers/default/claims/{}", claim["id"].as_str().unwrap()), Some(json!({
        "name": "tier", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "String.toUpperCase(app.profile.tier ?: 'free')"}))).await.expect(200);
    let claims = verify(
        &app,
        &t,
        "default",
        post("reports").await.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert_eq!(claims["tier"], "FREE");

    // A higher-priority rule with a shorter lifetime takes over; swapping priorities moves it back.
    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let rules = format!(
        "/authorizationServers/default/policies/{}/rules",
        policies[0]["id"].as_str().unwrap()
    );
    let short = app.api(&t, Method::POST, &rules, Some(json!({"type": "RESOURCE_ACCESS", "name": "short", "priority": 1,
        "conditions": {"people": {"groups": {"include": ["EVERYONE"]}}, "grantTypes": {"include": ["client_credentials"]}, "scopes": {"include": ["*"]}},
        "actions": {"token": {"accessTokenLifetimeMinutes": 5}}}))).await.expect(201);
    assert_eq!(post("reports").await.body["expires_in"], 300);
    let mut moved = short.clone();
    moved["priority"] = json!(2);
    app.api(
        &t,
        Method::PUT,
        &format!("{rules}/{}", short["id"].as_str().unwrap()),
        Some(moved),
    )
    .await
    .expect(200);
    assert_eq!(post("reports").await.body["expires_in"], 3600);

    // Default scopes are granted when no scope is requested.
    let r = post_token(
        &app,
        &url,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.id),
            ("client_secret", &c.secret),
        ],
    )
    .await;
    assert_eq!(r.body["scope"], "reports", "{}", r.body);

    // Deactivating the app, the server, or suspending the tenant stops issuance at once.
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/lifecycle/deactivate", c.id),
        None,
    )
    .await
    .expect(200);
    expect_error(
        &post("reports").await,
        401,
        "invalid_client",
        "Client authentication failed.",
    );
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/lifecycle/activate", c.id),
        None,
    )
    .await
    .expect(200);
    assert_eq!(post("reports").await.status, 200);
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/lifecycle/deactivate",
        None,
    )
    .await
    .expect(204);
    expect_error(
        &post("reports").await,
        404,
        "invalid_request",
        "The authorization server id is invalid.",
    );
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/lifecycle/activate",
        None,
    )
    .await
    .expect(204);
    app.operator(
        Method::POST,
        &format!("/tenants/{}/lifecycle/suspend", t.name),
        None,
    )
    .await;
    assert_eq!(post("reports").await.status, 403);
    app.stop().await;
}

#[actix_web::test]
async fn key_rotation_switches_signing_to_the_published_next_key() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_basic").await;
    let url = token_url(&t, "default");
    let form = [("grant_type", "client_credentials"), ("scope", "profile")];
    let before = post_token(&app, &url, Some((&c.id, &c.secret)), &form)
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let keys = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/credentials/keys",
            None,
        )
        .await
        .expect(200);
    let next = keys[1]["kid"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/credentials/lifecycle/keyRotate",
        Some(json!({"use": "sig"})),
    )
    .await
    .expect(200);
    let after = post_token(&app, &url, Some((&c.id, &c.secret)), &form)
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.as_deref(),
        Some(next.as_str())
    );
    // Both the old and the new token still verify against the published JWKS.
    verify(&app, &t, "default", &before, "api://default").await;
    verify(&app, &t, "default", &after, "api://default").await;
    app.stop().await;
}

#[actix_web::test]
async fn es256_servers_sign_es256_tokens() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let s = app.api(&t, Method::POST, "/authorizationServers", Some(json!({"name": "fast", "audiences": ["api://fast"], "credentials": {"signing": {"alg": "ES256"}}}))).await.expect(201);
    let sid = s["id"].as_str().unwrap().to_owned();
    let p = app.api(&t, Method::POST, &format!("/authorizationServers/{sid}/policies"), Some(json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "all", "description": "all", "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}}))).await.expect(201);
    app.api(&t, Method::POST, &format!("/authorizationServers/{sid}/policies/{}/rules", p["id"].as_str().unwrap()), Some(json!({"type": "RESOURCE_ACCESS", "name": "cc",
        "conditions": {"grantTypes": {"include": ["client_credentials"]}, "scopes": {"include": ["*"]}}}))).await.expect(201);
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{sid}/scopes"),
        Some(json!({"name": "fast.read"})),
    )
    .await
    .expect(201);
    let c = service_client(&app, &t, "client_secret_basic").await;
    let r = post_token(
        &app,
        &token_url(&t, &sid),
        Some((&c.id, &c.secret)),
        &[("grant_type", "client_credentials"), ("scope", "fast.read")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jwt = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(jwt).unwrap().alg,
        Algorithm::ES256
    );
    let claims = verify(&app, &t, &sid, jwt, "api://fast").await;
    assert_eq!(claims["aud"], "api://fast");
    app.stop().await;
}

fn assertion(
    key: &EncodingKey,
    alg: Algorithm,
    kid: Option<&str>,
    client_id: &str,
    aud: &str,
    exp_in: i64,
    jti: &str,
) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + exp_in, "jti": jti});
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

#[actix_web::test]
async fn private_key_jwt_and_client_secret_jwt_authenticate_and_refuse_replays() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let url = token_url(&t, "default");
    let generated = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let mut body = service_app("pkjwt");
    body["credentials"]["oauthClient"]["token_endpoint_auth_method"] = json!("private_key_jwt");
    body["settings"]["oauthClient"]["jwks"] = json!({"keys": [generated.public_jwk.clone()]});
    let created = app
        .api(&t, Method::POST, "/apps", Some(body))
        .await
        .expect(200);
    let id = created["id"].as_str().unwrap().to_owned();
    let key = EncodingKey::from_ec_der(&generated.pkcs8);
    let send = |jwt: String| {
        let url = url.clone();
        let app = &app;
        async move {
            post_token(
                app,
                &url,
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "profile"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &jwt),
                ],
            )
            .await
        }
    };
    let good = assertion(
        &key,
        Algorithm::ES256,
        Some(&generated.kid),
        &id,
        &url,
        300,
        "jti-1",
    );
    assert_eq!(send(good.clone()).await.status, 200);
    expect_error(
        &send(good).await,
        401,
        "invalid_client",
        "already been used",
    );
    expect_error(
        &send(assertion(
            &key,
            Algorithm::ES256,
            Some(&generated.kid),
            &id,
            "https://elsewhere/token",
            300,
            "jti-2",
        ))
        .await,
        401,
        "invalid_client",
        "audience",
    );
    expect_error(
        &send(assertion(
            &key,
            Algorithm::ES256,
            Some(&generated.kid),
            &id,
            &url,
            7200,
            "jti-3",
        ))
        .await,
        401,
        "invalid_client",
        "too far into the future",
    );
    expect_error(
        &send(assertion(
            &key,
            Algorithm::ES256,
            Some("unknown-kid"),
            &id,
            &url,
            300,
            "jti-4",
        ))
        .await,
        401,
        "invalid_client",
        "kid is invalid",
    );
    let stranger = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let forged = assertion(
        &EncodingKey::from_ec_der(&stranger.pkcs8),
        Algorithm::ES256,
        Some(&generated.kid),
        &id,
        &url,
        300,
        "jti-5",
    );
    expect_error(
        &send(forged).await,
        401,
        "invalid_client",
        "signature is invalid",
    );
    let r = post_token(
        &app,
        &url,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:wrong"),
            ("client_assertion", "x"),
        ],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_request",
        "The client_assertion_type is invalid.",
    );

    // client_secret_jwt: HS256 keyed by the client secret.
    let secret = "a-client-secret-that-is-at-least-32-characters-long";
    let mut body = service_app("csjwt");
    body["credentials"]["oauthClient"] =
        json!({"token_endpoint_auth_method": "client_secret_jwt", "client_secret": secret});
    let created = app
        .api(&t, Method::POST, "/apps", Some(body))
        .await
        .expect(200);
    let id = created["id"].as_str().unwrap().to_owned();
    let hs = EncodingKey::from_secret(secret.as_bytes());
    assert_eq!(
        send(assertion(
            &hs,
            Algorithm::HS256,
            None,
            &id,
            &url,
            300,
            "hs-1"
        ))
        .await
        .status,
        200
    );
    let wrong = EncodingKey::from_secret(b"not-the-secret-not-the-secret-not-the-secret");
    expect_error(
        &send(assertion(
            &wrong,
            Algorithm::HS256,
            None,
            &id,
            &url,
            300,
            "hs-2",
        ))
        .await,
        401,
        "invalid_client",
        "signature is invalid",
    );
    app.stop().await;
}

#[actix_web::test]
async fn password_grant_issues_access_id_and_refresh_tokens_to_assigned_users() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let native = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "cli", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic", "pkce_required": true}},
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "refresh_token", "authorization_code"],
            "redirect_uris": ["com.example.cli:/callback"], "response_types": ["code"]}}}))).await.expect(200);
    let (id, secret) = (
        native["id"].as_str().unwrap().to_owned(),
        native["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let u = app
        .api(&t, Method::POST, "/users", Some(user("pat@example.com")))
        .await
        .expect(200);
    let uid = u["id"].as_str().unwrap().to_owned();
    let url = token_url(&t, "default");
    let form = |pw: &'static str| {
        vec![
            ("grant_type", "password"),
            ("username", "pat@example.com"),
            ("password", pw),
            ("scope", "openid profile offline_access"),
        ]
    };

    let r = post_token(&app, &url, Some((&id, &secret)), &form("Analytical1Engine")).await;
    expect_error(
        &r,
        400,
        "access_denied",
        "User is not assigned to the client application.",
    );
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{id}/users"),
        Some(json!({"id": uid, "credentials": {"userName": "pat"}})),
    )
    .await
    .expect(200);
    let r = post_token(&app, &url, Some((&id, &secret)), &form("wrong-password")).await;
    expect_error(
        &r,
        400,
        "invalid_grant",
        "The credentials provided were invalid.",
    );
    let r = post_token(&app, &url, Some((&id, &secret)), &form("Analytical1Engine")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at = verify(
        &app,
        &t,
        "default",
        r.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert_eq!(
        (at["uid"].as_str(), at["sub"].as_str()),
        (Some(uid.as_str()), Some("pat")),
        "sub is the app user name"
    );
    let id_token = r.body["id_token"]
        .as_str()
        .expect("openid gives an ID token");
    let idt = verify(&app, &t, "default", id_token, &id).await;
    assert_eq!(
        (idt["sub"].as_str(), idt["amr"].clone()),
        (Some(uid.as_str()), json!(["pwd"]))
    );
    assert!(
        r.body["refresh_token"]
            .as_str()
            .is_some_and(|rt| rt.starts_with("rt.")),
        "offline_access gives a refresh token"
    );

    // Unknown users get the same answer as a wrong password.
    let r = post_token(
        &app,
        &url,
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "nobody@example.com"),
            ("password", "x"),
            ("scope", "openid"),
        ],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_grant",
        "The credentials provided were invalid.",
    );
    let r = post_token(
        &app,
        &url,
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "pat@example.com"),
            ("password", "x"),
        ],
    )
    .await;
    expect_error(
        &r,
        400,
        "invalid_request",
        "The required parameter 'scope' is missing.",
    );

    // Per-username throttling: more than 4 requests in a second.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            post_token(&app, &url, Some((&id, &secret)), &form("wrong"))
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");

    // A suspended user cannot sign in.
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/suspend"),
        None,
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = post_token(&app, &url, Some((&id, &secret)), &form("Analytical1Engine")).await;
    expect_error(
        &r,
        400,
        "invalid_grant",
        "The credentials provided were invalid.",
    );
    app.stop().await;
}

#[test]
fn basic_header_helper_matches_rfc_6749() {
    assert_eq!(URL_SAFE_NO_PAD.encode("a"), "YQ");
}

#[actix_web::test]
async fn both_active_client_secrets_authenticate_during_rotation() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_basic").await;
    let url = token_url(&t, "default");
    let form = [("grant_type", "client_credentials"), ("scope", "profile")];
    let secrets = format!("/apps/{}/credentials/secrets", c.id);
    let second = app
        .api(&t, Method::POST, &secrets, Some(json!({})))
        .await
        .expect(201);
    let new_secret = second["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        post_token(&app, &url, Some((&c.id, &c.secret)), &form)
            .await
            .status,
        200,
        "the old secret still works"
    );
    assert_eq!(
        post_token(&app, &url, Some((&c.id, &new_secret)), &form)
            .await
            .status,
        200,
        "the new secret works"
    );
    let list = app.api(&t, Method::GET, &secrets, None).await.expect(200);
    let old_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] != second["id"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("{secrets}/{old_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    expect_error(
        &post_token(&app, &url, Some((&c.id, &c.secret)), &form).await,
        401,
        "invalid_client",
        "client secret",
    );
    assert_eq!(
        post_token(&app, &url, Some((&c.id, &new_secret)), &form)
            .await
            .status,
        200
    );
    app.stop().await;
}

#[actix_web::test]
async fn claims_follow_scope_conditions_groups_filters_and_always_include() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let native = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "claims", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "authorization_code"],
            "redirect_uris": ["com.example:/cb"], "response_types": ["code"]}}}))).await.expect(200);
    let (id, secret) = (
        native["id"].as_str().unwrap().to_owned(),
        native["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let u = app
        .api(&t, Method::POST, "/users", Some(user("sam@example.com")))
        .await
        .expect(200);
    let uid = u["id"].as_str().unwrap().to_owned();
    let eng = app
        .api(
            &t,
            Method::POST,
            "/groups",
            Some(json!({"profile": {"name": "eng-backend"}})),
        )
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        "/groups",
        Some(json!({"profile": {"name": "sales"}})),
    )
    .await
    .expect(200);
    app.api(
        &t,
        Method::PUT,
        &format!("/groups/{}/users/{uid}", eng["id"].as_str().unwrap()),
        None,
    )
    .await
    .expect(204);
    // Assigned through the group, not directly.
    app.api(
        &t,
        Method::PUT,
        &format!("/apps/{id}/groups/{}", eng["id"].as_str().unwrap()),
        Some(json!({})),
    )
    .await
    .expect(200);
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports"})),
    )
    .await
    .expect(201);
    let claims = "/authorizationServers/default/claims";
    app.api(&t, Method::POST, claims, Some(json!({"name": "email_at", "claimType": "RESOURCE", "value": "user.email", "conditions": {"scopes": ["reports"]}}))).await.expect(201);
    app.api(&t, Method::POST, claims, Some(json!({"name": "teams", "claimType": "IDENTITY", "valueType": "GROUPS", "group_filter_type": "STARTS_WITH", "value": "eng", "alwaysIncludeInToken": true}))).await.expect(201);
    app.api(&t, Method::POST, claims, Some(json!({"name": "nick", "claimType": "IDENTITY", "value": "user.nickName", "alwaysIncludeInToken": true}))).await.expect(201);
    app.api(&t, Method::POST, claims, Some(json!({"name": "thin_excluded", "claimType": "IDENTITY", "value": "'x'", "alwaysIncludeInToken": false}))).await.expect(201);
    let url = token_url(&t, "default");
    let get = |scope: &'static str| {
        let (url, id, secret, app) = (url.clone(), id.clone(), secret.clone(), &app);
        async move {
            post_token(
                app,
                &url,
                Some((&id, &secret)),
                &[
                    ("grant_type", "password"),
                    ("username", "sam@example.com"),
                    ("password", "Analytical1Engine"),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let without = get("openid").await;
    assert_eq!(without.status, 200, "{}", without.body);
    let at = verify(
        &app,
        &t,
        "default",
        without.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert!(
        at.get("email_at").is_none(),
        "the claim's scope condition is not met"
    );
    assert_eq!(
        at["sub"], "sam@example.com",
        "group-assigned users' sub is their login"
    );
    let idt = verify(
        &app,
        &t,
        "default",
        without.body["id_token"].as_str().unwrap(),
        &id,
    )
    .await;
    assert_eq!(
        idt["teams"],
        json!(["eng-backend"]),
        "GROUPS filter STARTS_WITH, case-insensitive"
    );
    assert!(
        idt.get("nick").is_none(),
        "an expression that evaluates to null omits the claim"
    );
    assert!(
        idt.get("thin_excluded").is_none(),
        "a thin ID token carries only always-included IDENTITY claims"
    );
    let with = get("openid reports").await;
    let at = verify(
        &app,
        &t,
        "default",
        with.body["access_token"].as_str().unwrap(),
        "api://default",
    )
    .await;
    assert_eq!(at["email_at"], "sam@example.com");

    // A claim that fails to evaluate fails the request and names the claim.
    app.api(&t, Method::POST, claims, Some(json!({"name": "broken", "claimType": "RESOURCE", "value": "Convert.toInt(user.email)"}))).await.expect(201);
    let r = get("openid").await;
    expect_error(
        &r,
        500,
        "server_error",
        "The 'broken' user claim could not be evaluated.",
    );
    app.stop().await;
}

/// A native app with password and refresh grants and the given refresh-token settings, a user
/// assigned to it, and a first refresh token.
async fn refresh_setup(
    app: &TestApp,
    t: &Tenant,
    rotation: &str,
    leeway: i64,
    login: &str,
) -> (Client, String, String) {
    let created = app.api(t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "refresher", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "refresh_token", "authorization_code"],
            "redirect_uris": ["com.example:/cb"], "response_types": ["code"], "refresh_token": {"rotation_type": rotation, "leeway": leeway}}}}))).await.expect(200);
    let c = Client {
        id: created["id"].as_str().unwrap().to_owned(),
        secret: created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let u = app
        .api(t, Method::POST, "/users", Some(user(login)))
        .await
        .expect(200);
    let uid = u["id"].as_str().unwrap().to_owned();
    app.api(
        t,
        Method::POST,
        &format!("/apps/{}/users", c.id),
        Some(json!({"id": uid})),
    )
    .await
    .expect(200);
    let r = post_token(
        app,
        &token_url(t, "default"),
        Some((&c.id, &c.secret)),
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", "Analytical1Engine"),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (c, uid, r.body["refresh_token"].as_str().unwrap().to_owned())
}

async fn refresh(app: &TestApp, t: &Tenant, c: &Client, rt: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    post_token(
        app,
        &token_url(t, "default"),
        Some((&c.id, &c.secret)),
        &form,
    )
    .await
}

#[actix_web::test]
async fn refresh_tokens_rotate_keep_the_original_lifetimes_and_detect_reuse() {
    refresh_rotation_and_reuse(Backend::Embedded).await;
}

#[actix_web::test]
async fn refresh_tokens_behave_the_same_on_postgres_and_redis() {
    refresh_rotation_and_reuse(Backend::Shared).await;
}

async fn refresh_rotation_and_reuse(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.provision().await;
    let (c, _, rt1) = refresh_setup(&app, &t, "ROTATE", 0, "ref@example.com").await;

    // A later rule change does not shorten the family's access tokens.
    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let rules = format!(
        "/authorizationServers/default/policies/{}/rules",
        policies[0]["id"].as_str().unwrap()
    );
    let rule = app.api(&t, Method::GET, &rules, None).await.expect(200)[0].clone();
    let mut shorter = rule.clone();
    shorter["actions"]["token"]["accessTokenLifetimeMinutes"] = json!(5);
    app.api(
        &t,
        Method::PUT,
        &format!("{rules}/{}", rule["id"].as_str().unwrap()),
        Some(shorter),
    )
    .await
    .expect(200);

    let r = refresh(&app, &t, &c, &rt1, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 3600, "the original grant's lifetime");
    assert_eq!(r.body["scope"], "openid offline_access");
    assert!(
        r.body["id_token"].is_string(),
        "openid on refresh gives a new ID token"
    );
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt2, rt1, "ROTATE returns a new refresh token");
    let at2 = r.body["access_token"].as_str().unwrap().to_owned();

    // Scope may narrow, never widen.
    let r = refresh(&app, &t, &c, &rt2, Some("openid offline_access profile")).await;
    expect_error(&r, 400, "access_denied", "Denied scopes: [profile]");
    let r = refresh(&app, &t, &c, &rt2, Some("openid offline_access")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rt3 = r.body["refresh_token"].as_str().unwrap().to_owned();

    // Reuse of a rotated token (leeway 0) revokes the whole family, its newest token included,
    // and the access tokens minted from it.
    expect_error(
        &refresh(&app, &t, &c, &rt1, None).await,
        400,
        "invalid_grant",
        "The refresh token is invalid or expired.",
    );
    expect_error(
        &refresh(&app, &t, &c, &rt3, None).await,
        400,
        "invalid_grant",
        "The refresh token is invalid or expired.",
    );
    let introspect = app
        .client
        .post(format!("{}/oauth2/default/v1/introspect", t.org))
        .header(
            "Authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", c.id, c.secret))
            ),
        )
        .form(&[("token", at2.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(introspect, json!({"active": false}));
    // Another client cannot use someone else's refresh token.
    let other = service_client(&app, &t, "client_secret_basic").await;
    let r = post_token(
        &app,
        &token_url(&t, "default"),
        Some((&other.id, &other.secret)),
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

#[actix_web::test]
async fn static_refresh_tokens_are_reused_rotated_ones_work_within_leeway_and_users_are_rechecked()
{
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (c, _, rt) = refresh_setup(&app, &t, "STATIC", 30, "static@example.com").await;
    let r = refresh(&app, &t, &c, &rt, None).await;
    assert_eq!(
        (r.status, r.body["refresh_token"].as_str()),
        (200, Some(rt.as_str())),
        "STATIC returns the same token"
    );

    let (c2, uid2, rt_a) = refresh_setup(&app, &t, "ROTATE", 30, "leeway@example.com").await;
    let r = refresh(&app, &t, &c2, &rt_a, None).await;
    assert_eq!(r.status, 200);
    let r = refresh(&app, &t, &c2, &rt_a, None).await;
    assert_eq!(
        r.status, 200,
        "a rotated token still works within the leeway: {}",
        r.body
    );
    let rt_b = r.body["refresh_token"].as_str().unwrap().to_owned();

    // The user is re-checked on every refresh.
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid2}/lifecycle/suspend"),
        None,
    )
    .await
    .expect(200);
    expect_error(
        &refresh(&app, &t, &c2, &rt_b, None).await,
        400,
        "invalid_grant",
        "invalid or expired",
    );
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid2}/lifecycle/unsuspend"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(refresh(&app, &t, &c2, &rt_b, None).await.status, 200);
    // A refresh token is bound to its client.
    let (c3, _, _) = refresh_setup(&app, &t, "ROTATE", 30, "third@example.com").await;
    expect_error(
        &refresh(&app, &t, &c3, &rt_b, None).await,
        400,
        "invalid_grant",
        "invalid or expired",
    );
    expect_error(
        &refresh(&app, &t, &c2, "rt.garbage", None).await,
        400,
        "invalid_grant",
        "invalid or expired",
    );
    app.stop().await;
}

#[actix_web::test]
async fn userinfo_returns_the_claims_of_the_granted_scopes_to_bearer_tokens_only() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (c, uid, _) = refresh_setup(&app, &t, "ROTATE", 30, "info@example.com").await;
    app.api(&t, Method::POST, "/authorizationServers/default/claims", Some(json!({
        "name": "department", "claimType": "IDENTITY", "value": "'Engineering'", "conditions": {"scopes": ["profile"]}}))).await.expect(201);
    let login = |scope: &'static str| {
        let (app, t, c) = (&app, &t, &c);
        async move {
            let r = post_token(
                app,
                &token_url(t, "default"),
                Some((&c.id, &c.secret)),
                &[
                    ("grant_type", "password"),
                    ("username", "info@example.com"),
                    ("password", "Analytical1Engine"),
                    ("scope", scope),
                ],
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let url = format!("{}/oauth2/default/v1/userinfo", t.org);
    let at = login("openid email").await;
    let res = app.client.get(&url).bearer_auth(&at).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (
            body["sub"].as_str(),
            body["email"].as_str(),
            body["email_verified"].as_bool()
        ),
        (Some(uid.as_str()), Some("info@example.com"), Some(true))
    );
    assert!(
        body.get("name").is_none() && body.get("department").is_none(),
        "profile claims need the profile scope: {body}"
    );

    let at = login("openid profile").await;
    let body: Value = app
        .client
        .post(&url)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            body["name"].as_str(),
            body["given_name"].as_str(),
            body["preferred_username"].as_str()
        ),
        (Some("Ada Lovelace"), Some("Ada"), Some("info@example.com"))
    );
    assert_eq!(
        body["department"], "Engineering",
        "custom IDENTITY claims of the granted scopes"
    );
    assert!(body.get("email").is_none());
    // RFC 6750 §2.2: a form body works for POST.
    let res = app
        .client
        .post(&url)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Errors.
    let res = app
        .client
        .get(format!("{url}?access_token={at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let res = app
        .client
        .get(&url)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let no_openid = login("offline_access").await;
    let res = app
        .client
        .get(&url)
        .bearer_auth(&no_openid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let svc = service_client(&app, &t, "client_secret_basic").await;
    let cc = post_token(
        &app,
        &token_url(&t, "default"),
        Some((&svc.id, &svc.secret)),
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    let res = app
        .client
        .get(&url)
        .bearer_auth(cc.body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a token without a user has no userinfo");
    // A deactivated user's token is refused.
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth(&at)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[actix_web::test]
async fn metrics_count_tokens_per_tenant_server_grant_and_outcome() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let c = service_client(&app, &t, "client_secret_basic").await;
    let url = token_url(&t, "default");
    assert_eq!(
        post_token(
            &app,
            &url,
            Some((&c.id, &c.secret)),
            &[("grant_type", "client_credentials"), ("scope", "profile")]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        post_token(
            &app,
            &url,
            Some((&c.id, &c.secret)),
            &[("grant_type", "client_credentials"), ("scope", "nope")]
        )
        .await
        .status,
        400
    );
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let server = app
        .api(&t, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for outcome in ["issued", "invalid_scope"] {
        let line = format!(
            "tessera_tokens_total{{grant=\"client_credentials\",outcome=\"{outcome}\",server=\"{server}\",tenant=\"{}\"}} 1",
            t.name
        );
        assert!(text.contains(&line), "missing {line}");
    }
    assert!(text.contains("tessera_http_request_duration_seconds_bucket{route=\"/t/{tenant}/oauth2/{as}/v1/token\""), "latency histogram per route");
    assert!(text.contains("tessera_hot_loaded_tenants"));
    app.stop().await;
}
