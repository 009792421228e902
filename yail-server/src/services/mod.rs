//! What the server offers every session, built once and shared: the
//! settings, the state, the conversion pipeline, the guarded downloads,
//! web image search, image generation and the camera. Nothing here knows
//! of sessions; the sources above use these to answer requests, and the
//! admin page uses the same ones.

pub(crate) mod camera;
pub mod catalogue;
pub mod check;
pub(crate) mod generate;
pub(crate) mod pipeline;
pub(crate) mod search;

use std::sync::Arc;

use tokio_util::sync::{CancellationToken, DropGuard};
use yail_state::ServerState;

use crate::config::Config;
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use camera::Camera;
use check::CheckReport;
use generate::Generator;
use pipeline::Pipeline;
use search::{EngineSetupError, SearchService};

/// Why the services could not be set up: a configuration they cannot work
/// with, found before anyone is served.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The HTTP client for downloads could not be built.
    #[error("cannot set up downloads: {0}")]
    Downloads(#[from] FetchError),
    /// The search engines are misconfigured.
    #[error("cannot set up image search: {0}")]
    Search(#[from] EngineSetupError),
    /// Picture folders or files of `--paths` do not exist, and no
    /// `--rescan-secs` says they may appear later.
    #[error(transparent)]
    Pictures(#[from] catalogue::MissingPaths),
}

/// The services of one server; a cheap `Clone` handle. The YAIL server and
/// the admin page are given the same one.
///
/// Its background work (the camera's capture, periodic rescans of the
/// picture folders) stops when the last handle is dropped.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    state: ServerState,
    pipeline: Pipeline,
    /// The guarded client for everything a client's request downloads.
    fetcher: Fetcher,
    search: SearchService,
    generator: Generator,
    /// The capture task of `--camera`, if one is configured.
    camera: Option<Camera>,
    /// Cancels the background tasks when the last handle goes.
    _background: DropGuard,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("config", &self.inner.config)
            .field("state", &self.inner.state)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Sets up every service from `config`, fills the catalogue (a scan of
    /// `config.paths`, or the built-in gallery when there are none and
    /// `state` holds no files) and starts the background tasks.
    ///
    /// # Errors
    /// A configuration the services cannot work with (a search service
    /// address that is not a URL, SearXNG chosen without one, a picture
    /// folder that does not exist).
    pub async fn start(config: Config, state: ServerState) -> Result<Services, SetupError> {
        catalogue::check_paths(&config)?;
        Services::start_unchecked(config, state).await
    }

    /// `--check`: sets up the services as [`Services::start`] does, except
    /// that a missing picture folder is one of the report's lines rather
    /// than a refusal, and tries each configured source once.
    ///
    /// # Errors
    /// A configuration the services cannot be set up with at all (see
    /// [`Services::start`]).
    pub async fn check_once(config: Config, state: ServerState) -> Result<CheckReport, SetupError> {
        Ok(Services::start_unchecked(config, state)
            .await?
            .check()
            .await)
    }

    async fn start_unchecked(config: Config, state: ServerState) -> Result<Services, SetupError> {
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
            search::engines(&config, trusted)?,
            state.clone(),
            config.search_cache_ttl,
        );
        catalogue::load(&state, &config).await;

        let background = CancellationToken::new();
        if let Some(every) = config.rescan_interval.filter(|_| !config.paths.is_empty()) {
            tokio::spawn(catalogue::rescan_periodically(
                state.clone(),
                config.clone(),
                every,
                background.clone(),
            ));
        }
        let camera = config
            .camera
            .clone()
            .map(|url| Camera::spawn(url, config.camera_interval, background.clone()));
        // The model lists are read before anyone is served (for 5 s at
        // most), so the log names a replaced model at start.
        let generator = Generator::new(&config, state.clone(), fetcher.clone());
        generator.start_discovery(background.clone()).await;
        Ok(Services {
            inner: Arc::new(Inner {
                pipeline: Pipeline::new(state.clone(), &config),
                generator,
                fetcher,
                search,
                camera,
                config,
                state,
                _background: background.drop_guard(),
            }),
        })
    }

    /// The settings the server runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The state shared with the admin page and the tests.
    pub fn state(&self) -> &ServerState {
        &self.inner.state
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The guarded client for everything a client's request downloads.
    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    pub(crate) fn search(&self) -> &SearchService {
        &self.inner.search
    }

    pub(crate) fn generator(&self) -> &Generator {
        &self.inner.generator
    }

    /// The camera, if one is configured.
    pub(crate) fn camera(&self) -> Option<&Camera> {
        self.inner.camera.as_ref()
    }

    /// Tries each configured source once for real (`--check`, the admin
    /// page's check): one line per source, each within a bounded time.
    pub async fn check(&self) -> CheckReport {
        let inner = &self.inner;
        check::run(
            &inner.config,
            &inner.state,
            &inner.generator,
            &inner.search,
            inner.camera.as_ref(),
        )
        .await
    }
}
