//! What every session of one server shares.

use yail_state::ServerState;

use crate::config::Config;
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use crate::pipeline::Pipeline;
use crate::sources::camera::Camera;
use crate::sources::generate::Generator;
use crate::sources::search::service::{SearchService, engines};

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) state: ServerState,
    pub(crate) pipeline: Pipeline,
    /// The guarded client for everything a client's request downloads.
    pub(crate) fetcher: Fetcher,
    pub(crate) search: SearchService,
    pub(crate) generator: Generator,
    /// The capture task of `--camera`, if one is configured.
    pub(crate) camera: Option<Camera>,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        state: ServerState,
        pipeline: Pipeline,
        generator: Generator,
        camera: Option<Camera>,
    ) -> Result<Shared, FetchError> {
        let fetch_config = config.fetch_config();
        let fetcher = Fetcher::new(fetch_config.clone())?;
        // The search service's address is the operator's choice, not a
        // client's, so it may be a private one (a SearXNG on the LAN); the
        // result pictures go through the guarded `fetcher`.
        let trusted = Fetcher::new(FetchConfig {
            allow_private: true,
            ..fetch_config
        })?;
        let search = SearchService::new(
            engines(&config, trusted)?,
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
