//! `search TERM`: web image search behind the [`Engine`] trait. Results are
//! cached per term across sessions (bounded in count and age); each `next`
//! picks a random result, never the one just shown, skips broken ones with
//! a bounded number of tries, and the following picture is prepared while
//! the Atari shows the current one.

use std::collections::HashSet;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use yail_core::Settings;
use yail_proto::GfxMode;
use yail_state::ServerState;

use super::Context;
use super::url::display_name;
use crate::Shared;
use crate::cache::Converted;
use crate::config::{Config, SearchEngine};
use crate::error::RequestError;
use crate::fetch::{FetchError, Fetcher};

pub(crate) mod duckduckgo;
pub(crate) mod searxng;

/// One image search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The full-size picture.
    pub image: String,
    /// A smaller version, tried when the full picture fails.
    pub thumbnail: Option<String>,
}

/// Why a search gave no results.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The engine could not be reached or answered an error.
    #[error("image search failed: {0}")]
    Fetch(#[from] FetchError),
    /// The engine kept asking us to slow down.
    #[error("the image search service is busy; try again in a minute")]
    SlowDown,
    /// The engine's answer was not what we expected.
    #[error("unexpected answer from the image search service: {0}")]
    Format(String),
    /// Nothing found.
    #[error("no pictures found for \"{0}\"")]
    NoResults(String),
}

/// The boxed future an engine returns.
pub type Searching<'a> = Pin<Box<dyn Future<Output = Result<Vec<Hit>, SearchError>> + Send + 'a>>;

/// A web image search service.
pub trait Engine: Send + Sync {
    /// Up to one page of picture results for `term`.
    fn search<'a>(&'a self, term: &'a str) -> Searching<'a>;
}

