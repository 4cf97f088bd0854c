use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, service_app, spawn, user};

#[actix_web::test]
async fn management_api_when_token_missing_malformed_or_of_another_tenant_then_401() {
    let app = spawn(Backend::Embedded).await;
    let (a, b) = (app.provision().await, app.provision().await);
    let no_auth = app
        .client
        .get(format!("{}/api/v1/users", a.org))
        .send()
        .await
        .unwrap();
    assert_eq!(no_auth.status(), 401);
    assert!(no_auth.headers().contains_key("www-authenticate"));
    app.api_as(&a.org, "Bearer something", Method::GET, "/users", None)
        .await
        .expect_error(401, "E0000011");
    app.api_as(&a.org, "SSWS wrong", Method::GET, "/users", None)
        .await
        .expect_error(401, "E0000011");
    app.api_as(
        &a.org,
        &format!("SSWS {}", b.token),
        Method::GET,
        "/users",
        None,
    )
    .await
    .expect_error(401, "E0000011");
    app.api_as(
        &format!("{}/t/no-such-tenant", app.base),
        &format!("SSWS {}", a.token),
        Method::GET,
        "/users",
        None,
    )
    .await
    .expect_error(401, "E0000011");
    app.stop().await;
}

#[actix_web::test]
async fn another_tenants_ids_when_used_then_404_and_unchanged() {
    let app = spawn(Backend::Embedded).await;
    let (a, b) = (app.provision().await, app.provision().await);
    let server = app
        .api(
            &a,
            Method::POST,
            "/authorizationServers",
            Some(json!({"name": "orders", "audiences": ["api://orders"]})),
        )
        .await
        .expect(201);
    let sid = server["id"].as_str().unwrap();
    let scope = app
        .api(
            &a,
            Method::POST,
            &format!("/authorizationServers/{sid}/scopes"),
            Some(json!({"name": "orders.read"})),
        )
        .await
        .expect(201);
    let app_a = app
        .api(&a, Method::POST, "/apps", Some(service_app("a-svc")))
        .await
        .expect(200);
    let user_a = app
        .api(&a, Method::POST, "/users", Some(user("ada@a.example")))
        .await
        .expect(200);
    let group_a = app
        .api(
            &a,
            Method::POST,
            "/groups",
            Some(json!({"profile": {"name": "eng"}})),
        )
        .await
        .expect(200);
    let (aid, uid, gid) = (
        app_a["id"].as_str().unwrap(),
        user_a["id"].as_str().unwrap(),
        group_a["id"].as_str().unwrap(),
    );

    let paths = [
        format!("/authorizationServers/{sid}"),
        format!(
            "/authorizationServers/{sid}/scopes/{}",
            scope["id"].as_str().unwrap()
        ),
        format!("/apps/{aid}"),
        format!("/apps/{aid}/credentials/secrets"),
        format!("/users/{uid}"),
        "/users/ada@a.example".to_owned(),
        format!("/groups/{gid}"),
    ];
    for p in &paths {
        app.api(&b, Method::GET, p, None)
            .await
            .expect_error(404, "E0000007");
        app.api(&b, Method::DELETE, p, None)
            .await
            .expect_error(404, "E0000007");
    }
    // A rule in tenant B may not name tenant A's users or groups.
    let pol = app
        .api(
            &b,
            Method::GET,
            "/authorizationServers/default/policies",
            None,
        )
        .await
        .expect(200);
    let rules = format!(
        "/authorizationServers/default/policies/{}/rules",
        pol[0]["id"].as_str().unwrap()
    );
    let body = json!({"type": "RESOURCE_ACCESS", "name": "steal", "conditions": {
        "people": {"users": {"include": [uid]}, "groups": {"include": [gid]}},
        "grantTypes": {"include": ["client_credentials"]}, "scopes": {"include": ["*"]}}});
    app.api(&b, Method::POST, &rules, Some(body))
        .await
        .expect_error(400, "E0000001");
    // Everything in A is still there.
    for p in &paths[..5] {
        app.api(&a, Method::GET, p, None).await.expect(200);
    }
    app.stop().await;
}
