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

/// The variables Kubernetes injects for the chart's Services (`tessera-token`, …) when a pod
/// does not set `enableServiceLinks: false` are not settings: `tessera migrate` and
/// `tessera serve` start all the same (a misspelt setting in the TOML file is still refused).
#[test]
fn the_binary_starts_with_the_variables_kubernetes_injects_for_the_charts_services() {
    let data = std::env::temp_dir().join(format!("tessera-k8s-env-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let mut injected: Vec<(String, String)> = Vec::new();
    for (service, port) in [
        ("TOKEN", 8080),
        ("INTROSPECTION", 8080),
        ("ADMIN", 8080),
        ("KEYS", 8080),
    ] {
        let ip = "10.96.0.10";
        let name = format!("TESSERA_{service}");
        injected.extend([
            (format!("{name}_SERVICE_HOST"), ip.to_owned()),
            (format!("{name}_SERVICE_PORT"), port.to_string()),
            (format!("{name}_SERVICE_PORT_HTTP"), port.to_string()),
            (format!("{name}_PORT"), format!("tcp://{ip}:{port}")),
            (
                format!("{name}_PORT_{port}_TCP"),
                format!("tcp://{ip}:{port}"),
            ),
            (format!("{name}_PORT_{port}_TCP_PROTO"), "tcp".to_owned()),
            (format!("{name}_PORT_{port}_TCP_PORT"), port.to_string()),
            (format!("{name}_PORT_{port}_TCP_ADDR"), ip.to_owned()),
        ]);
    }
    let run = |args: &[&str], file: Option<&std::path::Path>| {
        let mut cmd = crate::helpers::tessera_command();
        if let Some(f) = file {
            cmd.arg("--config").arg(f);
        }
        cmd.args(args)
            .env("TESSERA_DATA_DIR", &data)
            .envs(injected.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run tessera")
    };
    let migrated = run(&["migrate"], None);
    assert!(
        migrated.status.success(),
        "migrate refused the injected environment: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    // `serve` with the same environment comes up and answers.
    let port = crate::helpers::free_port();
    let mut cmd = crate::helpers::tessera_command();
    let mut server = cmd
        .arg("serve")
        .env("TESSERA_DATA_DIR", &data)
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_METRICS_LISTEN", "off")
        .envs(injected.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tessera serve");
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        up,
        "tessera serve did not start with the injected environment"
    );
    // The TOML file is the operator's own: an unknown key there is a typo, and refused.
    let file = data.join("typo.toml");
    std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").unwrap();
    let refused = run(&["migrate"], Some(&file));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("listne"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let _ = std::fs::remove_dir_all(&data);
}
