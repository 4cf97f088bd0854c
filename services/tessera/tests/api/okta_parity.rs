//! What Okta users do every day with the management API, as Okta answers it: search and filter
//! (users, groups, apps, assignments), each collection's own page sizes, the user password
//! lifecycle (expire, change, and the hosted page asking for a new password), service apps with
//! the grant types Okta accepts, and the System Log entries these leave.

use reqwest::Method;
use serde_json::{Value, json};

use crate::authorize::{Browser, authorize_url, location, query_param, setup};
use crate::helpers::{Backend, Tenant, TestApp, causes, spawn, web_app};

fn person(login: &str, first: &str, last: &str, extra: Value) -> Value {
    let mut profile =
        json!({ "login": login, "email": login, "firstName": first, "lastName": last });
    if let (Some(p), Some(e)) = (profile.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({ "profile": profile, "credentials": { "password": { "value": "Analytical1Engine" } } })
}

fn encoded(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn logins(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|u| u["profile"]["login"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn users(app: &TestApp, t: &Tenant, query: &[(&str, &str)]) -> Value {
    app.api(t, Method::GET, &format!("/users?{}", encoded(query)), None)
        .await
        .expect(200)
}

/// The events of `event_type`, waiting for the System Log writer (it stores in the background).
async fn events(app: &TestApp, t: &Tenant, event_type: &str) -> Vec<Value> {
    let filter = format!("eventType eq \"{event_type}\"");
    for _ in 0..50 {
        let found = app
            .api(
                t,
                Method::GET,
                &format!("/logs?{}", encoded(&[("filter", &filter)])),
                None,
            )
            .await
            .expect(200);
        if let Some(list) = found.as_array().filter(|l| !l.is_empty()) {
            return list.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {event_type} event was recorded");
}

#[actix_web::test]
async fn users_groups_and_apps_are_searched_filtered_and_paged_as_okta_does() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let mut ids = std::collections::HashMap::new();
    for (login, first, last, extra) in [
        (
            "ada@example.com",
            "Ada",
            "Lovelace",
            json!({ "costCenter": "R&D" }),
        ),
        (
            "grace@example.com",
            "Grace",
            "Hopper",
            json!({ "costCenter": "Navy" }),
        ),
        ("alan@example.com", "Alan", "Turing", json!({})),
    ] {
        let u = app
            .api(
                &t,
                Method::POST,
                "/users",
                Some(person(login, first, last, extra)),
            )
            .await
            .expect(200);
        ids.insert(login, u["id"].as_str().unwrap().to_owned());
    }
    // `search`: any attribute, custom ones included; operators and values in any case.
    let hopper = users(&app, &t, &[("search", r#"profile.lastName eq "hopper""#)]).await;
    assert_eq!(logins(&hopper), ["grace@example.com"]);
    let rd = users(&app, &t, &[("search", r#"profile.costCenter EQ "r&d""#)]).await;
    assert_eq!(logins(&rd), ["ada@example.com"]);
    let either = users(
        &app,
        &t,
        &[(
            "search",
            r#"(profile.lastName sw "Lo" or profile.lastName sw "tu") and status eq "ACTIVE""#,
        )],
    )
    .await;
    assert_eq!(logins(&either), ["ada@example.com", "alan@example.com"]);
    let present = users(&app, &t, &[("search", "profile.costCenter pr")]).await;
    assert_eq!(logins(&present), ["ada@example.com", "grace@example.com"]);
    let since = users(
        &app,
        &t,
        &[("search", r#"lastUpdated gt "2020-01-01T00:00:00Z""#)],
    )
    .await;
    assert_eq!(since.as_array().unwrap().len(), 3);
    let none = users(
        &app,
        &t,
        &[("search", r#"created lt "2020-01-01T00:00:00.000Z""#)],
    )
    .await;
    assert_eq!(none, json!([]));
    let by_id = users(
        &app,
        &t,
        &[("filter", &format!("id eq \"{}\"", ids["alan@example.com"]))],
    )
    .await;
    assert_eq!(logins(&by_id), ["alan@example.com"]);
    // `q`: a prefix of first name, last name, email or login.
    assert_eq!(
        logins(&users(&app, &t, &[("q", "hop")]).await),
        ["grace@example.com"]
    );
    assert_eq!(
        logins(&users(&app, &t, &[("q", "ALAN")]).await),
        ["alan@example.com"]
    );
    // A search pages with `after` like any list: every match once.
    let first = app
        .api(
            &t,
            Method::GET,
            &format!(
                "/users?{}",
                encoded(&[("search", r#"status eq "ACTIVE""#), ("limit", "2")])
            ),
            None,
        )
        .await;
    let next = first.next_link().expect("a next page");
    let mut seen = logins(&first.expect(200));
    let second = app.get_url(&t, &next).await;
    assert!(second.next_link().is_none());
    seen.extend(logins(&second.expect(200)));
    seen.sort();
    assert_eq!(
        seen,
        ["ada@example.com", "alan@example.com", "grace@example.com"]
    );
    // Bad expressions are refused before anything is read, and say why.
    for bad in [
        r#"profile.lastName eq"#,
        r#"profile.lastName xx "a""#,
        &"(".repeat(20),
    ] {
        let refused = app
            .api(
                &t,
                Method::GET,
                &format!("/users?{}", encoded(&[("search", bad)])),
                None,
            )
            .await
            .expect_error(400, "E0000001");
        assert!(
            causes(&refused).contains("Invalid search criteria"),
            "{refused}"
        );
    }

    // Groups: `search` and `filter` over the group as rendered, `q` a name prefix.
    let eng = app.group(&t, "Engineering").await;
    let ops = app.group(&t, "Operations").await;
    let eng_id = eng["id"].as_str().unwrap();
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|g| g["profile"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let groups = |query: Vec<(&'static str, String)>| {
        let app = &app;
        let t = &t;
        async move {
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.api(
                t,
                Method::GET,
                &format!("/groups?{}", encoded(&pairs)),
                None,
            )
            .await
            .expect(200)
        }
    };
    let found = groups(vec![("search", r#"profile.name sw "eng""#.into())]).await;
    assert_eq!(names(&found), ["Engineering"]);
    let built_in = groups(vec![("filter", r#"type eq "BUILT_IN""#.into())]).await;
    assert_eq!(names(&built_in), ["Everyone"]);
    let okta_groups = groups(vec![(
        "search",
        r#"type eq "OKTA_GROUP" and lastUpdated gt "2020-01-01T00:00:00Z""#.into(),
    )])
    .await;
    assert_eq!(names(&okta_groups), ["Engineering", "Operations"]);
    assert_eq!(
        names(&groups(vec![("q", "Oper".into())]).await),
        ["Operations"]
    );

    // Apps: `filter` on user.id and group.id; `q` on an app's users and groups; a group's apps.
    let portal = app
        .api(&t, Method::POST, "/apps", Some(web_app("portal")))
        .await
        .expect(200);
    let other = app
        .api(&t, Method::POST, "/apps", Some(web_app("reports")))
        .await
        .expect(200);
    let portal_id = portal["id"].as_str().unwrap();
    for login in ["ada@example.com", "grace@example.com"] {
        app.api(
            &t,
            Method::POST,
            &format!("/apps/{portal_id}/users"),
            Some(json!({ "id": ids[login] })),
        )
        .await
        .expect(200);
    }
    for g in [&eng, &ops] {
        let gid = g["id"].as_str().unwrap();
        app.api(
            &t,
            Method::PUT,
            &format!("/apps/{portal_id}/groups/{gid}"),
            Some(json!({})),
        )
        .await
        .expect(200);
    }
    let other_id = other["id"].as_str().unwrap();
    app.api(
        &t,
        Method::PUT,
        &format!("/apps/{other_id}/groups/{eng_id}"),
        Some(json!({})),
    )
    .await
    .expect(200);
    let labels = |list: &Value| -> Vec<String> {
        let mut out: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["label"].as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    };
    let of_grace = app
        .api(
            &t,
            Method::GET,
            &format!(
                "/apps?{}",
                encoded(&[(
                    "filter",
                    &format!("user.id eq \"{}\"", ids["grace@example.com"])
                )])
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(labels(&of_grace), ["portal"]);
    let of_eng = app
        .api(
            &t,
            Method::GET,
            &format!(
                "/apps?{}",
                encoded(&[(
                    "filter",
                    &format!("group.id eq \"{eng_id}\" and status eq \"ACTIVE\"")
                )])
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(labels(&of_eng), ["portal", "reports"]);
    app.api(
        &t,
        Method::GET,
        &format!("/apps?{}", encoded(&[("filter", r#"label co "x""#)])),
        None,
    )
    .await
    .expect_error(400, "E0000001");
    let group_apps = app
        .api(&t, Method::GET, &format!("/groups/{eng_id}/apps"), None)
        .await
        .expect(200);
    assert_eq!(labels(&group_apps), ["portal", "reports"]);
    let assigned = app
        .api(
            &t,
            Method::GET,
            &format!("/apps/{portal_id}/users?q=hop"),
            None,
        )
        .await
        .expect(200);
    let assigned_ids: Vec<&str> = assigned
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(assigned_ids, [ids["grace@example.com"].as_str()]);
    let assigned_groups = app
        .api(
            &t,
            Method::GET,
            &format!("/apps/{portal_id}/groups?q=Ops"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(assigned_groups, json!([]));
    let assigned_groups = app
        .api(
            &t,
            Method::GET,
            &format!("/apps/{portal_id}/groups?q=Oper"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(assigned_groups.as_array().unwrap().len(), 1);
    assert_eq!(assigned_groups[0]["id"], ops["id"]);

    // Each collection's own page size: Okta's maxima are served, -1 is "all" on /apps, and
    // values that are not positive integers are refused.
    for path in [
        "/groups?limit=10000",
        "/groups?limit=20000",
        "/apps?limit=-1",
        &format!("/apps/{portal_id}/users?limit=500"),
        &format!("/groups/{eng_id}/users?limit=1000"),
        "/users?limit=1000",
    ] {
        app.api(&t, Method::GET, path, None).await.expect(200);
    }
    for path in ["/groups?limit=0", "/users?limit=abc", "/apps?limit=-2"] {
        app.api(&t, Method::GET, path, None)
            .await
            .expect_error(400, "E0000001");
    }
    let one = app.api(&t, Method::GET, "/groups?limit=1", None).await;
    assert!(one.next_link().is_some());
    assert_eq!(one.expect(200).as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn passwords_expire_and_change_as_okta_and_the_hosted_page_asks_for_a_new_one() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let t = &s.t;
    let uid = &s.uid;
    // change_password: the old password must be right and the new one meet the policy.
    let change = |old: &str, new: &str| json!({ "oldPassword": { "value": old }, "newPassword": { "value": new } });
    let path = format!("/users/{uid}/credentials/change_password");
    let wrong = app
        .api(
            t,
            Method::POST,
            &path,
            Some(change("Wrong1Password", "Babbage2Engine")),
        )
        .await
        .expect_error(403, "E0000014");
    assert!(causes(&wrong).contains("oldPassword"), "{wrong}");
    let weak = app
        .api(
            t,
            Method::POST,
            &path,
            Some(change("Analytical1Engine", "short")),
        )
        .await
        .expect_error(403, "E0000014");
    assert!(
        causes(&weak).contains("Password requirements were not met"),
        "{weak}"
    );
    let creds = app
        .api(
            t,
            Method::POST,
            &path,
            Some(change("Analytical1Engine", "Babbage2Engine")),
        )
        .await
        .expect(200);
    assert_eq!(creds["provider"]["type"], "OKTA");
    assert!(creds["password"].is_object(), "{creds}");
    // The old password no longer works; the new one does.
    app.api(
        t,
        Method::POST,
        &path,
        Some(change("Analytical1Engine", "Difference3Engine")),
    )
    .await
    .expect_error(403, "E0000014");

    // expire_password: PASSWORD_EXPIRED until a new password is chosen.
    let expired = app
        .api(
            t,
            Method::POST,
            &format!("/users/{uid}/lifecycle/expire_password"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(expired["status"], "PASSWORD_EXPIRED");
    assert_eq!(expired["id"], uid.as_str());
    let url = authorize_url(
        t,
        &s.web_id,
        "https://portal.example/callback",
        &[("scope", "openid"), ("state", "s1")],
    );
    // The hosted page: the right password alone leads to a form asking for a new one.
    let mut browser = Browser::new(&app);
    let asked = browser
        .sign_in_through(&url, "flow@example.com", "Babbage2Engine")
        .await;
    assert_eq!(asked.status(), 200);
    let html = asked.text().await.unwrap();
    assert!(
        html.contains("Your password has expired") && html.contains("name=\"new_password\""),
        "{html}"
    );
    // A wrong current password is still just a failed sign-in.
    let mut browser = Browser::new(&app);
    let failed = browser
        .sign_in_posting(
            &url,
            "flow@example.com",
            "Wrong1Password",
            &[("new_password", "Charles4Babbage")],
        )
        .await;
    assert_eq!(failed.status(), 401);
    // A new password that fails the policy is refused, saying why; nothing changes.
    let mut browser = Browser::new(&app);
    let refused = browser
        .sign_in_posting(
            &url,
            "flow@example.com",
            "Babbage2Engine",
            &[("new_password", "weak")],
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Password requirements were not met")
    );
    let still = app
        .api(t, Method::GET, &format!("/users/{uid}"), None)
        .await
        .expect(200);
    assert_eq!(still["status"], "PASSWORD_EXPIRED");
    // A good one: the user is ACTIVE again and the flow goes on to the app with a code.
    let mut browser = Browser::new(&app);
    let done = browser
        .sign_in_posting(
            &url,
            "flow@example.com",
            "Babbage2Engine",
            &[("new_password", "Charles4Babbage")],
        )
        .await;
    let back = location(&done);
    assert!(
        back.starts_with("https://portal.example/callback"),
        "{back}"
    );
    assert!(query_param(&back, "code").is_some(), "{back}");
    let active = app
        .api(t, Method::GET, &format!("/users/{uid}"), None)
        .await
        .expect(200);
    assert_eq!(active["status"], "ACTIVE");
    assert!(active["passwordChanged"].is_string());
    // Unlocking a user who is not locked is Okta's E0000032.
    app.api(
        t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/unlock"),
        None,
    )
    .await
    .expect_error(403, "E0000032");
    // The System Log has each step.
    for event_type in [
        "user.account.update_password",
        "user.account.expire_password",
    ] {
        let found = events(&app, t, event_type).await;
        assert!(
            found.iter().any(|e| e["target"][0]["id"] == uid.as_str()),
            "{event_type}: {found:?}"
        );
    }
}

#[actix_web::test]
async fn okta_service_apps_are_accepted_and_the_system_log_names_users_and_denials() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let t = &s.t;
    // Okta's SDK test utilities: a service app with implicit and authorization_code too.
    let combined = app
        .api(t, Method::POST, "/apps", Some(json!({
            "name": "oidc_client", "label": "combined", "signOnMode": "OPENID_CONNECT",
            "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
            "settings": { "oauthClient": {
                "application_type": "service",
                "grant_types": ["implicit", "authorization_code", "client_credentials"],
                "response_types": ["token", "id_token", "code"],
                "redirect_uris": ["https://svc.example/cb"],
            } },
        })))
        .await
        .expect(200);
    assert_eq!(
        combined["settings"]["oauthClient"]["application_type"],
        "service"
    );
    // Okta still refuses a grant no service app may use.
    app.api(t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "pw", "signOnMode": "OPENID_CONNECT",
        "settings": { "oauthClient": { "application_type": "service", "grant_types": ["password"] } },
    })))
    .await
    .expect_error(400, "E0000001");

    // user.lifecycle.create names its target as Okta does.
    let created = app
        .api(
            t,
            Method::POST,
            "/users",
            Some(person("emmy@example.com", "Emmy", "Noether", json!({}))),
        )
        .await
        .expect(200);
    let found = events(&app, t, "user.lifecycle.create").await;
    let event = found
        .iter()
        .find(|e| e["target"][0]["id"] == created["id"])
        .expect("the creation event");
    assert_eq!(event["target"][0]["alternateId"], "emmy@example.com");
    assert_eq!(event["target"][0]["displayName"], "Emmy Noether");

    // A signed-in user who is not assigned to the app: access_denied, and a FAILURE event.
    let unassigned = app
        .api(t, Method::POST, "/apps", Some(json!({
            "name": "oidc_client", "label": "closed", "signOnMode": "OPENID_CONNECT",
            "settings": { "oauthClient": { "application_type": "web", "grant_types": ["authorization_code"],
                "response_types": ["code"], "redirect_uris": ["https://closed.example/cb"] } },
        })))
        .await
        .expect(200);
    let url = authorize_url(
        t,
        unassigned["id"].as_str().unwrap(),
        "https://closed.example/cb",
        &[("scope", "openid"), ("state", "s1")],
    );
    let mut browser = Browser::new(&app);
    let denied = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    assert_eq!(
        query_param(&location(&denied), "error").as_deref(),
        Some("access_denied")
    );
    let found = events(&app, t, "app.oauth2.as.authorize").await;
    let failure = found
        .iter()
        .find(|e| e["outcome"]["result"] == "FAILURE")
        .unwrap_or_else(|| panic!("a FAILURE authorize event: {found:?}"));
    assert_eq!(failure["actor"]["id"], s.uid.as_str());
    assert!(
        failure["outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains("not assigned"),
        "{failure}"
    );
}

#[actix_web::test]
async fn authorization_servers_trust_other_servers_of_their_tenant_as_okta_associates_them() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let other_tenant = app.provision().await;
    let mut ids = Vec::new();
    for name in ["gateway", "billing", "reports"] {
        let s = app
            .api(
                &t,
                Method::POST,
                "/authorizationServers",
                Some(json!({
                    "name": name, "description": name, "audiences": [format!("api://{name}")],
                })),
            )
            .await
            .expect(201);
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    let foreign = app
        .api(
            &other_tenant,
            Method::POST,
            "/authorizationServers",
            Some(json!({
                "name": "elsewhere", "description": "x", "audiences": ["api://elsewhere"],
            })),
        )
        .await
        .expect(201);
    let base = format!("/authorizationServers/{}/associatedServers", ids[0]);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap_or_else(|| panic!("a list: {list}"))
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        app.api(&t, Method::GET, &base, None).await.expect(200),
        json!([])
    );
    // Refused, and nothing added: itself, another tenant's server, an unknown one.
    for trusted in [&ids[0], foreign["id"].as_str().unwrap(), "ausUnknown"] {
        let refused = app
            .api(
                &t,
                Method::POST,
                &base,
                Some(json!({ "trusted": [ids[1], trusted] })),
            )
            .await;
        assert!(
            matches!(refused.status.as_u16(), 400 | 404),
            "{trusted}: {}",
            refused.body
        );
    }
    assert_eq!(
        app.api(&t, Method::GET, &base, None).await.expect(200),
        json!([])
    );
    let added = app
        .api(
            &t,
            Method::POST,
            &base,
            Some(json!({ "trusted": [ids[1], ids[1]] })),
        )
        .await
        .expect(200);
    assert_eq!(names(&added), ["billing"]);
    // Adding again changes nothing.
    app.api(
        &t,
        Method::POST,
        &base,
        Some(json!({ "trusted": [ids[1]] })),
    )
    .await
    .expect(200);
    let trusted = app
        .api(&t, Method::GET, &format!("{base}?trusted=true"), None)
        .await
        .expect(200);
    assert_eq!(names(&trusted), ["billing"]);
    assert!(trusted[0]["issuer"].as_str().unwrap().ends_with(&ids[1]));
    let untrusted = app
        .api(&t, Method::GET, &format!("{base}?trusted=false"), None)
        .await
        .expect(200);
    assert_eq!(names(&untrusted), ["default", "reports"]);
    app.api(&t, Method::GET, &format!("{base}?trusted=maybe"), None)
        .await
        .expect_error(400, "E0000001");
    // The association is one-way.
    let reverse = format!("/authorizationServers/{}/associatedServers", ids[1]);
    assert_eq!(
        app.api(&t, Method::GET, &reverse, None).await.expect(200),
        json!([])
    );
    // Delete: 204, then 404.
    app.api(&t, Method::DELETE, &format!("{base}/{}", ids[1]), None)
        .await
        .expect(204);
    app.api(&t, Method::DELETE, &format!("{base}/{}", ids[1]), None)
        .await
        .expect_error(404, "E0000007");
    assert_eq!(
        app.api(&t, Method::GET, &base, None).await.expect(200),
        json!([])
    );
    // Another tenant cannot see or change them.
    app.api(&other_tenant, Method::GET, &base, None)
        .await
        .expect_error(404, "E0000007");
}

/// Secrets as Okta shows them by default; with `client_secrets = "hashed"`, once.
#[actix_web::test]
async fn client_secrets_are_shown_as_okta_shows_them_or_once_when_the_operator_says_hashed() {
    for mode in [
        tessera_core::config::ClientSecrets::Sealed,
        tessera_core::config::ClientSecrets::Hashed,
    ] {
        let mut cfg = crate::helpers::config(Backend::Embedded).await;
        cfg.client_secrets = mode;
        let app = crate::helpers::spawn_with(cfg).await;
        let t = app.provision().await;
        let shown = mode == tessera_core::config::ClientSecrets::Sealed;
        let created = app
            .api(
                &t,
                Method::POST,
                "/apps",
                Some(crate::helpers::service_app("billing")),
            )
            .await
            .expect(200);
        let id = created["id"].as_str().unwrap();
        let secret = created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .expect("the create response always shows the secret")
            .to_owned();
        let read = app
            .api(&t, Method::GET, &format!("/apps/{id}"), None)
            .await
            .expect(200);
        let listed = app.api(&t, Method::GET, "/apps", None).await.expect(200);
        let secrets = app
            .api(
                &t,
                Method::GET,
                &format!("/apps/{id}/credentials/secrets"),
                None,
            )
            .await
            .expect(200);
        if shown {
            assert_eq!(
                read["credentials"]["oauthClient"]["client_secret"],
                secret.as_str()
            );
            assert_eq!(
                listed[0]["credentials"]["oauthClient"]["client_secret"],
                secret.as_str()
            );
            assert_eq!(secrets[0]["client_secret"], secret.as_str());
        } else {
            assert!(
                read["credentials"]["oauthClient"]
                    .get("client_secret")
                    .is_none(),
                "{read}"
            );
            assert!(
                listed[0]["credentials"]["oauthClient"]
                    .get("client_secret")
                    .is_none()
            );
            assert!(secrets[0].get("client_secret").is_none(), "{secrets}");
        }
        // A second secret: shown when made; afterwards, as the mode says. The app shows the
        // newest active one.
        let second = app
            .api(
                &t,
                Method::POST,
                &format!("/apps/{id}/credentials/secrets"),
                Some(json!({})),
            )
            .await
            .expect(201);
        let second_secret = second["client_secret"].as_str().unwrap().to_owned();
        let read = app
            .api(&t, Method::GET, &format!("/apps/{id}"), None)
            .await
            .expect(200);
        if shown {
            assert_eq!(
                read["credentials"]["oauthClient"]["client_secret"],
                second_secret.as_str()
            );
        }
        let sid = second["id"].as_str().unwrap();
        let one = app
            .api(
                &t,
                Method::GET,
                &format!("/apps/{id}/credentials/secrets/{sid}"),
                None,
            )
            .await
            .expect(200);
        assert_eq!(one.get("client_secret").is_some(), shown, "{one}");
        // Either way both secrets authenticate the client.
        for s in [&secret, &second_secret] {
            let res = app
                .client
                .post(format!("{}/oauth2/default/v1/token", t.org))
                .basic_auth(id, Some(s))
                .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status().as_u16(),
                200,
                "{mode:?}: {}",
                res.text().await.unwrap()
            );
        }
        app.stop().await;
    }
}

/// A new user, made a member of the group `gid`; their id.
async fn member_of(app: &TestApp, t: &Tenant, login: &str, gid: &str) -> String {
    let u = app.user(t, login).await;
    let uid = u["id"].as_str().unwrap().to_owned();
    app.api(t, Method::PUT, &format!("/groups/{gid}/users/{uid}"), None)
        .await
        .expect(204);
    uid
}

/// Okta's role targets and its help desk and report admins: a user admin narrowed to a group
/// manages that group's users only, an app admin narrowed to an app manages that app only.
#[actix_web::test]
async fn role_targets_narrow_admins_to_their_groups_and_apps() {
    use crate::helpers::{admin_with, user};
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let eng = app.group(&t, "Engineering").await;
    let ops = app.group(&t, "Operations").await;
    let (eng_id, ops_id) = (eng["id"].as_str().unwrap(), ops["id"].as_str().unwrap());
    let alice = member_of(&app, &t, "alice@example.com", eng_id).await;
    let bob = member_of(&app, &t, "bob@example.com", ops_id).await;
    let role_of = |uid: String| {
        let (app, t) = (&app, &t);
        async move {
            let roles = app
                .api(t, Method::GET, &format!("/users/{uid}/roles"), None)
                .await
                .expect(200);
            roles[0]["id"].as_str().unwrap().to_owned()
        }
    };

    // A user admin narrowed to Engineering.
    let (uadmin, as_uadmin) = admin_with(&app, &t, "uadmin@example.com", "USER_ADMIN").await;
    let rid = role_of(uadmin.clone()).await;
    let targets = format!("/users/{uadmin}/roles/{rid}/targets");
    // Before any target the role reaches everyone.
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{bob}/lifecycle/suspend"),
        None,
    )
    .await
    .expect(200);
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{bob}/lifecycle/unsuspend"),
        None,
    )
    .await
    .expect(200);
    app.api(&t, Method::PUT, &format!("{targets}/groups/{eng_id}"), None)
        .await
        .expect(204);
    // Again: idempotent.
    app.api(&t, Method::PUT, &format!("{targets}/groups/{eng_id}"), None)
        .await
        .expect(204);
    let listed = app
        .api(&t, Method::GET, &format!("{targets}/groups"), None)
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], eng_id);
    // Now: Alice (in Engineering) yes, Bob (in Operations) no.
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{alice}/lifecycle/suspend"),
        None,
    )
    .await
    .expect(200);
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{bob}/lifecycle/suspend"),
        None,
    )
    .await
    .expect_error(403, "E0000006");
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{bob}"),
        Some(user("bob@example.com")),
    )
    .await
    .expect_error(403, "E0000006");
    // Memberships: of Engineering, whoever is added; of Operations, nobody.
    app.api(
        &as_uadmin,
        Method::PUT,
        &format!("/groups/{eng_id}/users/{bob}"),
        None,
    )
    .await
    .expect(204);
    app.api(
        &as_uadmin,
        Method::PUT,
        &format!("/groups/{ops_id}/users/{alice}"),
        None,
    )
    .await
    .expect_error(403, "E0000006");
    // Groups: Engineering may be renamed by them, Operations not.
    app.api(
        &as_uadmin,
        Method::PUT,
        &format!("/groups/{ops_id}"),
        Some(json!({"profile": {"name": "Ops"}})),
    )
    .await
    .expect_error(403, "E0000006");
    // The last target stays; a group target on a role that takes app targets is refused.
    app.api(
        &t,
        Method::DELETE,
        &format!("{targets}/groups/{eng_id}"),
        None,
    )
    .await
    .expect_error(400, "E0000001");
    app.api(
        &t,
        Method::PUT,
        &format!("{targets}/catalog/apps/oidc_client"),
        None,
    )
    .await
    .expect_error(400, "E0000001");
    app.api(&t, Method::PUT, &format!("{targets}/groups/{ops_id}"), None)
        .await
        .expect(204);
    app.api(
        &t,
        Method::DELETE,
        &format!("{targets}/groups/{eng_id}"),
        None,
    )
    .await
    .expect(204);
    // Now narrowed to Operations: Bob, yes.
    app.api(
        &as_uadmin,
        Method::POST,
        &format!("/users/{bob}/lifecycle/suspend"),
        None,
    )
    .await
    .expect(200);
    // Only a super admin manages targets.
    app.api(
        &as_uadmin,
        Method::PUT,
        &format!("{targets}/groups/{eng_id}"),
        None,
    )
    .await
    .expect_error(403, "E0000006");

    // An app admin narrowed to one app instance.
    let portal = app
        .api(&t, Method::POST, "/apps", Some(web_app("portal")))
        .await
        .expect(200);
    let reports = app
        .api(&t, Method::POST, "/apps", Some(web_app("reports")))
        .await
        .expect(200);
    let (portal_id, reports_id) = (
        portal["id"].as_str().unwrap(),
        reports["id"].as_str().unwrap(),
    );
    let (aadmin, as_aadmin) = admin_with(&app, &t, "aadmin@example.com", "APP_ADMIN").await;
    let arid = role_of(aadmin.clone()).await;
    let atargets = format!("/users/{aadmin}/roles/{arid}/targets");
    app.api(
        &t,
        Method::PUT,
        &format!("{atargets}/groups/{eng_id}"),
        None,
    )
    .await
    .expect_error(400, "E0000001");
    app.api(
        &t,
        Method::PUT,
        &format!("{atargets}/catalog/apps/saml_thing"),
        None,
    )
    .await
    .expect_error(404, "E0000007");
    app.api(
        &t,
        Method::PUT,
        &format!("{atargets}/catalog/apps/oidc_client/{portal_id}"),
        None,
    )
    .await
    .expect(204);
    let apps = app
        .api(&t, Method::GET, &format!("{atargets}/catalog/apps"), None)
        .await
        .expect(200);
    assert_eq!(apps[0]["name"], "oidc_client");
    assert_eq!(apps[0]["id"], portal_id);
    let mut renamed = web_app("portal v2");
    renamed["settings"]["oauthClient"]["application_type"] = json!("web");
    app.api(
        &as_aadmin,
        Method::PUT,
        &format!("/apps/{portal_id}"),
        Some(renamed.clone()),
    )
    .await
    .expect(200);
    app.api(
        &as_aadmin,
        Method::PUT,
        &format!("/apps/{reports_id}"),
        Some(renamed),
    )
    .await
    .expect_error(403, "E0000006");
    app.api(
        &as_aadmin,
        Method::POST,
        &format!("/apps/{reports_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect_error(403, "E0000006");
    // Every OIDC app, by catalog name.
    app.api(
        &t,
        Method::PUT,
        &format!("{atargets}/catalog/apps/oidc_client"),
        None,
    )
    .await
    .expect(204);
    app.api(
        &as_aadmin,
        Method::POST,
        &format!("/apps/{reports_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);

    // A help desk admin: reads users, resets passwords and unlocks; changes nothing else.
    let carol = app.user(&t, "carol@example.com").await;
    let carol = carol["id"].as_str().unwrap();
    let (_, as_help) = admin_with(&app, &t, "help@example.com", "HELP_DESK_ADMIN").await;
    app.api(&as_help, Method::GET, "/users", None)
        .await
        .expect(200);
    app.api(
        &as_help,
        Method::POST,
        &format!("/users/{carol}/lifecycle/expire_password"),
        None,
    )
    .await
    .expect(200);
    app.api(
        &as_help,
        Method::POST,
        &format!("/users/{carol}/lifecycle/unlock"),
        None,
    )
    .await
    .expect_error(403, "E0000032");
    app.api(
        &as_help,
        Method::POST,
        &format!("/users/{carol}"),
        Some(user("carol@example.com")),
    )
    .await
    .expect_error(403, "E0000006");
    app.api(
        &as_help,
        Method::POST,
        &format!("/users/{carol}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect_error(403, "E0000006");
    // A report admin reads the System Log and nothing else.
    let (_, as_report) = admin_with(&app, &t, "report@example.com", "REPORT_ADMIN").await;
    app.api(&as_report, Method::GET, "/logs", None)
        .await
        .expect(200);
    app.api(&as_report, Method::GET, "/users", None)
        .await
        .expect_error(403, "E0000006");
}
