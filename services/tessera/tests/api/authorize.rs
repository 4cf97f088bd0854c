//! The authorization-code flow driven like a browser without JavaScript: `/authorize` sends the
//! user to the hosted sign-in form, the form (with its CSRF token) is submitted, the session
//! cookie resumes the request, the code comes back with `state`, and is exchanged with PKCE.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::helpers::{Backend, Tenant, TestApp, spawn, user};

pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mJ92ZcM5bLk4e4nPzvMkY8wQ0aCddExampleVerifier1234";

pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

pub(crate) struct Browser {
    http: reqwest::Client,
    /// The session cookie (`name=value`), once signed in.
    cookie: Option<String>,
    /// The pre-login cookie the sign-in page set, sent back with the form as a browser does.
    pre_login: Option<String>,
    base: String,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            pre_login: None,
            base: app.base.clone(),
        }
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        }
    }

    /// Every cookie this browser holds, as a `Cookie` header value.
    fn cookies(&self) -> Option<String> {
        let all: Vec<&str> = [&self.cookie, &self.pre_login]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }

    pub(crate) async fn get(&self, url: &str) -> reqwest::Response {
        let mut req = self.http.get(self.absolute(url));
        if let Some(c) = self.cookies() {
            req = req.header("Cookie", c);
        }
        req.send().await.unwrap()
    }

    /// Posts a form as this browser (its cookies, no redirects followed).
    pub(crate) async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.post(self.absolute(url)).form(fields);
        if let Some(c) = self.cookies() {
            req = req.header("Cookie", c);
        }
        req.send().await.unwrap()
    }

    /// Follows `/authorize` → sign-in → resume, signing in with `password`; returns the final
    /// response (normally the redirect back to the client).
    pub(crate) async fn sign_in_through(
        &mut self,
        authorize_url: &str,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        self.sign_in_posting(authorize_url, login, password, &[])
            .await
    }

    /// [`Browser::sign_in_through`], posting `extra` fields with the form too.
    pub(crate) async fn sign_in_posting(
        &mut self,
        authorize_url: &str,
        login: &str,
        password: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let res = self.get(authorize_url).await;
        if res.status() != 302 || !location(&res).contains("/login?pending=") {
            return res;
        }
        let page = self.get(&location(&res)).await;
        if let Some(set) = page.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            assert!(pair.contains("tessera_login="), "{pair}");
            self.pre_login = Some(pair);
        }
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let html = page.text().await.unwrap();
        let field = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
            html[start..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let (csrf, pending) = (field("csrf"), field("pending"));
        let tenant_path = location(&res).split("/login").next().unwrap().to_owned();
        let mut post = self
            .http
            .post(self.absolute(&format!("{tenant_path}/login")));
        if let Some(c) = self.cookies() {
            post = post.header("Cookie", c);
        }
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("pending", pending.as_str()),
            ("username", login),
            ("password", password),
        ];
        fields.extend_from_slice(extra);
        let posted = post.form(&fields).send().await.unwrap();
        if posted.status() != 303 {
            return posted;
        }
        let set_cookie = posted.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set_cookie.contains("HttpOnly")
                && set_cookie.contains("SameSite=Lax")
                && set_cookie.contains(&format!("Path={tenant_path}")),
            "{set_cookie}"
        );
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
        self.get(&location(&posted)).await
    }
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(crate) struct Setup {
    pub(crate) t: Tenant,
    pub(crate) web_id: String,
    pub(crate) web_secret: String,
    pub(crate) spa_id: String,
    pub(crate) uid: String,
}

pub(crate) async fn setup(app: &TestApp) -> Setup {
    let provisioned = app.provision().await;
    // Talk to this process whatever public URL the deployment is configured with.
    let t = Tenant {
        org: format!("{}/t/{}", app.base, provisioned.name),
        ..provisioned
    };
    let web = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "portal", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "redirect_uris": ["https://portal.example/callback"],
            "post_logout_redirect_uris": ["https://portal.example/signed-out"]}}}))).await.expect(200);
    let spa = app.api(&t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "spa", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
        "settings": {"oauthClient": {"application_type": "browser", "grant_types": ["authorization_code"],
            "response_types": ["code"], "redirect_uris": ["https://spa.example/cb"]}}}))).await.expect(200);
    let u = app
        .api(&t, Method::POST, "/users", Some(user("flow@example.com")))
        .await
        .expect(200);
    let uid = u["id"].as_str().unwrap().to_owned();
    for a in [&web, &spa] {
        app.api(
            &t,
            Method::POST,
            &format!("/apps/{}/users", a["id"].as_str().unwrap()),
            Some(json!({"id": uid})),
        )
        .await
        .expect(200);
    }
    Setup {
        web_id: web["id"].as_str().unwrap().to_owned(),
        web_secret: web["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
        spa_id: spa["id"].as_str().unwrap().to_owned(),
        uid,
        t,
    }
}

