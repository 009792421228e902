//! Everything that shapes the server's behaviour, with the defaults a
//! community host wants ([`defaults`]). [`Args`](args::Args) fills it from
//! flags, environment, an env file and the settings files ([`load`]);
//! tests build it directly.

pub(crate) mod args;
pub(crate) mod defaults;
mod error;
mod file;
mod layer;
mod legacy;
pub(crate) mod load;
pub(crate) mod save;
mod search_engine;

use std::path::PathBuf;
use std::time::Duration;

use yail_core::{BlendSpace, TvStandard};
use yail_proto::GfxMode;

use crate::fetch::FetchConfig;
use args::Args;
pub use error::{ConfigError, SaveError};
pub use layer::Origin;
pub use load::{LoadError, Loaded, Source, load};
pub use save::{ADMIN_KEYS, SettingsStore};
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
    /// Generations one client address may start per minute; 0: no limit.
    pub gen_per_minute: u32,
    /// The camera `video` shows: an HTTP snapshot URL or an MJPEG stream.
    pub camera: Option<String>,
    /// Pause between two snapshots of a snapshot camera.
    pub camera_interval: Duration,
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
            gemini_model: String::from(defaults::GEMINI_MODEL),
            allowed_models: Vec::new(),
            gen_size: String::from(defaults::GEN_SIZE),
            gen_quality: String::from(defaults::GEN_QUALITY),
            gen_timeout: defaults::GEN_TIMEOUT,
            gen_concurrency: defaults::GEN_CONCURRENCY,
            gen_per_minute: defaults::GEN_PER_MINUTE,
            camera: None,
            camera_interval: defaults::CAMERA_INTERVAL,
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
            .field("gemini_model", &self.gemini_model)
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

/// A setting's value as the settings file writes it.
fn lower_debug(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").to_ascii_lowercase()
}

