//! Runs the introspection service alone (same as `tessera serve --service introspection`).

fn main() -> anyhow::Result<()> {
    tessera_web::server::run_alone(
        "introspection",
        tessera_introspection::configure,
        |_| async { Ok(()) },
    )
}
