//! Attacks, performed as an attacker would, each named after what it proves: no spelling of a
//! path reaches a handler with a weaker check, and no admin takes over a principal holding rights
//! the admin lacks. See docs/security.md.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_domain::admin_roles::{Role, allows};
use tessera_domain::org_scopes;

use crate::helpers::{
    Backend, OrgClient, Tenant, TestApp, admin_with, config, spawn, spawn_with, user,
};

/// A caller of the management API: an `Authorization` value, its roles and, for an org-server
/// token, its scopes.
struct Caller {
    name: String,
    authorization: String,
    roles: Vec<Role>,
    scopes: Option<Vec<String>>,
}

impl Caller {
    fn may(&self, resource: tessera_domain::admin_roles::Resource, write: bool) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| org_scopes::allows(s, resource, write))
            && allows(&self.roles, resource, write)
    }
}

/// Spellings of `path` that a router might treat as the same route: percent-encoded letters,
/// doubled and trailing slashes, dot segments, another case, an encoded slash, and the tenant's
/// name encoded.
fn spellings(path: &str) -> Vec<String> {
    let (head, last) = path.rsplit_once('/').expect("a path with segments");
    let enc = |c: char| format!("%{:02x}", c as u32);
    let first_encoded = {
        let mut it = last.chars();
        let c = it.next().expect("segment");
        format!("{head}/{}{}", enc(c), it.as_str())
    };
    let all_encoded = format!(
        "{head}/{}",
        last.chars()
            .map(|c| format!("%{:02X}", c as u32))
            .collect::<String>()
    );
    let tenant_encoded = match path.strip_prefix("/t/") {
        Some(rest) => {
            let mut it = rest.chars();
            let c = it.next().expect("tenant");
            format!("/t/{}{}", enc(c), it.as_str())
        }
        None => path.to_owned(),
    };
    vec![
        path.to_owned(),
        first_encoded,
        all_encoded,
        format!("{head}//{last}"),
        format!("{path}/"),
        format!("{head}/./{last}"),
        format!("{head}/zz/../{last}"),
        format!("{head}/{}", last.to_uppercase()),
        format!("{head}%2F{last}"),
        tenant_encoded,
    ]
}

/// Fills a route pattern's `{params}` with `ids`, falling back to a plausible id.
fn fill(pattern: &str, ids: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 1..end];
        let value = ids
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("x0000000000000000001", |(_, v)| *v);
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn callers(app: &TestApp, t: &Tenant) -> (Vec<Caller>, String) {
    let mut out = Vec::new();
    let mut user_admin_id = String::new();
    for (i, role) in [
        Role::OrgAdmin,
        Role::AppAdmin,
        Role::ApiAccessManagementAdmin,
        Role::ReadOnlyAdmin,
        Role::UserAdmin,
        Role::GroupMembershipAdmin,
    ]
    .into_iter()
    .enumerate()
    {
        let (uid, as_admin) =
            admin_with(app, t, &format!("admin{i}@example.com"), role.as_str()).await;
        if role == Role::UserAdmin {
            user_admin_id = uid;
        }
        out.push(Caller {
            name: role.as_str().to_owned(),
            authorization: format!("SSWS {}", as_admin.token),
            roles: vec![role],
            scopes: None,
        });
    }
    // A super admin's service app whose token was granted only okta.users.manage.
    let client = OrgClient::create(app, t, &["okta.users.manage"], Some("SUPER_ADMIN")).await;
    out.push(Caller {
        name: "org token with okta.users.manage".into(),
        authorization: client.bearer(app, t, "okta.users.manage").await,
        roles: vec![Role::SuperAdmin],
        scopes: Some(vec!["okta.users.manage".into()]),
    });
    (out, user_admin_id)
}

