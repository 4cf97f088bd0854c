//! Token inline hooks (Okta's token inline hook, <https://developer.okta.com/docs/reference/token-hook/>) against a local HTTP hook whose answers the test sets:
//! claims added, replaced and removed in both tokens, a lifetime changed, reserved claims left
//! alone, `error` failing the request, and a slow or failing hook leaving the tokens unmodified.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, Tenant, TestApp, config, service_app, spawn_with, user};

/// What the hook answers next.
#[derive(Clone)]
enum Answer {
    Json(Value),
    Status(u16),
    Slow(Duration),
}

/// A request the hook received: its `Authorization` and `X-Tenant` headers and body.
#[derive(Clone, Debug)]
struct Seen {
    authorization: Option<String>,
    custom: Option<String>,
    body: Value,
}

/// A form body the mock received, as name/value pairs.
type Form = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Mock {
    answer: Arc<Mutex<Option<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// The forms posted to the mock's token endpoint (OAUTH-channel hooks).
    token_requests: Arc<Mutex<Vec<Form>>>,
}

impl Mock {
    fn answer(&self, a: Answer) {
        *self.answer.lock().unwrap() = Some(a);
    }
    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

async fn hook(mock: web::Data<Mock>, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    mock.seen.lock().unwrap().push(Seen {
        authorization: header("authorization"),
        custom: header("x-tenant"),
        body: body.into_inner(),
    });
    let answer = mock
        .answer
        .lock()
        .unwrap()
        .clone()
        .unwrap_or(Answer::Status(204));
    match answer {
        Answer::Json(v) => HttpResponse::Ok().json(v),
        Answer::Status(s) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap()).finish()
        }
        Answer::Slow(d) => {
            actix_web::rt::time::sleep(d).await;
            HttpResponse::Ok().json(json!({"commands": []}))
        }
    }
}

/// The hook's own OAuth token endpoint (for the OAUTH channel).
async fn token_endpoint(
    mock: web::Data<Mock>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    mock.token_requests.lock().unwrap().push(form.into_inner());
    HttpResponse::Ok()
        .json(json!({"access_token": "hook-at", "token_type": "Bearer", "expires_in": 3600}))
}

