//! The README's quickstart, run as written: every `sh` block of its "Quickstart" section, taken
//! from README.md itself (so the two cannot drift apart), in one `bash` with `set -euo
//! pipefail`, against a fresh `tessera serve` started in an empty directory, as a newcomer
//! would. The only change is the port: the README's `http://127.0.0.1:8080` becomes the port
//! this test's server listens on.

use std::process::{Command, Stdio};

use crate::helpers::{free_port, repo_root};

/// The `sh` blocks of the README section headed `## {section}`, in order.
fn shell_blocks(readme: &str, section: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("README has a {section} section"));
    let rest = &readme[start + section.len() + 5..];
    let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    body.split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_quickstart_runs_as_written_against_a_fresh_server() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks = shell_blocks(&readme, "Quickstart");
    assert!(
        blocks.len() >= 3,
        "the quickstart's blocks: {}",
        blocks.len()
    );
    assert!(
        readme.contains("cargo run --release -- serve"),
        "the README starts the server as this test does"
    );
    let dir = std::env::temp_dir().join(format!("tessera-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut server = crate::helpers::tessera_command();
    // The embedded default, in the directory the commands run in (`data/operator-token`).
    let mut server = server
        .arg("serve")
        .current_dir(&dir)
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && dir.join("data/operator-token").exists()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let script = format!(
        "set -euo pipefail\n{}",
        blocks
            .join("\n")
            .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"))
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the quickstart failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprintln!("{stdout}");
    // What each step promises the reader.
    for expected in [
        "\"audiences\": [\n    \"api://default\"",
        "\"active\": true",
        "\"scope\": \"invoices:read\"",
        "\"tier\": \"free\"",
        "/oauth2/default/v1/keys",
        "https://portal.example.com/callback?code=",
        "&state=s1",
        "\"scope\": \"openid profile offline_access\"",
        "\"has_id_token\": true",
        "\"has_refresh_token\": true",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
