//! Okta's management SDK for Node.js (`@okta/okta-sdk-nodejs`), installed in `tests/sdk` by
//! `scripts/test`, drives a real server. The test fails (never skips) when Node or the SDK is
//! missing.

use std::path::Path;
use std::process::Command;

use crate::helpers::{Backend, spawn};

#[actix_web::test]
async fn okta_management_sdk_creates_and_reads_back_every_resource() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk");
    assert!(
        dir.join("node_modules/@okta/okta-sdk-nodejs").exists(),
        "run `npm ci --prefix tests/sdk` first (scripts/test does)"
    );
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .arg("okta-sdk.test.mjs")
            .current_dir(dir)
            .env("TESSERA_ORG_URL", &t.org)
            .env("TESSERA_API_TOKEN", &t.token)
            .output()
    })
    .await
    .expect("join")
    .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("9 passed, 0 failed"), "{stdout}");
    app.stop().await;
}
