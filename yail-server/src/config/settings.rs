//! The server's settings ([`Config`]), each with its default, and the
//! download limits they give the guarded fetcher.

use std::path::PathBuf;
use std::time::Duration;

use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;

use super::defaults;
use super::search_engine::SearchEngine;
use crate::fetch::FetchConfig;

/// The server's settings.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Files and directories (searched recursively) served by `files`;
    /// empty: the built-in gallery.
    pub paths: Vec<PathBuf>,
    /// Scan `paths` again this often, so pictures added while the server
    /// runs are served too; `None`: only at start.
    pub rescan_interval: Option<Duration>,
    /// File name extensions `paths` are filtered by (lower case, no dot).
    pub extensions: Vec<String>,
    /// The modes `gfx 42` picks from.
    pub random_modes: Vec<GfxMode>,
    /// Budget of the converted-packet cache in bytes; 0 disables it.
    pub cache_bytes: usize,
    /// Sessions served at once. When all are taken, a newcomer closes the
    /// session that has waited longest for its client; only when every
    /// session is busy with a request does it get "server busy".
    pub max_connections: usize,
    /// Sessions from one address (IPv6: one /64) at once; more are refused.
    pub max_per_ip: usize,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A command must be complete this long after its first byte arrived.
    pub command_timeout: Duration,
    /// A request that takes longer gets an error packet instead.
    pub request_timeout: Duration,
    /// How long an unterminated bare-word command may pause before it is
    /// taken as complete.
    pub idle_flush: Duration,
    /// Longest command accepted, in bytes.
    pub max_command_len: usize,
    /// Conversions running at once (default: the number of cores).
    pub workers: usize,
    /// Memory conversions may use at once, in bytes: each reserves its
    /// picture's decoded size before decoding, and waits until that much
    /// is free. A picture too large for the whole budget is refused.
    pub decode_memory: usize,
    /// How many broken files `files` skips before answering with an error.
    pub file_retries: usize,
    /// Prepare the next picture while the client shows the current one.
    pub prefetch: bool,
    /// Dithering blend space.
    pub blend: BlendSpace,
    /// Palette the colour modes match against.
    pub tv: TvStandard,
    /// On shutdown, how long sessions may finish the packet in flight.
    pub shutdown_grace: Duration,
    /// OpenAI key, for image generation (never logged).
    pub openai_api_key: Option<String>,
    /// Gemini key, for image generation (never logged).
    pub gemini_api_key: Option<String>,

    // Network sources: downloads and web image search.
    /// Fetch from loopback, private, link-local and other non-public
    /// addresses too (`--allow-private-urls`).
    pub allow_private_urls: bool,
    /// Non-public networks fetched from all the same (`--allow-url-net`),
    /// such as one LAN picture host.
    pub allowed_url_nets: Vec<crate::fetch::IpNet>,
    /// Largest download accepted, in bytes.
    pub max_download_bytes: u64,
    /// Longest wait for a connection to a web server.
    pub fetch_connect_timeout: Duration,
    /// Longest silence while downloading.
    pub fetch_read_timeout: Duration,
    /// Longest one whole download may take.
    pub fetch_timeout: Duration,
    /// The image search service.
    pub search_engine: SearchEngine,
    /// DuckDuckGo's address.
    pub search_url: String,
    /// A SearXNG instance's address (for [`SearchEngine::Searxng`]).
    pub searxng_url: Option<String>,
    /// How long search results are reused for the same term.
    pub search_cache_ttl: Duration,
    /// Broken search results skipped before answering with an error.
    pub search_retries: usize,
    /// First pause when the search service says "slow down" (doubled each
    /// time, three attempts in all).
    pub search_backoff: Duration,
    /// After the search service kept saying "slow down", how long it is
    /// not asked again (searches answer "busy" meanwhile; cached terms are
    /// still served).
    pub search_cooldown: Duration,
    /// Search results fetched at once for one request.
    pub search_parallel: usize,
    /// How long a search waits on its results before starting one more
    /// (and a result's full picture beside its slow thumbnail).
    pub search_hedge: Duration,
    /// A result loading longer than this leaves its place to another.
    pub search_patience: Duration,
    /// Downloads one client network (IPv4 address, IPv6 /64) may have
    /// running at once.
    pub max_fetches_per_ip: usize,
    /// Bytes all downloads may hold at once.
    pub download_memory_bytes: u64,

    // Image generation and the camera.
    /// Base URL of the OpenAI images API; any compatible server works.
    pub openai_base_url: String,
    /// Base URL of the Gemini API (`/v1beta/models/...` is appended).
    pub gemini_base_url: String,
    /// The model generation uses when a client names none or one that is
    /// not allowed; `gemini-*` models go to Gemini, the rest to OpenAI.
    pub gen_model: String,
    /// The Gemini model `gen-gemini` uses (and `gen`, when only Gemini has
    /// a key).
    pub gemini_model: String,
    /// Models a client may choose (by `gen <model> ...` or
    /// `openai-config model ...`) besides `gen_model`.
    pub allowed_models: Vec<String>,
    /// Picture size asked of OpenAI models (`1024x1024`, ...).
    pub gen_size: String,
    /// Quality asked of OpenAI models (`low`, `medium`, `high`, `auto`).
    pub gen_quality: String,
    /// Longest a generation may take, waiting for a slot included.
    pub gen_timeout: Duration,
    /// Generations running at once across all sessions.
    pub gen_concurrency: usize,
    /// Generations one client network (an IPv4 address, an IPv6 /64) may
    /// start per minute; 0: no limit.
    pub gen_per_minute: u32,
    /// The camera `video` shows: an HTTP snapshot URL or an MJPEG stream.
    pub camera: Option<String>,
    /// Pause between two snapshots of a snapshot camera.
    pub camera_interval: Duration,
    /// Accept the camera's TLS certificate without checking it (a camera
    /// with a self-signed certificate); never applies to clients' URLs.
    pub camera_insecure_tls: bool,

    // What clients may cost.
    /// Generations the whole server may start in 24 hours; 0: no limit.
    pub gen_per_day: u32,
    /// Largest picture size a client may choose (`openai-config size`);
    /// `None`: `gen_size`.
    pub gen_max_size: Option<String>,
    /// Highest quality a client may choose (`openai-config quality`);
    /// `None`: `gen_quality`.
    pub gen_max_quality: Option<String>,
    /// A session waiting this long on a download may be closed to make
    /// room when the server is full; `None`: never.
    pub slow_fetch: Option<Duration>,
}

