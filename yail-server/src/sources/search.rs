//! `search TERM`: a session's walk through one term's web image search
//! results (the search itself, and its cache shared by every session, are
//! the search service's). Each `next` races a few random results, never the one
//! just shown, and shows the first that converts (a result's thumbnail
//! usually wins: web image hosts are often slow, broken or hang); broken
//! ones are skipped from then on, within a bounded number of tries; and
//! the following picture is prepared while the Atari shows the current one.

use std::collections::HashSet;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
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
            request.client,
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
            request.client,
            self.last,
            self.broken.clone(),
        );
        self.prefetch = Some(Prefetch::spawn(request.requested, work));
    }
}

/// Races random results (not `last`, not known broken) and returns the
/// first that converts, cancelling the others.
///
/// At most `search_retries + 1` results are tried. One starts at once;
/// another joins when one fails, and every `search_hedge` while fewer than
/// `search_parallel` hold a place. A result still loading after
/// `search_patience` keeps loading but gives its place up, so hanging
/// hosts cannot hold the search up; never more than the bound are
/// started. Each result's fetches go through the client network's quota.
async fn pick(
    services: Services,
    hits: Arc<[Hit]>,
    settings: Settings,
    client: IpAddr,
    last: Option<usize>,
    broken: HashSet<usize>,
) -> Picked {
    let config = services.config();
    let parallel = config.search_parallel.max(1);
    let (hedge, patience) = (config.search_hedge, config.search_patience);
    let mut order: Vec<usize> = (0..hits.len())
        .filter(|i| Some(*i) != last && !broken.contains(i))
        .collect();
    fastrand::shuffle(&mut order);
    let tries = config.search_retries + 1;
    order.truncate(tries);
    // The one just shown comes again only when every other has failed.
    let fallback = last.filter(|l| !broken.contains(l) && *l < hits.len() && order.len() < tries);
    let mut race = Race {
        waiting: order.into_iter(),
        fallback,
        running: FuturesUnordered::new(),
        patience_timers: FuturesUnordered::new(),
        holding: HashSet::new(),
        services: services.clone(),
        hits,
        settings,
        client,
        patience,
    };
    let mut newly_broken = Vec::new();
    let mut last_error = None;

    race.start();
    let mut next_hedge = Box::pin(tokio::time::sleep(hedge));
    loop {
        let room = race.holding.len() < parallel && !race.waiting.as_slice().is_empty();
        tokio::select! {
            Some((index, result)) = race.running.next(), if !race.running.is_empty() => {
                match result {
                    Ok(packet) => {
                        return Picked {
                            result: Ok((index, packet)),
                            broken: newly_broken,
                        };
                    }
                    Err(e) => {
                        warn!(error = %e, "skipping a search result");
                        race.holding.remove(&index);
                        newly_broken.push(index);
                        last_error = Some(e);
                        // A failure gives its place to the next at once.
                        if race.holding.len() < parallel {
                            race.start();
                        }
                    }
                }
            }
            Some(index) = race.patience_timers.next(), if !race.patience_timers.is_empty() => {
                if race.holding.remove(&index) && !race.running.is_empty() {
                    debug!(index, "a search result is slow; trying another beside it");
                    race.start();
                }
            }
            () = &mut next_hedge, if room => {
                race.start();
                next_hedge.as_mut().reset(tokio::time::Instant::now() + hedge);
            }
            else => {}
        }
        if race.running.is_empty() && !(race.holding.len() < parallel && race.start()) {
            break;
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

type Attempt = Pin<Box<dyn Future<Output = (usize, Result<Converted, RequestError>)> + Send>>;
type Timer = Pin<Box<dyn Future<Output = usize> + Send>>;

/// The results of one pick: those still to try, those running, and which
/// of these hold a place.
struct Race {
    waiting: std::vec::IntoIter<usize>,
    /// The result shown last, tried once nothing else is left or running.
    fallback: Option<usize>,
    running: FuturesUnordered<Attempt>,
    /// Fires when a running result's patience runs out.
    patience_timers: FuturesUnordered<Timer>,
    /// Results started, not failed, and within their patience.
    holding: HashSet<usize>,
    services: Services,
    hits: Arc<[Hit]>,
    settings: Settings,
    client: IpAddr,
    patience: std::time::Duration,
}

impl Race {
    /// Starts the next result, if one is left.
    fn start(&mut self) -> bool {
        let next = match self.waiting.next() {
            Some(index) => Some(index),
            None if self.running.is_empty() => self.fallback.take(),
            None => None,
        };
        let Some(index) = next else {
            return false;
        };
        let services = self.services.clone();
        let hits = Arc::clone(&self.hits);
        let settings = self.settings.clone();
        let client = self.client;
        self.running.push(Box::pin(async move {
            let result = convert_hit(&services, client, &hits[index], &settings).await;
            (index, result)
        }));
        let patience = self.patience;
        self.patience_timers.push(Box::pin(async move {
            tokio::time::sleep(patience).await;
            index
        }));
        self.holding.insert(index);
        true
    }
}

/// Downloads and converts one result: its thumbnail (a small picture from
/// the search service's own proxy, quick to come and enough for an Atari
/// screen) raced against the full picture, which starts when the thumbnail
/// fails or has not come within `search_hedge`, or at once without a
/// thumbnail. The first that converts wins; the other is cancelled.
async fn convert_hit(
    services: &Services,
    client: IpAddr,
    hit: &Hit,
    settings: &Settings,
) -> Result<Converted, RequestError> {
    let thumbnail = hit.thumbnail.as_deref().filter(|t| *t != hit.image);
    let mut attempts = FuturesUnordered::new();
    let mut full_started = thumbnail.is_none();
    let first = thumbnail.unwrap_or(&hit.image);
    attempts.push(fetch_and_convert(services, client, first, settings));
    let full_delay = tokio::time::sleep(services.config().search_hedge);
    tokio::pin!(full_delay);
    let mut error = None;
    loop {
        tokio::select! {
            done = attempts.next() => match done {
                Some(Ok(packet)) => return Ok(packet),
                Some(Err(e)) => {
                    debug!(error = %e, "result download failed");
                    error = Some(e);
                    if !full_started {
                        full_started = true;
                        attempts.push(fetch_and_convert(services, client, &hit.image, settings));
                    } else if attempts.is_empty() {
                        break;
                    }
                }
                None => break,
            },
            () = &mut full_delay, if !full_started => {
                full_started = true;
                attempts.push(fetch_and_convert(services, client, &hit.image, settings));
            }
        }
    }
    Err(error.unwrap_or(RequestError::NoPictures))
}

/// One picture of a result, downloaded for `client` and converted.
async fn fetch_and_convert(
    services: &Services,
    client: IpAddr,
    url: &str,
    settings: &Settings,
) -> Result<Converted, RequestError> {
    let fetched = services.fetcher().get_for(client, url).await?;
    fetched.check_picture()?;
    let body: Arc<[u8]> = Arc::from(fetched.bytes.as_ref());
    drop(fetched);
    let identity = format!("url:{url}");
    let name = display_name(url);
    Ok(services
        .pipeline()
        .packet(&name, &identity, settings, async { Ok(body) })
        .await?)
}
