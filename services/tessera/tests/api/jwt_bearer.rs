//! The JWT bearer grant (RFC 7523 §2.1) with identity assertions (Okta's Cross App Access):
//! openid-client signs in at the org server, exchanges the ID token for an assertion and trades
//! it at a custom server; every bad exchange and every bad assertion is refused with its error
//! and issues nothing.

use std::sync::Arc;

use tessera_domain::Clock as _;

use reqwest::Method;
use serde_json::{Value, json};

use crate::authorize::{Browser, challenge, jwt_claims, location, query_param};
use crate::helpers::{Backend, Tenant, TestApp, config, spawn, spawn_clocked};
use crate::introspection::{Creds, app_with, native_app, post, user_tokens};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const REDIRECT: &str = "https://agent.example/callback";
const VERIFIER: &str = "cross-app-access-verifier-0123456789-abcdefghijklmnop";
const LOGIN: &str = "agent.user@example.com";

/// A web app that signs users in at the org server, asks it for assertions and trades them.
fn agent_app() -> Value {
    json!({"name": "oidc_client", "label": "agent", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"oauthClient": {"application_type": "web",
            "grant_types": ["authorization_code", EXCHANGE, JWT_BEARER],
            "response_types": ["code"], "redirect_uris": [REDIRECT]}}})
}

struct World {
    t: Tenant,
    agent: Creds,
    uid: String,
    /// A second custom server, with the same scope.
    other_issuer: String,
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

/// A rule on `server`'s first policy allowing `grant_types` for everyone and every scope.
async fn allow(app: &TestApp, t: &Tenant, server: &str, grant_types: &[&str]) -> String {
    let policies = app
        .api(
            t,
            Method::GET,
            &format!("/authorizationServers/{server}/policies"),
            None,
        )
        .await
        .expect(200);
    let pid = policies[0]["id"].as_str().unwrap();
    let rule = app
        .api(
            t,
            Method::POST,
            &format!("/authorizationServers/{server}/policies/{pid}/rules"),
            Some(
                json!({"type": "RESOURCE_ACCESS", "name": "cross app access", "priority": 1,
                "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
                    "grantTypes": {"include": grant_types}, "scopes": {"include": ["*"]}}}),
            ),
        )
        .await
        .expect(201);
    format!(
        "/authorizationServers/{server}/policies/{pid}/rules/{}",
        rule["id"].as_str().unwrap()
    )
}

async fn world(app: &TestApp) -> World {
    let t = app.provision().await;
    scope(app, &t, "default", "orders.read").await;
    allow(app, &t, "default", &[JWT_BEARER]).await;
    let other = app
        .api(&t, Method::POST, "/authorizationServers",
            Some(json!({"name": "billing", "description": "Billing API", "audiences": ["api://billing"]})))
        .await
        .expect(201);
    let sid = other["id"].as_str().unwrap().to_owned();
    scope(app, &t, &sid, "orders.read").await;
    let agent = app_with(app, &t, agent_app()).await;
    let u = app.user(&t, LOGIN).await;
    let uid = u["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", agent.id),
        Some(json!({"id": uid})),
    )
    .await
    .expect(200);
    World {
        other_issuer: other["issuer"].as_str().unwrap().to_owned(),
        t,
        agent,
        uid,
    }
}

#[actix_web::test]
async fn openid_client_trades_an_identity_assertion_for_an_access_token() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    crate::okta_sdk::run_node(
        "openid-client-jwt-bearer.test.mjs",
        vec![
            ("TESSERA_ORG", w.t.org.clone()),
            ("TESSERA_ISSUER", format!("{}/oauth2/default", w.t.org)),
            ("TESSERA_OTHER_ISSUER", w.other_issuer.clone()),
            ("TESSERA_CLIENT_ID", w.agent.id.clone()),
            ("TESSERA_CLIENT_SECRET", w.agent.secret.clone()),
            ("TESSERA_REDIRECT_URI", REDIRECT.to_owned()),
            ("TESSERA_USERNAME", LOGIN.to_owned()),
            ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
            ("TESSERA_USER_ID", w.uid.clone()),
        ],
        8,
    )
    .await;
    app.stop().await;
}

