//! `yail-server`: flags, environment and env file in; logs and a running
//! server out. Everything else lives in the library.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracing::{info, warn};
use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;
use yail_server::Config;
use yail_state::ServerState;

/// Serves pictures to Atari 8-bit computers running the YAIL client.
///
/// Every flag can also come from the environment (`YAIL_<FLAG>`) or from an
/// env file; flags win over the environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(name = "yail-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "YAIL_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// TCP port (the Atari connects to N:TCP://<address>:<port>/).
    #[arg(long, env = "YAIL_PORT", default_value_t = yail_proto::DEFAULT_PORT)]
    port: u16,
    /// Picture files or folders (searched recursively) for `files`; none: the built-in gallery.
    #[arg(long, env = "YAIL_PATHS", num_args = 1.., value_delimiter = ',')]
    paths: Vec<PathBuf>,
    /// Scan --paths again every this many seconds (0: only at start).
    #[arg(long, env = "YAIL_RESCAN_SECS", default_value_t = 0)]
    rescan_secs: u64,
    /// File name extensions to serve from --paths.
    #[arg(
        long,
        env = "YAIL_EXTENSIONS",
        value_delimiter = ',',
        default_value = "jpg,jpeg,png,gif,webp,bmp"
    )]
    extensions: Vec<String>,
    /// Modes `gfx 42` (random) picks from, as wire numbers or names.
    #[arg(
        long,
        env = "YAIL_RANDOM_MODES",
        value_delimiter = ',',
        default_value = "2,4"
    )]
    random_modes: Vec<GfxMode>,
    /// Converted-packet cache size in MiB; 0 disables the cache.
    #[arg(long, env = "YAIL_CACHE_MB", default_value_t = 64)]
    cache_mb: usize,
    /// Sessions served at once; when full, a newcomer closes the longest-idle session.
    #[arg(long, env = "YAIL_MAX_CONNECTIONS", default_value_t = 256)]
    max_connections: usize,
    /// Sessions from one address at once (IPv6: one /64); raise it for a club behind one NAT.
    #[arg(long, env = "YAIL_MAX_PER_IP", default_value_t = 8)]
    max_per_ip: usize,
    /// Seconds of silence after which a session is closed.
    #[arg(long, env = "YAIL_IDLE_TIMEOUT", default_value_t = 300)]
    idle_timeout: u64,
    /// Seconds a command may take to arrive once its first byte has.
    #[arg(long, env = "YAIL_COMMAND_TIMEOUT", default_value_t = 30)]
    command_timeout: u64,
    /// Seconds a request may take before the client gets an error packet.
    #[arg(long, env = "YAIL_REQUEST_TIMEOUT", default_value_t = 60)]
    request_timeout: u64,
    /// Longest command accepted, in bytes.
    #[arg(long, env = "YAIL_MAX_COMMAND_LEN", default_value_t = yail_proto::DEFAULT_MAX_COMMAND_LEN)]
    max_command_len: usize,
    /// Conversions at once (default: number of cores).
    #[arg(long, env = "YAIL_WORKERS")]
    workers: Option<usize>,
    /// Memory conversions may use at once, in MiB (also caps a picture at MiB/8 megapixels).
    #[arg(long, env = "YAIL_DECODE_MEMORY_MB", default_value_t = 512)]
    decode_memory_mb: usize,
    /// Do not prepare the next picture in advance.
    #[arg(long, env = "YAIL_NO_PREFETCH")]
    no_prefetch: bool,
    /// Space dithering mixes in: linear (default) or srgb (CRT look).
    #[arg(long, env = "YAIL_DITHER_SPACE", default_value = "linear")]
    dither_space: BlendSpace,
    /// The Atari's TV standard: ntsc or pal.
    #[arg(long, env = "YAIL_TV", default_value = "ntsc")]
    tv: TvStandard,
    /// Env file to read settings from (default: .env when present).
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// Log filter (`info`, `debug`, `yail_server=trace`...); RUST_LOG works too.
    #[arg(long, env = "YAIL_LOG_LEVEL")]
    log_level: Option<String>,
    /// Log format.
    #[arg(long, env = "YAIL_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// OpenAI API key, for image generation.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    openai_api_key: Option<String>,
    /// Gemini API key, for image generation.
    #[arg(long, env = "GEMINI_API_KEY", hide_env_values = true)]
    gemini_api_key: Option<String>,

    // The admin web page (issue 18).
    /// Address the admin page listens on; beyond loopback it needs --admin-token.
    #[arg(long, env = "YAIL_ADMIN_BIND", default_value = "127.0.0.1")]
    admin_bind: IpAddr,
    /// Port of the admin page.
    #[arg(long, env = "YAIL_ADMIN_PORT", default_value_t = yail_server::admin::DEFAULT_ADMIN_PORT)]
    admin_port: u16,
    /// Do not serve the admin page.
    #[arg(long, env = "YAIL_NO_ADMIN")]
    no_admin: bool,
    /// Token the admin page asks for (bearer header or login form).
    #[arg(long, env = "YAIL_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    // Admin page: the host names it answers to besides its address and localhost.
    /// A host name the admin page also answers to (the machine's name, or one a
    /// reverse proxy passes on); requests naming any other host are refused; repeatable.
    #[arg(long = "admin-host", env = "YAIL_ADMIN_HOSTS", value_delimiter = ',')]
    admin_hosts: Vec<yail_server::admin::AdminHost>,

    // Network sources: downloads and web image search.
    /// Also fetch from loopback, private, link-local and other non-public addresses.
    #[arg(long, env = "YAIL_ALLOW_PRIVATE_URLS")]
    allow_private_urls: bool,
    /// A non-public network (or address) fetched from all the same, such as
    /// one LAN picture host: `192.168.1.20` or `192.168.1.0/24`; repeatable.
    #[arg(
        long = "allow-url-net",
        env = "YAIL_ALLOW_URL_NETS",
        value_delimiter = ','
    )]
    allow_url_nets: Vec<yail_server::fetch::IpNet>,
    /// Largest download (a search result, showurl), in MB.
    #[arg(long, env = "YAIL_MAX_DOWNLOAD_MB", default_value_t = 20)]
    max_download_mb: u64,
    /// Seconds one whole download may take.
    #[arg(long, env = "YAIL_FETCH_TIMEOUT", default_value_t = 30)]
    fetch_timeout: u64,
    /// Image search service: duckduckgo or searxng.
    #[arg(long, env = "YAIL_SEARCH_ENGINE", default_value = "duckduckgo")]
    search_engine: yail_server::SearchEngine,
    /// DuckDuckGo's address.
    #[arg(
        long,
        env = "YAIL_SEARCH_URL",
        default_value = "https://duckduckgo.com"
    )]
    search_url: String,
    /// A SearXNG instance's address (with --search-engine searxng).
    #[arg(long, env = "YAIL_SEARXNG_URL")]
    searxng_url: Option<String>,
    /// Minutes search results are reused for the same term.
    #[arg(long, env = "YAIL_SEARCH_CACHE_MINUTES", default_value_t = 60)]
    search_cache_minutes: u64,
    // Image generation and the camera (issue 17 part B).
    /// Base URL of the OpenAI images API (any OpenAI-compatible server).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    openai_base_url: String,
    /// Base URL of the Gemini API.
    #[arg(
        long,
        env = "GEMINI_BASE_URL",
        default_value = "https://generativelanguage.googleapis.com"
    )]
    gemini_base_url: String,
    /// Model for image generation; `gemini-*` models use Gemini, others OpenAI.
    #[arg(long, env = "YAIL_GEN_MODEL", default_value = yail_server::DEFAULT_GEN_MODEL)]
    gen_model: String,
    /// Further models a client may choose (`gen <model> ...`, `openai-config model ...`).
    #[arg(long, env = "YAIL_ALLOWED_MODELS", value_delimiter = ',')]
    allowed_models: Vec<String>,
    /// Picture size asked of OpenAI models.
    #[arg(long, env = "YAIL_GEN_SIZE", default_value = "1024x1024")]
    gen_size: String,
    /// Picture quality asked of OpenAI models: low, medium, high or auto.
    #[arg(long, env = "YAIL_GEN_QUALITY", default_value = "low")]
    gen_quality: String,
    /// Seconds one generation may take.
    #[arg(long, env = "YAIL_GEN_TIMEOUT", default_value_t = 120)]
    gen_timeout: u64,
    /// Generations running at once across all clients.
    #[arg(long, env = "YAIL_GEN_CONCURRENCY", default_value_t = 4)]
    gen_concurrency: usize,
    /// Generations one client address may start per minute (0: no limit).
    #[arg(long, env = "YAIL_GEN_PER_MINUTE", default_value_t = 6)]
    gen_per_minute: u32,
    /// Camera for `video`: an HTTP snapshot URL or an MJPEG stream URL.
    #[arg(long, env = "YAIL_CAMERA", hide_env_values = true)]
    camera: Option<String>,
    /// Milliseconds between two snapshots of a snapshot camera.
    #[arg(long, env = "YAIL_CAMERA_INTERVAL_MS", default_value_t = 500)]
    camera_interval_ms: u64,
}

