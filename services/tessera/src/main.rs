//! `tessera`: run the services, apply migrations, administer tenants.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tessera::{Service, start_services};
use tessera_core::Config;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "A self-hostable, Okta-compatible OAuth 2.0 / OpenID Connect authorization service"
)]
struct Cli {
    /// A TOML configuration file (settings in it are overridden by TESSERA_* variables).
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process (default), or just one.
    Serve {
        /// Run only this service: `token` (discovery, JWKS, authorize, token, userinfo,
        /// logout and the hosted pages), `introspection` (introspect and revoke), `admin` (the
        /// management and operator APIs) or `keys` (scheduled key rotation; no public routes).
        /// Without it, all four run in this process.
        #[arg(long, value_enum)]
        service: Option<Service>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Tenant administration.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Signing-key administration.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the configuration advice for a tenant (docs/advice.md): the setups Okta's
    /// guidance warns against, most severe first. Exits 2 when there are HIGH findings.
    Advise {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Report client secrets older than this many days.
        #[arg(long, default_value_t = 180)]
        secret_max_age_days: i64,
        /// Print the findings as JSON (the API's shape) instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-seal every private key and client secret under the current master key
    /// (TESSERA_MASTER_KEY), reading them with the previous one (TESSERA_PREVIOUS_MASTER_KEY).
    Rewrap,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Provision a tenant; prints its org URL and first API token.
    Create { name: String },
}

/// mimalloc: the token path allocates many small, short-lived buffers (JSON, base64, headers);
/// measured with `perf`, glibc malloc/free took about 12% of server CPU on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Errors are one line on stderr and exit status 1, whatever `RUST_BACKTRACE` says: a wrong
/// setting or an unreachable store is the operator's to fix, and a backtrace only hides the
/// line that says what to fix. (A panic, a real bug, still prints its backtrace.)
fn main() -> std::process::ExitCode {
    match try_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: the errors of the stores already
/// quote their source, which the chain would otherwise repeat.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    tessera_web::telemetry::init(&config);
    if !config.ignored_env.is_empty() {
        // Not settings (Kubernetes' service links, say): worth one line, not a refusal.
        tracing::warn!(
            variables = %config.ignored_env.join(","),
            "ignoring TESSERA_* environment variables that name no setting"
        );
    }
    actix_rt::System::new().block_on(run(cli.command, config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { service } => {
            let services: Vec<Service> = service.map_or_else(|| Service::ALL.to_vec(), |s| vec![s]);
            let started = start_services(config, &services).await?.started;
            if let Some(token) = &started.generated_operator_token {
                println!(
                    "Generated operator token (stored in the data directory, shown once): {token}"
                );
            }
            tracing::info!(addr = %started.addr, metrics = ?started.metrics_addr, public_url = %started.state.public_url, ?services, "tessera listening");
            started.serve().await.context("server failed")?;
        }
        Command::Migrate => {
            if config.database_url.is_none() {
                // The embedded database's directory, as `serve` would make it.
                std::fs::create_dir_all(&config.data_dir)
                    .with_context(|| format!("data directory {}", config.data_dir.display()))?;
            }
            let db = tessera_store::connect_with(
                &config.effective_database_url(),
                config.stores.database(),
            )
            .await?;
            tessera_store::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Keys {
            command: KeysCommand::Rewrap,
        } => {
            let listen = config.listen.parse().context("setting `listen`")?;
            let (state, _) = tessera_core::AppState::open(config, listen).await?;
            let done = tessera_keys::rewrap::run(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.causes.first().unwrap_or(&e.summary)))?;
            println!(
                "re-sealed {} signing keys, {} client secrets and {} inline-hook credentials under master key {}",
                done.signing_keys,
                done.client_secrets,
                done.hook_credentials,
                state.master_key.id()
            );
        }
        Command::Advise {
            tenant,
            secret_max_age_days,
            json,
        } => {
            use tessera_admin::advice::{Scope, Settings, Severity, advise, render};
            let listen = config.listen.parse().context("setting `listen`")?;
            let (state, _) = tessera_core::AppState::open(config, listen).await?;
            let _ = state
                .previewer
                .set(std::sync::Arc::new(tessera_token::preview::Engine));
            let settings = Settings {
                secret_max_age_days,
            };
            let findings = advise(&state, &tenant, Scope::Tenant, settings)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.causes.first().unwrap_or(&e.summary)))?
                .ok_or_else(|| anyhow::anyhow!("no tenant named '{tenant}'"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&findings)?);
            } else if findings.is_empty() {
                println!("no findings for tenant {tenant}");
            } else {
                print!("{}", render(&findings));
                println!("{} findings for tenant {tenant}", findings.len());
            }
            if findings.iter().any(|f| f.severity == Severity::High) {
                std::process::exit(2);
            }
        }
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => {
            let listen = config.listen.parse().context("setting `listen`")?;
            let (state, generated) = tessera_core::AppState::open(config, listen).await?;
            if let Some(token) = generated {
                println!(
                    "Generated operator token (stored in the data directory, shown once): {token}"
                );
            }
            let p = tessera_admin::provision::provision(&state, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.causes.first().unwrap_or(&e.summary)))?;
            println!("org URL:   {}", state.org_url(&p.tenant.name));
            println!("API token: {}", p.api_token);
        }
    }
    Ok(())
}