/// The agent's user signed in at the org server: its ID token.
async fn org_id_token(app: &TestApp, t: &Tenant, agent: &Creds) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", agent.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let mut browser = Browser::new(app);
    let res = browser
        .sign_in_through(
            &format!("{}/oauth2/v1/authorize?{q}", t.org),
            LOGIN,
            "Analytical1Engine",
        )
        .await;
    let code = query_param(&location(&res), "code").expect("a code");
    let (status, body) = post(
        app,
        &format!("{}/oauth2/v1/token", t.org),
        agent,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["id_token"].as_str().unwrap().to_owned()
}

async fn ask(app: &TestApp, t: &Tenant, c: &Creds, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", EXCHANGE)];
    form.extend_from_slice(fields);
    post(app, &format!("{}/oauth2/v1/token", t.org), c, &form).await
}

async fn assertion_for(app: &TestApp, w: &World, id_token: &str, audience: &str) -> String {
    let (status, body) = ask(
        app,
        &w.t,
        &w.agent,
        &[
            ("requested_token_type", ID_JAG),
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN),
            ("audience", audience),
            ("scope", "orders.read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn trade(app: &TestApp, t: &Tenant, c: &Creds, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", JWT_BEARER)];
    form.extend_from_slice(fields);
    post(app, &format!("{}/oauth2/default/v1/token", t.org), c, &form).await
}

fn refused(got: (u16, Value), status: u16, error: &str, case: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(error)),
        "{case}: {}",
        got.1
    );
}

