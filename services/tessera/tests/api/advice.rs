//! Configuration advice (docs/advice.md): a configuration that triggers each finding and one
//! that does not, through `GET …/authorizationServers/{id}/advice` and `GET /advice`, and
//! `tessera advise` on the command line.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, config, service_app, spawn_clocked};
use crate::introspection::{Creds, app_with};

/// A server on the embedded default whose clock the test moves.
async fn clocked() -> (TestApp, Arc<tessera_domain::TestClock>) {
    let clock = Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let app = spawn_clocked(
        config(Backend::Embedded).await,
        &tessera::Service::ALL,
        clock.clone(),
    )
    .await;
    (app, clock)
}

/// `(code, object id)` of every finding.
fn codes(findings: &Value) -> Vec<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["object"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(findings: &Value, code: &str, id: &str) -> bool {
    codes(findings).iter().any(|(c, i)| c == code && i == id)
}

async fn tenant_advice(app: &TestApp, t: &Tenant) -> Value {
    app.api(t, Method::GET, "/advice", None).await.expect(200)
}

async fn secret_id(app: &TestApp, t: &Tenant, c: &Creds) -> String {
    let secrets = app
        .api(
            t,
            Method::GET,
            &format!("/apps/{}/credentials/secrets", c.id),
            None,
        )
        .await
        .expect(200);
    secrets[0]["id"].as_str().unwrap().to_owned()
}

/// The default server made tidy: a specific audience, its default policy deactivated, a policy
/// for `client` with one rule for client credentials and `orders.read`.
async fn tidy(app: &TestApp, t: &Tenant, client: &Creds) -> (String, String) {
    let default = app
        .api(t, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200);
    let sid = default["id"].as_str().unwrap().to_owned();
    app.api(t, Method::PUT, "/authorizationServers/default",
        Some(json!({"name": "default", "description": "Orders API", "audiences": ["https://api.example.com/orders"]})))
        .await
        .expect(200);
    let policies = app
        .api(
            t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    for p in policies.as_array().unwrap() {
        app.api(
            t,
            Method::POST,
            &format!(
                "/authorizationServers/default/policies/{}/lifecycle/deactivate",
                p["id"].as_str().unwrap()
            ),
            None,
        )
        .await
        .expect(204);
    }
    app.api(
        t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "orders.read"})),
    )
    .await
    .expect(201);
    let p = app
        .api(t, Method::POST, "/authorizationServers/default/policies",
            Some(json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "reports", "description": "reports",
                "conditions": {"clients": {"include": [client.id]}}})))
        .await
        .expect(201);
    let pid = p["id"].as_str().unwrap().to_owned();
    app.api(t, Method::POST, &format!("/authorizationServers/default/policies/{pid}/rules"),
        Some(json!({"type": "RESOURCE_ACCESS", "name": "read orders", "conditions": {
            "people": {"groups": {"include": ["EVERYONE"]}}, "grantTypes": {"include": ["client_credentials"]},
            "scopes": {"include": ["orders.read"]}}})))
        .await
        .expect(201);
    (sid, pid)
}

