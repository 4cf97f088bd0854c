//! Runs the token service alone (same as `tessera serve --service token`).

fn main() -> anyhow::Result<()> {
    tessera_web::server::run_alone("token", tessera_token::configure, |_| async { Ok(()) })
}
