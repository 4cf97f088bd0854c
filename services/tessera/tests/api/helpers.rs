use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};
use tessera::Service;
use tessera_core::Config;

/// Where durable state lives for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + in-process short-lived store (the embedded default).
    Embedded,
    /// PostgreSQL (a fresh database) + Redis.
    Shared,
}

pub struct TestApp {
    pub base: String,
    /// The metrics listener (`metrics_listen`): `http://127.0.0.1:{port}`.
    pub metrics_base: String,
    pub operator_token: String,
    pub client: reqwest::Client,
    pub state: tessera_core::AppState,
    handle: ServerHandle,
    keys_job: Option<actix_rt::task::JoinHandle<()>>,
}

fn unique(prefix: &str) -> String {
    use tessera_domain::Random as _;
    let mut b = [0u8; 6];
    tessera_domain::SystemRandom.fill(&mut b);
    format!(
        "{prefix}{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// A unique tenant name.
pub fn tenant_name() -> String {
    unique("t-")
}

pub async fn fresh_postgres() -> String {
    let admin_url = std::env::var("TESSERA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    // Named for this run (scripts/test sets TESSERA_TEST_RUN), which drops its own at the end.
    let run = std::env::var("TESSERA_TEST_RUN")
        .ok()
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "local".into());
    let name = unique(&format!("tessera_t_{run}_"));
    let db = sea_orm::Database::connect(&admin_url)
        .await
        .expect("PostgreSQL must be running for the tests");
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

/// A configuration for a fresh instance of `backend`.
pub async fn config(backend: Backend) -> Config {
    let data_dir: PathBuf = std::env::temp_dir().join(unique("tessera-test-"));
    let (database_url, redis_url) = match backend {
        Backend::Embedded => (None, None),
        Backend::Shared => (
            Some(fresh_postgres().await),
            Some(
                std::env::var("TESSERA_TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            ),
        ),
    };
    Config {
        listen: "127.0.0.1:0".into(),
        metrics_listen: "127.0.0.1:0".into(),
        data_dir,
        database_url,
        redis_url,
        operator_token: Some(unique("operator-token-for-tests-")),
        log_level: "warn".into(),
        ..Config::default()
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(config(backend).await).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    spawn_services(config, &Service::ALL).await
}

/// Starts only `services` (e.g. without the keys service, when other processes run it).
pub async fn spawn_services(config: Config, services: &[Service]) -> TestApp {
    spawn_clocked(
        config,
        services,
        std::sync::Arc::new(tessera_domain::SystemClock),
    )
    .await
}

/// Starts `services` with an injected clock.
pub async fn spawn_clocked(
    config: Config,
    services: &[Service],
    clock: std::sync::Arc<dyn tessera_domain::Clock>,
) -> TestApp {
    let mut config = config;
    // Two HTTP workers unless a test asks for more or fewer: enough to show cross-worker
    // behaviour, few enough for many servers in one run.
    config.http_workers.get_or_insert(2);
    tessera_web::telemetry::init(&config);
    let running = tessera::start_services_with_clock(config.clone(), services, clock)
        .await
        .expect("server starts");
    let (started, keys_job) = (running.started, running.keys_job);
    let handle = started.handle();
    let base = format!("http://{}", started.addr);
    let metrics_base = started
        .metrics_addr
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    let state = started.state.clone();
    actix_rt::spawn(started.server);
    TestApp {
        base,
        metrics_base,
        operator_token: config.operator_token.clone().unwrap_or_default(),
        client: reqwest::Client::new(),

        state,
        handle,
        keys_job,
    }
}

/// A provisioned tenant as the tests see it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub token: String,
    pub org: String,
}

impl TestApp {
    /// Stops the HTTP server and the keys job, as if the process ended (leases it holds are
    /// not released: they expire).
    pub async fn stop(self) {
        if let Some(job) = &self.keys_job {
            job.abort();
        }
        self.handle.stop(true).await;
    }

    pub async fn operator(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/operator/v1{path}", self.base))
            .bearer_auth(&self.operator_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn provision(&self) -> Tenant {
        let name = tenant_name();
        let (status, body) = self
            .operator(Method::POST, "/tenants", Some(json!({ "name": name })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Tenant {
            name,
            token: body["apiToken"].as_str().expect("apiToken").to_owned(),
            org: body["orgUrl"].as_str().expect("orgUrl").to_owned(),
        }
    }

    /// Creates a group named `name` as `tenant`'s API token; returns it.
    pub async fn group(&self, tenant: &Tenant, name: &str) -> Value {
        self.api(
            tenant,
            Method::POST,
            "/groups",
            Some(json!({"profile": {"name": name}})),
        )
        .await
        .expect(200)
    }

    /// Creates an active user with [`user`]'s profile and password; returns it.
    pub async fn user(&self, tenant: &Tenant, login: &str) -> Value {
        self.api(tenant, Method::POST, "/users", Some(user(login)))
            .await
            .expect(200)
    }

    /// Assigns the user `user_id` to the app `app_id` (`POST /apps/{id}/users`).
    pub async fn assign(&self, tenant: &Tenant, app_id: &str, user_id: &str) {
        self.api(
            tenant,
            Method::POST,
            &format!("/apps/{app_id}/users"),
            Some(json!({"id": user_id})),
        )
        .await
        .expect(200);
    }

    /// A management-API call as `tenant`'s API token.
    pub async fn api(
        &self,
        tenant: &Tenant,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.api_as(
            &tenant.org,
            &format!("SSWS {}", tenant.token),
            method,
            path,
            body,
        )
        .await
    }

    /// A management-API call with an explicit Authorization header value.
    pub async fn api_as(
        &self,
        org: &str,
        authorization: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.send(&format!("{org}/api/v1{path}"), authorization, method, body)
            .await
    }

    /// A GET of an absolute URL (a `Link` header's) as `tenant`.
    pub async fn get_url(&self, tenant: &Tenant, url: &str) -> Reply {
        self.send(url, &format!("SSWS {}", tenant.token), Method::GET, None)
            .await
    }

    pub async fn send(
        &self,
        url: &str,
        authorization: &str,
        method: Method,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, url)
            .header("Authorization", authorization);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let link = res
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let text = res.text().await.unwrap_or_default();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            link,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub link: Option<String>,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an Okta error with this status and code; returns the body.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["errorCode"], code, "{}", self.body);
        assert!(
            self.body["errorSummary"].is_string() && self.body["errorId"].is_string(),
            "{}",
            self.body
        );
        self.body
    }

    /// The URL of the `rel="next"` link, if any.
    pub fn next_link(&self) -> Option<String> {
        let link = self.link.as_deref()?;
        link.split(',')
            .find(|p| p.contains("rel=\"next\""))
            .and_then(|p| {
                let start = p.find('<')? + 1;
                let end = p.find('>')?;
                Some(p[start..end].to_owned())
            })
    }
}

/// The error causes of an Okta error body, joined.
pub fn causes(body: &Value) -> String {
    body["errorCauses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["errorSummary"].as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

pub fn service_app(label: &str) -> Value {
    json!({
        "name": "oidc_client",
        "label": label,
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
        "settings": { "oauthClient": { "application_type": "service", "grant_types": ["client_credentials"] } },
    })
}

pub fn web_app(label: &str) -> Value {
    json!({
        "name": "oidc_client",
        "label": label,
        "signOnMode": "OPENID_CONNECT",
        "settings": { "oauthClient": {
            "application_type": "web",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": ["https://app.example.com/callback"],
        } },
    })
}

pub fn user(login: &str) -> Value {
    json!({
        "profile": { "login": login, "email": login, "firstName": "Ada", "lastName": "Lovelace" },
        "credentials": { "password": { "value": "Analytical1Engine" } },
    })
}

/// A user holding `role` and an API token acting as them: `(user id, the tenant as them)`.
pub async fn admin_with(app: &TestApp, t: &Tenant, login: &str, role: &str) -> (String, Tenant) {
    let u = app
        .api(t, Method::POST, "/users", Some(user(login)))
        .await
        .expect(200);
    let uid = u["id"].as_str().unwrap().to_owned();
    app.api(
        t,
        Method::POST,
        &format!("/users/{uid}/roles"),
        Some(json!({"type": role})),
    )
    .await
    .expect(201);
    let token = app
        .api(
            t,
            Method::POST,
            "/api-tokens",
            Some(json!({"name": login, "userId": uid})),
        )
        .await
        .expect(201);
    let as_admin = Tenant {
        token: token["token"].as_str().unwrap().to_owned(),
        name: t.name.clone(),
        org: t.org.clone(),
    };
    (uid, as_admin)
}

/// A service app of the org authorization server (`private_key_jwt`, an ES256 key), granted
/// `scopes` and holding `role`.
pub struct OrgClient {
    pub app_id: String,
    pub client_id: String,
    pub key: tessera_jose::GeneratedKey,
}

impl OrgClient {
    pub async fn create(app: &TestApp, t: &Tenant, scopes: &[&str], role: Option<&str>) -> Self {
        let key = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
        let created = app.api(t, Method::POST, "/apps", Some(json!({
            "name": "oidc_client", "label": "automation", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": "private_key_jwt"}},
            "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"],
                "jwks": {"keys": [key.public_jwk.clone()]}}}}))).await.expect(200);
        let app_id = created["id"].as_str().unwrap().to_owned();
        let client_id = created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for scope in scopes {
            app.api(
                t,
                Method::POST,
                &format!("/apps/{app_id}/grants"),
                Some(json!({"issuer": t.org, "scopeId": scope})),
            )
            .await
            .expect(201);
        }
        if let Some(role) = role {
            app.send(
                &format!("{}/oauth2/v1/clients/{client_id}/roles", t.org),
                &format!("SSWS {}", t.token),
                Method::POST,
                Some(json!({"type": role})),
            )
            .await
            .expect(200);
        }
        Self {
            app_id,
            client_id,
            key,
        }
    }

    /// A client assertion for `aud` signed with this client's key.
    pub fn assertion(&self, aud: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &json!({"iss": self.client_id, "sub": self.client_id, "aud": aud, "iat": now,
                "exp": now + 60, "jti": unique("jti-")}),
            &jsonwebtoken::EncodingKey::from_ec_der(&self.key.pkcs8),
        )
        .unwrap()
    }

    /// `Authorization: Bearer …` with an org-server access token for `scopes`.
    pub async fn bearer(&self, app: &TestApp, t: &Tenant, scopes: &str) -> String {
        let url = format!("{}/oauth2/v1/token", t.org);
        let res = app
            .client
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scopes),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &self.assertion(&url)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        format!("Bearer {}", body["access_token"].as_str().unwrap())
    }
}

/// A `tessera serve --service NAME` child process sharing `cfg`'s database, Redis, master key and
/// public URL, listening on `port`, with `extra` settings. Killed on drop.
pub struct ServiceProcess(pub std::process::Child);

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The `tessera` binary, with none of this environment's settings (`TESSERA_*`,
/// `DATABASE_URL`, `REDIS_URL`): each test says what its process runs with.
pub fn tessera_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TESSERA_") || k == "DATABASE_URL" || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

pub fn service_process(
    cfg: &Config,
    service: &str,
    port: u16,
    extra: &[(&str, String)],
) -> ServiceProcess {
    let mut cmd = crate::helpers::tessera_command();
    cmd.args(["serve", "--service", service])
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_METRICS_LISTEN", "127.0.0.1:0")
        .env(
            "TESSERA_DATA_DIR",
            std::env::temp_dir().join(unique("tessera-test-")),
        )
        .env("DATABASE_URL", cfg.database_url.clone().unwrap_or_default())
        .env("REDIS_URL", cfg.redis_url.clone().unwrap_or_default())
        .env(
            "TESSERA_MASTER_KEY",
            cfg.master_key.clone().unwrap_or_default(),
        )
        .env(
            "TESSERA_OPERATOR_TOKEN",
            cfg.operator_token.clone().unwrap_or_default(),
        )
        .env("TESSERA_LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(url) = &cfg.public_url {
        cmd.env("TESSERA_PUBLIC_URL", url);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start a tessera process");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ServiceProcess(child)
}

/// The Python interpreter of the test tools' virtual environment (`scripts/test` creates it at
/// `.venv` with prometheus-client, helm-python-sdk, kubernetes-validate, check-jsonschema and
/// Okta's Python SDK, `okta`).
pub fn python() -> PathBuf {
    std::env::var_os("TESSERA_TEST_PYTHON")
        .map_or_else(|| repo_root().join(".venv/bin/python"), PathBuf::from)
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Prometheus text parsed by the official Python client's parser: every sample as
/// `{name, labels, value, type}`. Panics when the text does not parse.
pub fn prometheus_samples(text: &str) -> Vec<Value> {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python())
        .arg(repo_root().join("tests/python/metrics_samples.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test venv's python (run scripts/test once to create .venv)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the exposition");
    let out = child.wait_with_output().expect("parser finished");
    assert!(
        out.status.success(),
        "the exposition does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parser output is JSON")
}

/// The claims of `jwt`, verified with the key its header names in `jwks`, against `issuer` and
/// `audience`. Panics when the key is not published or the token does not verify.
pub fn verify_jwt(jwks: &Value, jwt: &str, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).expect("a JWS header");
    let kid = header.kid.clone().expect("kid in header");
    let jwk = jwks["keys"]
        .as_array()
        .expect("a JWKS")
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("kid published in JWKS");
    let key =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).expect("a JWK"))
            .expect("a usable JWK");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("token verifies against the JWKS")
        .claims
}
