//! The deployment artifacts: the Helm chart lints clean with the real Helm, renders, and every
//! manifest validates against the Kubernetes 1.32 schemas (tests/python/helm_check.py); the
//! compose file validates against the compose specification.

use std::process::Command;

use crate::helpers::{python, repo_root};

#[test]
fn helm_chart_lints_renders_and_validates_offline() {
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/helm_check.py"))
        .output()
        .expect("the test venv's python (scripts/test creates .venv)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("rendered and valid").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("ok: refused").count(), 6, "{stdout}");
}

#[test]
fn compose_file_follows_the_compose_specification() {
    let checker = python().with_file_name("check-jsonschema");
    let out = Command::new(checker)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(repo_root().join("deploy/compose.yaml"))
        .output()
        .expect("check-jsonschema in the test venv");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