impl Default for Config {
    fn default() -> Config {
        let fetch = FetchConfig::default();
        Config {
            paths: Vec::new(),
            rescan_interval: None,
            extensions: defaults::EXTENSIONS.map(String::from).to_vec(),
            random_modes: defaults::RANDOM_MODES.to_vec(),
            cache_bytes: defaults::CACHE_MB << 20,
            max_connections: defaults::MAX_CONNECTIONS,
            max_per_ip: defaults::MAX_PER_IP,
            idle_timeout: defaults::IDLE_TIMEOUT,
            command_timeout: defaults::COMMAND_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            idle_flush: defaults::IDLE_FLUSH,
            max_command_len: defaults::MAX_COMMAND_LEN,
            workers: defaults::workers(),
            decode_memory: defaults::DECODE_MEMORY_MB << 20,
            file_retries: defaults::FILE_RETRIES,
            prefetch: true,
            blend: defaults::DITHER_SPACE.parse().unwrap_or_default(),
            tv: defaults::TV.parse().unwrap_or_default(),
            shutdown_grace: defaults::SHUTDOWN_GRACE,
            openai_api_key: None,
            gemini_api_key: None,

            allow_private_urls: fetch.allow_private,
            allowed_url_nets: fetch.allowed_nets,
            max_download_bytes: fetch.max_body_bytes,
            fetch_connect_timeout: fetch.connect_timeout,
            fetch_read_timeout: fetch.read_timeout,
            fetch_timeout: fetch.total_timeout,
            search_engine: defaults::SEARCH_ENGINE,
            search_url: String::from(defaults::SEARCH_URL),
            searxng_url: None,
            search_cache_ttl: Duration::from_secs(defaults::SEARCH_CACHE_MINUTES * 60),
            search_retries: defaults::SEARCH_RETRIES,
            search_backoff: defaults::SEARCH_BACKOFF,
            search_cooldown: defaults::SEARCH_COOLDOWN,
            search_parallel: defaults::SEARCH_PARALLEL,
            search_hedge: defaults::SEARCH_HEDGE,
            search_patience: defaults::SEARCH_PATIENCE,
            max_fetches_per_ip: fetch.max_fetches_per_network,
            download_memory_bytes: fetch.download_memory_bytes,
            openai_base_url: String::from(defaults::OPENAI_BASE_URL),
            gemini_base_url: String::from(defaults::GEMINI_BASE_URL),
            gen_model: String::from(defaults::GEN_MODEL),
            gemini_model: String::from(defaults::GEMINI_MODEL),
            allowed_models: Vec::new(),
            gen_size: String::from(defaults::GEN_SIZE),
            gen_quality: String::from(defaults::GEN_QUALITY),
            gen_timeout: defaults::GEN_TIMEOUT,
            gen_concurrency: defaults::GEN_CONCURRENCY,
            gen_per_minute: defaults::GEN_PER_MINUTE,
            camera: None,
            camera_interval: defaults::CAMERA_INTERVAL,
            camera_insecure_tls: false,

            gen_per_day: defaults::GEN_PER_DAY,
            gen_max_size: None,
            gen_max_quality: None,
            slow_fetch: Some(defaults::SLOW_FETCH),
        }
    }
}

impl Config {
    /// The limits of the guarded downloads a client's request makes.
    pub(crate) fn fetch_config(&self) -> FetchConfig {
        FetchConfig {
            connect_timeout: self.fetch_connect_timeout,
            read_timeout: self.fetch_read_timeout,
            total_timeout: self.fetch_timeout,
            max_body_bytes: self.max_download_bytes,
            allow_private: self.allow_private_urls,
            allowed_nets: self.allowed_url_nets.clone(),
            max_fetches_per_network: self.max_fetches_per_ip,
            download_memory_bytes: self.download_memory_bytes,
            ..FetchConfig::default()
        }
    }
}