/// Every management route, every caller whose role (or token scope) does not allow it, every
/// spelling of its path: never a 2xx; the plain spelling is a 403.
#[actix_web::test]
async fn permission_comes_from_the_matched_route_whatever_the_path_spelling() {
    // Thousands of calls: past the management rate limit, which is not what this test is about.
    let mut cfg = config(Backend::Embedded).await;
    cfg.rate_limits.enabled = false;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let (callers, user_admin_id) = callers(&app, &t).await;
    let victim = app.user(&t, "victim@example.com").await;
    let victim = victim["id"].as_str().unwrap().to_owned();
    let ids = [("id", victim.as_str()), ("userId", user_admin_id.as_str())];
    let org_path = t.org.strip_prefix(&app.base).expect("path-routed org URL");
    let routes = tessera_admin::management_routes();
    assert!(routes.len() > 100, "{} routes", routes.len());
    let (mut denied, mut tried) = (0, 0);
    for route in &routes {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        // A route that reads whatever its method (the token preview) needs read permission.
        let write = method != Method::GET && !route.guard.reads_only;
        let path = format!("{org_path}{}", fill(&route.pattern, &ids));
        let body = if route.pattern.contains("/roles") {
            Some(json!({"type": "SUPER_ADMIN"}))
        } else if method != Method::GET {
            Some(json!({}))
        } else {
            None
        };
        for caller in callers
            .iter()
            .filter(|c| !c.may(route.guard.resource, write))
        {
            for (i, spelled) in spellings(&path).into_iter().enumerate() {
                let reply = app
                    .send(
                        &format!("{}{spelled}", app.base),
                        &caller.authorization,
                        method.clone(),
                        body.clone(),
                    )
                    .await;
                tried += 1;
                let status = reply.status.as_u16();
                assert!(
                    !reply.status.is_success(),
                    "{} {spelled} as {}: {status} {}",
                    method,
                    caller.name,
                    reply.body
                );
                if i == 0 {
                    assert_eq!(
                        status, 403,
                        "{} {spelled} as {}: {}",
                        method, caller.name, reply.body
                    );
                    denied += 1;
                } else {
                    assert!(
                        (403..=405).contains(&status),
                        "{} {spelled} as {}: {status} {}",
                        method,
                        caller.name,
                        reply.body
                    );
                }
            }
        }
    }
    assert!(denied > 300, "{denied} denials of {tried} attempts");
    // The victim holds no role, and the attackers still hold only theirs.
    let roles = app
        .api(&t, Method::GET, &format!("/users/{victim}/roles"), None)
        .await
        .expect(200);
    assert_eq!(roles, json!([]));
    let roles = app
        .api(
            &t,
            Method::GET,
            &format!("/users/{user_admin_id}/roles"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(roles.as_array().unwrap().len(), 1, "{roles}");
    assert_eq!(roles[0]["type"], "USER_ADMIN");
    app.stop().await;
}

/// The attack as it was reported: `POST /users/{self}/%72oles {"type":"SUPER_ADMIN"}` with a
/// user admin's or org admin's API token, the group form, an org token with only
/// `okta.users.manage`, and a read-only admin reading role assignments the same way.
#[actix_web::test]
async fn percent_encoded_roles_path_does_not_escalate_to_super_admin() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let group = app.group(&t, "Staff").await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let super_admin = json!({"type": "SUPER_ADMIN"});
    for role in ["USER_ADMIN", "ORG_ADMIN"] {
        let (me, as_me) = admin_with(&app, &t, &format!("{role}@example.com"), role).await;
        for path in [
            format!("/users/{me}/%72oles"),
            format!("/users/{me}/%72%6f%6c%65%73"),
            format!("/groups/{gid}/%72oles"),
        ] {
            let reply = app
                .api(&as_me, Method::POST, &path, Some(super_admin.clone()))
                .await;
            assert_eq!(reply.status, 403, "{role} POST {path}: {}", reply.body);
        }
        let mine = app
            .api(&t, Method::GET, &format!("/users/{me}/roles"), None)
            .await
            .expect(200);
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(mine[0]["type"], role);
    }
    let group_roles = app
        .api(&t, Method::GET, &format!("/groups/{gid}/roles"), None)
        .await
        .expect(200);
    assert_eq!(group_roles, json!([]));

    let target = app.user(&t, "target@example.com").await;
    let target = target["id"].as_str().unwrap().to_owned();
    let client = OrgClient::create(&app, &t, &["okta.users.manage"], Some("SUPER_ADMIN")).await;
    let bearer = client.bearer(&app, &t, "okta.users.manage").await;
    let reply = app
        .api_as(
            &t.org,
            &bearer,
            Method::POST,
            &format!("/users/{target}/%72oles"),
            Some(super_admin.clone()),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    // The token does reach what its scope covers.
    app.api_as(&t.org, &bearer, Method::GET, "/users", None)
        .await
        .expect(200);

    let (_, reader) = admin_with(&app, &t, "reader@example.com", "READ_ONLY_ADMIN").await;
    let reply = app
        .api(
            &reader,
            Method::GET,
            &format!("/users/{target}/%72oles"),
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let reply = app
        .api(
            &reader,
            Method::GET,
            &format!("/users/{target}/roles"),
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    app.api(&t, Method::GET, &format!("/users/{target}/roles"), None)
        .await
        .expect(200);
    app.stop().await;
}

/// The status of a password-grant sign-in on the default server, through a new native app.
async fn password_sign_in(app: &TestApp, t: &Tenant, login: &str, password: &str) -> u16 {
    let created = app
        .api(
            t,
            Method::POST,
            "/apps",
            Some(json!({
                "name": "oidc_client", "label": "cli", "signOnMode": "OPENID_CONNECT",
                "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_post"}},
                "settings": {"oauthClient": {"application_type": "native",
                    "grant_types": ["password", "authorization_code"], "redirect_uris": ["com.example:/cb"],
                    "response_types": ["code"]}}
            })),
        )
        .await
        .expect(200);
    let (id, secret) = (
        created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap(),
        created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap(),
    );
    app.api(
        t,
        Method::PUT,
        &format!(
            "/apps/{}/groups/{}",
            created["id"].as_str().unwrap(),
            everyone(app, t).await
        ),
        Some(json!({})),
    )
    .await
    .expect(200);
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/token", t.org))
        .form(&[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
            ("scope", "openid"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn everyone(app: &TestApp, t: &Tenant) -> String {
    let groups = app
        .api(t, Method::GET, "/groups?q=Everyone", None)
        .await
        .expect(200);
    groups[0]["id"].as_str().unwrap().to_owned()
}

/// A user admin sets a super admin's password (then could sign in as them): refused, and the
/// old password still works while the new one does not.
#[actix_web::test]
async fn user_admin_cannot_set_a_super_admins_password() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (boss, _) = admin_with(&app, &t, "boss@example.com", "SUPER_ADMIN").await;
    let (_, user_admin) = admin_with(&app, &t, "ua@example.com", "USER_ADMIN").await;
    let new_password = json!({"credentials": {"password": {"value": "Taken0ver!Password"}}});
    for method in [Method::POST, Method::PUT] {
        let reply = app
            .api(
                &user_admin,
                method.clone(),
                &format!("/users/{boss}"),
                Some(new_password.clone()),
            )
            .await;
        assert_eq!(reply.status, 403, "{method}: {}", reply.body);
    }
    // Through the login as the id, too.
    let reply = app
        .api(
            &user_admin,
            Method::POST,
            "/users/boss@example.com",
            Some(new_password),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        password_sign_in(&app, &t, "boss@example.com", "Taken0ver!Password").await,
        400
    );
    assert_eq!(
        password_sign_in(&app, &t, "boss@example.com", "Analytical1Engine").await,
        200
    );
    // A user admin still manages users who hold no role.
    let plain = app.user(&t, "plain@example.com").await;
    app.api(
        &user_admin,
        Method::POST,
        &format!("/users/{}", plain["id"].as_str().unwrap()),
        Some(json!({"credentials": {"password": {"value": "Another1Password!"}}})),
    )
    .await
    .expect(200);
    app.stop().await;
}

/// An app admin adds its own key to a service app that holds SUPER_ADMIN (and would then get an
/// org token and make itself super admin): refused; the app keeps only its own key.
#[actix_web::test]
async fn app_admin_cannot_add_a_key_to_a_super_admin_service_app() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let privileged = OrgClient::create(&app, &t, &["okta.roles.manage"], Some("SUPER_ADMIN")).await;
    let (_, app_admin) = admin_with(&app, &t, "apps@example.com", "APP_ADMIN").await;
    let mine = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let jwks = format!("/apps/{}/credentials/jwks", privileged.app_id);
    let reply = app
        .api(
            &app_admin,
            Method::POST,
            &jwks,
            Some(mine.public_jwk.clone()),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    // Nor may it replace the app, deactivate it, rotate its secrets or grant it scopes.
    for (method, path, body) in [
        (
            Method::POST,
            format!("/apps/{}/lifecycle/deactivate", privileged.app_id),
            None,
        ),
        (
            Method::POST,
            format!("/apps/{}/credentials/secrets", privileged.app_id),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/apps/{}/grants", privileged.app_id),
            Some(json!({"issuer": t.org, "scopeId": "okta.users.manage"})),
        ),
        (Method::DELETE, format!("/apps/{}", privileged.app_id), None),
    ] {
        let reply = app.api(&app_admin, method.clone(), &path, body).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
    }
    let keys = app.api(&t, Method::GET, &jwks, None).await.expect(200);
    let keys: Vec<Value> = keys
        .as_array()
        .cloned()
        .or_else(|| keys["keys"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(keys.len(), 1, "{keys:?}");
    // An app that holds no role is the app admin's to manage.
    let plain = OrgClient::create(&app, &t, &[], None).await;
    app.api(
        &app_admin,
        Method::POST,
        &format!("/apps/{}/credentials/jwks", plain.app_id),
        Some(mine.public_jwk.clone()),
    )
    .await
    .expect(201);
    app.stop().await;
}

/// An org admin deactivates a super admin, or revokes a super admin's API tokens: refused, and
/// the super admin's token still works.
#[actix_web::test]
async fn org_admin_cannot_deactivate_a_super_admin_or_revoke_their_tokens() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (boss, as_boss) = admin_with(&app, &t, "boss@example.com", "SUPER_ADMIN").await;
    let (_, org_admin) = admin_with(&app, &t, "org@example.com", "ORG_ADMIN").await;
    for action in ["deactivate", "suspend"] {
        let reply = app
            .api(
                &org_admin,
                Method::POST,
                &format!("/users/{boss}/lifecycle/{action}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 403, "{action}: {}", reply.body);
    }
    let reply = app
        .api(&org_admin, Method::DELETE, &format!("/users/{boss}"), None)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let tokens = app
        .api(&org_admin, Method::GET, "/api-tokens", None)
        .await
        .expect(200);
    let boss_tokens: Vec<String> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["userId"] == boss.as_str())
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(boss_tokens.len(), 1, "{tokens}");
    let reply = app
        .api(
            &org_admin,
            Method::DELETE,
            &format!("/api-tokens/{}", boss_tokens[0]),
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    // Nor the provisioning token, which carries SUPER_ADMIN itself.
    let provisioning: Vec<String> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["userId"].is_null())
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    for id in provisioning {
        let reply = app
            .api(
                &org_admin,
                Method::DELETE,
                &format!("/api-tokens/{id}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    app.api(&as_boss, Method::GET, "/users", None)
        .await
        .expect(200);
    let me = app
        .api(&t, Method::GET, &format!("/users/{boss}"), None)
        .await
        .expect(200);
    assert_eq!(me["status"], "ACTIVE");
    app.stop().await;
}

/// Membership carries a group's roles: a group membership admin adding itself to a super-admin
/// group, or a user admin creating a user straight into it, is refused.
#[actix_web::test]
async fn group_membership_does_not_hand_out_roles_the_caller_lacks() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let group = app.group(&t, "Admins").await;
    let gid = group["id"].as_str().unwrap().to_owned();
    app.api(
        &t,
        Method::POST,
        &format!("/groups/{gid}/roles"),
        Some(json!({"type": "SUPER_ADMIN"})),
    )
    .await
    .expect(200);
    let (me, as_me) = admin_with(&app, &t, "gm@example.com", "GROUP_MEMBERSHIP_ADMIN").await;
    let reply = app
        .api(
            &as_me,
            Method::PUT,
            &format!("/groups/{gid}/users/{me}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let (_, user_admin) = admin_with(&app, &t, "ua@example.com", "USER_ADMIN").await;
    let mut body = user("sleeper@example.com");
    body["groupIds"] = json!([gid]);
    let reply = app
        .api(&user_admin, Method::POST, "/users", Some(body))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let members = app
        .api(&t, Method::GET, &format!("/groups/{gid}/users"), None)
        .await
        .expect(200);
    assert_eq!(members, json!([]));
    // Nor may the user admin rename or delete the super admins' group.
    let reply = app
        .api(&user_admin, Method::DELETE, &format!("/groups/{gid}"), None)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    // A group without roles is theirs to fill.
    let plain = app.group(&t, "Plain").await;
    app.api(
        &as_me,
        Method::PUT,
        &format!("/groups/{}/users/{me}", plain["id"].as_str().unwrap()),
        None,
    )
    .await
    .expect(204);
    app.stop().await;
}

/// The service's liveness endpoint answers: the process did not die.
async fn still_alive(app: &TestApp) {
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("the server still answers");
    assert_eq!(res.status(), 200);
}

/// Saving a claim whose expression nests 200 parentheses, or 100 braces, killed the process.
/// Now: 400 E0000001 naming the limit, nothing saved, the server alive.
#[actix_web::test]
async fn deeply_nested_claim_expressions_are_refused_at_save_and_the_process_lives() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let claims = "/authorizationServers/default/claims";
    for value in [
        "(".repeat(200),
        format!("{}1{}", "(".repeat(110), ")".repeat(110)),
        "{".repeat(100),
        format!("{}true", "!".repeat(500)),
    ] {
        let reply = app
            .api(
                &t,
                Method::POST,
                claims,
                Some(json!({"name": "deep", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": value})),
            )
            .await;
        let body = reply.expect_error(400, "E0000001");
        let causes = crate::helpers::causes(&body);
        assert!(
            causes.contains("32 levels") || causes.contains("deeper than 64"),
            "{causes}"
        );
    }
    still_alive(&app).await;
    let saved = app.api(&t, Method::GET, claims, None).await.expect(200);
    assert!(
        saved
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "deep"),
        "{saved}"
    );
    app.stop().await;
}

/// A claim of nine nested `String.replace(…,"a","aaaaaaaaaa")` (327 characters, accepted) made
/// the next token request allocate about 10 GB. Now the request fails with `server_error` naming
/// the claim, at once, and the server goes on serving.
#[actix_web::test]
async fn a_claim_that_outgrows_its_budget_fails_the_request_and_nothing_else() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let mut value = "'aaaaaaaaaa'".to_owned();
    for _ in 0..9 {
        value = format!("String.replace({value}, \"a\", \"aaaaaaaaaa\")");
    }
    assert_eq!(value.len(), 327);
    let created = app
        .api(&t, Method::POST, "/authorizationServers/default/claims",
            Some(json!({"name": "big", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": value})))
        .await
        .expect(201);
    let service = app
        .api(
            &t,
            Method::POST,
            "/apps",
            Some(crate::helpers::service_app("svc")),
        )
        .await
        .expect(200);
    let (id, secret) = (
        service["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        service["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "reports"})),
    )
    .await
    .expect(201);
    let token = || {
        let (app, t, id, secret) = (&app, &t, &id, &secret);
        async move {
            let res = app
                .client
                .post(format!("{}/oauth2/default/v1/token", t.org))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "reports")])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let started = std::time::Instant::now();
    let (status, body) = token().await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "server_error");
    assert_eq!(
        body["error_description"],
        "The 'big' user claim could not be evaluated."
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    still_alive(&app).await;
    // Without the claim the same request succeeds.
    app.api(
        &t,
        Method::DELETE,
        &format!(
            "/authorizationServers/default/claims/{}",
            created["id"].as_str().unwrap()
        ),
        None,
    )
    .await
    .expect(204);
    let (status, body) = token().await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

/// `GET /logs?filter=` with `not (` nested 2,000 times, or `(` 5,000 times, aborted the whole
/// process; the users, groups and apps search parsers take the same input. Now each is a 400
/// `E0000001` and the server lives.
#[actix_web::test]
async fn hostile_filters_are_refused_and_the_process_lives() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let nots = format!("{}eventType pr{}", "not (".repeat(2000), ")".repeat(2000));
    let opens = "(".repeat(5000);
    let deep = format!("{}eventType pr{}", "not (".repeat(20), ")".repeat(20));
    for (path, param) in [
        ("/logs", "filter"),
        ("/users", "search"),
        ("/users", "filter"),
        ("/groups", "search"),
        ("/groups", "filter"),
        ("/apps", "filter"),
        ("/users", "q"),
    ] {
        for input in [&nots, &opens, &deep] {
            let encoded: String = url::form_urlencoded::byte_serialize(input.as_bytes()).collect();
            let reply = app
                .api(&t, Method::GET, &format!("{path}?{param}={encoded}"), None)
                .await;
            assert!(
                reply.status == 400 || (param == "q" && reply.status == 200),
                "{path}?{param}=… ({} chars): {} {}",
                input.len(),
                reply.status,
                reply.body
            );
            if reply.status == 400 {
                assert_eq!(reply.body["errorCode"], "E0000001", "{}", reply.body);
            }
        }
    }
    still_alive(&app).await;
    app.stop().await;
}

/// `GET /users?q=%` returned every user: the caller's text is matched literally.
#[actix_web::test]
async fn like_wildcards_in_search_text_match_only_themselves() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    for login in ["ada@example.com", "grace@example.com"] {
        app.api(&t, Method::POST, "/users", Some(user(login)))
            .await
            .expect(200);
    }
    for q in ["%25", "_", "%25%25", "a%25", "%5C"] {
        let found = app
            .api(&t, Method::GET, &format!("/users?q={q}"), None)
            .await
            .expect(200);
        assert_eq!(found, json!([]), "q={q}");
    }
    let found = app
        .api(&t, Method::GET, "/users?q=grace", None)
        .await
        .expect(200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    for q in ["%25", "_"] {
        let found = app
            .api(&t, Method::GET, &format!("/groups?q={q}"), None)
            .await
            .expect(200);
        assert_eq!(found, json!([]), "groups q={q}");
        let found = app
            .api(&t, Method::GET, &format!("/apps?q={q}"), None)
            .await
            .expect(200);
        assert_eq!(found, json!([]), "apps q={q}");
    }
    app.stop().await;
}

/// `PUT /apps/{id}/groups/{gid}` with the body `not json {` answered 200 (and assigned the
/// group). Every management body is now parsed strictly: 400 `E0000003`, nothing assigned.
#[actix_web::test]
async fn malformed_json_bodies_are_refused_everywhere_and_change_nothing() {
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
    let group = app.group(&t, "Staff").await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let u = app.user(&t, "ada@example.com").await;
    let uid = u["id"].as_str().unwrap().to_owned();
    for (method, path) in [
        (Method::PUT, format!("/apps/{app_id}/groups/{gid}")),
        (Method::PUT, format!("/groups/{gid}/users/{uid}")),
        (Method::POST, format!("/users/{uid}/lifecycle/deactivate")),
        (Method::POST, format!("/apps/{app_id}/lifecycle/deactivate")),
        (Method::POST, "/users".to_owned()),
    ] {
        let res = app
            .client
            .request(method.clone(), format!("{}/api/v1{path}", t.org))
            .header("Authorization", format!("SSWS {}", t.token))
            .header("Content-Type", "application/json")
            .body("not json {")
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(body["errorCode"], "E0000003", "{method} {path}: {body}");
    }
    let groups = app
        .api(&t, Method::GET, &format!("/apps/{app_id}/groups"), None)
        .await
        .expect(200);
    assert_eq!(groups, json!([]));
    let members = app
        .api(&t, Method::GET, &format!("/groups/{gid}/users"), None)
        .await
        .expect(200);
    assert_eq!(members, json!([]));
    let still = app
        .api(&t, Method::GET, &format!("/users/{uid}"), None)
        .await
        .expect(200);
    assert_eq!(still["status"], "ACTIVE");
    // An empty body is still fine where none is needed.
    app.api(&t, Method::PUT, &format!("/groups/{gid}/users/{uid}"), None)
        .await
        .expect(204);
    app.stop().await;
}

/// An internal HTTP service a hook must never reach: it answers with a secret and counts calls.
fn internal_service() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let server = actix_web::HttpServer::new(move || {
        let counted = counted.clone();
        actix_web::App::new().default_service(actix_web::web::to(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { actix_web::HttpResponse::Ok().json(json!({"secret": "internal-only"})) }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    (port, hits)
}

/// A host name (not `localhost`) that this machine resolves to a loopback address, from
/// /etc/hosts: what an attacker's DNS name pointing at 127.0.0.1 looks like.
fn name_resolving_to_loopback() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let ip: std::net::IpAddr = fields.next()?.parse().ok()?;
        if !ip.is_loopback() {
            return None;
        }
        fields
            .find(|n| !n.starts_with('#') && !n.contains("localhost") && !n.contains("loopback"))
            .map(str::to_owned)
    })
}

fn hook(uri: &str) -> Value {
    json!({"name": "probe", "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri}}})
}

/// Without the development allowance, hooks to loopback, private, link-local, unspecified and
/// IPv4-mapped addresses, and to a name that resolves to loopback, are refused when saved; an
/// OAUTH channel's token URL too. The internal service is never called.
#[actix_web::test]
async fn hooks_to_internal_addresses_are_refused_when_saved() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let (port, hits) = internal_service();
    let mut uris = vec![
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://localhost:{port}/hook"),
        format!("https://[::1]:{port}/hook"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://10.0.0.1/hook".to_owned(),
        "https://0.0.0.0/hook".to_owned(),
        format!("https://[::ffff:127.0.0.1]:{port}/hook"),
        format!("https://2130706433:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ];
    match name_resolving_to_loopback() {
        Some(name) => uris.push(format!("https://{name}:{port}/hook")),
        None => eprintln!("no non-localhost name resolves to loopback here; that case is skipped"),
    }
    for uri in &uris {
        let reply = app
            .api(&t, Method::POST, "/inlineHooks", Some(hook(uri)))
            .await;
        let body = reply.expect_error(400, "E0000001");
        assert!(
            crate::helpers::causes(&body).contains("channel.config.uri"),
            "{uri}: {body}"
        );
    }
    let oauth = json!({"name": "probe", "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
        "channel": {"type": "OAUTH", "version": "1.0.0", "config": {"uri": "https://hooks.example.com/x",
            "authType": "client_secret_post", "clientId": "c", "clientSecret": "s",
            "tokenUrl": "https://169.254.169.254/token"}}});
    let reply = app.api(&t, Method::POST, "/inlineHooks", Some(oauth)).await;
    let body = reply.expect_error(400, "E0000001");
    assert!(
        crate::helpers::causes(&body).contains("channel.config.tokenUrl"),
        "{body}"
    );
    let listed = app
        .api(&t, Method::GET, "/inlineHooks", None)
        .await
        .expect(200);
    assert_eq!(listed, json!([]));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    app.stop().await;
}

/// The check repeats at every call, on the addresses the call connects to: a hook saved while
/// its host was allowed (as if its DNS name then pointed elsewhere) is not called once the name
/// resolves to an internal address that is not allowed, and `execute` returns no internal body.
/// An operator's `outbound_allow` lets a hook reach an internal host on purpose.
#[actix_web::test]
async fn hook_calls_are_checked_at_call_time_and_operators_can_allow_internal_hosts() {
    let Some(name) = name_resolving_to_loopback() else {
        eprintln!("no non-localhost name resolves to loopback here; test skipped");
        return;
    };
    let (port, hits) = internal_service();
    let mut cfg = config(Backend::Embedded).await;
    cfg.outbound_allow = vec![name.clone()];
    let app = spawn_with(cfg.clone()).await;
    let t = app.provision().await;
    let created = app
        .api(
            &t,
            Method::POST,
            "/inlineHooks",
            Some(hook(&format!("https://{name}:{port}/hook"))),
        )
        .await
        .expect(200);
    let id = created["id"].as_str().unwrap().to_owned();
    // Allowed: the call goes out (and fails the TLS handshake with the plain-HTTP service).
    let reply = app
        .api(
            &t,
            Method::POST,
            &format!("/inlineHooks/{id}/execute"),
            Some(json!({})),
        )
        .await;
    let body = reply.expect_error(400, "E0000001");
    let causes = crate::helpers::causes(&body);
    assert!(causes.contains("could not be reached"), "{causes}");
    app.stop().await;

    // The same data, the host no longer allowed.
    cfg.outbound_allow.clear();
    let app = spawn_with(cfg).await;
    let t = Tenant {
        org: format!("{}/t/{}", app.base, t.name),
        ..t
    };
    let reply = app
        .api(
            &t,
            Method::POST,
            &format!("/inlineHooks/{id}/execute"),
            Some(json!({})),
        )
        .await;
    let body = reply.expect_error(400, "E0000001");
    let causes = crate::helpers::causes(&body);
    assert!(causes.contains("may not be called"), "{causes}");
    assert!(causes.contains("internal address"), "{causes}");
    assert!(!body.to_string().contains("internal-only"), "{body}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    app.stop().await;
}

/// A sign-in form as one browser got it: its pre-login cookie and the form's CSRF token.
struct SignInForm {
    cookie: String,
    csrf: String,
}

async fn sign_in_form(app: &TestApp, org: &str) -> SignInForm {
    let page = app.client.get(format!("{org}/login")).send().await.unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .expect("the sign-in page sets a pre-login cookie")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_owned();
    SignInForm { cookie, csrf }
}

/// Posts the sign-in form; `headers` are extra request headers (`Cookie`, `Origin`, …).
async fn post_sign_in(
    org: &str,
    csrf: &str,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.post(format!("{org}/login")).form(&[
        ("csrf", csrf),
        ("pending", ""),
        ("username", username),
        ("password", password),
    ]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn sets_session(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or_default().starts_with("tessera_sid="))
}

/// Login CSRF: a CSRF token fetched in the attacker's browser, posted with the attacker's
/// credentials from the victim's browser (no pre-login cookie, `Origin: https://evil.example`),
/// signed the victim in as the attacker. Now the token counts only from the browser it was
/// issued to, posting from this origin.
#[actix_web::test]
async fn a_sign_in_form_token_from_another_browser_or_origin_signs_no_one_in() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.user(&t, "mallory@example.com").await;
    let (login, password) = ("mallory@example.com", "Analytical1Engine");
    let own_origin = url::Url::parse(&t.org)
        .unwrap()
        .origin()
        .ascii_serialization();
    /// Which pre-login cookie the posting browser holds.
    enum Jar {
        None,
        Own,
        Another,
    }
    /// What happens, the cookie, the other headers, the status.
    type Case<'a> = (&'a str, Jar, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        (
            "the reported attack: no cookie, evil origin",
            Jar::None,
            vec![("Origin", "https://evil.example")],
            403,
        ),
        (
            "no cookie, our origin",
            Jar::None,
            vec![("Origin", own_origin.as_str())],
            403,
        ),
        ("another browser's cookie", Jar::Another, vec![], 403),
        (
            "the right cookie, evil origin",
            Jar::Own,
            vec![("Origin", "https://evil.example")],
            403,
        ),
        (
            "the right cookie, cross-site",
            Jar::Own,
            vec![("Sec-Fetch-Site", "cross-site")],
            403,
        ),
        (
            "the right cookie, null origin, cross-site",
            Jar::Own,
            vec![("Origin", "null"), ("Sec-Fetch-Site", "cross-site")],
            403,
        ),
        // What Chromium sends from our page (which has `Referrer-Policy: no-referrer`).
        (
            "the right cookie, null origin, same-origin",
            Jar::Own,
            vec![("Origin", "null"), ("Sec-Fetch-Site", "same-origin")],
            303,
        ),
        (
            "the right cookie, our origin, same-origin",
            Jar::Own,
            vec![
                ("Origin", own_origin.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            303,
        ),
    ];
    for (what, jar, headers, expected) in cases {
        let form = sign_in_form(&app, &t.org).await;
        let cookie = match jar {
            Jar::None => None,
            Jar::Own => Some(form.cookie.clone()),
            Jar::Another => Some(sign_in_form(&app, &t.org).await.cookie),
        };
        let mut sent: Vec<(&str, &str)> = headers.clone();
        if let Some(c) = &cookie {
            sent.push(("Cookie", c));
        }
        let res = post_sign_in(&t.org, &form.csrf, login, password, &sent).await;
        assert_eq!(res.status(), expected, "{what}");
        assert_eq!(sets_session(&res), expected == 303, "{what}");
        if expected == 303 {
            let again = post_sign_in(&t.org, &form.csrf, login, password, &sent).await;
            assert_eq!(again.status(), 403, "{what}: a token is used once");
        }
    }
    app.stop().await;
}

async fn signs_in(
    app: &TestApp,
    org: &str,
    login: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> u16 {
    let f = sign_in_form(app, org).await;
    let mut headers = vec![("Cookie", f.cookie.as_str())];
    headers.extend_from_slice(extra);
    post_sign_in(org, &f.csrf, login, password, &headers)
        .await
        .status()
        .as_u16()
}

/// The 11th successful sign-in of a user within a minute got a 429 page. Successes no longer
/// count: only failures do.
#[actix_web::test]
async fn successful_sign_ins_are_never_throttled() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.user(&t, "ada@example.com").await;
    for i in 0..15 {
        assert_eq!(
            signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
            303,
            "sign-in {i}"
        );
    }
    // Nine failures and a success, twice over: the success resets the count, no lockout.
    for round in 0..2 {
        for _ in 0..9 {
            assert_eq!(
                signs_in(&app, &t.org, "ada@example.com", "wrong", &[]).await,
                401
            );
        }
        assert_eq!(
            signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
            303,
            "round {round}"
        );
    }
    app.stop().await;
}

/// Password spraying: 40 usernames in a couple of seconds from one address were not slowed.
/// Failures are now counted per client address too: past 20 a minute the address gets a 429
/// page, correct password or not, while other addresses sign in as usual.
#[actix_web::test]
async fn password_spraying_from_one_address_is_throttled() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.user(&t, "ada@example.com").await;
    // The test client is on loopback, a trusted proxy by default: it says who the client is.
    let sprayer = [("X-Forwarded-For", "198.51.100.7")];
    let mut statuses = Vec::new();
    for i in 0..40 {
        statuses.push(
            signs_in(
                &app,
                &t.org,
                &format!("user{i}@example.com"),
                "Spring2026!",
                &sprayer,
            )
            .await,
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        signs_in(
            &app,
            &t.org,
            "ada@example.com",
            "Analytical1Engine",
            &sprayer
        )
        .await,
        429
    );
    assert_eq!(
        signs_in(
            &app,
            &t.org,
            "ada@example.com",
            "Analytical1Engine",
            &[("X-Forwarded-For", "203.0.113.5")]
        )
        .await,
        303
    );
    app.stop().await;
}

/// Okta's lockout: ten failed sign-ins in a row make the user `LOCKED_OUT` (the System Log says
/// so); the right password then fails like a wrong one, on the sign-in page and the password
/// grant; an admin's unlock makes them `ACTIVE` again. Unlocking a user who is not locked is
/// `403 E0000032`.
#[actix_web::test]
async fn ten_failures_lock_a_user_out_until_an_admin_unlocks_them() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let u = app.user(&t, "ada@example.com").await;
    let uid = u["id"].as_str().unwrap().to_owned();
    let reply = app
        .api(
            &t,
            Method::POST,
            &format!("/users/{uid}/lifecycle/unlock"),
            None,
        )
        .await;
    reply.expect_error(403, "E0000032");
    for _ in 0..10 {
        assert_eq!(
            signs_in(&app, &t.org, "ada@example.com", "wrong", &[]).await,
            401
        );
    }
    let locked = app
        .api(&t, Method::GET, &format!("/users/{uid}"), None)
        .await
        .expect(200);
    assert_eq!(locked["status"], "LOCKED_OUT");
    assert_eq!(
        signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
        401,
        "a locked user cannot sign in, and the page does not say why"
    );
    assert_eq!(
        password_sign_in(&app, &t, "ada@example.com", "Analytical1Engine").await,
        400
    );
    app.api(
        &t,
        Method::POST,
        &format!("/users/{uid}/lifecycle/unlock"),
        None,
    )
    .await
    .expect(200);
    let unlocked = app
        .api(&t, Method::GET, &format!("/users/{uid}"), None)
        .await
        .expect(200);
    assert_eq!(unlocked["status"], "ACTIVE");
    assert_eq!(
        signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
        303
    );
    app.state.syslog.flush().await;
    let events = app
        .api(
            &t,
            Method::GET,
            "/logs?filter=eventType%20sw%20%22user.account%22",
            None,
        )
        .await
        .expect(200);
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    assert!(types.contains(&"user.account.lock"), "{types:?}");
    assert!(types.contains(&"user.account.unlock_by_admin"), "{types:?}");
    app.stop().await;
}

/// With Okta's `autoUnlockMinutes` (`sign_in.lockout_minutes`), the lock ends by itself.
#[actix_web::test]
async fn a_lockout_ends_by_itself_after_the_lockout_period() {
    let clock = std::sync::Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let mut cfg = config(Backend::Embedded).await;
    cfg.sign_in.lockout_attempts = 3;
    cfg.sign_in.lockout_minutes = 15;
    let app = crate::helpers::spawn_clocked(cfg, &tessera::Service::ALL, clock.clone()).await;
    let t = app.provision().await;
    app.user(&t, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            signs_in(&app, &t.org, "ada@example.com", "wrong", &[]).await,
            401
        );
    }
    assert_eq!(
        signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
        401
    );
    clock.advance(time::Duration::minutes(16));
    assert_eq!(
        signs_in(&app, &t.org, "ada@example.com", "Analytical1Engine", &[]).await,
        303
    );
    app.stop().await;
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The data directory was created 0755 and `tessera.db`, `-wal` and `-shm` 0644 (they hold
/// password hashes and sealed secrets). Now 0700 and 0600, and a start tightens older ones.
#[cfg(unix)]
#[actix_web::test]
async fn the_data_directory_and_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let cfg = config(Backend::Embedded).await;
    let dir = cfg.data_dir.clone();
    let app = spawn_with(cfg.clone()).await;
    let t = app.provision().await;
    app.user(&t, "ada@example.com").await;
    assert_eq!(mode(&dir), 0o700);
    for file in [
        "tessera.db",
        "tessera.db-wal",
        "tessera.db-shm",
        "operator-token",
        "master-key",
    ] {
        let path = dir.join(file);
        if file == "operator-token" && !path.exists() {
            continue; // configured, not generated
        }
        assert_eq!(mode(&path), 0o600, "{file}");
    }
    app.stop().await;
    // An older data directory, world-readable: the next start tightens it.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("tessera.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let app = spawn_with(cfg).await;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("tessera.db")), 0o600);
    app.stop().await;
}

/// A client assertion whose `nbf` is ten minutes ahead was accepted; RFC 7523 §3 says it must
/// not be used before then.
#[actix_web::test]
async fn a_client_assertion_used_before_its_nbf_is_refused() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let client = OrgClient::create(&app, &t, &["okta.users.read"], Some("READ_ONLY_ADMIN")).await;
    let url = format!("{}/oauth2/v1/token", t.org);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let assertion = |nbf: i64, jti: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &json!({"iss": client.client_id, "sub": client.client_id, "aud": url, "iat": now,
                "nbf": nbf, "exp": now + 900, "jti": jti}),
            &jsonwebtoken::EncodingKey::from_ec_der(&client.key.pkcs8),
        )
        .unwrap()
    };
    let post = |assertion: String| {
        let (app, url) = (&app, &url);
        async move {
            let res = app
                .client
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "okta.users.read"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = post(assertion(now + 600, "ahead")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // Within a minute of clock skew, and in the past, it is fine.
    let (status, body) = post(assertion(now + 30, "skew")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(assertion(now - 60, "past")).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

/// No `Strict-Transport-Security` when the public URL was https, and no
/// `X-Content-Type-Options: nosniff` anywhere.
#[actix_web::test]
async fn responses_carry_nosniff_and_over_https_hsts() {
    let mut cfg = config(Backend::Embedded).await;
    cfg.public_url = Some("https://auth.example.test".into());
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let org = format!("{}/t/{}", app.base, t.name);
    for url in [
        format!("{}/healthz", app.base),
        format!("{org}/oauth2/default/.well-known/openid-configuration"),
        format!("{org}/login"),
        format!("{org}/api/v1/users"),
        format!("{}/no/such/page", app.base),
    ] {
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{url}"
        );
    }
    app.stop().await;
    let app = spawn(Backend::Embedded).await;
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "not over http"
    );
    app.stop().await;
}

/// `/metrics` was served on the public listener and named every tenant. It is now on its own
/// listener (`metrics_listen`, loopback by default), which serves nothing else.
#[actix_web::test]
async fn metrics_are_served_on_their_own_listener_and_nowhere_else() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    for path in ["/metrics", "/%6detrics", "/metrics/", "/METRICS"] {
        let res = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "public {path}");
    }
    let res = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("tessera_http_requests_total"), "{text}");
    for path in [
        "/healthz",
        "/readyz",
        &format!("/t/{}/api/v1/users", t.name),
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.metrics_base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "metrics listener {path}");
    }
    app.stop().await;
}

/// `POST /apps/{id}/credentials/jwks` stored malformed keys (`"n":"!!!not-base64!!!"`,
/// `"use":{}`), which then broke Okta's SDKs listing them. JWKs are checked on write.
#[actix_web::test]
async fn malformed_client_jwks_are_refused_on_write() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let client = OrgClient::create(&app, &t, &[], None).await;
    let jwks = format!("/apps/{}/credentials/jwks", client.app_id);
    let mut bad_use = tessera_jose::generate(tessera_jose::Alg::ES256)
        .unwrap()
        .public_jwk;
    bad_use["use"] = json!({});
    bad_use["kid"] = json!("k-use");
    for (label, key) in [
        (
            "bad modulus",
            json!({"kty": "RSA", "kid": "k-n", "n": "!!!not-base64!!!", "e": "AQAB"}),
        ),
        ("use is an object", bad_use),
        (
            "unknown curve",
            json!({"kty": "EC", "kid": "k-c", "crv": "P-192", "x": "AA", "y": "AA"}),
        ),
    ] {
        let body = app
            .api(&t, Method::POST, &jwks, Some(key))
            .await
            .expect_error(400, "E0000001");
        assert!(
            crate::helpers::causes(&body).contains("jwk"),
            "{label}: {body}"
        );
    }
    let listed = app.api(&t, Method::GET, &jwks, None).await.expect(200);
    let keys = listed
        .as_array()
        .cloned()
        .or_else(|| listed["keys"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(keys.len(), 1, "only the key made with the app: {listed}");
    for k in &keys {
        assert_eq!(tessera_jose::jwk::check_public(k), Ok(()), "{k}");
    }
    // A well-formed key is taken.
    let good = tessera_jose::generate(tessera_jose::Alg::ES256)
        .unwrap()
        .public_jwk;
    app.api(&t, Method::POST, &jwks, Some(good))
        .await
        .expect(201);
    app.stop().await;
}
