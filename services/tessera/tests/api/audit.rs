//! Every audit event kept: under a bounded client-credentials load, every token a client was
//! given (an acknowledged request) has its `app.oauth2.as.token.grant.access_token` event in
//! `GET /api/v1/logs` afterwards — when the server is SIGKILLed in the middle of the load and
//! started again on the same data directory (the spool is replayed), and when PostgreSQL is
//! stopped under load and started again (the events wait in the spool). The SIGKILL test also
//! streams the log to an export file and finds every acknowledged token's event there, exactly
//! as the API serves it.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::faults::OwnPostgres;
use crate::helpers::{Backend, config, free_port, service_app, spawn_with};

/// The `jti` of an access token (its payload, unverified: the test only needs the id).
fn jti(jwt: &str) -> String {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

/// Issues client-credentials tokens from `workers` tasks until `stop`; the jti of every token
/// that came back.
fn load(
    client: &Client,
    token_url: String,
    id: String,
    secret: String,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<String>>>, Vec<actix_rt::task::JoinHandle<()>>) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..workers)
        .map(|_| {
            let (client, url, id, secret, stop, acknowledged) = (
                client.clone(),
                token_url.clone(),
                id.clone(),
                secret.clone(),
                stop.clone(),
                acknowledged.clone(),
            );
            actix_rt::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let res = client
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let Ok(res) = res else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    if res.status() != 200 {
                        continue;
                    }
                    // Acknowledged only once the whole answer has arrived.
                    let Ok(body) = res.json::<Value>().await else {
                        continue;
                    };
                    if let Some(at) = body["access_token"].as_str() {
                        acknowledged.lock().await.push(jti(at));
                    }
                }
            })
        })
        .collect();
    (acknowledged, tasks)
}

