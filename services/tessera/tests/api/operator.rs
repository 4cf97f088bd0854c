use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, causes, spawn};

#[actix_web::test]
async fn provision_when_valid_then_tenant_has_okta_defaults() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    assert_eq!(t.org, format!("{}/t/{}", app.base, t.name));
    assert!(t.token.len() >= 40);

    let server = app
        .api(&t, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200);
    assert_eq!(server["audiences"], json!(["api://default"]));
    assert_eq!(server["issuer"], format!("{}/oauth2/default", t.org));
    assert_eq!(server["status"], "ACTIVE");
    assert!(server["id"].as_str().unwrap().starts_with("aus"));

    let scopes = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/scopes",
            None,
        )
        .await
        .expect(200);
    let names: Vec<_> = scopes
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    for reserved in [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
        "groups",
        "device_sso",
    ] {
        assert!(
            names.contains(&reserved.to_owned()),
            "{reserved} missing from {names:?}"
        );
    }
    assert!(
        scopes
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["system"] == true)
    );

    let claims = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/claims",
            None,
        )
        .await
        .expect(200);
    let sub = claims
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sub")
        .expect("sub claim");
    assert_eq!(sub["system"], true);
    assert_eq!(sub["claimType"], "RESOURCE");

    let policies = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let policy = &policies[0];
    assert_eq!(policy["name"], "Default Policy");
    assert_eq!(
        policy["conditions"]["clients"]["include"],
        json!(["ALL_CLIENTS"])
    );
    let rules_path = format!(
        "/authorizationServers/default/policies/{}/rules",
        policy["id"].as_str().unwrap()
    );
    let rules = app
        .api(&t, Method::GET, &rules_path, None)
        .await
        .expect(200);
    let rule = &rules[0];
    assert_eq!(rule["name"], "Default Policy Rule");
    assert_eq!(
        rule["conditions"]["people"]["groups"]["include"],
        json!(["EVERYONE"])
    );
    assert_eq!(rule["conditions"]["scopes"]["include"], json!(["*"]));
    assert_eq!(rule["actions"]["token"]["accessTokenLifetimeMinutes"], 60);
    assert_eq!(rule["actions"]["token"]["refreshTokenLifetimeMinutes"], 0);
    assert_eq!(rule["actions"]["token"]["refreshTokenWindowMinutes"], 10080);

    let groups = app.api(&t, Method::GET, "/groups", None).await.expect(200);
    assert_eq!(groups[0]["profile"]["name"], "Everyone");
    assert_eq!(groups[0]["type"], "BUILT_IN");
    app.stop().await;
}

#[actix_web::test]
async fn provision_when_name_invalid_or_taken_then_refused_and_nothing_created() {
    let app = spawn(Backend::Embedded).await;
    for bad in ["ab", "UPPER", "has space", "-dash", ""] {
        let (status, body) = app
            .operator(Method::POST, "/tenants", Some(json!({ "name": bad })))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["errorCode"], "E0000001");
    }
    let t = app.provision().await;
    let (status, body) = app
        .operator(Method::POST, "/tenants", Some(json!({ "name": t.name })))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(causes(&body).contains("already exists"));
    let (status, list) = app.operator(Method::GET, "/tenants", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only the one good tenant exists: {list}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn operator_api_when_token_missing_or_wrong_then_401() {
    let app = spawn(Backend::Embedded).await;
    let url = format!("{}/operator/v1/tenants", app.base);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(&url)
        .bearer_auth("not-the-operator-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000011");
    app.stop().await;
}

#[actix_web::test]
async fn tenant_lifecycle_when_suspended_then_api_refused_and_delete_removes_everything() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (status, body) = app
        .operator(Method::DELETE, &format!("/tenants/{}", t.name), None)
        .await;
    assert_eq!(status, 400, "an active tenant cannot be deleted: {body}");

    let (status, body) = app
        .operator(
            Method::POST,
            &format!("/tenants/{}/lifecycle/suspend", t.name),
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("SUSPENDED"))
    );
    app.api(&t, Method::GET, "/users", None)
        .await
        .expect_error(403, "E0000006");

    let (status, _) = app
        .operator(
            Method::POST,
            &format!("/tenants/{}/lifecycle/activate", t.name),
            None,
        )
        .await;
    assert_eq!(status, 200);
    app.api(&t, Method::GET, "/users", None).await.expect(200);

    app.operator(
        Method::POST,
        &format!("/tenants/{}/lifecycle/suspend", t.name),
        None,
    )
    .await;
    let (status, _) = app
        .operator(Method::DELETE, &format!("/tenants/{}", t.name), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .operator(Method::GET, &format!("/tenants/{}", t.name), None)
        .await;
    assert_eq!(status, 404);
    app.api(&t, Method::GET, "/users", None)
        .await
        .expect_error(401, "E0000011");
    app.stop().await;
}

#[actix_web::test]
async fn tenant_list_when_more_than_limit_then_link_to_next_page() {
    let app = spawn(Backend::Embedded).await;
    for _ in 0..3 {
        app.provision().await;
    }
    let res = app
        .client
        .get(format!("{}/operator/v1/tenants?limit=2", app.base))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    let link = res
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let first: serde_json::Value = res.json().await.unwrap();
    assert_eq!(first.as_array().unwrap().len(), 2);
    let next = link
        .split(',')
        .find(|p| p.contains("rel=\"next\""))
        .unwrap();
    let next_url = &next[next.find('<').unwrap() + 1..next.find('>').unwrap()];
    let second: serde_json::Value = app
        .client
        .get(next_url)
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_ne!(first[0]["name"], second[0]["name"]);
    app.stop().await;
}
