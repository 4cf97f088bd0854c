//! Reloads touch only what changed: each kind of admin change reloads the one snapshot that
//! holds it (an authorization server, one app, the tenant-wide snapshot, or nothing), counted by
//! `tessera_hot_reloads_total{kind, result}`, and the very next request still sees the change.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, service_app, spawn};

/// `tessera_hot_reloads_total` by `(kind, result)`.
async fn reloads(app: &TestApp) -> std::collections::BTreeMap<(String, String), u64> {
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("tessera_hot_reloads_total{"))
        .filter_map(|l| {
            let (labels, value) = l.split_once("} ")?;
            let field = |name: &str| {
                labels
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_owned)
            };
            Some((
                (field("kind")?, field("result")?),
                value.trim().parse().ok()?,
            ))
        })
        .collect()
}

/// How many reloads of each kind happened between two readings (only `loaded` ones).
fn loaded_since(
    before: &std::collections::BTreeMap<(String, String), u64>,
    after: &std::collections::BTreeMap<(String, String), u64>,
) -> (u64, u64, u64) {
    let n = |kind: &str| {
        let key = (kind.to_owned(), "loaded".to_owned());
        after.get(&key).copied().unwrap_or(0) - before.get(&key).copied().unwrap_or(0)
    };
    (n("tenant"), n("app"), n("server"))
}

async fn token(
    app: &TestApp,
    t: &Tenant,
    server: &str,
    client: &(String, String),
    scope: &str,
) -> Value {
    let res = app
        .client
        .post(format!("{}/oauth2/{server}/v1/token", t.org))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[actix_web::test]
async fn an_admin_change_reloads_only_the_snapshot_that_holds_it() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    // A second server, with a rule for client credentials.
    let s = app
        .api(
            &t,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "other", "audiences": ["api://other"]})),
        )
        .await
        .expect(201);
    let other = s["id"].as_str().unwrap().to_owned();
    let p = app.api(&t, Method::POST, &format!("/authorizationServers/{other}/policies"), Some(json!({"type": "OAUTH_AUTHORIZATION_POLICY", "name": "all", "description": "all", "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}}))).await.expect(201);
    app.api(&t, Method::POST, &format!("/authorizationServers/{other}/policies/{}/rules", p["id"].as_str().unwrap()), Some(json!({"type": "RESOURCE_ACCESS", "name": "cc",
        "conditions": {"grantTypes": {"include": ["client_credentials"]}, "scopes": {"include": ["*"]}}}))).await.expect(201);
    for (server, scope) in [("default", "reports"), (other.as_str(), "other.read")] {
        app.api(
            &t,
            Method::POST,
            &format!("/authorizationServers/{server}/scopes"),
            Some(json!({"name": scope})),
        )
        .await
        .expect(201);
    }
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("svc")))
        .await
        .expect(200);
    let client = (
        created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let bystander = app
        .api(&t, Method::POST, "/apps", Some(service_app("bystander")))
        .await
        .expect(200);
    let bystander_id = bystander["id"].as_str().unwrap().to_owned();
    // Everything loaded: the tenant and both servers.
    token(&app, &t, "default", &client, "reports").await;
    token(&app, &t, &other, &client, "other.read").await;

    // A scope on the default server: that server reloads, and only it.
    let before = reloads(&app).await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "invoices"})),
    )
    .await
    .expect(201);
    let granted = token(&app, &t, "default", &client, "invoices").await;
    assert_eq!(
        granted["scope"], "invoices",
        "the next request sees the new scope"
    );
    token(&app, &t, &other, &client, "other.read").await;
    assert_eq!(
        loaded_since(&before, &reloads(&app).await),
        (0, 0, 1),
        "a scope change"
    );

    // One app changed: that app's client snapshot reloads, nothing else.
    let before = reloads(&app).await;
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{bystander_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    token(&app, &t, "default", &client, "reports").await;
    assert_eq!(
        loaded_since(&before, &reloads(&app).await),
        (0, 1, 0),
        "an app change"
    );

    // A user: nothing hot holds users.
    let before = reloads(&app).await;
    app.user(&t, "ada@example.com").await;
    token(&app, &t, "default", &client, "reports").await;
    assert_eq!(
        loaded_since(&before, &reloads(&app).await),
        (0, 0, 0),
        "a new user"
    );

    // A group: the tenant-wide snapshot (groups are in it), not the servers.
    let before = reloads(&app).await;
    app.group(&t, "Staff").await;
    token(&app, &t, "default", &client, "reports").await;
    assert_eq!(
        loaded_since(&before, &reloads(&app).await),
        (1, 0, 0),
        "a new group"
    );

    // The committing process applies its change once: its own bus echo reloads nothing more.
    let after = reloads(&app).await;
    let skipped: u64 = after
        .iter()
        .filter(|((_, result), _)| result == "skipped")
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(skipped, 0, "{after:?}");
    app.stop().await;
}
