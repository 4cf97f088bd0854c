//! Real clients from the Node ecosystem, installed in `tests/sdk` by `scripts/test`, drive a
//! real server: Okta's management SDK (`@okta/okta-sdk-nodejs`), `openid-client` and
//! `@okta/jwt-verifier`. The tests fail (never skip) when Node or the packages are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, service_app, spawn};

fn sdk_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk");
    assert!(
        dir.join("node_modules/@okta/okta-sdk-nodejs").exists(),
        "run `npm ci --prefix tests/sdk` first (scripts/test does)"
    );
    dir
}

/// Runs a Node script with `env`, asserting it passes every step it counted.
pub(crate) async fn run_node(script: &'static str, env: Vec<(&'static str, String)>, steps: usize) {
    let dir = sdk_dir();
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .current_dir(dir)
            .envs(env)
            .output()
    })
    .await
    .expect("join")
    .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{steps} passed, 0 failed")),
        "{stdout}"
    );
}

#[actix_web::test]
async fn okta_management_sdk_creates_and_reads_back_every_resource() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    run_node(
        "okta-sdk.test.mjs",
        vec![
            ("TESSERA_ORG_URL", t.org.clone()),
            ("TESSERA_API_TOKEN", t.token.clone()),
        ],
        19,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn okta_sdk_in_private_key_mode_manages_servers_with_an_org_server_token() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    run_node(
        "okta-sdk-private-key.test.mjs",
        vec![
            ("TESSERA_ORG_URL", t.org.clone()),
            ("TESSERA_API_TOKEN", t.token.clone()),
        ],
        9,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn openid_client_gets_introspects_and_revokes_a_token_that_okta_jwt_verifier_accepts() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports:read"})),
    )
    .await
    .expect(201);
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("node client")))
        .await
        .expect(200);
    let oauth = &created["credentials"]["oauthClient"];
    let env = vec![
        ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
        (
            "TESSERA_CLIENT_ID",
            oauth["client_id"].as_str().unwrap().to_owned(),
        ),
        (
            "TESSERA_CLIENT_SECRET",
            oauth["client_secret"].as_str().unwrap().to_owned(),
        ),
        ("TESSERA_SCOPE", "reports:read".to_owned()),
    ];
    run_node("oidc-clients.test.mjs", env, 7).await;
    app.stop().await;
}

#[actix_web::test]
async fn openid_client_runs_the_code_flow_with_pkce_and_refreshes() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "node web", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "redirect_uris": ["https://node.example/callback"]}}}))).await.expect(200);
    let u = app
        .api(
            &t,
            Method::POST,
            "/users",
            Some(crate::helpers::user("node@example.com")),
        )
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", web["id"].as_str().unwrap()),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    let oauth = &web["credentials"]["oauthClient"];
    let env = vec![
        ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
        (
            "TESSERA_CLIENT_ID",
            oauth["client_id"].as_str().unwrap().to_owned(),
        ),
        (
            "TESSERA_CLIENT_SECRET",
            oauth["client_secret"].as_str().unwrap().to_owned(),
        ),
        (
            "TESSERA_REDIRECT_URI",
            "https://node.example/callback".to_owned(),
        ),
        ("TESSERA_USERNAME", "node@example.com".to_owned()),
        ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
    ];
    run_node("oidc-code-flow.test.mjs", env, 4).await;
    app.stop().await;
}

