//! The token preview (`POST /api/v1/authorizationServers/{id}/tokenPreview`): every reason a
//! policy or rule is skipped, each reason a scope is refused, claims present and absent, the
//! drafted tokens against the ones the token endpoint then issues, and a property test over
//! generated configurations and requests that the preview decides as the token endpoint does.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Tenant, TestApp, admin_with, config, service_app, spawn, spawn_with, user,
};
use crate::introspection::{Creds, app_with, native_app, post};

const PASSWORD: &str = "Analytical1Engine";

/// A server `orders` with scopes `orders.read` (default), `orders.write`, `orders.admin` and
/// `orders.consent` (needs consent), and no policies.
async fn orders_server(app: &TestApp, t: &Tenant) -> String {
    let s = app
        .api(t, Method::POST, "/authorizationServers",
            Some(json!({"name": "orders", "description": "Orders API", "audiences": ["api://orders"]})))
        .await
        .expect(201);
    let sid = s["id"].as_str().unwrap().to_owned();
    for (name, default, consent) in [
        ("orders.read", true, "IMPLICIT"),
        ("orders.write", false, "IMPLICIT"),
        ("orders.admin", false, "IMPLICIT"),
        ("orders.consent", false, "REQUIRED"),
    ] {
        app.api(
            t,
            Method::POST,
            &format!("/authorizationServers/{sid}/scopes"),
            Some(json!({"name": name, "default": default, "consent": consent})),
        )
        .await
        .expect(201);
    }
    sid
}

async fn policy(
    app: &TestApp,
    t: &Tenant,
    sid: &str,
    name: &str,
    priority: i64,
    clients: Value,
) -> String {
    let p = app
        .api(
            t,
            Method::POST,
            &format!("/authorizationServers/{sid}/policies"),
            Some(
                json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": name, "description": name,
                "priority": priority, "conditions": {"clients": {"include": clients}}}),
            ),
        )
        .await
        .expect(201);
    p["id"].as_str().unwrap().to_owned()
}

/// The grant types, groups and scopes a rule includes.
type Conditions<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str]);

async fn rule(
    app: &TestApp,
    t: &Tenant,
    sid: &str,
    pid: &str,
    name: &str,
    priority: i64,
    (grants, groups, scopes): Conditions<'_>,
) -> String {
    let r = app
        .api(
            t,
            Method::POST,
            &format!("/authorizationServers/{sid}/policies/{pid}/rules"),
            Some(
                json!({"type": "RESOURCE_ACCESS", "name": name, "priority": priority,
                "conditions": {"people": {"groups": {"include": groups}},
                    "grantTypes": {"include": grants}, "scopes": {"include": scopes}}}),
            ),
        )
        .await
        .expect(201);
    r["id"].as_str().unwrap().to_owned()
}

async fn preview(app: &TestApp, t: &Tenant, sid: &str, body: Value) -> Value {
    app.api(
        t,
        Method::POST,
        &format!("/authorizationServers/{sid}/tokenPreview"),
        Some(body),
    )
    .await
    .expect(200)
}

/// The id of the object named `name` in a listed collection.
fn id_named(list: &Value, name: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn outcomes(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn reason<'a>(list: &'a Value, name: &str) -> &'a str {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))["reason"]
        .as_str()
        .unwrap()
}

struct World {
    t: Tenant,
    sid: String,
    native: Creds,
    svc: Creds,
    uid: String,
}

