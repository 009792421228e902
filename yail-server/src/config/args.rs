//! The command line: every flag, the environment variable that can stand
//! for it (`YAIL_` and the flag's name), and its default (from
//! [`defaults`](super::defaults), which `Config::default()` uses too). The
//! settings file's keys are the flags' names too ([`super::load`] sets them
//! as the flags' defaults before parsing). `yail-server --help` prints
//! this, and `docs/configuration.md` is checked against it by a test.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;

use super::defaults;
use super::search_engine::SearchEngine;
use crate::fetch::{self, IpNet};

/// Serves pictures to Atari 8-bit computers running the YAIL client.
///
/// Every flag can also come from the environment (`YAIL_<FLAG>`), an env
/// file or a settings file (`--config`); flags win over the environment,
/// which wins over the env file, which wins over the settings file.
#[derive(Debug, Clone, Parser)]
#[command(name = "yail-server", version)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "YAIL_BIND", default_value_t = defaults::BIND)]
    pub bind: IpAddr,
    /// TCP port (the Atari connects to `N:TCP://<address>:<port>/`).
    #[arg(long, env = "YAIL_PORT", default_value_t = defaults::PORT)]
    pub port: u16,
    /// Picture files or folders (searched recursively) for `files`; none: the built-in gallery.
    #[arg(long, env = "YAIL_PATHS", num_args = 1.., value_delimiter = ',')]
    pub paths: Vec<PathBuf>,
    /// Scan --paths again every this many seconds (0: only at start).
    #[arg(long, env = "YAIL_RESCAN_SECS", default_value_t = defaults::RESCAN_SECS)]
    pub rescan_secs: u64,
    /// File name extensions to serve from --paths.
    #[arg(
        long,
        env = "YAIL_EXTENSIONS",
        value_delimiter = ',',
        default_values = defaults::EXTENSIONS
    )]
    pub extensions: Vec<String>,
    /// Modes `gfx 42` (random) picks from, as names or wire numbers.
    #[arg(
        long,
        env = "YAIL_RANDOM_MODES",
        value_delimiter = ',',
        default_values_t = defaults::RANDOM_MODES
    )]
    pub random_modes: Vec<GfxMode>,
    /// Converted-packet cache size in MiB; 0 disables the cache.
    #[arg(long, env = "YAIL_CACHE_MB", default_value_t = defaults::CACHE_MB)]
    pub cache_mb: usize,
    /// Sessions served at once; when full, a newcomer closes the longest-idle session.
    #[arg(long, env = "YAIL_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Sessions from one address at once (IPv6: one /64); raise it for a club behind one NAT.
    #[arg(long, env = "YAIL_MAX_PER_IP", default_value_t = defaults::MAX_PER_IP)]
    pub max_per_ip: usize,
    /// Seconds of silence after which a session is closed.
    #[arg(long, env = "YAIL_IDLE_TIMEOUT", default_value_t = defaults::IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Seconds a command may take to arrive once its first byte has.
    #[arg(long, env = "YAIL_COMMAND_TIMEOUT", default_value_t = defaults::COMMAND_TIMEOUT.as_secs())]
    pub command_timeout: u64,
    /// Seconds a request may take before the client gets an error packet.
    #[arg(long, env = "YAIL_REQUEST_TIMEOUT", default_value_t = defaults::REQUEST_TIMEOUT.as_secs())]
    pub request_timeout: u64,
    /// Longest command accepted, in bytes.
    #[arg(long, env = "YAIL_MAX_COMMAND_LEN", default_value_t = defaults::MAX_COMMAND_LEN)]
    pub max_command_len: usize,
    /// Conversions at once (default: number of cores).
    #[arg(long, env = "YAIL_WORKERS")]
    pub workers: Option<usize>,
    /// Memory conversions may use at once, in MiB (also caps a picture at MiB/8 megapixels).
    #[arg(long, env = "YAIL_DECODE_MEMORY_MB", default_value_t = defaults::DECODE_MEMORY_MB)]
    pub decode_memory_mb: usize,
    /// Do not prepare the next picture in advance.
    #[arg(long, env = "YAIL_NO_PREFETCH")]
    pub no_prefetch: bool,
    /// Space dithering mixes in: linear (default) or srgb (CRT look).
    #[arg(long, env = "YAIL_DITHER_SPACE", default_value = defaults::DITHER_SPACE)]
    pub dither_space: BlendSpace,
    /// The Atari's TV standard: ntsc or pal.
    #[arg(long, env = "YAIL_TV", default_value = defaults::TV)]
    pub tv: TvStandard,
    /// Env file to read settings from (default: .env when present).
    #[arg(long, env = "YAIL_ENV_FILE")]
    pub env_file: Option<PathBuf>,
    /// Settings file (TOML; keys are the flags' names with `_`), below the
    /// environment and the env file.
    #[arg(long, env = "YAIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// File the admin page saves its changes to, read at start above --config
    /// (default: the admin page saves into --config).
    #[arg(long, env = "YAIL_RUNTIME_FILE")]
    pub runtime_file: Option<PathBuf>,
    /// Log filter (`info`, `debug`, `yail_server=trace`...); RUST_LOG works too.
    #[arg(long, env = "YAIL_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format.
    #[arg(long, env = "YAIL_LOG_FORMAT", default_value = defaults::LOG_FORMAT, value_parser = ["text", "json"])]
    pub log_format: String,
    /// OpenAI API key, for image generation.
    #[arg(long, env = "YAIL_OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Gemini API key, for image generation.
    #[arg(long, env = "YAIL_GEMINI_API_KEY", hide_env_values = true)]
    pub gemini_api_key: Option<String>,

    // The admin web page.
    /// Address the admin page listens on; beyond loopback it needs --admin-token.
    #[arg(long, env = "YAIL_ADMIN_BIND", default_value_t = defaults::ADMIN_BIND)]
    pub admin_bind: IpAddr,
    /// Port of the admin page.
    #[arg(long, env = "YAIL_ADMIN_PORT", default_value_t = defaults::ADMIN_PORT)]
    pub admin_port: u16,
    /// Do not serve the admin page.
    #[arg(long, env = "YAIL_NO_ADMIN")]
    pub no_admin: bool,
    /// Token the admin page asks for (bearer header or login form).
    #[arg(long, env = "YAIL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A host name the admin page also answers to (the machine's name, or one a
    /// reverse proxy passes on); requests naming any other host are refused; repeatable.
    #[arg(long = "admin-host", env = "YAIL_ADMIN_HOST", value_delimiter = ',')]
    pub admin_hosts: Vec<crate::authority::AdminHost>,

    // Network sources: downloads and web image search.
    /// Also fetch from loopback, private, link-local and other non-public addresses.
    #[arg(long, env = "YAIL_ALLOW_PRIVATE_URLS")]
    pub allow_private_urls: bool,
    /// A non-public network (or address) fetched from all the same, such as
    /// one LAN picture host: `192.168.1.20` or `192.168.1.0/24`; repeatable.
    #[arg(
        long = "allow-url-net",
        env = "YAIL_ALLOW_URL_NET",
        value_delimiter = ','
    )]
    pub allow_url_nets: Vec<IpNet>,
    /// Largest download (a search result, showurl), in MB.
    #[arg(long, env = "YAIL_MAX_DOWNLOAD_MB", default_value_t = fetch::DEFAULT_MAX_BODY_BYTES / 1_000_000)]
    pub max_download_mb: u64,
    /// Seconds one whole download may take.
    #[arg(long, env = "YAIL_FETCH_TIMEOUT", default_value_t = fetch::DEFAULT_TOTAL_TIMEOUT.as_secs())]
    pub fetch_timeout: u64,
    /// Image search service: duckduckgo or searxng.
    #[arg(long, env = "YAIL_SEARCH_ENGINE", default_value_t = defaults::SEARCH_ENGINE)]
    pub search_engine: SearchEngine,
    /// DuckDuckGo's address.
    #[arg(long, env = "YAIL_SEARCH_URL", default_value = defaults::SEARCH_URL)]
    pub search_url: String,
    /// A SearXNG instance's address (with --search-engine searxng).
    #[arg(long, env = "YAIL_SEARXNG_URL")]
    pub searxng_url: Option<String>,
    /// Minutes search results are reused for the same term.
    #[arg(long, env = "YAIL_SEARCH_CACHE_MINUTES", default_value_t = defaults::SEARCH_CACHE_MINUTES)]
    pub search_cache_minutes: u64,

    // Image generation and the camera.
    /// Base URL of the OpenAI images API (any OpenAI-compatible server).
    #[arg(long, env = "YAIL_OPENAI_BASE_URL", default_value = defaults::OPENAI_BASE_URL)]
    pub openai_base_url: String,
    /// Base URL of the Gemini API.
    #[arg(long, env = "YAIL_GEMINI_BASE_URL", default_value = defaults::GEMINI_BASE_URL)]
    pub gemini_base_url: String,
    /// Model for image generation; `gemini-*` models use Gemini, others OpenAI.
    #[arg(long, env = "YAIL_GEN_MODEL", default_value = defaults::GEN_MODEL)]
    pub gen_model: String,
    /// Gemini model for `gen-gemini` (and `gen` when only a Gemini key is set).
    #[arg(long, env = "YAIL_GEMINI_MODEL", default_value = defaults::GEMINI_MODEL)]
    pub gemini_model: String,
    /// Further models a client may choose (`gen <model> ...`, `openai-config model ...`).
    #[arg(long, env = "YAIL_ALLOWED_MODELS", value_delimiter = ',')]
    pub allowed_models: Vec<String>,
    /// Picture size asked of OpenAI models.
    #[arg(long, env = "YAIL_GEN_SIZE", default_value = defaults::GEN_SIZE)]
    pub gen_size: String,
    /// Picture quality asked of OpenAI models: low, medium, high or auto.
    #[arg(long, env = "YAIL_GEN_QUALITY", default_value = defaults::GEN_QUALITY)]
    pub gen_quality: String,
    /// Seconds one generation may take.
    #[arg(long, env = "YAIL_GEN_TIMEOUT", default_value_t = defaults::GEN_TIMEOUT.as_secs())]
    pub gen_timeout: u64,
    /// Generations running at once across all clients.
    #[arg(long, env = "YAIL_GEN_CONCURRENCY", default_value_t = defaults::GEN_CONCURRENCY)]
    pub gen_concurrency: usize,
    /// Generations one client address may start per minute (0: no limit).
    #[arg(long, env = "YAIL_GEN_PER_MINUTE", default_value_t = defaults::GEN_PER_MINUTE)]
    pub gen_per_minute: u32,
    /// Camera for `video`: an HTTP snapshot URL or an MJPEG stream URL.
    #[arg(long, env = "YAIL_CAMERA", hide_env_values = true)]
    pub camera: Option<String>,
    /// Milliseconds between two snapshots of a snapshot camera.
    #[arg(long, env = "YAIL_CAMERA_INTERVAL_MS", default_value_t = duration_millis(defaults::CAMERA_INTERVAL))]
    pub camera_interval_ms: u64,

    // The operator's self-check.
    /// Try each configured source (generation keys and models, search,
    /// camera, --paths) once, print one line per source, and exit: non-zero
    /// when a configured source is broken.
    #[arg(long)]
    pub check: bool,
}

