//! `search TERM`: a session's walk through one term's web image search
//! results (the search itself, and its cache shared by every session, are
//! the search service's). Each `next` picks a random result, never the one
//! just shown, skips broken ones with a bounded number of tries, and the
//! following picture is prepared while the Atari shows the current one.

use std::collections::HashSet;
use std::sync::Arc;

use tracing::{debug, warn};
use yail_core::Settings;

use super::prefetch::Prefetch;
use super::request::{Pictures, Request};
use super::url::display_name;
use crate::error::RequestError;
use crate::services::Services;
use crate::services::pipeline::Converted;
use crate::services::search::Hit;

/// A session's search.
pub(crate) struct SearchResults {
    term: String,
    hits: Option<Arc<[Hit]>>,
    /// Index of the result shown last.
    last: Option<usize>,
    /// Results that failed in this session; skipped from then on.
    broken: HashSet<usize>,
    prefetch: Option<Prefetch<Picked>>,
}

/// What one round of picking produced.
struct Picked {
    result: Result<(usize, Converted), RequestError>,
    broken: Vec<usize>,
}

impl SearchResults {
    pub(crate) fn new(term: String) -> SearchResults {
        SearchResults {
            term,
            hits: None,
            last: None,
            broken: HashSet::new(),
            prefetch: None,
        }
    }

    async fn hits(&mut self, services: &Services) -> Result<Arc<[Hit]>, RequestError> {
        if let Some(hits) = &self.hits {
            return Ok(Arc::clone(hits));
        }
        let hits = services.search().results(&self.term).await?;
        self.hits = Some(Arc::clone(&hits));
        Ok(hits)
    }
}

impl Pictures for SearchResults {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("search", Some(&self.term))
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        if let Some(prefetch) = self.prefetch.take()
            && let Some(picked) = prefetch.take(request.requested).await
        {
            self.broken.extend(picked.broken);
            if let Ok((index, packet)) = picked.result {
                self.last = Some(index);
                return Ok(packet);
            }
        }
        let hits = self.hits(&request.services).await?;
        let picked = pick(
            request.services.clone(),
            hits,
            request.settings.clone(),
            self.last,
            self.broken.clone(),
        )
        .await;
        self.broken.extend(picked.broken);
        let (index, packet) = picked.result?;
        self.last = Some(index);
        Ok(packet)
    }

    fn prefetch(&mut self, request: &Request) {
        let Some(hits) = &self.hits else { return };
        let work = pick(
            request.services.clone(),
            Arc::clone(hits),
            request.settings.clone(),
            self.last,
            self.broken.clone(),
        );
        self.prefetch = Some(Prefetch::spawn(request.requested, work));
    }
}

/// Tries random results (not `last`, not known broken) until one converts,
/// at most `search_retries + 1` of them.
async fn pick(
    services: Services,
    hits: Arc<[Hit]>,
    settings: Settings,
    last: Option<usize>,
    mut broken: HashSet<usize>,
) -> Picked {
    let mut newly_broken = Vec::new();
    let mut last_error = None;
    for _ in 0..=services.config().search_retries {
        let candidates: Vec<usize> = (0..hits.len())
            .filter(|i| Some(*i) != last && !broken.contains(i))
            .collect();
        let index = match (candidates.len(), last) {
            (0, Some(last)) if !broken.contains(&last) => last, // only one left
            (0, _) => break,
            (n, _) => candidates[fastrand::usize(..n)],
        };
        match convert_hit(&services, &hits[index], &settings).await {
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
    services: &Services,
    hit: &Hit,
    settings: &Settings,
) -> Result<Converted, RequestError> {
    let mut error = None;
    for url in std::iter::once(&hit.image).chain(hit.thumbnail.as_ref()) {
        let identity = format!("url:{url}");
        let name = display_name(url);
        let fetched = match services.fetcher().get(url).await.and_then(|f| {
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
        match services
            .pipeline()
            .packet(&name, &identity, settings, async { Ok(body) })
            .await
        {
            Ok(packet) => return Ok(packet),
            Err(e) => error = Some(RequestError::from(e)),
        }
    }
    Err(error.unwrap_or(RequestError::NoPictures))
}