/// Three policies (one for another client, one inactive, one for every client) whose rules
/// each fail for a different reason before one matches.
async fn world(app: &TestApp) -> World {
    let t = app.provision().await;
    let sid = orders_server(app, &t).await;
    let native = app_with(app, &t, native_app()).await;
    let svc = app_with(app, &t, service_app("reports")).await;
    let other = app_with(app, &t, service_app("other")).await;
    let admins = app.group(&t, "Order admins").await;
    let u = app.user(&t, "buyer@example.com").await;
    let uid = u["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", native.id),
        Some(json!({"id": uid})),
    )
    .await
    .expect(200);

    policy(app, &t, &sid, "theirs", 1, json!([other.id])).await;
    let dormant = policy(app, &t, &sid, "dormant", 2, json!(["ALL_CLIENTS"])).await;
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{sid}/policies/{dormant}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(204);
    let ours = policy(app, &t, &sid, "ours", 3, json!(["ALL_CLIENTS"])).await;
    let off = rule(
        app,
        &t,
        &sid,
        &ours,
        "off",
        1,
        (&["password"], &["EVERYONE"], &["*"]),
    )
    .await;
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/{sid}/policies/{ours}/rules/{off}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(204);
    rule(
        app,
        &t,
        &sid,
        &ours,
        "machines",
        2,
        (
            &["client_credentials"],
            &["EVERYONE"],
            &["orders.read", "orders.consent"],
        ),
    )
    .await;
    let admin_group = admins["id"].as_str().unwrap();
    rule(
        app,
        &t,
        &sid,
        &ours,
        "admins",
        3,
        (&["password"], &[admin_group], &["*"]),
    )
    .await;
    rule(
        app,
        &t,
        &sid,
        &ours,
        "readers",
        4,
        (&["password"], &["EVERYONE"], &["orders.read"]),
    )
    .await;
    rule(
        app,
        &t,
        &sid,
        &ours,
        "buyers",
        5,
        (
            &["password"],
            &["EVERYONE"],
            &["orders.read", "orders.write", "openid", "profile"],
        ),
    )
    .await;
    rule(
        app,
        &t,
        &sid,
        &ours,
        "last",
        6,
        (&["password"], &["EVERYONE"], &["*"]),
    )
    .await;

    for (name, claim_type, value, always, scopes) in [
        ("given", "RESOURCE", "user.firstName", false, json!([])),
        ("nick", "RESOURCE", "user.nickName", false, json!([])),
        (
            "admin_level",
            "RESOURCE",
            "\"full\"",
            false,
            json!(["orders.admin"]),
        ),
        (
            "writer",
            "RESOURCE",
            "\"yes\"",
            false,
            json!(["orders.write"]),
        ),
        ("family", "IDENTITY", "user.lastName", true, json!([])),
        (
            "thin_only",
            "IDENTITY",
            "\"never in a thin token\"",
            false,
            json!([]),
        ),
    ] {
        app.api(&t, Method::POST, &format!("/authorizationServers/{sid}/claims"),
            Some(json!({"name": name, "status": "ACTIVE", "claimType": claim_type, "valueType": "EXPRESSION",
                "value": value, "alwaysIncludeInToken": always, "conditions": {"scopes": scopes}})))
            .await
            .expect(201);
    }
    World {
        t,
        sid,
        native,
        svc,
        uid,
    }
}

async fn token(app: &TestApp, w: &World, c: &Creds, form: &[(&str, &str)]) -> (u16, Value) {
    post(
        app,
        &format!("{}/oauth2/{}/v1/token", w.t.org, w.sid),
        c,
        form,
    )
    .await
}

