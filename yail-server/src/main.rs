//! `yail-server`: flags, environment and env file in; logs and a running
//! server out. Everything else lives in the library.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracing::{info, warn};
use yail_server::{Args, Services};
use yail_state::ServerState;

/// Loads the env file before flags are parsed, so its values act as
/// environment variables; existing variables are never overridden.
fn load_env_file() -> anyhow::Result<Option<PathBuf>> {
    let args: Vec<String> = std::env::args().collect();
    let explicit = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--env-file=")
            .map(PathBuf::from)
            .or_else(|| {
                (a == "--env-file")
                    .then(|| args.get(i + 1).map(PathBuf::from))
                    .flatten()
            })
    });
    match explicit {
        Some(path) => {
            dotenvy::from_path(&path)
                .with_context(|| format!("reading env file {}", path.display()))?;
            Ok(Some(path))
        }
        None if std::path::Path::new(".env").is_file() => {
            dotenvy::from_path(".env").context("reading .env")?;
            Ok(Some(PathBuf::from(".env")))
        }
        None => Ok(None),
    }
}

fn init_logs(args: &Args, state: &ServerState) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = match &args.log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let json = args.log_format == "json";
    tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| tracing_subscriber::fmt::layer().json()))
        .with((!json).then(tracing_subscriber::fmt::layer))
        // The admin page's live log tail sees what the log shows.
        .with(yail_server::admin::LogTailLayer::new(state.clone()))
        .init();
}

/// The machine's address on its LAN: the source address the OS would use
/// for an outside destination. Connecting a UDP socket sends nothing.
fn lan_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    socket
        .local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    warn!(error = %e, "cannot watch SIGTERM; Ctrl-C still works");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("signal received");
}

/// Threads for blocking work (file reads, conversions). Reads cannot block
/// for long (files are opened without blocking) and conversions are capped
/// by `--workers`, so this is a backstop rather than a working limit.
const MAX_BLOCKING_THREADS: usize = 64;

/// How long, after the server stopped, the runtime waits for blocking work
/// still running (a conversion of a huge picture) before the process exits.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(5);

fn main() -> anyhow::Result<()> {
    // Before the runtime starts its threads.
    yail_core::malloc::keep_freed_memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()?;
    let served = runtime.block_on(serve());
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    served
}

async fn serve() -> anyhow::Result<()> {
    let env_file = load_env_file()?;
    let args = Args::parse();
    let state = ServerState::new();
    init_logs(&args, &state);
    let config = args.config();
    if let Some(file) = env_file {
        info!(file = %file.display(), "read settings from env file");
    }
    info!(?config, "effective settings");

    let address = args.address();
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let port = listener.local_addr()?.port();
    let shown = match (args.bind.is_unspecified(), lan_address()) {
        (true, Some(lan)) => lan,
        (true, None) => IpAddr::from([127, 0, 0, 1]),
        (false, _) => args.bind,
    };
    info!("listening on {address}; on the Atari, use N:TCP://{shown}:{port}/");

    // The admin page: checked and bound before serving anyone.
    let admin_listener = match args.admin_address() {
        Some(admin_address) => {
            yail_server::admin::check_bind(admin_address, args.admin_token.as_deref())?;
            let listener = tokio::net::TcpListener::bind(admin_address)
                .await
                .with_context(|| {
                    format!(
                        "cannot serve the admin page on {admin_address} (--admin-port, or --no-admin)"
                    )
                })?;
            Some(listener)
        }
        None => None,
    };

    let services = Services::start(config, state).await?;
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(admin_listener) = admin_listener {
        let options = yail_server::AdminOptions {
            token: args.admin_token.clone(),
            hosts: args.admin_hosts.clone(),
            atari_address: Some(format!("N:TCP://{shown}:{port}/")),
            max_try_bytes: None,
        };
        let admin = yail_server::run_admin(
            admin_listener,
            services.clone(),
            options,
            stop.clone().cancelled_owned(),
        );
        tokio::spawn(async move {
            if let Err(e) = admin.await {
                tracing::error!(error = %e, "admin page stopped");
            }
        });
    }
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });

    yail_server::run(listener, services, stop.cancelled_owned()).await;
    info!("stopped");
    Ok(())
}