/// Starts the hook on a loopback port; returns its URL.
fn start_hook(mock: &Mock) -> String {
    let data = web::Data::new(mock.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/token-hook", web::post().to(hook))
            .route("/token", web::post().to(token_endpoint))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    format!("http://127.0.0.1:{port}/token-hook")
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

struct World {
    app: TestApp,
    t: Tenant,
    hook_id: String,
    native: (String, String),
    service: (String, String),
}

/// How the hook in [`world`] is authenticated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    Header,
    OAuth,
}

async fn world(mock: &Mock, auth: Auth) -> World {
    let mut cfg = config(Backend::Embedded).await;
    cfg.hooks_allow_http_loopback = true;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let uri = start_hook(mock);
    let channel = match auth {
        Auth::Header => json!({"type": "HTTP", "version": "1.0.0", "config": {"uri": uri,
            "headers": [{"key": "X-Tenant", "value": "acme"}],
            "authScheme": {"type": "HEADER", "key": "Authorization", "value": "Bearer hook-secret"}}}),
        Auth::OAuth => json!({"type": "OAUTH", "version": "1.0.0", "config": {"uri": uri,
            "authType": "client_secret_post", "clientId": "tessera", "clientSecret": "s3cret",
            "tokenUrl": uri.replace("/token-hook", "/token"), "scope": "hooks"}}),
    };
    let created = app
        .api(
            &t,
            Method::POST,
            "/inlineHooks",
            Some(json!({
            "name": "Patient ids", "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
            "channel": channel})),
        )
        .await
        .expect(200);
    assert_eq!(created["status"], "ACTIVE");
    if auth == Auth::Header {
        assert_eq!(
            created["channel"]["config"]["authScheme"],
            json!({"type": "HEADER", "key": "Authorization"}),
            "the credential is never shown"
        );
    }
    let hook_id = created["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "jobs:run"})),
    )
    .await
    .expect(201);
    // A RESOURCE claim for the hook to remove.
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/claims",
        Some(json!({
        "name": "dept", "status": "ACTIVE", "claimType": "RESOURCE", "valueType": "EXPRESSION",
        "value": "\"eng\"", "alwaysIncludeInToken": true, "conditions": {"scopes": []}})),
    )
    .await
    .expect(201);
    // Two IDENTITY claims for the hook to replace and remove in the ID token.
    for (name, value) in [("region", "\"emea\""), ("tier", "\"free\"")] {
        app.api(
            &t,
            Method::POST,
            "/authorizationServers/default/claims",
            Some(
                json!({"name": name, "status": "ACTIVE", "claimType": "IDENTITY",
                "valueType": "EXPRESSION", "value": value, "alwaysIncludeInToken": true,
                "conditions": {"scopes": []}}),
            ),
        )
        .await
        .expect(201);
    }
    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    app.api(&t, Method::POST, &format!("/authorizationServers/default/policies/{}/rules", policies[0]["id"].as_str().unwrap()),
        Some(json!({"type": "RESOURCE_ACCESS", "name": "hooked", "priority": 1,
            "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
                "grantTypes": {"include": ["client_credentials", "password"]}, "scopes": {"include": ["*"]}},
            "actions": {"token": {"accessTokenLifetimeMinutes": 60, "inlineHook": {"id": hook_id}}}})))
        .await
        .expect(201);
    let native = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(json!({
        "name": "oidc_client", "label": "cli", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "authorization_code"],
            "redirect_uris": ["com.example.cli:/callback"], "response_types": ["code"]}}})),
        )
        .await
        .expect(200);
    let u = app
        .api(&t, Method::POST, "/users", Some(user("pat@example.com")))
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", native["id"].as_str().unwrap()),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    let service = app
        .api(&t, Method::POST, "/apps", Some(service_app("jobs")))
        .await
        .expect(200);
    let creds = |a: &Value| {
        (
            a["credentials"]["oauthClient"]["client_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            a["credentials"]["oauthClient"]["client_secret"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    World {
        native: creds(&native),
        service: creds(&service),
        app,
        t,
        hook_id,
    }
}

impl World {
    async fn token(&self, client: &(String, String), form: &[(&str, &str)]) -> Reply {
        let res = self
            .app
            .client
            .post(format!("{}/oauth2/default/v1/token", self.t.org))
            .basic_auth(&client.0, Some(&client.1))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        Reply {
            status,
            body: res.json().await.unwrap_or(Value::Null),
            link: None,
        }
    }

    async fn password(&self) -> Reply {
        self.token(
            &self.native,
            &[
                ("grant_type", "password"),
                ("username", "pat@example.com"),
                ("password", "Analytical1Engine"),
                ("scope", "openid profile"),
            ],
        )
        .await
    }

    async fn client_credentials(&self) -> Reply {
        self.token(
            &self.service,
            &[("grant_type", "client_credentials"), ("scope", "jobs:run")],
        )
        .await
    }
}

/// Asserts tokens as issued without any hook change.
#[track_caller]
fn unmodified(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 3600);
    let at = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(at["dept"], "eng");
    assert!(at.get("tier").is_none(), "{at}");
}

