//! The System Log (Okta's System Log API, <https://developer.okta.com/docs/reference/api/system-log/>) over HTTP: a scripted run of management changes, token
//! grants (one failing), a revocation and a refresh-token reuse, then `GET /api/v1/logs` with
//! `filter`, `q`, `limit` + `after`, `sortOrder`, `since`/`until`, its errors, and tenant
//! isolation. No token appears in any event.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, service_app, spawn, user};

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn post_form(app: &TestApp, url: &str, auth: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = app
        .client
        .post(url)
        .header("Authorization", auth)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn logs(app: &TestApp, t: &Tenant, query: &[(&str, &str)]) -> crate::helpers::Reply {
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    app.api(t, Method::GET, &format!("/logs?{qs}"), None).await
}

fn types(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect()
}

fn jti_of(jwt: &str) -> String {
    let payload = URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn system_log_records_a_scripted_run_and_filters_it() {
    let app = spawn(Backend::Shared).await;
    let t = app.provision().await;
    let other = app.provision().await;

    // Management changes.
    let svc = app
        .api(&t, Method::POST, "/apps", Some(service_app("billing")))
        .await
        .expect(200);
    let svc_id = svc["id"].as_str().unwrap().to_owned();
    let svc_secret = svc["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let native = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(
                json!({"name": "oidc_client", "label": "native", "signOnMode": "OPENID_CONNECT",
                "settings": {"oauthClient": {"application_type": "native",
                    "grant_types": ["password", "refresh_token", "authorization_code"],
                    "redirect_uris": ["com.example:/cb"], "response_types": ["code"],
                    "refresh_token": {"rotation_type": "ROTATE", "leeway": 0}}}}),
            ),
        )
        .await
        .expect(200);
    let native_id = native["id"].as_str().unwrap().to_owned();
    let u = app
        .api(&t, Method::POST, "/users", Some(user("ada@example.com")))
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{native_id}/users"),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);

    // Token grants: one issued, one refused.
    let token_url = format!("{}/oauth2/default/v1/token", t.org);
    let svc_auth = basic(&svc_id, &svc_secret);
    let (status, issued) = post_form(
        &app,
        &token_url,
        &svc_auth,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    let (status, refused) = post_form(
        &app,
        &token_url,
        &svc_auth,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "no.such.scope"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_scope");

    // A revocation.
    let (status, _) = post_form(
        &app,
        &format!("{}/oauth2/default/v1/revoke", t.org),
        &svc_auth,
        &[("token", &access_token)],
    )
    .await;
    assert_eq!(status, 200);

    // A refresh token used twice: the reuse is detected.
    let native_auth = basic(
        &native_id,
        native["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap_or_default(),
    );
    let form = vec![
        ("grant_type", "password".to_owned()),
        ("username", "ada@example.com".to_owned()),
        ("password", "Analytical1Engine".to_owned()),
        ("scope", "openid offline_access".to_owned()),
    ];
    let res = app
        .client
        .post(&token_url)
        .header("Authorization", &native_auth)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    for expected in [200, 400] {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.clone()),
        ];
        let res = app
            .client
            .post(&token_url)
            .header("Authorization", &native_auth)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }

    // The whole run is there, oldest first.
    let all = logs(&app, &t, &[("limit", "1000")]).await.expect(200);
    let all_types = types(&all);
    for wanted in [
        "app.oauth2.client.lifecycle.create",
        "user.lifecycle.create",
        "application.user_membership.add",
        "app.oauth2.as.token.grant",
        "app.oauth2.as.token.grant.access_token",
        "app.oauth2.as.token.grant.id_token",
        "app.oauth2.as.token.grant.refresh_token",
        "app.oauth2.as.token.revoke",
        "app.oauth2.as.token.detect_reuse",
    ] {
        assert!(
            all_types.iter().any(|t| t == wanted),
            "{wanted} missing from {all_types:?}"
        );
    }
    let published: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["published"].as_str().unwrap())
        .collect();
    let mut sorted = published.clone();
    sorted.sort_unstable();
    assert_eq!(published, sorted, "ascending by default");
    // No token is ever written into an event.
    let text = all.to_string();
    for secret in [&access_token, &refresh, &id_token, &svc_secret, &t.token] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret leaked into the System Log"
        );
    }

    // filter: the failed grant, with its reason.
    let failed = logs(
        &app,
        &t,
        &[(
            "filter",
            r#"eventType eq "app.oauth2.as.token.grant" and outcome.result eq "FAILURE""#,
        )],
    )
    .await
    .expect(200);
    let failed = failed.as_array().unwrap();
    assert_eq!(
        failed.len(),
        2,
        "the invalid scope and the reused refresh token"
    );
    let reasons: Vec<&str> = failed
        .iter()
        .map(|e| e["outcome"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["invalid_scope", "invalid_grant"]);
    assert_eq!(failed[0]["actor"]["id"], svc_id.as_str());
    assert_eq!(failed[0]["actor"]["displayName"], "billing");
    assert_eq!(failed[0]["severity"], "WARN");
    assert_eq!(
        failed[0]["debugContext"]["debugData"]["requestUri"],
        format!("/t/{}/oauth2/default/v1/token", t.name)
    );

    // The revocation names the token by its jti.
    let revoked = logs(
        &app,
        &t,
        &[("filter", r#"eventType eq "app.oauth2.as.token.revoke""#)],
    )
    .await
    .expect(200);
    assert_eq!(revoked.as_array().unwrap().len(), 1);
    let targets = revoked[0]["target"].as_array().unwrap();
    assert!(
        targets
            .iter()
            .any(|x| x["type"] == "access_token" && x["id"] == jti_of(&access_token).as_str()),
        "{revoked}"
    );

    // q: keywords, all of them, case-insensitively.
    let by_app = logs(&app, &t, &[("q", &format!("{svc_id} LIFECYCLE.create"))])
        .await
        .expect(200);
    assert_eq!(types(&by_app), ["app.oauth2.client.lifecycle.create"]);
    assert_eq!(by_app[0]["target"][0]["id"], svc_id.as_str());

    // limit + after: pages that do not overlap. Without `until` this is a poll (Okta's
    // contract): every page links to the next, an empty one included, so the client keeps
    // polling and later events reach it.
    let mut seen = Vec::new();
    let mut page = logs(&app, &t, &[("limit", "3")]).await;
    let poll_from = loop {
        let next = page
            .next_link()
            .expect("a poll always links to the next page");
        let body = page.expect(200);
        assert!(body.as_array().unwrap().len() <= 3);
        if body.as_array().unwrap().is_empty() {
            break next;
        }
        seen.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|e| e["uuid"].as_str().unwrap().to_owned()),
        );
        page = app.get_url(&t, &next).await;
    };
    let all_ids: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all_ids);
    let mut unique = all_ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), all_ids.len(), "every event has its own uuid");
    // Newest first, two at a time, through events stored together (a grant and its tokens).
    let mut backwards = Vec::new();
    let mut page = logs(&app, &t, &[("limit", "2"), ("sortOrder", "DESCENDING")]).await;
    loop {
        let next = page.next_link();
        let body = page.expect(200);
        backwards.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|e| e["uuid"].as_str().unwrap().to_owned()),
        );
        match next {
            Some(url) => page = app.get_url(&t, &url).await,
            None => break,
        }
    }
    backwards.reverse();
    assert_eq!(backwards, all_ids);

    // sortOrder=DESCENDING: newest first.
    let newest = logs(&app, &t, &[("sortOrder", "DESCENDING"), ("limit", "1")])
        .await
        .expect(200);
    assert_eq!(
        newest[0]["uuid"],
        all.as_array().unwrap().last().unwrap()["uuid"]
    );

    // The poll's last link delivers what happened after it was handed out, and links on.
    app.group(&t, "Polled").await;
    let polled = app.get_url(&t, &poll_from).await;
    assert!(polled.next_link().is_some());
    assert_eq!(types(&polled.expect(200)), ["group.lifecycle.create"]);

    // since / until.
    let future = logs(&app, &t, &[("since", "2999-01-01T00:00:00Z")])
        .await
        .expect(200);
    assert!(future.as_array().unwrap().is_empty());
    let past = logs(&app, &t, &[("until", "2000-01-01T00:00:00Z")])
        .await
        .expect(200);
    assert!(past.as_array().unwrap().is_empty());

    // Bad input is refused, naming the parameter.
    for bad in [
        [("filter", r#"eventType eq"#)],
        [("limit", "0")],
        [("since", "yesterday")],
        [("sortOrder", "SIDEWAYS")],
        [("after", "not-a-cursor")],
    ] {
        logs(&app, &t, &bad).await.expect_error(400, "E0000001");
    }

    // Another tenant sees none of it.
    let theirs = logs(&app, &other, &[("limit", "1000")]).await.expect(200);
    assert!(
        !theirs.to_string().contains(&svc_id),
        "tenant isolation: another tenant's log names this tenant's app"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_embedded_default_stores_events_too() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("on sqlite")))
        .await
        .expect(200);
    let id = created["id"].as_str().unwrap();
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    let events = logs(
        &app,
        &t,
        &[("filter", r#"target.id eq "ID""#.replace("ID", id).as_str())],
    )
    .await
    .expect(200);
    assert_eq!(
        types(&events),
        [
            "app.oauth2.client.lifecycle.create",
            "app.oauth2.client.lifecycle.deactivate"
        ]
    );
    assert_eq!(
        events[1]["actor"]["type"], "ApiToken",
        "the provisioning token acted"
    );
    app.stop().await;
}