#[actix_web::test]
async fn an_allowed_preview_explains_every_policy_rule_scope_and_claim_and_drafts_the_tokens() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let scopes = ["orders.read", "orders.write", "openid", "profile"];
    let got = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"clientId": w.native.id, "grantType": "password",
        "scopes": scopes, "userId": "buyer@example.com"}),
    )
    .await;
    assert_eq!(got["decision"], "ALLOW", "{got:#}");
    assert!(got.get("error").is_none());
    assert_eq!(got["user"]["id"], w.uid.as_str());
    assert_eq!(
        outcomes(&got["policies"]),
        [
            ("theirs", "SKIPPED"),
            ("ours", "MATCHED"),
            ("dormant", "SKIPPED")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(reason(&got["policies"], "theirs").contains("does not include the client"));
    assert!(reason(&got["policies"], "dormant").contains("INACTIVE"));
    let rules = &got["policies"][1]["rules"];
    assert_eq!(
        outcomes(rules),
        [
            ("machines", "SKIPPED"),
            ("admins", "SKIPPED"),
            ("readers", "SKIPPED"),
            ("buyers", "MATCHED"),
            ("last", "NOT_EVALUATED"),
            ("off", "SKIPPED")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(reason(rules, "machines").contains("grant types do not include password"));
    assert!(reason(rules, "admins").contains("people condition"));
    assert!(reason(rules, "readers").contains("[orders.write, openid, profile]"));
    assert!(reason(rules, "off").contains("INACTIVE"));
    for s in scopes {
        assert_eq!(
            got["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == s)
                .unwrap()["granted"],
            true,
            "{s}"
        );
        assert!(reason(&got["scopes"], s).contains("rule 'buyers'"));
    }
    assert_eq!(got["lifetimes"]["accessTokenMinutes"], 60);
    assert_eq!(got["inlineHook"], Value::Null);

    // Claims: evaluated, null, out of scope, in scope, thin ID tokens.
    let claim = |name: &str| {
        got["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            claim("given")["included"].clone(),
            claim("given")["value"].clone()
        ),
        (json!(true), json!("Ada"))
    );
    assert_eq!(claim("given")["expression"], "user.firstName");
    assert_eq!(claim("nick")["included"], false);
    assert!(claim("nick")["reason"].as_str().unwrap().contains("null"));
    assert!(
        claim("admin_level")["reason"]
            .as_str()
            .unwrap()
            .contains("scopes it is included with")
    );
    assert_eq!(claim("writer")["value"], "yes");
    assert_eq!(
        (
            claim("family")["token"].clone(),
            claim("family")["value"].clone()
        ),
        (json!("id_token"), json!("Lovelace"))
    );
    assert!(
        claim("thin_only")["reason"]
            .as_str()
            .unwrap()
            .contains("alwaysIncludeInToken")
    );

    // The drafted tokens are what the token endpoint then signs (but for jti and times).
    let (status, issued) = token(
        &app,
        &w,
        &w.native,
        &[
            ("grant_type", "password"),
            ("username", "buyer@example.com"),
            ("password", PASSWORD),
            ("scope", &scopes.join(" ")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let signed = crate::authorize::jwt_claims(issued["access_token"].as_str().unwrap());
    let drafted = &got["tokens"]["access_token"];
    let strip = |v: &Value| {
        let mut m = v.as_object().unwrap().clone();
        for k in ["jti", "iat", "exp", "auth_time"] {
            m.remove(k);
        }
        m
    };
    assert_eq!(strip(drafted), strip(&signed));
    assert_eq!(
        drafted["exp"].as_i64().unwrap() - drafted["iat"].as_i64().unwrap(),
        3600
    );
    let id = crate::authorize::jwt_claims(issued["id_token"].as_str().unwrap());
    let drafted_id = &got["tokens"]["id_token"];
    assert_eq!(strip(drafted_id), {
        let mut m = strip(&id);
        m.remove("at_hash");
        m
    });
    assert_eq!(got["tokens"]["refresh_token"], false);
    app.stop().await;
}

/// A preview request, the client, the token request asked of the endpoint alike, and the error.
type Case<'a> = (Value, &'a Creds, Vec<(String, String)>, &'a str);

#[actix_web::test]
async fn a_denied_preview_says_the_token_endpoints_error_and_why() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let svc_cc = |scope: Option<&str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        form.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    // An app that must ask for consent, which the password grant cannot.
    let mut asking = native_app();
    asking["label"] = json!("asking");
    asking["settings"]["oauthClient"]["consent_method"] = json!("REQUIRED");
    let asking = app_with(&app, &w.t, asking).await;
    app.api(
        &w.t,
        Method::POST,
        &format!("/apps/{}/users", asking.id),
        Some(json!({"id": w.uid})),
    )
    .await
    .expect(200);
    // Each case: the preview request, and the token request the endpoint is asked the same.
    let cases: Vec<Case<'_>> = vec![
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.write"]}),
            &w.svc,
            svc_cc(Some("orders.write")),
            "access_denied",
        ),
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["no.such"]}),
            &w.svc,
            svc_cc(Some("no.such")),
            "invalid_scope",
        ),
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["openid"]}),
            &w.svc,
            svc_cc(Some("openid")),
            "invalid_scope",
        ),
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.read", "orders.consent"]}),
            &w.svc,
            svc_cc(Some("orders.read orders.consent")),
            "consent_required",
        ),
        (
            json!({"clientId": w.svc.id, "grantType": "password", "scopes": ["orders.read"], "userId": w.uid}),
            &w.svc,
            vec![
                ("grant_type".into(), "password".into()),
                ("username".into(), "buyer@example.com".into()),
                ("password".into(), PASSWORD.into()),
                ("scope".into(), "orders.read".into()),
            ],
            "unauthorized_client",
        ),
        (
            json!({"clientId": asking.id, "grantType": "password", "scopes": ["orders.read", "orders.consent"], "userId": w.uid}),
            &asking,
            vec![
                ("grant_type".into(), "password".into()),
                ("username".into(), "buyer@example.com".into()),
                ("password".into(), PASSWORD.into()),
                ("scope".into(), "orders.read orders.consent".into()),
            ],
            "consent_required",
        ),
    ];
    for (body, creds, form, error) in cases {
        let got = preview(&app, &w.t, &w.sid, body.clone()).await;
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, answered) = token(&app, &w, creds, &form).await;
        assert_eq!(got["decision"], "DENY", "{body}: {got:#}");
        assert_eq!(got["error"]["error"], error, "{body}: {got:#}");
        assert_eq!(
            got["error"]["error"], answered["error"],
            "{body}: {answered}"
        );
        assert_eq!(
            got["error"]["error_description"], answered["error_description"],
            "{body}"
        );
        assert_eq!(got["error"]["status"], status, "{body}");
        assert_eq!(got["tokens"], Value::Null, "{body}");
    }
    // Why each scope was refused.
    let got = preview(&app, &w.t, &w.sid, json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.read", "orders.write"]})).await;
    assert!(
        reason(&got["scopes"], "orders.write").contains("do not cover this scope: [machines]"),
        "{got:#}"
    );
    assert!(
        reason(&got["scopes"], "orders.read").contains("this scope is not why"),
        "{got:#}"
    );
    assert_eq!(
        outcomes(&got["policies"])[1],
        ("ours".to_owned(), "SKIPPED".to_owned())
    );
    assert!(
        reason(&got["policies"], "ours").contains("none of its rules matched"),
        "{got:#}"
    );
    let got = preview(&app, &w.t, &w.sid, json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["no.such", "orders.read"]})).await;
    assert!(reason(&got["scopes"], "no.such").contains("not a scope of this authorization server"));
    assert!(reason(&got["scopes"], "orders.read").contains("refused"));
    assert!(
        got["policies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["outcome"] == "NOT_EVALUATED"),
        "{got:#}"
    );
    let got = preview(&app, &w.t, &w.sid, json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.read", "orders.consent"]})).await;
    assert!(reason(&got["scopes"], "orders.consent").contains("consent"));
    assert!(
        reason(&got["scopes"], "orders.read").contains("Rule 'machines' permits it"),
        "{got:#}"
    );
    // No scope parameter: the default scopes, granted as such.
    let got = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"clientId": w.svc.id, "grantType": "client_credentials"}),
    )
    .await;
    assert_eq!(got["decision"], "ALLOW", "{got:#}");
    assert!(reason(&got["scopes"], "orders.read").contains("a default scope"));

    // A user not assigned to the app, and a deactivated one.
    let stranger = app.user(&w.t, "stranger@example.com").await;
    let got = preview(&app, &w.t, &w.sid, json!({"clientId": w.native.id, "grantType": "password", "scopes": ["orders.read"], "userId": stranger["id"]})).await;
    assert_eq!(
        (
            got["error"]["error"].as_str(),
            got["error"]["error_description"].as_str()
        ),
        (
            Some("access_denied"),
            Some("User is not assigned to the client application.")
        )
    );
    app.api(
        &w.t,
        Method::POST,
        &format!("/users/{}/lifecycle/deactivate", w.uid),
        None,
    )
    .await
    .expect(200);
    let got = preview(&app, &w.t, &w.sid, json!({"clientId": w.native.id, "grantType": "password", "scopes": ["orders.read"], "userId": w.uid})).await;
    assert_eq!(got["error"]["error"], "invalid_grant");
    // An unknown client and an unknown grant type.
    let got = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"clientId": "0oaNoSuchClient", "grantType": "client_credentials"}),
    )
    .await;
    assert_eq!(got["error"]["error"], "invalid_client");
    let got = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"clientId": w.svc.id, "grantType": "magic"}),
    )
    .await;
    assert_eq!(got["error"]["error"], "unsupported_grant_type");
    app.stop().await;
}

