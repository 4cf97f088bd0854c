//! DPoP (RFC 9449): openid-client (npm, unchanged) binds its tokens to a key through token,
//! refresh and userinfo; every kind of bad proof is refused at the token endpoint and at
//! `/userinfo`, and changes nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn};
use crate::introspection::{Creds, app_with};

const REDIRECT: &str = "https://dpop.example/callback";

fn dpop_app(grants: &[&str], application_type: &str) -> Value {
    json!({"name": "oidc_client", "label": "bound tokens", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"oauthClient": {"application_type": application_type, "grant_types": grants,
            "response_types": if grants.contains(&"authorization_code") { json!(["code"]) } else { json!([]) },
            "redirect_uris": if grants.contains(&"authorization_code") { json!([REDIRECT]) } else { json!([]) },
            "dpop_bound_access_tokens": true}}})
}

/// A DPoP key: its signer and public JWK.
struct DpopKey {
    key: tessera_jose::SigningKey,
    jwk: Value,
}

impl DpopKey {
    fn new() -> Self {
        let generated = tessera_jose::generate(tessera_jose::Alg::ES256).unwrap();
        let key =
            tessera_jose::SigningKey::from_pkcs8("", generated.alg, &generated.pkcs8).unwrap();
        let mut jwk = generated.public_jwk;
        for member in ["kid", "alg", "use"] {
            jwk.as_object_mut().unwrap().remove(member);
        }
        Self { key, jwk }
    }

    /// A compact JWS of `claims` under `header` (as given: the tests break it on purpose).
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})
    }

    fn claims(method: &str, url: &str, nonce: Option<&str>) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = json!({"htm": method, "htu": url, "iat": now,
            "jti": random_jti()});
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        c
    }

    fn proof(&self, method: &str, url: &str, nonce: Option<&str>) -> String {
        self.sign(&self.header(), &Self::claims(method, url, nonce))
    }
}