/// A duration in whole milliseconds, for a flag's default.
const fn duration_millis(duration: Duration) -> u64 {
    duration.as_secs() * 1000 + duration.subsec_millis() as u64
}

impl Args {
    /// Where the YAIL server listens.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// Where the admin page listens, or `None` with `--no-admin`.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        (!self.no_admin).then(|| SocketAddr::new(self.admin_bind, self.admin_port))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::config::Config;

    /// The flags as given, with the environment ignored (whatever the
    /// machine running the tests has set).
    fn parse(flags: &[&str]) -> Args {
        let command = Args::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(std::iter::once("yail-server").chain(flags.iter().copied()))
            .expect("valid flags");
        Args::from_arg_matches(&matches).expect("the flags' types")
    }

    #[test]
    fn every_flag_reads_yail_and_its_name() {
        for arg in Args::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            // Actions, not settings: nothing to read from the environment.
            if ["help", "version", "check"].contains(&long) {
                continue;
            }
            let expected = format!("YAIL_{}", long.to_ascii_uppercase().replace('-', "_"));
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(env.as_deref(), Some(expected.as_str()), "--{long}");
        }
    }

    #[test]
    fn no_flags_give_config_default() {
        assert_eq!(parse(&[]).config(), Config::default());
    }

    #[test]
    fn flags_change_what_they_name_and_nothing_else() {
        let config = parse(&["--fetch-timeout", "7", "--random-modes", "10,vbxe"]).config();
        assert_eq!(config.fetch_timeout, Duration::from_secs(7));
        assert_eq!(config.random_modes, [GfxMode::Gr10, GfxMode::Vbxe]);
        assert_eq!(
            Config {
                fetch_timeout: Config::default().fetch_timeout,
                random_modes: Config::default().random_modes,
                ..config
            },
            Config::default()
        );
    }
}
