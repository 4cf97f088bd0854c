//! Rate limits (Okta's rate limits, <https://developer.okta.com/docs/reference/rate-limits/>) across two replicas sharing one Redis: the
//! `X-Rate-Limit-*` headers count down on both, the request past the quota gets 429 with
//! `E0000047`, JWKS and discovery are never limited, buckets and tenants are counted apart, and
//! the violation is in the System Log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, config, service_app, spawn_with};

fn header(res: &reqwest::Response, name: &str) -> Option<i64> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn replicas_share_one_quota_and_refuse_past_it() {
    let mut cfg = config(Backend::Shared).await;
    cfg.rate_limits.token = 5;
    let first = spawn_with(cfg.clone()).await;
    let second = spawn_with(cfg).await;
    let t = first.provision().await;
    let other = first.provision().await;
    let app = first
        .api(&t, Method::POST, "/apps", Some(service_app("metered")))
        .await
        .expect(200);
    let auth = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            app["id"].as_str().unwrap(),
            app["credentials"]["oauthClient"]["client_secret"]
                .as_str()
                .unwrap()
        ))
    );
    // The org URL names the first replica; the same path on the second reaches the same tenant.
    let path = format!("/t/{}/oauth2/default/v1/token", t.name);
    let bases = [first.base.clone(), second.base.clone()];
    let started = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut remaining = Vec::new();
    for i in 0..5 {
        let res = first
            .client
            .post(format!("{}{path}", bases[i % 2]))
            .header("Authorization", &auth)
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-rate-limit-limit"), Some(5));
        let reset = header(&res, "x-rate-limit-reset").unwrap();
        assert!(
            (started..=started + 61).contains(&reset),
            "reset is the window's end in epoch seconds: {reset}"
        );
        remaining.push(header(&res, "x-rate-limit-remaining").unwrap());
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0], "one count across both replicas");

    for base in &bases {
        let res = first
            .client
            .post(format!("{base}{path}"))
            .header("Authorization", &auth)
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(header(&res, "x-rate-limit-remaining"), Some(0));
        assert_eq!(header(&res, "x-rate-limit-limit"), Some(5));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000047");
        assert_eq!(
            body["errorSummary"],
            "You exceeded the maximum number of requests. Try again in a while."
        );
    }

    // JWKS and discovery are not limited and carry no headers.
    for p in [
        "oauth2/default/v1/keys",
        "oauth2/default/.well-known/openid-configuration",
    ] {
        let res = first
            .client
            .get(format!("{}/t/{}/{p}", second.base, t.name))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{p}");
        assert!(res.headers().get("x-rate-limit-limit").is_none(), "{p}");
    }
    // Other buckets and other tenants have their own counts.
    let res = first
        .client
        .get(format!("{}/api/v1/users", t.org))
        .header("Authorization", format!("SSWS {}", t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-rate-limit-limit"), Some(600));
    let theirs = first
        .api(&other, Method::POST, "/apps", Some(service_app("theirs")))
        .await
        .expect(200);
    let res = first
        .client
        .post(format!("{}/oauth2/default/v1/token", other.org))
        .basic_auth(
            theirs["id"].as_str().unwrap(),
            theirs["credentials"]["oauthClient"]["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some(4));

    // The warning (60%: the 3rd request) and the violation are in the System Log.
    let events = first
        .api(
            &t,
            Method::GET,
            "/logs?filter=eventType%20sw%20%22system.org.rate_limit%22",
            None,
        )
        .await
        .expect(200);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "system.org.rate_limit.warning",
            "system.org.rate_limit.violation"
        ]
    );
    first.stop().await;
    second.stop().await;
}
