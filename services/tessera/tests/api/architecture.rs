//! The crate graph's rules, read from `cargo metadata`, so a dependency that breaks the layering
//! fails the suite (see docs/architecture.md, *Crates*):
//!
//! * the domain, JOSE, store and short-lived-store crates, the outbound guard and the
//!   application core depend on no HTTP server framework, directly or through others;
//! * no crate under `services/` depends on another one, except the composition root `tessera`
//!   (the all-in-one binary, which mounts them all);
//! * `tessera-oauth` does not depend on `tessera-web`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// HTTP server frameworks. (An HTTP client is not one: the outbound guard and the core use
/// reqwest, which brings hyper's client and tower-http's client middleware.)
const HTTP_FRAMEWORKS: &[&str] = &["actix-web", "actix-http", "axum", "warp", "rocket"];

struct Graph {
    /// Package id → (name, manifest path).
    packages: BTreeMap<String, (String, String)>,
    /// Package id → ids of its normal (non-dev, non-build) dependencies.
    deps: BTreeMap<String, Vec<String>>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The graph as it builds here (other platforms' crates are neither needed nor downloaded).
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc names its host");
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(crate::helpers::repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["manifest_path"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    let deps = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let normal = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap().to_owned())
                .collect();
            (n["id"].as_str().unwrap().to_owned(), normal)
        })
        .collect();
    Graph { packages, deps }
}

impl Graph {
    fn id(&self, name: &str) -> String {
        self.packages
            .iter()
            .find(|(_, (n, path))| n == name && !path.contains("/.cargo/"))
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no workspace crate {name}"))
    }

    fn name(&self, id: &str) -> &str {
        &self.packages[id].0
    }

    /// Every package `id` depends on, directly or not, through normal dependencies.
    fn closure(&self, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![id.to_owned()];
        while let Some(next) = todo.pop() {
            for d in self.deps.get(&next).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }

    fn depends_on(&self, crate_name: &str, other: &str) -> Vec<String> {
        self.closure(&self.id(crate_name))
            .iter()
            .map(|id| self.name(id).to_owned())
            .filter(|n| n == other)
            .collect()
    }
}

#[test]
fn the_crate_graph_keeps_its_layers() {
    let g = graph();
    let mut broken = Vec::new();
    for inner in [
        "tessera-domain",
        "tessera-jose",
        "tessera-store",
        "tessera-ephemeral",
        "tessera-outbound",
        "tessera-core",
    ] {
        for framework in HTTP_FRAMEWORKS {
            if !g.depends_on(inner, framework).is_empty() {
                broken.push(format!("{inner} depends on the HTTP framework {framework}"));
            }
        }
    }
    let services: Vec<(String, String)> = g
        .packages
        .iter()
        .filter(|(_, (_, path))| path.contains("/services/"))
        .map(|(id, (name, _))| (id.clone(), name.clone()))
        .collect();
    assert!(services.len() >= 5, "{services:?}");
    for (id, name) in &services {
        if name == "tessera" {
            continue; // the composition root
        }
        for d in g.deps.get(id).into_iter().flatten() {
            if services.iter().any(|(other, _)| other == d) {
                broken.push(format!("{name} depends on the service crate {}", g.name(d)));
            }
        }
    }
    if !g.depends_on("tessera-oauth", "tessera-web").is_empty() {
        broken.push("tessera-oauth depends on tessera-web".into());
    }
    assert!(
        broken.is_empty(),
        "the crate graph is broken:\n{}",
        broken.join("\n")
    );
    // The rules can fail: the composition root does depend on every service, and the web crate
    // on actix-web.
    assert!(!g.depends_on("tessera", "tessera-admin").is_empty());
    assert!(!g.depends_on("tessera-web", "actix-web").is_empty());
}