#[actix_web::test]
async fn the_org_server_issues_assertions_only_for_its_own_clients_users_and_servers() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let id_token = org_id_token(&app, &w.t, &w.agent).await;
    let issuer = format!("{}/oauth2/default", w.t.org);
    let ok = [
        ("requested_token_type", ID_JAG),
        ("subject_token", id_token.as_str()),
        ("subject_token_type", ID_TOKEN),
        ("audience", issuer.as_str()),
        ("scope", "orders.read"),
    ];
    let (status, body) = ask(&app, &w.t, &w.agent, &ok).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["issued_token_type"], ID_JAG);
    assert_eq!(body["expires_in"], 300);
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    let with = |name: &str, value: &'static str| {
        ok.iter()
            .map(|(k, v)| if *k == name { (*k, value) } else { (*k, *v) })
            .collect::<Vec<_>>()
    };
    let without = |name: &str| {
        ok.iter()
            .copied()
            .filter(|(k, _)| *k != name)
            .collect::<Vec<_>>()
    };
    let cases = [
        (
            without("requested_token_type"),
            400,
            "invalid_request",
            "no requested_token_type",
        ),
        (
            with(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            400,
            "invalid_request",
            "an access token asked of the org",
        ),
        (
            with(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            400,
            "invalid_request",
            "a subject that is not an ID token",
        ),
        (
            with("audience", "api://default"),
            400,
            "invalid_target",
            "an audience that is not an issuer",
        ),
        (
            with("audience", "https://elsewhere.example/oauth2/default"),
            400,
            "invalid_target",
            "another host's issuer",
        ),
        (
            with("scope", "no.such.scope"),
            400,
            "invalid_scope",
            "a scope the server does not have",
        ),
        (
            with("subject_token", "not-a-token"),
            400,
            "invalid_grant",
            "a subject that is not a token",
        ),
    ];
    for (fields, status, error, case) in cases {
        refused(
            ask(&app, &w.t, &w.agent, &fields).await,
            status,
            error,
            case,
        );
    }
    // A token of a custom server is not the org's ID token.
    let native = app_with(&app, &w.t, native_app()).await;
    let (_, custom_at, _) = user_tokens(&app, &w.t, &native, "other@example.com").await;
    let mut fields = ok.to_vec();
    fields[1] = ("subject_token", custom_at.as_str());
    refused(
        ask(&app, &w.t, &w.agent, &fields).await,
        400,
        "invalid_grant",
        "a custom server's token",
    );
    // Another client of the tenant cannot present this client's ID token.
    let mut other = agent_app();
    other["label"] = json!("other agent");
    let other = app_with(&app, &w.t, other).await;
    refused(
        ask(&app, &w.t, &other, &ok).await,
        400,
        "invalid_grant",
        "another client's ID token",
    );
    // An app without the token-exchange grant type is not authorized for it.
    let mut plain = agent_app();
    plain["settings"]["oauthClient"]["grant_types"] = json!(["authorization_code"]);
    let plain = app_with(&app, &w.t, plain).await;
    refused(
        ask(&app, &w.t, &plain, &ok).await,
        400,
        "unauthorized_client",
        "no token-exchange grant type",
    );
    // An inactive server is no target.
    let other_id = w.other_issuer.rsplit('/').next().unwrap().to_owned();
    app.api(
        &w.t,
        Method::POST,
        &format!("/authorizationServers/{other_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(204);
    let mut fields = ok.to_vec();
    fields[3] = ("audience", w.other_issuer.as_str());
    refused(
        ask(&app, &w.t, &w.agent, &fields).await,
        400,
        "invalid_target",
        "an inactive server",
    );
    // The org server does not take the JWT bearer grant itself.
    let assertion = assertion_for(&app, &w, &id_token, &issuer).await;
    let (status, body) = post(
        &app,
        &format!("{}/oauth2/v1/token", w.t.org),
        &w.agent,
        &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
    )
    .await;
    refused(
        (status, body),
        400,
        "unsupported_grant_type",
        "JWT bearer at the org server",
    );
    app.stop().await;
}

#[actix_web::test]
async fn every_bad_assertion_is_refused_and_issues_nothing() {
    let clock = Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let app = spawn_clocked(
        config(Backend::Embedded).await,
        &tessera::Service::ALL,
        clock.clone(),
    )
    .await;
    let w = world(&app).await;
    let id_token = org_id_token(&app, &w.t, &w.agent).await;
    let issuer = format!("{}/oauth2/default", w.t.org);
    let fresh = || assertion_for(&app, &w, &id_token, &issuer);

    refused(
        trade(&app, &w.t, &w.agent, &[]).await,
        400,
        "invalid_request",
        "no assertion",
    );
    refused(
        trade(&app, &w.t, &w.agent, &[("assertion", "a.b.c")]).await,
        400,
        "invalid_grant",
        "garbage",
    );
    let long = "x".repeat(20_000);
    refused(
        trade(&app, &w.t, &w.agent, &[("assertion", &long)]).await,
        400,
        "invalid_grant",
        "an oversized assertion",
    );

    // A JWT shaped like an assertion, with the org's issuer and key id, signed by another key.
    let keys: Value = app
        .client
        .get(format!("{}/oauth2/v1/keys", w.t.org))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = keys["keys"][0]["kid"].as_str().unwrap();
    let forged_key = tessera_jose::generate(tessera_jose::Alg::RS256).unwrap();
    let forged_key =
        tessera_jose::SigningKey::from_pkcs8(kid, tessera_jose::Alg::RS256, &forged_key.pkcs8)
            .unwrap();
    let now = clock.now().unix_timestamp();
    let forged = tessera_jose::jws(
        &forged_key,
        Some("oauth-id-jag+jwt"),
        &json!({
        "iss": w.t.org, "aud": issuer, "sub": w.uid, "client_id": w.agent.id, "jti": "forged-1",
        "iat": now, "exp": now + 120, "scope": "orders.read"}),
    )
    .unwrap();
    let got = trade(&app, &w.t, &w.agent, &[("assertion", &forged)]).await;
    refused(got.clone(), 400, "invalid_grant", "a forged signature");
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("permitted issuer"),
        "{}",
        got.1
    );

    // Another tenant's org server is not a permitted issuer here.
    let elsewhere = world(&app).await;
    let their_token = org_id_token(&app, &elsewhere.t, &elsewhere.agent).await;
    let theirs = assertion_for(
        &app,
        &elsewhere,
        &their_token,
        &format!("{}/oauth2/default", elsewhere.t.org),
    )
    .await;
    refused(
        trade(&app, &w.t, &w.agent, &[("assertion", &theirs)]).await,
        400,
        "invalid_grant",
        "another tenant's assertion",
    );

    // Another client cannot use this client's assertion.
    let mut other = agent_app();
    other["label"] = json!("other agent");
    let other = app_with(&app, &w.t, other).await;
    let a = fresh().await;
    let got = trade(&app, &w.t, &other, &[("assertion", &a)]).await;
    refused(
        got.clone(),
        400,
        "invalid_grant",
        "another client's assertion",
    );
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("requesting client"),
        "{}",
        got.1
    );

    // Scopes beyond the assertion's, and the ones the grant never issues.
    refused(
        trade(
            &app,
            &w.t,
            &w.agent,
            &[("assertion", &a), ("scope", "orders.read profile")],
        )
        .await,
        400,
        "invalid_scope",
        "a scope beyond the assertion",
    );
    refused(
        trade(
            &app,
            &w.t,
            &w.agent,
            &[("assertion", &a), ("scope", "orders.read offline_access")],
        )
        .await,
        400,
        "invalid_scope",
        "offline_access",
    );
    refused(
        trade(
            &app,
            &w.t,
            &w.agent,
            &[("assertion", &a), ("scope", "openid")],
        )
        .await,
        400,
        "invalid_scope",
        "openid",
    );
    // None of the refusals above used the assertion up: it still works, once.
    let (status, body) = trade(&app, &w.t, &w.agent, &[("assertion", &a)]).await;
    assert_eq!(status, 200, "{body}");
    refused(
        trade(&app, &w.t, &w.agent, &[("assertion", &a)]).await,
        400,
        "invalid_grant",
        "a replayed assertion",
    );

    // An expired assertion.
    let a = fresh().await;
    clock.advance(time::Duration::seconds(301));
    let got = trade(&app, &w.t, &w.agent, &[("assertion", &a)]).await;
    refused(got.clone(), 400, "invalid_grant", "an expired assertion");
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        got.1
    );

    // A user unassigned from the app since the assertion was issued.
    let id_token = org_id_token(&app, &w.t, &w.agent).await;
    let a = assertion_for(&app, &w, &id_token, &issuer).await;
    app.api(
        &w.t,
        Method::DELETE,
        &format!("/apps/{}/users/{}", w.agent.id, w.uid),
        None,
    )
    .await
    .expect(204);
    refused(
        trade(&app, &w.t, &w.agent, &[("assertion", &a)]).await,
        400,
        "access_denied",
        "an unassigned user",
    );
    app.api(
        &w.t,
        Method::POST,
        &format!("/apps/{}/users", w.agent.id),
        Some(json!({"id": w.uid})),
    )
    .await
    .expect(200);

    // A user deactivated since the assertion was issued. (The unassignment revoked the user's
    // tokens for the app up to this instant; the test clock stands still unless moved.)
    clock.advance(time::Duration::seconds(1));
    let id_token = org_id_token(&app, &w.t, &w.agent).await;
    let a = assertion_for(&app, &w, &id_token, &issuer).await;
    app.api(
        &w.t,
        Method::POST,
        &format!("/users/{}/lifecycle/deactivate", w.uid),
        None,
    )
    .await
    .expect(200);
    let got = trade(&app, &w.t, &w.agent, &[("assertion", &a)]).await;
    refused(got.clone(), 400, "invalid_grant", "a deactivated user");
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("not an active user"),
        "{}",
        got.1
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_grant_needs_a_rule_that_allows_it() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let id_token = org_id_token(&app, &w.t, &w.agent).await;
    let issuer = format!("{}/oauth2/default", w.t.org);
    // The billing server has no policy that allows the grant.
    let other = assertion_for(&app, &w, &id_token, &w.other_issuer).await;
    let (status, body) = post(
        &app,
        &format!("{}/v1/token", w.other_issuer),
        &w.agent,
        &[("grant_type", JWT_BEARER), ("assertion", &other)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "access_denied", "{body}");
    // An app without the grant type is not authorized for it, whatever the rules say.
    let mut plain = agent_app();
    plain["settings"]["oauthClient"]["grant_types"] = json!(["authorization_code"]);
    let plain = app_with(&app, &w.t, plain).await;
    let a = assertion_for(&app, &w, &id_token, &issuer).await;
    refused(
        trade(&app, &w.t, &plain, &[("assertion", &a)]).await,
        400,
        "unauthorized_client",
        "no jwt-bearer grant type",
    );
    app.stop().await;
}
