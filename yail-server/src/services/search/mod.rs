//! Web image search: the engines a server can use (behind the
//! [`Engine`](engine::Engine) trait) and the results cache every session
//! shares. Results are cached per term (bounded in count and age), so
//! sessions searching the same term ask the engine once. An engine that
//! asked us to slow down (and did not relent after a few tries) is left
//! alone for `search_cooldown`: searches that need it answer with the
//! same error meanwhile, without a request.

mod duckduckgo;
mod engine;
mod searxng;

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use tracing::warn;
use yail_state::ServerState;

use crate::config::{Config, SearchEngine};
use crate::fetch::Fetcher;
use crate::sync::lock;
use engine::Engine;
pub(crate) use engine::{Hit, SearchError};

/// Why the configured search engines cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineSetupError {
    /// A search service's address is not a URL.
    #[error("{flag}: not a valid URL: {source}")]
    BadUrl {
        /// The flag that named it.
        flag: &'static str,
        /// Why it is not a URL.
        source: url::ParseError,
    },
    /// `--search-engine searxng` without an instance to ask.
    #[error("--search-engine searxng needs --searxng-url")]
    SearxngWithoutUrl,
}

/// The engines `config` makes available, talking through `fetcher`:
/// DuckDuckGo always, SearXNG when `--searxng-url` is given. The one
/// `--search-engine` names must be among them.
pub(crate) fn engines(config: &Config, fetcher: Fetcher) -> Result<Engines, EngineSetupError> {
    let parse = |flag: &'static str, url: &str| {
        url::Url::parse(url).map_err(|source| EngineSetupError::BadUrl { flag, source })
    };
    let mut available: Vec<(SearchEngine, Box<dyn Engine>)> = vec![(
        SearchEngine::DuckDuckGo,
        Box::new(duckduckgo::DuckDuckGo::new(
            parse("--search-url", &config.search_url)?,
            fetcher.clone(),
            config.search_backoff,
        )),
    )];
    if let Some(url) = config.searxng_url.as_deref() {
        available.push((
            SearchEngine::Searxng,
            Box::new(searxng::Searxng::new(parse("--searxng-url", url)?, fetcher)),
        ));
    }
    if !available
        .iter()
        .any(|(name, _)| *name == config.search_engine)
    {
        return Err(EngineSetupError::SearxngWithoutUrl);
    }
    Ok(Engines {
        available,
        default: config.search_engine,
    })
}

/// The search engines a server can use, and the configured one.
pub(crate) struct Engines {
    available: Vec<(SearchEngine, Box<dyn Engine>)>,
    default: SearchEngine,
}

impl Engines {
    /// The engine named by the admin page's runtime setting when it is
    /// available, else the configured one.
    fn pick(&self, runtime: Option<&str>) -> (SearchEngine, &dyn Engine) {
        let wanted = runtime.and_then(|name| name.parse::<SearchEngine>().ok());
        let find = |name: SearchEngine| {
            self.available
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, e)| (*n, e.as_ref()))
        };
        if let Some(name) = wanted
            && let Some(found) = find(name)
        {
            return found;
        }
        if let Some(name) = runtime {
            warn!(
                engine = name,
                "search engine not available here; using the configured one"
            );
        }
        match find(self.default) {
            Some(found) => found,
            // `engines` checked that the configured one is available.
            None => (self.available[0].0, self.available[0].1.as_ref()),
        }
    }
}

/// Terms whose results are remembered.
const CACHED_TERMS: usize = 256;
/// Results kept per term.
const MAX_HITS: usize = 200;

type Cached = (Instant, Arc<[Hit]>);

/// The engine and the results cache, shared by every session.
pub(crate) struct SearchService {
    engines: Engines,
    /// Where the admin page's runtime choice of engine is read.
    state: ServerState,
    /// Term (lower case) to when its results came and the results.
    cache: Mutex<LruCache<String, Cached>>,
    ttl: Duration,
    /// Engines that asked us to go away: until when, and what they said.
    /// (Two engines at most: a list will do.)
    cooling: Mutex<Vec<(SearchEngine, Instant, SearchError)>>,
    cooldown: Duration,
}

impl SearchService {
    pub(crate) fn new(
        engines: Engines,
        state: ServerState,
        ttl: Duration,
        cooldown: Duration,
    ) -> SearchService {
        SearchService {
            engines,
            state,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHED_TERMS).unwrap_or(NonZeroUsize::MIN),
            )),
            ttl,
            cooling: Mutex::new(Vec::new()),
            cooldown,
        }
    }

    /// The results for `term`, from the cache while they are fresh.
    pub(crate) async fn results(&self, term: &str) -> Result<Arc<[Hit]>, SearchError> {
        let runtime = self.state.runtime_settings();
        let (name, engine) = self.engines.pick(runtime.search_engine.as_deref());
        let key = format!("{name:?}|{}", term.trim().to_lowercase());
        if let Some((at, hits)) = lock(&self.cache).get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(hits));
        }
        if let Some((_, until, error)) = lock(&self.cooling).iter().find(|(n, ..)| *n == name)
            && Instant::now() < *until
        {
            return Err(error.clone());
        }
        let mut hits = match engine.search(term).await {
            Ok(hits) => hits,
            Err(error) => {
                if error.is_throttle() {
                    warn!(engine = %name, cooldown = ?self.cooldown, "the search service asked us to slow down; leaving it alone");
                    let mut cooling = lock(&self.cooling);
                    cooling.retain(|(n, ..)| *n != name);
                    cooling.push((name, Instant::now() + self.cooldown, error.clone()));
                }
                return Err(error);
            }
        };
        hits.truncate(MAX_HITS);
        if hits.is_empty() {
            return Err(SearchError::NoResults(term.chars().take(40).collect()));
        }
        let hits: Arc<[Hit]> = Arc::from(hits);
        lock(&self.cache).put(key, (Instant::now(), Arc::clone(&hits)));
        Ok(hits)
    }
}
