//! The all-in-one Tessera process: which services to run, and how to start them.

use tessera_web::Config;
use tessera_web::server::{Mount, Started, start};

/// The four services (DESIGN "Four services").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Token,
    Introspection,
    Admin,
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

/// Starts `services` in this process on `config.listen`.
pub async fn start_services(
    config: Config,
    services: &[Service],
    workers: Option<usize>,
) -> anyhow::Result<Started> {
    start(
        config,
        services.iter().map(|s| s.mount()).collect(),
        workers,
    )
    .await
}
