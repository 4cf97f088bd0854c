//! Runs the keys service alone (same as `tessera serve --service keys`): the scheduled
//! rotation job.

fn main() -> anyhow::Result<()> {
    tessera_web::server::run_alone("keys", tessera_keys::configure, |state| async move {
        tessera_keys::scheduler::spawn(state);
        Ok(())
    })
}
