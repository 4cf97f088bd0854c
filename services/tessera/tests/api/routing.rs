//! Both routing forms of a tenant (README, "APIs"): `/t/{tenant}/…` and `{tenant}.{base_domain}`, with the org URL
//! fixed by configuration, never by the request.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, config, spawn_with};

#[actix_web::test]
async fn wildcard_domain_when_configured_then_tenant_served_from_its_host_and_org_url_uses_it() {
    let mut cfg = config(Backend::Embedded).await;
    cfg.base_domain = Some("tessera.test".into());
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    // The public URL (here the listener's, `http://127.0.0.1:{port}`) gives the scheme and the
    // port: the tenant's host is served where the server listens.
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(t.org, format!("http://{}.tessera.test:{port}", t.name));

    // The same request by host name and by path.
    let by_host = app
        .client
        .get(format!("{}/api/v1/authorizationServers/default", app.base))
        .header("Host", format!("{}.tessera.test", t.name))
        .header("Authorization", format!("SSWS {}", t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(by_host.status(), 200);
    let body: Value = by_host.json().await.unwrap();
    assert_eq!(
        body["issuer"],
        format!("http://{}.tessera.test:{port}/oauth2/default", t.name)
    );
    let by_path = crate::helpers::Tenant {
        org: format!("{}/t/{}", app.base, t.name),
        ..t.clone()
    };
    let same = app
        .api(&by_path, Method::GET, "/authorizationServers/default", None)
        .await
        .expect(200);
    assert_eq!(same["id"], body["id"]);
    assert_eq!(
        same["issuer"], body["issuer"],
        "the issuer does not follow the request's host"
    );

    // Another host is not a tenant.
    let other = app
        .client
        .get(format!("{}/api/v1/users", app.base))
        .header("Host", "evil.example.com")
        .header("Authorization", format!("SSWS {}", t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    app.stop().await;
}

/// A pooled client (Node's agents keep idle sockets for seconds to tens of seconds) reuses a
/// connection after it sat idle: the server must not have closed it ("socket hang up"). The
/// keep-alive timeout is 75 s by default; here a connection idle for 6 s still serves.
#[actix_web::test]
async fn idle_connections_stay_open_longer_than_client_pools_keep_them() {
    use std::io::{Read, Write};
    let app = crate::helpers::spawn(Backend::Embedded).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let outcome = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let mut answers = Vec::new();
        for wait in [0, 6] {
            std::thread::sleep(std::time::Duration::from_secs(wait));
            let sent = conn.write_all(request.as_bytes());
            let mut buf = [0u8; 1024];
            let read = sent.ok().and_then(|()| conn.read(&mut buf).ok());
            answers.push(
                read.filter(|n| *n > 0)
                    .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
                    .unwrap_or_default(),
            );
        }
        answers
    })
    .await
    .unwrap();
    for (i, answer) in outcome.iter().enumerate() {
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "request {i} on the same connection: {answer:?}"
        );
    }
    app.stop().await;
}