/// The engines `config` makes available, talking through `fetcher`:
/// DuckDuckGo always, SearXNG when `--searxng-url` is given. The one
/// `--search-engine` names must be among them.
pub(crate) fn engines(config: &Config, fetcher: Fetcher) -> Result<Engines, FetchError> {
    let parse = |flag: &str, url: &str| {
        url::Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{flag}: {e}")))
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
        return Err(FetchError::BadUrl(String::from(
            "--search-engine searxng needs --searxng-url",
        )));
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
pub(crate) const MAX_HITS: usize = 200;

type Cached = (Instant, Arc<[Hit]>);

/// The engine and the results cache, shared by every session.
pub(crate) struct SearchService {
    engines: Engines,
    /// Where the admin page's runtime choice of engine is read.
    state: ServerState,
    /// Term (lower case) to when its results came and the results.
    cache: Mutex<LruCache<String, Cached>>,
    ttl: Duration,
}

impl SearchService {
    pub(crate) fn new(engines: Engines, state: ServerState, ttl: Duration) -> SearchService {
        SearchService {
            engines,
            state,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHED_TERMS).unwrap_or(NonZeroUsize::MIN),
            )),
            ttl,
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
        let mut hits = engine.search(term).await?;
        hits.truncate(MAX_HITS);
        if hits.is_empty() {
            return Err(SearchError::NoResults(term.chars().take(40).collect()));
        }
        let hits: Arc<[Hit]> = Arc::from(hits);
        lock(&self.cache).put(key, (Instant::now(), Arc::clone(&hits)));
        Ok(hits)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A session's search.
pub(crate) struct SearchSource {
    term: String,
    hits: Option<Arc<[Hit]>>,
    /// Index of the result shown last.
    last: Option<usize>,
    /// Results that failed in this session; skipped from then on.
    broken: HashSet<usize>,
    prefetch: Option<Prefetch>,
}

/// The next picture, being prepared; aborted if dropped unused.
struct Prefetch {
    mode: GfxMode,
    task: JoinHandle<Picked>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one round of picking produced.
struct Picked {
    result: Result<(usize, Converted), RequestError>,
    broken: Vec<usize>,
}

impl SearchSource {
    pub(crate) fn new(term: String) -> SearchSource {
        SearchSource {
            term,
            hits: None,
            last: None,
            broken: HashSet::new(),
            prefetch: None,
        }
    }

    /// The term this source searches for.
    pub(crate) fn term(&self) -> &str {
        &self.term
    }

    async fn hits(&mut self, shared: &Shared) -> Result<Arc<[Hit]>, RequestError> {
        if let Some(hits) = &self.hits {
            return Ok(Arc::clone(hits));
        }
        let hits = shared.search.results(&self.term).await?;
        self.hits = Some(Arc::clone(&hits));
        Ok(hits)
    }

    pub(crate) async fn next(&mut self, context: &Context) -> Result<Converted, RequestError> {
        if let Some(prefetch) = self.prefetch.take()
            && prefetch.mode == context.requested
        {
            let mut prefetch = prefetch;
            if let Ok(picked) = (&mut prefetch.task).await {
                self.broken.extend(picked.broken);
                if let Ok((index, packet)) = picked.result {
                    self.last = Some(index);
                    return Ok(packet);
                }
            }
        }
        let hits = self.hits(&context.shared).await?;
        let picked = pick(
            Arc::clone(&context.shared),
            hits,
            context.settings.clone(),
            self.last,
            self.broken.clone(),
        )
        .await;
        self.broken.extend(picked.broken);
        let (index, packet) = picked.result?;
        self.last = Some(index);
        Ok(packet)
    }

    pub(crate) fn prefetch(&mut self, context: &Context) {
        let Some(hits) = &self.hits else { return };
        if !context.shared.config.prefetch {
            return;
        }
        let task = tokio::spawn(pick(
            Arc::clone(&context.shared),
            Arc::clone(hits),
            context.settings.clone(),
            self.last,
            self.broken.clone(),
        ));
        self.prefetch = Some(Prefetch {
            mode: context.requested,
            task,
        });
    }
}

/// Tries random results (not `last`, not known broken) until one converts,
/// at most `search_retries + 1` of them.
async fn pick(
    shared: Arc<Shared>,
    hits: Arc<[Hit]>,
    settings: Settings,
    last: Option<usize>,
    mut broken: HashSet<usize>,
) -> Picked {
    let mut newly_broken = Vec::new();
    let mut last_error = None;
    for _ in 0..=shared.config.search_retries {
        let candidates: Vec<usize> = (0..hits.len())
            .filter(|i| Some(*i) != last && !broken.contains(i))
            .collect();
        let index = match (candidates.len(), last) {
            (0, Some(last)) if !broken.contains(&last) => last, // only one left
            (0, _) => break,
            (n, _) => candidates[fastrand::usize(..n)],
        };
        match convert_hit(&shared, &hits[index], &settings).await {
            Ok(packet) => {
                return Picked {
                    result: Ok((index, packet)),
                    broken: newly_broken,
                };
            }
            Err(e) => {
                warn!(error = %e, "skipping a search result");
                broken.insert(index);
                newly_broken.push(index);
                last_error = Some(e);
            }
        }
    }
    let error = match last_error {
        Some(e) => RequestError::NoUsableResults(Box::new(e)),
        None => RequestError::NoUsableResults(Box::new(RequestError::NoPictures)),
    };
    Picked {
        result: Err(error),
        broken: newly_broken,
    }
}

/// Downloads and converts one result: the full picture, or its thumbnail
/// when that fails.
async fn convert_hit(
    shared: &Shared,
    hit: &Hit,
    settings: &Settings,
) -> Result<Converted, RequestError> {
    let mut error = None;
    for url in std::iter::once(&hit.image).chain(hit.thumbnail.as_ref()) {
        let identity = format!("url:{url}");
        let name = display_name(url);
        let fetched = match shared.fetcher.get(url).await.and_then(|f| {
            f.check_picture()?;
            Ok(f)
        }) {
            Ok(fetched) => fetched,
            Err(e) => {
                debug!(error = %e, "result download failed");
                error = Some(RequestError::from(e));
                continue;
            }
        };
        let body: Arc<[u8]> = Arc::from(fetched.bytes.as_ref());
        match shared
            .pipeline
            .packet(&name, &identity, settings, async { Ok(body) })
            .await
        {
            Ok(packet) => return Ok(packet),
            Err(e) => error = Some(RequestError::from(e)),
        }
    }
    Err(error.unwrap_or(RequestError::NoPictures))
}
