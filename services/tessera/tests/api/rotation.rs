//! Scheduled key rotation end to end: two keys-service replicas on one Redis and PostgreSQL
//! rotate each due key exactly once and hand over when the leader dies; tokens issued across
//! several rotations all verify with a JWKS cache that honours `Cache-Control`; and no private
//! key is stored in clear text.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Config;
use tessera_ephemeral::{Key, Kind};
use tessera_store::entities::{authorization_server, signing_key};
use tessera_store::{ColumnTrait as _, Condition, DatabaseConnection, repo};

use crate::helpers::{Backend, Tenant, TestApp, config, service_app, spawn_with, tenant_name};

/// Rotate every 3 s, publish NEXT 1 s ahead, check every second.
fn fast(cfg: &mut Config, cluster: &str) {
    cfg.rotation_interval_secs = 3;
    cfg.rotation_next_lead_secs = 1;
    cfg.rotation_check_secs = 1;
    cfg.cluster_name = cluster.replace('-', "_");
}

/// When each key of the tenant's default server started signing, in order.
async fn activations(app: &TestApp, tenant_id: &str) -> Vec<i64> {
    activations_in(&app.state.db, tenant_id).await
}

async fn activations_in(db: &DatabaseConnection, tenant_id: &str) -> Vec<i64> {
    let server = repo::find_by::<authorization_server::Entity>(
        db,
        tenant_id,
        authorization_server::Column::IsDefault.eq(true),
    )
    .await
    .unwrap()
    .expect("a default server")
    .id;
    let rows = repo::all::<signing_key::Entity>(
        db,
        tenant_id,
        Condition::all().add(signing_key::Column::ServerId.eq(server)),
    )
    .await
    .unwrap();
    let mut times: Vec<i64> = rows.iter().filter_map(|k| k.activated).collect();
    times.sort_unstable();
    times
}

async fn tenant_id(app: &TestApp, t: &Tenant) -> String {
    app.state
        .hot
        .tenant(&t.name)
        .await
        .unwrap()
        .unwrap()
        .tenant_id
        .clone()
}

/// A `tessera serve --service keys` process sharing `cfg`'s stores and fast schedule.
fn keys_process(cfg: &Config, instance: &str) -> crate::helpers::ServiceProcess {
    let extra = [
        (
            "TESSERA_ROTATION_INTERVAL_SECS",
            cfg.rotation_interval_secs.to_string(),
        ),
        (
            "TESSERA_ROTATION_NEXT_LEAD_SECS",
            cfg.rotation_next_lead_secs.to_string(),
        ),
        (
            "TESSERA_ROTATION_CHECK_SECS",
            cfg.rotation_check_secs.to_string(),
        ),
        ("TESSERA_CLUSTER_NAME", cfg.cluster_name.clone()),
        ("TESSERA_INSTANCE_ID", instance.to_owned()),
    ];
    crate::helpers::service_process(cfg, "keys", crate::helpers::free_port(), &extra)
}

#[actix_web::test]
async fn two_keys_processes_rotate_each_due_key_exactly_once_and_hand_over_when_the_leader_is_killed()
 {
    let cluster = tenant_name();
    let mut cfg = config(Backend::Shared).await;
    fast(&mut cfg, &cluster);
    cfg.master_key = Some(tessera_jose::MasterKey::generate_text(
        &tessera_domain::SystemRandom,
    ));
    // This test process serves the APIs only; two separate processes run the keys service.
    let services = [tessera::Service::Admin, tessera::Service::Token];
    let app = crate::helpers::spawn_services(cfg.clone(), &services).await;
    let t = app.provision().await;
    let tid = tenant_id(&app, &t).await;
    let mut a = keys_process(&cfg, "keys-a");
    let mut b = keys_process(&cfg, "keys-b");
    tokio::time::sleep(Duration::from_secs(11)).await;

    let times = activations(&app, &tid).await;
    assert!(
        times.len() >= 3,
        "at least two scheduled rotations: {times:?}"
    );
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 2_500,
            "two rotations {} ms apart: a due rotation happened twice ({times:?})",
            pair[1] - pair[0]
        );
    }

    // Kill the leader outright; the other takes the lease when it expires and goes on.
    let lease = Key::global(Kind::Lease, &format!("{}:key-rotation", cfg.cluster_name));
    let holder = String::from_utf8(
        app.state
            .short
            .get(&lease)
            .await
            .unwrap()
            .expect("a leader holds the lease"),
    )
    .unwrap();
    let (leader, survivor_name) = match holder.as_str() {
        "keys-a" => (&mut a, "keys-b"),
        "keys-b" => (&mut b, "keys-a"),
        other => panic!("unexpected lease holder {other}"),
    };
    leader.0.kill().unwrap();
    leader.0.wait().unwrap();
    let before = activations(&app, &tid).await.len();
    tokio::time::sleep(Duration::from_secs(9)).await;
    let after = activations(&app, &tid).await;
    let new_holder = String::from_utf8(
        app.state
            .short
            .get(&lease)
            .await
            .unwrap()
            .unwrap_or_default(),
    )
    .unwrap();
    drop((a, b));
    assert!(
        after.len() > before,
        "rotation continued after the leader was killed: {before} -> {}",
        after.len()
    );
    assert_eq!(new_holder, survivor_name);
    for pair in after.windows(2) {
        assert!(pair[1] - pair[0] >= 2_500, "{after:?}");
    }
    app.stop().await;
}

