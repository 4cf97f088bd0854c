//! Introspection and revocation over HTTP (Okta's `/introspect` reference): every
//! active/inactive case, the revocation cascade, each implicit-revocation trigger, and failing
//! closed when the short-lived store is down.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, config, service_app, spawn, spawn_clocked, user};

pub(crate) struct Creds {
    pub(crate) id: String,
    pub(crate) secret: String,
}

fn basic(c: &Creds) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", c.id, c.secret))
    )
}

pub(crate) async fn app_with(app: &TestApp, t: &Tenant, body: Value) -> Creds {
    let created = app
        .api(t, Method::POST, "/apps", Some(body))
        .await
        .expect(200);
    Creds {
        id: created["id"].as_str().unwrap().to_owned(),
        secret: created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

pub(crate) async fn post(
    app: &TestApp,
    url: &str,
    c: &Creds,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = app
        .client
        .post(url)
        .header("Authorization", basic(c))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn cc_token(app: &TestApp, t: &Tenant, server: &str, c: &Creds) -> String {
    let (status, body) = post(
        app,
        &format!("{}/oauth2/{server}/v1/token", t.org),
        c,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn introspect(
    app: &TestApp,
    t: &Tenant,
    server: &str,
    c: &Creds,
    token: &str,
) -> Value {
    let (status, body) = post(
        app,
        &format!("{}/oauth2/{server}/v1/introspect", t.org),
        c,
        &[("token", token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn revoke(app: &TestApp, t: &Tenant, c: &Creds, token: &str) {
    let (status, body) = post(
        app,
        &format!("{}/oauth2/default/v1/revoke", t.org),
        c,
        &[("token", token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

pub(crate) fn native_app() -> Value {
    json!({"name": "oidc_client", "label": "native", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "native", "grant_types": ["password", "refresh_token", "authorization_code"],
            "redirect_uris": ["com.example:/cb"], "response_types": ["code"]}}})
}

/// A user assigned to `c`, signed in with the password grant: (user id, access token, refresh token).
pub(crate) async fn user_tokens(
    app: &TestApp,
    t: &Tenant,
    c: &Creds,
    login: &str,
) -> (String, String, String) {
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
    let (status, body) = post(
        app,
        &format!("{}/oauth2/default/v1/token", t.org),
        c,
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", "Analytical1Engine"),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        uid,
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[actix_web::test]
async fn introspection_reports_active_tokens_and_nothing_else() {
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
    let svc = app_with(&app, &t, service_app("rs")).await;
    let at = cc_token(&app, &t, "default", &svc).await;
    let body = introspect(&app, &t, "default", &svc, &at).await;
    assert_eq!(body["active"], true);
    assert_eq!(
        (
            body["token_type"].as_str(),
            body["scope"].as_str(),
            body["client_id"].as_str()
        ),
        (Some("Bearer"), Some("profile"), Some(svc.id.as_str()))
    );
    assert_eq!(body["aud"], "api://default");
    assert_eq!(body["iss"], format!("{}/oauth2/default", t.org));
    for field in ["exp", "iat", "jti", "sub", "username", "cid", "scp", "ver"] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }

    // Garbage, another server's token, another tenant's token: all inactive.
    assert_eq!(
        introspect(&app, &t, "default", &svc, "not-a-token").await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &svc, "a.b.c").await,
        json!({"active": false})
    );
    let other = app
        .api(
            &t,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "other", "audiences": ["api://other"]})),
        )
        .await
        .expect(201);
    let oid = other["id"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&app, &t, &oid, &svc, &at).await,
        json!({"active": false}),
        "a token of another server"
    );
    let t2 = app.provision().await;
    let svc2 = app_with(&app, &t2, service_app("rs2")).await;
    assert_eq!(
        introspect(&app, &t2, "default", &svc2, &at).await,
        json!({"active": false}),
        "a token of another tenant"
    );

    // Errors: the token parameter is required; the caller must authenticate.
    let (status, body) = post(
        &app,
        &format!("{}/oauth2/default/v1/introspect", t.org),
        &svc,
        &[("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("The 'token' parameter is required."))
    );
    let (status, body) = post(
        &app,
        &format!("{}/oauth2/default/v1/introspect", t.org),
        &Creds {
            id: svc.id.clone(),
            secret: "wrong".into(),
        },
        &[("token", &at)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // Expired: an hour and a minute later by the test clock.
    clock.advance(time::Duration::minutes(61));
    assert_eq!(
        introspect(&app, &t, "default", &svc, &at).await,
        json!({"active": false}),
        "an expired token"
    );
    app.stop().await;
}

#[actix_web::test]
async fn revocation_cascades_from_refresh_tokens_and_clients_revoke_only_their_own() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let native = app_with(&app, &t, native_app()).await;
    let svc = app_with(&app, &t, service_app("other client")).await;
    let (_, at, rt) = user_tokens(&app, &t, &native, "rev@example.com").await;
    let rt_body = introspect(&app, &t, "default", &native, &rt).await;
    assert_eq!(
        (
            rt_body["active"].as_bool(),
            rt_body["username"].as_str(),
            rt_body["client_id"].as_str()
        ),
        (
            Some(true),
            Some("rev@example.com"),
            Some(native.id.as_str())
        )
    );

    // Another client's revocation is a no-op (still 200).
    revoke(&app, &t, &svc, &at).await;
    revoke(&app, &t, &svc, &rt).await;
    assert_eq!(
        introspect(&app, &t, "default", &native, &at).await["active"],
        true
    );
    assert_eq!(
        introspect(&app, &t, "default", &native, &rt).await["active"],
        true
    );
    // Unknown tokens are 200 too.
    revoke(&app, &t, &native, "rt.unknown").await;

    // Revoking the access token leaves the refresh token.
    revoke(&app, &t, &native, &at).await;
    assert_eq!(
        introspect(&app, &t, "default", &native, &at).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &native, &rt).await["active"],
        true
    );

    // Revoking the refresh token revokes its family and the access tokens minted from it.
    let (_, at2, rt2) = user_tokens(&app, &t, &native, "rev2@example.com").await;
    revoke(&app, &t, &native, &rt2).await;
    assert_eq!(
        introspect(&app, &t, "default", &native, &rt2).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &native, &at2).await,
        json!({"active": false})
    );
    app.stop().await;
}

#[actix_web::test]
async fn implicit_revocation_makes_tokens_inactive_at_once() {
    let app = spawn(Backend::Shared).await;
    let t = app.provision().await;
    let native = app_with(&app, &t, native_app()).await;
    let svc = app_with(&app, &t, service_app("introspector")).await;
    let check = |token: String| {
        let (app, t, svc) = (&app, &t, &svc);
        async move { introspect(app, t, "default", svc, &token).await["active"].as_bool() }
    };

    // User deactivation.
    let (uid, at, rt) = user_tokens(&app, &t, &native, "u1@example.com").await;
    assert_eq!(check(at.clone()).await, Some(true));
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        (check(at).await, check(rt).await),
        (Some(false), Some(false)),
        "user deactivation"
    );

    // Unassignment.
    let (uid, at, rt) = user_tokens(&app, &t, &native, "u2@example.com").await;
    app.api(
        &t,
        Method::DELETE,
        &format!("/apps/{}/users/{uid}", native.id),
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        (check(at).await, check(rt).await),
        (Some(false), Some(false)),
        "unassignment"
    );

    // App deactivation, permanent even after reactivation.
    let (_, at, rt) = user_tokens(&app, &t, &native, "u3@example.com").await;
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/lifecycle/deactivate", native.id),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        (check(at.clone()).await, check(rt.clone()).await),
        (Some(false), Some(false)),
        "app deactivation"
    );
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/lifecycle/activate", native.id),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        (check(at).await, check(rt).await),
        (Some(false), Some(false)),
        "reactivation does not bring them back"
    );

    // Authorization-server deactivation.
    let at = cc_token(&app, &t, "default", &svc).await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/lifecycle/deactivate",
        None,
    )
    .await
    .expect(204);
    assert_eq!(check(at.clone()).await, Some(false), "server deactivation");
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/lifecycle/activate",
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        check(at).await,
        Some(false),
        "stays revoked after reactivation"
    );

    // Tenant suspension.
    let at = cc_token(&app, &t, "default", &svc).await;
    app.operator(
        Method::POST,
        &format!("/tenants/{}/lifecycle/suspend", t.name),
        None,
    )
    .await;
    assert_eq!(check(at).await, Some(false), "tenant suspension");
    app.stop().await;
}

/// A private `redis-server` on a free port (never the shared one).
pub(crate) struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
}

impl OwnRedis {
    pub(crate) fn start(port: u16, dir: &std::path::Path) -> Self {
        let status = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .status()
            .expect("redis-server is installed");
        assert!(status.success());
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self {
            port,
            dir: dir.to_owned(),
        }
    }

    pub(crate) fn stop(&self) {
        let _ = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown", "nosave"])
            .status();
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[actix_web::test]
async fn introspection_fails_closed_while_redis_is_down_and_recovers_by_itself() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("tessera-redis-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let redis = OwnRedis::start(port, &dir);
    let mut cfg = config(Backend::Shared).await;
    cfg.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let app = crate::helpers::spawn_with(cfg).await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("rs")).await;
    let at = cc_token(&app, &t, "default", &svc).await;
    assert_eq!(
        introspect(&app, &t, "default", &svc, &at).await["active"],
        true
    );

    redis.stop();
    let (status, body) = post(
        &app,
        &format!("{}/oauth2/default/v1/introspect", t.org),
        &svc,
        &[("token", &at)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "never active:true for a token it cannot check: {body}"
    );
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    // Still ready (every replica shares the outage; its JSON 503s beat a proxy's error page),
    // and the body says what is down.
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["shortLivedStore"].as_bool()),
        (Some("degraded"), Some(false)),
        "/readyz reports the store: {ready}"
    );

    let _again = OwnRedis::start(port, &dir);
    let mut recovered = false;
    for _ in 0..30 {
        let (status, body) = post(
            &app,
            &format!("{}/oauth2/default/v1/introspect", t.org),
            &svc,
            &[("token", &at)],
        )
        .await;
        if status == 200 && body["active"] == true {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "introspection recovers when Redis is back");
    app.stop().await;
    drop(redis);
}

#[actix_web::test]
async fn a_token_revoked_through_one_introspection_process_is_inactive_on_the_other() {
    // One token replica (this process) and two introspection processes, sharing PostgreSQL and
    // Redis and the configured public URL (so all agree on the issuer).
    let mut cfg = config(Backend::Shared).await;
    cfg.master_key = Some(tessera_jose::MasterKey::generate_text(
        &tessera_domain::SystemRandom,
    ));
    cfg.public_url = Some("https://auth.example.test".into());
    let token_replica = crate::helpers::spawn_services(
        cfg.clone(),
        &[tessera::Service::Admin, tessera::Service::Token],
    )
    .await;
    let (p1, p2) = (crate::helpers::free_port(), crate::helpers::free_port());
    let _one = crate::helpers::service_process(&cfg, "introspection", p1, &[]);
    let _two = crate::helpers::service_process(&cfg, "introspection", p2, &[]);
    let provisioned = token_replica.provision().await;
    let at_base = |base: &str| Tenant {
        org: format!("{base}/t/{}", provisioned.name),
        ..provisioned.clone()
    };
    let t = at_base(&token_replica.base);
    let svc = app_with(&token_replica, &t, service_app("rs")).await;
    let at = cc_token(&token_replica, &t, "default", &svc).await;
    let (one, two) = (
        at_base(&format!("http://127.0.0.1:{p1}")),
        at_base(&format!("http://127.0.0.1:{p2}")),
    );
    assert_eq!(
        introspect(&token_replica, &one, "default", &svc, &at).await["active"],
        true
    );
    assert_eq!(
        introspect(&token_replica, &two, "default", &svc, &at).await["active"],
        true
    );
    revoke(&token_replica, &one, &svc, &at).await;
    assert_eq!(
        introspect(&token_replica, &two, "default", &svc, &at).await,
        json!({"active": false}),
        "revoked through the other process"
    );
    assert_eq!(
        introspect(&token_replica, &one, "default", &svc, &at).await,
        json!({"active": false})
    );
    token_replica.stop().await;
}

#[actix_web::test]
async fn administrators_list_and_revoke_refresh_tokens_per_server_user_and_app() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let native = app_with(&app, &t, native_app()).await;
    let (uid, at1, rt1) = user_tokens(&app, &t, &native, "adm1@example.com").await;
    let (_, at2, rt2) = user_tokens(&app, &t, &native, "adm2@example.com").await;

    let clients = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/clients",
            None,
        )
        .await
        .expect(200);
    assert_eq!(clients[0]["client_id"], native.id.as_str());
    assert_eq!(clients[0]["client_name"], "native");
    let per_server = format!("/authorizationServers/default/clients/{}/tokens", native.id);
    let listed = app
        .api(&t, Method::GET, &format!("{per_server}?expand=scope"), None)
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let first = &listed[0];
    assert!(first["id"].as_str().unwrap().starts_with("oar"));
    assert_eq!(
        (first["status"].as_str(), first["clientId"].as_str()),
        (Some("ACTIVE"), Some(native.id.as_str()))
    );
    assert_eq!(first["scopes"], json!(["openid", "offline_access"]));
    assert_eq!(first["_embedded"]["scopes"][0]["name"], "openid");
    assert_eq!(first["issuer"], format!("{}/oauth2/default", t.org));
    let per_user = app
        .api(
            &t,
            Method::GET,
            &format!("/users/{uid}/clients/{}/tokens", native.id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(per_user.as_array().unwrap().len(), 1);
    let token_id = per_user[0]["id"].as_str().unwrap().to_owned();
    app.api(&t, Method::GET, &format!("{per_server}/{token_id}"), None)
        .await
        .expect(200);
    assert_eq!(
        app.api(
            &t,
            Method::GET,
            &format!("/apps/{}/tokens", native.id),
            None
        )
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len(),
        2
    );
    app.api(
        &t,
        Method::GET,
        &format!("{per_server}/oarnosuchtoken"),
        None,
    )
    .await
    .expect_error(404, "E0000007");

    // Revoking one token revokes it and the access token minted with it, nothing else.
    app.api(
        &t,
        Method::DELETE,
        &format!("/users/{uid}/clients/{}/tokens/{token_id}", native.id),
        None,
    )
    .await
    .expect(204);
    let svc = app_with(&app, &t, service_app("introspector")).await;
    assert_eq!(
        introspect(&app, &t, "default", &svc, &rt1).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &svc, &at1).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &svc, &rt2).await["active"],
        true
    );
    // Revoking all of an app's tokens.
    app.api(
        &t,
        Method::DELETE,
        &format!("/apps/{}/tokens", native.id),
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        introspect(&app, &t, "default", &svc, &rt2).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &t, "default", &svc, &at2).await,
        json!({"active": false})
    );
    assert!(
        app.api(&t, Method::GET, &per_server, None)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A rotated token is shown with Okta's status values (ACTIVE, REVOKED): it can no longer be
    // used, so it is REVOKED.
    let (uid3, _, rt3) = user_tokens(&app, &t, &native, "adm3@example.com").await;
    let per_user3 = format!("/users/{uid3}/clients/{}/tokens", native.id);
    let before = app.api(&t, Method::GET, &per_user3, None).await.expect(200);
    let rotated_id = before[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &app,
        &format!("{}/oauth2/default/v1/token", t.org),
        &native,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt3)],
    )
    .await;
    assert_eq!(status, 200);
    let rotated = app
        .api(&t, Method::GET, &format!("{per_user3}/{rotated_id}"), None)
        .await
        .expect(200);
    assert_eq!(rotated["status"], "REVOKED");
    app.stop().await;
}