#[actix_web::test]
async fn a_new_tenant_is_advised_about_its_defaults_and_a_tidy_one_is_not() {
    let (app, clock) = clocked().await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("reports")).await;
    let default = app
        .api(&t, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200);
    let sid = default["id"].as_str().unwrap().to_owned();
    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let default_policy = policies[0]["id"].as_str().unwrap().to_owned();
    let rules = app
        .api(
            &t,
            Method::GET,
            &format!("/authorizationServers/default/policies/{default_policy}/rules"),
            None,
        )
        .await
        .expect(200);
    let default_rule = rules[0]["id"].as_str().unwrap().to_owned();

    // Okta's defaults are what its guidance warns about.
    let found = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/advice",
            None,
        )
        .await
        .expect(200);
    assert!(
        has(&found, "TA-POLICY-ALL-CLIENTS", &default_policy),
        "{found:#}"
    );
    assert!(
        has(&found, "TA-RULE-ALL-SCOPES", &default_rule),
        "{found:#}"
    );
    assert!(has(&found, "TA-AUDIENCE-GENERIC", &sid), "{found:#}");
    let first = &found[0];
    for field in ["code", "severity", "title", "object", "guidance", "fix"] {
        assert!(!first[field].is_null(), "{field}: {first}");
    }
    assert!(
        first["guidance"]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let severities: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let mut sorted = severities.clone();
    sorted.sort_by_key(|s| ["HIGH", "MEDIUM", "LOW"].iter().position(|x| x == s));
    assert_eq!(severities, sorted, "most severe first");

    // Tidied, nothing is found: not for the server, not for the tenant.
    tidy(&app, &t, &svc).await;
    let found = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/advice",
            None,
        )
        .await
        .expect(200);
    assert_eq!(found, json!([]), "{found:#}");
    assert_eq!(tenant_advice(&app, &t).await, json!([]));

    // 181 days on: the service app's secret is old, and it has never used its grant type.
    clock.advance(time::Duration::days(181));
    let found = tenant_advice(&app, &t).await;
    assert!(
        has(&found, "TA-SECRET-OLD", &secret_id(&app, &t, &svc).await),
        "{found:#}"
    );
    assert!(has(&found, "TA-GRANT-UNUSED", &svc.id), "{found:#}");
    assert_eq!(found.as_array().unwrap().len(), 2, "{found:#}");
    // Once it gets a token, its grant type is in use.
    let (status, body) = crate::introspection::post(
        &app,
        &format!("{}/oauth2/default/v1/token", t.org),
        &svc,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders.read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let found = tenant_advice(&app, &t).await;
    assert_eq!(
        codes(&found)
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["TA-SECRET-OLD"],
        "{found:#}"
    );
    app.api(
        &t,
        Method::GET,
        "/authorizationServers/ausNoSuchServer/advice",
        None,
    )
    .await
    .expect_error(404, "E0000007");
    app.stop().await;
}

