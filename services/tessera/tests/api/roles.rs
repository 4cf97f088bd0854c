//! Admin roles on the management API (Okta's administrator roles and OAuth 2.0 scopes for Okta APIs): role assignment through Okta's
//! endpoints, every role's allowed and denied calls, and tokens that lose their rights with their
//! admin's role.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_domain::admin_roles::{Resource, Role, role_allows};

use crate::helpers::{Backend, Tenant, admin_with, spawn, user};

#[actix_web::test]
async fn each_admin_role_reaches_what_it_may_and_is_refused_the_rest() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(crate::helpers::web_app("portal")),
        )
        .await
        .expect(200);
    let app_id = web["id"].as_str().unwrap().to_owned();
    let target = app
        .api(&t, Method::POST, "/users", Some(user("target@example.com")))
        .await
        .expect(200);
    let uid = target["id"].as_str().unwrap().to_owned();
    let group = app
        .api(
            &t,
            Method::POST,
            "/groups",
            Some(json!({"profile": {"name": "Staff"}})),
        )
        .await
        .expect(200);
    let gid = group["id"].as_str().unwrap().to_owned();

    // Writes carry an empty body where that is a validation error, so an allowed write is a 400
    // and changes nothing; a denied one is a 403 before the body is read.
    let probes: Vec<(Method, String, Option<Value>, Resource)> = vec![
        (
            Method::GET,
            "/authorizationServers".into(),
            None,
            Resource::AuthorizationServers,
        ),
        (
            Method::POST,
            "/authorizationServers".into(),
            Some(json!({})),
            Resource::AuthorizationServers,
        ),
        (
            Method::GET,
            "/authorizationServers/default/scopes".into(),
            None,
            Resource::AuthorizationServers,
        ),
        (Method::GET, "/apps".into(), None, Resource::Apps),
        (
            Method::POST,
            "/apps".into(),
            Some(json!({})),
            Resource::Apps,
        ),
        (
            Method::GET,
            format!("/apps/{app_id}/users"),
            None,
            Resource::AppAssignments,
        ),
        (
            Method::POST,
            format!("/apps/{app_id}/users"),
            Some(json!({})),
            Resource::AppAssignments,
        ),
        (Method::GET, "/users".into(), None, Resource::Users),
        (
            Method::POST,
            "/users".into(),
            Some(json!({})),
            Resource::Users,
        ),
        (
            Method::GET,
            format!("/users/{uid}/grants"),
            None,
            Resource::Users,
        ),
        (Method::GET, "/groups".into(), None, Resource::Groups),
        (
            Method::POST,
            "/groups".into(),
            Some(json!({})),
            Resource::Groups,
        ),
        (
            Method::GET,
            format!("/groups/{gid}/users"),
            None,
            Resource::GroupMembership,
        ),
        (
            Method::PUT,
            format!("/groups/{gid}/users/{uid}"),
            None,
            Resource::GroupMembership,
        ),
        (
            Method::GET,
            format!("/users/{uid}/roles"),
            None,
            Resource::Roles,
        ),
        (
            Method::POST,
            format!("/users/{uid}/roles"),
            Some(json!({})),
            Resource::Roles,
        ),
        (Method::GET, "/api-tokens".into(), None, Resource::ApiTokens),
        (
            Method::POST,
            "/api-tokens".into(),
            Some(json!({})),
            Resource::ApiTokens,
        ),
    ];
    for (i, role) in Role::ALL.into_iter().enumerate() {
        let (_, admin) =
            admin_with(&app, &t, &format!("admin{i}@example.com"), role.as_str()).await;
        for (method, path, body, resource) in &probes {
            let write = *method != Method::GET;
            let reply = app.api(&admin, method.clone(), path, body.clone()).await;
            if role_allows(role, *resource, write) {
                assert!(
                    [200, 201, 204, 400].contains(&reply.status.as_u16()),
                    "{role} {method} {path}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                assert_eq!(reply.status, 403, "{role} {method} {path}: {}", reply.body);
                assert_eq!(reply.body["errorCode"], "E0000006");
            }
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn roles_are_assigned_like_oktas_and_a_token_loses_its_rights_with_its_admins_role() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (uid, admin) =
        admin_with(&app, &t, "apiam@example.com", "API_ACCESS_MANAGEMENT_ADMIN").await;
    let can_manage_servers = |admin: &Tenant| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.api(&admin, Method::GET, "/authorizationServers", None)
                .await
                .status
        }
    };
    assert_eq!(can_manage_servers(&admin).await, 200);

    // The role object, listed and fetched.
    let roles = app
        .api(&t, Method::GET, &format!("/users/{uid}/roles"), None)
        .await
        .expect(200);
    let role = &roles.as_array().unwrap()[0];
    assert_eq!(role["type"], "API_ACCESS_MANAGEMENT_ADMIN");
    assert_eq!(role["label"], "API Access Management Administrator");
    assert_eq!(role["status"], "ACTIVE");
    assert_eq!(role["assignmentType"], "USER");
    assert!(
        role["_links"]["assignee"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/users/{uid}"))
    );
    let role_id = role["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::GET,
        &format!("/users/{uid}/roles/{role_id}"),
        None,
    )
    .await
    .expect(200);
    // A duplicate, an unknown type, a missing type.
    let dup = app
        .api(
            &t,
            Method::POST,
            &format!("/users/{uid}/roles"),
            Some(json!({"type": "API_ACCESS_MANAGEMENT_ADMIN"})),
        )
        .await
        .expect(409);
    assert_eq!(dup["errorCode"], "E0000090");
    for body in [json!({"type": "EMPEROR"}), json!({})] {
        let bad = app
            .api(&t, Method::POST, &format!("/users/{uid}/roles"), Some(body))
            .await
            .expect(400);
        assert_eq!(bad["errorCode"], "E0000001");
    }
    // An admin cannot give itself more: roles are for super admins.
    app.api(
        &admin,
        Method::POST,
        &format!("/users/{uid}/roles"),
        Some(json!({"type": "SUPER_ADMIN"})),
    )
    .await
    .expect(403);
    // Nor create a token acting as someone else.
    let other = app
        .api(&t, Method::POST, "/users", Some(user("other@example.com")))
        .await
        .expect(200);
    app.api(
        &admin,
        Method::POST,
        "/api-tokens",
        Some(json!({"name": "x", "userId": other["id"]})),
    )
    .await
    .expect(403);
    // A super admin cannot mint a token for a user without a role.
    app.api(
        &t,
        Method::POST,
        "/api-tokens",
        Some(json!({"name": "x", "userId": other["id"]})),
    )
    .await
    .expect(400);

    // Unassigned: the same token is refused at once.
    app.api(
        &t,
        Method::DELETE,
        &format!("/users/{uid}/roles/{role_id}"),
        None,
    )
    .await
    .expect(204);
    assert_eq!(can_manage_servers(&admin).await, 403);

    // Held through a group: granted with the membership, gone without it.
    let group = app
        .api(
            &t,
            Method::POST,
            "/groups",
            Some(json!({"profile": {"name": "API admins"}})),
        )
        .await
        .expect(200);
    let gid = group["id"].as_str().unwrap().to_owned();
    let group_role = app
        .api(
            &t,
            Method::POST,
            &format!("/groups/{gid}/roles"),
            Some(json!({"type": "API_ACCESS_MANAGEMENT_ADMIN"})),
        )
        .await
        .expect(200);
    assert_eq!(group_role["assignmentType"], "GROUP");
    app.api(&t, Method::PUT, &format!("/groups/{gid}/users/{uid}"), None)
        .await
        .expect(204);
    assert_eq!(can_manage_servers(&admin).await, 200);
    app.api(
        &t,
        Method::DELETE,
        &format!("/groups/{gid}/users/{uid}"),
        None,
    )
    .await
    .expect(204);
    assert_eq!(can_manage_servers(&admin).await, 403);
    // The built-in Everyone group cannot hold roles.
    let everyone = app
        .api(&t, Method::GET, "/groups?q=Everyone", None)
        .await
        .expect(200);
    let everyone_id = everyone[0]["id"].as_str().unwrap();
    app.api(
        &t,
        Method::POST,
        &format!("/groups/{everyone_id}/roles"),
        Some(json!({"type": "READ_ONLY_ADMIN"})),
    )
    .await
    .expect(400);
    // Reading its roles is a read: an empty list.
    let held = app
        .api(
            &t,
            Method::GET,
            &format!("/groups/{everyone_id}/roles"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(held, json!([]));

    // A deactivated admin's token has no rights.
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/roles"),
        Some(json!({"type": "API_ACCESS_MANAGEMENT_ADMIN"})),
    )
    .await
    .expect(201);
    assert_eq!(can_manage_servers(&admin).await, 200);
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(can_manage_servers(&admin).await, 403);
    // Another tenant's super admin sees none of it.
    let stranger = app.provision().await;
    app.api(&stranger, Method::GET, &format!("/users/{uid}/roles"), None)
        .await
        .expect(404);
    app.stop().await;
}

#[actix_web::test]
async fn the_org_authorization_server_is_hidden_and_its_tokens_follow_the_client() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    // Not a custom server: not listed among them; its keys are at {org}/oauth2/v1/keys.
    let listed = app
        .api(&t, Method::GET, "/authorizationServers", None)
        .await
        .expect(200);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only default: {listed}"
    );
    let jwks: Value = app
        .client
        .get(format!("{}/oauth2/v1/keys", t.org))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty());

    // A service app with an ES256 key, granted a scope and a role.
    let key = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let created = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "automation", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "private_key_jwt"}},
        "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"],
            "jwks": {"keys": [key.public_jwk.clone()]}}}}))).await.expect(200);
    let app_id = created["id"].as_str().unwrap().to_owned();
    let client_id = created["credentials"]["oauthClient"]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{app_id}/grants"),
        Some(json!({"issuer": t.org, "scopeId": "okta.apps.read"})),
    )
    .await
    .expect(201);
    let bad_issuer = app
        .api(
            &t,
            Method::POST,
            &format!("/apps/{app_id}/grants"),
            Some(
                json!({"issuer": format!("{}/oauth2/default", t.org), "scopeId": "okta.apps.read"}),
            ),
        )
        .await
        .expect(400);
    assert_eq!(bad_issuer["errorCode"], "E0000001");
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8);
    // A POST to the org server's `endpoint`, authenticated with a fresh client assertion.
    let org_post =
        |endpoint: &'static str, jti: &'static str, extra: Vec<(&'static str, String)>| {
            let (app, org, client_id, encoding) = (&app, &t.org, &client_id, &encoding);
            async move {
                let url = format!("{org}/oauth2/v1/{endpoint}");
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let assertion = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
                    &json!({"iss": client_id, "sub": client_id, "aud": url, "iat": now,
                    "exp": now + 60, "jti": jti}),
                    encoding,
                )
                .unwrap();
                let mut form = vec![
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                    ),
                    ("client_assertion", assertion),
                ];
                form.extend(extra);
                let res = app.client.post(url).form(&form).send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
    let get_token = |jti: &'static str| {
        let org_post = &org_post;
        async move {
            let extra = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", "okta.apps.read".to_owned()),
            ];
            let (status, body) = org_post("token", jti, extra).await;
            assert_eq!(status, 200, "{body}");
            format!("Bearer {}", body["access_token"].as_str().unwrap())
        }
    };
    let bearer = get_token("j-1").await;
    let as_client = |bearer: &str, path: &'static str| {
        let (app, org, bearer) = (&app, &t.org, bearer.to_owned());
        async move { app.api_as(org, &bearer, Method::GET, path, None).await }
    };
    // The scope is there but no role yet: 403.
    assert_eq!(as_client(&bearer, "/apps").await.status, 403);
    app.send(
        &format!("{}/oauth2/v1/clients/{client_id}/roles", t.org),
        &format!("SSWS {}", t.token),
        Method::POST,
        Some(json!({"type": "READ_ONLY_ADMIN"})),
    )
    .await
    .expect(200);
    assert_eq!(as_client(&bearer, "/apps").await.status, 200);
    // Reading users needs okta.users.read, which this token lacks, whatever the role.
    assert_eq!(as_client(&bearer, "/users").await.status, 403);
    // The org server introspects and revokes its own tokens.
    let token = bearer.trim_start_matches("Bearer ").to_owned();
    let (status, intro) = org_post("introspect", "j-2", vec![("token", token.clone())]).await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["scope"], "okta.apps.read");
    assert_eq!(intro["client_id"], client_id.as_str());
    let (status, _) = org_post("revoke", "j-3", vec![("token", token)]).await;
    assert_eq!(status, 200);
    assert_eq!(as_client(&bearer, "/apps").await.status, 401);
    let bearer = get_token("j-4").await;
    assert_eq!(as_client(&bearer, "/apps").await.status, 200);
    // The client's roles are listed and removed like a user's; without one the token is refused.
    let ssws = format!("SSWS {}", t.token);
    let roles_url = format!("{}/oauth2/v1/clients/{client_id}/roles", t.org);
    let roles = app
        .send(&roles_url, &ssws, Method::GET, None)
        .await
        .expect(200);
    assert_eq!(roles[0]["type"], "READ_ONLY_ADMIN");
    assert_eq!(roles[0]["assignmentType"], "CLIENT");
    let role_id = roles[0]["id"].as_str().unwrap().to_owned();
    app.send(
        &format!("{roles_url}/{role_id}"),
        &ssws,
        Method::DELETE,
        None,
    )
    .await
    .expect(204);
    assert_eq!(as_client(&bearer, "/apps").await.status, 403);
    app.send(
        &roles_url,
        &ssws,
        Method::POST,
        Some(json!({"type": "READ_ONLY_ADMIN"})),
    )
    .await
    .expect(200);
    assert_eq!(as_client(&bearer, "/apps").await.status, 200);
    // App grants are listed and revoked; a revoked scope cannot be asked for any more.
    let grants = app
        .api(&t, Method::GET, &format!("/apps/{app_id}/grants"), None)
        .await
        .expect(200);
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(grants[0]["scopeId"], "okta.apps.read");
    assert_eq!(grants[0]["issuer"], t.org.as_str());
    let grant_id = grants[0]["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::GET,
        &format!("/apps/{app_id}/grants/{grant_id}"),
        None,
    )
    .await
    .expect(200);
    app.api(
        &t,
        Method::DELETE,
        &format!("/apps/{app_id}/grants/{grant_id}"),
        None,
    )
    .await
    .expect(204);
    let extra = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("scope", "okta.apps.read".to_owned()),
    ];
    let (status, refused) = org_post("token", "j-5", extra).await;
    assert_eq!((status, &refused["error"]), (400, &json!("invalid_scope")));
    // A forged or foreign token is a 401.
    let forged = app
        .api_as(
            &t.org,
            "Bearer eyJhbGciOiJub25lIn0.e30.",
            Method::GET,
            "/apps",
            None,
        )
        .await;
    assert_eq!(forged.status, 401);
    // Deactivating the app ends its tokens at once.
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{app_id}/lifecycle/deactivate"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(as_client(&bearer, "/apps").await.status, 401);
    app.stop().await;
}
