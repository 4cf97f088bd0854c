//! Chaos on the scale-out topology (`deploy/local-cluster.sh`: 2 token, 2 introspection, admin
//! and keys replicas behind nginx), on a private PostgreSQL and a private Redis so that both can
//! be stopped. A bounded mixed load runs throughout — client credentials (every token verified
//! with a JWKS cache that honours `Cache-Control`), introspection of a live and of a revoked
//! token, a chain of refresh-token rotations, admin writes — while, in turn, a token replica is
//! SIGKILLed and started again, Redis is stopped for 10 s, PostgreSQL is stopped for 10 s, and
//! a key is rotated by hand.
//!
//! It asserts what a caller depends on: a revoked token never introspects active, no refresh
//! token is lost, no request takes longer than [`BOUND`], every failure is a JSON 503 (never a
//! proxy's HTML page, never a 500), every issued JWT verifies, and each fault is over within
//! [`RECOVERY`] of its end. It prints the counts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::cluster::{Cluster, form, free_range, json_of};
use crate::faults::OwnPostgres;
use crate::helpers::service_app;
use crate::introspection::{OwnRedis, native_app};
use crate::rotation::JwksCache;

/// No request may take longer than this, fault or not.
const BOUND: Duration = Duration::from_secs(2);
/// How soon after a fault ends everything works again.
const RECOVERY: Duration = Duration::from_secs(3);

/// What the load saw, by kind of request.
#[derive(Default)]
struct Tally {
    /// (kind, outcome) → count; outcome is `ok`, `503` or what went wrong.
    counts: BTreeMap<(&'static str, String), u64>,
    slowest: Duration,
    /// Answers that break a promise, with what they were.
    broken: Vec<String>,
}

impl Tally {
    fn note(&mut self, kind: &'static str, outcome: impl Into<String>, took: Duration) {
        *self.counts.entry((kind, outcome.into())).or_default() += 1;
        self.slowest = self.slowest.max(took);
        if took > BOUND {
            self.broken.push(format!("{kind} took {took:?}"));
        }
    }
}

/// Classifies an answer: a success, a JSON 503 (allowed during a fault), or a broken promise.
fn outcome(kind: &'static str, status: u16, body: &Value, tally: &mut Tally, took: Duration) {
    match status {
        200..=299 => tally.note(kind, "ok", took),
        503 if body.get("error") == Some(&json!("temporarily_unavailable"))
            || body.get("errorCode") == Some(&json!("E0000010")) =>
        {
            tally.note(kind, "503", took);
        }
        other => {
            tally.note(kind, format!("{other}"), took);
            tally.broken.push(format!("{kind}: {other} {body}"));
        }
    }
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value, Duration) {
    let started = Instant::now();
    match req.timeout(Duration::from_secs(10)).send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or_else(
                |_| json!({ "notJson": text.chars().take(80).collect::<String>() }),
            );
            (status, body, started.elapsed())
        }
        Err(e) => (0, json!({ "transport": e.to_string() }), started.elapsed()),
    }
}