#[actix_web::test]
async fn the_preview_is_read_permission_bounded_input_and_changes_nothing() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let body =
        json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.read"]});
    let (_, read_only) = admin_with(&app, &w.t, "auditor@example.com", "READ_ONLY_ADMIN").await;
    let got = app
        .api(
            &read_only,
            Method::POST,
            &format!("/authorizationServers/{}/tokenPreview", w.sid),
            Some(body.clone()),
        )
        .await
        .expect(200);
    assert_eq!(got["decision"], "ALLOW");
    // Bad input gets E0000001 naming the field; a user-bound grant needs a user.
    for (bad, field) in [
        (json!({"grantType": "client_credentials"}), "clientId"),
        (json!({"clientId": w.svc.id}), "grantType"),
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["a b"]}),
            "scopes",
        ),
        (
            json!({"clientId": w.svc.id, "grantType": "client_credentials", "scopes": vec!["s"; 101]}),
            "scopes",
        ),
        (
            json!({"clientId": "x".repeat(2000), "grantType": "client_credentials"}),
            "clientId",
        ),
        (
            json!({"clientId": w.native.id, "grantType": "password", "scopes": ["orders.read"]}),
            "user",
        ),
        (
            json!({"clientId": w.native.id, "grantType": "password", "scopes": ["orders.read"], "userId": "nobody@example.com"}),
            "nobody",
        ),
    ] {
        let err = app
            .api(
                &w.t,
                Method::POST,
                &format!("/authorizationServers/{}/tokenPreview", w.sid),
                Some(bad.clone()),
            )
            .await
            .expect_error(400, "E0000001");
        assert!(crate::helpers::causes(&err).contains(field), "{bad}: {err}");
    }
    app.api(
        &w.t,
        Method::POST,
        &format!("/authorizationServers/{}/tokenPreview", w.sid),
        Some(json!({"clientId": w.svc.id, "grantType": "client_credentials", "surprise": 1})),
    )
    .await
    .expect(400);
    app.api(
        &w.t,
        Method::POST,
        "/authorizationServers/ausNoSuchServer/tokenPreview",
        Some(body.clone()),
    )
    .await
    .expect_error(404, "E0000007");
    // Another tenant cannot preview this tenant's server.
    let stranger = app.provision().await;
    app.api(
        &stranger,
        Method::POST,
        &format!("/authorizationServers/{}/tokenPreview", w.sid),
        Some(body.clone()),
    )
    .await
    .expect(404);
    // Nothing was issued: the System Log has no token grant for the previews.
    let logs = app
        .api(
            &w.t,
            Method::GET,
            "/logs?filter=eventType%20sw%20%22app.oauth2.as%22",
            None,
        )
        .await
        .expect(200);
    assert_eq!(logs.as_array().unwrap().len(), 0, "{logs}");
    app.stop().await;
}

