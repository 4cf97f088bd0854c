//! The `tessera` binary itself: configuration errors name the setting, `tenant create`
//! provisions and prints what the operator needs, and `serve` on the embedded default answers.

use std::process::{Command, Stdio};
use std::time::Duration;

fn tessera() -> Command {
    let mut cmd = crate::helpers::tessera_command();
    // Tests run in parallel: no two servers may reach for the default metrics port.
    cmd.env("TESSERA_METRICS_LISTEN", "127.0.0.1:0");
    cmd
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", crate::helpers::tenant_name()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn serve_when_a_setting_is_invalid_then_exits_naming_it() {
    let out = tessera()
        .args(["serve"])
        .env("TESSERA_LISTEN", "not-an-address")
        .env("TESSERA_DATA_DIR", temp_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`listen`"), "{stderr}");

    let out = tessera()
        .args(["serve"])
        .env("REDIS_URL", "http://wrong")
        .env("TESSERA_DATA_DIR", temp_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`redis_url`"));
}

#[test]
fn tenant_create_when_run_then_prints_org_url_api_token_and_generated_operator_token() {
    let dir = temp_dir();
    let out = tessera()
        .args(["tenant", "create", "acme"])
        .env("TESSERA_DATA_DIR", &dir)
        .env("TESSERA_PUBLIC_URL", "https://auth.example.com")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("org URL:   https://auth.example.com/t/acme"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("API token: 00") && l.len() == "API token: ".len() + 42),
        "{stdout}"
    );
    let operator = std::fs::read_to_string(dir.join("operator-token")).unwrap();
    assert!(
        stdout.contains(operator.trim()),
        "the generated operator token is printed once"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("operator-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = tessera()
        .args(["tenant", "create", "acme"])
        .env("TESSERA_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!again.status.success(), "a duplicate name is refused");
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("operator token"),
        "the token is printed only once"
    );
}

#[test]
fn serve_on_the_embedded_default_answers_health_and_readiness() {
    let dir = temp_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tessera()
        .args(["serve"])
        .current_dir(&dir)
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(res) = http::status_of(&url) {
            ready = res == 200;
            if ready {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    child.wait().ok();
    assert!(ready, "serve answered /readyz with 200");
    assert!(
        dir.join("data/tessera.db").exists(),
        "the SQLite file lives under ./data by default"
    );
    assert!(dir.join("data/operator-token").exists());
}

/// Minimal blocking GET (the test client is async; this keeps the CLI tests synchronous).
mod http {
    pub fn status_of(url: &str) -> std::io::Result<u16> {
        use std::io::{Read as _, Write as _};
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        Ok(buf
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }
}

#[test]
fn serve_waits_for_its_database_then_gives_up_naming_it_without_credentials() {
    // Nothing listens on port 9 of loopback: the database never answers.
    let started = std::time::Instant::now();
    let out = tessera()
        .args(["serve", "--service", "token"])
        .env(
            "DATABASE_URL",
            "postgres://tessera:s3cret-pw@127.0.0.1:9/tessera",
        )
        .env("TESSERA_STARTUP_WAIT_SECS", "2")
        .env("TESSERA_DATA_DIR", temp_dir())
        .env("TESSERA_OPERATOR_TOKEN", "operator-token-for-the-wait-test")
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(20),
        "kept trying for the configured 2 s: {waited:?}; stderr: {stderr}"
    );
    assert!(
        stderr.contains("waiting for the database before starting"),
        "{stderr}"
    );
    assert!(
        stderr.contains("postgres://127.0.0.1:9/tessera"),
        "{stderr}"
    );
    // The last line says why, in the words of the failure: nothing listens there.
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("tessera: the database at postgres://127.0.0.1:9/tessera did not answer")
            && last.ends_with("connection refused at 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cret-pw"),
        "a password in the log: {stderr}"
    );
}

/// The lines of stderr that are not log records (JSON objects): what a person reads.
fn message_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| !l.starts_with('{')).collect()
}

#[test]
fn errors_are_one_line_even_with_rust_backtrace_set() {
    let out = tessera()
        .args(["serve"])
        .env("RUST_BACKTRACE", "1")
        .env("TESSERA_LISTEN", "not-an-address")
        .env("TESSERA_DATA_DIR", temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = message_lines(&stderr);
    assert_eq!(lines.len(), 1, "one line, no backtrace: {stderr}");
    assert!(
        lines[0].starts_with("tessera: invalid setting `listen`"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn a_database_that_does_not_exist_fails_at_once_saying_so_once() {
    let admin = std::env::var("TESSERA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (server, _) = admin.rsplit_once('/').unwrap();
    let started = std::time::Instant::now();
    let out = tessera()
        .args(["serve", "--service", "token"])
        .env("RUST_BACKTRACE", "1")
        .env("DATABASE_URL", format!("{server}/tessera_no_such_database"))
        .env("TESSERA_DATA_DIR", temp_dir())
        .env(
            "TESSERA_OPERATOR_TOKEN",
            "operator-token-for-the-missing-db-test",
        )
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        waited < Duration::from_secs(5),
        "no retrying for startup_wait_secs (60 s) when the database does not exist: {waited:?}"
    );
    let lines = message_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("tessera: cannot open the database")
            && lines[0].matches("does not exist").count() == 1,
        "the cause, stated once: {stderr}"
    );
}

#[test]
fn advise_prints_a_new_tenants_findings_from_the_command_line() {
    let dir = temp_dir();
    let created = tessera()
        .args(["tenant", "create", "acme"])
        .env("TESSERA_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(created.status.success());
    let out = tessera()
        .args(["advise", "--tenant", "acme"])
        .env("TESSERA_DATA_DIR", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Okta's defaults: a policy for all clients and a rule for every scope; nothing HIGH.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for code in [
        "TA-POLICY-ALL-CLIENTS",
        "TA-RULE-ALL-SCOPES",
        "TA-AUDIENCE-GENERIC",
    ] {
        assert!(stdout.contains(code), "{code}: {stdout}");
    }
    assert!(stdout.contains("fix: "), "{stdout}");
    let out = tessera()
        .args(["advise", "--tenant", "acme", "--json"])
        .env("TESSERA_DATA_DIR", &dir)
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        findings.as_array().is_some_and(|f| f.len() >= 3),
        "{findings}"
    );
    let out = tessera()
        .args(["advise", "--tenant", "nobody"])
        .env("TESSERA_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant named 'nobody'"));
}