/// A JWKS cache that refetches only when `Cache-Control: max-age` runs out, never on an unknown
/// `kid`: the strictest reading of what a verifier may do.
pub(crate) struct JwksCache {
    pub(crate) url: String,
    pub(crate) entry: tokio::sync::Mutex<Option<(Value, Instant)>>,
    pub(crate) fetches: AtomicU64,
}

impl JwksCache {
    pub(crate) async fn key_for(&self, client: &reqwest::Client, kid: &str) -> Option<DecodingKey> {
        let mut entry = self.entry.lock().await;
        if entry
            .as_ref()
            .is_none_or(|(_, until)| Instant::now() >= *until)
        {
            let res = client.get(&self.url).send().await.ok()?;
            let max_age: u64 = res
                .headers()
                .get("cache-control")?
                .to_str()
                .ok()?
                .split(',')
                .find_map(|p| p.trim().strip_prefix("max-age="))?
                .parse()
                .ok()?;
            let jwks: Value = res.json().await.ok()?;
            self.fetches.fetch_add(1, Ordering::Relaxed);
            *entry = Some((jwks, Instant::now() + Duration::from_secs(max_age)));
        }
        let (jwks, _) = entry.as_ref()?;
        let jwk = jwks["keys"].as_array()?.iter().find(|k| k["kid"] == kid)?;
        DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).ok()?).ok()
    }
}

