//! Runs the token service alone (same as `tessera serve --service token`).

fn main() -> anyhow::Result<()> {
    let config = tessera_core::Config::load(
        std::env::var_os("TESSERA_CONFIG")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )?;
    tessera_web::telemetry::init(&config);
    actix_rt::System::new().block_on(async move {
        let started =
            tessera_web::server::start(config, vec![tessera_token::configure], None).await?;
        tracing::info!(addr = %started.addr, service = "token", "listening");
        started.serve().await?;
        Ok(())
    })
}