/// Introspects `token` until the answer is settled (`200`), allowing `503`s while the store
/// reconnects or the markers are reloaded. Every answer must be `expected` or a `503`: a revoked
/// token is never reported active, not even once.
async fn settled(app: &TestApp, org: &str, c: &Creds, token: &str, expected: bool) -> Value {
    for _ in 0..50 {
        let (status, body) = post(
            app,
            &format!("{org}/oauth2/default/v1/introspect"),
            c,
            &[("token", token)],
        )
        .await;
        match status {
            200 => {
                assert_eq!(body["active"], expected, "{body}");
                return body;
            }
            503 => assert_eq!(body["error"], "temporarily_unavailable", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("introspection did not settle");
}

pub(crate) fn own_redis() -> (OwnRedis, u16, std::path::PathBuf) {
    let port = crate::helpers::free_port();
    let dir = std::env::temp_dir().join(format!("tessera-redis-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    (OwnRedis::start(port, &dir), port, dir)
}

/// Redis as deployed keeps nothing on disk. A token revoked through `/revoke` introspected
/// `active:false`, then `active:true` once Redis restarted empty. Revocations now live in the
/// database too, and the emptied cache is reloaded before it answers.
#[actix_web::test]
async fn a_revoked_token_stays_inactive_after_redis_restarts_empty() {
    let (redis, port, dir) = own_redis();
    let mut cfg = config(Backend::Shared).await;
    cfg.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let app = crate::helpers::spawn_with(cfg).await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("rs")).await;
    let (revoked, kept) = (
        cc_token(&app, &t, "default", &svc).await,
        cc_token(&app, &t, "default", &svc).await,
    );
    revoke(&app, &t, &svc, &revoked).await;
    settled(&app, &t.org, &svc, &revoked, false).await;
    settled(&app, &t.org, &svc, &kept, true).await;

    redis.stop();
    let again = OwnRedis::start(port, &dir);
    let keys = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "dbsize"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&keys.stdout).trim(),
        "0",
        "Redis came back empty"
    );
    settled(&app, &t.org, &svc, &revoked, false).await;
    settled(&app, &t.org, &svc, &kept, true).await;
    // And again, through a flush instead of a restart.
    let _ = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "flushall"])
        .status();
    settled(&app, &t.org, &svc, &revoked, false).await;
    settled(&app, &t.org, &svc, &kept, true).await;
    app.stop().await;
    drop(again);
    drop(redis);
}

