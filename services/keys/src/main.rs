//! Runs the keys service alone (same as `tessera serve --service keys`).

fn main() -> anyhow::Result<()> {
    let config = tessera_core::Config::load(
        std::env::var_os("TESSERA_CONFIG")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )?;
    tessera_web::telemetry::init(&config);
    actix_rt::System::new().block_on(async move {
        let started =
            tessera_web::server::start(config, vec![tessera_keys::configure], None).await?;
        tessera_keys::scheduler::spawn(started.state.clone());
        tracing::info!(addr = %started.addr, service = "keys", "listening");
        started.serve().await?;
        Ok(())
    })
}