pub(crate) fn authorize_url(
    t: &Tenant,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("client_id", client_id.into()),
        ("redirect_uri", redirect_uri.into()),
        ("response_type", "code".into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{}/oauth2/default/v1/authorize?{q}", t.org)
}

pub(crate) async fn exchange(
    app: &TestApp,
    t: &Tenant,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/oauth2/default/v1/token", t.org))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn code_flow_with_pkce_signs_in_issues_tokens_and_revokes_them_on_code_replay() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let url = authorize_url(
        &s.t,
        &s.web_id,
        "https://portal.example/callback",
        &[
            ("scope", "openid profile offline_access"),
            ("state", "st-123"),
            ("nonce", "n-456"),
            ("code_challenge", &ch),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut browser = Browser::new(&app);

    // Wrong password: the form again, a generic message, no session.
    let failed = browser
        .sign_in_through(&url, "flow@example.com", "wrong")
        .await;
    assert_eq!(failed.status(), 401);
    assert!(failed.headers().get("set-cookie").is_none());
    assert!(
        failed
            .text()
            .await
            .unwrap()
            .contains("Sign-in failed. Check your username and password")
    );

    let back = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    assert_eq!(back.status(), 302);
    let loc = location(&back);
    assert!(loc.starts_with("https://portal.example/callback?"), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
    let code = query_param(&loc, "code").expect("a code");

    // A wrong verifier fails; the code is then spent.
    let (status, body) = exchange(
        &app,
        &s.t,
        Some((&s.web_id, &s.web_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://portal.example/callback"),
            ("code_verifier", "x".repeat(43).as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("PKCE verification failed."))
    );

    // A fresh code, now exchanged correctly.
    let back = browser.get(&url).await;
    let code = query_param(&location(&back), "code").expect("signed in already: a code at once");
    let (status, body) = exchange(
        &app,
        &s.t,
        Some((&s.web_id, &s.web_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://portal.example/other"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "redirect_uri mismatch: {body}"
    );
    let back = browser.get(&url).await;
    let code = query_param(&location(&back), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://portal.example/callback"),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = exchange(&app, &s.t, Some((&s.web_id, &s.web_secret)), &form).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            claims["nonce"].as_str(),
            claims["sub"].as_str(),
            claims["aud"].as_str()
        ),
        (Some("n-456"), Some(s.uid.as_str()), Some(s.web_id.as_str()))
    );
    let (at, rt) = (
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    );

    // Replay: refused, and what the code minted is revoked.
    let (status, body) = exchange(&app, &s.t, Some((&s.web_id, &s.web_secret)), &form).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (
            400,
            Some("The authorization code is invalid or has expired.")
        )
    );
    for token in [&at, &rt] {
        let (_, r) = {
            let res = app
                .client
                .post(format!("{}/oauth2/default/v1/introspect", s.t.org))
                .header(
                    "Authorization",
                    format!(
                        "Basic {}",
                        STANDARD.encode(format!("{}:{}", s.web_id, s.web_secret))
                    ),
                )
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        };
        assert_eq!(
            r,
            json!({"active": false}),
            "a replayed code revokes its tokens"
        );
    }
    // The sign-in is in the System Log as Okta's `user.session.start` (the failed attempt is
    // not a session).
    let sessions = app
        .api(
            &s.t,
            Method::GET,
            "/logs?filter=eventType%20eq%20%22user.session.start%22",
            None,
        )
        .await
        .expect(200);
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["actor"]["id"], s.uid.as_str());
    assert_eq!(sessions[0]["actor"]["alternateId"], "flow@example.com");
    assert_eq!(sessions[0]["outcome"]["result"], "SUCCESS");
    app.stop().await;
}

#[actix_web::test]
async fn authorize_checks_its_parameters_and_only_redirects_to_registered_uris() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let browser = Browser::new(&app);
    // Unknown client or unregistered redirect URI: an error page, never a redirect.
    for url in [
        authorize_url(
            &s.t,
            "0oanosuchclient",
            "https://portal.example/callback",
            &[("scope", "openid"), ("state", "s")],
        ),
        authorize_url(
            &s.t,
            &s.web_id,
            "https://evil.example/callback",
            &[("scope", "openid"), ("state", "s")],
        ),
    ] {
        let res = browser.get(&url).await;
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
    }
    let redirected = |res: &reqwest::Response| query_param(&location(res), "error");
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.web_id,
            "https://portal.example/callback",
            &[("scope", "openid")],
        ))
        .await;
    assert_eq!(
        redirected(&res).as_deref(),
        Some("invalid_request"),
        "state is required"
    );
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.web_id,
            "https://portal.example/callback",
            &[
                ("scope", "openid"),
                ("state", "s"),
                ("response_type", "token"),
            ],
        ))
        .await;
    assert_eq!(
        res.status(),
        400,
        "a repeated response_type is refused on the page"
    );
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.spa_id,
            "https://spa.example/cb",
            &[("scope", "openid"), ("state", "s")],
        ))
        .await;
    assert_eq!(
        redirected(&res).as_deref(),
        Some("invalid_request"),
        "a public client must use PKCE"
    );
    assert!(
        query_param(&location(&res), "error_description")
            .unwrap()
            .contains("PKCE")
    );
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.spa_id,
            "https://spa.example/cb",
            &[
                ("scope", "openid"),
                ("state", "s"),
                ("code_challenge", "abc"),
                ("code_challenge_method", "plain"),
            ],
        ))
        .await;
    assert_eq!(
        redirected(&res).as_deref(),
        Some("invalid_request"),
        "plain PKCE is refused"
    );
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.web_id,
            "https://portal.example/callback",
            &[("scope", "openid"), ("state", "s"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(redirected(&res).as_deref(), Some("login_required"));
    assert_eq!(query_param(&location(&res), "state").as_deref(), Some("s"));
    app.stop().await;
}

#[actix_web::test]
async fn public_clients_exchange_codes_without_a_secret_and_unassigned_users_are_refused() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let mut browser = Browser::new(&app);
    let url = authorize_url(
        &s.t,
        &s.spa_id,
        "https://spa.example/cb",
        &[
            ("scope", "openid"),
            ("state", "x"),
            ("code_challenge", &ch),
            ("code_challenge_method", "S256"),
            ("response_mode", "form_post"),
        ],
    );
    let back = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    assert_eq!(
        back.status(),
        200,
        "form_post answers with an auto-submitting form"
    );
    // The page escapes `/` in attribute values as `&#x2f;`, which browsers read back as `/`.
    let html = back.text().await.unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains("action=\"https://spa.example/cb\"")
            && html.contains("name=\"state\" value=\"x\""),
        "{html}"
    );
    let code = html
        .split("name=\"code\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, tokens) = exchange(
        &app,
        &s.t,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://spa.example/cb"),
            ("code_verifier", VERIFIER),
            ("client_id", &s.spa_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );

    // Unassigned from the SPA: the next authorize is refused back to the client.
    app.api(
        &s.t,
        Method::DELETE,
        &format!("/apps/{}/users/{}", s.spa_id, s.uid),
        None,
    )
    .await
    .expect(204);
    let res = browser
        .get(&authorize_url(
            &s.t,
            &s.spa_id,
            "https://spa.example/cb",
            &[
                ("scope", "openid"),
                ("state", "x"),
                ("code_challenge", &ch),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("access_denied")
    );
    app.stop().await;
}

#[actix_web::test]
async fn sessions_and_codes_work_across_two_token_processes_sharing_redis() {
    let mut cfg = crate::helpers::config(Backend::Shared).await;
    cfg.master_key = Some(tessera_jose::MasterKey::generate_text(
        &tessera_domain::SystemRandom,
    ));
    cfg.public_url = Some("https://auth.example.test".into());
    let app = crate::helpers::spawn_with(cfg.clone()).await;
    let port = crate::helpers::free_port();
    let _other = crate::helpers::service_process(&cfg, "token", port, &[]);
    let s = setup(&app).await;
    let here = Tenant {
        org: format!("{}/t/{}", app.base, s.t.name),
        ..s.t.clone()
    };
    let there = Tenant {
        org: format!("http://127.0.0.1:{port}/t/{}", s.t.name),
        ..s.t.clone()
    };
    let ch = challenge(VERIFIER);
    let extra = [
        ("scope", "openid"),
        ("state", "x"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // Sign in on this process; exchange the code on the other.
    let mut browser = Browser::new(&app);
    let back = browser
        .sign_in_through(
            &authorize_url(&here, &s.web_id, "https://portal.example/callback", &extra),
            "flow@example.com",
            "Analytical1Engine",
        )
        .await;
    let code = query_param(&location(&back), "code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://portal.example/callback"),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = exchange(&app, &there, Some((&s.web_id, &s.web_secret)), &form).await;
    assert_eq!(status, 200, "{body}");
    // The session cookie set by one process is honoured by the other.
    let other_browser = Browser {
        http: browser.http.clone(),
        cookie: browser.cookie.clone(),
        pre_login: browser.pre_login.clone(),
        base: format!("http://127.0.0.1:{port}"),
    };
    let res = other_browser
        .get(&authorize_url(
            &there,
            &s.web_id,
            "https://portal.example/callback",
            &extra,
        ))
        .await;
    assert!(
        query_param(&location(&res), "code").is_some(),
        "signed in on the other process: {}",
        location(&res)
    );
    // And the code is single use across processes.
    let (status, _) = exchange(&app, &here, Some((&s.web_id, &s.web_secret)), &form).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[actix_web::test]
async fn logout_ends_the_session_and_returns_to_a_registered_uri_with_state() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let ch = challenge(VERIFIER);
    let extra = [
        ("scope", "openid"),
        ("state", "x"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = authorize_url(&s.t, &s.web_id, "https://portal.example/callback", &extra);
    let mut browser = Browser::new(&app);
    let back = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    let code = query_param(&location(&back), "code").unwrap();
    let (_, tokens) = exchange(
        &app,
        &s.t,
        Some((&s.web_id, &s.web_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://portal.example/callback"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let logout = |params: &[(&str, &str)]| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}/oauth2/default/v1/logout?{q}", s.t.org)
    };

    // Refusals: no hint, a forged hint, an unregistered return URI — pages, no redirect.
    for bad in [
        logout(&[]),
        logout(&[("id_token_hint", "a.b.c")]),
        logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]),
    ] {
        let res = browser.get(&bad).await;
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
    }
    // Still signed in: authorize answers with a code at once.
    assert!(query_param(&location(&browser.get(&url).await), "code").is_some());

    let res = browser
        .get(&logout(&[
            ("id_token_hint", &id_token),
            (
                "post_logout_redirect_uri",
                "https://portal.example/signed-out",
            ),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        location(&res),
        "https://portal.example/signed-out?state=bye"
    );
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "the cookie is cleared"
    );
    // The session is gone even for a client that kept the old cookie.
    let res = browser.get(&url).await;
    assert!(
        location(&res).contains("/login?pending="),
        "signed out: {}",
        location(&res)
    );
    // Without a return URI the browser goes to the sign-in page.
    let res = browser.get(&logout(&[("id_token_hint", &id_token)])).await;
    assert_eq!(location(&res), format!("/t/{}/login", s.t.name));
    app.stop().await;
}

/// A scope `photos.read` that needs consent, and the web app set to ask for it.
async fn require_consent(app: &TestApp, s: &Setup) {
    app.api(&s.t, Method::POST, "/authorizationServers/default/scopes", Some(json!({"name": "photos.read", "consent": "REQUIRED", "description": "Read your photos"}))).await.expect(201);
    let mut body = app
        .api(&s.t, Method::GET, &format!("/apps/{}", s.web_id), None)
        .await
        .expect(200);
    body["settings"]["oauthClient"]["consent_method"] = json!("REQUIRED");
    app.api(
        &s.t,
        Method::PUT,
        &format!("/apps/{}", s.web_id),
        Some(body),
    )
    .await
    .expect(200);
}

/// The pending consent id of a consent page.
fn consent_id(html: &str) -> String {
    html.split("name=\"consent\" value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("not a consent page: {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Whether this authorize request stops at the consent page (rather than redirecting).
async fn asks_consent(browser: &Browser, url: &str) -> bool {
    browser.get(url).await.status() == 200
}

/// The user's answer on the consent page.
async fn decide(browser: &Browser, t: &Tenant, id: &str, decision: &str) -> reqwest::Response {
    browser
        .http
        .post(format!("{}/consent", t.org))
        .header("Cookie", browser.cookie.clone().unwrap())
        .form(&[("consent", id), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn consent_is_asked_stored_and_respected_for_apps_that_require_it() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    require_consent(&app, &s).await;
    let ch = challenge(VERIFIER);
    let extra = [
        ("scope", "openid photos.read"),
        ("state", "c1"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = authorize_url(&s.t, &s.web_id, "https://portal.example/callback", &extra);
    let mut browser = Browser::new(&app);
    let page = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    assert_eq!(page.status(), 200, "the consent page");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Read your photos") && html.contains("photos.read"),
        "{html}"
    );
    // prompt=none while consent is missing: consent_required.
    let none = authorize_url(
        &s.t,
        &s.web_id,
        "https://portal.example/callback",
        &[extra.as_slice(), &[("prompt", "none")]].concat(),
    );
    assert_eq!(
        query_param(&location(&browser.get(&none).await), "error").as_deref(),
        Some("consent_required")
    );

    // Deny: access_denied back to the client with state.
    let res = decide(&browser, &s.t, &consent_id(&html), "deny").await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location(&res), "state").as_deref(), Some("c1"));
    // Allow: a code, and the consent is remembered.
    let html = browser.get(&url).await.text().await.unwrap();
    let id = consent_id(&html);
    let res = decide(&browser, &s.t, &id, "allow").await;
    assert!(
        query_param(&location(&res), "code").is_some(),
        "{}",
        location(&res)
    );
    assert_eq!(
        decide(&browser, &s.t, &id, "allow").await.status(),
        400,
        "a consent request is single use"
    );
    let res = browser.get(&url).await;
    assert!(
        query_param(&location(&res), "code").is_some(),
        "asked once only"
    );
    // prompt=consent asks again.
    let again = authorize_url(
        &s.t,
        &s.web_id,
        "https://portal.example/callback",
        &[extra.as_slice(), &[("prompt", "consent")]].concat(),
    );
    assert_eq!(browser.get(&again).await.status(), 200);
    // The System Log has the consent (once) and the two codes, with the user as actor.
    let events = app
        .api(
            &s.t,
            Method::GET,
            "/logs?filter=eventType%20sw%20%22app.oauth2.as.%22",
            None,
        )
        .await
        .expect(200);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] != "app.oauth2.as.token.grant")
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "app.oauth2.as.consent.grant",
            "app.oauth2.as.authorize",
            "app.oauth2.as.authorize.code",
            "app.oauth2.as.authorize",
            "app.oauth2.as.authorize.code",
        ]
    );
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"]["type"] == "User")
    );
    app.stop().await;
}

#[actix_web::test]
async fn consent_grants_are_listed_and_revoked_through_the_user_grants_api() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    require_consent(&app, &s).await;
    let ch = challenge(VERIFIER);
    let extra = [
        ("scope", "openid photos.read"),
        ("state", "g1"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = authorize_url(&s.t, &s.web_id, "https://portal.example/callback", &extra);
    let mut browser = Browser::new(&app);
    let page = browser
        .sign_in_through(&url, "flow@example.com", "Analytical1Engine")
        .await;
    let html = page.text().await.unwrap();
    let allowed = decide(&browser, &s.t, &consent_id(&html), "allow").await;
    assert!(query_param(&location(&allowed), "code").is_some());
    assert!(!asks_consent(&browser, &url).await, "consent is remembered");

    // One grant per consented scope (openid is IMPLICIT), shaped as Okta's.
    let grants = app
        .api(
            &s.t,
            Method::GET,
            &format!("/users/{}/grants?expand=scope", s.uid),
            None,
        )
        .await
        .expect(200);
    let grants = grants.as_array().unwrap();
    assert_eq!(grants.len(), 1, "{grants:?}");
    let g = &grants[0];
    let scope = app
        .api(
            &s.t,
            Method::GET,
            "/authorizationServers/default/scopes",
            None,
        )
        .await
        .expect(200);
    let scope_id = scope
        .as_array()
        .unwrap()
        .iter()
        .find(|sc| sc["name"] == "photos.read")
        .unwrap()["id"]
        .clone();
    assert_eq!(g["status"], "ACTIVE");
    assert_eq!(g["source"], "END_USER");
    assert_eq!(g["userId"], s.uid.as_str());
    assert_eq!(g["clientId"], s.web_id.as_str());
    assert_eq!(g["scopeId"], scope_id);
    assert_eq!(g["issuer"], format!("{}/oauth2/default", s.t.org));
    assert_eq!(g["_embedded"]["scope"]["name"], "photos.read");
    let gid = g["id"].as_str().unwrap();
    let one = app
        .api(
            &s.t,
            Method::GET,
            &format!("/users/{}/grants/{gid}", s.uid),
            None,
        )
        .await
        .expect(200);
    assert_eq!(one["id"], gid);
    let by_client = app
        .api(
            &s.t,
            Method::GET,
            &format!("/users/{}/clients/{}/grants", s.uid, s.web_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(by_client.as_array().unwrap().len(), 1);
    let filtered = app
        .api(
            &s.t,
            Method::GET,
            &format!("/users/{}/grants?scopeId=scpNoSuchScope", s.uid),
            None,
        )
        .await
        .expect(200);
    assert_eq!(filtered, json!([]));
    // Another tenant sees neither the user nor the grant.
    let other = app.provision().await;
    app.api(
        &other,
        Method::GET,
        &format!("/users/{}/grants/{gid}", s.uid),
        None,
    )
    .await
    .expect(404);

    // Revoking the grant: listed no more, and the next authorize asks again.
    app.api(
        &s.t,
        Method::DELETE,
        &format!("/users/{}/grants/{gid}", s.uid),
        None,
    )
    .await
    .expect(204);
    app.api(
        &s.t,
        Method::GET,
        &format!("/users/{}/grants/{gid}", s.uid),
        None,
    )
    .await
    .expect(404);
    assert!(
        asks_consent(&browser, &url).await,
        "a revoked consent is asked for again"
    );

    // Allow again, then revoke everything the user gave the client.
    let html = browser.get(&url).await.text().await.unwrap();
    decide(&browser, &s.t, &consent_id(&html), "allow").await;
    assert!(!asks_consent(&browser, &url).await);
    app.api(
        &s.t,
        Method::DELETE,
        &format!("/users/{}/clients/{}/grants", s.uid, s.web_id),
        None,
    )
    .await
    .expect(204);
    assert!(asks_consent(&browser, &url).await);

    // Revoking all of the user's grants at once.
    let html = browser.get(&url).await.text().await.unwrap();
    decide(&browser, &s.t, &consent_id(&html), "allow").await;
    assert!(!asks_consent(&browser, &url).await);
    app.api(
        &s.t,
        Method::DELETE,
        &format!("/users/{}/grants", s.uid),
        None,
    )
    .await
    .expect(204);
    assert!(asks_consent(&browser, &url).await);

    // Implicit revocation: deactivating the app ends its consents.
    let html = browser.get(&url).await.text().await.unwrap();
    decide(&browser, &s.t, &consent_id(&html), "allow").await;
    for step in ["deactivate", "activate"] {
        app.api(
            &s.t,
            Method::POST,
            &format!("/apps/{}/lifecycle/{step}", s.web_id),
            None,
        )
        .await
        .expect(200);
    }
    assert_eq!(
        app.api(&s.t, Method::GET, &format!("/users/{}/grants", s.uid), None)
            .await
            .expect(200),
        json!([])
    );
    assert!(
        asks_consent(&browser, &url).await,
        "asked again after the app was deactivated"
    );
    app.stop().await;
}

/// The parameters of a fragment (`#a=b&c=d`).
fn fragment_params(url: &str) -> std::collections::HashMap<String, String> {
    url.split_once('#')
        .map(|(_, f)| {
            url::form_urlencoded::parse(f.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn jwt_claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn half_hash(v: &str) -> String {
    URL_SAFE_NO_PAD
        .encode(&ring::digest::digest(&ring::digest::SHA256, v.as_bytes()).as_ref()[..16])
}

#[actix_web::test]
async fn implicit_and_hybrid_responses_carry_tokens_in_the_fragment_with_their_hashes() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let spa = app.api(&s.t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "implicit spa", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "none"}},
        "settings": {"oauthClient": {"application_type": "browser", "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code", "token", "id_token"], "redirect_uris": ["https://implicit.example/cb"]}}}))).await.expect(200);
    let spa_id = spa["id"].as_str().unwrap().to_owned();
    app.api(
        &s.t,
        Method::POST,
        &format!("/apps/{spa_id}/users"),
        Some(json!({"id": s.uid})),
    )
    .await
    .expect(200);
    let mut browser = Browser::new(&app);
    let url = |rt: &str, extra: &[(&str, &str)]| {
        let mut e: Vec<(&str, &str)> = vec![
            ("scope", "openid email"),
            ("state", "i1"),
            ("response_type", rt),
        ];
        e.extend_from_slice(extra);
        let mut pairs: Vec<(&str, String)> = vec![
            ("client_id", spa_id.clone()),
            ("redirect_uri", "https://implicit.example/cb".into()),
        ];
        pairs.extend(e.iter().map(|(k, v)| (*k, (*v).to_owned())));
        format!(
            "{}/oauth2/default/v1/authorize?{}",
            s.t.org,
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        )
    };

    // id_token token: both in the fragment; a thin ID token with nonce and at_hash.
    let res = browser
        .sign_in_through(
            &url("id_token token", &[("nonce", "n1")]),
            "flow@example.com",
            "Analytical1Engine",
        )
        .await;
    let loc = location(&res);
    assert!(loc.starts_with("https://implicit.example/cb#"), "{loc}");
    let f = fragment_params(&loc);
    assert_eq!(
        (
            f["state"].as_str(),
            f["token_type"].as_str(),
            f["scope"].as_str()
        ),
        ("i1", "Bearer", "openid email")
    );
    let idt = jwt_claims(&f["id_token"]);
    assert_eq!(idt["nonce"], "n1");
    assert_eq!(idt["at_hash"], half_hash(&f["access_token"]));
    assert!(idt.get("email").is_none(), "thin beside an access token");

    // id_token alone: fat — the claims of the granted scopes.
    let f = fragment_params(&location(
        &browser.get(&url("id_token", &[("nonce", "n2")])).await,
    ));
    let idt = jwt_claims(&f["id_token"]);
    assert_eq!(
        (idt["email"].as_str(), idt["nonce"].as_str()),
        (Some("flow@example.com"), Some("n2"))
    );
    assert!(idt.get("at_hash").is_none() && !f.contains_key("access_token"));

    // Hybrid: code id_token with c_hash; the code still needs its PKCE verifier.
    let ch = challenge(VERIFIER);
    let f = fragment_params(&location(
        &browser
            .get(&url(
                "code id_token",
                &[
                    ("nonce", "n3"),
                    ("code_challenge", &ch),
                    ("code_challenge_method", "S256"),
                ],
            ))
            .await,
    ));
    assert_eq!(jwt_claims(&f["id_token"])["c_hash"], half_hash(&f["code"]));
    let (status, _) = exchange(
        &app,
        &s.t,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &f["code"]),
            ("redirect_uri", "https://implicit.example/cb"),
            ("code_verifier", VERIFIER),
            ("client_id", &spa_id),
        ],
    )
    .await;
    assert_eq!(status, 200);

    // Refusals: nonce is required, tokens never go in a query, unregistered types are refused.
    let err = |res: &reqwest::Response| {
        fragment_params(&location(res))
            .get("error")
            .cloned()
            .or_else(|| query_param(&location(res), "error"))
    };
    assert_eq!(
        err(&browser.get(&url("token", &[])).await).as_deref(),
        Some("invalid_request"),
        "nonce required"
    );
    assert_eq!(
        err(&browser
            .get(&url("token", &[("nonce", "n"), ("response_mode", "query")]))
            .await)
        .as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        err(&browser.get(&url("device", &[("nonce", "n")])).await).as_deref(),
        Some("unsupported_response_type")
    );
    let web_token = authorize_url(
        &s.t,
        &s.web_id,
        "https://portal.example/callback",
        &[("scope", "openid"), ("state", "w"), ("nonce", "n")],
    )
    .replace("response_type=code", "response_type=token");
    assert_eq!(
        err(&browser.get(&web_token).await).as_deref(),
        Some("unauthorized_client"),
        "the web app has no implicit grant"
    );
    app.stop().await;
}

/// A request object (OIDC Core §6.1) signed with `key`, carrying `claims` plus `iss`, `aud`,
/// `exp` (`exp_in` seconds from now) and `jti`.
fn request_object(
    key: &jsonwebtoken::EncodingKey,
    alg: jsonwebtoken::Algorithm,
    claims: Value,
    exp_in: i64,
    jti: &str,
) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut all = claims;
    all["exp"] = json!(now + exp_in);
    all["iat"] = json!(now);
    all["jti"] = json!(jti);
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &all, key).unwrap()
}

#[actix_web::test]
async fn signed_request_objects_carry_the_parameters_and_are_verified() {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let generated = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let created = app.api(&s.t, Method::POST, "/apps", Some(json!({
        "name": "oidc_client", "label": "signed requests", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "private_key_jwt"}},
        "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code"],
            "response_types": ["code"], "redirect_uris": ["https://ro.example/cb"],
            "jwks": {"keys": [generated.public_jwk.clone()]}}}}))).await.expect(200);
    let client_id = created["id"].as_str().unwrap().to_owned();
    app.api(
        &s.t,
        Method::POST,
        &format!("/apps/{client_id}/users"),
        Some(json!({"id": s.uid})),
    )
    .await
    .expect(200);
    let key = EncodingKey::from_ec_der(&generated.pkcs8);
    let issuer = format!("{}/oauth2/default", s.t.org);
    let params = |state: &str| {
        json!({"iss": client_id, "aud": issuer, "client_id": client_id, "response_type": "code",
            "redirect_uri": "https://ro.example/cb", "scope": "openid", "state": state, "nonce": "n-1"})
    };
    let by_object = |jwt: &str, extra: &[(&str, &str)]| {
        let mut query = vec![
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("request", jwt),
        ];
        query.extend_from_slice(extra);
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{issuer}/v1/authorize?{q}")
    };

    // Without a session: the object's parameters survive the sign-in (its jti is spent once).
    let jwt = request_object(&key, Algorithm::ES256, params("ro-1"), 300, "jti-1");
    let mut browser = Browser::new(&app);
    let back = browser
        .sign_in_through(
            &by_object(&jwt, &[]),
            "flow@example.com",
            "Analytical1Engine",
        )
        .await;
    let status = back.status();
    let to = location(&back);
    assert_eq!(status, 302, "{}", back.text().await.unwrap());
    assert!(to.starts_with("https://ro.example/cb?"), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("ro-1"));
    let code = query_param(&to, "code").unwrap();

    // The code is bound to the object's redirect URI and nonce.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let assertion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::ES256),
        &json!({"iss": client_id, "sub": client_id, "aud": format!("{issuer}/v1/token"),
            "iat": now, "exp": now + 60, "jti": "a-1"}),
        &key,
    )
    .unwrap();
    let (status, body) = exchange(
        &app,
        &s.t,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://ro.example/cb"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())["nonce"],
        "n-1"
    );

    // The object's values win over the query's.
    let jwt = request_object(&key, Algorithm::ES256, params("from-object"), 300, "jti-2");
    let res = browser
        .get(&by_object(&jwt, &[("state", "from-query")]))
        .await;
    assert_eq!(
        query_param(&location(&res), "state").as_deref(),
        Some("from-object")
    );

    // Refusals go back to the client named in the query, with the query's state.
    let refused = |jwt: String, extra: Vec<(&'static str, &'static str)>| {
        let url = by_object(
            &jwt,
            &[
                &[("redirect_uri", "https://ro.example/cb"), ("state", "q-1")],
                extra.as_slice(),
            ]
            .concat(),
        );
        let browser = &browser;
        async move {
            let to = location(&browser.get(&url).await);
            assert!(to.starts_with("https://ro.example/cb?"), "{to}");
            assert_eq!(query_param(&to, "state").as_deref(), Some("q-1"), "{to}");
            (
                query_param(&to, "error").unwrap_or_default(),
                query_param(&to, "error_description").unwrap_or_default(),
            )
        }
    };
    let (error, why) = refused(jwt.clone(), vec![]).await;
    assert_eq!(
        (error.as_str(), why.as_str()),
        (
            "invalid_request_object",
            "The request object has already been used."
        )
    );
    let mut wrong_aud = params("x");
    wrong_aud["aud"] = json!("https://elsewhere.example");
    let (error, why) = refused(
        request_object(&key, Algorithm::ES256, wrong_aud, 300, "jti-3"),
        vec![],
    )
    .await;
    assert_eq!(error, "invalid_request_object");
    assert!(why.contains("audience"), "{why}");
    let (_, why) = refused(
        request_object(&key, Algorithm::ES256, params("x"), 7200, "jti-4"),
        vec![],
    )
    .await;
    assert_eq!(why, "The request object expires too far in the future.");
    let (_, why) = refused(
        request_object(&key, Algorithm::ES256, params("x"), -10, "jti-5"),
        vec![],
    )
    .await;
    assert_eq!(why, "The request object has expired.");
    let stranger = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
    let (_, why) = refused(
        request_object(
            &EncodingKey::from_ec_der(&stranger.pkcs8),
            Algorithm::ES256,
            params("x"),
            300,
            "jti-6",
        ),
        vec![],
    )
    .await;
    assert_eq!(why, "The request object signature is invalid.");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(params("x").to_string())
    );
    let (error, _) = refused(unsigned, vec![]).await;
    assert_eq!(error, "invalid_request_object");
    let mut implicit = params("x");
    implicit["response_type"] = json!("token");
    let (_, why) = refused(
        request_object(&key, Algorithm::ES256, implicit, 300, "jti-7"),
        vec![],
    )
    .await;
    assert!(why.contains("must match"), "{why}");
    // HS256 needs a secret the client keeps sealed: this client has none.
    let (_, why) = refused(
        request_object(
            &EncodingKey::from_secret(b"a-secret-that-is-at-least-32-characters"),
            Algorithm::HS256,
            params("x"),
            300,
            "jti-8",
        ),
        vec![],
    )
    .await;
    assert!(why.contains("not supported"), "{why}");
    let (error, _) = refused(
        request_object(&key, Algorithm::ES256, params("x"), 300, "jti-9"),
        vec![("request_uri", "urn:example:1")],
    )
    .await;
    assert_eq!(error, "invalid_request");

    // Discovery says so.
    let meta: Value = app
        .client
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["request_parameter_supported"], true);
    assert_eq!(meta["request_uri_parameter_supported"], false);
    app.stop().await;
}

