//! Runs the admin service alone (same as `tessera serve --service admin`).

fn main() -> anyhow::Result<()> {
    tessera_web::server::run_alone("admin", tessera_admin::configure, |state| async move {
        // As `tessera serve` does: tenants provisioned before the org authorization server
        // existed get theirs.
        tessera_admin::provision::ensure_org_servers(&state)
            .await
            .map_err(|e| anyhow::anyhow!("creating org authorization servers: {}", e.summary))?;
        Ok(())
    })
}
