//! The all-in-one Tessera process: which services to run, and how to start them.

use tessera_core::Config;
use tessera_web::server::{Mount, Started};

/// The four services (docs/architecture.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// Discovery, JWKS, authorize, token, userinfo, logout and the hosted pages.
    Token,
    /// Introspection and revocation.
    Introspection,
    /// The management and operator APIs.
    Admin,
    /// Scheduled signing-key rotation (no public routes).
    Keys,
}

impl Service {
    pub const ALL: [Self; 4] = [Self::Token, Self::Introspection, Self::Admin, Self::Keys];

    fn mount(self) -> Mount {
        match self {
            Self::Token => tessera_token::configure,
            Self::Introspection => tessera_introspection::configure,
            Self::Admin => tessera_admin::configure,
            Self::Keys => tessera_keys::configure,
        }
    }
}

/// A started process: the HTTP server and, when the keys service runs here, its job.
pub struct Running {
    pub started: Started,
    pub keys_job: Option<actix_rt::task::JoinHandle<()>>,
}

/// Starts `services` in this process on `config.listen`, with the keys service's scheduled
/// rotation job when it is one of them. Call inside an actix system.
pub async fn start_services(config: Config, services: &[Service]) -> anyhow::Result<Running> {
    start_services_with_clock(
        config,
        services,
        std::sync::Arc::new(tessera_domain::SystemClock),
    )
    .await
}

/// [`start_services`] with an injected clock (tests).
pub async fn start_services_with_clock(
    config: Config,
    services: &[Service],
    clock: std::sync::Arc<dyn tessera_domain::Clock>,
) -> anyhow::Result<Running> {
    let started = tessera_web::server::start_with_clock(
        config,
        services.iter().map(|s| s.mount()).collect(),
        clock,
    )
    .await?;
    // The admin service's token preview and advice decide with the token service's code.
    let _ = started
        .state
        .previewer
        .set(std::sync::Arc::new(tessera_token::preview::Engine));
    started
        .state
        .usage
        .start(started.state.short.as_ref(), started.state.now_ms())
        .await;
    if services.contains(&Service::Admin) {
        tessera_admin::provision::ensure_org_servers(&started.state)
            .await
            .map_err(|e| anyhow::anyhow!("creating org authorization servers: {}", e.summary))?;
    }
    let keys_job = services.contains(&Service::Keys).then(|| {
        tracing::info!(holder = %started.state.instance_id, "key-rotation job started");
        tessera_keys::scheduler::spawn(started.state.clone())
    });
    Ok(Running { started, keys_job })
}
