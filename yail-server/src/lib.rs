#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod admin;
pub mod alloc;
mod cache;
mod config;
mod connection;
mod error;
pub mod fetch;
mod files;
pub mod gallery;
mod pipeline;
mod server;
mod session;
mod sources;

pub use admin::{AdminOptions, run_admin};
pub use config::{Config, DEFAULT_GEN_MODEL, SearchEngine};
pub use server::{BUSY_MESSAGE, TOO_MANY_MESSAGE, run};

use fetch::{FetchConfig, Fetcher};
use pipeline::Pipeline;
use sources::search::SearchService;
use yail_state::ServerState;

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) state: ServerState,
    pub(crate) pipeline: Pipeline,
    /// The guarded client for everything a client's request downloads.
    pub(crate) fetcher: Fetcher,
    pub(crate) search: SearchService,
    pub(crate) generator: sources::generate::Generator,
    /// The capture task of `--camera`, if one is configured.
    pub(crate) camera: Option<sources::camera::Camera>,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        state: ServerState,
        pipeline: Pipeline,
        generator: sources::generate::Generator,
        camera: Option<sources::camera::Camera>,
    ) -> Result<Shared, fetch::FetchError> {
        let fetch_config = FetchConfig {
            connect_timeout: config.fetch_connect_timeout,
            read_timeout: config.fetch_read_timeout,
            total_timeout: config.fetch_timeout,
            max_body_bytes: config.max_download_bytes,
            allow_private: config.allow_private_urls,
            allowed_nets: config.allowed_url_nets.clone(),
            ..FetchConfig::default()
        };
        let fetcher = Fetcher::new(fetch_config.clone())?;
        // The search service's address is the operator's choice, not a
        // client's, so it may be a private one (a SearXNG on the LAN); the
        // result pictures go through the guarded `fetcher`.
        let trusted = Fetcher::new(FetchConfig {
            allow_private: true,
            ..fetch_config
        })?;
        let search = SearchService::new(
            sources::search::engines(&config, trusted)?,
            state.clone(),
            config.search_cache_ttl,
        );
        Ok(Shared {
            config,
            state,
            pipeline,
            fetcher,
            search,
            generator,
            camera,
        })
    }
}
