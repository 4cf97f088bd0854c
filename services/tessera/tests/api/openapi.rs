//! Okta's Management API document as a fuzzing oracle: a bounded schemathesis run (PyPI, in
//! `.venv`) over every operation of Okta's `management.yaml` that Tessera implements, against a
//! real server: no 5xx, and every documented response matches its schema
//! (`tests/oas/fuzz.py`). Okta's documents are read from `OKTA_OAS_DIR` (default
//! `../shared/okta-oas` beside the checkout); where they are absent the test says so and skips
//! the run.

use std::process::Command;

use crate::helpers::{Backend, config, python, repo_root, spawn_with};

#[actix_web::test]
async fn schemathesis_finds_no_server_error_and_no_schema_failure_in_the_implemented_operations() {
    let oas_dir = std::env::var("OKTA_OAS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("../shared/okta-oas"));
    if !oas_dir.join("management.yaml").exists() {
        eprintln!(
            "SKIPPED: Okta's OpenAPI documents are not at {} (set OKTA_OAS_DIR)",
            oas_dir.display()
        );
        return;
    }
    let mut cfg = config(Backend::Embedded).await;
    // Thousands of requests in a few seconds: quotas are not what this run is about.
    cfg.rate_limits.enabled = false;
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    let work = tempfile_dir();
    let routes: Vec<(String, String)> = tessera_admin::management_routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.pattern))
        .collect();
    let routes_file = work.join("routes.json");
    std::fs::write(&routes_file, serde_json::to_vec(&routes).unwrap()).unwrap();
    let script = repo_root().join("tests/oas/fuzz.py");
    let args = (
        oas_dir,
        t.org.clone(),
        t.token.clone(),
        routes_file,
        work.clone(),
    );
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .arg(args.0)
            .arg(args.1)
            .arg(args.2)
            .arg(args.3)
            .arg(args.4)
            .output()
    })
    .await
    .expect("join")
    .expect("the test tools' Python (.venv, made by scripts/test) must exist");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The run's summary, for `--no-capture`.
    eprintln!("{stdout}");
    app.stop().await;
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-oas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