/// The access-token ids in `events`.
fn access_tokens<'a>(events: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    events
        .into_iter()
        .flat_map(|e| e["target"].as_array().into_iter().flatten())
        .filter(|t| t["type"] == "access_token")
        .map(|t| t["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The access-token ids in the tenant's `…token.grant.access_token` events.
async fn logged_tokens(client: &Client, org: &str, api_token: &str) -> BTreeSet<String> {
    access_tokens(&logged_events(client, org, api_token).await)
}

/// The tenant's `…token.grant.access_token` events, following every `next` link of a bounded
/// query.
async fn logged_events(client: &Client, org: &str, api_token: &str) -> Vec<Value> {
    let mut url = format!(
        "{org}/api/v1/logs?limit=1000&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&filter={}",
        urlencoding("eventType eq \"app.oauth2.as.token.grant.access_token\"")
    );
    let mut found = Vec::new();
    loop {
        let res = client
            .get(&url)
            .header("Authorization", format!("SSWS {api_token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // `Link: <…>; rel="self", <…>; rel="next"`, in one header or several.
        let next = res
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|l| l.to_str().ok())
            .flat_map(|l| l.split(", <"))
            .find(|l| l.ends_with("rel=\"next\""))
            .and_then(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .map(str::to_owned)
            });
        let page: Value = res.json().await.unwrap();
        found.extend(page.as_array().unwrap().iter().cloned());
        match next {
            Some(n) => url = n,
            None => return found,
        }
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The embedded server as a process of its own (so that it can be SIGKILLed).
/// Its System Log is also exported to `{dir}.jsonl`.
fn server(dir: &std::path::Path, port: u16, operator: &str) -> std::process::Child {
    let mut cmd = crate::helpers::tessera_command();
    let child = cmd
        .arg("serve")
        .env(
            "TESSERA_SYSTEM_LOG__EXPORT_PATH",
            dir.with_extension("jsonl"),
        )
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_METRICS_LISTEN", "127.0.0.1:0")
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_OPERATOR_TOKEN", operator)
        .env("TESSERA_RATE_LIMITS__ENABLED", "false")
        .env("TESSERA_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.with_extension("log"))
                .map_or_else(|_| Stdio::null(), Stdio::from),
        )
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[actix_web::test]
async fn a_sigkill_under_load_loses_no_acknowledged_tokens_event_in_the_log_or_its_export() {
    let dir = std::env::temp_dir().join(format!("tessera-audit-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (port, operator) = (free_port(), "audit-operator-token-0123456789abcdef");
    let mut first = server(&dir, port, operator);
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let tenant: Value = client
        .post(format!("{base}/operator/v1/tenants"))
        .bearer_auth(operator)
        .json(&json!({"name": "audit"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (org, api_token) = (
        tenant["orgUrl"].as_str().unwrap().to_owned(),
        tenant["apiToken"].as_str().unwrap().to_owned(),
    );
    let app: Value = client
        .post(format!("{org}/api/v1/apps"))
        .header("Authorization", format!("SSWS {api_token}"))
        .json(&service_app("audited"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        app["id"].as_str().unwrap().to_owned(),
        app["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (acknowledged, tasks) = load(
        &client,
        format!("{org}/oauth2/default/v1/token"),
        id,
        secret,
        4,
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!(
        "killing the server after {} tokens",
        acknowledged.lock().await.len()
    );
    first.kill().unwrap(); // SIGKILL, mid-load
    let _ = first.wait();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged: BTreeSet<String> = acknowledged.lock().await.iter().cloned().collect();

    eprintln!("load stopped; starting the server again");
    let mut second = server(&dir, port, operator);
    let started = Instant::now();
    let events = logged_events(&client, &org, &api_token).await;
    let logged = access_tokens(&events);
    let missing: Vec<_> = acknowledged.difference(&logged).collect();
    eprintln!(
        "SIGKILL under load: {} tokens acknowledged, {} found in the System Log after the restart ({:?} to query), {} missing",
        acknowledged.len(),
        acknowledged.intersection(&logged).count(),
        started.elapsed(),
        missing.len()
    );

    // The export: written before each batch is loaded, so by now it holds every logged event,
    // each as the API serves it; a batch written just before the SIGKILL may appear twice.
    let export = std::fs::read_to_string(dir.with_extension("jsonl")).unwrap();
    let mut exported = std::collections::BTreeMap::new();
    let mut lines = 0;
    for line in export.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["tenantId"], tenant["id"], "{line}");
        let event = record["event"].clone();
        exported.insert(event["uuid"].as_str().unwrap().to_owned(), event);
        lines += 1;
    }
    let mut different = 0;
    for event in &events {
        match exported.get(event["uuid"].as_str().unwrap()) {
            Some(e) if e == event => {}
            _ => different += 1,
        }
    }
    let exported_tokens = access_tokens(exported.values());
    let not_exported: Vec<_> = acknowledged.difference(&exported_tokens).collect();
    eprintln!(
        "export: {lines} lines, {} distinct events ({} written twice), {} of {} acknowledged tokens, {different} of the API's events absent or different",
        exported.len(),
        lines - exported.len(),
        acknowledged.intersection(&exported_tokens).count(),
        acknowledged.len()
    );
    let _ = second.kill();
    let _ = second.wait();
    assert!(acknowledged.len() > 100, "{}", acknowledged.len());
    assert!(
        missing.is_empty(),
        "acknowledged but not logged: {missing:?}"
    );
    assert!(
        not_exported.is_empty(),
        "acknowledged but not exported: {not_exported:?}"
    );
    assert_eq!(
        different, 0,
        "every event the API serves is exported as served"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(dir.with_extension("jsonl"));
}

#[actix_web::test]
async fn a_database_outage_under_load_loses_no_acknowledged_tokens_event() {
    let pg = OwnPostgres::init();
    let mut cfg = config(Backend::Embedded).await;
    cfg.database_url = Some(pg.url());
    cfg.rate_limits.enabled = false;
    let export = cfg.data_dir.join("export.jsonl");
    cfg.system_log.export_path = Some(export.clone());
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let svc = crate::introspection::app_with(&app, &t, service_app("audited")).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (acknowledged, tasks) = load(
        &app.client,
        format!("{}/oauth2/default/v1/token", t.org),
        svc.id,
        svc.secret,
        4,
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.stop();
    let during = acknowledged.lock().await.len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let issued_while_down = acknowledged.lock().await.len() - during;
    pg.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let acknowledged: BTreeSet<String> = acknowledged.lock().await.iter().cloned().collect();
    // The query flushes this process's spool first (for at most 5 s); poll until it is in.
    let started = Instant::now();
    let mut logged = BTreeSet::new();
    while started.elapsed() < Duration::from_secs(30) {
        logged = logged_tokens(&app.client, &t.org, &t.token).await;
        if acknowledged.is_subset(&logged) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let missing: Vec<_> = acknowledged.difference(&logged).collect();
    eprintln!(
        "PostgreSQL stopped for 5 s under load: {} tokens acknowledged ({issued_while_down} while it was down), {} in the System Log {:?} after the load ended, {} missing",
        acknowledged.len(),
        acknowledged.intersection(&logged).count(),
        started.elapsed(),
        missing.len()
    );
    // The export: every event once, though the loads of the outage were retried many times.
    let mut exported = Vec::new();
    for line in std::fs::read_to_string(&export).unwrap().lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        exported.push(record["event"].clone());
    }
    let uuids: BTreeSet<&str> = exported.iter().filter_map(|e| e["uuid"].as_str()).collect();
    let exported_tokens = access_tokens(&exported);
    eprintln!(
        "export: {} lines, {} distinct events, {} of {} acknowledged tokens",
        exported.len(),
        uuids.len(),
        acknowledged.intersection(&exported_tokens).count(),
        acknowledged.len()
    );
    assert!(
        issued_while_down > 50,
        "tokens were issued during the outage: {issued_while_down}"
    );
    assert!(
        missing.is_empty(),
        "acknowledged but not logged: {missing:?}"
    );
    assert!(
        acknowledged.is_subset(&exported_tokens),
        "every token's event exported"
    );
    assert_eq!(uuids.len(), exported.len(), "no event exported twice");
    app.stop().await;
}

async fn retention_prunes_old_events_in_batches_and_keeps_the_rest(backend: Backend) {
    use tessera_store::ConnectionTrait as _;
    use tessera_store::sea_orm::Statement;
    let app = spawn_with(config(backend).await).await;
    let t = app.provision().await;
    app.api(
        &t,
        Method::POST,
        "/groups",
        Some(json!({"profile": {"name": "kept"}})),
    )
    .await
    .expect(200);
    app.state.syslog.flush().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let count = |sql: &'static str| async move {
        db.query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    };
    let recent = count("SELECT COUNT(*) AS n FROM log_events").await;
    let day: i64 = 86_400_000;
    let now = app.state.now_ms();
    // Old copies of the recent events, 91 days back, doubled until there are over two batches.
    let copy = format!(
        "INSERT INTO log_events (tenant_id, id, event_type, severity, display_message, actor, \
         target, outcome, client, details, created, last_updated) SELECT tenant_id, id, \
         event_type, severity, display_message, actor, target, outcome, client, details, \
         created - {}, last_updated FROM log_events WHERE created > {}",
        91 * day,
        now - day
    );
    db.execute_unprepared(&copy).await.unwrap();
    while count("SELECT COUNT(*) AS n FROM log_events").await - recent < 12_000 {
        let double = format!(
            "INSERT INTO log_events (tenant_id, id, event_type, severity, display_message, \
             actor, target, outcome, client, details, created, last_updated) SELECT tenant_id, \
             id, event_type, severity, display_message, actor, target, outcome, client, details, \
             created, last_updated FROM log_events WHERE created < {}",
            now - 90 * day
        );
        db.execute_unprepared(&double).await.unwrap();
    }
    let old = count("SELECT COUNT(*) AS n FROM log_events").await - recent;
    let started = Instant::now();
    let deleted = tessera_core::syslog::prune(db, now - 90 * day)
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!("retention: {deleted} of {old} old events deleted in {took:?}; {recent} recent kept");
    assert_eq!(deleted, u64::try_from(old).unwrap());
    assert_eq!(count("SELECT COUNT(*) AS n FROM log_events").await, recent);
    // Nothing more to do: one short query.
    assert_eq!(
        tessera_core::syslog::prune(db, now - 90 * day)
            .await
            .unwrap(),
        0
    );
    let events = app
        .api(
            &t,
            Method::GET,
            "/logs?filter=eventType%20eq%20%22group.lifecycle.create%22",
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        events.as_array().map(Vec::len),
        Some(1),
        "the recent event stays: {events}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn retention_prunes_old_events_on_sqlite() {
    retention_prunes_old_events_in_batches_and_keeps_the_rest(Backend::Embedded).await;
}

#[actix_web::test]
async fn retention_prunes_old_events_on_postgres() {
    retention_prunes_old_events_in_batches_and_keeps_the_rest(Backend::Shared).await;
}

/// A second process on a data directory whose spool is held takes `system-log-2`, and loads
/// what is waiting there — here a record in the spool's earlier line format (its JSON columns
/// as strings rather than nested), as an upgrade finds it.
#[actix_web::test]
async fn a_second_process_loads_its_own_spool_including_the_earlier_line_format() {
    let cfg = config(Backend::Embedded).await;
    let first = spawn_with(cfg.clone()).await;
    let t = first.provision().await;
    let (_, tenant) = first
        .operator(Method::GET, &format!("/tenants/{}", t.name), None)
        .await;
    let spool =
        std::path::PathBuf::from(format!("{}-2", cfg.data_dir.join("system-log").display()));
    std::fs::create_dir_all(&spool).unwrap();
    let now_ms = i64::try_from(
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let old = json!([
        tenant["id"],
        "0b3c2a6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d",
        "user.session.start",
        "INFO",
        "written by the earlier format",
        json!({"id": "00u-earlier", "type": "User"}).to_string(),
        json!([{"id": "0oa-earlier", "type": "AppInstance"}]).to_string(),
        json!({"result": "SUCCESS"}).to_string(),
        json!({"zone": "null", "device": "Computer"}).to_string(),
        json!({"debugContext": {"debugData": {"requestUri": "/earlier"}}}).to_string(),
        now_ms
    ]);
    std::fs::write(spool.join("000000000007.log"), format!("{old}\n")).unwrap();
    let second = spawn_with(cfg).await;
    let mut found = Value::Null;
    for _ in 0..50 {
        let res = second
            .client
            .get(format!(
                "{}/api/v1/logs?filter={}",
                t.org,
                urlencoding("eventType eq \"user.session.start\"")
            ))
            .header("Authorization", format!("SSWS {}", t.token))
            .send()
            .await
            .unwrap();
        found = res.json::<Value>().await.unwrap();
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = &found[0];
    assert_eq!(
        event["uuid"], "0b3c2a6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d",
        "{found}"
    );
    assert_eq!(event["actor"]["id"], "00u-earlier");
    assert_eq!(event["target"][0]["id"], "0oa-earlier");
    assert_eq!(event["outcome"]["result"], "SUCCESS");
    assert_eq!(event["debugContext"]["debugData"]["requestUri"], "/earlier");
    // The loaded segment is removed, once the loader has moved past it.
    let segment = spool.join("000000000007.log");
    for _ in 0..100 {
        if !segment.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!segment.exists(), "the loaded segment is removed");
    second.stop().await;
    first.stop().await;
}

/// A query from `since` starts after the last mark taken before it (so a recent window does
/// not walk the tenant's whole log), and still finds every event published in its window,
/// ascending and descending: the marks only skip events published before `since`.
async fn a_query_from_since_starts_after_the_marks_and_misses_nothing(backend: Backend) {
    use time::format_description::well_known::Rfc3339;
    let start = time::OffsetDateTime::now_utc() - time::Duration::hours(3);
    let clock = Arc::new(tessera_domain::TestClock::new(start));
    let app =
        crate::helpers::spawn_clocked(config(backend).await, &tessera::Service::ALL, clock.clone())
            .await;
    let t = app.provision().await;
    let group = |name: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let created = app
                .api(
                    t,
                    Method::POST,
                    "/groups",
                    Some(json!({"profile": {"name": name}})),
                )
                .await
                .expect(200);
            app.state.syslog.flush().await;
            created["id"].as_str().unwrap().to_owned()
        }
    };
    // Past the provisioning's mark, so that the first group's load writes one of its own.
    clock.advance(time::Duration::seconds(2));
    let early = group("early").await;
    clock.advance(time::Duration::hours(1));
    let middle = group("middle").await;
    clock.advance(time::Duration::hours(1));
    let late = group("late").await;
    let groups = |since: time::OffsetDateTime, order: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let since = since.format(&Rfc3339).unwrap();
            let events = app
                .api(
                    t,
                    Method::GET,
                    &format!(
                        "/logs?since={since}&sortOrder={order}&filter=eventType%20eq%20%22group.lifecycle.create%22"
                    ),
                    None,
                )
                .await
                .expect(200);
            events
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["target"][0]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let db = &app.state.db;
    let half = time::Duration::minutes(30);
    for (since, expected) in [
        (
            start - half,
            vec![early.clone(), middle.clone(), late.clone()],
        ),
        (start + half, vec![middle.clone(), late.clone()]),
        (start + 3 * half, vec![late.clone()]),
        (start + 5 * half, vec![]),
    ] {
        assert_eq!(groups(since, "ASCENDING").await, expected, "since {since}");
        let mut newest_first = expected.clone();
        newest_first.reverse();
        assert_eq!(
            groups(since, "DESCENDING").await,
            newest_first,
            "since {since}"
        );
    }
    // The walk really starts late: a window after the first event has a floor at or above it,
    // and one before every mark has none (from the beginning).
    let millis = |at: time::OffsetDateTime| tessera_domain::timefmt::to_millis(at);
    assert_eq!(
        tessera_core::syslog::floor(db, millis(start - half))
            .await
            .unwrap(),
        None
    );
    let early_seq = {
        use tessera_store::ConnectionTrait as _;
        let backend = db.get_database_backend();
        db.query_one_raw(tessera_store::sea_orm::Statement::from_string(
            backend,
            "SELECT MIN(seq) AS n FROM log_events WHERE event_type = 'group.lifecycle.create'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
    };
    let floor = tessera_core::syslog::floor(db, millis(start + half))
        .await
        .unwrap()
        .expect("a mark before the second event");
    assert!(
        floor >= early_seq,
        "floor {floor} is below the first event {early_seq}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_query_from_since_starts_after_the_marks_on_sqlite() {
    a_query_from_since_starts_after_the_marks_and_misses_nothing(Backend::Embedded).await;
}

#[actix_web::test]
async fn a_query_from_since_starts_after_the_marks_on_postgres() {
    a_query_from_since_starts_after_the_marks_and_misses_nothing(Backend::Shared).await;
}
