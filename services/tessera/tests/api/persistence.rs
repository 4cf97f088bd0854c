use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, config, service_app, spawn_with};

async fn data_survives_a_restart(backend: Backend) {
    let config = config(backend).await;
    let app = spawn_with(config.clone()).await;
    let t = app.provision().await;
    let created = app
        .api(&t, Method::POST, "/apps", Some(service_app("durable")))
        .await
        .expect(200);
    app.api(
        &t,
        Method::POST,
        "/authorizationServers/default/scopes",
        Some(json!({"name": "durable.read"})),
    )
    .await
    .expect(201);
    app.stop().await;

    let app = spawn_with(config).await;
    // The restarted server listens on a new port, so the org URL moves with it.
    let t = crate::helpers::Tenant {
        org: format!("{}/t/{}", app.base, t.name),
        ..t
    };
    let fetched = app
        .api(
            &t,
            Method::GET,
            &format!("/apps/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(fetched["label"], "durable");
    let scopes = app
        .api(
            &t,
            Method::GET,
            "/authorizationServers/default/scopes?q=durable",
            None,
        )
        .await
        .expect(200);
    assert_eq!(scopes[0]["name"], "durable.read");
    app.stop().await;
}

#[actix_web::test]
async fn data_survives_a_restart_on_sqlite() {
    data_survives_a_restart(Backend::Embedded).await;
}

#[actix_web::test]
async fn data_survives_a_restart_on_postgres() {
    data_survives_a_restart(Backend::Shared).await;
}
