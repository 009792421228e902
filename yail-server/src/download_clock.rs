//! How long a session's request has been waiting on a download. A full
//! server may close a session whose request has waited on a download for
//! longer than `--slow-fetch-secs` (a trickling host holds a slot for up to
//! the whole fetch timeout), while a session busy converting or generating
//! is always spared.
//!
//! The session runs each request inside [`scope`] with its clock; every
//! guarded download ([`crate::fetch::Fetcher::get`]) started within that
//! request starts the clock ([`mark`]) and stops it when it ends. A
//! `showurl` runs it for its whole picture: the download may be another
//! session's, of the same URL, that the pipeline shares, and the wait for
//! it is no different; the conversion that follows counts too. Work a
//! source prepares in a task of its own (the next picture) is not the
//! request in flight, and does not start it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;

tokio::task_local! {
    static CURRENT: Arc<DownloadClock>;
}

/// A session's download clock.
#[derive(Debug, Default)]
pub(crate) struct DownloadClock {
    /// Downloads under way, and when the first of them began.
    running: Mutex<(usize, Option<Instant>)>,
}

impl DownloadClock {
    /// How long the request has waited on a download, if one is under way.
    pub(crate) fn waiting_for(&self) -> Option<Duration> {
        lock(&self.running).1.map(|since| since.elapsed())
    }

    fn start(self: &Arc<Self>) -> Mark {
        let mut running = lock(&self.running);
        if running.0 == 0 {
            running.1 = Some(Instant::now());
        }
        running.0 += 1;
        Mark {
            clock: Arc::clone(self),
        }
    }
}

/// One download under way; the clock stops when the last one is dropped.
#[derive(Debug)]
pub(crate) struct Mark {
    clock: Arc<DownloadClock>,
}

impl Drop for Mark {
    fn drop(&mut self) {
        let mut running = lock(&self.clock.running);
        running.0 = running.0.saturating_sub(1);
        if running.0 == 0 {
            running.1 = None;
        }
    }
}

/// Runs `request` with `clock` as the clock its downloads start.
pub(crate) async fn scope<F: Future>(clock: Arc<DownloadClock>, request: F) -> F::Output {
    CURRENT.scope(clock, request).await
}

/// Starts the clock of the request this task runs, if it runs one, until
/// the mark is dropped.
pub(crate) fn mark() -> Option<Mark> {
    CURRENT.try_with(DownloadClock::start).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn downloads_within_the_request_start_the_clock_and_others_do_not() {
        let clock = Arc::new(DownloadClock::default());
        assert!(mark().is_none(), "outside any request");
        let seen = scope(Arc::clone(&clock), async {
            let first = mark();
            let second = mark();
            let both = clock.waiting_for().is_some();
            drop(first);
            let one = clock.waiting_for().is_some();
            drop(second);
            // Prepared in a task of its own: not the request in flight.
            let spawned = tokio::spawn(async { mark().is_some() }).await;
            (both, one, clock.waiting_for().is_none(), spawned.ok())
        })
        .await;
        assert_eq!(seen, (true, true, true, Some(false)));
    }
}