#[actix_web::test]
async fn tokens_issued_across_several_rotations_all_verify_with_a_cache_control_honouring_jwks_cache()
 {
    let mut cfg = config(Backend::Embedded).await;
    fast(&mut cfg, &tenant_name());
    // Six clients issuing as fast as they can exceed a tenant's token quota (1200/min); this
    // test is about keys, not about rate limits.
    cfg.rate_limits.enabled = false;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("load")))
        .await
        .expect(200);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let tid = tenant_id(&app, &t).await;
    let rotations_before = activations(&app, &tid).await.len();
    let cache = Arc::new(JwksCache {
        url: format!("{}/oauth2/default/v1/keys", t.org),
        entry: tokio::sync::Mutex::new(None),
        fetches: AtomicU64::new(0),
    });
    let (issued, verified, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    // Issue until three rotations have happened. A rotation is due 3 s after the last one and
    // is made at the next 1 s check, so three take 9–12 s on an idle machine; with the rest of
    // the suite running beside it, longer. The bound is for a rotation that never comes.
    let started = Instant::now();
    let give_up = started + Duration::from_secs(60);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (done, tid) = (done.clone(), tid.clone());
        let db = app.state.db.clone();
        actix_rt::spawn(async move {
            while Instant::now() < give_up {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if activations_in(&db, &tid).await.len() >= rotations_before + 3 {
                    break;
                }
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (cache, issued, verified, failed, done) = (
            cache.clone(),
            issued.clone(),
            verified.clone(),
            failed.clone(),
            done.clone(),
        );
        let (url, id, secret, issuer) = (
            format!("{}/oauth2/default/v1/token", t.org),
            id.clone(),
            secret.clone(),
            format!("{}/oauth2/default", t.org),
        );
        tasks.push(actix_rt::spawn(async move {
            let client = reqwest::Client::new();
            while !done.load(Ordering::Relaxed) {
                let res = client
                    .post(&url)
                    .header(
                        "Authorization",
                        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
                    )
                    .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body: Value = res.json().await.unwrap();
                let jwt = body["access_token"].as_str().unwrap().to_owned();
                issued.fetch_add(1, Ordering::Relaxed);
                let header = jsonwebtoken::decode_header(&jwt).unwrap();
                let ok = match cache
                    .key_for(&client, header.kid.as_deref().unwrap_or_default())
                    .await
                {
                    Some(key) => {
                        let mut v = Validation::new(header.alg);
                        v.set_audience(&["api://default"]);
                        v.set_issuer(&[issuer.as_str()]);
                        jsonwebtoken::decode::<Value>(&jwt, &key, &v).is_ok()
                    }
                    None => false,
                };
                if ok {
                    verified.fetch_add(1, Ordering::Relaxed)
                } else {
                    failed.fetch_add(1, Ordering::Relaxed)
                };
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    watcher.await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let rotations = activations(&app, &tid).await.len() - rotations_before;
    let (issued, verified, failed) = (
        issued.load(Ordering::Relaxed),
        verified.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    eprintln!(
        "rotation under load: {rotations} rotations in {seconds:.1} s, {issued} tokens issued, {verified} verified, {failed} failed, {} JWKS fetches",
        cache.fetches.load(Ordering::Relaxed)
    );
    assert!(
        rotations >= 3,
        "several rotations happened during the run: {rotations}"
    );
    assert!(issued > 100, "{issued}");
    assert_eq!(failed, 0, "not one issued token failed verification");
    assert_eq!(verified, issued);
    // The max-age floor (here the 1 s lead): a strict cache refetches about once a second, not
    // on every request while a due rotation waits for the keys service (1,710 fetches in a 13 s
    // run before the floor, 10 with it).
    let fetches = cache.fetches.load(Ordering::Relaxed);
    assert!(
        fetches as f64 <= 2.0 * seconds + 5.0,
        "{fetches} JWKS fetches in {seconds:.1} s"
    );
    // Each scheduled rollover of the default server is in the System Log, by the keys service.
    let server = repo::find_by::<authorization_server::Entity>(
        &app.state.db,
        &tid,
        authorization_server::Column::IsDefault.eq(true),
    )
    .await
    .unwrap()
    .unwrap()
    .id;
    // The log holds every token too, so a filtered query answers page by page (each page
    // scans a bounded number of events): follow the `next` links. With `until` it is a bounded
    // query, whose links end (without, it would be a poll, which always links on).
    let mut rollovers = Vec::new();
    let mut page = app
        .api(
            &t,
            Method::GET,
            &format!(
                "/logs?limit=1000&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&filter=eventType%20eq%20%22app.oauth2.as.key.rollover%22%20and%20target.id%20eq%20%22{server}%22"
            ),
            None,
        )
        .await;
    loop {
        let next = page.next_link();
        rollovers.extend(page.expect(200).as_array().unwrap().iter().cloned());
        match next {
            Some(url) => page = app.get_url(&t, &url).await,
            None => break,
        }
    }
    assert!(
        rollovers.len() >= rotations,
        "{} rollover events for {rotations} rotations",
        rollovers.len()
    );
    assert!(rollovers.iter().all(|e| e["actor"]["id"] == "tessera-keys"));
    app.stop().await;
}

#[actix_web::test]
async fn the_database_holds_no_private_key_in_clear_text() {
    let cfg = config(Backend::Embedded).await;
    let data_dir = cfg.data_dir.clone();
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    app.api(&t, Method::POST, "/authorizationServers", Some(json!({"name": "es", "audiences": ["api://es"], "credentials": {"signing": {"alg": "ES256"}}}))).await.expect(201);
    let tid = tenant_id(&app, &t).await;
    let rows = repo::all::<signing_key::Entity>(&app.state.db, &tid, Condition::all())
        .await
        .unwrap();
    // ACTIVE and NEXT of the default, the org and the ES256 server.
    assert_eq!(rows.len(), 6);
    app.stop().await;

    let mut dump = Vec::new();
    for file in ["tessera.db", "tessera.db-wal"] {
        if let Ok(bytes) = std::fs::read(data_dir.join(file)) {
            dump.extend(bytes);
        }
    }
    let master = tessera_jose::MasterKey::from_text(
        &std::fs::read_to_string(data_dir.join("master-key")).unwrap(),
    )
    .unwrap();
    let contains = |needle: &[u8]| dump.windows(needle.len()).any(|w| w == needle);
    for k in &rows {
        let pkcs8 = master
            .open(
                &k.private_key,
                &tessera_jose::signing_key_context(&tid, &k.server_id, &k.kid),
            )
            .expect("the stored key is sealed with the master key");
        let alg = tessera_jose::Alg::parse(&k.alg).unwrap();
        assert!(tessera_jose::SigningKey::from_pkcs8(&k.kid, alg, &pkcs8).is_ok());
        assert!(
            !contains(&pkcs8),
            "the private key's DER appears in the database files"
        );
        assert!(
            !contains(STANDARD.encode(&pkcs8).as_bytes())
                && !contains(URL_SAFE_NO_PAD.encode(&pkcs8).as_bytes())
        );
        assert!(
            !contains(&pkcs8[pkcs8.len() - 32..]),
            "not even a fragment of it"
        );
    }
    assert!(!contains(b"PRIVATE KEY"));
}

#[actix_web::test]
async fn the_master_key_rotates_with_rewrap_while_tokens_keep_being_issued() {
    use tessera_domain::SystemRandom;
    let old = tessera_jose::MasterKey::generate_text(&SystemRandom);
    let new = tessera_jose::MasterKey::generate_text(&SystemRandom);
    let mut cfg = config(Backend::Embedded).await;
    cfg.master_key = Some(old.clone());
    let app = spawn_with(cfg.clone()).await;
    let t = app.provision().await;
    let mut jwt_app = service_app("csjwt");
    jwt_app["credentials"]["oauthClient"] = json!({"token_endpoint_auth_method": "client_secret_jwt", "client_secret": "a-client-secret-that-is-at-least-32-characters-long"});
    app.api(&t, Method::POST, "/apps", Some(jwt_app))
        .await
        .expect(200);
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("svc")))
        .await
        .expect(200);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    app.stop().await;

    let token = |app: &TestApp, t: &Tenant| {
        let (url, auth) = (
            format!("{}/oauth2/default/v1/token", t.org),
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
        let client = app.client.clone();
        async move {
            client
                .post(url)
                .header("Authorization", auth)
                .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // During the switch: new key current, old key previous; rows sealed under the old key open.
    cfg.master_key = Some(new.clone());
    cfg.previous_master_key = Some(old.clone());
    let app = spawn_with(cfg.clone()).await;
    let t = Tenant {
        org: format!("{}/t/{}", app.base, t.name),
        ..t
    };
    assert_eq!(token(&app, &t).await, 200);
    let done = tessera_keys::rewrap::run(&app.state).await.unwrap();
    // The default and the org server's ACTIVE and NEXT keys.
    assert_eq!((done.signing_keys, done.client_secrets), (4, 2));
    assert_eq!(
        tessera_keys::rewrap::run(&app.state).await.unwrap(),
        tessera_keys::rewrap::Rewrapped::default(),
        "idempotent"
    );
    app.stop().await;

    // Afterwards the old key is no longer needed.
    cfg.previous_master_key = None;
    let app = spawn_with(cfg).await;
    let t = Tenant {
        org: format!("{}/t/{}", app.base, t.name),
        ..t
    };
    assert_eq!(token(&app, &t).await, 200);
    app.stop().await;
}

/// A manual rotation promotes only a NEXT key every verifier's cache holds: the JWKS is never
/// cached longer than the NEXT key's lead, and `keyRotate` is refused until the NEXT key has
/// been published that long (a new server's first NEXT key, in every key set it served, may
/// sign at once).
#[actix_web::test]
async fn key_rotate_never_promotes_a_key_a_cache_may_lack() {
    let clock = Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let app = crate::helpers::spawn_clocked(
        config(Backend::Embedded).await,
        &tessera::Service::ALL,
        clock.clone(),
    )
    .await;
    let t = app.provision().await;
    let rotate = || {
        app.api(
            &t,
            Method::POST,
            "/authorizationServers/default/credentials/lifecycle/keyRotate",
            None,
        )
    };
    let max_age = || async {
        let res = app
            .client
            .get(format!("{}/oauth2/default/v1/keys", t.org))
            .send()
            .await
            .unwrap();
        let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
        let jwks: Value = res.json().await.unwrap();
        let age: u64 = cache
            .split(',')
            .find_map(|p| p.trim().strip_prefix("max-age="))
            .unwrap()
            .parse()
            .unwrap();
        (age, jwks)
    };
    let lead = tessera_core::Config::default().rotation_next_lead_secs;
    let (age, before) = max_age().await;
    assert!(age <= lead, "max-age {age} s above the lead {lead} s");
    // The first rotation: the NEXT key made with the server signs at once.
    let first = rotate().await.expect(200);
    let next_kid = |keys: &Value| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["status"] == "NEXT")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .expect("a NEXT key is always published")
    };
    let promoted = first
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == "ACTIVE")
        .unwrap()["kid"]
        .clone();
    assert!(
        before["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == promoted),
        "the promoted key was in the key set served before"
    );
    let fresh_next = next_kid(&first);
    // At once again: refused, nothing changes.
    rotate().await.expect_error(400, "E0000001");
    clock.advance(time::Duration::seconds(i64::try_from(lead).unwrap() - 60));
    rotate().await.expect_error(400, "E0000001");
    // Once the NEXT key has been published for the lead, it signs, and a new NEXT appears.
    clock.advance(time::Duration::seconds(61));
    let second = rotate().await.expect(200);
    let active: Vec<&Value> = second
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["status"] == "ACTIVE")
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["kid"], fresh_next.as_str());
    assert_ne!(next_kid(&second), fresh_next);
    app.stop().await;
}
