//! What every web image search engine offers, and how a search fails.

use std::future::Future;
use std::pin::Pin;

use crate::fetch::FetchError;

/// One image search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The full-size picture.
    pub image: String,
    /// A smaller version, tried when the full picture fails.
    pub thumbnail: Option<String>,
}

/// Why a search gave no results.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SearchError {
    /// The engine could not be reached or answered an error.
    #[error("image search failed: {0}")]
    Fetch(#[from] FetchError),
    /// The engine kept asking us to slow down.
    #[error("the image search service is busy; try again in a few minutes")]
    SlowDown,
    /// A SearXNG instance's limiter refused us (429).
    #[error(
        "the SearXNG instance's limiter refused this server (list it in pass_ip); try again later"
    )]
    Limited,
    /// The engine refuses what we ask, for a reason of its setup.
    #[error("image search refused: {0}")]
    Refused(&'static str),
    /// The engine's answer was not what we expected.
    #[error("unexpected answer from the image search service: {0}")]
    Format(String),
    /// Nothing found.
    #[error("no pictures found for \"{0}\"")]
    NoResults(String),
}

impl SearchError {
    /// Whether the engine asked us to go away for a while: asking again
    /// soon would only prolong it.
    pub fn is_throttle(&self) -> bool {
        matches!(self, SearchError::SlowDown | SearchError::Limited)
    }
}

/// The boxed future an engine returns.
pub type Searching<'a> = Pin<Box<dyn Future<Output = Result<Vec<Hit>, SearchError>> + Send + 'a>>;

/// A web image search service.
pub trait Engine: Send + Sync {
    /// Up to one page of picture results for `term`.
    fn search<'a>(&'a self, term: &'a str) -> Searching<'a>;
}
