//! Everything that shapes the server's behaviour, with the defaults a
//! community host wants ([`defaults`]). [`Args`](args::Args) fills it from
//! flags, environment, an env file and the settings files ([`load`]);
//! tests build it directly.

pub(crate) mod args;
pub(crate) mod defaults;
mod display;
mod error;
mod file;
mod layer;
mod legacy;
pub(crate) mod load;
pub(crate) mod save;
mod search_engine;
mod settings;

use std::time::Duration;

use args::Args;
pub use error::{ConfigError, SaveError};
pub use layer::Origin;
pub use load::{LoadError, Loaded, Source, load};
pub use save::{ADMIN_KEYS, SettingsStore};
pub use search_engine::SearchEngine;
pub use settings::Config;

// The conversion from flags lives here, above both `args` and `settings`,
// so that neither needs the other.
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
            max_fetches_per_ip: self.max_fetches_per_ip,
            download_memory_bytes: self.download_memory_mb.saturating_mul(1 << 20),
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
            camera_insecure_tls: self.camera_insecure_tls,

            gen_per_day: self.gen_per_day,
            gen_max_size: self.gen_max_size.clone().filter(|s| !s.is_empty()),
            gen_max_quality: self.gen_max_quality.clone().filter(|q| !q.is_empty()),
            slow_fetch: (self.slow_fetch_secs > 0)
                .then(|| Duration::from_secs(self.slow_fetch_secs)),
            ..defaults
        }
    }
}