/// A small deterministic generator (xorshift64*), so a failing case can be replayed by seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self) -> bool {
        self.below(2) == 0
    }
    fn some<'a>(&mut self, of: &[&'a str]) -> Vec<&'a str> {
        of.iter().copied().filter(|_| self.chance()).collect()
    }
}

/// The number of generated configurations and requests.
const CASES: usize = 300;

#[actix_web::test]
async fn property_the_preview_decides_as_the_token_endpoint_does() {
    // Hundreds of management calls a minute: the per-tenant quotas are not what is tested here.
    let mut cfg = config(Backend::Embedded).await;
    cfg.rate_limits.enabled = false;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let sid = orders_server(&app, &t).await;
    let native = app_with(&app, &t, native_app()).await;
    let svc = app_with(&app, &t, service_app("reports")).await;
    let group = app.group(&t, "Buyers").await;
    let gid = group["id"].as_str().unwrap().to_owned();
    // Six users (password requests are limited per username), half of them in the group.
    let mut users = Vec::new();
    for i in 0..6 {
        let login = format!("p{i}@example.com");
        let u = app
            .api(&t, Method::POST, "/users", Some(user(&login)))
            .await
            .expect(200);
        let uid = u["id"].as_str().unwrap().to_owned();
        app.api(
            &t,
            Method::POST,
            &format!("/apps/{}/users", native.id),
            Some(json!({"id": uid})),
        )
        .await
        .expect(200);
        if i % 2 == 0 {
            app.api(&t, Method::PUT, &format!("/groups/{gid}/users/{uid}"), None)
                .await
                .expect(204);
        }
        users.push((login, uid));
    }
    let pid = policy(&app, &t, &sid, "generated", 1, json!(["ALL_CLIENTS"])).await;
    let rules_path = format!("/authorizationServers/{sid}/policies/{pid}/rules");
    let mut g = Gen(0x7e55_e4a0_2026_1202);
    let (mut allowed, mut denied) = (0, 0);
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for case in 0..CASES {
        // A new configuration: the policy's clients and one to three rules.
        let clients = if g.below(4) == 0 {
            json!([native.id])
        } else {
            json!(["ALL_CLIENTS"])
        };
        app.api(&t, Method::PUT, &format!("/authorizationServers/{sid}/policies/{pid}"),
            Some(json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "generated", "description": "generated",
                "priority": 1, "conditions": {"clients": {"include": clients}}})))
            .await
            .expect(200);
        let existing = app
            .api(&t, Method::GET, &rules_path, None)
            .await
            .expect(200);
        for r in existing.as_array().unwrap() {
            app.api(
                &t,
                Method::DELETE,
                &format!("{rules_path}/{}", r["id"].as_str().unwrap()),
                None,
            )
            .await
            .expect(204);
        }
        let mut config = Vec::new();
        for i in 0..=g.below(3) {
            let mut grants = g.some(&["client_credentials", "password"]);
            if grants.is_empty() {
                grants.push("password");
            }
            let groups = if g.chance() {
                vec!["EVERYONE"]
            } else {
                vec![gid.as_str()]
            };
            let mut scopes = g.some(&[
                "orders.read",
                "orders.write",
                "orders.admin",
                "orders.consent",
                "openid",
            ]);
            if scopes.is_empty() || g.below(4) == 0 {
                scopes = vec!["*"];
            }
            let r = rule(
                &app,
                &t,
                &sid,
                &pid,
                &format!("r{i}"),
                i as i64 + 1,
                (&grants, &groups, &scopes),
            )
            .await;
            if g.below(5) == 0 {
                app.api(
                    &t,
                    Method::POST,
                    &format!("{rules_path}/{r}/lifecycle/deactivate"),
                    None,
                )
                .await
                .expect(204);
            }
            config.push(json!({"grants": grants, "groups": groups, "scopes": scopes}));
        }
        // A request.
        let password = g.chance();
        let requested: Option<Vec<&str>> = if g.below(5) == 0 {
            None
        } else {
            let mut s = g.some(&["orders.read", "orders.write", "orders.admin", "openid"]);
            if g.below(6) == 0 {
                s.push("orders.consent");
            }
            if g.below(8) == 0 {
                s.push("no.such");
            }
            Some(s).filter(|s| !s.is_empty())
        };
        let (login, uid) = &users[case % users.len()];
        let creds = if password { &native } else { &svc };
        let mut body = json!({"clientId": creds.id, "grantType": if password { "password" } else { "client_credentials" }});
        if let Some(s) = &requested {
            body["scopes"] = json!(s);
        }
        let joined = requested.as_ref().map(|s| s.join(" "));
        let mut form = vec![(
            "grant_type",
            if password {
                "password"
            } else {
                "client_credentials"
            },
        )];
        if password {
            body["userId"] = json!(uid);
            form.extend([("username", login.as_str()), ("password", PASSWORD)]);
        }
        if let Some(s) = &joined {
            form.push(("scope", s));
        }
        let got = preview(&app, &t, &sid, body.clone()).await;
        let (status, answered) = post(
            &app,
            &format!("{}/oauth2/{sid}/v1/token", t.org),
            creds,
            &form,
        )
        .await;
        let context = format!(
            "case {case}: rules {config:?}, clients {clients}, request {body}: preview {got}, endpoint {status} {answered}"
        );
        if status == 200 {
            allowed += 1;
            assert_eq!(got["decision"], "ALLOW", "{context}");
            let granted: Vec<&str> = got["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["granted"] == true)
                .map(|s| s["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                granted.join(" "),
                answered["scope"].as_str().unwrap(),
                "{context}"
            );
            assert_eq!(
                got["tokens"]["access_token"]["scp"],
                crate::authorize::jwt_claims(answered["access_token"].as_str().unwrap())["scp"],
                "{context}"
            );
        } else {
            denied += 1;
            *errors
                .entry(answered["error"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
            assert_ne!(status, 429, "{context}");
            assert_eq!(got["decision"], "DENY", "{context}");
            assert_eq!(
                (
                    got["error"]["status"].as_u64(),
                    &got["error"]["error"],
                    &got["error"]["error_description"]
                ),
                (
                    Some(u64::from(status)),
                    &answered["error"],
                    &answered["error_description"]
                ),
                "{context}"
            );
        }
    }
    eprintln!(
        "{CASES} generated cases: {allowed} allowed, {denied} denied ({errors:?}), every one decided alike"
    );
    assert!(
        allowed > CASES / 10 && denied > CASES / 10,
        "{allowed} allowed, {denied} denied: the generator should reach both"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_proposed_policy_change_shows_which_decisions_it_would_turn_and_saves_nothing() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    let policies = app
        .api(
            &w.t,
            Method::GET,
            &format!("/authorizationServers/{}/policies", w.sid),
            None,
        )
        .await
        .expect(200);
    let ours = id_named(&policies, "ours");
    let rules = app
        .api(
            &w.t,
            Method::GET,
            &format!("/authorizationServers/{}/policies/{ours}/rules", w.sid),
            None,
        )
        .await
        .expect(200);
    let machines = id_named(&rules, "machines");
    let requests = json!([
        {"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.write"]},
        {"clientId": w.svc.id, "grantType": "client_credentials", "scopes": ["orders.read"]},
        {"clientId": w.native.id, "grantType": "password", "scopes": ["orders.read"], "userId": w.uid},
    ]);
    // Widen the machines rule to orders.write: the first request turns, the others do not.
    let widened = json!({"rule": {"policyId": ours, "id": machines, "priority": 2,
        "conditions": {"people": {"groups": {"include": ["EVERYONE"]}}, "grantTypes": {"include": ["client_credentials"]},
            "scopes": {"include": ["orders.read", "orders.write"]}}}});
    let diff = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"proposed": widened, "requests": requests}),
    )
    .await;
    assert_eq!(diff["changed"], 1, "{diff:#}");
    let turned = &diff["requests"][0];
    assert_eq!(turned["changed"], true);
    assert_eq!(turned["before"]["decision"], "DENY");
    assert_eq!(turned["before"]["error"]["error"], "access_denied");
    assert_eq!(
        turned["after"],
        json!({"decision": "ALLOW", "scopes": ["orders.write"], "rule": machines,
        "lifetimes": {"accessTokenMinutes": 60, "refreshTokenMinutes": 0, "refreshTokenWindowMinutes": 10080}}),
        "{turned:#}"
    );
    assert_eq!(diff["requests"][1]["changed"], false);
    assert_eq!(diff["requests"][2]["changed"], false);
    // Nothing was saved: the token endpoint still refuses the first request.
    let (status, body) = token(
        &app,
        &w,
        &w.svc,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders.write"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );

    // Deactivating the policy turns every allowed request into a denial.
    let off = json!({"policy": {"id": ours, "status": "INACTIVE"}});
    let diff = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"proposed": off, "requests": requests}),
    )
    .await;
    assert_eq!(diff["changed"], 2, "{diff:#}");
    assert_eq!(
        diff["requests"][2]["after"]["error"]["error"],
        "access_denied"
    );
    // Deleting it turns them the same way.
    let gone = json!({"deletePolicy": {"id": ours}});
    let diff = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"proposed": gone, "requests": requests}),
    )
    .await;
    assert_eq!(diff["changed"], 2, "{diff:#}");
    // A new policy for the service app only, with no rules yet, changes nothing.
    let new =
        json!({"policy": {"priority": 1, "conditions": {"clients": {"include": [w.svc.id]}}}});
    let diff = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"proposed": new, "requests": requests}),
    )
    .await;
    assert_eq!(diff["changed"], 0, "{diff:#}");
    // Deleting the buyers' fallback rule.
    let delete = json!({"deleteRule": {"policyId": ours, "id": id_named(&rules, "readers")}});
    let diff = preview(
        &app,
        &w.t,
        &w.sid,
        json!({"proposed": delete, "requests": requests}),
    )
    .await;
    assert_eq!(
        diff["requests"][2]["after"]["rule"],
        json!(id_named(&rules, "buyers")),
        "{diff:#}"
    );
    assert_eq!(
        diff["requests"][2]["before"]["rule"],
        json!(id_named(&rules, "readers")),
        "{diff:#}"
    );
    // Bad proposals are E0000001 naming `proposed`, and nothing changes.
    for bad in [
        json!({"rule": {"policyId": "00pNoSuchPolicy"}}),
        json!({"rule": {"policyId": ours, "id": "0prNoSuchRule"}}),
        json!({"rule": {"policyId": ours, "conditions": {"grantTypes": {"include": ["magic"]}}}}),
        json!({"rule": {"policyId": ours, "status": "MAYBE"}}),
        json!({"teleport": {}}),
        json!({"policy": {"priority": 1}}),
    ] {
        let err = app
            .api(
                &w.t,
                Method::POST,
                &format!("/authorizationServers/{}/tokenPreview", w.sid),
                Some(json!({"proposed": bad, "requests": requests})),
            )
            .await
            .expect_error(400, "E0000001");
        assert!(
            crate::helpers::causes(&err).contains("proposed"),
            "{bad}: {err}"
        );
    }
    for bad in [
        json!({"proposed": {"policy": {"id": ours, "status": "INACTIVE"}}, "requests": []}),
        json!({"proposed": {"policy": {"id": ours, "status": "INACTIVE"}}, "clientId": w.svc.id, "grantType": "client_credentials"}),
        json!({"requests": requests, "clientId": w.svc.id, "grantType": "client_credentials"}),
    ] {
        app.api(
            &w.t,
            Method::POST,
            &format!("/authorizationServers/{}/tokenPreview", w.sid),
            Some(bad),
        )
        .await
        .expect_error(400, "E0000001");
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_remaining_reasons_default_scopes_claims_without_a_user_and_a_failing_claim() {
    let app = spawn(Backend::Embedded).await;
    let w = world(&app).await;
    // A server with two default scopes and a rule that permits one of them.
    let s = app
        .api(
            &w.t,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "bare", "description": "bare", "audiences": ["api://bare"]})),
        )
        .await
        .expect(201);
    let sid = s["id"].as_str().unwrap().to_owned();
    for (name, default) in [("x", true), ("z", true), ("y", false)] {
        app.api(
            &w.t,
            Method::POST,
            &format!("/authorizationServers/{sid}/scopes"),
            Some(json!({"name": name, "default": default})),
        )
        .await
        .expect(201);
    }
    let pid = policy(&app, &w.t, &sid, "all", 1, json!(["ALL_CLIENTS"])).await;
    rule(
        &app,
        &w.t,
        &sid,
        &pid,
        "only y",
        1,
        (&["client_credentials"], &["EVERYONE"], &["y"]),
    )
    .await;
    rule(
        &app,
        &w.t,
        &sid,
        &pid,
        "x only",
        2,
        (&["client_credentials"], &["EVERYONE"], &["x", "y"]),
    )
    .await;
    policy(&app, &w.t, &sid, "later", 2, json!(["ALL_CLIENTS"])).await;
    for (name, claim_type, value_type, value) in [
        ("teams", "RESOURCE", "GROUPS", "eng"),
        ("family", "IDENTITY", "EXPRESSION", "user.lastName"),
    ] {
        let mut body = json!({"name": name, "status": "ACTIVE", "claimType": claim_type, "valueType": value_type,
            "value": value, "alwaysIncludeInToken": true, "conditions": {"scopes": []}});
        if value_type == "GROUPS" {
            body["group_filter_type"] = json!("STARTS_WITH");
        }
        app.api(
            &w.t,
            Method::POST,
            &format!("/authorizationServers/{sid}/claims"),
            Some(body),
        )
        .await
        .expect(201);
    }
    let got = preview(
        &app,
        &w.t,
        &sid,
        json!({"clientId": w.svc.id, "grantType": "client_credentials"}),
    )
    .await;
    assert_eq!(got["decision"], "ALLOW", "{got:#}");
    assert_eq!(
        outcomes(&got["policies"]),
        [("all", "MATCHED"), ("later", "NOT_EVALUATED")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(reason(&got["policies"], "later").contains("An earlier policy decided"));
    let rules = &got["policies"][0]["rules"];
    assert_eq!(rules[0]["outcome"], "SKIPPED");
    assert!(
        reason(rules, "only y").contains("permits none of the default scopes"),
        "{rules:#}"
    );
    assert!(reason(&got["scopes"], "x").contains("a default scope"));
    assert!(
        reason(&got["scopes"], "z").contains("does not permit"),
        "{got:#}"
    );
    let claim = |name: &str| {
        got["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert!(
        claim("teams")["reason"]
            .as_str()
            .unwrap()
            .contains("no user"),
        "{got:#}"
    );
    assert!(
        claim("family")["reason"]
            .as_str()
            .unwrap()
            .contains("No ID token"),
        "{got:#}"
    );
    assert_eq!(got["tokens"]["id_token"], Value::Null);

    // A claim that fails to evaluate fails the request, at the endpoint and in the preview.
    app.api(&w.t, Method::POST, &format!("/authorizationServers/{sid}/claims"),
        Some(json!({"name": "broken", "status": "ACTIVE", "claimType": "RESOURCE", "valueType": "EXPRESSION",
            "value": "Convert.toInt(app.label)", "conditions": {"scopes": []}}))).await.expect(201);
    let got = preview(
        &app,
        &w.t,
        &sid,
        json!({"clientId": w.svc.id, "grantType": "client_credentials"}),
    )
    .await;
    let (status, answered) = post(
        &app,
        &format!("{}/oauth2/{sid}/v1/token", w.t.org),
        &w.svc,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (got["decision"].as_str(), status),
        (Some("DENY"), 500),
        "{got:#} {answered}"
    );
    assert_eq!(got["error"]["error"], answered["error"]);
    assert_eq!(
        got["error"]["error_description"],
        answered["error_description"]
    );
    let broken = got["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "broken")
        .unwrap();
    assert!(
        broken["reason"]
            .as_str()
            .unwrap()
            .contains("fails to evaluate"),
        "{broken}"
    );
    assert_eq!(got["tokens"], Value::Null);
    app.stop().await;
}