#[actix_web::test]
async fn each_finding_is_triggered_by_its_configuration_and_only_by_it() {
    let (app, _) = clocked().await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("reports")).await;
    let (sid, pid) = tidy(&app, &t, &svc).await;
    let rules = format!("/authorizationServers/default/policies/{pid}/rules");
    let rule = |name: &str, grants: &[&str], groups: &[&str], scopes: &[&str], minutes: i64| {
        json!({"type": "RESOURCE_ACCESS", "name": name, "conditions": {
            "people": {"groups": {"include": groups}}, "grantTypes": {"include": grants},
            "scopes": {"include": scopes}}, "actions": {"token": {"accessTokenLifetimeMinutes": minutes}}})
    };
    let group = app.group(&t, "Writers").await;
    let gid = group["id"].as_str().unwrap();
    for s in ["orders.write", "orders.admin", "orders.list"] {
        app.api(
            &t,
            Method::POST,
            "/authorizationServers/default/scopes",
            Some(json!({"name": s})),
        )
        .await
        .expect(201);
    }
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let everyone_writes = id(app
        .api(
            &t,
            Method::POST,
            &rules,
            Some(rule(
                "everyone writes",
                &["password"],
                &["EVERYONE"],
                &["orders.write"],
                60,
            )),
        )
        .await
        .expect(201));
    let group_writes = id(app
        .api(
            &t,
            Method::POST,
            &rules,
            Some(rule(
                "writers write",
                &["password"],
                &[gid],
                &["orders.write"],
                60,
            )),
        )
        .await
        .expect(201));
    let everyone_reads = id(app
        .api(
            &t,
            Method::POST,
            &rules,
            Some(rule(
                "everyone reads",
                &["password"],
                &["EVERYONE"],
                &["orders.read"],
                600,
            )),
        )
        .await
        .expect(201));
    let long_writes = id(app
        .api(
            &t,
            Method::POST,
            &rules,
            Some(rule(
                "long writes",
                &["client_credentials"],
                &["EVERYONE"],
                &["orders.write"],
                120,
            )),
        )
        .await
        .expect(201));

    // A second server with the same audience, and an inactive one still trusted.
    let twin = id(app.api(&t, Method::POST, "/authorizationServers",
        Some(json!({"name": "twin", "description": "twin", "audiences": ["https://api.example.com/orders"]}))).await.expect(201));
    let own = id(app.api(&t, Method::POST, "/authorizationServers",
        Some(json!({"name": "own", "description": "own", "audiences": ["https://api.example.com/billing"]}))).await.expect(201));
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{sid}/associatedServers"),
        Some(json!({"trusted": [own]})),
    )
    .await
    .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{own}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(204);

    // Apps: password, implicit with an http redirect, a loopback http redirect, and a grant no
    // rule allows.
    let native = app_with(&app, &t, json!({"name": "oidc_client", "label": "legacy", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "authorization_code"], "redirect_uris": ["http://localhost:8400/cb"], "response_types": ["code"]}}})).await;
    let implicit = app_with(&app, &t, json!({"name": "oidc_client", "label": "old portal", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["implicit", "authorization_code"], "response_types": ["token", "code"],
            "redirect_uris": ["http://portal.example.com/cb", "https://portal.example.com/cb"]}}})).await;
    let spa = app_with(&app, &t, json!({"name": "oidc_client", "label": "spa", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
        "settings": {"oauthClient": {"application_type": "browser", "grant_types": ["authorization_code"], "response_types": ["code"],
            "redirect_uris": ["https://spa.example.com/cb"]}}})).await;

    // A claim that fails for one user: Convert.toInt of an employee number that is not one.
    app.api(&t, Method::POST, "/authorizationServers/default/claims",
        Some(json!({"name": "employee", "status": "ACTIVE", "claimType": "RESOURCE", "valueType": "EXPRESSION",
            "value": "Convert.toInt(user.employeeNumber)", "conditions": {"scopes": []}})))
        .await
        .expect(201);
    for (login, number) in [("good@example.com", "42"), ("bad@example.com", "x42")] {
        let mut body = crate::helpers::user(login);
        body["profile"]["employeeNumber"] = json!(number);
        let u = app
            .api(&t, Method::POST, "/users", Some(body))
            .await
            .expect(200);
        app.api(
            &t,
            Method::POST,
            &format!("/apps/{}/users", native.id),
            Some(json!({"id": u["id"]})),
        )
        .await
        .expect(200);
    }

    let found = tenant_advice(&app, &t).await;
    for (code, object, present) in [
        ("TA-RULE-EVERYONE-SENSITIVE", &everyone_writes, true),
        ("TA-RULE-EVERYONE-SENSITIVE", &group_writes, false),
        ("TA-RULE-EVERYONE-SENSITIVE", &everyone_reads, false),
        ("TA-RULE-EVERYONE-SENSITIVE", &long_writes, false),
        ("TA-LIFETIME-LONG-WRITE", &long_writes, true),
        ("TA-LIFETIME-LONG-WRITE", &everyone_reads, false),
        ("TA-LIFETIME-LONG-WRITE", &everyone_writes, false),
        ("TA-SCOPE-GENERIC-ADMIN", &"orders.admin".to_owned(), true),
        ("TA-SCOPE-GENERIC-ADMIN", &"orders.list".to_owned(), false),
        ("TA-SCOPE-GENERIC-ADMIN", &"orders.write".to_owned(), false),
        ("TA-AUDIENCE-SHARED", &sid, true),
        ("TA-AUDIENCE-SHARED", &twin, true),
        ("TA-AUDIENCE-SHARED", &own, false),
        ("TA-SERVER-INACTIVE-REFERENCED", &own, true),
        ("TA-SERVER-INACTIVE-REFERENCED", &twin, false),
        ("TA-GRANT-PASSWORD", &native.id, true),
        ("TA-GRANT-PASSWORD", &implicit.id, false),
        ("TA-GRANT-IMPLICIT", &implicit.id, true),
        ("TA-GRANT-IMPLICIT", &native.id, false),
        ("TA-REDIRECT-HTTP", &implicit.id, true),
        ("TA-REDIRECT-HTTP", &native.id, false),
        // No rule allows the SPA's and the portal's authorization_code; the service app's
        // client_credentials has its rule.
        ("TA-GRANT-NO-RULE", &spa.id, true),
        ("TA-GRANT-NO-RULE", &svc.id, false),
        ("TA-CLAIM-FAILS", &"employee".to_owned(), true),
    ] {
        assert_eq!(
            has(&found, code, object),
            present,
            "{code} {object}: {:#?}",
            codes(&found)
        );
    }
    let failing = found
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "TA-CLAIM-FAILS")
        .unwrap();
    assert!(
        failing["title"]
            .as_str()
            .unwrap()
            .contains("bad@example.com"),
        "{failing}"
    );
    // No other finding than those (the tidy part stays quiet).
    let expected = [
        "TA-RULE-EVERYONE-SENSITIVE",
        "TA-LIFETIME-LONG-WRITE",
        "TA-SCOPE-GENERIC-ADMIN",
        "TA-AUDIENCE-SHARED",
        "TA-SERVER-INACTIVE-REFERENCED",
        "TA-GRANT-PASSWORD",
        "TA-GRANT-IMPLICIT",
        "TA-REDIRECT-HTTP",
        "TA-GRANT-NO-RULE",
        "TA-CLAIM-FAILS",
    ];
    for (code, object) in codes(&found) {
        assert!(
            expected.contains(&code.as_str()),
            "unexpected {code} on {object}"
        );
    }
    // The server's own form has the server's findings and none of the apps'.
    let server = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/advice",
            None,
        )
        .await
        .expect(200);
    assert!(has(&server, "TA-AUDIENCE-SHARED", &sid));
    assert!(
        !codes(&server)
            .iter()
            .any(|(c, _)| c.starts_with("TA-GRANT") || c == "TA-REDIRECT-HTTP"),
        "{server:#}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn redirect_uris_the_app_has_not_been_sent_to_for_90_days_are_reported() {
    let (app, clock) = clocked().await;
    let t = app.provision().await;
    let web = app_with(&app, &t, json!({"name": "oidc_client", "label": "portal", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code"], "response_types": ["code"],
            "redirect_uris": ["https://portal.example.com/cb", "https://old.example.com/cb"]}}})).await;
    let u = app.user(&t, "visitor@example.com").await;
    app.assign(&t, &web.id, u["id"].as_str().unwrap()).await;
    let unused = |found: &Value| -> Vec<String> {
        found
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "TA-REDIRECT-UNUSED" && f["object"]["id"] == web.id.as_str())
            .map(|f| f["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // A new app is not reported, however little it is used.
    assert!(unused(&tenant_advice(&app, &t).await).is_empty());
    clock.advance(time::Duration::days(91));
    assert_eq!(unused(&tenant_advice(&app, &t).await).len(), 2);
    // The user signs in through one redirect URI: only the other is reported.
    let verifier = "v".repeat(43);
    let challenge = crate::authorize::challenge(&verifier);
    let url = crate::authorize::authorize_url(
        &t,
        &web.id,
        "https://portal.example.com/cb",
        &[
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut browser = crate::authorize::Browser::new(&app);
    let res = browser
        .sign_in_through(&url, "visitor@example.com", "Analytical1Engine")
        .await;
    let back = crate::authorize::location(&res);
    assert!(
        back.starts_with("https://portal.example.com/cb?code="),
        "{back}"
    );
    let found = tenant_advice(&app, &t).await;
    let titles = unused(&found);
    assert_eq!(titles.len(), 1, "{found:#}");
    assert!(
        titles[0].contains("https://old.example.com/cb"),
        "{titles:?}"
    );
    // Its authorization_code grant was not used at the token endpoint: that is reported too.
    assert!(has(&found, "TA-GRANT-UNUSED", &web.id), "{found:#}");
    app.stop().await;
}