/// A deactivated user's tokens introspected `active:true` after a Redis restart (the epoch that
/// revoked them was gone). Now they stay inactive, even once the user is reactivated: the
/// revocation covers every token issued before it.
#[actix_web::test]
async fn a_deactivated_users_tokens_stay_inactive_after_redis_restarts_empty() {
    let (redis, port, dir) = own_redis();
    let mut cfg = config(Backend::Shared).await;
    cfg.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let app = crate::helpers::spawn_with(cfg).await;
    let t = app.provision().await;
    let native = app_with(&app, &t, native_app()).await;
    let (uid, at, _rt) = user_tokens(&app, &t, &native, "ada@example.com").await;
    settled(&app, &t.org, &native, &at, true).await;
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    settled(&app, &t.org, &native, &at, false).await;

    redis.stop();
    let again = OwnRedis::start(port, &dir);
    settled(&app, &t.org, &native, &at, false).await;
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/activate"),
        None,
    )
    .await
    .expect(200);
    settled(&app, &t.org, &native, &at, false).await;
    app.stop().await;
    drop(again);
    drop(redis);
}

/// The embedded default keeps short-lived state in the process; a restart of the server lost
/// every revocation. Now they survive it.
#[actix_web::test]
async fn revocations_survive_a_restart_of_the_embedded_server() {
    let mut cfg = config(Backend::Embedded).await;
    // A fixed issuer, so the restarted server (on another port) accepts the first one's tokens.
    cfg.public_url = Some("https://auth.example.test".into());
    let app = crate::helpers::spawn_with(cfg.clone()).await;
    let t = app.provision().await;
    let org = format!("{}/t/{}", app.base, t.name);
    let t = Tenant {
        org: org.clone(),
        ..t
    };
    let svc = app_with(&app, &t, service_app("rs")).await;
    let native = app_with(&app, &t, native_app()).await;
    let (revoked, kept) = (
        cc_token(&app, &t, "default", &svc).await,
        cc_token(&app, &t, "default", &svc).await,
    );
    let (uid, user_at, _) = user_tokens(&app, &t, &native, "ada@example.com").await;
    revoke(&app, &t, &svc, &revoked).await;
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/activate"),
        None,
    )
    .await
    .expect(200);
    settled(&app, &org, &svc, &revoked, false).await;
    settled(&app, &org, &native, &user_at, false).await;
    app.stop().await;

    let app = crate::helpers::spawn_with(cfg).await;
    let org = format!("{}/t/{}", app.base, t.name);
    settled(&app, &org, &svc, &revoked, false).await;
    settled(&app, &org, &native, &user_at, false).await;
    settled(&app, &org, &svc, &kept, true).await;
    app.stop().await;
}
