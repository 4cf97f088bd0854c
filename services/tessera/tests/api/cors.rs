//! Trusted origins (`/api/v1/trustedOrigins`) and CORS on the protocol endpoints: what a
//! single-page app's browser sees when it calls Tessera from its own origin.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, admin_with, causes, service_app, spawn};

const SPA: &str = "http://localhost:5173";

async fn trust(app: &TestApp, t: &Tenant, name: &str, origin: &str, scopes: &[&str]) -> Value {
    let scopes: Vec<Value> = scopes.iter().map(|s| json!({ "type": s })).collect();
    app.api(
        t,
        Method::POST,
        "/trustedOrigins",
        Some(json!({ "name": name, "origin": origin, "scopes": scopes })),
    )
    .await
    .expect(200)
}

async fn list(app: &TestApp, t: &Tenant, query: &str) -> Vec<Value> {
    app.api(t, Method::GET, &format!("/trustedOrigins{query}"), None)
        .await
        .expect(200)
        .as_array()
        .cloned()
        .unwrap()
}

#[actix_rt::test]
async fn the_trusted_origins_api_follows_okta() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;

    let created = trust(
        &app,
        &t,
        "SPA",
        "HTTP://LocalHost:5173/",
        &["CORS", "REDIRECT"],
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tos"), "{created}");
    assert_eq!(created["origin"], SPA, "stored as browsers send it");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(
        created["scopes"],
        json!([{"type": "CORS"}, {"type": "REDIRECT"}])
    );
    for field in ["created", "lastUpdated", "createdBy", "lastUpdatedBy"] {
        assert!(created[field].is_string(), "{field}: {created}");
    }
    let me = format!("{}/api/v1/trustedOrigins/{id}", t.org);
    assert_eq!(created["_links"]["self"]["href"], me);
    assert_eq!(
        created["_links"]["deactivate"]["href"],
        format!("{me}/lifecycle/deactivate")
    );

    // Bad input: one E0000001 naming every problem, and nothing stored.
    let bad = app
        .api(
            &t,
            Method::POST,
            "/trustedOrigins",
            Some(json!({
                "name": "",
                "origin": "https://app.example.com/path",
                "scopes": [{"type": "CORS"}, {"type": "SOMETHING"}],
            })),
        )
        .await
        .expect_error(400, "E0000001");
    let text = causes(&bad);
    assert!(
        text.contains("name: The field cannot be left blank"),
        "{text}"
    );
    assert!(
        text.contains("origin: The origin must be an origin only"),
        "{text}"
    );
    assert!(
        text.contains("'SOMETHING' is not a valid scope type"),
        "{text}"
    );
    for body in [
        json!({"name": "x", "origin": "javascript:alert(1)", "scopes": [{"type": "CORS"}]}),
        json!({"name": "x", "origin": "https://x.example", "scopes": []}),
        json!({"name": "x", "origin": "https://x.example"}),
        json!({"name": "x", "origin": "https://x.example", "scopes": [{"type": "CORS"}, {"type": "CORS"}]}),
        json!({"name": "x", "origin": "https://x.example", "scopes": [{"type": "CORS", "allowedOktaApps": ["OKTA_ENDUSER"]}]}),
        json!({"name": "x", "origin": "https://x.example", "scopes": [{"type": "IFRAME_EMBED", "allowedOktaApps": ["ANYTHING"]}]}),
    ] {
        app.api(&t, Method::POST, "/trustedOrigins", Some(body.clone()))
            .await
            .expect_error(400, "E0000001");
    }
    // The same origin (however it is spelled) or name again is a duplicate.
    let dup = app
        .api(
            &t,
            Method::POST,
            "/trustedOrigins",
            Some(json!({"name": "SPA", "origin": "http://localhost:5173", "scopes": [{"type": "CORS"}]})),
        )
        .await
        .expect_error(400, "E0000001");
    assert!(
        causes(&dup).contains("origin: An object with this field already exists"),
        "{dup}"
    );
    assert_eq!(
        list(&app, &t, "").await.len(),
        1,
        "refused writes changed nothing"
    );

    let framed = trust(
        &app,
        &t,
        "Portal",
        "https://portal.example.com",
        &["IFRAME_EMBED"],
    )
    .await;
    assert_eq!(
        framed["scopes"],
        json!([{"type": "IFRAME_EMBED", "allowedOktaApps": []}])
    );
    let fid = framed["id"].as_str().unwrap();

    // List: `q` prefix-matches name and origin; `filter` on name, origin, status and type.
    assert_eq!(list(&app, &t, "?q=Por").await.len(), 1);
    assert_eq!(list(&app, &t, "?q=http%3A%2F%2Flocal").await.len(), 1);
    let cors = list(&app, &t, "?filter=type%20eq%20%22CORS%22").await;
    assert_eq!(cors.len(), 1);
    assert_eq!(cors[0]["id"], id.as_str());
    assert_eq!(
        list(
            &app,
            &t,
            "?filter=name%20eq%20%22Portal%22%20and%20status%20eq%20%22ACTIVE%22"
        )
        .await
        .len(),
        1
    );
    app.api(
        &t,
        Method::GET,
        "/trustedOrigins?filter=secret%20eq%20%22x%22",
        None,
    )
    .await
    .expect_error(400, "E0000001");
    assert_eq!(list(&app, &t, "?limit=1").await.len(), 1);

    // Get, replace (with the body read back: read-only members are ignored), lifecycle, delete.
    let got = app
        .api(&t, Method::GET, &format!("/trustedOrigins/{id}"), None)
        .await
        .expect(200);
    assert_eq!(got, created);
    let mut put = got.clone();
    put["name"] = json!("SPA (dev)");
    put["scopes"] = json!([{"type": "CORS"}]);
    let replaced = app
        .api(&t, Method::PUT, &format!("/trustedOrigins/{id}"), Some(put))
        .await
        .expect(200);
    assert_eq!(replaced["name"], "SPA (dev)");
    assert_eq!(replaced["scopes"], json!([{"type": "CORS"}]));
    assert_eq!(replaced["created"], created["created"]);
    let off = app
        .api(
            &t,
            Method::POST,
            &format!("/trustedOrigins/{fid}/lifecycle/deactivate"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(off["status"], "INACTIVE");
    assert!(off["_links"]["activate"]["href"].is_string(), "{off}");
    assert_eq!(
        list(&app, &t, "?filter=status%20eq%20%22INACTIVE%22")
            .await
            .len(),
        1
    );
    app.api(
        &t,
        Method::POST,
        &format!("/trustedOrigins/{fid}/lifecycle/activate"),
        None,
    )
    .await
    .expect(200);
    app.api(&t, Method::DELETE, &format!("/trustedOrigins/{fid}"), None)
        .await
        .expect(204);
    app.api(&t, Method::GET, &format!("/trustedOrigins/{fid}"), None)
        .await
        .expect_error(404, "E0000007");

    // Permissions: a read-only admin reads them and changes nothing.
    let (_, read_only) = admin_with(&app, &t, "ro@example.com", "READ_ONLY_ADMIN").await;
    assert_eq!(list(&app, &read_only, "").await.len(), 1);
    app.api(
        &read_only,
        Method::POST,
        "/trustedOrigins",
        Some(json!({"name": "x", "origin": "https://x.example", "scopes": [{"type": "CORS"}]})),
    )
    .await
    .expect_error(403, "E0000006");
    app.api(
        &read_only,
        Method::DELETE,
        &format!("/trustedOrigins/{id}"),
        None,
    )
    .await
    .expect_error(403, "E0000006");

    // Every change is in the System Log, aimed at the origin (the query reads this replica's
    // events at once).
    let events = app
        .api(
            &t,
            Method::GET,
            "/logs?filter=eventType%20sw%20%22security.trusted_origin%22&limit=100",
            None,
        )
        .await
        .expect(200);
    let seen: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap().to_owned(),
                e["target"][0]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (kind, target) in [
        ("security.trusted_origin.create", id.as_str()),
        ("security.trusted_origin.create", fid),
        ("security.trusted_origin.update", id.as_str()),
        ("security.trusted_origin.deactivate", fid),
        ("security.trusted_origin.activate", fid),
        ("security.trusted_origin.delete", fid),
    ] {
        assert!(
            seen.iter().any(|(k, t)| k == kind && t == target),
            "{kind} on {target} missing from {seen:?}"
        );
    }
    assert_eq!(seen.len(), 6, "refused calls record nothing: {seen:?}");
    app.stop().await;
}

/// What a browser learns from one request: the status and the CORS headers.
struct Seen {
    status: u16,
    allow_origin: Option<String>,
    allow_headers: Option<String>,
    vary: Vec<String>,
}

async fn preflight(app: &TestApp, url: &str, origin: &str, method: &str) -> Seen {
    let res = app
        .client
        .request(Method::OPTIONS, url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header(
            "Access-Control-Request-Headers",
            "x-okta-user-agent-extended, content-type, authorization",
        )
        .send()
        .await
        .unwrap();
    seen(res)
}

async fn actual(
    app: &TestApp,
    url: &str,
    origin: &str,
    method: &str,
    form: &[(&str, &str)],
) -> Seen {
    let mut req = app
        .client
        .request(method.parse().unwrap(), url)
        .header("Origin", origin)
        .header("X-Okta-User-Agent-Extended", "okta-auth-js/8.0.0");
    if method == "POST" {
        req = req.form(form);
    }
    seen(req.send().await.unwrap())
}

fn seen(res: reqwest::Response) -> Seen {
    let h = res.headers();
    let one = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Seen {
        status: res.status().as_u16(),
        allow_origin: one("access-control-allow-origin"),
        allow_headers: one("access-control-allow-headers"),
        vary: h
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect(),
    }
}

#[actix_rt::test]
async fn the_protocol_endpoints_serve_trusted_origins_only() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let spa = trust(&app, &t, "SPA", SPA, &["CORS"]).await;
    trust(
        &app,
        &t,
        "Redirect only",
        "http://localhost:6000",
        &["REDIRECT"],
    )
    .await;
    let svc = app
        .api(&t, Method::POST, "/apps", Some(service_app("svc")))
        .await
        .expect(200);
    let (cid, secret) = (
        svc["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        svc["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let default = format!("{}/oauth2/default", t.org);
    let org = format!("{}/oauth2", t.org);
    let client = [
        ("client_id", cid.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let token_form = [("grant_type", "client_credentials"), ("scope", "profile")];
    // Every endpoint Okta serves cross-origin, with the method a browser uses on it.
    let endpoints: Vec<(String, &str)> = vec![
        (format!("{default}/.well-known/openid-configuration"), "GET"),
        (
            format!("{default}/.well-known/oauth-authorization-server"),
            "GET",
        ),
        (format!("{default}/v1/keys"), "GET"),
        (format!("{default}/v1/token"), "POST"),
        (format!("{default}/v1/revoke"), "POST"),
        (format!("{default}/v1/introspect"), "POST"),
        (format!("{default}/v1/userinfo"), "GET"),
        (format!("{default}/v1/logout"), "GET"),
        (format!("{}/.well-known/openid-configuration", t.org), "GET"),
        (
            format!("{}/.well-known/oauth-authorization-server", t.org),
            "GET",
        ),
        (format!("{org}/v1/keys"), "GET"),
        (format!("{org}/v1/token"), "POST"),
        (format!("{org}/v1/revoke"), "POST"),
        (format!("{org}/v1/introspect"), "POST"),
        (format!("{org}/v1/userinfo"), "GET"),
    ];
    for (url, method) in &endpoints {
        let ok = preflight(&app, url, SPA, method).await;
        assert_eq!(ok.status, 204, "preflight {url}");
        assert_eq!(ok.allow_origin.as_deref(), Some(SPA), "preflight {url}");
        let allowed = ok.allow_headers.unwrap_or_default().to_ascii_lowercase();
        for h in [
            "x-okta-user-agent-extended",
            "authorization",
            "content-type",
            "dpop",
        ] {
            assert!(allowed.contains(h), "{url} does not allow {h}: {allowed}");
        }
        assert!(ok.vary.iter().any(|v| v.contains("Origin")), "{url}");

        for stranger in ["https://evil.example", "http://localhost:6000", "null"] {
            let refused = preflight(&app, url, stranger, method).await;
            assert_eq!(refused.status, 403, "preflight {url} from {stranger}");
            assert_eq!(
                refused.allow_origin, None,
                "preflight {url} from {stranger}"
            );
        }

        let form: Vec<(&str, &str)> = if url.ends_with("/token") {
            token_form.iter().chain(client.iter()).copied().collect()
        } else {
            client
                .iter()
                .copied()
                .chain([("token", "not-a-token")])
                .collect()
        };
        let call = actual(&app, url, SPA, method, &form).await;
        assert_eq!(
            call.allow_origin.as_deref(),
            Some(SPA),
            "{method} {url} ({})",
            call.status
        );
        assert!(call.vary.iter().any(|v| v.contains("Origin")), "{url}");
        let stranger = actual(&app, url, "https://evil.example", method, &form).await;
        assert_eq!(stranger.allow_origin, None, "{method} {url}");
        assert_eq!(
            stranger.status, call.status,
            "the answer itself does not change: {url}"
        );
    }
    // A token request from the SPA's origin is answered in full, readable by the script.
    let res = app
        .client
        .post(format!("{default}/v1/token"))
        .header("Origin", SPA)
        .basic_auth(&cid, Some(&secret))
        .form(&token_form)
        .send()
        .await
        .unwrap();
    let token = seen(res);
    assert_eq!(
        (token.status, token.allow_origin.as_deref()),
        (200, Some(SPA))
    );

    // Other paths are not served cross-origin.
    let other = preflight(&app, &format!("{}/api/v1/apps", t.org), SPA, "GET").await;
    assert_eq!(other.allow_origin, None);

    // Deactivated, the origin is refused at once; activated again, served again.
    let id = spa["id"].as_str().unwrap();
    let keys = format!("{default}/v1/keys");
    app.api(
        &t,
        Method::POST,
        &format!("/trustedOrigins/{id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    let off = preflight(&app, &keys, SPA, "GET").await;
    assert_eq!((off.status, off.allow_origin), (403, None));
    assert_eq!(
        actual(&app, &keys, SPA, "GET", &[]).await.allow_origin,
        None
    );
    app.api(
        &t,
        Method::POST,
        &format!("/trustedOrigins/{id}/lifecycle/activate"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(preflight(&app, &keys, SPA, "GET").await.status, 204);

    // Another tenant's trusted origin means nothing here.
    let other_tenant = app.provision().await;
    trust(
        &app,
        &other_tenant,
        "Theirs",
        "https://theirs.example",
        &["CORS"],
    )
    .await;
    let theirs = preflight(&app, &keys, "https://theirs.example", "GET").await;
    assert_eq!((theirs.status, theirs.allow_origin), (403, None));
    app.stop().await;
}

/// okta-auth-js revokes with `Authorization: Basic base64(client_id)` for a public client: that
/// names the client and proves nothing, so it is accepted for `none` clients only.
#[actix_web::test]
async fn public_clients_name_themselves_in_basic_and_confidential_ones_cannot() {
    use base64::Engine as _;
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let spa = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(json!({
                "name": "oidc_client", "label": "spa", "signOnMode": "OPENID_CONNECT",
                "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
                "settings": {"oauthClient": {"application_type": "browser",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "redirect_uris": ["https://spa.example/cb"]}},
            })),
        )
        .await
        .expect(200);
    let svc = app
        .api(&t, Method::POST, "/apps", Some(service_app("svc")))
        .await
        .expect(200);
    let id = |a: &Value| {
        a["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let revoke = |basic: String| {
        app.client
            .post(format!("{}/oauth2/default/v1/revoke", t.org))
            .header("Authorization", format!("Basic {basic}"))
            .form(&[("token", "some-token")])
            .send()
    };
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    for basic in [b64(id(&spa)), b64(format!("{}:", id(&spa)))] {
        assert_eq!(revoke(basic).await.unwrap().status(), 200);
    }
    for basic in [b64(id(&svc)), b64(format!("{}:", id(&svc)))] {
        let res = revoke(basic).await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // A public client's refresh tokens rotate: STATIC is refused for it.
    let bad = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(json!({
                "name": "oidc_client", "label": "spa2", "signOnMode": "OPENID_CONNECT",
                "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
                "settings": {"oauthClient": {"application_type": "browser",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "redirect_uris": ["https://spa.example/cb"],
                    "refresh_token": {"rotation_type": "STATIC", "leeway": 0}}},
            })),
        )
        .await
        .expect_error(400, "E0000001");
    assert!(
        causes(&bad).contains("A public client must rotate refresh tokens"),
        "{bad}"
    );
    assert_eq!(
        spa["settings"]["oauthClient"]["refresh_token"]["rotation_type"],
        "ROTATE"
    );
    app.stop().await;
}