fn random_jti() -> String {
    use tessera_domain::Random as _;
    let mut bytes = [0u8; 16];
    tessera_domain::SystemRandom.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn token_request(
    app: &TestApp,
    url: &str,
    c: &Creds,
    proof: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let mut req = app
        .client
        .post(url)
        .basic_auth(&c.id, Some(&c.secret))
        .form(form);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let nonce = res
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, nonce, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn openid_client_binds_tokens_to_a_dpop_key() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let web = app_with(
        &app,
        &t,
        dpop_app(&["authorization_code", "refresh_token"], "web"),
    )
    .await;
    let u = app.user(&t, "bound@example.com").await;
    app.api(
        &t,
        Method::POST,
        &format!("/apps/{}/users", web.id),
        Some(json!({"id": u["id"]})),
    )
    .await
    .expect(200);
    crate::okta_sdk::run_node(
        "openid-client-dpop.test.mjs",
        vec![
            ("TESSERA_ISSUER", format!("{}/oauth2/default", t.org)),
            ("TESSERA_CLIENT_ID", web.id.clone()),
            ("TESSERA_CLIENT_SECRET", web.secret.clone()),
            ("TESSERA_REDIRECT_URI", REDIRECT.to_owned()),
            ("TESSERA_USERNAME", "bound@example.com".to_owned()),
            ("TESSERA_PASSWORD", "Analytical1Engine".to_owned()),
        ],
        6,
    )
    .await;
    app.stop().await;
}

/// A nonce from the token endpoint's challenge.
async fn nonce(app: &TestApp, url: &str, c: &Creds, key: &DpopKey) -> String {
    let (status, nonce, body) = token_request(
        app,
        url,
        c,
        Some(&key.proof("POST", url, None)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "bound.read"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{body}"
    );
    nonce.expect("a DPoP-Nonce header with use_dpop_nonce")
}

#[actix_web::test]
async fn every_bad_dpop_proof_is_refused_at_the_token_endpoint_and_at_userinfo() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "bound.read"})),
    )
    .await
    .expect(201);
    let svc = app_with(&app, &t, dpop_app(&["client_credentials"], "service")).await;
    let url = format!("{}/oauth2/default/v1/token", t.org);
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "bound.read"),
    ];
    let key = DpopKey::new();

    // No proof at all, then a proof without a nonce: the challenge.
    let (status, _, body) = token_request(&app, &url, &svc, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let n = nonce(&app, &url, &svc, &key).await;
    let (_, challenged, body) = token_request(
        &app,
        &url,
        &svc,
        Some(&key.proof("POST", &url, Some("not-a-nonce-we-issued"))),
        &form,
    )
    .await;
    assert_eq!(body["error"], "use_dpop_nonce", "an unknown nonce: {body}");
    assert!(challenged.is_some());

    let good = || DpopKey::claims("POST", &url, Some(&n));
    let with = |name: &str, value: Value| {
        let mut c = good();
        c[name] = value;
        c
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let other = DpopKey::new();
    let mut private_jwk = key.jwk.clone();
    private_jwk["d"] = json!("AAAA");
    let bad: Vec<(&str, Value, Value)> = vec![
        (
            "typ",
            json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk}),
            good(),
        ),
        ("no jwk", json!({"typ": "dpop+jwt", "alg": "ES256"}), good()),
        (
            "symmetric alg",
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk}),
            good(),
        ),
        (
            "private jwk",
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private_jwk}),
            good(),
        ),
        (
            "another key's jwk",
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": other.jwk}),
            good(),
        ),
        ("htm", key.header(), with("htm", json!("GET"))),
        (
            "htu",
            key.header(),
            with("htu", json!(format!("{}/oauth2/other/v1/token", t.org))),
        ),
        ("iat too old", key.header(), with("iat", json!(now - 3600))),
        ("iat ahead", key.header(), with("iat", json!(now + 3600))),
        ("no jti", key.header(), {
            let mut c = good();
            c.as_object_mut().unwrap().remove("jti");
            c
        }),
    ];
    for (what, header, claims) in bad {
        let proof = key.sign(&header, &claims);
        let (status, _, body) = token_request(&app, &url, &svc, Some(&proof), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{what}: {body}"
        );
    }
    // A good proof gets a bound token; the same proof again is a replay.
    let proof = key.sign(&key.header(), &good());
    let (status, _, tokens) = token_request(&app, &url, &svc, Some(&proof), &form).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(at.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["cnf"]["jkt"], tessera_jose::thumbprint(&key.jwk));
    let (_, _, body) = token_request(&app, &url, &svc, Some(&proof), &form).await;
    assert_eq!(body["error"], "invalid_dpop_proof");
    assert_eq!(
        body["error_description"],
        "The DPoP proof JWT has already been used."
    );

    // Introspection says the token is bound.
    let res = app
        .client
        .post(format!("{}/oauth2/default/v1/introspect", t.org))
        .basic_auth(&svc.id, Some(&svc.secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    let introspected: Value = res.json().await.unwrap();
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], claims["cnf"]["jkt"]);

    // At a resource (the management API, which takes the org server's tokens) a bound token
    // needs the DPoP scheme and a proof with its hash: here, /userinfo refuses each wrong one.
    let userinfo = format!("{}/oauth2/default/v1/userinfo", t.org);
    let call = |scheme: &'static str, proof: Option<String>| {
        let (app, userinfo, at) = (&app, userinfo.clone(), at.clone());
        async move {
            let mut req = app
                .client
                .get(&userinfo)
                .header("Authorization", format!("{scheme} {at}"));
            if let Some(p) = proof {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let refused = |error: &str| (401, error.to_owned());
    let resource_claims = |ath: &str| {
        let mut c = DpopKey::claims("GET", &userinfo, None);
        c["ath"] = json!(ath);
        c
    };
    let ath = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, at.as_bytes()));
    assert_eq!(
        call("Bearer", None).await,
        refused("invalid_token"),
        "a bound token as Bearer"
    );
    assert_eq!(
        call("DPoP", None).await,
        refused("invalid_dpop_proof"),
        "no proof"
    );
    assert_eq!(
        call(
            "DPoP",
            Some(key.sign(&key.header(), &resource_claims("wrong")))
        )
        .await,
        refused("invalid_dpop_proof"),
        "wrong ath"
    );
    assert_eq!(
        call(
            "DPoP",
            Some(other.sign(&other.header(), &resource_claims(&ath)))
        )
        .await,
        refused("invalid_dpop_proof"),
        "another key"
    );
    // The right proof passes the binding check: what is left is that a client-credentials
    // token has no user, which /userinfo answers as an invalid token.
    assert_eq!(
        call(
            "DPoP",
            Some(key.sign(&key.header(), &resource_claims(&ath)))
        )
        .await,
        refused("invalid_token")
    );
    app.stop().await;
}