impl Args {
    fn config(&self) -> Config {
        let defaults = Config::default();
        Config {
            paths: self.paths.clone(),
            rescan_interval: (self.rescan_secs > 0).then(|| Duration::from_secs(self.rescan_secs)),
            extensions: self
                .extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            random_modes: self.random_modes.clone(),
            cache_bytes: self.cache_mb.saturating_mul(1 << 20),
            max_connections: self.max_connections,
            max_per_ip: self.max_per_ip,
            idle_timeout: Duration::from_secs(self.idle_timeout),
            command_timeout: Duration::from_secs(self.command_timeout),
            request_timeout: Duration::from_secs(self.request_timeout),
            max_command_len: self.max_command_len,
            workers: self.workers.unwrap_or(defaults.workers),
            decode_memory: self.decode_memory_mb.saturating_mul(1 << 20),
            prefetch: !self.no_prefetch,
            blend: self.dither_space,
            tv: self.tv,
            openai_api_key: self.openai_api_key.clone().filter(|k| !k.is_empty()),
            gemini_api_key: self.gemini_api_key.clone().filter(|k| !k.is_empty()),

            allow_private_urls: self.allow_private_urls,
            allowed_url_nets: self.allow_url_nets.clone(),
            max_download_bytes: self.max_download_mb.saturating_mul(1_000_000),
            fetch_timeout: Duration::from_secs(self.fetch_timeout),
            search_engine: self.search_engine,
            search_url: self.search_url.clone(),
            searxng_url: self.searxng_url.clone(),
            search_cache_ttl: Duration::from_secs(self.search_cache_minutes.saturating_mul(60)),
            openai_base_url: self.openai_base_url.clone(),
            gemini_base_url: self.gemini_base_url.clone(),
            gen_model: self.gen_model.clone(),
            allowed_models: self.allowed_models.clone(),
            gen_size: self.gen_size.clone(),
            gen_quality: self.gen_quality.clone(),
            gen_timeout: Duration::from_secs(self.gen_timeout),
            gen_concurrency: self.gen_concurrency,
            gen_per_minute: self.gen_per_minute,
            camera: self.camera.clone().filter(|c| !c.is_empty()),
            camera_interval: Duration::from_millis(self.camera_interval_ms),
            ..defaults
        }
    }
}

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

    let address = SocketAddr::new(args.bind, args.port);
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

    let stop = tokio_util::sync::CancellationToken::new();
    // The admin page (issue 18): checked and bound before serving anyone.
    if !args.no_admin {
        let admin_address = SocketAddr::new(args.admin_bind, args.admin_port);
        yail_server::admin::check_bind(admin_address, args.admin_token.as_deref())?;
        let admin_listener = tokio::net::TcpListener::bind(admin_address)
            .await
            .with_context(|| {
                format!(
                    "cannot serve the admin page on {admin_address} (--admin-port, or --no-admin)"
                )
            })?;
        let options = yail_server::AdminOptions {
            token: args.admin_token.clone(),
            hosts: args.admin_hosts.clone(),
        };
        let admin = yail_server::run_admin(
            admin_listener,
            state.clone(),
            config.clone(),
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

    yail_server::run(listener, state, config, stop.cancelled_owned()).await;
    info!("stopped");
    Ok(())
}