/// Headless Chromium (Debian's `chromium`, installed by `scripts/test`) signs in on the hosted
/// page. The screenshot of the sign-in page goes to a temporary directory, or to
/// `docs/sign-in.png` (the README's picture) when `TESSERA_UPDATE_SCREENSHOT` is set.
#[actix_web::test]
async fn a_real_browser_signs_in_on_the_hosted_page() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    // The client: a loopback HTTP server the Node script starts on this free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let spa = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "Reports", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
        "settings": {"oauthClient": {"application_type": "browser", "grant_types": ["authorization_code"],
            "response_types": ["code"], "redirect_uris": [redirect_uri]}}}))).await.expect(200);
    let u = app
        .api(
            &t,
            Method::POST,
            "/users",
            Some(crate::helpers::user("ada@example.com")),
        )
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", spa["id"].as_str().unwrap()),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    let screenshot = if std::env::var_os("TESSERA_UPDATE_SCREENSHOT").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sign-in.png")
    } else {
        std::env::temp_dir().join(format!("tessera-sign-in-{}.png", std::process::id()))
    };
    let env = vec![
        ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
        (
            "TESSERA_CLIENT_ID",
            spa["credentials"]["oauthClient"]["client_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        ("TESSERA_REDIRECT_URI", redirect_uri),
        ("TESSERA_USERNAME", "ada@example.com".to_owned()),
        ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ("TESSERA_SCREENSHOT", screenshot.display().to_string()),
    ];
    run_node("browser-sign-in.test.mjs", env, 5).await;
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    app.stop().await;
}

/// A single-page app on `@okta/okta-auth-js` in headless Chromium, configured only through the
/// management API (app, user, assignment, policy rule, trusted origin): sign-in, the code
/// exchange across origins, userinfo, renewal with a refresh token and through the hidden
/// iframe, revocation, sign-out and a second sign-in (`tests/sdk/spa-okta-auth-js.test.mjs`).
///
/// The tenant is served on its own host (`base_domain`), as Okta orgs are: okta-auth-js takes
/// the issuer's origin to be everything before `/oauth2/`, and checks the hidden iframe's
/// message against it. The app runs at `app.{tenant}.localhost`, the same site as the tenant's
/// `{tenant}.localhost` on another port: the session cookie is `SameSite=Lax`, which a browser
/// sends to a same-site iframe only. Chromium resolves `*.localhost` to the loopback address;
/// the management calls here go to the path-based org URL on 127.0.0.1.
#[actix_web::test]
async fn an_okta_auth_js_spa_signs_in_renews_and_signs_out_in_a_real_browser() {
    let port = crate::helpers::free_port();
    let config = tessera_core::Config {
        listen: format!("127.0.0.1:{port}"),
        public_url: Some(format!("http://localhost:{port}")),
        base_domain: Some("localhost".into()),
        ..crate::helpers::config(Backend::Embedded).await
    };
    let app = crate::helpers::spawn_with(config).await;
    let hosted = app.provision().await;
    assert_eq!(
        hosted.org,
        format!("http://{}.localhost:{port}", hosted.name)
    );
    let t = crate::helpers::Tenant {
        org: format!("http://127.0.0.1:{port}/t/{}", hosted.name),
        ..hosted.clone()
    };
    let spa_origin = format!(
        "http://app.{}.localhost:{}",
        t.name,
        crate::helpers::free_port()
    );
    let spa = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(json!({
                "name": "oidc_client", "label": "Reports SPA", "signOnMode": "OPENID_CONNECT",
                "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
                "settings": {"oauthClient": {
                    "application_type": "browser",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [format!("{spa_origin}/login/callback")],
                    "post_logout_redirect_uris": [format!("{spa_origin}/logged-out")],
                    "refresh_token": {"rotation_type": "ROTATE", "leeway": 0},
                }},
            })),
        )
        .await
        .expect(200);
    let u = app
        .api(
            &t,
            Method::POST,
            "/users",
            Some(crate::helpers::user("ada@example.com")),
        )
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", spa["id"].as_str().unwrap()),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let policy = policies[0]["id"].as_str().unwrap();
    app.api(
        &t,
        Method::POST,
        &format!("/authorizationServers/default/policies/{policy}/rules"),
        Some(json!({
            "type": "RESOURCE_ACCESS", "name": "SPA sign-in", "priority": 1,
            "conditions": {
                "people": {"groups": {"include": ["EVERYONE"]}},
                "grantTypes": {"include": ["authorization_code"]},
                "scopes": {"include": ["*"]},
            },
            "actions": {"token": {
                "accessTokenLifetimeMinutes": 5,
                "refreshTokenLifetimeMinutes": 0,
                "refreshTokenWindowMinutes": 60,
            }},
        })),
    )
    .await
    .expect(201);
    app.api(
        &t,
        Method::POST,
        "/trustedOrigins",
        Some(json!({
            "name": "Reports SPA", "origin": spa_origin,
            "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}],
        })),
    )
    .await
    .expect(200);
    let shots = if std::env::var_os("TESSERA_UPDATE_SCREENSHOT").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
    } else {
        let dir = std::env::temp_dir().join(format!("tessera-spa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let env = vec![
        ("TESSERA_ISSUER", format!("{}/oauth2/default", hosted.org)),
        (
            "TESSERA_CLIENT_ID",
            spa["credentials"]["oauthClient"]["client_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        ("TESSERA_SPA_ORIGIN", spa_origin),
        ("TESSERA_USERNAME", "ada@example.com".to_owned()),
        ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ("TESSERA_SCREENSHOTS", shots.display().to_string()),
    ];
    run_node("spa-okta-auth-js.test.mjs", env, 9).await;
    for name in ["spa-sign-in.png", "spa-signed-in.png"] {
        let png = std::fs::read(shots.join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    }
    app.stop().await;
}

/// Okta's Python SDK (`okta` on PyPI, installed in `.venv` by `scripts/test`), in its default
/// API-token mode, reading every object back through its typed models.
#[actix_web::test]
async fn okta_python_sdk_manages_users_groups_apps_and_servers_through_its_typed_models() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let script = crate::helpers::repo_root().join("tests/sdk/okta_python_sdk.py");
    let (org, token) = (t.org.clone(), t.token.clone());
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new(crate::helpers::python())
            .arg(script)
            .env("TESSERA_ORG_URL", org)
            .env("TESSERA_API_TOKEN", token)
            .output()
    })
    .await
    .expect("join")
    .expect("the test tools' Python (.venv, made by scripts/test) must exist");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("7 passed, 0 failed"),
        "okta_python_sdk.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;
}