#[actix_web::test]
async fn users_sign_in_to_the_tenant_itself_through_the_org_authorization_server() {
    let app = spawn(Backend::Embedded).await;
    let s = setup(&app).await;
    let org_authorize = |extra: &[(&str, &str)]| {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("client_id", s.web_id.as_str()),
            ("redirect_uri", "https://portal.example/callback"),
            ("response_type", "code"),
            ("state", "o1"),
            ("nonce", "n-org"),
        ];
        pairs.extend_from_slice(extra);
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{}/oauth2/v1/authorize?{q}", s.t.org)
    };
    // okta.* scopes must have been granted to the app; custom scopes are not allowed.
    let mut browser = Browser::new(&app);
    let refused = browser
        .sign_in_through(
            &org_authorize(&[("scope", "openid okta.users.read")]),
            "flow@example.com",
            "Analytical1Engine",
        )
        .await;
    assert_eq!(
        query_param(&location(&refused), "error").as_deref(),
        Some("invalid_scope")
    );
    let custom = browser
        .get(&org_authorize(&[("scope", "openid reports:read")]))
        .await;
    assert_eq!(
        query_param(&location(&custom), "error_description").as_deref(),
        Some("Custom scopes are not allowed for this request")
    );
    app.api(
        &s.t,
        Method::POST,
        &format!("/apps/{}/grants", s.web_id),
        Some(json!({"issuer": s.t.org, "scopeId": "okta.users.read"})),
    )
    .await
    .expect(201);

    let back = browser
        .get(&org_authorize(&[(
            "scope",
            "openid profile okta.users.read",
        )]))
        .await;
    let code = query_param(&location(&back), "code").expect("a code");
    let res = app
        .client
        .post(format!("{}/oauth2/v1/token", s.t.org))
        .basic_auth(&s.web_id, Some(&s.web_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://portal.example/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], s.t.org.as_str());
    assert_eq!(id["aud"], s.web_id.as_str());
    assert_eq!(id["sub"], s.uid.as_str());
    assert_eq!(id["nonce"], "n-org");
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], s.t.org.as_str());
    assert_eq!(at["uid"], s.uid.as_str());
    assert_eq!(body["expires_in"], 3600);
    let access = format!("Bearer {}", body["access_token"].as_str().unwrap());

    // /userinfo at the org server.
    let info: Value = app
        .client
        .get(format!("{}/oauth2/v1/userinfo", s.t.org))
        .header("Authorization", &access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], s.uid.as_str());

    // The access token calls the management API as the user: within its scope, with the
    // user's roles.
    let users = |bearer: String| {
        let app = &app;
        let org = s.t.org.clone();
        async move {
            app.api_as(&org, &bearer, Method::GET, "/users", None)
                .await
                .status
        }
    };
    assert_eq!(users(access.clone()).await, 403, "no admin role yet");
    app.api(
        &s.t,
        Method::POST,
        &format!("/users/{}/roles", s.uid),
        Some(json!({"type": "READ_ONLY_ADMIN"})),
    )
    .await
    .expect(201);
    assert_eq!(users(access.clone()).await, 200);
    let groups = app
        .api_as(&s.t.org, &access, Method::GET, "/groups", None)
        .await;
    assert_eq!(groups.status, 403, "okta.groups.read was not granted");
    app.stop().await;
}
