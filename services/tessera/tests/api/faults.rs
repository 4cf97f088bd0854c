//! Store outages, measured from outside: with Redis or PostgreSQL stopped (private instances on
//! free ports, never the shared ones) a request either succeeds from hot state or answers a
//! JSON 503 with `Retry-After` at once, `/readyz` answers at once and says what is down, and
//! everything is back within about a second of the store's return.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, config, free_port, service_app, spawn_services, spawn_with};
use crate::introspection::{
    Creds, OwnRedis, app_with, cc_token, native_app, own_redis, post, user_tokens,
};

/// The longest any request may take while a store is down.
const FAST: Duration = Duration::from_millis(1500);

/// Sends `form` to `url` and times it.
async fn timed_post(
    app: &crate::helpers::TestApp,
    url: &str,
    c: &Creds,
    form: &[(&str, &str)],
) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = post(app, url, c, form).await;
    (status, body, started.elapsed())
}

async fn readyz(app: &crate::helpers::TestApp) -> (u16, Value, Duration) {
    let started = Instant::now();
    let res = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap();
    (status, body, started.elapsed())
}

async fn metrics(app: &crate::helpers::TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls until `ready` holds, for at most `within`; how long it took.
async fn until<F, Fut>(within: Duration, mut ready: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if ready().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[actix_web::test]
async fn with_redis_down_requests_pass_or_fail_fast_and_all_is_back_within_a_second_of_its_return()
{
    let (redis, port, dir) = own_redis();
    let mut cfg = config(Backend::Shared).await;
    cfg.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    cfg.master_key = Some(tessera_jose::MasterKey::generate_text(
        &tessera_domain::SystemRandom,
    ));
    // Rate limits stay on (the default): their counters live in Redis.
    assert!(cfg.rate_limits.enabled);
    let app = spawn_with(cfg.clone()).await;
    // A second replica on the same stores, to see announcements arrive.
    let other_cfg = cfg.clone();
    let other = spawn_services(other_cfg, &[tessera::Service::Token]).await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("svc")).await;
    let native = app_with(&app, &t, native_app()).await;
    let (_uid, _at, refresh) = user_tokens(&app, &t, &native, "ada@example.com").await;
    let (kept, revoked) = (
        cc_token(&app, &t, "default", &svc).await,
        cc_token(&app, &t, "default", &svc).await,
    );
    let org = t.org.clone();
    let (token_url, introspect_url, revoke_url) = (
        format!("{org}/oauth2/default/v1/token"),
        format!("{org}/oauth2/default/v1/introspect"),
        format!("{org}/oauth2/default/v1/revoke"),
    );
    let (status, _, _) = timed_post(&app, &revoke_url, &svc, &[("token", &revoked)]).await;
    assert_eq!(status, 200);
    let other_org = format!("{}/t/{}", other.base, t.name);

    redis.stop();

    // Client credentials: unaffected (the rate limiter lets requests through at once).
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let (status, body, took) = timed_post(
            &app,
            &token_url,
            &svc,
            &[("grant_type", "client_credentials"), ("scope", "profile")],
        )
        .await;
        assert_eq!(status, 200, "client credentials with Redis down: {body}");
        slowest = slowest.max(took);
    }
    assert!(
        slowest < FAST,
        "slowest client-credentials token: {slowest:?}"
    );
    // Introspection and revocation fail closed, as JSON 503s with Retry-After, at once.
    for (url, form) in [
        (&introspect_url, vec![("token", kept.as_str())]),
        (&introspect_url, vec![("token", revoked.as_str())]),
        (&revoke_url, vec![("token", kept.as_str())]),
    ] {
        let started = Instant::now();
        let res = app
            .client
            .post(url)
            .basic_auth(&svc.id, Some(&svc.secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(res.status(), 503, "{url}");
        assert_eq!(res.headers()["retry-after"], "1");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        assert!(took < FAST, "{url} took {took:?}");
    }
    // The refresh grant needs the revocation markers: a 503 too, or a token; never a hang.
    let (status, body, took) = timed_post(
        &app,
        &token_url,
        &native,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert!(
        status == 200 || (status == 503 && body["error"] == "temporarily_unavailable"),
        "{status} {body}"
    );
    assert!(took < FAST, "refresh took {took:?}");
    // Ready, degraded, and saying why; answered without waiting on Redis.
    let (status, body, took) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["down"], json!(["redis"]), "{body}");
    assert!(took < Duration::from_millis(200), "/readyz took {took:?}");
    let metrics = metrics(&app).await;
    assert!(
        metrics.contains("tessera_dependency_up{dependency=\"redis\"} 0"),
        "{metrics}"
    );
    // An admin change commits (the database is up); its announcement waits for Redis.
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "late:read", "consent": "IMPLICIT"})),
    )
    .await
    .expect(201);
    let (_, body, _) = readyz(&app).await;
    assert_eq!(body["announcementsWaiting"], 1, "{body}");

    let returned = Instant::now();
    let _again = OwnRedis::start(port, &dir);
    // Introspection answers again, the revoked token still inactive, /readyz is ready, and the
    // waiting announcement has reached the other replica.
    let back = until(Duration::from_secs(5), || async {
        let (status, body) = post(&app, &introspect_url, &svc, &[("token", &kept)]).await;
        status == 200 && body["active"] == true
    })
    .await
    .expect("introspection is back");
    let (_, body) = post(&app, &introspect_url, &svc, &[("token", &revoked)]).await;
    assert_eq!(
        body["active"], false,
        "a revoked token stays inactive: {body}"
    );
    let ready = until(Duration::from_secs(5), || async {
        readyz(&app).await.1["status"] == "ready"
    })
    .await
    .expect("/readyz is ready again");
    let announced = until(Duration::from_secs(5), || async {
        let (status, _) = post(
            &other,
            &format!("{other_org}/oauth2/default/v1/token"),
            &svc,
            &[("grant_type", "client_credentials"), ("scope", "late:read")],
        )
        .await;
        status == 200
    })
    .await
    .expect("the other replica learns of the scope");
    let since_return = returned.elapsed();
    eprintln!(
        "redis outage: slowest cc token {slowest:?}; after its return: introspection back in {back:?}, then /readyz ready in {ready:?}, then the announcement seen in {announced:?} ({since_return:?} in all)"
    );
    assert!(
        back < Duration::from_millis(1500),
        "introspection back after {back:?}"
    );
    assert!(
        since_return < Duration::from_secs(2),
        "introspection, readiness and the waiting announcement were all back {since_return:?} after Redis returned"
    );
    other.stop().await;
    app.stop().await;
}