#[actix_web::test]
async fn the_cluster_rides_out_a_crash_a_redis_outage_a_database_outage_and_a_key_rotation() {
    let dir = std::env::temp_dir().join(format!("tessera-chaos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pg = OwnPostgres::init();
    let redis_port = crate::helpers::free_port();
    let redis_dir = dir.join("redis");
    std::fs::create_dir_all(&redis_dir).unwrap();
    let redis = OwnRedis::start(redis_port, &redis_dir);
    let operator = "chaos-operator-token-0123456789abcdef".to_owned();
    let port = free_range();
    let cluster = Cluster {
        port,
        env: vec![
            ("TESSERA_BIN".into(), env!("CARGO_BIN_EXE_tessera").into()),
            (
                "CLUSTER_DIR".into(),
                dir.join("cluster").display().to_string(),
            ),
            ("CLUSTER_PORT".into(), port.to_string()),
            ("DATABASE_URL".into(), pg.url()),
            (
                "REDIS_URL".into(),
                format!("redis://127.0.0.1:{redis_port}"),
            ),
            ("TESSERA_OPERATOR_TOKEN".into(), operator.clone()),
            ("TESSERA_LOG_LEVEL".into(), "info".into()),
            // The load is about faults, not quotas.
            ("TESSERA_RATE_LIMITS__ENABLED".into(), "false".into()),
            // A NEXT key may sign 5 s after it is published; the JWKS max-age follows.
            ("TESSERA_ROTATION_NEXT_LEAD_SECS".into(), "5".into()),
        ],
    };
    let out = cluster.script(&["start"]);
    assert!(
        out.status.success(),
        "cluster start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = Client::new();
    let base = cluster.base();
    let tenant: Value = json_of(
        client
            .post(format!("{base}/operator/v1/tenants"))
            .bearer_auth(&operator)
            .json(&json!({"name": "chaos"})),
    )
    .await;
    let api_token = tenant["apiToken"].as_str().unwrap().to_owned();
    let org = tenant["orgUrl"].as_str().unwrap().to_owned();
    let admin = {
        let (client, org, api_token) = (client.clone(), org.clone(), api_token.clone());
        move |method: reqwest::Method, path: &str| {
            client
                .request(method, format!("{org}/api/v1{path}"))
                .header("Authorization", format!("SSWS {api_token}"))
        }
    };
    let svc: Value =
        json_of(admin(reqwest::Method::POST, "/apps").json(&service_app("chaos"))).await;
    let svc = (
        svc["id"].as_str().unwrap().to_owned(),
        svc["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let native: Value = json_of(admin(reqwest::Method::POST, "/apps").json(&native_app())).await;
    let native_id = native["id"].as_str().unwrap().to_owned();
    let native_secret = native["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let user: Value = json_of(
        admin(reqwest::Method::POST, "/users").json(&crate::helpers::user("ada@example.com")),
    )
    .await;
    let res = admin(reqwest::Method::POST, &format!("/apps/{native_id}/users"))
        .json(&json!({"id": user["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token_url = format!("{org}/oauth2/default/v1/token");
    let introspect_url = format!("{org}/oauth2/default/v1/introspect");
    let cc = [("grant_type", "client_credentials"), ("scope", "profile")];
    let (status, body) = form(&client, &token_url, (&svc.0, &svc.1), &cc).await;
    assert_eq!(status, 200, "{body}");
    let live = body["access_token"].as_str().unwrap().to_owned();
    let (_, body) = form(&client, &token_url, (&svc.0, &svc.1), &cc).await;
    let revoked = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = form(
        &client,
        &format!("{org}/oauth2/default/v1/revoke"),
        (&svc.0, &svc.1),
        &[("token", &revoked)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = form(
        &client,
        &token_url,
        (&native_id, &native_secret),
        &[
            ("grant_type", "password"),
            ("username", "ada@example.com"),
            ("password", "Analytical1Engine"),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let refresh = Arc::new(Mutex::new(
        body["refresh_token"].as_str().unwrap().to_owned(),
    ));

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (issued, verified, revoked_active, refreshed, lost) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let cache = Arc::new(JwksCache {
        url: format!("{org}/oauth2/default/v1/keys"),
        entry: tokio::sync::Mutex::new(None),
        fetches: AtomicU64::new(0),
    });
    let issuer = format!("{org}/oauth2/default");
    let mut load = Vec::new();
    // Client credentials, two workers; every token is verified.
    for _ in 0..2 {
        let (client, tally, stop, issued, verified, cache) = (
            client.clone(),
            tally.clone(),
            stop.clone(),
            issued.clone(),
            verified.clone(),
            cache.clone(),
        );
        let (url, svc, issuer) = (token_url.clone(), svc.clone(), issuer.clone());
        load.push(actix_rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (status, body, took) =
                    send(client.post(&url).basic_auth(&svc.0, Some(&svc.1)).form(&cc)).await;
                outcome(
                    "client_credentials",
                    status,
                    &body,
                    &mut *tally.lock().await,
                    took,
                );
                if let Some(jwt) = body["access_token"].as_str() {
                    issued.fetch_add(1, Ordering::Relaxed);
                    let header = jsonwebtoken::decode_header(jwt).unwrap();
                    let key = cache
                        .key_for(&client, header.kid.as_deref().unwrap_or(""))
                        .await;
                    let ok = key.is_some_and(|key| {
                        let mut v = jsonwebtoken::Validation::new(header.alg);
                        v.set_audience(&["api://default"]);
                        v.set_issuer(&[issuer.as_str()]);
                        jsonwebtoken::decode::<Value>(jwt, &key, &v).is_ok()
                    });
                    if ok {
                        verified.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    // Introspection of the live and the revoked token, in turn.
    {
        let (client, tally, stop, revoked_active) = (
            client.clone(),
            tally.clone(),
            stop.clone(),
            revoked_active.clone(),
        );
        let (url, svc, live, revoked) = (
            introspect_url.clone(),
            svc.clone(),
            live.clone(),
            revoked.clone(),
        );
        load.push(actix_rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (token, kind) in [(&live, "introspect_live"), (&revoked, "introspect_revoked")]
                {
                    let (status, body, took) = send(
                        client
                            .post(&url)
                            .basic_auth(&svc.0, Some(&svc.1))
                            .form(&[("token", token.as_str())]),
                    )
                    .await;
                    let mut t = tally.lock().await;
                    outcome(kind, status, &body, &mut t, took);
                    if status == 200 && kind == "introspect_live" && body["active"] != true {
                        t.broken.push(format!("the live token introspected {body}"));
                    }
                    if status == 200 && kind == "introspect_revoked" && body["active"] != false {
                        revoked_active.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    // One chain of refresh-token rotations: a 503 keeps the token for the next try; a refusal
    // means the chain (the user's session) was lost.
    {
        let (client, tally, stop, refresh, refreshed, lost) = (
            client.clone(),
            tally.clone(),
            stop.clone(),
            refresh.clone(),
            refreshed.clone(),
            lost.clone(),
        );
        let (url, native_id, native_secret) =
            (token_url.clone(), native_id.clone(), native_secret.clone());
        load.push(actix_rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let current = refresh.lock().await.clone();
                let (status, body, took) = send(
                    client
                        .post(&url)
                        .basic_auth(&native_id, Some(&native_secret))
                        .form(&[("grant_type", "refresh_token"), ("refresh_token", &current)]),
                )
                .await;
                outcome("refresh", status, &body, &mut *tally.lock().await, took);
                match (status, body["refresh_token"].as_str()) {
                    (200, Some(next)) => {
                        *refresh.lock().await = next.to_owned();
                        refreshed.fetch_add(1, Ordering::Relaxed);
                    }
                    (503, _) => {}
                    _ => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    // Admin writes: a group every 100 ms.
    {
        let (tally, stop, admin) = (tally.clone(), stop.clone(), admin.clone());
        load.push(actix_rt::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (status, body, took) = send(
                    admin(reqwest::Method::POST, "/groups")
                        .json(&json!({"profile": {"name": format!("chaos-{n}")}})),
                )
                .await;
                outcome("admin_write", status, &body, &mut *tally.lock().await, took);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    // The faults, in turn.
    let pause = |secs| tokio::time::sleep(Duration::from_secs(secs));
    pause(3).await;
    assert!(cluster.script(&["kill", "token-1"]).status.success());
    pause(2).await;
    let out = cluster.script(&["start", "token-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pause(2).await;

    redis.stop();
    pause(10).await;
    let redis_back = Instant::now();
    let _redis_again = OwnRedis::start(redis_port, &redis_dir);
    let redis_recovery = recovered(|| async {
        let (status, body) = form(
            &client,
            &introspect_url,
            (&svc.0, &svc.1),
            &[("token", &live)],
        )
        .await;
        status == 200 && body["active"] == true
    })
    .await;
    let redis_recovery = redis_recovery.map(|_| redis_back.elapsed());
    pause(2).await;

    pg.stop();
    pause(10).await;
    let pg_back = Instant::now();
    pg.start();
    let pg_recovery = recovered(|| async {
        admin(reqwest::Method::GET, "/groups?limit=1")
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let pg_recovery = pg_recovery.map(|_| pg_back.elapsed());
    pause(2).await;

    let (status, body, _) = send(admin(
        reqwest::Method::POST,
        "/authorizationServers/default/credentials/lifecycle/keyRotate",
    ))
    .await;
    assert_eq!(status, 200, "manual key rotation: {body}");
    pause(4).await;

    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    // The refresh chain survived: the last token still refreshes.
    let current = refresh.lock().await.clone();
    let (status, body) = form(
        &client,
        &token_url,
        (&native_id, &native_secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &current)],
    )
    .await;
    assert_eq!(status, 200, "the last refresh token still works: {body}");

    let tally = tally.lock().await;
    let (issued, verified, revoked_active, refreshed, lost) = (
        issued.load(Ordering::Relaxed),
        verified.load(Ordering::Relaxed),
        revoked_active.load(Ordering::Relaxed),
        refreshed.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
    );
    let sent: u64 = tally.counts.values().sum();
    eprintln!("chaos: {sent} requests, slowest {:?}", tally.slowest);
    for ((kind, outcome), n) in &tally.counts {
        eprintln!("chaos:   {kind} {outcome}: {n}");
    }
    eprintln!(
        "chaos: {issued} JWTs issued, {verified} verified ({} JWKS fetches); {refreshed} refreshes, {lost} refresh chains lost; revoked token active {revoked_active} times; recovery after Redis {redis_recovery:?}, after PostgreSQL {pg_recovery:?}",
        cache.fetches.load(Ordering::Relaxed)
    );
    assert!(
        tally.broken.is_empty(),
        "broken promises: {:#?}",
        tally.broken
    );
    assert_eq!(revoked_active, 0, "a revoked token introspected active");
    assert_eq!(lost, 0, "refresh tokens lost");
    assert_eq!(verified, issued, "every issued JWT verifies");
    assert!(issued > 100, "{issued}");
    assert!(refreshed > 20, "{refreshed}");
    let redis_recovery = redis_recovery.expect("introspection recovers after Redis returns");
    let pg_recovery = pg_recovery.expect("admin recovers after PostgreSQL returns");
    assert!(redis_recovery < RECOVERY, "{redis_recovery:?}");
    assert!(pg_recovery < RECOVERY, "{pg_recovery:?}");
    // Each fault was felt (else the test proves nothing): 503s during the outages.
    for kind in ["introspect_live", "admin_write"] {
        assert!(
            tally.counts.contains_key(&(kind, "503".to_owned())),
            "{kind} saw the outage"
        );
    }
    drop(tally);
    let _ = cluster.script(&["stop"]);
    let access =
        std::fs::read_to_string(dir.join("cluster/logs/nginx-access.log")).unwrap_or_default();
    assert!(
        access.lines().count() as u64 >= sent / 2,
        "nginx's access log kept logging ({} lines)",
        access.lines().count()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `ok` every 50 ms for at most [`RECOVERY`] + 7 s; `Some` once it holds.
async fn recovered<F, Fut>(mut ok: F) -> Option<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + RECOVERY + Duration::from_secs(7);
    while Instant::now() < deadline {
        if ok().await {
            return Some(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
