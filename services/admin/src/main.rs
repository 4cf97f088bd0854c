//! Runs the admin service alone (same as `tessera serve --service admin`).

fn main() -> anyhow::Result<()> {
    let config = tessera_core::Config::load(
        std::env::var_os("TESSERA_CONFIG")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )?;
    tessera_web::telemetry::init(&config);
    actix_rt::System::new().block_on(async move {
        let started =
            tessera_web::server::start(config, vec![tessera_admin::configure], None).await?;
        // As `tessera serve` does: tenants provisioned before the org authorization server
        // existed get theirs.
        tessera_admin::provision::ensure_org_servers(&started.state)
            .await
            .map_err(|e| anyhow::anyhow!("creating org authorization servers: {}", e.summary))?;
        tracing::info!(addr = %started.addr, service = "admin", "listening");
        started.serve().await?;
        Ok(())
    })
}