#[actix_web::test]
async fn a_token_hook_patches_both_tokens_and_its_failures_are_contained() {
    let mock = Mock::default();
    let w = world(&mock, Auth::Header).await;

    // Added, replaced and removed claims in both tokens, and a shorter access token.
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.identity.patch", "value": [
            {"op": "add", "path": "/claims/extPatientId", "value": "1234"},
            {"op": "replace", "path": "/claims/region", "value": "apac"},
            {"op": "remove", "path": "/claims/tier"}]},
        {"type": "com.okta.access.patch", "value": [
            {"op": "add", "path": "/claims/tier", "value": "gold"},
            {"op": "replace", "path": "/claims/sub", "value": "patient-1234"},
            {"op": "remove", "path": "/claims/dept"},
            {"op": "replace", "path": "/token/lifetime/expiration", "value": 600}]}]})));
    let r = w.password().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 600);
    let at = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(at["tier"], "gold");
    assert_eq!(at["sub"], "patient-1234");
    assert!(at.get("dept").is_none());
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        600
    );
    let id = claims(r.body["id_token"].as_str().unwrap());
    assert_eq!(id["extPatientId"], "1234");
    assert_eq!(id["region"], "apac");
    assert!(id.get("tier").is_none(), "{id}");
    // The ID token's at_hash is that of the access token as finally signed.
    assert!(id["at_hash"].is_string());

    // What the hook was sent.
    let seen = mock.last();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer hook-secret"));
    assert_eq!(seen.custom.as_deref(), Some("acme"));
    let b = &seen.body;
    assert_eq!(b["eventType"], "com.okta.oauth2.tokens.transform");
    assert_eq!(b["source"], format!("{}/oauth2/default/v1/token", w.t.org));
    assert_eq!(
        b["data"]["context"]["protocol"]["request"]["grant_type"],
        "password"
    );
    assert_eq!(
        b["data"]["context"]["protocol"]["client"]["id"],
        w.native.0.as_str()
    );
    assert_eq!(
        b["data"]["context"]["user"]["profile"]["login"],
        "pat@example.com"
    );
    assert_eq!(b["data"]["access"]["claims"]["dept"], "eng");
    assert_eq!(b["data"]["access"]["token"]["lifetime"]["expiration"], 3600);
    assert_eq!(b["data"]["access"]["scopes"]["openid"]["action"], "GRANT");
    assert!(b["data"]["identity"]["claims"]["sub"].is_string());
    assert_eq!(b["data"]["identity"]["claims"]["region"], "emea");

    // Client credentials: only the access token exists, so an identity patch voids the answer.
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.access.patch", "value": [{"op": "add", "path": "/claims/tier", "value": "gold"}]}]})));
    let r = w.client_credentials().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["tier"],
        "gold"
    );
    assert!(mock.last().body["data"].get("identity").is_none());
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.access.patch", "value": [{"op": "add", "path": "/claims/tier", "value": "gold"}]},
        {"type": "com.okta.identity.patch", "value": [{"op": "add", "path": "/claims/x", "value": 1}]}]})));
    unmodified(&w.client_credentials().await);

    // A reserved claim: the whole patch is ignored.
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.access.patch", "value": [
            {"op": "add", "path": "/claims/tier", "value": "gold"},
            {"op": "replace", "path": "/claims/scp", "value": ["admin"]}]}]})));
    unmodified(&w.client_credentials().await);
    // A lifetime out of bounds, likewise.
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.access.patch", "value": [
            {"op": "replace", "path": "/token/lifetime/expiration", "value": 100_000}]}]})));
    unmodified(&w.client_credentials().await);

    // `error` fails the request with the hook's summary, or Okta's default text.
    mock.answer(Answer::Json(
        json!({"error": {"errorSummary": "Patient record is locked."}}),
    ));
    let r = w.password().await;
    assert_eq!(
        (
            r.status.as_u16(),
            &r.body["error"],
            &r.body["error_description"]
        ),
        (
            400,
            &json!("server_error"),
            &json!("Patient record is locked.")
        )
    );
    mock.answer(Answer::Json(json!({"error": {}})));
    assert_eq!(
        w.client_credentials().await.body["error_description"],
        "The callback service returned an error."
    );

    // A failing or silent hook: tokens issued unmodified.
    mock.answer(Answer::Status(500));
    unmodified(&w.client_credentials().await);
    mock.answer(Answer::Status(204));
    unmodified(&w.client_credentials().await);
    // A slow hook: the request waits for the 3 s timeout, while another tenant's requests,
    // served by the same workers meanwhile, do not wait at all.
    let other = w.app.provision().await;
    w.app
        .api(
            &other,
            Method::POST,
            "/authorizationServers/default/scopes",
            Some(json!({"name": "jobs:run"})),
        )
        .await
        .expect(201);
    let theirs = w
        .app
        .api(&other, Method::POST, "/apps", Some(service_app("theirs")))
        .await
        .expect(200);
    let their_client = (
        theirs["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        theirs["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let their_token = || async {
        let started = Instant::now();
        let res = w
            .app
            .client
            .post(format!("{}/oauth2/default/v1/token", other.org))
            .basic_auth(&their_client.0, Some(&their_client.1))
            .form(&[("grant_type", "client_credentials"), ("scope", "jobs:run")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        started.elapsed()
    };
    mock.answer(Answer::Slow(Duration::from_secs(5)));
    let started = Instant::now();
    let slow = w.client_credentials();
    let others = async {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        let mut longest = Duration::ZERO;
        for _ in 0..5 {
            longest = longest.max(their_token().await);
        }
        longest
    };
    let (slow, longest) = futures_util::join!(slow, others);
    unmodified(&slow);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_millis(4500),
        "the hook's timeout is 3 s, waited {waited:?}"
    );
    assert!(
        longest < Duration::from_millis(500),
        "another tenant's token took {longest:?} while a hook was slow"
    );

    // Every outcome is in the System Log, against the hook.
    let events = w
        .app
        .api(
            &w.t,
            Method::GET,
            &format!(
                "/logs?limit=1000&filter=target.id%20eq%20%22{}%22",
                w.hook_id
            ),
            None,
        )
        .await
        .expect(200);
    let outcomes: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap().to_owned(),
                e["outcome"]["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for wanted in [
        ("inline_hook.created", "SUCCESS"),
        ("inline_hook.response.processed", "SUCCESS"),
        ("inline_hook.response.processed", "FAILURE"),
        ("inline_hook.executed", "FAILURE"),
    ] {
        assert!(
            outcomes
                .iter()
                .any(|(t, r)| (t.as_str(), r.as_str()) == wanted),
            "{wanted:?} missing from {outcomes:?}"
        );
    }

    // A deactivated hook is not called.
    let calls = mock.calls();
    w.app
        .api(
            &w.t,
            Method::POST,
            &format!("/inlineHooks/{}/lifecycle/deactivate", w.hook_id),
            None,
        )
        .await
        .expect(200);
    unmodified(&w.client_credentials().await);
    assert_eq!(mock.calls(), calls);
    w.app.stop().await;
}

#[actix_web::test]
async fn inline_hooks_are_managed_like_oktas() {
    let mock = Mock::default();
    mock.answer(Answer::Json(json!({"commands": []})));
    let w = world(&mock, Auth::Header).await;
    let (app, t, id) = (&w.app, &w.t, w.hook_id.as_str());
    let hook = |uri: &str, kind: &str| {
        json!({"name": "h", "type": kind, "version": "1.0.0",
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri}}})
    };
    // Only https (loopback http is allowed here by the development flag), only token hooks.
    for (uri, kind, field) in [
        (
            "http://hooks.example.com/x",
            "com.okta.oauth2.tokens.transform",
            "channel.config.uri",
        ),
        (
            "https://hooks.example.com/x",
            "com.okta.import.transform",
            "type",
        ),
    ] {
        let bad = app
            .api(t, Method::POST, "/inlineHooks", Some(hook(uri, kind)))
            .await
            .expect(400);
        assert!(
            bad["errorCauses"][0]["errorSummary"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{bad}"
        );
    }
    let listed = app
        .api(
            t,
            Method::GET,
            "/inlineHooks?type=com.okta.oauth2.tokens.transform",
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // `execute` calls the hook with the given body and returns its answer.
    mock.answer(Answer::Json(
        json!({"commands": [], "debugContext": {"ok": true}}),
    ));
    let answer = app
        .api(
            t,
            Method::POST,
            &format!("/inlineHooks/{id}/execute"),
            Some(json!({"data": {"probe": 1}})),
        )
        .await
        .expect(200);
    assert_eq!(answer["debugContext"]["ok"], true);
    assert_eq!(mock.last().body["data"]["probe"], 1);
    assert_eq!(
        mock.last().authorization.as_deref(),
        Some("Bearer hook-secret")
    );
    // PUT without a new value keeps the credential.
    let mut replaced = app
        .api(t, Method::GET, &format!("/inlineHooks/{id}"), None)
        .await
        .expect(200);
    replaced["name"] = json!("Renamed");
    // Okta's SDK replaces a hook with `InlineHookReplace`, which has no `type`: the stored one
    // is kept.
    replaced.as_object_mut().unwrap().remove("type");
    let kept = app
        .api(
            t,
            Method::PUT,
            &format!("/inlineHooks/{id}"),
            Some(replaced),
        )
        .await
        .expect(200);
    assert_eq!(kept["type"], "com.okta.oauth2.tokens.transform");
    assert_eq!(kept["name"], "Renamed");
    app.api(
        t,
        Method::POST,
        &format!("/inlineHooks/{id}/execute"),
        Some(json!({})),
    )
    .await
    .expect(200);
    assert_eq!(
        mock.last().authorization.as_deref(),
        Some("Bearer hook-secret")
    );
    // Deleting: not while active, not while a rule names it.
    app.api(t, Method::DELETE, &format!("/inlineHooks/{id}"), None)
        .await
        .expect(400);
    app.api(
        t,
        Method::POST,
        &format!("/inlineHooks/{id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    let in_use = app
        .api(t, Method::DELETE, &format!("/inlineHooks/{id}"), None)
        .await
        .expect(400);
    assert!(in_use.to_string().contains("policy rule"), "{in_use}");
    // A rule cannot name a hook that does not exist.
    let policies = app
        .api(
            t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    app.api(t, Method::POST, &format!("/authorizationServers/default/policies/{}/rules", policies[0]["id"].as_str().unwrap()),
        Some(json!({"type": "RESOURCE_ACCESS", "name": "ghost", "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
            "grantTypes": {"include": ["client_credentials"]}, "scopes": {"include": ["*"]}},
            "actions": {"token": {"inlineHook": {"id": "calNoSuchHook"}}}})))
        .await
        .expect(400);
    // Another tenant cannot see it.
    let stranger = app.provision().await;
    app.api(&stranger, Method::GET, &format!("/inlineHooks/{id}"), None)
        .await
        .expect(404);
    w.app.stop().await;
}

#[actix_web::test]
async fn an_oauth_channel_hook_is_called_with_a_token_from_its_own_token_endpoint() {
    let mock = Mock::default();
    let w = world(&mock, Auth::OAuth).await;
    let shown = w
        .app
        .api(
            &w.t,
            Method::GET,
            &format!("/inlineHooks/{}", w.hook_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(shown["channel"]["type"], "OAUTH");
    assert_eq!(shown["channel"]["config"]["clientId"], "tessera");
    assert_eq!(shown["channel"]["config"]["authType"], "client_secret_post");
    assert!(
        shown["channel"]["config"].get("clientSecret").is_none(),
        "the secret is never shown"
    );
    mock.answer(Answer::Json(json!({"commands": [
        {"type": "com.okta.access.patch", "value": [{"op": "add", "path": "/claims/tier", "value": "gold"}]}]})));
    for _ in 0..2 {
        let r = w.client_credentials().await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            claims(r.body["access_token"].as_str().unwrap())["tier"],
            "gold"
        );
        assert_eq!(mock.last().authorization.as_deref(), Some("Bearer hook-at"));
    }
    let forms = mock.token_requests.lock().unwrap().clone();
    assert_eq!(
        forms.len(),
        1,
        "the hook's token is reused until it expires"
    );
    let form: std::collections::HashMap<_, _> = forms[0].iter().cloned().collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "tessera");
    assert_eq!(form["client_secret"], "s3cret");
    assert_eq!(form["scope"], "hooks");
    // private_key_jwt is Okta's other OAUTH option; Tessera refuses it rather than ignore it.
    let refused = w
        .app
        .api(&w.t, Method::POST, "/inlineHooks", Some(json!({
            "name": "pkjwt", "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
            "channel": {"type": "OAUTH", "version": "1.0.0", "config": {"uri": "https://hooks.example.com/x",
                "authType": "private_key_jwt", "clientId": "c", "tokenUrl": "https://hooks.example.com/token"}}})))
        .await
        .expect(400);
    assert_eq!(refused["errorCode"], "E0000001");
    w.app.stop().await;
}