/// A private PostgreSQL cluster (`initdb` + `pg_ctl` as the `postgres` user) on a free port.
pub(crate) struct OwnPostgres {
    dir: std::path::PathBuf,
    port: u16,
}

impl OwnPostgres {
    pub(crate) fn init() -> Self {
        let port = free_port();
        // Under /tmp itself, not TMPDIR: scripts/test makes TMPDIR a directory only its own
        // user may enter, and the server runs as `postgres`. Drop removes it.
        let dir = std::path::Path::new("/tmp").join(format!("tessera-pg-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        as_postgres(
            &["chown", "-R", "postgres", &dir.display().to_string()],
            true,
        );
        let data = dir.join("data").display().to_string();
        assert!(
            as_postgres(
                &[
                    "initdb",
                    "-D",
                    &data,
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync"
                ],
                false
            ),
            "initdb"
        );
        let pg = Self { dir, port };
        pg.start();
        pg
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub(crate) fn start(&self) {
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("pg.log").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        assert!(
            as_postgres(
                &[
                    "pg_ctl", "-D", &data, "-l", &log, "-o", &opts, "-w", "start"
                ],
                false
            ),
            "pg_ctl start"
        );
    }

    pub(crate) fn stop(&self) {
        let data = self.dir.join("data").display().to_string();
        as_postgres(&["pg_ctl", "-D", &data, "-m", "fast", "-w", "stop"], false);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a command as the `postgres` user (PostgreSQL refuses to run as root), or as this user
/// when it is not root.
fn as_postgres(args: &[&str], root_only: bool) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let status = if root && !root_only {
        std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    } else if root_only && !root {
        return true;
    } else {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .stdout(std::process::Stdio::null())
            .status()
    };
    status.is_ok_and(|s| s.success())
}

#[actix_web::test]
async fn with_postgres_down_hot_paths_serve_the_rest_answers_503_fast_and_readiness_stays_up() {
    let pg = OwnPostgres::init();
    let mut cfg = config(Backend::Embedded).await;
    cfg.database_url = Some(pg.url());
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let svc = app_with(&app, &t, service_app("svc")).await;
    let native = app_with(&app, &t, native_app()).await;
    let (_uid, _at, refresh) = user_tokens(&app, &t, &native, "ada@example.com").await;
    let org = t.org.clone();
    let token_url = format!("{org}/oauth2/default/v1/token");
    let jwt = cc_token(&app, &t, "default", &svc).await;
    // Warm: the tenant's revocation markers are loaded by the first introspection (until then
    // a check needs the database, and fails closed without it).
    let (status, _, _) = timed_post(
        &app,
        &format!("{org}/oauth2/default/v1/introspect"),
        &svc,
        &[("token", &jwt)],
    )
    .await;
    assert_eq!(status, 200);

    pg.stop();

    // From hot state: client credentials, JWT introspection, the key set.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let (status, body, took) = timed_post(
            &app,
            &token_url,
            &svc,
            &[("grant_type", "client_credentials"), ("scope", "profile")],
        )
        .await;
        assert_eq!(
            status, 200,
            "client credentials with the database down: {body}"
        );
        slowest = slowest.max(took);
    }
    assert!(
        slowest < FAST,
        "slowest client-credentials token: {slowest:?}"
    );
    let (status, body, _) = timed_post(
        &app,
        &format!("{org}/oauth2/default/v1/introspect"),
        &svc,
        &[("token", &jwt)],
    )
    .await;
    assert_eq!((status, &body["active"]), (200, &json!(true)), "{body}");
    let keys = app
        .client
        .get(format!("{org}/oauth2/default/v1/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 200);
    // What needs the database: a JSON 503 with Retry-After, quickly.
    let (status, body, took) = timed_post(
        &app,
        &token_url,
        &native,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{body}"
    );
    assert!(took < FAST, "refresh took {took:?}");
    let started = Instant::now();
    let res = app
        .client
        .get(format!("{org}/api/v1/users"))
        .header("Authorization", format!("SSWS {}", t.token))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000010", "{body}");
    assert!(took < FAST, "an admin read took {took:?}");
    // Ready (it serves tokens from its warm cache), degraded, saying why.
    let seen = until(Duration::from_secs(4), || async {
        readyz(&app).await.1["down"] == json!(["database"])
    })
    .await
    .expect("/readyz reports the database");
    let (status, body, took) = readyz(&app).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("degraded")),
        "{body}"
    );
    assert!(took < Duration::from_millis(200), "/readyz took {took:?}");
    let metrics = metrics(&app).await;
    assert!(
        metrics.contains("tessera_dependency_up{dependency=\"database\"} 0"),
        "{metrics}"
    );

    pg.start();
    let back = until(Duration::from_secs(10), || async {
        app.client
            .get(format!("{org}/api/v1/users"))
            .header("Authorization", format!("SSWS {}", t.token))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await
    .expect("admin reads work again");
    let ready = until(Duration::from_secs(5), || async {
        readyz(&app).await.1["status"] == "ready"
    })
    .await
    .expect("/readyz is ready again");
    eprintln!(
        "postgres outage: slowest cc token {slowest:?}, /readyz saw it after {seen:?}; back after return: admin {back:?}, /readyz {ready:?}"
    );
    app.stop().await;
}
