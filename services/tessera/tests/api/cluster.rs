//! The scale-out topology end to end, through `deploy/local-cluster.sh`: 2 token, 2
//! introspection, 1 admin and 1 keys replica of the real binary on PostgreSQL and Redis,
//! behind nginx with the production routing. A tenant is provisioned through nginx; tokens come
//! alternately from both token replicas and verify against the published keys; both
//! introspection replicas see them; a rule change is honoured by both token replicas; a
//! revocation is seen by both introspection replicas; one token replica is killed mid-run and
//! requests through nginx keep succeeding. Finally no log line of the whole run contains an
//! issued token or a secret.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{fresh_postgres, repo_root, service_app};

/// The cluster: its directory, nginx's port, and the script's environment.
pub(crate) struct Cluster {
    pub(crate) port: u16,
    pub(crate) env: Vec<(String, String)>,
}

impl Cluster {
    pub(crate) fn script(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(repo_root().join("deploy/local-cluster.sh"));
        for (k, _) in std::env::vars() {
            if k.starts_with("TESSERA_") || k.starts_with("OTEL_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.output().expect("run deploy/local-cluster.sh")
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn replica(&self, offset: u16) -> String {
        format!("http://127.0.0.1:{}", self.port + offset)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script(&["stop"]);
    }
}

/// A base port with it and the six after it free.
pub(crate) fn free_range() -> u16 {
    use tessera_domain::Random as _;
    for _ in 0..200 {
        let mut b = [0u8; 2];
        tessera_domain::SystemRandom.fill(&mut b);
        let port = 20_000 + u16::from_le_bytes(b) % 30_000;
        if (0..7).all(|i| std::net::TcpListener::bind(("127.0.0.1", port + i)).is_ok()) {
            return port;
        }
    }
    panic!("no free port range");
}

pub(crate) async fn form(
    client: &Client,
    url: &str,
    auth: (&str, &str),
    body: &[(&str, &str)],
) -> (u16, Value) {
    let res = client
        .post(url)
        .basic_auth(auth.0, Some(auth.1))
        .form(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn claims(jwt: &str, jwks: &Value, issuer: &str) -> Value {
    crate::helpers::verify_jwt(jwks, jwt, issuer, "api://default")
}

/// Sends `req` and reads its JSON body.
pub(crate) async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

pub(crate) fn logs_of(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir.join("logs")).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    all
}

#[actix_web::test]
async fn replicas_behind_nginx_share_tokens_policy_revocation_and_survive_a_crash() {
    let dir = std::env::temp_dir().join(format!("tessera-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let operator = "cluster-operator-token-0123456789abcdef".to_owned();
    let port = free_range();
    let cluster = Cluster {
        port,
        env: vec![
            ("TESSERA_BIN".into(), env!("CARGO_BIN_EXE_tessera").into()),
            ("CLUSTER_DIR".into(), dir.display().to_string()),
            ("CLUSTER_PORT".into(), port.to_string()),
            ("DATABASE_URL".into(), fresh_postgres().await),
            (
                "REDIS_URL".into(),
                std::env::var("TESSERA_TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            ),
            ("TESSERA_OPERATOR_TOKEN".into(), operator.clone()),
            ("TESSERA_LOG_LEVEL".into(), "info".into()),
        ],
    };
    let started = Instant::now();
    let out = cluster.script(&["start"]);
    assert!(
        out.status.success(),
        "cluster start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("cluster up in {:?}", started.elapsed());
    let client = Client::new();
    let base = cluster.base();

    // Provision through nginx (operator API → admin service).
    let res = client
        .post(format!("{base}/operator/v1/tenants"))
        .bearer_auth(&operator)
        .json(&json!({"name": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let tenant: Value = res.json().await.unwrap();
    let api_token = tenant["apiToken"].as_str().unwrap().to_owned();
    let org = tenant["orgUrl"].as_str().unwrap().to_owned();
    assert_eq!(org, format!("{base}/t/acme"));
    let admin = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{org}/api/v1{path}"))
            .header("Authorization", format!("SSWS {api_token}"))
    };
    let app: Value =
        json_of(admin(reqwest::Method::POST, "/apps").json(&service_app("clustered"))).await;
    let id = app["id"].as_str().unwrap().to_owned();
    let secret = app["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks: Value = json_of(client.get(format!("{org}/oauth2/default/v1/keys"))).await;
    let issuer = format!("{org}/oauth2/default");

    // Tokens alternately from token-1 and token-2; each verifies, and both introspection
    // replicas call it active.
    let token_url =
        |offset: u16| format!("{}/t/acme/oauth2/default/v1/token", cluster.replica(offset));
    let introspect_url = |offset: u16| {
        format!(
            "{}/t/acme/oauth2/default/v1/introspect",
            cluster.replica(offset)
        )
    };
    let cc = [("grant_type", "client_credentials"), ("scope", "profile")];
    let mut tokens = Vec::new();
    for i in 0..4u16 {
        let (status, body) = form(&client, &token_url(1 + i % 2), (&id, &secret), &cc).await;
        assert_eq!(status, 200, "token-{}: {body}", 1 + i % 2);
        let at = body["access_token"].as_str().unwrap().to_owned();
        let c = claims(&at, &jwks, &issuer);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            3600
        );
        tokens.push(at);
    }
    for at in &tokens {
        for offset in [3, 4] {
            let (status, body) = form(
                &client,
                &introspect_url(offset),
                (&id, &secret),
                &[("token", at)],
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(body["active"], true, "introspection-{}", offset - 2);
        }
    }

    // A rule change (access tokens for 5 minutes) is honoured by both token replicas.
    let policies: Value = json_of(admin(
        reqwest::Method::GET,
        "/authorizationServers/default/policies",
    ))
    .await;
    let pid = policies[0]["id"].as_str().unwrap();
    let rules_path = format!("/authorizationServers/default/policies/{pid}/rules");
    let rules: Value = json_of(admin(reqwest::Method::GET, &rules_path)).await;
    let rule = &rules[0];
    let mut actions = rule["actions"].clone();
    actions["token"]["accessTokenLifetimeMinutes"] = json!(5);
    let changed_at = Instant::now();
    let res = admin(
        reqwest::Method::PUT,
        &format!("{rules_path}/{}", rule["id"].as_str().unwrap()),
    )
    .json(
        &json!({"type": rule["type"], "name": rule["name"], "priority": rule["priority"],
        "conditions": rule["conditions"], "actions": actions}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    for offset in [1, 2] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = form(&client, &token_url(offset), (&id, &secret), &cc).await;
            assert_eq!(status, 200);
            let c = claims(body["access_token"].as_str().unwrap(), &jwks, &issuer);
            tokens.push(body["access_token"].as_str().unwrap().to_owned());
            if c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() == 300 {
                eprintln!(
                    "token-{offset} honoured the rule change after {:?}",
                    changed_at.elapsed()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "token-{offset} never saw the rule change"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // A revocation through nginx is seen by both introspection replicas.
    let (status, _) = form(
        &client,
        &format!("{org}/oauth2/default/v1/revoke"),
        (&id, &secret),
        &[("token", &tokens[0])],
    )
    .await;
    assert_eq!(status, 200);
    for offset in [3, 4] {
        let (_, body) = form(
            &client,
            &introspect_url(offset),
            (&id, &secret),
            &[("token", &tokens[0])],
        )
        .await;
        assert_eq!(
            body,
            json!({"active": false}),
            "introspection-{}",
            offset - 2
        );
        let (_, body) = form(
            &client,
            &introspect_url(offset),
            (&id, &secret),
            &[("token", &tokens[1])],
        )
        .await;
        assert_eq!(body["active"], true, "the other tokens stay active");
    }

    // token-1 dies mid-run; requests through nginx keep succeeding on token-2.
    let mut statuses = Vec::new();
    for i in 0..30 {
        if i == 10 {
            let out = cluster.script(&["kill", "token-1"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (status, body) = form(
            &client,
            &format!("{org}/oauth2/default/v1/token"),
            (&id, &secret),
            &cc,
        )
        .await;
        if status == 200 {
            tokens.push(body["access_token"].as_str().unwrap().to_owned());
        }
        statuses.push(status);
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let status = cluster.script(&["status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("token-1 down") && status.contains("token-2 up"),
        "{status}"
    );

    // The System Log, read through nginx, has the revocation.
    let events: Value = json_of(admin(
        reqwest::Method::GET,
        "/logs?filter=eventType%20eq%20%22app.oauth2.as.token.revoke%22",
    ))
    .await;
    assert_eq!(events.as_array().map(Vec::len), Some(1), "{events}");

    // A graceful stop, then: no log line of the run carries a token or a secret.
    let out = cluster.script(&["stop"]);
    assert!(out.status.success());
    let logs = logs_of(&dir);
    assert_eq!(
        logs.matches("System Log and traces flushed; exiting")
            .count(),
        5,
        "every replica but the killed one drained and flushed on SIGTERM"
    );
    assert!(
        logs.contains("tessera::http") && logs.contains("/t/{tenant}/oauth2/{as}/v1/token"),
        "the replicas logged their requests"
    );
    assert!(
        logs.contains("\"POST /t/acme/oauth2/default/v1/token\""),
        "nginx logged too"
    );
    let mut secrets = vec![secret.clone(), api_token.clone(), operator.clone()];
    secrets.extend(tokens.iter().cloned());
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "a token or secret is in the logs"
        );
        // Nor its signature alone (a token split across fields).
        if let Some(sig) = s.rsplit('.').next().filter(|p| p.len() > 20) {
            assert!(!logs.contains(sig), "a token signature is in the logs");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
