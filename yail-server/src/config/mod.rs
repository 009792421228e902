//! Everything that shapes the server's behaviour, with the defaults a
//! community host wants ([`defaults`]). [`Args`](args::Args) fills it from
//! flags, environment and an env file; tests build it directly.

pub(crate) mod args;
pub(crate) mod defaults;
mod search_engine;

use std::path::PathBuf;
use std::time::Duration;

use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;

use crate::fetch::FetchConfig;
use args::Args;
pub use search_engine::SearchEngine;

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

    // Image generation and the camera.
    /// Base URL of the OpenAI images API; any compatible server works.
    pub openai_base_url: String,
    /// Base URL of the Gemini API (`/v1beta/models/...` is appended).
    pub gemini_base_url: String,
    /// The model generation uses when a client names none or one that is
    /// not allowed; `gemini-*` models go to Gemini, the rest to OpenAI.
    pub gen_model: String,
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
            openai_base_url: String::from(defaults::OPENAI_BASE_URL),
            gemini_base_url: String::from(defaults::GEMINI_BASE_URL),
            gen_model: String::from(defaults::GEN_MODEL),
            allowed_models: Vec::new(),
            gen_size: String::from(defaults::GEN_SIZE),
            gen_quality: String::from(defaults::GEN_QUALITY),
            gen_timeout: defaults::GEN_TIMEOUT,
            gen_concurrency: defaults::GEN_CONCURRENCY,
            gen_per_minute: defaults::GEN_PER_MINUTE,
            camera: None,
            camera_interval: defaults::CAMERA_INTERVAL,

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
            ..FetchConfig::default()
        }
    }
}

/// Shows a URL without what could be a secret in it: only its scheme and
/// host (a camera URL may carry a password or a token).
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if scheme.is_empty() {
        format!("{host}/...")
    } else {
        format!("{scheme}://{host}/...")
    }
}

/// Shows a secret as its length only.
fn masked(secret: &Option<String>) -> String {
    match secret {
        Some(s) if !s.is_empty() => format!("set ({} characters, hidden)", s.chars().count()),
        _ => String::from("not set"),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("paths", &self.paths)
            .field("rescan_interval", &self.rescan_interval)
            .field("extensions", &self.extensions)
            .field("random_modes", &self.random_modes)
            .field("cache_bytes", &self.cache_bytes)
            .field("max_connections", &self.max_connections)
            .field("max_per_ip", &self.max_per_ip)
            .field("idle_timeout", &self.idle_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_command_len", &self.max_command_len)
            .field("workers", &self.workers)
            .field("decode_memory", &self.decode_memory)
            .field("prefetch", &self.prefetch)
            .field("blend", &self.blend)
            .field("tv", &self.tv)
            .field("openai_api_key", &masked(&self.openai_api_key))
            .field("gemini_api_key", &masked(&self.gemini_api_key))
            .field("allow_private_urls", &self.allow_private_urls)
            .field("allowed_url_nets", &self.allowed_url_nets)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("search_engine", &self.search_engine)
            .field("search_url", &self.search_url)
            .field("searxng_url", &self.searxng_url)
            .field("search_cache_ttl", &self.search_cache_ttl)
            .field("openai_base_url", &url_origin(&self.openai_base_url))
            .field("gemini_base_url", &url_origin(&self.gemini_base_url))
            .field("gen_model", &self.gen_model)
            .field("allowed_models", &self.allowed_models)
            .field("gen_size", &self.gen_size)
            .field("gen_quality", &self.gen_quality)
            .field("gen_timeout", &self.gen_timeout)
            .field("gen_concurrency", &self.gen_concurrency)
            .field("gen_per_minute", &self.gen_per_minute)
            .field("camera", &self.camera.as_deref().map(url_origin))
            .field("camera_interval", &self.camera_interval)
            .field("gen_per_day", &self.gen_per_day)
            .field("gen_max_size", &self.gen_max_size)
            .field("gen_max_quality", &self.gen_max_quality)
            .field("slow_fetch", &self.slow_fetch)
            .finish()
    }
}

// The conversion from flags lives here, beside the settings it builds, so
// that `args` needs nothing from this module.
impl Args {
    /// The server's settings these flags describe; what no flag sets keeps
    /// its default.
    pub fn config(&self) -> Config {
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

            gen_per_day: self.gen_per_day,
            gen_max_size: self.gen_max_size.clone().filter(|s| !s.is_empty()),
            gen_max_quality: self.gen_max_quality.clone().filter(|q| !q.is_empty()),
            slow_fetch: (self.slow_fetch_secs > 0)
                .then(|| Duration::from_secs(self.slow_fetch_secs)),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = Config {
            openai_api_key: Some(String::from("sk-very-secret")),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("14 characters"), "{shown}");
    }

    #[test]
    fn urls_that_may_carry_secrets_show_only_scheme_and_host() {
        let config = Config {
            gemini_api_key: Some(String::from("AIza-secret-gemini")),
            camera: Some(String::from(
                "http://admin:hunter2@cam.local:8080/snap?token=t0k3n",
            )),
            openai_base_url: String::from("https://proxy.example/v1?key=sk-in-url"),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        for secret in [
            "AIza-secret-gemini",
            "hunter2",
            "admin",
            "t0k3n",
            "sk-in-url",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("http://cam.local:8080/..."), "{shown}");
        assert!(shown.contains("https://proxy.example/..."), "{shown}");
    }
}
