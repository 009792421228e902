//! `yail-server`: flags, environment, env file and settings files in;
//! logs and a running server out. Everything else lives in the library.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tracing::{debug, info, warn};
use yail_server::{Args, LoadError, Loaded, Services};
use yail_state::ServerState;

/// Loads the env file before flags are parsed, so its values act as
/// environment variables; existing variables are never overridden.
fn load_env_file() -> anyhow::Result<Option<PathBuf>> {
    let args: Vec<String> = std::env::args().collect();
    let explicit = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            a.strip_prefix("--env-file=")
                .map(PathBuf::from)
                .or_else(|| {
                    (a == "--env-file")
                        .then(|| args.get(i + 1).map(PathBuf::from))
                        .flatten()
                })
        })
        .or_else(|| {
            std::env::var_os("YAIL_ENV_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
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

// --- models: async-openai's own log lines are never shown -----------------
/// async-openai logs a response body it cannot parse, whole, at ERROR
/// (target `async_openai::error`), and the body of a 5xx answer at WARN
/// (`async_openai::client`), before the server sees the error: such a body
/// may quote the key, or carry a whole base64 picture. Those targets are
/// switched off whatever the log filter asks (a later directive for the
/// same target wins); the server logs its own scrubbed account of every
/// failure.
fn without_api_bodies(filter: tracing_subscriber::EnvFilter) -> tracing_subscriber::EnvFilter {
    [
        "async_openai=off",
        "async_openai::error=off",
        "async_openai::client=off",
        "async_openai::retry=off",
    ]
    .into_iter()
    .filter_map(|directive| directive.parse().ok())
    .fold(filter, |filter, directive| filter.add_directive(directive))
}
// --- end models ---------------------------------------------------------------

/// Whether the log may colour its lines: only for a person at a terminal,
/// and not when `NO_COLOR` is set to anything (<https://no-color.org>).
fn log_colour(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn init_logs(args: &Args, state: &ServerState) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = match &args.log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let filter = without_api_bodies(filter);
    let json = args.log_format == "json";
    // The log goes to standard output: journald and files get no colour codes.
    let colour = log_colour(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| tracing_subscriber::fmt::layer().json()))
        .with((!json).then(|| tracing_subscriber::fmt::layer().with_ansi(colour)))
        // The admin page's live log tail sees what the log shows.
        .with(yail_server::admin::LogTailLayer::new(state.clone()))
        .init();
}

/// Where the settings came from and where the admin page saves, in one line.
fn settings_line(loaded: &Loaded, env_file: Option<&PathBuf>) -> String {
    let mut read: Vec<String> = loaded
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    if let Some(file) = env_file {
        read.push(format!("env file {}", file.display()));
    }
    let from = if read.is_empty() {
        String::from("settings: flags, environment and defaults")
    } else {
        format!("settings: {} (flags and environment win)", read.join(", "))
    };
    match loaded.store.path() {
        Some(path) => format!("{from}; the admin page saves to {}", path.display()),
        None => format!(
            "{from}; changes made on the admin page last until the server stops (--config keeps them)"
        ),
    }
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

fn main() -> ExitCode {
    // What stops the server at start is a setting to fix, said in one
    // line, without the backtrace anyhow adds when RUST_BACKTRACE is set.
    match start() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<ExitCode> {
    // Before the runtime starts its threads: the env file sets variables.
    yail_core::malloc::keep_freed_memory();
    let env_file = load_env_file()?;
    let loaded = match yail_server::load_settings(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        // Wrong flags, --help and --version, the way clap says them.
        Err(LoadError::Usage(e)) => e.exit(),
        Err(e) => return Err(e.into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()?;
    let served = runtime.block_on(serve(loaded, env_file));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    served
}

async fn serve(loaded: Loaded, env_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let args = &loaded.args;
    let state = ServerState::new();
    init_logs(args, &state);
    for warning in &loaded.warnings {
        warn!("{warning}");
    }
    let config = args.config();
    info!("{}", settings_line(&loaded, env_file.as_ref()));
    for line in config.summary() {
        info!("{line}");
    }
    if args.no_admin {
        info!("admin page: off (--no-admin)");
    }
    debug!(?config, "effective settings");
    if args.check {
        return Ok(check(config, state).await?);
    }

    let address = args.address();
    let listener = listen(address).with_context(|| format!("cannot listen on {address}"))?;
    // With port 0 the system chose one: say which.
    let address = listener.local_addr()?;
    let port = address.port();
    let shown = match (args.bind.is_unspecified(), lan_address()) {
        (true, Some(lan)) => lan,
        (true, None) => IpAddr::from([127, 0, 0, 1]),
        (false, _) => args.bind,
    };

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

    // Said once the pictures are in place: from here on an Atari is served.
    let services = Services::start(config, state).await?;
    info!("listening on {address}; on the Atari, use N:TCP://{shown}:{port}/");
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(admin_listener) = admin_listener {
        let options = yail_server::AdminOptions {
            token: args.admin_token.clone(),
            hosts: args.admin_hosts.clone(),
            atari_address: Some(format!("N:TCP://{shown}:{port}/")),
            max_try_bytes: None,
            settings: loaded.store.clone(),
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
    Ok(ExitCode::SUCCESS)
}

/// Connections the system may hold for the server before it accepts them.
/// A burst (every Atari of a party reconnecting after a restart, `yail
/// load`) overflowed the 128 of tokio's `bind`, and each connection dropped
/// then waited a second for its client to try again.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds the Atari port with [`LISTEN_BACKLOG`].
fn listen(address: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's bind does on Unix: a restart may rebind at once although
    // connections of the old process linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// `--check`: tries each configured source once, prints one line per
/// source on standard output, and fails when a configured one is broken.
async fn check(
    config: yail_server::Config,
    state: ServerState,
) -> Result<ExitCode, yail_server::SetupError> {
    let report = Services::check_once(config, state).await?;
    print!("{report}");
    Ok(if report.broken() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_at_a_terminal_and_never_with_no_color() {
        assert!(log_colour(true, None));
        assert!(!log_colour(false, None), "a pipe, a file, journald");
        assert!(!log_colour(true, Some("1".into())));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(log_colour(true, Some("".into())));
    }
}
