//! Both routing forms of SPEC §1: `/t/{tenant}/…` and `{tenant}.{base_domain}`, with the org URL
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