impl Config {
    /// The settings by their keys (the flags' names), with the values in
    /// the flags' units (`cache_mb`, seconds, milliseconds) and secrets
    /// masked: what the admin page shows. The listening addresses, the
    /// admin page's and the log's settings are not part of a `Config`.
    pub fn by_key(&self) -> Vec<(&'static str, serde_json::Value)> {
        use serde_json::json;
        let secs = |d: Duration| d.as_secs();
        let paths: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        vec![
            ("paths", json!(paths)),
            ("rescan_secs", json!(self.rescan_interval.map_or(0, secs))),
            ("extensions", json!(self.extensions)),
            (
                "random_modes",
                json!(
                    self.random_modes
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                ),
            ),
            ("cache_mb", json!(self.cache_bytes >> 20)),
            ("max_connections", json!(self.max_connections)),
            ("max_per_ip", json!(self.max_per_ip)),
            ("idle_timeout", json!(secs(self.idle_timeout))),
            ("command_timeout", json!(secs(self.command_timeout))),
            ("request_timeout", json!(secs(self.request_timeout))),
            ("max_command_len", json!(self.max_command_len)),
            ("workers", json!(self.workers)),
            ("decode_memory_mb", json!(self.decode_memory >> 20)),
            ("no_prefetch", json!(!self.prefetch)),
            ("dither_space", json!(lower_debug(&self.blend))),
            ("tv", json!(lower_debug(&self.tv))),
            ("openai_api_key", json!(masked(&self.openai_api_key))),
            ("gemini_api_key", json!(masked(&self.gemini_api_key))),
            ("allow_private_urls", json!(self.allow_private_urls)),
            (
                "allow_url_net",
                json!(
                    self.allowed_url_nets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "max_download_mb",
                json!(self.max_download_bytes / 1_000_000),
            ),
            ("fetch_timeout", json!(secs(self.fetch_timeout))),
            ("search_engine", json!(self.search_engine.name())),
            ("search_url", json!(url_origin(&self.search_url))),
            (
                "searxng_url",
                json!(self.searxng_url.as_deref().map(url_origin)),
            ),
            (
                "search_cache_minutes",
                json!(secs(self.search_cache_ttl) / 60),
            ),
            ("openai_base_url", json!(url_origin(&self.openai_base_url))),
            ("gemini_base_url", json!(url_origin(&self.gemini_base_url))),
            ("gen_model", json!(self.gen_model)),
            ("gemini_model", json!(self.gemini_model)),
            ("allowed_models", json!(self.allowed_models)),
            ("gen_size", json!(self.gen_size)),
            ("gen_quality", json!(self.gen_quality)),
            ("gen_timeout", json!(secs(self.gen_timeout))),
            ("gen_concurrency", json!(self.gen_concurrency)),
            ("gen_per_minute", json!(self.gen_per_minute)),
            ("camera", json!(self.camera.as_deref().map(url_origin))),
            (
                "camera_interval_ms",
                json!(u64::try_from(self.camera_interval.as_millis()).unwrap_or(u64::MAX)),
            ),
        ]
    }

    /// What the server does with these settings, in a few lines for the
    /// log at start: where the pictures come from, search, generation and
    /// the camera. Secrets are only said to be set; URLs show their host.
    pub fn summary(&self) -> Vec<String> {
        let pictures = if self.paths.is_empty() {
            String::from("pictures: the built-in gallery (--paths serves your own)")
        } else {
            const SHOWN: usize = 3;
            let mut list: Vec<String> = self
                .paths
                .iter()
                .take(SHOWN)
                .map(|p| p.display().to_string())
                .collect();
            if self.paths.len() > SHOWN {
                list.push(format!("and {} more", self.paths.len() - SHOWN));
            }
            let rescan = self.rescan_interval.map_or_else(
                || String::from("scanned at start"),
                |every| format!("scanned every {} s", every.as_secs()),
            );
            format!("pictures: {} ({rescan})", list.join(", "))
        };
        let search = match (self.search_engine, &self.searxng_url) {
            (SearchEngine::Searxng, Some(url)) => format!("search: SearXNG at {}", url_origin(url)),
            (SearchEngine::Searxng, None) => String::from("search: SearXNG, without an address"),
            (SearchEngine::DuckDuckGo, Some(url)) => format!(
                "search: DuckDuckGo (SearXNG at {} can be chosen on the admin page)",
                url_origin(url)
            ),
            (SearchEngine::DuckDuckGo, None) => String::from("search: DuckDuckGo"),
        };
        let key = |name: &str, secret: &Option<String>| {
            if secret.as_deref().is_some_and(|s| !s.is_empty()) {
                format!("{name} key set")
            } else {
                format!("no {name} key")
            }
        };
        let others = match self.allowed_models.len() {
            0 => String::new(),
            1 => String::from(", 1 more model allowed"),
            n => format!(", {n} more models allowed"),
        };
        let generation = format!(
            "generation: {} ({}, {} quality){others}; {}, {}",
            self.gen_model,
            self.gen_size,
            self.gen_quality,
            key("OpenAI", &self.openai_api_key),
            key("Gemini", &self.gemini_api_key),
        );
        let camera = match &self.camera {
            Some(url) => format!(
                "camera: {} (snapshots every {} ms, or its MJPEG stream)",
                url_origin(url),
                self.camera_interval.as_millis()
            ),
            None => String::from("camera: none (--camera)"),
        };
        vec![pictures, search, generation, camera]
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
            gemini_model: self.gemini_model.clone(),
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};
    use serde_json::json;

    use super::*;

    /// Keys whose settings live outside a `Config`: where the server and
    /// the admin page listen, the log, and the runtime file.
    const NOT_IN_CONFIG: [&str; 10] = [
        "bind",
        "port",
        "log_level",
        "log_format",
        "admin_bind",
        "admin_port",
        "no_admin",
        "admin_token",
        "admin_host",
        "runtime_file",
    ];

    #[test]
    fn every_setting_is_shown_under_its_key_in_the_flags_units() {
        // Flag, value given, what `by_key` shows.
        let cases: Vec<(&str, Option<&str>, serde_json::Value)> = vec![
            ("paths", Some("/srv/a"), json!(["/srv/a"])),
            ("rescan-secs", Some("600"), json!(600)),
            ("extensions", Some("png"), json!(["png"])),
            ("random-modes", Some("gr15"), json!(["gr15"])),
            ("cache-mb", Some("32"), json!(32)),
            ("max-connections", Some("9"), json!(9)),
            ("max-per-ip", Some("3"), json!(3)),
            ("idle-timeout", Some("11"), json!(11)),
            ("command-timeout", Some("12"), json!(12)),
            ("request-timeout", Some("13"), json!(13)),
            ("max-command-len", Some("99"), json!(99)),
            ("workers", Some("3"), json!(3)),
            ("decode-memory-mb", Some("100"), json!(100)),
            ("no-prefetch", None, json!(true)),
            ("dither-space", Some("srgb"), json!("srgb")),
            ("tv", Some("pal"), json!("pal")),
            (
                "openai-api-key",
                Some("sk-secret"),
                json!("set (9 characters, hidden)"),
            ),
            (
                "gemini-api-key",
                Some("g-secret"),
                json!("set (8 characters, hidden)"),
            ),
            ("allow-private-urls", None, json!(true)),
            (
                "allow-url-net",
                Some("192.168.1.0/24"),
                json!(["192.168.1.0/24"]),
            ),
            ("max-download-mb", Some("7"), json!(7)),
            ("fetch-timeout", Some("8"), json!(8)),
            ("search-engine", Some("searxng"), json!("searxng")),
            (
                "search-url",
                Some("https://ddg.test/x"),
                json!("https://ddg.test/..."),
            ),
            (
                "searxng-url",
                Some("http://s.lan/search"),
                json!("http://s.lan/..."),
            ),
            ("search-cache-minutes", Some("5"), json!(5)),
            (
                "openai-base-url",
                Some("https://o.test/v1"),
                json!("https://o.test/..."),
            ),
            (
                "gemini-base-url",
                Some("https://g.test/"),
                json!("https://g.test/..."),
            ),
            ("gen-model", Some("m1"), json!("m1")),
            ("allowed-models", Some("m2"), json!(["m2"])),
            ("gen-size", Some("512x512"), json!("512x512")),
            ("gen-quality", Some("high"), json!("high")),
            ("gen-timeout", Some("14"), json!(14)),
            ("gen-concurrency", Some("2"), json!(2)),
            ("gen-per-minute", Some("1"), json!(1)),
            (
                "camera",
                Some("http://u:p@cam.test/snap"),
                json!("http://cam.test/..."),
            ),
            ("camera-interval-ms", Some("250"), json!(250)),
        ];
        let mut flags = vec![String::from("yail-server")];
        for (flag, value, _) in &cases {
            flags.push(format!("--{flag}"));
            flags.extend(value.map(String::from));
        }
        let command = Args::command().mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(flags).expect("valid flags");
        let config = Args::from_arg_matches(&matches).expect("types").config();
        let shown: std::collections::BTreeMap<&str, serde_json::Value> =
            config.by_key().into_iter().collect();
        for (flag, _, expected) in &cases {
            let key = flag.replace('-', "_");
            assert_eq!(shown.get(key.as_str()), Some(expected), "{key}");
        }
        // Every key is shown, or lives outside a `Config`.
        for arg in Args::command().get_arguments() {
            let Some(key) = arg.get_long().map(|l| l.replace('-', "_")) else {
                continue;
            };
            if super::layer::NOT_KEYS.contains(&key.replace('_', "-").as_str()) {
                continue;
            }
            assert!(
                shown.contains_key(key.as_str()) != NOT_IN_CONFIG.contains(&key.as_str()),
                "{key}: shown by Config::by_key, or listed in NOT_IN_CONFIG"
            );
        }
    }

    #[test]
    fn the_summary_is_short_and_keeps_secrets() {
        let config = Config {
            openai_api_key: Some(String::from("sk-summary-secret")),
            camera: Some(String::from("http://admin:pw@cam.local/snap")),
            paths: (1..=5)
                .map(|n| PathBuf::from(format!("/srv/p{n}")))
                .collect(),
            rescan_interval: Some(Duration::from_secs(600)),
            allowed_models: vec![String::from("gemini-3-pro-image")],
            ..Config::default()
        };
        let lines = config.summary();
        let text = lines.join("\n");
        assert!(
            lines.len() <= 5 && lines.iter().all(|l| l.len() < 160),
            "{text}"
        );
        for secret in ["sk-summary-secret", "admin", "pw"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("pictures: /srv/p1, /srv/p2, /srv/p3, and 2 more (scanned every 600 s)"),
            "{text}"
        );
        assert!(text.contains("OpenAI key set, no Gemini key"), "{text}");
        assert!(text.contains("1 more model allowed"), "{text}");
        assert!(text.contains("camera: http://cam.local/..."), "{text}");
        let plain = Config::default().summary().join("\n");
        assert!(
            plain.contains("the built-in gallery") && plain.contains("search: DuckDuckGo"),
            "{plain}"
        );
    }

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
