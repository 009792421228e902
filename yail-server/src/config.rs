//! Everything that shapes the server's behaviour, with the defaults a
//! community host wants. `main` fills it from flags, environment and an
//! env file; tests build it directly.

use std::path::PathBuf;
use std::time::Duration;

use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;

/// The server's settings.
#[derive(Clone)]
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

    // Image generation and the camera (issue 17 part B).
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
    /// Generations one client address may start per minute; 0: no limit.
    pub gen_per_minute: u32,
    /// The camera `video` shows: an HTTP snapshot URL or an MJPEG stream.
    pub camera: Option<String>,
    /// Pause between two snapshots of a snapshot camera.
    pub camera_interval: Duration,
}

/// Which web image search service `search` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchEngine {
    /// DuckDuckGo (no key needed).
    #[default]
    DuckDuckGo,
    /// A SearXNG instance with its JSON API enabled.
    Searxng,
}

impl std::str::FromStr for SearchEngine {
    type Err = String;

    fn from_str(text: &str) -> Result<SearchEngine, String> {
        match text.to_ascii_lowercase().as_str() {
            "duckduckgo" | "ddg" => Ok(SearchEngine::DuckDuckGo),
            "searxng" => Ok(SearchEngine::Searxng),
            other => Err(format!(
                "unknown search engine {other:?} (duckduckgo or searxng)"
            )),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            paths: Vec::new(),
            rescan_interval: None,
            extensions: ["jpg", "jpeg", "png", "gif", "webp", "bmp"]
                .map(String::from)
                .to_vec(),
            random_modes: vec![GfxMode::Gr8, GfxMode::Gr9],
            cache_bytes: 64 << 20,
            max_connections: 256,
            max_per_ip: 8,
            idle_timeout: Duration::from_secs(300),
            command_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            idle_flush: Duration::from_millis(150),
            max_command_len: yail_proto::DEFAULT_MAX_COMMAND_LEN,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            decode_memory: 512 << 20,
            file_retries: 5,
            prefetch: true,
            blend: BlendSpace::default(),
            tv: TvStandard::default(),
            shutdown_grace: Duration::from_secs(10),
            openai_api_key: None,
            gemini_api_key: None,

            allow_private_urls: false,
            allowed_url_nets: Vec::new(),
            max_download_bytes: crate::fetch::DEFAULT_MAX_BODY_BYTES,
            fetch_connect_timeout: Duration::from_secs(10),
            fetch_read_timeout: Duration::from_secs(15),
            fetch_timeout: Duration::from_secs(30),
            search_engine: SearchEngine::DuckDuckGo,
            search_url: String::from("https://duckduckgo.com"),
            searxng_url: None,
            search_cache_ttl: Duration::from_secs(3600),
            search_retries: 5,
            search_backoff: Duration::from_secs(1),
            openai_base_url: String::from("https://api.openai.com/v1"),
            gemini_base_url: String::from("https://generativelanguage.googleapis.com"),
            gen_model: String::from(DEFAULT_GEN_MODEL),
            allowed_models: Vec::new(),
            gen_size: String::from("1024x1024"),
            gen_quality: String::from("low"),
            gen_timeout: Duration::from_secs(120),
            gen_concurrency: 4,
            gen_per_minute: 6,
            camera: None,
            camera_interval: Duration::from_millis(500),
        }
    }
}

/// The generation model used unless configured otherwise: OpenAI's small
/// current image model (an Atari shows 320x220 pixels at most, so the
/// larger models' detail is lost on it, while their price is not).
pub const DEFAULT_GEN_MODEL: &str = "gpt-image-1-mini";

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
            .finish()
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
