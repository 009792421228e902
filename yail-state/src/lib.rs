#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod activity;
mod catalogue;
mod frame;
mod metrics;
mod runtime;
mod sessions;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

pub use activity::{
    LOG_LINES, LogLine, LogTail, MAX_LOG_MESSAGE, RECENT_PICTURES, RecentPictures, SentPicture,
    SourceStatus, SourceStatuses,
};
pub use catalogue::Catalogue;
pub use frame::{Frame, LatestFrame};
pub use metrics::{ErrorKind, Histogram, HistogramSnapshot, Metrics, MetricsSnapshot};
pub use runtime::RuntimeSettings;
pub use sessions::{ConnectionGuard, Dialect, SessionInfo};

use sessions::Sessions;

/// The state a YAIL server shares between all its sessions.
///
/// A cheap handle: clones share the same state. Every method takes `&self`
/// and returns owned values, so callers never hold a lock themselves (in
/// particular never across an `.await`).
#[derive(Clone, Default)]
pub struct ServerState {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    catalogue: catalogue::CatalogueCell,
    last_generation: Mutex<Option<LastGeneration>>,
    sessions: Sessions,
    frames: LatestFrame,
    metrics: Metrics,
    recent: RecentPictures,
    sources: SourceStatuses,
    logs: LogTail,
    runtime: runtime::RuntimeCell,
}

/// The most recent image generation on the whole server.
///
/// For status pages only: a session repeating its own prompt (`next`) keeps
/// that prompt itself, so one user never regenerates another user's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastGeneration {
    /// The prompt as the user typed it.
    pub prompt: String,
    /// The model that generated it.
    pub model: String,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("files", &self.file_count())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Empty state: no files, no connections.
    pub fn new() -> ServerState {
        ServerState::default()
    }

    /// Adds a file to the catalogue; `false` if it was already there.
    pub fn add_file(&self, path: impl Into<PathBuf>) -> bool {
        self.shared.catalogue.add(path.into())
    }

    /// A file chosen uniformly at random, `None` when the catalogue is empty.
    pub fn random_file(&self) -> Option<PathBuf> {
        self.shared.catalogue.load().random(None).cloned()
    }

    /// A random file other than `previous` whenever the catalogue has
    /// another one, so a slideshow does not show the same picture twice in
    /// a row.
    pub fn random_file_except(&self, previous: Option<&Path>) -> Option<PathBuf> {
        self.shared.catalogue.load().random(previous).cloned()
    }

    /// How many files the catalogue holds.
    pub fn file_count(&self) -> usize {
        self.shared.catalogue.load().len()
    }

    /// Replaces the whole catalogue at once (a rescan). Readers see either
    /// the old or the new catalogue, never a mixture.
    pub fn replace_files(&self, catalogue: Catalogue) {
        self.shared.catalogue.replace(catalogue);
    }

    /// The current catalogue, as an immutable snapshot.
    pub fn files(&self) -> Arc<Catalogue> {
        self.shared.catalogue.load()
    }

    /// Counts a connection; returns the new count.
    pub fn increment_connections(&self) -> usize {
        self.shared.metrics.count_connection();
        self.shared
            .metrics
            .connections_current
            .fetch_add(1, Ordering::AcqRel)
            + 1
    }

    /// Uncounts a connection; returns the new count, which never goes
    /// below zero (an extra decrement is ignored).
    pub fn decrement_connections(&self) -> usize {
        let previous = self
            .shared
            .metrics
            .connections_current
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or_else(|n| n);
        previous.saturating_sub(1)
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared
            .metrics
            .connections_current
            .load(Ordering::Acquire)
    }

    /// Registers a session for `peer` and counts its connection; both are
    /// undone when the guard is dropped (also on panic or when the task
    /// owning it is cancelled).
    pub fn connect(&self, peer: std::net::SocketAddr) -> ConnectionGuard {
        self.increment_connections();
        self.shared.sessions.register(self.clone(), peer)
    }

    /// A snapshot of every registered session, ordered by id.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.sessions.snapshot()
    }

    /// Records the most recent generation on the server.
    pub fn set_last_generation(&self, prompt: impl Into<String>, model: impl Into<String>) {
        let last = LastGeneration {
            prompt: prompt.into(),
            model: model.into(),
        };
        *lock(&self.shared.last_generation) = Some(last);
    }

    /// The most recent generation on the server, if any.
    pub fn last_generation(&self) -> Option<LastGeneration> {
        lock(&self.shared.last_generation).clone()
    }

    /// The latest frame of the live source (video).
    pub fn frames(&self) -> &LatestFrame {
        &self.shared.frames
    }

    /// The server's counters and latency histogram.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The pictures sent most recently.
    pub fn recent_pictures(&self) -> &RecentPictures {
        &self.shared.recent
    }

    /// How each image source has fared.
    pub fn sources(&self) -> &SourceStatuses {
        &self.shared.sources
    }

    /// The tail of the server's log (filled by whoever installs a logger
    /// that writes into it).
    pub fn logs(&self) -> &LogTail {
        &self.shared.logs
    }

    /// The runtime-changeable settings as they are now.
    pub fn runtime_settings(&self) -> Arc<RuntimeSettings> {
        self.shared.runtime.load()
    }

    /// Replaces the runtime-changeable settings; requests that start
    /// afterwards see the new ones.
    pub fn set_runtime_settings(&self, settings: RuntimeSettings) {
        self.shared.runtime.store(settings);
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked: every
/// critical section in this crate is a single assignment or clone.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
